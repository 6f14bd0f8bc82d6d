//! The `athena-arrow` binary end to end against the local endpoint, started once for the test
//! binary on 127.0.0.1:0: each output format exactly, exports read back, exit codes, Ctrl-C.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::Int32Type;

struct Shared {
    endpoint: String,
    _emulator: athena_emulator::Emulator,
    _runtime: tokio::runtime::Runtime,
}

const WEB_IDENTITY_ROLE: &str = "arn:aws:iam::000000000000:role/cli-analyst";

/// The identity provider the shared endpoint trusts for [`WEB_IDENTITY_ROLE`] (audience `cli-tests`).
fn issuer() -> &'static athena_emulator::LocalIssuer {
    static ISSUER: OnceLock<athena_emulator::LocalIssuer> = OnceLock::new();
    ISSUER.get_or_init(|| athena_emulator::LocalIssuer::new("https://idp.cli.test"))
}

fn endpoint() -> &'static str {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    &SHARED
        .get_or_init(|| {
            std::thread::spawn(|| {
                let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
                // Kept for the whole binary (a static): this process's own directory under
                // cargo's temporary directory for tests.
                let data = athena_emulator::process_data_dir(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")), "cli-it-endpoint");
                let builder = athena_emulator::Emulator::builder()
                    .with_data_dir(data)
                    .with_oidc_provider(issuer().provider(&["cli-tests"], &[WEB_IDENTITY_ROLE]))
                    .with_identity_center_application(athena_emulator::IdcApplication {
                        arn: IDC_APPLICATION.into(),
                        issuer: "https://idp.cli.test".into(),
                        audiences: vec!["cli-tests".into()],
                    })
                    .with_workgroup(athena_emulator::WorkGroup {
                        identity_center_instance_arn: Some("arn:aws:sso:::instance/ssoins-cli".into()),
                        ..athena_emulator::WorkGroup::new("cli-idc", Some("s3://athena-results/cli-idc/"))
                    })
                    .with_kms_key(
                        athena_emulator::KmsKey::new("0b0e5b1c-7d1f-4c55-9d1e-5a4cfa2b7e01")
                            .with_alias("alias/someone-elses")
                            .with_principals(["arn:aws:iam::000000000000:user/someone-else"]),
                    );
                let emulator = runtime.block_on(builder.start()).expect("endpoint starts");
                Shared { endpoint: emulator.endpoint(), _emulator: emulator, _runtime: runtime }
            })
            .join()
            .unwrap()
        })
        .endpoint
}

/// The binary pointed at the shared endpoint.
fn cli() -> Command {
    cli_at(endpoint())
}

/// The binary pointed at `endpoint` with the endpoint's keys and nothing from the user's AWS files.
fn cli_at(endpoint: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_athena-arrow"));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .args(["--endpoint-url", endpoint, "--s3-staging-dir", "s3://athena-results/cli-tests/"]);
    c
}

