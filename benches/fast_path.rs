//! End-to-end throughput of the result sources against the local endpoint, and the limits they
//! are measured against. `cargo bench --workspace --bench fast_path`; env `BENCH_ROWS` (default
//! 5,000,000), `BENCH_REPEAT` (default 3: medians), `BENCH_LATENCY_MS` (first-byte latency of
//! every S3 GET; default: 20 ms, then again with none), `BENCH_PEERS_PYTHON` (a Python with
//! PyAthena and awswrangler, see benches/peers/run.sh: their times on the same endpoint and our
//! ratios to them).
//!
//! S3's shape: `BENCH_BANDWIDTH_MBPS` (cap per GET response, i.e. per connection; default none),
//! `BENCH_ROWS_PER_FILE` (UNLOAD data files of at most that many rows; default the endpoint's
//! 2,000,000), `BENCH_MIN_QUERY_MS` (Athena's queueing and planning; default none).
//!
//! Prints, per line: what, seconds, MB/s, rows/s. (a) UNLOAD source, (b) CSV source,
//! (a-cse) / (b-cse) the same sources on a result written with CSE_KMS (decrypted and
//! authenticated; their throughput as a fraction of the plain one's), (c) GetQueryResults paging on a slice, (d) raw concurrent ranged download of the UNLOAD files,
//! (e) Parquet decode of the same files from memory on every core, (f) the ceiling when the same
//! cores fetch and decode, 1/(1/d + 1/e); a one-row query; peak heap while streaming at two
//! result sizes; the sources' reading throughput as a fraction of (f). "Reading only" starts
//! when the client saw the query end (its poll), so it includes neither engine time nor poll slack.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use athena_arrow::{Connection, ResultSource};
use athena_emulator::Emulator;
use futures::TryStreamExt;

mod common;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn line(what: &str, secs: f64, bytes: u64, rows: u64) {
    println!("{what:<58} {secs:>8.3} s {:>9.1} MB/s {:>12.0} rows/s", bytes as f64 / 1e6 / secs, rows as f64 / secs);
}

fn split(uri: &str) -> (String, String) {
    let (b, k) = uri.trim_start_matches("s3://").split_once('/').expect("s3 uri");
    (b.to_owned(), k.to_owned())
}

/// The size of each file (HEAD), outside any timing.
async fn sizes(s3: &aws_sdk_s3::Client, files: &[String]) -> Vec<u64> {
    let mut out = Vec::new();
    for f in files {
        let (bucket, key) = split(f);
        out.push(s3.head_object().bucket(&bucket).key(&key).send().await.unwrap().content_length().unwrap() as u64);
    }
    out
}

/// Ranged GETs in flight for the download limit (d): enough that neither first-byte latency nor
/// a per-connection cap is what it measures.
const DOWNLOAD_IN_FLIGHT: usize = 32;

/// Downloads every file (of the given sizes) with [`DOWNLOAD_IN_FLIGHT`] ranged GETs of at most
/// 8 MiB in flight across all files; returns the bytes of each file.
async fn download(s3: &aws_sdk_s3::Client, files: &[String], file_sizes: &[u64]) -> Vec<bytes::Bytes> {
    let chunk = 8u64 << 20;
    let mut ranges = Vec::new(); // (file index, bucket, key, first byte, last byte)
    for (i, (f, &size)) in files.iter().zip(file_sizes).enumerate() {
        let (bucket, key) = split(f);
        for c in 0..size.div_ceil(chunk) {
            ranges.push((i, bucket.clone(), key.clone(), c * chunk, ((c + 1) * chunk).min(size) - 1));
        }
    }
    let mut sizes = vec![0usize; files.len()];
    for (i, _, _, _, last) in &ranges {
        sizes[*i] = sizes[*i].max(*last as usize + 1);
    }
    let parts: Vec<(usize, bytes::Bytes)> = futures::stream::iter(ranges)
        .map(|(i, bucket, key, a, b)| {
            let s3 = s3.clone();
            async move {
                let mut body = s3.get_object().bucket(bucket).key(key).range(format!("bytes={a}-{b}")).send().await.unwrap().body;
                // Straight into a buffer of the range's size, as the library's reader does.
                let mut buf = bytes::BytesMut::with_capacity((b - a + 1) as usize);
                while let Some(piece) = body.try_next().await.unwrap() {
                    buf.extend_from_slice(&piece);
                }
                (i, buf.freeze())
            }
        })
        .buffered(DOWNLOAD_IN_FLIGHT)
        .collect()
        .await;
    let mut out: Vec<bytes::BytesMut> = sizes.iter().map(|n| bytes::BytesMut::with_capacity(*n)).collect();
    for (i, p) in parts {
        out[i].extend_from_slice(&p);
    }
    out.into_iter().map(bytes::BytesMut::freeze).collect()
}

