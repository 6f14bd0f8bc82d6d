//! `athena-arrow`: run Athena queries and export their results (table, CSV, TSV, JSON, NDJSON,
//! Parquet, Arrow IPC), list databases and tables, describe a table, or serve the local endpoint.
//!
//! Exit codes: 0 success; 2 usage errors (bad flags, parameters or settings); 3 the query failed
//! or timed out; 4 connection, credential or storage failures; 1 anything else (writing the
//! output, decoding); 130 interrupted (Ctrl-C), 143 terminated (SIGTERM), 129 hung up (SIGHUP):
//! each of the three stops the server-side query first.

mod output;
mod progress;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use athena_arrow::{Connection, ConnectionBuilder, Error, Param, ParamStyle, QueryInfo, QueryState};
use clap::{Args, Parser, Subcommand};
use futures::StreamExt;

use crate::output::{Format, Sink};
use crate::progress::Progress;

#[derive(Debug, Parser)]
#[command(name = "athena-arrow", version, about = "Amazon Athena queries and exports through Arrow")]
struct Cli {
    #[command(flatten)]
    conn: ConnArgs,
    /// No progress and no summary on stderr.
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct ConnArgs {
    /// Start the local endpoint in-process with the fixture tables and use it.
    #[arg(long, global = true)]
    local: bool,
    /// Athena, S3 and STS endpoint (default: AWS; env AWS_ENDPOINT_URL).
    #[arg(long, global = true, value_name = "URL")]
    endpoint_url: Option<String>,
    /// AWS region (default: the AWS config chain).
    #[arg(long, global = true)]
    region: Option<String>,
    /// Profile of the shared AWS config and credentials files.
    #[arg(long, global = true)]
    profile: Option<String>,
    /// Workgroup (env AWS_ATHENA_WORK_GROUP).
    #[arg(long, global = true)]
    work_group: Option<String>,
    /// Result location, s3://bucket/prefix/ (env AWS_ATHENA_S3_STAGING_DIR).
    #[arg(long, global = true, value_name = "S3_URI")]
    s3_staging_dir: Option<String>,
    /// Database the query runs in (default: `default`).
    #[arg(long, global = true)]
    database: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a query and write its result.
    Query(QueryArgs),
    /// List the databases of the catalog.
    Databases,
    /// List the tables of a database.
    Tables {
        /// Database (default: --database, or `default`).
        database: Option<String>,
    },
    /// Show a table's columns and partition keys.
    Describe {
        /// `table` or `database.table`.
        table: String,
    },
    /// Serve the local Athena + S3 endpoint (the flags of the athena-emulator binary).
    Emulator(athena_emulator::cli::ServeArgs),
}

#[derive(Debug, Args)]
struct QueryArgs {
    /// The SQL text (or -f FILE; `-` reads standard input).
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    sql: Option<String>,
    /// Read the SQL from FILE (`-`: standard input).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    file: Option<PathBuf>,
    /// Read SELECT/WITH results through UNLOAD to Parquet.
    #[arg(long)]
    unload: bool,
    /// A pyformat parameter for %(NAME)s: NAME=VALUE. VALUE is typed: integers, decimals
    /// (1.5), true/false and null as such, 'quoted' as a string, anything else a string.
    #[arg(long = "param", value_name = "NAME=VALUE", conflicts_with = "qmark")]
    params: Vec<String>,
    /// A positional parameter for a `?` (Athena's execution parameters), typed as --param's
    /// values; repeat for each `?`.
    #[arg(long = "qmark", value_name = "VALUE")]
    qmark: Vec<String>,
    /// Reuse a previous identical query's result up to this many minutes old (1 to 10080,
    /// Athena's limit).
    #[arg(long, value_name = "MINUTES", value_parser = clap::value_parser!(u64).range(1..=10_080))]
    reuse_minutes: Option<u64>,
    /// Stop the query after this long: seconds, or with a unit (500ms, 90s, 10m, 1h).
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    timeout: Option<Duration>,
    /// Output format (default: table on a terminal, CSV otherwise).
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Write to FILE instead of standard output. The export goes to a temporary file beside
    /// FILE, renamed to FILE only once complete: a failed or interrupted run leaves FILE as it
    /// was (an earlier export included) and no partial file behind.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
}

/// Exit codes (see the crate documentation).
mod exit {
    pub const FAILURE: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const QUERY: u8 = 3;
    pub const CONNECTION: u8 = 4;
    pub const INTERRUPTED: u8 = 130;
}

/// AWS error codes that say the request could not be made as this connection stands
/// (credentials, permissions, throttling, the service itself): exit code 4, not 3.
const CONNECTION_CODES: &[&str] = &[
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "IncompleteSignature",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "MissingAuthenticationTokenException",
    "ExpiredTokenException",
    "ExpiredToken",
    "AccessDeniedException",
    "ThrottlingException",
    "TooManyRequestsException",
    "InternalServerException",
    "ServiceUnavailableException",
];

/// An error and the exit code it maps to.
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Self {
        Self { code: exit::USAGE, message: message.into() }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let code = match &e {
            Error::Config { .. } | Error::Parameter { .. } => exit::USAGE,
            Error::QueryFailed { .. } | Error::Timeout { .. } => exit::QUERY,
            Error::Cancelled { .. } => exit::INTERRUPTED,
            Error::Credentials { .. } | Error::Storage { .. } | Error::ResultMissing { .. } => exit::CONNECTION,
            Error::Api { code, .. } => match code.as_deref() {
                // Not sent, not answered, not allowed or not now: the connection's side.
                None => exit::CONNECTION,
                Some(c) if CONNECTION_CODES.contains(&c) => exit::CONNECTION,
                // Athena refused what was asked (MALFORMED_QUERY, no such table or database).
                Some(_) => exit::QUERY,
            },
            _ => exit::FAILURE,
        };
        Self { code, message: athena_arrow::message_with_causes(&e) }
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Self { code: exit::FAILURE, message: athena_arrow::message_with_causes(&e) }
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = s.find(|c: char| c.is_ascii_alphabetic()).map_or((s, "s"), |i| (&s[..i], &s[i..]));
    let value: f64 = number.trim().parse().map_err(|_| format!("{s:?} is not a duration (e.g. 30, 90s, 500ms, 10m, 1h)"))?;
    let secs = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("unknown unit {unit:?} in {s:?} (ms, s, m, h)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| format!("{s:?}: {e}"))
}

/// A parameter value typed from its text (see `--param`).
fn parse_param(text: &str) -> Param {
    let t = text.trim();
    if let Some(inner) = t.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        return Param::String(inner.to_owned());
    }
    if t.eq_ignore_ascii_case("null") {
        return Param::Null;
    }
    if let Ok(b) = t.parse::<bool>() {
        return Param::Bool(b);
    }
    if let Ok(i) = t.parse::<i64>() {
        return Param::Int(i);
    }
    let decimal = t.strip_prefix('-').unwrap_or(t);
    if decimal
        .split_once('.')
        .is_some_and(|(i, f)| !i.is_empty() && !f.is_empty() && (i.to_owned() + f).bytes().all(|b| b.is_ascii_digit()))
    {
        return Param::Decimal(t.to_owned());
    }
    Param::String(text.to_owned())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let quiet = cli.quiet || !std::io::stderr().is_terminal();
    let result = match cli.command {
        Command::Emulator(args) => athena_emulator::cli::serve(args).await.map_err(|e| Failure { code: exit::FAILURE, message: e }),
        command => run(command, cli.conn, cli.quiet, quiet).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("athena-arrow: {}", f.message);
            std::process::ExitCode::from(f.code)
        }
    }
}

