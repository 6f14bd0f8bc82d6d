//! What the driver says yes to, it does; what it cannot do, it says: the option table walked key
//! by key, the statuses ADBC's validation suite checks, `execute_schema` on the statement shapes
//! users write, bound rows, and the driver inside a caller's tokio runtime.

use std::sync::Arc;

use adbc_core::error::Status;
use adbc_core::options::{InfoCode, OptionConnection, OptionDatabase, OptionStatement, OptionValue};
use adbc_core::{Connection, Database, Driver, Optionable, Statement};
use arrow::array::{AsArray, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Int32Type, Int64Type};
use athena_arrow::config::options::{SETTINGS, Setting, ValueKind};

use super::{connect, driver, endpoint, run};

/// A value each setting takes.
fn sample(s: &Setting) -> String {
    match s.kind {
        ValueKind::Text => format!("text-of-{}", s.key),
        ValueKind::Flag => "true".into(),
        ValueKind::Count => "60".into(),
        ValueKind::Seconds => "1.5".into(),
        ValueKind::Choice(words) => words[1].into(),
        ValueKind::Exact(names) => names[names.len() - 1].into(),
    }
}

fn key(s: &Setting) -> String {
    format!("adbc.athena.{}", s.key)
}

#[test]
fn every_option_of_the_table_is_accepted_and_reads_back() {
    let mut db = driver().new_database().unwrap();
    for s in SETTINGS {
        db.set_option(OptionDatabase::Other(key(s)), sample(s).into()).unwrap_or_else(|e| panic!("{}: {e}", key(s)));
        let read = db.get_option_string(OptionDatabase::Other(key(s)));
        if s.secret {
            assert_eq!(read.unwrap_err().status, Status::NotFound, "{} is a secret", key(s));
        } else {
            assert_eq!(read.unwrap(), sample(s), "{}", key(s));
        }
    }
    let e = db.set_option(OptionDatabase::Other("adbc.athena.no_such_key".into()), "1".into()).unwrap_err();
    assert_eq!(e.status, Status::NotImplemented);
    assert!(e.message.starts_with("unknown Athena option \"adbc.athena.no_such_key\"; known: uri, adbc.athena.region, "), "{e}");
    let e = db.get_option_string(OptionDatabase::Other("adbc.athena.no_such_key".into())).unwrap_err();
    assert_eq!(e.status, Status::NotFound);
    let e = db.set_option(OptionDatabase::Other("adbc.athena.unload".into()), "maybe".into()).unwrap_err();
    assert_eq!((e.status, e.message.as_str()), (Status::InvalidArguments, "adbc.athena.unload takes true or false, got \"maybe\""));

    // The per-query settings are statement options too, and read back there.
    let mut conn = connect();
    let mut stmt = conn.new_statement().unwrap();
    for s in SETTINGS.iter().filter(|s| s.per_query) {
        stmt.set_option(OptionStatement::Other(key(s)), sample(s).into()).unwrap_or_else(|e| panic!("{}: {e}", key(s)));
        assert_eq!(stmt.get_option_string(OptionStatement::Other(key(s))).unwrap(), sample(s), "{}", key(s));
    }
    let e = stmt.set_option(OptionStatement::Other("adbc.athena.region".into()), "us-east-1".into()).unwrap_err();
    assert_eq!(e.status, Status::InvalidArguments, "{e}");
    let e = stmt.set_option(OptionStatement::Other("adbc.ingest.target_table".into()), "t".into()).unwrap_err();
    assert_eq!(e.status, Status::NotImplemented, "{e}");
    assert_eq!(stmt.get_option_string(OptionStatement::Other("adbc.athena.nope".into())).unwrap_err().status, Status::NotFound);
}

#[test]
fn statement_options_reach_the_query() {
    // A timeout far below the query's run time stops it: the option is applied, not just stored.
    let mut conn = connect();
    let mut stmt = conn.new_statement().unwrap();
    stmt.set_option(OptionStatement::Other("adbc.athena.query_timeout_seconds".into()), "0".into()).unwrap();
    // A query that never ends on the endpoint: only the timeout ends it.
    stmt.set_sql_query("SELECT sum(a.a + b.a + c.a) FROM many_rows a CROSS JOIN many_rows b CROSS JOIN many_rows c").unwrap();
    let e = stmt.execute().err().expect("timed out");
    assert_eq!(e.status, Status::Timeout, "{e}");
}