use futures::StreamExt;

/// Decodes the files from memory, one thread per core; returns rows.
fn decode_in_memory(files: &[bytes::Bytes]) -> u64 {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = AtomicUsize::new(0);
    let rows = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(f) = files.get(i) else { break };
                    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f.clone())
                        .unwrap()
                        .with_batch_size(8192)
                        .build()
                        .unwrap();
                    for b in reader {
                        rows.fetch_add(b.unwrap().num_rows(), Ordering::Relaxed);
                    }
                }
            });
        }
    });
    rows.load(Ordering::Relaxed) as u64
}

/// Decodes a result CSV from memory, cut into one piece per core at record boundaries (as
/// the CSV source cuts its chunks); returns rows.
fn decode_csv_in_memory(csv: &bytes::Bytes, schema: &arrow::datatypes::SchemaRef) -> u64 {
    use athena_arrow::decode::csv::{CsvDecoder, record_cuts};
    let cuts = record_cuts(csv, std::thread::available_parallelism().map_or(2, |n| n.get()));
    let rows = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for (i, w) in cuts.windows(2).enumerate() {
            let (piece, rows) = (&csv[w[0]..w[1]], &rows);
            s.spawn(move || {
                let mut d = if i == 0 { CsvDecoder::new(schema.clone()) } else { CsvDecoder::without_header(schema.clone()) }.unwrap();
                let n: usize = d.feed(piece, true).unwrap().iter().map(|b| b.num_rows()).sum();
                rows.fetch_add(n, Ordering::Relaxed);
            });
        }
    });
    rows.load(Ordering::Relaxed) as u64
}

/// One execution of `sql`: execute-to-last-batch seconds, seconds from the query's end (as the
/// client saw it) to the last batch, rows, and the query's facts.
struct Run {
    total: f64,
    reading: f64,
    /// Seconds from the query's end (as the client saw it) to the first batch.
    first_batch: f64,
    /// Seconds from the query's end on the endpoint to the client seeing it (poll slack).
    slack: f64,
    rows: u64,
    info: athena_arrow::QueryInfo,
}

async fn run_once(conn: &Connection, sql: &str) -> Run {
    let start = Instant::now();
    let handle = conn.query(sql).submit().await.unwrap();
    let seen = handle.wait_info().await.unwrap();
    let ended = Instant::now();
    let slack = seen
        .completion_time
        .and_then(|done| std::time::SystemTime::now().duration_since(done).ok())
        .map_or(f64::NAN, |d| d.as_secs_f64() - ended.elapsed().as_secs_f64());
    let result = handle.wait().await.unwrap();
    let info = result.info().clone();
    let mut stream = result.into_stream();
    let mut rows = 0u64;
    let mut first_batch = f64::NAN;
    while let Some(b) = stream.try_next().await.unwrap() {
        if rows == 0 {
            first_batch = ended.elapsed().as_secs_f64();
        }
        rows += b.num_rows() as u64;
    }
    Run { total: start.elapsed().as_secs_f64(), reading: ended.elapsed().as_secs_f64(), first_batch, slack, rows, info }
}

