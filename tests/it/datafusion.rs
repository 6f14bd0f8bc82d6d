//! DataFusion over Athena's catalog: pushdown visible in the SQL that reaches the endpoint (its
//! query history), filters DataFusion keeps still applied, nothing run at planning, partitions
//! read in parallel, types through the schema mapper, joins with local Parquet files.

use std::sync::{Arc, OnceLock};

use arrow::array::{Array, AsArray, Int32Array, StringArray};
use arrow::datatypes::{DataType, Field, Int32Type, Int64Type, Schema};
use athena_arrow::Connection;
use athena_arrow::datafusion::{AthenaCatalog, AthenaTable};
use datafusion::physical_plan::ExecutionPlanProperties;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::Shared;

/// An endpoint whose UNLOADs write files of at most 1,500 rows (several partitions).
fn small_files() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        crate::start_emulator(
            athena_emulator::Emulator::builder()
                .with_data_dir(crate::kept_data_dir("it-datafusion-endpoint"))
                .with_unload_rows_per_file(1_500),
        )
    })
}

/// A context planning for `partitions` partitions, and Athena's catalog (`athena` in its SQL).
fn context(conn: &Connection, partitions: usize) -> (SessionContext, AthenaCatalog) {
    (SessionContext::new_with_config(SessionConfig::new().with_target_partitions(partitions)), AthenaCatalog::new(conn))
}

/// How many times the endpoint received exactly `sql` (tests share the endpoint, so each
/// looks for its own statements).
async fn runs_of(conn: &Connection, sql: &str) -> usize {
    history(conn).await.iter().filter(|s| s.as_str() == sql).count()
}