#[test]
fn execute_schema_takes_the_statements_users_write() {
    let mut conn = connect();
    let shapes = [
        ("SELECT 1 AS a, 'x' AS b -- trailing comment", vec![("a", DataType::Int32), ("b", DataType::Utf8)]),
        ("SELECT 1 AS a /* trailing block */", vec![("a", DataType::Int32)]),
        ("SELECT 1 AS a;", vec![("a", DataType::Int32)]),
        ("-- leading comment\nSELECT 1 AS a", vec![("a", DataType::Int32)]),
        ("WITH t AS (SELECT 2 AS n) SELECT n FROM t", vec![("n", DataType::Int32)]),
        ("VALUES (1, 'a')", vec![("_col0", DataType::Int32), ("_col1", DataType::Utf8)]),
    ];
    for (sql, columns) in shapes {
        let mut stmt = conn.new_statement().unwrap();
        stmt.set_sql_query(sql).unwrap();
        let schema = stmt.execute_schema().unwrap_or_else(|e| panic!("{sql:?}: {e}"));
        let got: Vec<(&str, &DataType)> = schema.fields().iter().map(|f| (f.name().as_str(), f.data_type())).collect();
        let want: Vec<(&str, &DataType)> = columns.iter().map(|(n, t)| (*n, t)).collect();
        assert_eq!(got, want, "{sql:?}");
    }
    let mut stmt = conn.new_statement().unwrap();
    stmt.set_sql_query("INSERT INTO t VALUES (1)").unwrap();
    let e = stmt.execute_schema().unwrap_err();
    assert_eq!(e.status, Status::InvalidState, "{e}");
    assert_eq!(e.message, "no result: INSERT statements have no result columns to describe: only queries (SELECT, WITH, VALUES, TABLE) do");
}

#[test]
fn what_athena_cannot_do_is_refused_by_name() {
    let mut conn = connect();
    let e = conn.cancel().unwrap_err();
    assert_eq!(e.status, Status::NotImplemented);
    assert!(e.message.starts_with("AdbcConnectionCancel: "), "{e}");
    let e = conn.set_option(OptionConnection::ReadOnly, "true".into()).unwrap_err();
    assert_eq!(e.status, Status::NotImplemented);
    assert!(e.message.starts_with("adbc.connection.readonly: Athena has no read-only connections"), "{e}");
    conn.set_option(OptionConnection::ReadOnly, "false".into()).unwrap();
    assert_eq!(conn.get_option_string(OptionConnection::ReadOnly).unwrap(), "false");
}

#[test]
fn statuses_and_names_as_adbc_clients_expect_them() {
    let mut conn = connect();
    assert_eq!(conn.get_option_string(OptionConnection::CurrentCatalog).unwrap(), "AwsDataCatalog");
    let e = conn.get_table_schema(None, None, "no_such_table").unwrap_err();
    assert_eq!(e.status, Status::NotFound, "{e}");
    let e = conn.set_option(OptionConnection::CurrentSchema, "no_such_database".into()).unwrap_err();
    assert_eq!(e.status, Status::NotFound, "{e}");
    assert_eq!(conn.get_option_string(OptionConnection::CurrentSchema).unwrap(), "default", "unchanged");
    let info: Vec<RecordBatch> = conn.get_info(Some([InfoCode::DriverArrowVersion].into())).unwrap().collect::<Result<_, _>>().unwrap();
    let union = info[0].column(1).as_union();
    let version = union.child(0).as_string::<i32>().value(union.value_offset(0)).to_owned();
    let parts: Vec<&str> = version.strip_prefix('v').expect("vMAJOR.MINOR.PATCH").split('.').collect();
    assert!(parts.len() == 3 && parts.iter().all(|p| p.parse::<u32>().is_ok()), "{version}");
}

