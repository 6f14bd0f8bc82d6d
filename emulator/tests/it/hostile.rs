//! Hostile input: what a signed (or unsigned) request may send must never take the endpoint
//! down, leave a query RUNNING forever, or touch a file outside its data directory. Each case is
//! followed by a check that the endpoint still answers.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use athena_emulator::Emulator;
use aws_sdk_athena::types::{QueryExecutionContext, QueryExecutionState, ResultConfiguration};

use crate::*;

fn values(rs: &aws_sdk_athena::types::ResultSet) -> Vec<Vec<Option<String>>> {
    rs.rows().iter().map(|r| r.data().iter().map(|d| d.var_char_value().map(str::to_owned)).collect()).collect()
}

/// Runs `sql` and returns its single value (after the header row).
async fn single_value(client: &aws_sdk_athena::Client, sql: &str) -> String {
    let q = run(client, sql).await;
    assert_eq!(state(&q), QueryExecutionState::Succeeded, "{:?}", q.status());
    let page = client.get_query_results().query_execution_id(q.query_execution_id().unwrap()).send().await.unwrap();
    values(page.result_set().unwrap())[1][0].clone().unwrap()
}

/// The endpoint still answers a query.
async fn still_answers(client: &aws_sdk_athena::Client) {
    assert_eq!(single_value(client, "SELECT 40 + 2").await, "42");
}