/// Every query's SQL in the endpoint's history, oldest first.
async fn history(conn: &Connection) -> Vec<String> {
    let mut ids = Vec::new();
    let mut token = None;
    loop {
        let page = conn.athena().list_query_executions().set_next_token(token).max_results(50).send().await.unwrap();
        ids.extend(page.query_execution_ids().iter().cloned());
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    let mut sql = Vec::new();
    for chunk in ids.chunks(50) {
        let got = conn.athena().batch_get_query_execution().set_query_execution_ids(Some(chunk.to_vec())).send().await.unwrap();
        for q in got.query_executions() {
            sql.push((q.status().unwrap().submission_date_time().unwrap().as_nanos(), q.query().unwrap_or_default().to_owned()));
        }
    }
    sql.sort();
    sql.into_iter().map(|(_, s)| s).collect()
}

async fn count((ctx, athena): &(SessionContext, AthenaCatalog), sql: &str) -> i64 {
    let batches = athena.sql(ctx, sql).await.unwrap().collect().await.unwrap();
    batches[0].column(0).as_primitive::<Int64Type>().value(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_projections_and_limits_reach_athena_as_trino_sql() {
    let conn = crate::connect().await;
    let ctx = context(&conn, 2);
    // (DataFusion's WHERE, the SQL Athena receives, rows)
    let cases = [
        ("a = 5", r#"SELECT "a" FROM "default"."many_rows" WHERE ("a" = 5)"#, 1),
        // DataFusion turns short IN lists into OR chains before the scan sees them.
        ("a IN (1, 2, 3)", r#"SELECT "a" FROM "default"."many_rows" WHERE ((("a" = 1) OR ("a" = 2)) OR ("a" = 3))"#, 3),
        ("a IN (1, 2, 3, 4, 5, 6)", r#"SELECT "a" FROM "default"."many_rows" WHERE ("a" IN (1, 2, 3, 4, 5, 6))"#, 6),
        // ... and BETWEEN into two comparisons, each pushed.
        ("a BETWEEN 10 AND 19", r#"SELECT "a" FROM "default"."many_rows" WHERE ("a" >= 10) AND ("a" <= 19)"#, 10),
        ("a IS NULL", r#"SELECT "a" FROM "default"."many_rows" WHERE ("a" IS NULL)"#, 0),
        ("NOT (a >= 3) AND a <> 1", r#"SELECT "a" FROM "default"."many_rows" WHERE ("a" < 3) AND ("a" <> 1)"#, 2),
        ("a < 2 OR a > 9997", r#"SELECT "a" FROM "default"."many_rows" WHERE (("a" < 2) OR ("a" > 9997))"#, 4),
    ];
    for (filter, sql, rows) in cases {
        let before = runs_of(&conn, sql).await;
        let n = count(&ctx, &format!("SELECT count(a) FROM athena.default.many_rows WHERE {filter}")).await;
        assert_eq!(n, rows, "{filter}");
        assert_eq!(runs_of(&conn, sql).await, before + 1, "{filter}: {:?}", history(&conn).await.last());
    }
    // LIKE, a string literal with a quote, a limit.
    let sql =
        r#"SELECT "col_string" FROM "default"."one_row_complex" WHERE ("col_string" <> 'it''s') AND ("col_string" LIKE 'a %') LIMIT 5"#;
    let before = runs_of(&conn, sql).await;
    let batches = ctx
        .1
        .sql(&ctx.0, "SELECT col_string FROM athena.default.one_row_complex WHERE col_string LIKE 'a %' AND col_string <> 'it''s' LIMIT 5")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
    assert_eq!(runs_of(&conn, sql).await, before + 1, "{:?}", history(&conn).await.last());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_athena_cannot_take_are_applied_by_datafusion() {
    let conn = crate::connect().await;
    let ctx = context(&conn, 2);
    let sql = r#"SELECT "a" FROM "default"."many_rows" WHERE ("a" < 100)"#;
    let before = runs_of(&conn, sql).await;
    // `%` differs between the engines for negative numbers: DataFusion keeps it.
    assert_eq!(count(&ctx, "SELECT count(*) FROM athena.default.many_rows WHERE a % 7 = 0 AND a < 100").await, 15);
    assert_eq!(runs_of(&conn, sql).await, before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planning_runs_nothing_and_explain_shows_the_pushed_sql() {
    let conn = crate::connect().await;
    let (ctx, athena) = context(&conn, 2);
    let sql = r#"SELECT "a" FROM "default"."many_rows" WHERE ("a" < 3)"#;
    let before = runs_of(&conn, sql).await;
    let df = athena.sql(&ctx, "SELECT a FROM athena.default.many_rows WHERE a < 3").await.unwrap();
    let plan = df.clone().create_physical_plan().await.unwrap();
    assert_eq!(runs_of(&conn, sql).await, before, "planning starts no query");
    let explain = athena.sql(&ctx, "EXPLAIN SELECT a FROM athena.default.many_rows WHERE a < 3").await.unwrap().collect().await.unwrap();
    let text = arrow::util::pretty::pretty_format_batches(&explain).unwrap().to_string();
    assert!(text.contains(r#"AthenaScanExec: partitions=2, sql=SELECT "a" FROM "default"."many_rows" WHERE ("a" < 3)"#), "{text}");
    assert_eq!(runs_of(&conn, sql).await, before, "EXPLAIN starts no query");
    let batches = datafusion::physical_plan::collect(plan, ctx.task_ctx()).await.unwrap();
    let mut values: Vec<i32> = batches.iter().flat_map(|b| b.column(0).as_primitive::<Int32Type>().values().to_vec()).collect();
    values.sort();
    assert_eq!(values, [0, 1, 2]);
    assert_eq!(runs_of(&conn, sql).await, before + 1, "one query for the scan, shared by its partitions");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unload_files_are_read_in_parallel_partitions() {
    let endpoint = &small_files().endpoint;
    let conn = crate::builder_at(endpoint).with_s3_staging_dir("s3://athena-results/df-parts/").with_unload(true).build().await.unwrap();
    let both = context(&conn, 4);
    let (ctx, athena) = &both;
    let df = athena.sql(ctx, "SELECT a FROM athena.default.many_rows").await.unwrap();
    let plan = df.create_physical_plan().await.unwrap();
    assert_eq!(plan.output_partitioning().partition_count(), 4);
    // Each partition reads its share of the (more than 4) data files.
    let mut total = 0;
    let mut busy = 0;
    for p in 0..4 {
        let stream = plan.execute(p, ctx.task_ctx()).unwrap();
        let batches: Vec<_> = futures::TryStreamExt::try_collect::<Vec<_>>(stream).await.unwrap();
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        busy += usize::from(rows > 0);
        total += rows;
    }
    assert_eq!(total, 10_000);
    assert_eq!(busy, 4, "every partition read files");
    assert_eq!(count(&both, "SELECT count(*) FROM athena.default.many_rows WHERE a >= 5000").await, 5000);

    // A query's result as a table: as many partitions as files, up to the target.
    let table = AthenaTable::from_query(conn.query("SELECT a FROM many_rows")).await.unwrap();
    ctx.register_table("result", Arc::new(table)).unwrap();
    let plan = ctx.sql("SELECT a FROM result").await.unwrap().create_physical_plan().await.unwrap();
    assert_eq!(plan.output_partitioning().partition_count(), 4);
    assert_eq!(count(&both, "SELECT sum(a) FROM result").await, 49_995_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_lists_databases_and_tables_and_types_nested_columns() {
    let conn = crate::connect().await;
    let both = context(&conn, 2);
    let (ctx, athena) = &both;
    assert!(athena.database_names().await.unwrap().contains(&"default".to_owned()));
    assert!(athena.table_names("default").await.unwrap().contains(&"one_row_complex".to_owned()));
    // A table that does not exist is DataFusion's "not found" when it plans.
    let e = athena.sql(ctx, "SELECT * FROM athena.default.no_such_table").await.unwrap_err();
    assert!(e.to_string().contains("table 'athena.default.no_such_table' not found"), "{e}");
    // An Athena that cannot be reached is an error of the call, never an empty database.
    let retry = athena_arrow::RetryConfig { max_attempts: 1, ..Default::default() };
    let down = crate::builder_at("http://127.0.0.1:9").with_retry(retry).build().await.unwrap();
    let e = AthenaCatalog::new(&down).sql(ctx, "SELECT * FROM athena.default.one_row").await.unwrap_err();
    assert!(e.to_string().contains("GetTableMetadata failed: cannot reach the endpoint"), "{e}");
    assert!(AthenaCatalog::new(&down).table_names("default").await.is_err());
    let df = athena
        .sql(ctx, "SELECT col_array, col_map, col_struct, col_decimal, col_varchar FROM athena.default.one_row_complex")
        .await
        .unwrap();
    let batches = df.collect().await.unwrap();
    let s = batches[0].schema();
    assert!(matches!(s.field(0).data_type(), DataType::List(f) if f.data_type() == &DataType::Int32));
    assert!(matches!(s.field(1).data_type(), DataType::Map(_, _)));
    assert!(matches!(s.field(2).data_type(), DataType::Struct(f) if f.len() == 2));
    assert_eq!(s.field(3).data_type(), &DataType::Decimal128(10, 1));
    let text = arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string();
    assert!(text.contains("{1: 2, 3: 4}") && text.contains("{a: 1, b: 2}") && text.contains("0.1"), "{text}");
    // A partitioned table's partition column, filtered in Athena.
    assert_eq!(count(&both, "SELECT count(*) FROM athena.default.partition_table WHERE b = 1").await, {
        let conn = crate::connect().await;
        let r = conn.execute("SELECT count(*) FROM partition_table WHERE b = 1").await.unwrap().fetch_all().await.unwrap();
        r[0].get(0).unwrap().as_i64().unwrap()
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn athena_tables_join_local_parquet_files_exactly() {
    let conn = crate::connect().await;
    let (ctx, athena) = context(&conn, 2);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("labels.parquet");
    let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int32, false), Field::new("label", DataType::Utf8, false)]));
    let batch = arrow::array::RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(Int32Array::from(vec![1, 2, 3, 20_000])), Arc::new(StringArray::from(vec!["one", "two", "three", "none"]))],
    )
    .unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    ctx.register_parquet("labels", path.to_str().unwrap(), Default::default()).await.unwrap();
    let batches = athena
        .sql(&ctx, "SELECT l.label, m.a FROM athena.default.many_rows m JOIN labels l ON m.a = l.a WHERE m.a < 100 ORDER BY m.a")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let text = arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string();
    assert_eq!(text, "+-------+---+\n| label | a |\n+-------+---+\n| one   | 1 |\n| two   | 2 |\n| three | 3 |\n+-------+---+");
    assert!(batches.iter().all(|b| b.column(1).null_count() == 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_sql_runs_on_a_duckdb_workgroup() {
    let conn = crate::builder().with_work_group("duckdb").build().await.unwrap();
    let ctx = context(&conn, 2);
    for (filter, rows) in [("a = 5", 1), ("a IN (1, 2, 3, 4, 5, 6)", 6), ("a BETWEEN 10 AND 19", 10), ("a < 2 OR a > 9997", 4)] {
        assert_eq!(count(&ctx, &format!("SELECT count(a) FROM athena.default.many_rows WHERE {filter}")).await, rows, "{filter}");
    }
    let sql = "SELECT col_string, col_int, col_date FROM athena.default.one_row_complex WHERE col_string LIKE 'a %' AND col_string <> 'it''s' LIMIT 5";
    let batches = ctx.1.sql(&ctx.0, sql).await.unwrap().collect().await.unwrap();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
    let last = conn.athena().list_query_executions().work_group("duckdb").max_results(1).send().await.unwrap();
    let info = conn.query_info(&last.query_execution_ids()[0]).await.unwrap();
    assert_eq!(info.engine, athena_arrow::Engine::DuckDb);
    assert_eq!(
        info.query,
        r#"SELECT "col_int", "col_string", "col_date" FROM "default"."one_row_complex" WHERE ("col_string" <> 'it''s') AND ("col_string" LIKE 'a %') LIMIT 5"#
    );
}
