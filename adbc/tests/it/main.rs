//! The driver through the ADBC driver manager (the shared library loaded as any ADBC client
//! loads it), against the local endpoint started once for the binary.

mod surfaces;

use std::sync::OnceLock;

use adbc_core::error::Status;
use adbc_core::options::{AdbcVersion, InfoCode, ObjectDepth, OptionConnection, OptionDatabase, OptionStatement, OptionValue};
use adbc_core::{Connection, Database, Driver, Optionable, Statement};
use adbc_driver_manager::{ManagedConnection, ManagedDriver};
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Date32Type, Decimal128Type, Int32Type, TimeUnit};

struct Endpoint {
    url: String,
    _runtime: tokio::runtime::Runtime,
    _emulator: athena_emulator::Emulator,
}

const WEB_IDENTITY_ROLE: &str = "arn:aws:iam::000000000000:role/adbc-analyst";
const IDC_APPLICATION: &str = "arn:aws:sso::000000000000:application/ssoins-adbc/apl-adbc-tests";

/// The identity provider the endpoint trusts for [`WEB_IDENTITY_ROLE`] (audience `adbc-tests`).
fn issuer() -> &'static athena_emulator::LocalIssuer {
    static ISSUER: OnceLock<athena_emulator::LocalIssuer> = OnceLock::new();
    ISSUER.get_or_init(|| athena_emulator::LocalIssuer::new("https://idp.adbc.test"))
}

fn endpoint() -> &'static Endpoint {
    static E: OnceLock<Endpoint> = OnceLock::new();
    E.get_or_init(|| {
        // On a thread of its own: tests inside a tokio runtime call this too.
        std::thread::spawn(|| {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            // Kept for the whole binary (a static): this process's own directory under cargo's
            // temporary directory for tests.
            let data = athena_emulator::process_data_dir(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")), "adbc-it-endpoint");
            let builder = athena_emulator::Emulator::builder()
                .with_data_dir(data)
                .with_oidc_provider(issuer().provider(&["adbc-tests"], &[WEB_IDENTITY_ROLE]))
                .with_identity_center_application(athena_emulator::IdcApplication {
                    arn: IDC_APPLICATION.into(),
                    issuer: "https://idp.adbc.test".into(),
                    audiences: vec!["adbc-tests".into()],
                })
                .with_workgroup(athena_emulator::WorkGroup {
                    identity_center_instance_arn: Some("arn:aws:sso:::instance/ssoins-adbc".into()),
                    ..athena_emulator::WorkGroup::new("adbc-idc", Some("s3://athena-results/adbc-idc/"))
                })
                .with_kms_key(
                    athena_emulator::KmsKey::new("0b0e5b1c-7d1f-4c55-9d1e-5a4cfa2b7e01")
                        .with_alias("alias/someone-elses")
                        .with_principals(["arn:aws:iam::000000000000:user/someone-else"]),
                );
            let emulator = runtime.block_on(builder.start()).expect("endpoint starts");
            Endpoint { url: emulator.endpoint(), _runtime: runtime, _emulator: emulator }
        })
        .join()
        .expect("the endpoint's thread")
    })
}