#[test]
fn each_bound_row_runs_once_and_a_reused_statement_forgets_them() {
    let mut conn = connect();
    let mut stmt = conn.new_statement().unwrap();
    stmt.set_sql_query("SELECT ? AS n, ? AS s").unwrap();
    let dict: arrow::array::DictionaryArray<arrow::datatypes::Int8Type> = vec!["a", "b", "a"].into_iter().collect();
    stmt.bind(RecordBatch::try_from_iter([("n", Arc::new(Int64Array::from(vec![1, 2, 3])) as _), ("s", Arc::new(dict) as _)]).unwrap())
        .unwrap();
    let batches: Vec<RecordBatch> = stmt.execute().unwrap().collect::<Result<_, _>>().unwrap();
    let rows: Vec<(i64, String)> = batches
        .iter()
        .flat_map(|b| {
            let n = b.column(0).as_primitive::<Int32Type>().clone();
            let s = b.column(1).as_string::<i32>().clone();
            (0..b.num_rows()).map(move |i| (i64::from(n.value(i)), s.value(i).to_owned()))
        })
        .collect();
    assert_eq!(rows, [(1, "a".to_owned()), (2, "b".to_owned()), (3, "a".to_owned())]);
    // The next SQL text runs without the earlier parameters.
    stmt.set_sql_query("SELECT 7 AS seven").unwrap();
    let batches: Vec<RecordBatch> = stmt.execute().unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(batches[0].column(0).as_primitive::<Int32Type>().value(0), 7);
}

/// A Rust program in a tokio runtime of its own calls the driver's blocking API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_driver_works_inside_a_callers_tokio_runtime() {
    let url = endpoint().url.clone();
    let uri = format!("athena://?region=us-east-1&s3_staging_dir=s3://athena-results/adbc/&endpoint_url={url}");
    let opts: Vec<(OptionDatabase, OptionValue)> =
        vec![(OptionDatabase::Uri, uri.into()), (OptionDatabase::Username, "test".into()), (OptionDatabase::Password, "test".into())];
    let db = adbc_driver_athena::AthenaDriver.new_database_with_opts(opts).unwrap();
    let mut conn = db.new_connection().unwrap();
    let mut stmt = conn.new_statement().unwrap();
    stmt.set_sql_query("SELECT count(*) AS n FROM many_rows").unwrap();
    let batches: Vec<RecordBatch> = stmt.execute().unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(batches[0].column(0).as_primitive::<Int64Type>().value(0), 10_000);
    // The same from a current-thread runtime's only thread.
    let rows = tokio::task::spawn_blocking(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async { run(&mut super::connect(), "SELECT 1 AS one").unwrap()[0].num_rows() })
    })
    .await
    .unwrap();
    assert_eq!(rows, 1);
}

#[test]
fn the_duckdb_engine_by_database_or_statement_option() {
    use arrow::datatypes::Float64Type;
    // Per connection: the option of the table, by its ADBC key.
    let mut conn = super::connect_with("test", &[("adbc.athena.engine_version", "DuckDB")]);
    let b = run(&mut conn, "SELECT 5 / 2 AS q").unwrap();
    assert_eq!(b[0].column(0).as_primitive::<Float64Type>().value(0), 2.5);
    // Per statement, back to engine version 3.
    let mut stmt = conn.new_statement().unwrap();
    stmt.set_option(OptionStatement::Other("adbc.athena.engine_version".into()), "Athena engine version 3".into()).unwrap();
    stmt.set_sql_query("SELECT 5 / 2 AS q").unwrap();
    let b: Vec<RecordBatch> = stmt.execute().unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(b[0].column(0).as_primitive::<Int32Type>().value(0), 2);
    let e = stmt.set_option(OptionStatement::Other("adbc.athena.engine_version".into()), "duckdb".into()).unwrap_err();
    assert_eq!(e.status, Status::InvalidArguments, "{e}");
    assert_eq!(e.message, "adbc.athena.engine_version takes exactly \"Athena engine version 3\" or \"DuckDB\", got \"duckdb\"");
}