fn run(args: &[&str]) -> Output {
    cli().args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "{:?}: {}", o.status, String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

const SQL: &str = "SELECT a, CAST(a AS VARCHAR) AS s, CAST(NULL AS VARCHAR) AS n FROM many_rows WHERE a < 3 ORDER BY a";

#[test]
fn text_formats_are_exact() {
    assert_eq!(stdout(&run(&["query", SQL, "--format", "csv"])), "a,s,n\n0,0,\n1,1,\n2,2,\n");
    assert_eq!(stdout(&run(&["query", SQL, "--format", "tsv"])), "a\ts\tn\n0\t0\t\n1\t1\t\n2\t2\t\n");
    assert_eq!(
        stdout(&run(&["query", SQL, "--format", "ndjson"])),
        "{\"a\":0,\"s\":\"0\"}\n{\"a\":1,\"s\":\"1\"}\n{\"a\":2,\"s\":\"2\"}\n"
    );
    assert_eq!(stdout(&run(&["query", SQL, "--format", "json"])), "[{\"a\":0,\"s\":\"0\"},{\"a\":1,\"s\":\"1\"},{\"a\":2,\"s\":\"2\"}]\n");
    assert_eq!(
        stdout(&run(&["query", SQL, "--format", "table"])),
        "+---+---+---+\n| a | s | n |\n+---+---+---+\n| 0 | 0 |   |\n| 1 | 1 |   |\n| 2 | 2 |   |\n+---+---+---+\n"
    );
    // A statement without result columns (DDL) writes nothing, not an empty header line.
    assert_eq!(stdout(&run(&["query", "CREATE DATABASE IF NOT EXISTS cli_ddl_output"])), "");
    assert_eq!(stdout(&run(&["query", "CREATE DATABASE IF NOT EXISTS cli_ddl_output", "--format", "json"])), "[]\n");
    // Not a terminal: CSV by default; the summary line goes to stderr unless -q.
    let o = run(&["query", "SELECT 1 AS one"]);
    assert_eq!(stdout(&o), "one\n1\n");
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(err.starts_with("query ") && err.contains(" SUCCEEDED: scanned ") && err.contains(" 1 rows, "), "{err}");
    let o = run(&["-q", "query", "SELECT 1 AS one"]);
    assert!(o.stderr.is_empty(), "{}", String::from_utf8_lossy(&o.stderr));
    // An empty result still has its header.
    assert_eq!(stdout(&run(&["query", "SELECT a FROM many_rows WHERE a < 0", "--format", "csv"])), "a\n");
}

fn read_parquet(path: &std::path::Path) -> Vec<RecordBatch> {
    let file = std::fs::File::open(path).unwrap();
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap().map(Result::unwrap).collect()
}

#[test]
fn exports_read_back() {
    let dir = tempfile::tempdir().unwrap();
    for unload in [false, true] {
        let pq = dir.path().join(format!("out-{unload}.parquet"));
        let mut args = vec!["query", "SELECT a FROM many_rows", "--format", "parquet", "-o", pq.to_str().unwrap()];
        if unload {
            args.push("--unload");
        }
        stdout(&run(&args));
        let batches = read_parquet(&pq);
        let mut values: Vec<i32> = batches.iter().flat_map(|b| b.column(0).as_primitive::<Int32Type>().values().to_vec()).collect();
        values.sort_unstable();
        assert_eq!(values, (0..10_000).collect::<Vec<_>>(), "unload {unload}");
        assert_eq!(batches[0].schema().field(0).metadata().get("athena.type").map(String::as_str), Some("integer"));
    }
    let ipc = dir.path().join("out.arrow");
    stdout(&run(&["query", SQL, "--format", "arrow", "-o", ipc.to_str().unwrap()]));
    let reader = arrow::ipc::reader::FileReader::try_new(std::fs::File::open(&ipc).unwrap(), None).unwrap();
    let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
    let b = &batches[0];
    assert_eq!(b.num_rows(), 3);
    assert_eq!(b.column(1).as_string::<i32>().value(2), "2");
    assert!(b.column(2).is_null(0));
    // The stream format on standard output.
    let o = run(&["query", SQL, "--format", "arrow"]);
    let reader = arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(stdout_bytes(&o)), None).unwrap();
    assert_eq!(reader.map(|b| b.unwrap().num_rows()).sum::<usize>(), 3);
}

fn stdout_bytes(o: &Output) -> Vec<u8> {
    assert!(o.status.success(), "{:?}: {}", o.status, String::from_utf8_lossy(&o.stderr));
    o.stdout.clone()
}