async fn run(command: Command, args: ConnArgs, no_summary: bool, no_progress: bool) -> Result<(), Failure> {
    // The embedded endpoint lives until the command is done.
    let (builder, _local) = connection_builder(&args).await?;
    let conn = builder.build().await?;
    match command {
        Command::Query(q) => query(&conn, q, no_summary, no_progress).await,
        Command::Databases => {
            for db in conn.list_databases().await? {
                println!("{db}");
            }
            Ok(())
        }
        Command::Tables { database } => {
            for t in conn.list_tables(database.as_deref().or(args.database.as_deref())).await? {
                println!("{}", t.name);
            }
            Ok(())
        }
        Command::Describe { table } => {
            let (db, name) = match table.split_once('.') {
                Some((db, name)) => (Some(db), name),
                None => (args.database.as_deref(), table.as_str()),
            };
            let meta = conn.table_metadata(db, name).await?;
            for (column, type_name) in &meta.columns {
                println!("{column}\t{type_name}");
            }
            for (column, type_name) in &meta.partition_keys {
                println!("{column}\t{type_name}\tpartition key");
            }
            Ok(())
        }
        Command::Emulator(_) => unreachable!("served before connecting"),
    }
}

async fn connection_builder(args: &ConnArgs) -> Result<(ConnectionBuilder, Option<athena_emulator::Emulator>), Failure> {
    let mut builder = Connection::builder().with_env();
    let mut local = None;
    if args.local {
        if args.endpoint_url.is_some() {
            return Err(Failure::usage("--local and --endpoint-url exclude each other"));
        }
        let emulator = athena_emulator::Emulator::builder().start().await.map_err(|e| Failure {
            code: exit::CONNECTION,
            message: format!("cannot start the local endpoint: {}", athena_arrow::message_with_causes(&e)),
        })?;
        builder = builder
            .with_endpoint_url(emulator.endpoint())
            .with_region(emulator.region())
            .with_access_key(emulator.access_key_id(), emulator.secret_access_key())
            .with_s3_staging_dir("s3://athena-results/cli/");
        local = Some(emulator);
    }
    if let Some(url) = &args.endpoint_url {
        builder = builder.with_endpoint_url(url);
    }
    if let Some(region) = &args.region {
        builder = builder.with_region(region);
    }
    if let Some(profile) = &args.profile {
        builder = builder.with_profile(profile);
    }
    if let Some(wg) = &args.work_group {
        builder = builder.with_work_group(wg);
    }
    if let Some(dir) = &args.s3_staging_dir {
        builder = builder.with_s3_staging_dir(dir);
    }
    if let Some(db) = &args.database {
        builder = builder.with_schema(db);
    }
    Ok((builder, local))
}