/// The driver library cargo built for this test binary (in its `deps` folder).
fn driver() -> ManagedDriver {
    let exe = std::env::current_exe().unwrap();
    let name = format!("{}adbc_driver_athena{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
    let lib = exe.ancestors().skip(1).take(2).map(|d| d.join(&name)).find(|p| p.exists()).expect("the driver library is built");
    ManagedDriver::load_dynamic_from_filename(&lib, Some(b"AdbcDriverAthenaInit"), AdbcVersion::V110).expect("the driver loads")
}

pub fn connect_with(secret: &str, extra: &[(&str, &str)]) -> ManagedConnection {
    let uri = format!("athena://?region=us-east-1&s3_staging_dir=s3://athena-results/adbc/&endpoint_url={}", endpoint().url);
    let mut opts: Vec<(OptionDatabase, OptionValue)> =
        vec![(OptionDatabase::Uri, uri.into()), (OptionDatabase::Username, "test".into()), (OptionDatabase::Password, secret.into())];
    opts.extend(extra.iter().map(|(k, v)| (OptionDatabase::Other((*k).into()), (*v).into())));
    let db = driver().new_database_with_opts(opts).unwrap();
    db.new_connection().unwrap()
}

fn connect() -> ManagedConnection {
    connect_with("test", &[])
}

/// A connection whose only credential is a web identity token.
fn connect_with_token(token: &str) -> adbc_core::error::Result<ManagedConnection> {
    let uri = format!("athena://?region=us-east-1&s3_staging_dir=s3://athena-results/adbc/&endpoint_url={}", endpoint().url);
    let opts: Vec<(OptionDatabase, OptionValue)> = vec![
        (OptionDatabase::Uri, uri.into()),
        (OptionDatabase::Other("adbc.athena.role_arn".into()), WEB_IDENTITY_ROLE.into()),
        (OptionDatabase::Other("adbc.athena.web_identity_token".into()), token.into()),
    ];
    driver().new_database_with_opts(opts)?.new_connection()
}

#[test]
fn a_web_identity_token_signs_in() {
    let mut conn = connect_with_token(&issuer().token("bob", "adbc-tests", 600)).unwrap();
    let batches = run(&mut conn, "SELECT 1 AS one").unwrap();
    assert_eq!(batches[0].column(0).as_primitive::<Int32Type>().value(0), 1);
    let token = issuer().token("bob", "another-app", 600);
    let e = connect_with_token(&token).and_then(|mut c| run(&mut c, "SELECT 1")).unwrap_err();
    assert_eq!(e.status, Status::Unauthenticated, "{e:?}");
    assert!(e.message.contains("AssumeRoleWithWebIdentity of role arn:aws:iam::000000000000:role/adbc-analyst failed: InvalidIdentityToken: Incorrect token audience"), "{}", e.message);
    assert!(!e.message.contains(&token));
}

#[test]
fn cse_kms_results_are_read_decrypted_or_refused_with_kms_reason() {
    // 10 000 rows: more than GetQueryResults' first page, so the CSV is read from S3.
    let sql = "SELECT a FROM many_rows ORDER BY a";
    for unload in ["false", "true"] {
        let mut conn = connect_with(
            "test",
            &[
                ("adbc.athena.encryption_option", "CSE_KMS"),
                ("adbc.athena.kms_key", "alias/athena-results"),
                ("adbc.athena.unload", unload),
            ],
        );
        let batches = run(&mut conn, sql).unwrap();
        let values: Vec<i32> = batches.iter().flat_map(|b| b.column(0).as_primitive::<Int32Type>().values().to_vec()).collect();
        assert_eq!(values, (0..10_000).collect::<Vec<i32>>(), "unload={unload}");
    }
    let mut conn = connect_with(
        "test",
        &[
            ("adbc.athena.encryption_option", "CSE_KMS"),
            ("adbc.athena.kms_key", "alias/someone-elses"),
            ("adbc.athena.encrypted_result_fallback", "false"),
        ],
    );
    let e = run(&mut conn, sql).unwrap_err();
    assert_eq!(e.status, Status::NotImplemented, "{e:?}");
    assert!(e.message.contains("encrypted client-side (CSE_KMS): KMS Decrypt failed: AccessDeniedException: User: arn:aws:iam::000000000000:user/test is not authorized to perform: kms:Decrypt"), "{}", e.message);
    assert!(e.message.ends_with("; encrypted_result_fallback is off"), "{}", e.message);
}

#[test]
fn trusted_identity_propagation_runs_queries_in_an_identity_center_workgroup() {
    let uri = format!("athena://?region=us-east-1&work_group=adbc-idc&endpoint_url={}", endpoint().url);
    let connect = |application: &str| {
        let opts: Vec<(OptionDatabase, OptionValue)> = vec![
            (OptionDatabase::Uri, uri.clone().into()),
            (OptionDatabase::Other("adbc.athena.role_arn".into()), WEB_IDENTITY_ROLE.into()),
            (OptionDatabase::Other("adbc.athena.web_identity_token".into()), issuer().token("frank", "adbc-tests", 600).into()),
            (OptionDatabase::Other("adbc.athena.identity_center_application_arn".into()), application.into()),
            (OptionDatabase::Other("adbc.athena.access_role_arn".into()), "arn:aws:iam::000000000000:role/adbc-access".into()),
        ];
        driver().new_database_with_opts(opts)?.new_connection()
    };
    let mut conn = connect(IDC_APPLICATION).unwrap();
    let batches = run(&mut conn, "SELECT 1 AS one").unwrap();
    assert_eq!(batches[0].column(0).as_primitive::<Int32Type>().value(0), 1);
    let other = "arn:aws:sso::000000000000:application/ssoins-adbc/apl-other";
    let e = connect(other).and_then(|mut c| run(&mut c, "SELECT 1")).unwrap_err();
    assert_eq!(e.status, Status::Unauthenticated, "{e:?}");
    assert!(
        e.message.contains(&format!("SSO-OIDC CreateTokenWithIAM for application {other} failed: InvalidClientException")),
        "{}",
        e.message
    );
    // Access keys carry no identity context: the workgroup refuses them.
    let mut plain = connect_with("test", &[("adbc.athena.work_group", "adbc-idc")]);
    let e = run(&mut plain, "SELECT 1").unwrap_err();
    assert!(e.message.contains("is enabled for IAM Identity Center"), "{}", e.message);
}

/// The SQL of query `id` as the endpoint reports it (GetQueryExecution).
fn query_text(id: &str) -> String {
    let url = endpoint().url.clone();
    let id = id.to_owned();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let conn = athena_arrow::Connection::builder()
                .with_endpoint_url(url)
                .with_region("us-east-1")
                .with_access_key("test", "test")
                .build()
                .await
                .unwrap();
            conn.query_info(&id).await.unwrap().query
        })
    })
    .join()
    .unwrap()
}