#[test]
fn sql_from_a_file_and_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("q.sql");
    std::fs::write(&file, "SELECT a FROM many_rows WHERE a < %(n)s AND %(s)s = 'x''y' ORDER BY a\n").unwrap();
    let o = run(&["query", "-f", file.to_str().unwrap(), "--param", "n=2", "--param", "s=x'y", "--format", "csv"]);
    assert_eq!(stdout(&o), "a\n0\n1\n");
    let o = run(&["query", "SELECT a FROM many_rows WHERE a < ? AND ? = 'it''s' ORDER BY a", "--qmark", "2", "--qmark", "'it's'"]);
    assert_eq!(stdout(&o), "a\n0\n1\n");
    let o = run(&["query", "SELECT 1 AS one", "--reuse-minutes", "60", "--timeout", "30s"]);
    assert_eq!(stdout(&o), "one\n1\n");
}

#[test]
fn metadata_commands() {
    let dbs = stdout(&run(&["databases"]));
    assert!(dbs.lines().any(|l| l == "default"), "{dbs}");
    let tables = stdout(&run(&["tables"]));
    assert!(tables.lines().any(|l| l == "many_rows") && tables.lines().any(|l| l == "one_row"), "{tables}");
    assert_eq!(stdout(&run(&["describe", "default.many_rows"])), "a\tint\n");
}

#[test]
fn exit_codes_tell_usage_query_and_connection_failures_apart() {
    let code = |o: Output| (o.status.code(), String::from_utf8(o.stderr).unwrap());
    let (c, err) = code(run(&["query", "SELECT 1", "--format", "yaml"]));
    assert_eq!(c, Some(2), "{err}");
    let (c, err) = code(run(&["query", "SELECT %(x)s", "--param", "y=1"]));
    assert_eq!(c, Some(2), "{err}");
    assert!(err.contains("x"), "{err}");
    let (c, err) = code(run(&["query", "SELEC 1"]));
    assert_eq!(c, Some(3), "{err}");
    // The reason once, with Athena's code: no repeat from the SDK's layers.
    assert_eq!(
        err,
        "athena-arrow: StartQueryExecution failed: MALFORMED_QUERY: line 1:1: mismatched input. Expected: an SQL statement, found: SELEC\n"
    );
    let (c, err) = code(run(&["query", "SELECT * FROM no_such_table"]));
    assert_eq!(c, Some(3), "{err}");
    assert!(err.contains("no_such_table"), "{err}");
    let (c, err) = code(cli().env("AWS_SECRET_ACCESS_KEY", "wrong").args(["query", "SELECT 1"]).output().unwrap());
    assert_eq!(c, Some(4), "{err}");
    // The whole cause chain: the API's refusal with its reason.
    assert!(err.contains("signature") || err.contains("Signature"), "{err}");
    let (c, err) = code(cli_at("http://127.0.0.1:9").args(["databases"]).output().unwrap());
    assert_eq!(c, Some(4), "{err}");
    let (c, err) = code(run(&["--engine", "duckdb", "query", "SELECT 1"]));
    assert_eq!(c, Some(2), "{err}");
    assert_eq!(
        err,
        "athena-arrow: invalid configuration: option engine_version takes exactly \"Athena engine version 3\" or \"DuckDB\", got \"duckdb\"\n"
    );
}

#[test]
fn the_engine_is_chosen_by_flag_or_workgroup() {
    // DuckDB divides integers as DOUBLE; engine version 3 does integer division.
    assert_eq!(stdout(&run(&["query", "SELECT 5 / 2 AS q"])), "q\n2\n");
    assert_eq!(stdout(&run(&["--engine", "DuckDB", "query", "SELECT 5 / 2 AS q"])), "q\n2.5\n");
    // The DuckDB workgroup's managed result, read as an Arrow stream, as JSON lines.
    let out = stdout(&run(&["--work-group", "duckdb", "query", "SELECT [1, NULL] AS l, {'a': 'x'} AS s", "--format", "ndjson"]));
    assert_eq!(out, "{\"l\":[1,null],\"s\":{\"a\":\"x\"}}\n");
}

