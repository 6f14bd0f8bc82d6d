//! DataFusion over Athena: an aggregate of two columns of some days of `default.bench`, through
//! [`AthenaCatalog`] (projection and filter pushed into Athena) and through [`AthenaTable`] over
//! `SELECT *` (everything returned, DataFusion filters). `cargo bench --workspace --bench
//! datafusion_pushdown`; env `BENCH_ROWS` (default 5,000,000), `BENCH_REPEAT` (default 3:
//! medians), `BENCH_UNLOAD` (1: results through UNLOAD, default CSV), `BENCH_LATENCY_MS` and
//! `BENCH_BANDWIDTH_MBPS` (S3's shape; default none).
//!
//! Prints per route: seconds, Athena's DataScannedInBytes of the queries it ran, bytes
//! downloaded from S3 (the endpoint's count of GET bodies), result rows, and checks that both
//! routes agree.

use std::sync::Arc;
use std::time::{Duration, Instant};

use athena_arrow::Connection;
use athena_arrow::datafusion::{AthenaCatalog, AthenaTable};
use athena_emulator::Emulator;
use datafusion::prelude::{SessionConfig, SessionContext};

#[allow(dead_code)] // the heap counters are for the other benches
mod common;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

const QUERY: &str = "SELECT label, sum(n) AS s, count(*) AS c FROM {table} WHERE day >= DATE '2023-01-01' GROUP BY label ORDER BY label";

/// DataScannedInBytes of every query the endpoint ran since `since` (its history).
async fn scanned_since(conn: &Connection, since: &std::collections::HashSet<String>) -> (u64, usize) {
    let ids: Vec<String> =
        conn.athena().list_query_executions().max_results(50).send().await.expect("history").query_execution_ids().to_vec();
    let new: Vec<String> = ids.into_iter().filter(|i| !since.contains(i)).collect();
    if new.is_empty() {
        return (0, 0);
    }
    let got = conn.athena().batch_get_query_execution().set_query_execution_ids(Some(new.clone())).send().await.expect("executions");
    let bytes = got.query_executions().iter().filter_map(|q| q.statistics()?.data_scanned_in_bytes()).map(|b| b as u64).sum();
    (bytes, new.len())
}

async fn seen(conn: &Connection) -> std::collections::HashSet<String> {
    conn.athena().list_query_executions().max_results(50).send().await.expect("history").query_execution_ids().iter().cloned().collect()
}

struct Run {
    secs: f64,
    scanned: u64,
    queries: usize,
    downloaded: u64,
    text: String,
}

async fn run(emulator: &Emulator, conn: &Connection, pushdown: bool) -> Run {
    let ctx = SessionContext::new_with_config(
        SessionConfig::new().with_target_partitions(std::thread::available_parallelism().map_or(2, |n| n.get())),
    );
    let before = seen(conn).await;
    let got_before = emulator.s3_requests().get_bytes;
    let start = Instant::now();
    let sql = if pushdown {
        let sql = QUERY.replace("{table}", "athena.default.bench");
        AthenaCatalog::new(conn).resolve(&ctx, &sql).await.expect("the table is looked up");
        sql
    } else {
        let table = AthenaTable::new(conn, "SELECT * FROM bench").await.expect("the table's query runs");
        ctx.register_table("bench", Arc::new(table)).expect("registers");
        QUERY.replace("{table}", "bench")
    };
    let batches = ctx.sql(&sql).await.expect("plans").collect().await.expect("runs");
    let secs = start.elapsed().as_secs_f64();
    let (scanned, queries) = scanned_since(conn, &before).await;
    let downloaded = emulator.s3_requests().get_bytes - got_before;
    let text = arrow::util::pretty::pretty_format_batches(&batches).expect("formats").to_string();
    Run { secs, scanned, queries, downloaded, text }
}

#[tokio::main]
async fn main() {
    let rows = env_u64("BENCH_ROWS", 5_000_000) as usize;
    let repeat = env_u64("BENCH_REPEAT", 3).max(1) as usize;
    let unload = env_u64("BENCH_UNLOAD", 0) == 1;
    let mut builder = Emulator::builder().with_bench_rows(rows);
    if let Some(ms) = std::env::var("BENCH_LATENCY_MS").ok().and_then(|v| v.parse().ok()) {
        builder = builder.with_s3_latency(Duration::from_millis(ms));
    }
    if let Some(mbps) = std::env::var("BENCH_BANDWIDTH_MBPS").ok().and_then(|v| v.parse().ok()) {
        builder = builder.with_s3_bandwidth_mbps(mbps);
    }
    // The endpoint on threads of its own (named `endpoint`), so that its CPU time is told apart.
    let (emulator, endpoint_runtime) = tokio::task::block_in_place(|| common::start_endpoint(builder));
    let conn = Connection::builder()
        .with_endpoint_url(emulator.endpoint())
        .with_region(emulator.region())
        .with_access_key(emulator.access_key_id(), emulator.secret_access_key())
        .with_s3_staging_dir("s3://athena-results/bench-df/")
        .with_unload(unload)
        .build()
        .await
        .expect("connects");
    println!("default.bench, {rows} rows, results via {}; medians of {repeat}", if unload { "UNLOAD" } else { "CSV" });
    println!("{QUERY}");
    // The SQL the pushdown route sends to Athena, as EXPLAIN shows it.
    let ctx = SessionContext::new();
    let explain =
        AthenaCatalog::new(&conn).sql(&ctx, &format!("EXPLAIN {}", QUERY.replace("{table}", "athena.default.bench"))).await.expect("plans");
    let text = arrow::util::pretty::pretty_format_batches(&explain.collect().await.expect("explains")).expect("formats").to_string();
    if let Some(line) = text.lines().find(|l| l.contains("AthenaScanExec")) {
        println!("pushed: {}", line.trim_matches(|c: char| c == '|' || c.is_whitespace()));
    }
    let mut texts = Vec::new();
    for (name, pushdown) in [("AthenaCatalog (pushdown)", true), ("AthenaTable over SELECT *", false)] {
        let mut runs: Vec<Run> = Vec::new();
        let before = common::Cpu::now();
        for _ in 0..repeat {
            runs.push(run(&emulator, &conn, pushdown).await);
        }
        before.report(repeat, "spread", common::median_spread(runs.iter().map(|r| r.secs).collect()).1);
        runs.sort_by(|a, b| a.secs.total_cmp(&b.secs));
        let m = &runs[runs.len() / 2];
        println!(
            "{name:<28} {:>8.3} s  scanned {:>12} B in {} queries  downloaded {:>12} B  {} result lines",
            m.secs,
            m.scanned,
            m.queries,
            m.downloaded,
            m.text.lines().count()
        );
        texts.push(m.text.clone());
    }
    assert_eq!(texts[0], texts[1], "both routes give the same result");
    drop(emulator);
    endpoint_runtime.shutdown_background();
}
