//! Execution: lifecycle, errors, cancel, timeout, callbacks, reuse, cache, handles, retries.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use athena_arrow::{CacheConfig, Error, ErrorKind, QueryState, RetryConfig, Value};
use athena_emulator::Emulator;

use crate::{ENDLESS, builder, builder_at, connect, start_emulator};

/// Polls `f` until it returns true or `deadline` passes.
async fn eventually(deadline: Duration, mut f: impl AsyncFnMut() -> bool) -> bool {
    let end = Instant::now() + deadline;
    while Instant::now() < end {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn select_reports_description_and_facts() {
    let conn = connect().await;
    let mut cursor = conn.cursor();
    cursor.execute("SELECT * FROM one_row").await.unwrap();
    let desc = cursor.description().unwrap();
    assert_eq!((desc[0].name.as_str(), desc[0].type_name.as_str()), ("number_of_rows", "integer"));
    let rows = cursor.fetch_all().await.unwrap();
    assert_eq!(rows.iter().map(|r| r.values()).collect::<Vec<_>>(), vec![vec![Value::Integer(1)]]);
    assert_eq!(cursor.rowcount(), None);
    let info = cursor.info().unwrap();
    assert_eq!(info.state, QueryState::Succeeded);
    assert_eq!((info.statement_type.as_deref(), info.substatement_type.as_deref()), (Some("DML"), Some("SELECT")));
    assert_eq!(info.output_location.as_deref(), Some(format!("s3://athena-results/{}.csv", info.query_id).as_str()));
    assert_eq!((info.work_group.as_deref(), info.database.as_deref()), (Some("primary"), Some("default")));
    assert!(info.submission_time.is_some() && info.completion_time.is_some() && info.engine_execution_time.is_some());
    assert!(!info.reused_previous_result);
    assert!(cursor.fetch_one().await.unwrap().is_none());
}

#[tokio::test]
async fn malformed_sql_and_unknown_table_are_typed() {
    let conn = connect().await;
    let e = conn.execute("SELEC 1").await.unwrap_err();
    assert_eq!(e.code(), Some("MALFORMED_QUERY"), "{e}");
    assert!(e.query_id().is_none(), "no query is created for a syntax error");
    let e = conn.execute("SELECT * FROM no_such_table").await.unwrap_err();
    let Error::QueryFailed { query_id, reason, error_category, .. } = &e else { panic!("{e:?}") };
    assert!(reason.starts_with("TABLE_NOT_FOUND: "), "{reason}");
    assert_eq!(*error_category, Some(2));
    assert_eq!(e.state(), Some(QueryState::Failed));
    assert_eq!(e.kind(), ErrorKind::NotFound);
    // The id is the one the endpoint gave the query: it reports the query's text and state.
    let info = conn.query_info(query_id).await.unwrap();
    assert_eq!((info.query.as_str(), info.state), ("SELECT * FROM no_such_table", QueryState::Failed));
}

#[tokio::test]
async fn rowcount_is_update_count_of_inserts_and_ctas() {
    let conn = connect().await;
    let mut cursor = conn.cursor();
    cursor.execute("CREATE TABLE exec_ctas AS SELECT a FROM many_rows WHERE a < 3").await.unwrap();
    assert_eq!(cursor.rowcount(), Some(3));
    cursor.execute("INSERT INTO exec_ctas VALUES (7), (8)").await.unwrap();
    assert_eq!(cursor.rowcount(), Some(2));
    cursor.execute("SELECT count(*) FROM exec_ctas").await.unwrap();
    assert_eq!(cursor.rowcount(), None);
    assert_eq!(cursor.fetch_one().await.unwrap().unwrap().get(0), Some(Value::BigInt(5)));
}

#[tokio::test]
async fn callbacks_are_called_once_each_before_waiting() {
    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let s = seen.clone();
    let conn =
        builder().with_on_start_query_execution(move |id| s.lock().unwrap().push(("connection".into(), id.into()))).build().await.unwrap();
    let s = seen.clone();
    let result = conn
        .query("SELECT 1")
        .on_start_query_execution(move |id| s.lock().unwrap().push(("execute".into(), id.into())))
        .execute()
        .await
        .unwrap();
    let id = result.query_id().to_owned();
    assert_eq!(*seen.lock().unwrap(), vec![("connection".to_owned(), id.clone()), ("execute".to_owned(), id)]);
    conn.execute("SELECT 2").await.unwrap();
    assert_eq!(seen.lock().unwrap().len(), 3, "the connection callback runs for every query, once");
}

#[tokio::test]
async fn cancel_from_another_task_ends_the_query_cancelled() {
    let conn = connect().await;
    let cancel_id: Arc<Mutex<Option<String>>> = Arc::default();
    let c = cancel_id.clone();
    let canceller = conn.clone();
    let query = conn.query(ENDLESS).on_start_query_execution(move |id| {
        *c.lock().unwrap() = Some(id.to_owned());
        let handle = canceller.cancel_handle(id);
        let watcher = canceller.clone();
        let id = id.to_owned();
        tokio::spawn(async move {
            // Once the query runs, as a user would stop a query seen running.
            let deadline = Instant::now() + Duration::from_secs(10);
            while watcher.query_info(&id).await.unwrap().state != QueryState::Running {
                assert!(Instant::now() < deadline, "the query never ran");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            handle.cancel().await.unwrap();
        });
    });
    let e = query.execute().await.unwrap_err();
    assert!(e.is_cancelled(), "{e:?}");
    assert_eq!(e.query_id(), cancel_id.lock().unwrap().as_deref());
}

#[tokio::test]
async fn timeout_cancels_the_server_side_query() {
    let conn = connect().await;
    let started = Instant::now();
    let e = conn.query(ENDLESS).timeout(Duration::from_millis(400)).execute().await.unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let id = e.query_id().unwrap().to_owned();
    let info = conn.query_info(&id).await.unwrap();
    assert_eq!(info.state, QueryState::Cancelled, "the timed-out query is stopped on the server");
}

#[tokio::test]
async fn dropping_a_handle_stops_the_query_unless_detached() {
    let conn = connect().await;
    let handle = conn.query(ENDLESS).submit().await.unwrap();
    let id = handle.query_id().to_owned();
    drop(handle);
    assert!(eventually(Duration::from_secs(10), async || conn.query_info(&id).await.unwrap().state == QueryState::Cancelled).await);

    // A detached query runs to its end: it succeeds (a dropped handle would have stopped it).
    let finite = "SELECT count(*) FROM many_rows a CROSS JOIN (SELECT a FROM many_rows WHERE a < 300) b";
    let id = conn.query(finite).submit().await.unwrap().detach();
    assert!(
        eventually(Duration::from_secs(60), async || conn.query_info(&id).await.unwrap().state.is_terminal()).await,
        "the detached query ended"
    );
    assert_eq!(conn.query_info(&id).await.unwrap().state, QueryState::Succeeded);

    // A waiting execute future dropped (here by a timeout of the caller) stops its query too.
    let ids: Arc<Mutex<Vec<String>>> = Arc::default();
    let i = ids.clone();
    let fut = conn.query(ENDLESS).on_start_query_execution(move |id| i.lock().unwrap().push(id.to_owned())).execute();
    assert!(tokio::time::timeout(Duration::from_millis(300), fut).await.is_err());
    let id = ids.lock().unwrap()[0].clone();
    assert!(eventually(Duration::from_secs(10), async || conn.query_info(&id).await.unwrap().state == QueryState::Cancelled).await);
}

#[tokio::test]
async fn many_handles_in_flight_on_one_connection() {
    let conn = connect().await;
    let mut handles = Vec::new();
    for i in 0..5 {
        handles.push(conn.query(format!("SELECT {i} AS i")).submit().await.unwrap());
    }
    let first = handles[0].poll().await.unwrap();
    assert_eq!(first.query, "SELECT 0 AS i");
    for (i, h) in handles.into_iter().enumerate() {
        let mut r = h.wait().await.unwrap();
        assert_eq!(r.fetch_one().await.unwrap().unwrap().get(0), Some(Value::Integer(i as i32)));
    }
}

#[tokio::test]
async fn result_reuse_flag() {
    let conn = builder().with_result_reuse(Duration::from_secs(3600)).build().await.unwrap();
    let sql = "SELECT 'reuse-me' AS r";
    let first = conn.execute(sql).await.unwrap();
    let second = conn.execute(sql).await.unwrap();
    assert!(!first.info().reused_previous_result);
    assert!(second.info().reused_previous_result);
    let third = conn.query(sql).no_result_reuse().execute().await.unwrap();
    assert!(!third.info().reused_previous_result);
}

#[tokio::test]
async fn client_cache_hit_miss_and_expiry() {
    let conn = connect().await;
    let sql = format!("SELECT 'cache-{}' AS c", std::process::id());
    let first = conn.execute(sql.as_str()).await.unwrap().query_id().to_owned();
    let hit = conn.query(sql.as_str()).cache(CacheConfig::new(50, Duration::ZERO)).execute().await.unwrap();
    assert_eq!(hit.query_id(), first, "cache hit: the earlier execution is returned");
    let mut hit = hit;
    assert_eq!(
        hit.fetch_one().await.unwrap().unwrap().get(0).unwrap().as_str().map(str::to_owned),
        Some(format!("cache-{}", std::process::id()))
    );
    // Miss: other text.
    let other = conn.query(format!("{sql} ")).cache(CacheConfig::new(50, Duration::ZERO)).execute().await.unwrap();
    assert_ne!(other.query_id(), first);
    // Expiry: executions older than the expiration are not reused (the first ended two queries
    // ago, more than a millisecond).
    let expired = conn.query(sql.as_str()).cache(CacheConfig::new(0, Duration::from_millis(1))).execute().await.unwrap();
    assert_ne!(expired.query_id(), first);
    // A qmark query with parameters never uses the cache.
    let q = conn.query("SELECT ? AS c").paramstyle(athena_arrow::ParamStyle::Qmark).bind(1).cache(CacheConfig::new(50, Duration::ZERO));
    let a = q.execute().await.unwrap().query_id().to_owned();
    let b = conn
        .query("SELECT ? AS c")
        .paramstyle(athena_arrow::ParamStyle::Qmark)
        .bind(1)
        .cache(CacheConfig::new(50, Duration::ZERO))
        .execute()
        .await
        .unwrap();
    assert_ne!(a, b.query_id());
}

#[tokio::test]
async fn wrong_credentials_are_refused() {
    let conn = builder().with_access_key("test", "wrong").build().await.unwrap();
    let e = conn.execute("SELECT 1").await.unwrap_err();
    assert!(matches!(&e, Error::Api { code: Some(c), .. } if c == "InvalidSignatureException"), "{e:?}");
    let conn = builder().with_access_key("nobody", "x").build().await.unwrap();
    let e = conn.execute("SELECT 1").await.unwrap_err();
    assert!(matches!(&e, Error::Api { code: Some(c), .. } if c == "UnrecognizedClientException"), "{e:?}");
}

#[tokio::test]
async fn no_result_location_is_a_config_error() {
    let conn = builder().with_work_group("no-output").build().await.unwrap();
    let e = conn.execute("SELECT 1").await.unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
    assert!(e.to_string().contains("s3_staging_dir"), "{e}");
    // A staging dir fixes it; managed results need none.
    let conn = builder().with_work_group("no-output").with_s3_staging_dir("s3://athena-results/own/").build().await.unwrap();
    let r = conn.execute("SELECT 1").await.unwrap();
    assert!(r.info().output_location.as_deref().unwrap().starts_with("s3://athena-results/own/"));
    let conn = builder().with_work_group("managed").build().await.unwrap();
    let mut r = conn.execute("SELECT 'm' AS x").await.unwrap();
    assert_eq!(r.info().output_location, None);
    assert_eq!(r.fetch_one().await.unwrap().unwrap().get(0), Some(Value::String("m".into())));
}

#[tokio::test]
async fn throttling_is_retried() {
    let emulator = start_emulator(Emulator::builder().with_faults(0.0, 0.0, 0.3));
    let conn = builder_at(&emulator.endpoint).build().await.unwrap();
    for _ in 0..5 {
        let mut r = conn.execute("SELECT 1 AS one").await.unwrap();
        assert_eq!(r.fetch_all().await.unwrap().len(), 1);
    }
    // Without retries, throttling surfaces as a retryable error.
    let conn = builder_at(&emulator.endpoint).with_retry(RetryConfig { max_attempts: 1, ..RetryConfig::default() }).build().await.unwrap();
    let mut throttled = 0;
    for _ in 0..30 {
        match conn.execute("SELECT 1").await {
            Ok(_) => {}
            Err(e) => {
                assert!(e.is_retryable() && e.code() == Some("ThrottlingException"), "{e:?}");
                throttled += 1;
            }
        }
    }
    assert!(throttled > 0);
}

#[tokio::test]
async fn metadata_lists_databases_and_tables() {
    let conn = connect().await;
    assert!(conn.list_databases().await.unwrap().contains(&"default".to_owned()));
    let tables = conn.list_tables(None).await.unwrap();
    assert!(tables.iter().any(|t| t.name == "one_row_complex"));
    let t = conn.table_metadata(None, "partition_table").await.unwrap();
    assert_eq!(t.partition_keys, vec![("b".to_owned(), "int".to_owned())]);
    let e = conn.table_metadata(None, "nope").await.unwrap_err();
    assert_eq!((e.kind(), e.code()), (ErrorKind::NotFound, Some("MetadataException")), "{e}");
}

#[test]
fn blocking_facade_iterates_rows() {
    let ep = crate::shared().endpoint.clone();
    let rows = std::thread::spawn(move || {
        let conn = athena_arrow::blocking::Connection::connect(builder_at(&ep)).unwrap();
        let mut cursor = conn.cursor();
        cursor.execute("SELECT a FROM many_rows ORDER BY a LIMIT 3").unwrap();
        let rows: Vec<Value> = cursor.by_ref().map(|r| r.unwrap().get(0).unwrap()).collect();
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let r = conn.execute_query(conn.query("SELECT 1").on_start_query_execution(move |_| {
            c.fetch_add(1, Ordering::SeqCst);
        }));
        let one = r.unwrap().fetch_all().unwrap();
        assert_eq!(one.iter().map(|r| r.values()).collect::<Vec<_>>(), vec![vec![Value::Integer(1)]]);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        rows
    })
    .join()
    .unwrap();
    assert_eq!(rows, vec![Value::Integer(0), Value::Integer(1), Value::Integer(2)]);
}

/// `from_env()` in a separate process (the `basic` example), so no test mutates its own env.
#[test]
fn environment_variables_configure_the_connection() {
    let deps = std::env::current_exe().unwrap();
    let example = deps.parent().unwrap().parent().unwrap().join("examples").join("basic");
    let out = std::process::Command::new(&example)
        .env("AWS_ENDPOINT_URL", &crate::shared().endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ATHENA_S3_STAGING_DIR", "s3://athena-results/from-env/")
        .env("AWS_ATHENA_WORK_GROUP", "primary")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", example.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("[[Integer(1)]]"), "{stdout}");
    assert!(stdout.contains("Some(\"s3://athena-results/from-env/"), "{stdout}");
}

#[tokio::test]
async fn waiting_again_after_the_end_reads_no_status() {
    // A poll that saw the end keeps it: wait() after wait_info() (the CLI's progress display,
    // then the results) makes no GetQueryExecution call of its own.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("requests.log");
    let emulator = start_emulator(Emulator::builder().with_request_log(&log));
    let conn = builder_at(&emulator.endpoint).build().await.unwrap();
    let handle = conn.query("SELECT * FROM one_row").submit().await.unwrap();
    let query_id = handle.query_id().to_owned();
    let status_reads = || {
        let text = std::fs::read_to_string(&log).unwrap();
        text.lines().filter(|l| l.starts_with("ATHENA GetQueryExecution ") && l.contains(&query_id)).count()
    };
    assert_eq!(handle.wait_info().await.unwrap().state, QueryState::Succeeded);
    let polled = status_reads();
    assert!(polled >= 1, "the wait polled");
    assert_eq!(handle.wait_info().await.unwrap().state, QueryState::Succeeded);
    let mut result = handle.wait().await.unwrap();
    assert_eq!(result.fetch_all().await.unwrap().len(), 1);
    assert_eq!(status_reads(), polled, "no status read after the end was seen");
}