/// A connection to the shared endpoint, used from a runtime of its own.
fn with_endpoint<T>(f: impl AsyncFnOnce(athena_arrow::Connection) -> T) -> T {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let conn = athena_arrow::Connection::builder()
            .with_endpoint_url(endpoint())
            .with_region("us-east-1")
            .with_access_key("test", "test")
            .build()
            .await
            .unwrap();
        f(conn).await
    })
}

/// The state of query `id` on the shared endpoint.
fn query_state(id: &str) -> athena_arrow::QueryState {
    with_endpoint(async |conn| conn.query_info(id).await.unwrap().state)
}

/// Waits (up to 60 s) until a query of text `sql` runs on the shared endpoint.
fn wait_until_running(sql: &str) {
    with_endpoint(async |conn| {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let ids = conn.athena().list_query_executions().max_results(50).send().await.unwrap().query_execution_ids;
            if !ids.as_deref().unwrap_or_default().is_empty() {
                let got = conn.athena().batch_get_query_execution().set_query_execution_ids(ids).send().await.unwrap();
                let running = got
                    .query_executions()
                    .iter()
                    .any(|q| q.query() == Some(sql) && q.status().and_then(|s| s.state()).map(|s| s.as_str()) == Some("RUNNING"));
                if running {
                    return;
                }
            }
            assert!(std::time::Instant::now() < deadline, "no query {sql:?} ran");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
}

#[test]
fn ctrl_c_sigterm_and_sighup_cancel_the_query() {
    for (signal, code, said) in [("-INT", 130, "interrupted"), ("-TERM", 143, "SIGTERM"), ("-HUP", 129, "SIGHUP")] {
        // One text per signal, to find its query running on the shared endpoint.
        let endless = format!("SELECT sum(a.a + b.a + c.a) FROM many_rows a CROSS JOIN many_rows b CROSS JOIN many_rows c -- {signal}");
        let child = cli().args(["query", &endless]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        wait_until_running(&endless);
        let status = Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
        assert!(status.success());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(code), "{signal}: {err}");
        assert!(err.contains(said) && err.contains("cancelled query"), "{signal}: {err}");
        let id = err.trim().rsplit(' ').next().unwrap().to_owned();
        assert_eq!(query_state(&id), athena_arrow::QueryState::Cancelled, "{signal}: {err}");
    }
}

#[test]
fn a_failed_export_keeps_the_earlier_file_and_leaves_no_partial_one() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.csv");
    assert_eq!(stdout(&run(&["query", SQL, "--format", "csv", "-o", target.to_str().unwrap()])), "");
    let good = std::fs::read_to_string(&target).unwrap();
    assert_eq!(good, "a,s,n\n0,0,\n1,1,\n2,2,\n");
    // A re-run that fails (here: in the engine, after the file would have been opened).
    let o = run(&["query", "SELECT 1 / 0 AS x", "--format", "csv", "-o", target.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), good, "the earlier export is intact");
    // An interrupted one: stopped once it has written part of a large result.
    let big = "SELECT a.a AS x, b.a AS y FROM many_rows a CROSS JOIN (SELECT a FROM many_rows WHERE a < 500) b";
    let mut child = cli().args(["query", big, "--format", "csv", "-o", target.to_str().unwrap()]).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let partial = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(".partial") && e.metadata().is_ok_and(|m| m.len() > 0));
        if partial {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "the export ended before it could be interrupted");
        assert!(std::time::Instant::now() < deadline, "no partial export appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), good, "the earlier export is intact");
    let names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["out.csv"], "no temporary file is left behind");
    // The export's permissions are a plain file's, not a temporary file's 0600.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let new = dir.path().join("new.csv");
        stdout(&run(&["query", SQL, "-o", new.to_str().unwrap()]));
        assert_ne!(std::fs::metadata(&new).unwrap().permissions().mode() & 0o077, 0, "group/other bits follow the umask");
    }
}