fn read_sql(q: &QueryArgs) -> Result<String, Failure> {
    let sql = match (&q.sql, &q.file) {
        (Some(sql), _) if sql == "-" => std::io::read_to_string(std::io::stdin())?,
        (Some(sql), _) => sql.clone(),
        (None, Some(path)) if path.as_os_str() == "-" => std::io::read_to_string(std::io::stdin())?,
        (None, Some(path)) => std::fs::read_to_string(path).map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?,
        (None, None) => return Err(Failure::usage("give the SQL or -f FILE")),
    };
    if sql.trim().is_empty() {
        return Err(Failure::usage("the SQL is empty"));
    }
    Ok(sql)
}

async fn query(conn: &Connection, q: QueryArgs, no_summary: bool, no_progress: bool) -> Result<(), Failure> {
    let sql = read_sql(&q)?;
    let format = q.format.unwrap_or(if q.output.is_none() && std::io::stdout().is_terminal() { Format::Table } else { Format::Csv });
    let mut query = conn.query(sql).unload(q.unload);
    for p in &q.params {
        let (name, value) = p.split_once('=').ok_or_else(|| Failure::usage(format!("--param {p:?} is not NAME=VALUE")))?;
        query = query.param(name.trim(), parse_param(value));
    }
    if !q.qmark.is_empty() {
        query = query.paramstyle(ParamStyle::Qmark);
        for v in &q.qmark {
            query = query.bind(parse_param(v));
        }
    }
    if let Some(minutes) = q.reuse_minutes {
        query = query.result_reuse(Duration::from_secs(minutes * 60));
    }
    if let Some(timeout) = q.timeout {
        query = query.timeout(timeout);
    }
    // Opened before the query runs: a bad output path costs no query.
    let mut sink = Sink::open(format, q.output.as_deref())?;
    let progress = Progress::new(!no_progress);
    let started = Instant::now();
    let handle = query.submit().await?;
    let cancel = handle.cancel_handle();
    let query_id = handle.query_id().to_owned();
    progress.waiting(&query_id);
    let interrupted = stop_signal();
    let work = async {
        // The library's polling (and --timeout), showing each status read; wait() then reads
        // the final state once more and opens the results.
        handle.wait_info_with(|info| progress.state(info, started.elapsed())).await?;
        let result = handle.wait().await?;
        let info = result.info().clone();
        let fetch_started = Instant::now();
        // The total for the progress line, from Athena's statistics when the result has them
        // (asked for anyway to check the result's completeness: no extra call).
        let total = std::sync::Arc::new(std::sync::OnceLock::new());
        let expected = result.expected_rows();
        let filled = total.clone();
        tokio::spawn(async move {
            if let Some(n) = expected.await {
                let _ = filled.set(n);
            }
        });
        let mut stream = result.into_stream();
        progress.suspend(|| sink.start(stream.schema()))?;
        let (mut rows, mut bytes) = (0u64, 0u64);
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            rows += batch.num_rows() as u64;
            bytes += batch.get_array_memory_size() as u64;
            progress.suspend(|| sink.write(&batch))?;
            progress.fetching(rows, total.get().copied(), bytes, fetch_started.elapsed());
        }
        progress.clear();
        sink.finish()?;
        Ok::<_, Failure>((info, rows, bytes, fetch_started.elapsed()))
    };
    let outcome = tokio::select! {
        outcome = work => outcome,
        signal = interrupted => {
            progress.clear();
            // A query that already succeeded or failed has nothing to stop: say what happened to
            // it. (One being cancelled, by this stop or by the dropped handle, is cancelled.)
            let ended = conn.query_info(&query_id).await.ok().filter(|i| matches!(i.state, QueryState::Succeeded | QueryState::Failed));
            let message = match ended {
                Some(info) => format!("{}: query {query_id} had already ended {}; the results were not all written", signal.name, info.state),
                None => match cancel.cancel().await {
                    Ok(()) => format!("{}: cancelled query {query_id}", signal.name),
                    Err(e) => format!("{}; cancelling query {query_id} failed: {}", signal.name, athena_arrow::message_with_causes(&e)),
                },
            };
            return Err(Failure { code: signal.exit_code, message });
        }
    };
    progress.clear();
    let (info, rows, bytes, fetch_time) = outcome?;
    if !no_summary {
        eprintln!("{}", summary(&info, rows, bytes, fetch_time));
    }
    Ok(())
}