/// The run with the median total time of `repeat`; prints the spread of the reading times and
/// the CPU the client and the endpoint used per run.
async fn run(conn: &Connection, sql: &str, repeat: usize) -> Run {
    let mut runs = Vec::new();
    let before = common::Cpu::now();
    for _ in 0..repeat {
        runs.push(run_once(conn, sql).await);
    }
    before.report(repeat, "reading spread", common::median_spread(runs.iter().map(|r| r.reading).collect()).1);
    runs.sort_by(|a, b| a.total.total_cmp(&b.total));
    runs.swap_remove(runs.len() / 2)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Peak heap growth while streaming the result of `sql` (the query itself finishes first).
async fn streaming_peak(conn: &Connection, sql: &str) -> (u64, usize) {
    let handle = conn.query(sql).submit().await.unwrap();
    handle.wait_info().await.unwrap();
    let base = common::heap_mark();
    let rows = handle.wait().await.unwrap().into_stream().try_fold(0u64, |n, b| async move { Ok(n + b.num_rows() as u64) }).await.unwrap();
    (rows, common::peak_since(base))
}

/// What one latency setting measured, for the ratios.
struct Measured {
    unload: Run,
    csv: Run,
    one_row: Run,
}

async fn measure(rows: usize, latency: Duration, repeat: usize, memory: bool) -> (Measured, (Emulator, tokio::runtime::Runtime)) {
    let started = Instant::now();
    let mut builder = Emulator::builder().with_bench_rows(rows).with_s3_latency(latency);
    let bandwidth = std::env::var("BENCH_BANDWIDTH_MBPS").ok().and_then(|v| v.parse::<f64>().ok());
    if let Some(mbps) = bandwidth {
        builder = builder.with_s3_bandwidth_mbps(mbps);
    }
    if let Some(n) = std::env::var("BENCH_ROWS_PER_FILE").ok().and_then(|v| v.parse().ok()) {
        builder = builder.with_unload_rows_per_file(n);
    }
    if let Some(ms) = std::env::var("BENCH_MIN_QUERY_MS").ok().and_then(|v| v.parse().ok()) {
        builder = builder.with_min_query_time(Duration::from_millis(ms));
    }
    // The endpoint on threads of its own (named `endpoint`), so that its CPU time is told apart.
    let (emulator, endpoint_runtime) = tokio::task::block_in_place(|| common::start_endpoint(builder));
    println!(
        "\n== {rows} bench rows, {latency:?} S3 first-byte latency, {} per connection (endpoint ready in {:.1} s); median of {repeat}",
        bandwidth.map_or("no bandwidth cap".to_owned(), |m| format!("{m} MB/s")),
        started.elapsed().as_secs_f64()
    );
    let builder = Connection::builder()
        .with_endpoint_url(emulator.endpoint())
        .with_region(emulator.region())
        .with_access_key(emulator.access_key_id(), emulator.secret_access_key())
        .with_s3_staging_dir("s3://athena-results/bench/");
    let csv = builder.clone().build().await.unwrap();
    let unload = builder.clone().with_unload(true).with_unload_cleanup(true).build().await.unwrap();
    // The files measured against are those of one UNLOAD of the whole table (kept).
    let keep = builder.clone().with_unload(true).build().await.unwrap();
    // The same reads of a result written with CSE_KMS (the endpoint's fixture key): decrypted and
    // authenticated on the fast path.
    let cse = athena_arrow::Encryption::CseKms { kms_key: "alias/athena-results".into() };
    let csv_cse = builder.clone().with_encryption(cse.clone()).build().await.unwrap();
    let unload_cse = builder.clone().with_encryption(cse).with_unload(true).with_unload_cleanup(true).build().await.unwrap();
    let api = builder.with_result_source(ResultSource::Api).build().await.unwrap();
    let s3 = common::s3_client(&emulator);

    let reference = run_once(&keep, "SELECT * FROM bench").await;
    let manifest = reference.info.data_manifest_location.clone().unwrap();
    let (mb, mk) = split(&manifest);
    let listing = s3.get_object().bucket(mb).key(mk).send().await.unwrap().body.collect().await.unwrap().into_bytes();
    let files: Vec<String> = String::from_utf8(listing.to_vec()).unwrap().lines().map(str::to_owned).collect();
    let file_sizes = sizes(&s3, &files).await;
    let data = download(&s3, &files, &file_sizes).await;
    let parquet_bytes: u64 = data.iter().map(|d| d.len() as u64).sum();
    println!(
        "{} UNLOAD files, {:.1} MB of Parquet; engine time of an UNLOAD of the table {:?}",
        files.len(),
        parquet_bytes as f64 / 1e6,
        reference.info.engine_execution_time.unwrap_or_default()
    );

    let a = run(&unload, "SELECT * FROM bench", repeat).await;
    line("(a) UNLOAD source, execute to last batch", a.total, parquet_bytes, a.rows);
    line("(a') UNLOAD source, reading only (after the query ended)", a.reading, parquet_bytes, a.rows);
    println!("    time to first batch {:.1} ms, poll slack {:.1} ms", a.first_batch * 1e3, a.slack * 1e3);

    let b = run(&csv, "SELECT * FROM bench", repeat).await;
    let csv_uri = b.info.output_location.clone().unwrap();
    let csv_bytes = sizes(&s3, std::slice::from_ref(&csv_uri)).await[0];
    line("(b) CSV source, execute to last batch", b.total, csv_bytes, b.rows);
    line("(b') CSV source, reading only", b.reading, csv_bytes, b.rows);
    println!("    time to first batch {:.1} ms, poll slack {:.1} ms", b.first_batch * 1e3, b.slack * 1e3);

    let a_cse = run(&unload_cse, "SELECT * FROM bench", repeat).await;
    line("(a-cse) UNLOAD source, CSE_KMS files, reading only", a_cse.reading, parquet_bytes, a_cse.rows);
    let b_cse = run(&csv_cse, "SELECT * FROM bench", repeat).await;
    line("(b-cse) CSV source, CSE_KMS result, reading only", b_cse.reading, csv_bytes, b_cse.rows);
    assert_eq!((a_cse.rows, b_cse.rows), (a.rows, b.rows));
    println!(
        "CSE_KMS reading / plain reading (throughput, target >= 0.8x): UNLOAD {:.2}x, CSV {:.2}x",
        a.reading / a_cse.reading,
        b.reading / b_cse.reading
    );

    let slice = (rows / 50).clamp(1000, 100_000);
    let c = run(&api, &format!("SELECT * FROM bench WHERE id < {slice}"), repeat).await;
    line(&format!("(c) GetQueryResults paging, {slice} rows"), c.total, 0, c.rows);

    let mut downloads = Vec::new();
    let before = common::Cpu::now();
    for _ in 0..repeat {
        let start = Instant::now();
        let again = download(&s3, &files, &file_sizes).await;
        downloads.push(start.elapsed().as_secs_f64());
        assert_eq!(again.iter().map(|x| x.len() as u64).sum::<u64>(), parquet_bytes);
    }
    let (d, d_spread) = common::median_spread(downloads);
    line(&format!("(d) raw ranged download of the UNLOAD files ({DOWNLOAD_IN_FLIGHT} GETs in flight)"), d, parquet_bytes, a.rows);
    before.report(repeat, "spread", d_spread);
    println!("UNLOAD reading / raw download of the same files in the same shape, this run: {:.2}x", d / a.reading);

    let mut decodes = Vec::new();
    let mut decoded = 0;
    for _ in 0..repeat {
        let start = Instant::now();
        decoded = tokio::task::block_in_place(|| decode_in_memory(&data));
        decodes.push(start.elapsed().as_secs_f64());
    }
    let e = median(decodes);
    line("(e) Parquet decode from memory, all cores", e, parquet_bytes, decoded);
    line("(f) ceiling when the same cores fetch and decode", d + e, parquet_bytes, decoded);
    let ceiling = decoded as f64 / (d + e);

    let csv_data = download(&s3, std::slice::from_ref(&csv_uri), &[csv_bytes]).await.remove(0);
    let schema = csv.query("SELECT * FROM bench WHERE id < 0").execute().await.unwrap().schema().clone();
    let mut csv_decodes = Vec::new();
    for _ in 0..repeat {
        let start = Instant::now();
        let n = tokio::task::block_in_place(|| decode_csv_in_memory(&csv_data, &schema));
        csv_decodes.push(start.elapsed().as_secs_f64());
        assert_eq!(n, b.rows);
    }
    let e_csv = median(csv_decodes);
    line("(e') CSV decode from memory, all cores", e_csv, csv_bytes, b.rows);

    let one_row = run(&csv, "SELECT 1 AS one", repeat.max(5)).await;
    println!(
        "one-row query, execute to last batch: {:.1} ms (engine {:.1} ms)",
        one_row.total * 1e3,
        one_row.info.engine_execution_time.unwrap_or_default().as_secs_f64() * 1e3
    );

    if memory {
        for n in [rows / 5, rows / 2, rows] {
            let (got, peak) = streaming_peak(&unload, &format!("SELECT * FROM bench WHERE id < {n}")).await;
            println!("peak heap while streaming {got:>9} rows through UNLOAD: {:>7.1} MB", peak as f64 / 1e6);
            let (got, peak) = streaming_peak(&csv, &format!("SELECT * FROM bench WHERE id < {n}")).await;
            println!("peak heap while streaming {got:>9} rows through CSV:    {:>7.1} MB", peak as f64 / 1e6);
        }
    }
    let ratio = |r: &Run| r.rows as f64 / r.reading / ceiling;
    println!("UNLOAD reading at {:.2}x of (f) in rows/s", ratio(&a));
    println!("CSV reading at {:.2}x of (f) in rows/s", ratio(&b));
    // The ceiling: min(connections x bandwidth per connection, the download limit
    // (d), the decode limit of the cores (e) or (e')), in each source's own bytes. The CSV
    // source reads with `concurrency` ranged GETs; the UNLOAD source holds as many GETs as its
    // byte budget allows, so only (d) and (e) bound it.
    let connections = athena_arrow::FetchConfig::default().concurrency as f64;
    let per_connection = bandwidth.map_or(f64::INFINITY, |m| connections * m);
    let mbps = |bytes: u64, secs: f64| bytes as f64 / 1e6 / secs;
    let download_limit = mbps(parquet_bytes, d);
    let unload_ceiling = download_limit.min(mbps(parquet_bytes, e));
    let csv_ceiling = per_connection.min(download_limit).min(mbps(csv_bytes, e_csv));
    println!(
        "ceiling MB/s: UNLOAD min(download (d) {download_limit:.0}, decode (e) {:.0}) = {unload_ceiling:.0}; \
         CSV min({connections} connections x bandwidth {per_connection:.0}, (d), decode (e') {:.0}) = {csv_ceiling:.0}",
        mbps(parquet_bytes, e),
        mbps(csv_bytes, e_csv)
    );
    println!(
        "UNLOAD reading {:.0} MB/s = {:.2}x of its ceiling (target >= 0.85)",
        mbps(parquet_bytes, a.reading),
        mbps(parquet_bytes, a.reading) / unload_ceiling
    );
    println!(
        "CSV reading {:.0} MB/s = {:.2}x of its ceiling (target >= 0.85)",
        mbps(csv_bytes, b.reading),
        mbps(csv_bytes, b.reading) / csv_ceiling
    );
    println!(
        "CSV reading at {:.2}x of UNLOAD reading in rows/s (target >= 0.8)",
        (b.rows as f64 / b.reading) / (a.rows as f64 / a.reading)
    );
    // Time to first batch against 2 x first-byte latency + one row group's (or chunk's) decode.
    let row_group_rows = parquet::file::serialized_reader::SerializedFileReader::new(data[0].clone())
        .map(|r| parquet::file::reader::FileReader::metadata(&r).row_group(0).num_rows() as f64)
        .unwrap_or(0.0);
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as f64;
    let unload_budget = 2.0 * latency.as_secs_f64() + e * cores * row_group_rows / decoded as f64;
    let csv_budget =
        2.0 * latency.as_secs_f64() + e_csv * cores * athena_arrow::FetchConfig::default().chunk_size as f64 / csv_bytes as f64;
    println!(
        "time to first batch: UNLOAD {:.1} ms (target < {:.1} ms), CSV {:.1} ms (target < {:.1} ms)",
        a.first_batch * 1e3,
        unload_budget * 1e3,
        b.first_batch * 1e3,
        csv_budget * 1e3
    );
    (Measured { unload: a, csv: b, one_row }, (emulator, endpoint_runtime))
}

/// Runs benches/peers/peers.py with `python` against `emulator`; prints our ratios to theirs.
fn peers(python: &str, emulator: &Emulator, ours: &Measured, repeat: usize) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/peers/peers.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .args(["--endpoint", &emulator.endpoint(), "--region", emulator.region()])
        .args(["--staging", "s3://athena-results/peers/", "--query", "SELECT * FROM bench", "--one-row", "SELECT 1 AS one"])
        .args(["--repeat", &repeat.to_string()])
        .env("AWS_ACCESS_KEY_ID", emulator.access_key_id())
        .env("AWS_SECRET_ACCESS_KEY", emulator.secret_access_key())
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("the peers' Python runs");
    let text = String::from_utf8_lossy(&out.stdout);
    println!(
        "\n== peers on the same endpoint (best of {repeat}); ratio = their time / ours, execute to last row; \
         client = that minus Athena's TotalExecutionTime (poll slack and reading)"
    );
    // Issue 14's targets are on client time against PyAthena with 0.05 s polling ("tuned").
    let ours_for = |name: &str| -> Option<(&Run, f64)> {
        Some(match name {
            n if n.contains("one_row") => (&ours.one_row, 0.0),
            "pyathena_arrow_unload_tuned" => (&ours.unload, 1.5),
            "pyathena_arrow_csv_tuned" => (&ours.csv, 2.0),
            n if n.contains("unload") => (&ours.unload, 0.0),
            n if n.contains("csv") => (&ours.csv, 0.0),
            _ => return None,
        })
    };
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            println!("{line}");
            continue;
        };
        let name = v["name"].as_str().unwrap_or_default();
        if let Some(err) = v["error"].as_str() {
            println!("{name:<34} failed: {err}");
            continue;
        }
        let (Some(secs), Some((run, target))) = (v["seconds"].as_f64(), ours_for(name)) else {
            println!("{line}");
            continue;
        };
        let target = if target > 0.0 { format!("(target >= {target}x)") } else { String::new() };
        let ours_client = run.total - run.info.total_execution_time.unwrap_or_default().as_secs_f64();
        let client = v["client_seconds"].as_f64().unwrap_or(f64::NAN);
        println!(
            "{name:<31} {secs:>7.3} s vs ours {:>7.3} s: {:>5.2}x   client {client:>6.3} s vs {ours_client:>6.3} s: {:>5.2}x {target}",
            run.total,
            secs / run.total,
            client / ours_client
        );
    }
    if !out.status.success() {
        println!("peers script failed: {}", out.status);
    }
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let rows = env_usize("BENCH_ROWS", 5_000_000);
    let repeat = env_usize("BENCH_REPEAT", 3).max(1);
    let latencies: Vec<u64> = match std::env::var("BENCH_LATENCY_MS") {
        Ok(v) => vec![v.parse().expect("BENCH_LATENCY_MS is a number of milliseconds")],
        Err(_) => vec![20, 0],
    };
    let python = std::env::var("BENCH_PEERS_PYTHON").ok();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        for (i, ms) in latencies.into_iter().enumerate() {
            let (measured, (emulator, endpoint_runtime)) = measure(rows, Duration::from_millis(ms), repeat, i == 0).await;
            if let (Some(python), 0) = (&python, i) {
                let emulator_ref = &emulator;
                tokio::task::block_in_place(|| peers(python, emulator_ref, &measured, repeat));
            }
            drop(emulator);
            endpoint_runtime.shutdown_background();
        }
    });
}