fn run(conn: &mut ManagedConnection, sql: &str) -> adbc_core::error::Result<Vec<RecordBatch>> {
    let mut stmt = conn.new_statement()?;
    stmt.set_sql_query(sql)?;
    let reader = stmt.execute()?;
    Ok(reader.collect::<Result<Vec<_>, _>>()?)
}

#[test]
fn one_row_complex_arrives_typed_through_csv_and_unload() {
    for unload in ["false", "true"] {
        let mut conn = connect_with("test", &[("adbc.athena.unload", unload)]);
        let batches =
            run(&mut conn, "SELECT col_int, col_decimal, col_date, col_timestamp, col_binary, col_string, col_array FROM one_row_complex")
                .unwrap();
        let b = &batches[0];
        assert_eq!(b.num_rows(), 1, "unload={unload}");
        assert_eq!(b.column(0).as_primitive::<Int32Type>().value(0), 2147483647);
        assert_eq!(b.column(1).data_type(), &DataType::Decimal128(10, 1));
        assert_eq!(b.column(1).as_primitive::<Decimal128Type>().value(0), 1, "0.1");
        assert_eq!(b.column(2).as_primitive::<Date32Type>().value(0), 17168, "2017-01-02");
        assert_eq!(b.column(3).data_type(), &DataType::Timestamp(TimeUnit::Millisecond, None), "timestamp(3): milliseconds");
        assert_eq!(b.column(4).as_binary::<i32>().value(0), b"123");
        assert_eq!(b.column(5).as_string::<i32>().value(0), "a string");
        // Typed nested columns through UNLOAD; Athena's text through the CSV.
        let nested = b.column(6).data_type();
        assert_eq!(matches!(nested, DataType::List(_)), unload == "true", "{nested}");
    }
}

#[test]
fn null_stays_distinct_from_the_empty_string() {
    let mut conn = connect();
    let b = &run(&mut conn, "SELECT CAST(NULL AS VARCHAR) AS n, '' AS e").unwrap()[0];
    assert!(b.column(0).is_null(0));
    assert!(b.column(1).is_valid(0) && b.column(1).as_string::<i32>().value(0).is_empty());
}

