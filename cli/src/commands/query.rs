//! `athena-arrow query`: run a query with its parameters and options, show its progress, and
//! export its result batch by batch; Ctrl-C, SIGTERM and SIGHUP stop the query on Athena first.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use athena_arrow::{Connection, ParamStyle, QueryInfo, QueryState};
use futures::StreamExt;

use crate::args::{QueryArgs, parse_param};
use crate::failure::{Failure, exit};
use crate::output::{Format, Sink};
use crate::progress::Progress;

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

pub async fn query(conn: &Connection, q: QueryArgs, no_summary: bool, no_progress: bool) -> Result<(), Failure> {
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
        // The library's polling (and --timeout), showing each status read; wait() then opens
        // the results with the final state that poll read (no call, no poll slot).
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
