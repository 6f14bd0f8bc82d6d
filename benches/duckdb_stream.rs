//! Athena's DuckDB engine, read as the Arrow stream of GetQueryResultStream, against the other
//! ways to get the same rows, on the local endpoint at S3's shape. `cargo bench --bench
//! duckdb_stream`; env `BENCH_ROWS` (default `5000000,20000000`: one section per size),
//! `BENCH_REPEAT` (default 3: medians), `BENCH_LATENCY_MS` (first-byte latency of every GET and
//! stream range, default 30), `BENCH_BANDWIDTH_MBPS` (cap per response, i.e. per connection,
//! default 80), `BENCH_ROWS_PER_FILE` (UNLOAD data files, default the endpoint's).
//!
//! Per size: (s) the stream in parallel ranges (the library's reader, `FetchConfig` defaults:
//! 8 MiB ranges, 8 in flight; `BENCH_STREAM_RANGE_MB` changes the range size); (n) the naive reader: one connection, the stream in one request
//! after its first 1 MiB (concurrency 1, an unbounded range);
//! (p) GetQueryResults paging of the DuckDB result (on a slice); (u) and (c) engine version 3's
//! UNLOAD and CSV sources on the same rows; (x) decoding the stream from memory (the decode
//! limit); (d) downloading the same bytes as an S3 object with the same ranges in flight (what
//! this machine fetches in that shape, decoding nothing); the ceiling min(connections x
//! bandwidth, decode limit), and the stream's reading against (d). "Reading only" starts when the
//! client saw the query end. Peak heap while each source streams.

use std::time::{Duration, Instant};

use athena_arrow::{Connection, FetchConfig, ResultSource};
use athena_emulator::Emulator;
use futures::TryStreamExt;

mod common;

fn env_f64(name: &str, default: f64) -> f64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// One execution: total and reading-only seconds, time to first batch, rows, peak heap while
/// reading, the query's facts.
struct Run {
    total: f64,
    reading: f64,
    first_batch: f64,
    rows: u64,
    peak: usize,
    info: athena_arrow::QueryInfo,
}

async fn run_once(conn: &Connection, sql: &str) -> Run {
    let start = Instant::now();
    let handle = conn.query(sql).submit().await.unwrap();
    handle.wait_info().await.unwrap();
    let ended = Instant::now();
    let base = common::heap_mark();
    let result = handle.wait().await.unwrap();
    let info = result.info().clone();
    let mut stream = result.into_stream();
    let (mut rows, mut first_batch) = (0u64, f64::NAN);
    while let Some(b) = stream.try_next().await.unwrap() {
        if rows == 0 {
            first_batch = ended.elapsed().as_secs_f64();
        }
        rows += b.num_rows() as u64;
    }
    let peak = common::peak_since(base);
    Run { total: start.elapsed().as_secs_f64(), reading: ended.elapsed().as_secs_f64(), first_batch, rows, peak, info }
}

/// The run with the median reading time of `repeat`; prints the spread and the CPU the client
/// and the endpoint used per run.
async fn run(conn: &Connection, sql: &str, repeat: usize) -> Run {
    let mut runs = Vec::new();
    let before = common::Cpu::now();
    for _ in 0..repeat {
        runs.push(run_once(conn, sql).await);
    }
    before.report(repeat, "reading spread", common::median_spread(runs.iter().map(|r| r.reading).collect()).1);
    runs.sort_by(|a, b| a.reading.total_cmp(&b.reading));
    runs.swap_remove(runs.len() / 2)
}

fn line(what: &str, r: &Run, bytes: u64) {
    println!(
        "{what:<52} total {:>7.3} s  reading {:>7.3} s  {:>7.1} MB/s  {:>10.0} rows/s  first batch {:>6.1} ms  peak heap {:>6.1} MB",
        r.total,
        r.reading,
        bytes as f64 / 1e6 / r.reading,
        r.rows as f64 / r.reading,
        r.first_batch * 1e3,
        r.peak as f64 / 1e6
    );
}