#[test]
fn bound_parameters_keep_quotes_and_unicode() {
    let mut conn = connect();
    let mut stmt = conn.new_statement().unwrap();
    stmt.set_sql_query("SELECT ? AS s, ? AS n").unwrap();
    let batch = RecordBatch::try_from_iter([
        ("s", std::sync::Arc::new(arrow::array::StringArray::from(vec!["it's \"quoted\" 日本"])) as _),
        ("n", std::sync::Arc::new(arrow::array::Int64Array::from(vec![42])) as _),
    ])
    .unwrap();
    stmt.bind(batch).unwrap();
    let b: Vec<RecordBatch> = stmt.execute().unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(b[0].column(0).as_string::<i32>().value(0), "it's \"quoted\" 日本");
    // The id is the one the endpoint gave the query: it knows the query by it.
    let id = stmt.get_option_string(OptionStatement::Other("adbc.athena.last_query_id".into())).unwrap();
    assert_eq!(query_text(&id), "SELECT ? AS s, ? AS n");
}

#[test]
fn errors_carry_status_and_sqlstate() {
    let sqlstate = |e: &adbc_core::error::Error| e.sqlstate.iter().map(|&c| c as u8 as char).collect::<String>();
    let mut conn = connect();
    let e = run(&mut conn, "SELEC 1").unwrap_err();
    assert_eq!((e.status, sqlstate(&e).as_str()), (Status::InvalidArguments, "42601"), "{e}");
    let e = run(&mut conn, "SELECT * FROM no_such_table").unwrap_err();
    assert_eq!((e.status, sqlstate(&e).as_str()), (Status::NotFound, "42P01"), "{e}");
    assert!(e.message.contains("no_such_table"), "{e}");
    let mut bad = connect_with("wrong-secret", &[]);
    let e = run(&mut bad, "SELECT 1").unwrap_err();
    assert_eq!(e.status, Status::Unauthenticated, "{e}");
    assert_eq!(conn.commit().unwrap_err().status, Status::NotImplemented);
    let e = conn.set_option(OptionConnection::AutoCommit, "false".into()).unwrap_err();
    assert_eq!(e.status, Status::NotImplemented);
    // ADBC's statuses for options: setting an unknown one is NOT_IMPLEMENTED, getting one NOT_FOUND.
    let e = driver().new_database_with_opts([(OptionDatabase::Other("adbc.athena.nope".into()), "1".into())]).err().unwrap();
    assert_eq!(e.status, Status::NotImplemented);
    assert!(e.message.starts_with("unknown Athena option \"adbc.athena.nope\"; known: uri, adbc.athena.region, "), "{e}");
    // The key is judged before the value: an unknown key holding bytes or a number is still NOT_IMPLEMENTED.
    let mut db = driver().new_database().unwrap();
    let e = db.set_option(OptionDatabase::Other("adbc.athena.nope".into()), OptionValue::Bytes(vec![1])).unwrap_err();
    assert_eq!(e.status, Status::NotImplemented, "{e}");
    let e = conn.set_option(OptionConnection::Other("adbc.athena.nope".into()), OptionValue::Int(1)).unwrap_err();
    assert_eq!(e.status, Status::NotImplemented, "{e}");
    let mut stmt = conn.new_statement().unwrap();
    let e = stmt.set_option(OptionStatement::Other("adbc.athena.nope".into()), OptionValue::Bytes(vec![1])).unwrap_err();
    assert_eq!(e.status, Status::NotImplemented, "{e}");
    let e = stmt.set_option(OptionStatement::Other("adbc.athena.work_group".into()), OptionValue::Bytes(vec![1])).unwrap_err();
    assert_eq!((e.status, e.message.as_str()), (Status::InvalidArguments, "option adbc.athena.work_group takes text, not bytes"));
}