#[test]
fn a_web_identity_token_from_a_file_or_the_option_flag() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    std::fs::write(&path, issuer().token("carol", "cli-tests", 600)).unwrap();
    let file = format!("file:{}", path.display());
    // No access keys anywhere: the token is the only credential.
    let signed_in = |args: &[&str]| {
        let mut c = cli();
        c.env_remove("AWS_ACCESS_KEY_ID").env_remove("AWS_SECRET_ACCESS_KEY").args(args).output().unwrap()
    };
    let o = signed_in(&["--role-arn", WEB_IDENTITY_ROLE, "--web-identity-token", &file, "query", "SELECT 1 AS one", "--format", "csv"]);
    assert_eq!(stdout(&o), "one\n1\n");
    let role = format!("role_arn={WEB_IDENTITY_ROLE}");
    let token = format!("web_identity_token={file}");
    let o = signed_in(&[
        "--option",
        &role,
        "--option",
        &token,
        "--option",
        "duration_seconds=900",
        "query",
        "SELECT 2 AS two",
        "--format",
        "csv",
    ]);
    assert_eq!(stdout(&o), "two\n2\n");
    // A refused token is the connection's failure (4), naming the call and the role.
    std::fs::write(&path, issuer().token("carol", "cli-tests", -60)).unwrap();
    let o = signed_in(&["--role-arn", WEB_IDENTITY_ROLE, "--web-identity-token", &file, "query", "SELECT 1"]);
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(err.contains(&format!("STS AssumeRoleWithWebIdentity of role {WEB_IDENTITY_ROLE} failed: ExpiredTokenException")), "{err}");
    // An unknown or malformed option is a usage error.
    let o = run(&["--option", "no_such_option=1", "query", "SELECT 1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8(o.stderr).unwrap().contains("unknown option \"no_such_option\""));
    let o = run(&["--option", "unload", "query", "SELECT 1"]);
    assert_eq!(o.status.code(), Some(2));
}

const IDC_APPLICATION: &str = "arn:aws:sso::000000000000:application/ssoins-cli/apl-cli-tests";

#[test]
fn trusted_identity_propagation_from_option_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    std::fs::write(&path, issuer().token("gina", "cli-tests", 600)).unwrap();
    let token = format!("web_identity_token=file:{}", path.display());
    let application = format!("identity_center_application_arn={IDC_APPLICATION}");
    let tip = |application: &str| {
        let mut c = cli();
        c.env_remove("AWS_ACCESS_KEY_ID").env_remove("AWS_SECRET_ACCESS_KEY");
        c.args(["--work-group", "cli-idc", "--role-arn", WEB_IDENTITY_ROLE, "--option", &token, "--option", application]);
        c.args(["--option", "access_role_arn=arn:aws:iam::000000000000:role/cli-access", "query", "SELECT 1 AS one", "--format", "csv"]);
        c.output().unwrap()
    };
    assert_eq!(stdout(&tip(&application)), "one\n1\n");
    let o = tip("identity_center_application_arn=arn:aws:sso::000000000000:application/ssoins-cli/apl-other");
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(err.contains("SSO-OIDC CreateTokenWithIAM for application arn:aws:sso::000000000000:application/ssoins-cli/apl-other failed: InvalidClientException"), "{err}");
    // The endpoint's keys carry no identity context: the workgroup refuses them.
    let o = run(&["--work-group", "cli-idc", "query", "SELECT 1"]);
    assert!(!o.status.success());
    assert!(String::from_utf8(o.stderr).unwrap().contains("is enabled for IAM Identity Center"));
}