/// Every file and folder under `root`, relative to it.
fn tree(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            out.push(p.strip_prefix(root).unwrap().display().to_string());
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

/// An endpoint of its own with its data dir inside a folder that nothing else writes to.
async fn own_endpoint(builder: athena_emulator::EmulatorBuilder) -> (tempfile::TempDir, Emulator) {
    let root = tempfile::tempdir().unwrap();
    let emulator = builder.with_data_dir(root.path().join("data")).start().await.unwrap();
    (root, emulator)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deeply_nested_sql_runs_or_fails_only_itself() {
    let client = athena();
    let union = vec!["SELECT 1 AS a"; 100].join(" UNION ALL ");
    assert_eq!(single_value(&client, &format!("SELECT count(*) FROM ({union})")).await, "100");
    let sum = vec!["1"; 300].join(" + ");
    assert_eq!(single_value(&client, &format!("SELECT {sum}")).await, "300");
    let concat = vec!["'a'"; 300].join(" || ");
    assert_eq!(single_value(&client, &format!("SELECT length({concat})")).await, "300");
    let and = vec!["1 = 1"; 1000].join(" AND ");
    assert_eq!(single_value(&client, &format!("SELECT {and}")).await, "true");
    let or = vec!["1 = 2"; 1000].join(" OR ");
    assert_eq!(single_value(&client, &format!("SELECT {or}")).await, "false");
    // Nesting beyond the parser's limit is refused as malformed, not a crash.
    let nested = format!("SELECT {}1{}", "(".repeat(5000), ")".repeat(5000));
    let err = client.start_query_execution().query_string(nested).send().await.unwrap_err();
    assert!(format!("{:?}", err.into_service_error()).contains("MALFORMED_QUERY"));
    still_answers(&client).await;
}

/// Sends raw HTTP bytes and returns the status line and the response text.
fn raw_http(addr: std::net::SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                if out.windows(8).any(|w| w == b"</Error>") {
                    break;
                }
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_keys_never_name_a_path_outside_their_bucket() {
    let (root, emulator) = own_endpoint(Emulator::builder().with_fixtures(false)).await;
    let before = tree(root.path());
    let s3 = s3_at(&emulator.endpoint(), "test");
    let long = "x".repeat(300);
    let keys = ["../escape", "a/../../escape", "a/./b", "..", ".", "a//b", "/abs", "nul\0key", long.as_str()];
    for key in keys {
        let put = s3.put_object().bucket("athena-results").key(key).body(b"evil".to_vec().into()).send().await;
        assert!(put.is_err(), "PUT {key:?} was accepted");
        let get = s3.get_object().bucket("athena-results").key(key).send().await;
        assert!(get.is_err(), "GET {key:?} answered");
    }
    // Raw requests, as no SDK would send them: dot buckets and encoded dots.
    let addr = emulator.local_addr();
    for path in [
        "/../athena-results/x",
        "/./x",
        "/athena-results/%2e%2e/%2e%2e/escape",
        "/athena-results/a/%2E%2E/%2E%2E/x",
        "/..",
        "/athena-results/a%00b",
    ] {
        let answer = raw_http(addr, &format!("PUT {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 4\r\nConnection: close\r\n\r\nevil"));
        assert!(answer.starts_with("HTTP/1.1 400"), "{path}: {answer}");
        assert!(answer.contains("<Code>"), "{path}: an S3 error body: {answer}");
    }
    // A key over S3's 1024 bytes is S3's own KeyTooLongError.
    let too_long = format!("{}/x", "k/".repeat(520));
    let err = s3.put_object().bucket("athena-results").key(&too_long).body(b"x".to_vec().into()).send().await.unwrap_err();
    assert!(format!("{:?}", err.into_service_error()).contains("KeyTooLong"));
    // Ordinary keys still work, and nothing appeared outside the data dir.
    s3.put_object().bucket("athena-results").key("ok/a.txt").body(b"fine".to_vec().into()).send().await.unwrap();
    let after = tree(root.path());
    let outside: Vec<&String> = after.iter().filter(|p| !p.starts_with("data") && !before.contains(p)).collect();
    assert!(outside.is_empty(), "written outside the data dir: {outside:?}");
    assert!(!after.iter().any(|p| p.contains("escape")), "{after:?}");
    still_answers(&athena_at(&emulator.endpoint(), "test")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locations_are_checked_when_the_statement_is_accepted() {
    let (root, emulator) = own_endpoint(Emulator::builder()).await;
    let client = athena_at(&emulator.endpoint(), "test");
    for location in
        ["s3://athena-results/../escape/", "s3://athena-results/a//b/", "s3://./x/", "s3://../x/", "file:///etc/", "s3://UPPER/x/"]
    {
        let err = client
            .start_query_execution()
            .query_string("SELECT 1")
            .result_configuration(ResultConfiguration::builder().output_location(location).build())
            .send()
            .await
            .unwrap_err();
        let text = format!("{:?}", err.into_service_error());
        assert!(text.contains("INVALID_INPUT"), "{location}: {text}");
    }
    for sql in [
        "CREATE EXTERNAL TABLE evil (a int) STORED AS PARQUET LOCATION 'file:///etc/'",
        "CREATE EXTERNAL TABLE evil2 (a int) STORED AS PARQUET LOCATION 's3://athena-warehouse/../../escape/'",
        "UNLOAD (SELECT 1 AS a) TO 's3://athena-results/../escape/' WITH (format = 'PARQUET')",
        "UNLOAD (SELECT 1 AS a) TO 'file:///tmp/escape/' WITH (format = 'PARQUET')",
    ] {
        let q = run(&client, sql).await;
        assert_eq!(state(&q), QueryExecutionState::Failed, "{sql}: {:?}", q.status());
        let reason = q.status().unwrap().state_change_reason().unwrap_or_default().to_owned();
        assert!(reason.starts_with("INVALID_INPUT"), "{sql}: {reason}");
    }
    let outside: Vec<String> = tree(root.path()).into_iter().filter(|p| !p.starts_with("data")).collect();
    assert!(outside.is_empty(), "{outside:?}");
    still_answers(&client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_starts_with_one_token_make_one_query() {
    let client = athena();
    for round in 0..5 {
        let token = format!("concurrent-token-{round}-{}", uuid::Uuid::new_v4().simple());
        let starts = (0..20).map(|_| {
            let (client, token) = (client.clone(), token.clone());
            tokio::spawn(async move {
                client
                    .start_query_execution()
                    .query_string("SELECT 7")
                    .client_request_token(token)
                    .send()
                    .await
                    .unwrap()
                    .query_execution_id
                    .unwrap()
            })
        });
        let ids: Vec<String> = futures::future::join_all(starts).await.into_iter().map(Result::unwrap).collect();
        assert!(ids.iter().all(|id| *id == ids[0]), "round {round}: {ids:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_ddl_keeps_the_catalog_whole() {
    let client = athena();
    let jobs = (0..16).map(|i| {
        let client = client.clone();
        tokio::spawn(async move {
            for sql in [format!("CREATE TABLE ddl_race_{i} AS SELECT {i} AS a"), format!("DROP TABLE ddl_race_{i}")] {
                let q = run(&client, &sql).await;
                assert_eq!(state(&q), QueryExecutionState::Succeeded, "{sql}: {:?}", q.status());
            }
        })
    });
    for job in futures::future::join_all(jobs).await {
        job.unwrap();
    }
}

async fn run_in_db(client: &aws_sdk_athena::Client, sql: &str, db: &str) -> aws_sdk_athena::types::QueryExecution {
    let id = client
        .start_query_execution()
        .query_string(sql)
        .query_execution_context(QueryExecutionContext::builder().database(db).build())
        .send()
        .await
        .unwrap()
        .query_execution_id
        .unwrap();
    wait(client, &id).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_view_fails_only_its_readers() {
    let (_root, emulator) = own_endpoint(Emulator::builder()).await;
    let client = athena_at(&emulator.endpoint(), "test");
    for sql in [
        "CREATE DATABASE other",
        "CREATE TABLE other.gone AS SELECT 1 AS a",
        "CREATE VIEW other.stale AS SELECT a FROM gone",
        "DROP TABLE other.gone",
    ] {
        let q = run(&client, sql).await;
        assert_eq!(state(&q), QueryExecutionState::Succeeded, "{sql}: {:?}", q.status());
    }
    // Queries that do not read the stale view are not affected, in any database.
    for db in ["default", "other"] {
        let q = run_in_db(&client, "SELECT 1", db).await;
        assert_eq!(state(&q), QueryExecutionState::Succeeded, "{db}: {:?}", q.status());
    }
    let q = run(&client, "SELECT count(*) FROM one_row").await;
    assert_eq!(state(&q), QueryExecutionState::Succeeded, "{:?}", q.status());
    let q = run(&client, "SELECT * FROM other.stale").await;
    assert_eq!(state(&q), QueryExecutionState::Failed);
    assert!(q.status().unwrap().state_change_reason().unwrap().starts_with("VIEW_IS_STALE"), "{:?}", q.status());
    // information_schema lists the stale view's recorded columns without reading it.
    let q = run(&client, "SELECT column_name FROM information_schema.columns WHERE table_schema = 'other'").await;
    assert_eq!(state(&q), QueryExecutionState::Succeeded, "{:?}", q.status());

    // A view reads the tables of its own database, whichever database queries it.
    for sql in
        ["CREATE TABLE other.one_row AS SELECT 42 AS number_of_rows", "CREATE VIEW default.v_one AS SELECT number_of_rows FROM one_row"]
    {
        let q = run(&client, sql).await;
        assert_eq!(state(&q), QueryExecutionState::Succeeded, "{sql}: {:?}", q.status());
    }
    let q = run_in_db(&client, "SELECT number_of_rows FROM default.v_one", "other").await;
    let page = client.get_query_results().query_execution_id(q.query_execution_id().unwrap()).send().await.unwrap();
    assert_eq!(values(page.result_set().unwrap())[1], [Some("1".to_owned())]);

    // An unknown database is Athena's SCHEMA_NOT_FOUND.
    let q = run_in_db(&client, "SELECT * FROM one_row", "nope").await;
    assert_eq!(state(&q), QueryExecutionState::Failed);
    assert!(q.status().unwrap().state_change_reason().unwrap().starts_with("SCHEMA_NOT_FOUND"), "{:?}", q.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_clients_are_dropped_and_do_not_block_others() {
    let (_root, emulator) =
        own_endpoint(Emulator::builder().with_fixtures(false).with_header_read_timeout(Duration::from_secs(1)).with_max_connections(4))
            .await;
    let addr = emulator.local_addr();
    // Four connections that start a request and never finish its headers hold every slot.
    let mut stalled: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\n").unwrap();
            s
        })
        .collect();
    let started = Instant::now();
    // Served once the stalled ones are closed by the header timeout.
    let client = athena_at(&emulator.endpoint(), "test");
    let groups = client.list_work_groups().send().await.unwrap();
    assert!(!groups.work_groups().is_empty());
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
    for s in &mut stalled {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 512];
        // Closed by the endpoint: end of stream (possibly after a 408 response).
        let mut total = 0;
        loop {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => total += n,
                Err(e) => panic!("a stalled connection was not closed: {e} (read {total} bytes)"),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_cover_the_body_received() {
    use aws_sdk_athena::config::interceptors::BeforeTransmitInterceptorContextMut;
    use aws_sdk_athena::config::{ConfigBag, Intercept, RuntimeComponents};

    /// Swaps a signed request's body for another after signing, with a header claiming the
    /// signed body's hash: a captured request replayed with another query.
    #[derive(Debug)]
    struct Replay;

    impl Intercept for Replay {
        fn name(&self) -> &'static str {
            "Replay"
        }

        fn modify_before_transmit(
            &self,
            context: &mut BeforeTransmitInterceptorContextMut<'_>,
            _components: &RuntimeComponents,
            _cfg: &mut ConfigBag,
        ) -> Result<(), aws_sdk_athena::error::BoxError> {
            let request = context.request_mut();
            let signed = request.body().bytes().unwrap_or_default().to_vec();
            let hash = {
                use sha2::Digest;
                hex::encode(sha2::Sha256::digest(&signed))
            };
            let swapped = String::from_utf8(signed).unwrap().replace("SELECT 1", "SELECT 2");
            request.headers_mut().insert("x-amz-content-sha256", hash);
            request.headers_mut().insert("content-length", swapped.len().to_string());
            *request.body_mut() = swapped.into();
            Ok(())
        }
    }

    let conf = aws_sdk_athena::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_athena::config::Region::new("us-east-1"))
        .endpoint_url(&shared().endpoint)
        .credentials_provider(creds("test"))
        .interceptor(Replay)
        .build();
    let tampering = aws_sdk_athena::Client::from_conf(conf);
    let err = tampering.start_query_execution().query_string("SELECT 1").send().await.unwrap_err();
    let text = format!("{:?}", err.into_service_error());
    assert!(text.contains("InvalidSignatureException"), "{text}");
    // A session token sent with a long-term key is refused too.
    let with_token = aws_sdk_athena::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_athena::config::Region::new("us-east-1"))
        .endpoint_url(&shared().endpoint)
        .credentials_provider(aws_sdk_athena::config::Credentials::new("test", "test", Some("forged".into()), None, "tests"))
        .build();
    let err = aws_sdk_athena::Client::from_conf(with_token).list_work_groups().send().await.unwrap_err();
    assert!(format!("{:?}", err.into_service_error()).contains("UnrecognizedClientException"));
    // A presigned URL may live at most S3's 7 days (604800 s).
    let endpoint = shared().endpoint.clone();
    let addr: std::net::SocketAddr = endpoint.trim_start_matches("http://").parse().unwrap();
    let query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=test%2F20260101%2Fus-east-1%2Fs3%2Faws4_request\
                 &X-Amz-Date=20260101T000000Z&X-Amz-Expires=604801&X-Amz-SignedHeaders=host&X-Amz-Signature=00";
    let answer = raw_http(addr, &format!("GET /athena-results/x?{query} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"));
    assert!(answer.contains("AuthorizationQueryParametersError"), "{answer}");
    // A presigned URL scoped to another service goes to that service (STS here, which takes
    // signed headers only) and is refused before any object is read.
    let sts_scoped = query.replace("%2Fs3%2F", "%2Fsts%2F").replace("604801", "60");
    let answer = raw_http(addr, &format!("GET /athena-results/x?{sts_scoped} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"));
    assert!(answer.starts_with("HTTP/1.1 403") && answer.contains("<Code>MissingAuthenticationToken</Code>"), "{answer}");
    still_answers(&athena()).await;
}