#[test]
fn metadata_lists_the_fixture_tables() {
    let conn = connect();
    let reader = conn.get_objects(ObjectDepth::All, None, Some("default"), Some("one_row%"), None, None).unwrap();
    let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>().unwrap();
    let b = &batches[0];
    assert_eq!(b.column(0).as_string::<i32>().value(0), "AwsDataCatalog");
    let schemas = b.column(1).as_list::<i32>().value(0);
    let schema = schemas.as_struct();
    assert_eq!(schema.column(0).as_string::<i32>().value(0), "default");
    let tables = schema.column(1).as_list::<i32>().value(0);
    let tables = tables.as_struct();
    let mut names: Vec<&str> = (0..tables.len()).map(|i| tables.column(0).as_string::<i32>().value(i)).collect();
    names.sort();
    assert_eq!(names, ["one_row", "one_row_complex"]);
    let schema = conn.get_table_schema(None, None, "one_row_complex").unwrap();
    assert!(matches!(schema.field_with_name("col_array").unwrap().data_type(), DataType::List(_)));
    let info: Vec<RecordBatch> = conn.get_info(Some([InfoCode::DriverName].into())).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(info[0].num_rows(), 1);
    let types: Vec<RecordBatch> = conn.get_table_types().unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(types[0].num_rows(), 3);
}

#[test]
fn partitions_read_on_another_connection_give_the_whole_result() {
    let mut conn = connect_with("test", &[("adbc.athena.unload", "true")]);
    let mut stmt = conn.new_statement().unwrap();
    stmt.set_sql_query("SELECT a FROM many_rows").unwrap();
    let parts = stmt.execute_partitions().unwrap();
    assert!(!parts.partitions.is_empty());
    let other = connect();
    let mut values = Vec::new();
    for p in &parts.partitions {
        for batch in other.read_partition(p).unwrap() {
            let batch = batch.unwrap();
            values.extend(batch.column(0).as_primitive::<Int32Type>().values().iter().copied());
        }
    }
    values.sort();
    assert_eq!(values, (0..10_000).collect::<Vec<i32>>());
}

#[test]
fn cancel_from_another_thread_stops_the_query() {
    // The Rust driver manager serialises calls on one statement behind a lock, so this drives the
    // driver's Rust API; the Python tests cancel through the C interface.
    let uri = format!("athena://?region=us-east-1&s3_staging_dir=s3://athena-results/adbc/&endpoint_url={}", endpoint().url);
    let opts: Vec<(OptionDatabase, OptionValue)> =
        vec![(OptionDatabase::Uri, uri.into()), (OptionDatabase::Username, "test".into()), (OptionDatabase::Password, "test".into())];
    let db = adbc_driver_athena::AthenaDriver.new_database_with_opts(opts).unwrap();
    let mut conn = db.new_connection().unwrap();
    // With nothing running, a cancel does nothing, and leaves nothing behind for the next query.
    let mut idle = conn.new_statement().unwrap();
    idle.canceller().cancel().unwrap();
    idle.set_sql_query("SELECT 1 AS one").unwrap();
    let rows: usize = idle.execute().unwrap().map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 1);
    let mut stmt = conn.new_statement().unwrap();
    // A guard so that a cancel that does not work fails the test instead of hanging it.
    stmt.set_option(OptionStatement::Other("adbc.athena.query_timeout_seconds".into()), "60".into()).unwrap();
    stmt.set_sql_query("SELECT sum(a.a + b.a + c.a) FROM many_rows a CROSS JOIN many_rows b CROSS JOIN many_rows c").unwrap();
    let canceller = stmt.canceller();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let finished = done.clone();
    // Cancels as soon as there is a query to cancel: a cancel before the execution starts does
    // nothing, so it is repeated until the execution returns.
    let thread = std::thread::spawn(move || {
        while !finished.load(std::sync::atomic::Ordering::SeqCst) {
            canceller.cancel().unwrap();
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    });
    let e = stmt.execute().err().expect("cancelled");
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    thread.join().unwrap();
    // Cancelled comes from the query's state as GetQueryExecution reports it (CANCELLED).
    assert_eq!(e.status, Status::Cancelled, "{e}");
}