/// A signal that stops the CLI: the query is stopped on Athena first, as for Ctrl-C.
struct Stop {
    name: &'static str,
    /// 128 + the signal number, as a shell reports a process ended by it.
    exit_code: u8,
}

/// Resolves on the first of SIGINT (Ctrl-C), SIGTERM or SIGHUP.
async fn stop_signal() -> Stop {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut hup)) = (signal(SignalKind::terminate()), signal(SignalKind::hangup())) else {
            let _ = tokio::signal::ctrl_c().await;
            return Stop { name: "interrupted", exit_code: exit::INTERRUPTED };
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => Stop { name: "interrupted", exit_code: exit::INTERRUPTED },
            _ = term.recv() => Stop { name: "terminated (SIGTERM)", exit_code: 143 },
            _ = hup.recv() => Stop { name: "hung up (SIGHUP)", exit_code: 129 },
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        Stop { name: "interrupted", exit_code: exit::INTERRUPTED }
    }
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// `query <id> SUCCEEDED: scanned 1.2 MB, engine 0.35 s, 10000 rows, 1.1 MB in 0.12 s (9.2 MB/s)`.
fn summary(info: &QueryInfo, rows: u64, bytes: u64, fetch: Duration) -> String {
    let state = match info.state {
        QueryState::Succeeded => "SUCCEEDED",
        QueryState::Failed => "FAILED",
        QueryState::Cancelled => "CANCELLED",
        QueryState::Queued => "QUEUED",
        QueryState::Running => "RUNNING",
    };
    let secs = fetch.as_secs_f64();
    format!(
        "query {} {state}{}: scanned {}, engine {:.2} s, {rows} rows, {} of Arrow data fetched in {secs:.2} s ({:.1} MB/s)",
        info.query_id,
        if info.reused_previous_result { " (reused result)" } else { "" },
        megabytes(info.data_scanned_bytes.unwrap_or(0).max(0) as u64),
        info.engine_execution_time.unwrap_or_default().as_secs_f64(),
        megabytes(bytes),
        if secs > 0.0 { bytes as f64 / 1e6 / secs } else { 0.0 },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_typed_from_their_text() {
        assert_eq!(parse_param("10"), Param::Int(10));
        assert_eq!(parse_param("-1.50"), Param::Decimal("-1.50".into()));
        assert_eq!(parse_param("true"), Param::Bool(true));
        assert_eq!(parse_param("NULL"), Param::Null);
        assert_eq!(parse_param("'10'"), Param::String("10".into()));
        assert_eq!(parse_param("a b"), Param::String("a b".into()));
        assert_eq!(parse_param("1.2.3"), Param::String("1.2.3".into()));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert!(parse_duration("5 parsecs").is_err());
    }
}