/// Decodes `bytes` (an Arrow IPC stream) from memory; returns rows.
fn decode(bytes: &bytes::Bytes) -> u64 {
    let reader = arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes.clone()), None).unwrap();
    reader.map(|b| b.unwrap().num_rows() as u64).sum()
}

async fn section(rows: usize, repeat: usize) {
    let latency = Duration::from_millis(env_f64("BENCH_LATENCY_MS", 30.0) as u64);
    let mbps = env_f64("BENCH_BANDWIDTH_MBPS", 80.0);
    let started = Instant::now();
    let mut builder = Emulator::builder().with_bench_rows(rows).with_s3_latency(latency).with_s3_bandwidth_mbps(mbps);
    if let Some(n) = std::env::var("BENCH_ROWS_PER_FILE").ok().and_then(|v| v.parse().ok()) {
        builder = builder.with_unload_rows_per_file(n);
    }
    // The endpoint on threads of its own (named `endpoint`), so that its CPU time is told apart.
    let (emulator, endpoint_runtime) = tokio::task::block_in_place(|| common::start_endpoint(builder));
    println!(
        "\n== {rows} rows of `bench`, {latency:?} first-byte latency, {mbps} MB/s per connection (endpoint ready in {:.1} s); median of {repeat}",
        started.elapsed().as_secs_f64()
    );
    let base = Connection::builder()
        .with_endpoint_url(emulator.endpoint())
        .with_region(emulator.region())
        .with_access_key(emulator.access_key_id(), emulator.secret_access_key());
    let mut fetch = FetchConfig::default();
    if let Some(mb) = std::env::var("BENCH_STREAM_RANGE_MB").ok().and_then(|v| v.parse::<u64>().ok()) {
        fetch.stream_range_size = mb << 20;
    }
    let sql = "SELECT * FROM bench";

    let stream = base.clone().with_work_group("duckdb").with_fetch(fetch).build().await.unwrap();
    let s = run(&stream, sql, repeat).await;
    assert!(s.info.output_location.is_none());
    // The bytes the endpoint serves for the stream (its managed result file), for the size and
    // the decode limit.
    let path = emulator.data_dir().join("athena").join("results").join(format!("{}.arrows", s.info.query_id));
    let raw = bytes::Bytes::from(std::fs::read(&path).unwrap());
    let bytes = raw.len() as u64;
    println!("stream of {:.1} MB; engine time {:?}", bytes as f64 / 1e6, s.info.engine_execution_time.unwrap_or_default());
    line(&format!("(s) stream, {} ranges of {} MiB in flight", fetch.concurrency, fetch.stream_range_size >> 20), &s, bytes);

    let naive_fetch = FetchConfig { stream_range_size: 1 << 40, concurrency: 1, ..fetch };
    let naive = base.clone().with_work_group("duckdb").with_fetch(naive_fetch).build().await.unwrap();
    let n = run(&naive, sql, repeat).await;
    line("(n) naive reader: one un-ranged request", &n, bytes);

    let slice = (rows / 50).clamp(1000, 100_000);
    let api = base.clone().with_work_group("duckdb").with_result_source(ResultSource::Api).build().await.unwrap();
    let p = run(&api, &format!("SELECT * FROM bench WHERE id < {slice}"), repeat.min(2)).await;
    line(&format!("(p) GetQueryResults paging, {slice} rows"), &p, 0);

    let v3 = base.clone().with_s3_staging_dir("s3://athena-results/bench/");
    let u = run(&v3.clone().with_unload(true).with_unload_cleanup(true).build().await.unwrap(), sql, repeat).await;
    line("(u) engine 3, UNLOAD source", &u, 0);
    let c = run(&v3.build().await.unwrap(), sql, repeat).await;
    line("(c) engine 3, CSV source", &c, 0);

    let mut decodes = Vec::new();
    for _ in 0..repeat {
        let t = Instant::now();
        assert_eq!(decode(&raw), s.rows);
        decodes.push(t.elapsed().as_secs_f64());
    }
    decodes.sort_by(f64::total_cmp);
    let x = decodes[decodes.len() / 2];
    let decode_mbps = bytes as f64 / 1e6 / x;
    println!("(x) stream decode from memory, one core                  {x:>7.3} s  {decode_mbps:>7.1} MB/s");
    let d = download_limit(&emulator, &raw, fetch.concurrency, fetch.stream_range_size, repeat).await;
    println!(
        "(d) the same bytes as an S3 object, {} ranged GETs in flight {d:>7.3} s  {:>7.1} MB/s",
        fetch.concurrency,
        bytes as f64 / 1e6 / d
    );
    let network = fetch.concurrency as f64 * mbps;
    let ceiling = network.min(decode_mbps);
    let got = bytes as f64 / 1e6 / s.reading;
    println!("ceiling min({} connections x {mbps} MB/s = {network:.0}, decode {decode_mbps:.0}) = {ceiling:.0} MB/s", fetch.concurrency);
    println!("stream reading {got:.0} MB/s = {:.2}x of the ceiling (target >= 0.85)", got / ceiling);
    println!("stream vs naive reader: {:.2}x in rows/s (target >= 4)", n.reading / s.reading);
    println!("stream reading at {:.2}x of downloading its bytes in the same shape (d)", d / s.reading);
    let range_ms = (fetch.stream_range_size as f64 / 1e6 / mbps) * 1e3;
    println!(
        "time to first batch {:.1} ms (target < 2 x {:.0} ms latency + one range {range_ms:.0} ms = {:.0} ms)",
        s.first_batch * 1e3,
        latency.as_secs_f64() * 1e3,
        2.0 * latency.as_secs_f64() * 1e3 + range_ms
    );
    println!(
        "rows/s reading: stream {:.0}, UNLOAD {:.0}, CSV {:.0}, GetQueryResults {:.0}",
        s.rows as f64 / s.reading,
        u.rows as f64 / u.reading,
        c.rows as f64 / c.reading,
        p.rows as f64 / p.reading
    );
    drop(emulator);
    endpoint_runtime.shutdown_background();
}