#[test]
fn cse_kms_results_export_decrypted_or_fail_with_kms_reason() {
    // 10 000 rows: more than GetQueryResults' first page, so the CSV is read from S3.
    let sql = "SELECT a FROM many_rows ORDER BY a";
    let expected: String = std::iter::once("a".to_owned()).chain((0..10_000).map(|a| a.to_string())).map(|l| l + "\n").collect();
    let cse = ["--option", "encryption_option=CSE_KMS", "--option", "kms_key=alias/athena-results"];
    let o = run(&[&cse[..], &["query", sql, "--format", "csv"]].concat());
    assert_eq!(stdout(&o), expected);
    let o = run(&[&cse[..], &["query", sql, "--unload", "--format", "csv"]].concat());
    assert_eq!(stdout(&o), expected);
    let refused = [
        "--option",
        "encryption_option=CSE_KMS",
        "--option",
        "kms_key=alias/someone-elses",
        "--option",
        "encrypted_result_fallback=false",
        "query",
        sql,
    ];
    let o = run(&refused);
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(!o.status.success());
    assert!(err.contains("encrypted client-side (CSE_KMS): KMS Decrypt failed: AccessDeniedException: User: arn:aws:iam::000000000000:user/test is not authorized to perform: kms:Decrypt"), "{err}");
    // With the fallback (the default) the same result comes through GetQueryResults, with a
    // warning that says why (silenced by -q).
    let fallback: Vec<&str> = refused[..4].iter().chain(&refused[6..]).copied().chain(["--format", "csv"]).collect();
    let o = run(&fallback);
    assert_eq!(stdout(&o), expected);
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.contains("WARN")
            && err.contains("KMS Decrypt failed: AccessDeniedException")
            && err.contains("read through GetQueryResults instead"),
        "{err}"
    );
    let o = run(&[&["-q"][..], &fallback].concat());
    assert_eq!(stdout(&o), expected);
    assert!(o.stderr.is_empty(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn messages_say_what_failed() {
    let code = |o: Output| (o.status.code(), String::from_utf8(o.stderr).unwrap());
    // A missing table is the query's failure (3), not the connection's (4).
    let (c, err) = code(run(&["describe", "default.no_such_table"]));
    assert_eq!(c, Some(3), "{err}");
    // A parameter given twice says so once.
    let (c, err) = code(run(&["query", "SELECT %(a)s", "--param", "a=1", "--param", "a=2"]));
    assert_eq!(c, Some(2), "{err}");
    assert!(err.contains("parameter a is given more than once"), "{err}");
    // Out-of-range reuse is a usage error, never a panic.
    let (c, err) = code(run(&["query", "SELECT 1", "--reuse-minutes", "99999999999999999"]));
    assert_eq!(c, Some(2), "{err}");
    let (c, err) = code(run(&["query", "SELECT 1", "--reuse-minutes", "10081"]));
    assert_eq!(c, Some(2), "{err}");
    // An unreachable endpoint: what failed and what to check, on the first line, no SDK dump.
    let (c, err) = code(cli_at("http://127.0.0.1:9").args(["databases"]).output().unwrap());
    assert_eq!(c, Some(4), "{err}");
    let first = err.lines().next().unwrap();
    assert!(first.contains("cannot reach the endpoint") && first.contains("check the endpoint URL"), "{err}");
    assert!(!first.contains("DispatchFailure") && !first.contains("ConnectorError {"), "{err}");
}

#[test]
fn a_signal_after_the_query_ended_does_not_claim_to_cancel_it() {
    // A large result written to a pipe nobody reads: the query has ended, the CLI is writing.
    let big = "SELECT a.a AS x, b.a AS y FROM many_rows a CROSS JOIN (SELECT a FROM many_rows WHERE a < 300) b";
    let mut child = cli().args(["query", big]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut first = [0u8; 16];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("had already ended SUCCEEDED") && !err.contains("cancelled query"), "{err}");
}

#[test]
fn timeout_stops_the_query() {
    let endless = "SELECT sum(a.a + b.a + c.a) FROM many_rows a CROSS JOIN many_rows b CROSS JOIN many_rows c";
    let o = run(&["query", endless, "--timeout", "1s"]);
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("did not finish within 1s") && err.contains("cancelled"), "{err}");
}

#[test]
fn local_and_emulator_modes() {
    let o = Command::new(env!("CARGO_BIN_EXE_athena-arrow"))
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .args(["--local", "query", "SELECT col_string FROM one_row_complex", "--format", "csv"])
        .output()
        .unwrap();
    assert_eq!(stdout(&o), "col_string\na string\n");

    // Its data in a directory of the test's (the server is killed, so it cannot remove its own).
    let data = tempfile::tempdir().unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_athena-arrow"))
        .args(["emulator", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    let o = cli_at(&url).args(["query", "SELECT 2 AS two"]).output().unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(stdout(&o), "two\n2\n");
}

/// A Python with Polars: `ATHENA_POLARS_PYTHON`, else a venv under ~/.cache made on first use
/// (pip install polars; the registry is reachable on every machine here).
fn polars_python() -> String {
    if let Ok(python) = std::env::var("ATHENA_POLARS_PYTHON") {
        return python;
    }
    let home = std::env::var("HOME").expect("HOME is set");
    let venv = format!("{home}/.cache/athena-polars-venv");
    let python = format!("{venv}/bin/python");
    let has_polars = Command::new(&python).args(["-c", "import polars"]).status().is_ok_and(|s| s.success());
    if !has_polars {
        assert!(Command::new("python3").args(["-m", "venv", &venv]).status().unwrap().success(), "python3 -m venv {venv}");
        let pip = Command::new(format!("{venv}/bin/pip")).args(["install", "--quiet", "polars==2.1.0"]).status().unwrap();
        assert!(pip.success(), "pip install polars into {venv}");
    }
    python
}

#[test]
fn polars_reads_the_arrow_export_without_copying() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("result.arrow");
    let sql = "SELECT a, CAST(a AS VARCHAR) AS s, CAST(NULL AS VARCHAR) AS n, CAST(a AS DECIMAL(10,2)) AS d, \
               DATE '2017-01-02' AS day, TIMESTAMP '2017-01-01 00:00:00.123' AS ts FROM many_rows WHERE a < 2 ORDER BY a";
    stdout(&run(&["query", sql, "--format", "arrow", "-o", path.to_str().unwrap()]));
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/polars/read_ipc.py");
    let o = Command::new(polars_python()).arg(script).arg(&path).output().unwrap();
    assert_eq!(
        stdout(&o),
        "{'a': Int32, 's': String, 'n': String, 'd': Decimal(precision=10, scale=2), 'day': Date, 'ts': Datetime(time_unit='ms', time_zone=None)}\n\
         a,s,n,d,day,ts\n\
         0,0,,0.00,2017-01-02,2017-01-01T00:00:00.123\n\
         1,1,,1.00,2017-01-02,2017-01-01T00:00:00.123\n"
    );
}

#[test]
fn progress_shows_on_a_terminal_only() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rows.csv");
    // `script` runs the command on a pseudo-terminal (stderr included).
    let command = format!(
        "{} --endpoint-url {} --s3-staging-dir s3://athena-results/cli-tests/ query 'SELECT * FROM many_rows' -o {}",
        env!("CARGO_BIN_EXE_athena-arrow"),
        endpoint(),
        out.display()
    );
    let mut script = Command::new("script");
    script.args(["-qec", &command, "/dev/null"]);
    for (k, v) in cli().get_envs() {
        match v {
            Some(v) => script.env(k, v),
            None => script.env_remove(k),
        };
    }
    let o = script.output().expect("script (util-linux) runs");
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{text}");
    assert!(text.contains("\u{1b}[2K") && text.matches("scanned").count() >= 2, "progress lines, then the summary: {text}");
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 10_001);
    // Not a terminal: the summary only.
    let o = run(&["query", "SELECT * FROM many_rows", "-o", out.to_str().unwrap()]);
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!((err.lines().count(), err.contains('\u{1b}')), (1, false), "{err}");
}