/// Seconds to download `raw` (uploaded as an S3 object) with `in_flight` ranged GETs of
/// `range` bytes, median of `repeat`: what the endpoint and this machine move in the stream's
/// shape, with nothing decoded.
async fn download_limit(emulator: &Emulator, raw: &bytes::Bytes, in_flight: usize, range: u64, repeat: usize) -> f64 {
    use futures::StreamExt;
    let s3 = common::s3_client(emulator);
    let key = "bench-stream.arrows";
    s3.put_object().bucket("athena-results").key(key).body(raw.clone().into()).send().await.unwrap();
    let size = raw.len() as u64;
    let mut times = Vec::new();
    for _ in 0..repeat {
        let start = Instant::now();
        let got: u64 = futures::stream::iter((0..size.div_ceil(range)).map(|i| (i * range, ((i + 1) * range).min(size) - 1)))
            .map(|(a, b)| {
                let s3 = s3.clone();
                async move {
                    let out = s3.get_object().bucket("athena-results").key(key).range(format!("bytes={a}-{b}")).send().await.unwrap();
                    out.body.collect().await.unwrap().into_bytes().len() as u64
                }
            })
            .buffered(in_flight)
            .fold(0u64, |n, x| async move { n + x })
            .await;
        assert_eq!(got, size);
        times.push(start.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let repeat = env_f64("BENCH_REPEAT", 3.0) as usize;
    let sizes: Vec<usize> = std::env::var("BENCH_ROWS")
        .unwrap_or_else(|_| "5000000,20000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    for rows in sizes {
        rt.block_on(section(rows, repeat.max(1)));
    }
}
