//! End-to-end throughput of the result sources against the local endpoint, and the limits they
//! are measured against. `cargo bench --workspace --bench fast_path` (env `BENCH_ROWS`, default
//! 5,000,000; `BENCH_LATENCY_MS`, default 20: first-byte latency of every S3 GET).
//!
//! Prints, per line: what, seconds, MB/s, rows/s. (a) UNLOAD source, (b) CSV source,
//! (c) GetQueryResults paging on a slice, (d) raw concurrent ranged download of the UNLOAD files,
//! (e) Parquet decode of the same files from memory on every core, (f) the ceiling when the same
//! cores fetch and decode, 1/(1/d + 1/e); then peak heap while streaming at two result sizes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use athena_arrow::{Connection, ResultSource};
use athena_emulator::Emulator;
use futures::TryStreamExt;

/// Counts live heap bytes and their peak (resettable), for the memory figures.
struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn line(what: &str, secs: f64, bytes: u64, rows: u64) {
    println!("{what:<58} {secs:>8.3} s {:>9.1} MB/s {:>12.0} rows/s", bytes as f64 / 1e6 / secs, rows as f64 / secs);
}

fn s3_client(emulator: &Emulator) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version_latest()
            .region(aws_sdk_s3::config::Region::new(emulator.region().to_owned()))
            .endpoint_url(emulator.endpoint())
            .force_path_style(true)
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                emulator.access_key_id(),
                emulator.secret_access_key(),
                None,
                None,
                "bench",
            ))
            .build(),
    )
}

fn split(uri: &str) -> (String, String) {
    let (b, k) = uri.trim_start_matches("s3://").split_once('/').expect("s3 uri");
    (b.to_owned(), k.to_owned())
}

/// Downloads every file with 8 ranged GETs of 8 MiB in flight; returns the bytes of each file.
async fn download(s3: &aws_sdk_s3::Client, files: &[String]) -> Vec<bytes::Bytes> {
    let mut out = Vec::new();
    for f in files {
        let (bucket, key) = split(f);
        let size = s3.head_object().bucket(&bucket).key(&key).send().await.unwrap().content_length().unwrap() as u64;
        let chunk = 8u64 << 20;
        let ranges: Vec<(u64, u64)> = (0..size.div_ceil(chunk)).map(|i| (i * chunk, ((i + 1) * chunk).min(size) - 1)).collect();
        let parts: Vec<bytes::Bytes> = futures::stream::iter(ranges)
            .map(|(a, b)| {
                let (s3, bucket, key) = (s3.clone(), bucket.clone(), key.clone());
                async move {
                    let o = s3.get_object().bucket(bucket).key(key).range(format!("bytes={a}-{b}")).send().await.unwrap();
                    o.body.collect().await.unwrap().into_bytes()
                }
            })
            .buffered(8)
            .collect()
            .await;
        let mut all = bytes::BytesMut::with_capacity(size as usize);
        for p in parts {
            all.extend_from_slice(&p);
        }
        out.push(all.freeze());
    }
    out
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

/// Execute-to-last-batch of `sql`; returns (seconds, rows, query info).
async fn run(conn: &Connection, sql: &str) -> (f64, u64, athena_arrow::QueryInfo) {
    let start = Instant::now();
    let result = conn.execute(sql).await.unwrap();
    let info = result.info().clone();
    let rows: u64 = result.into_stream().try_fold(0u64, |n, b| async move { Ok(n + b.num_rows() as u64) }).await.unwrap();
    (start.elapsed().as_secs_f64(), rows, info)
}

/// Peak heap growth while streaming the result of `sql` (the query itself finishes first).
async fn streaming_peak(conn: &Connection, sql: &str) -> (u64, usize) {
    let handle = conn.query(sql).submit().await.unwrap();
    handle.wait_info().await.unwrap();
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let rows = handle.wait().await.unwrap().into_stream().try_fold(0u64, |n, b| async move { Ok(n + b.num_rows() as u64) }).await.unwrap();
    (rows, PEAK.load(Ordering::Relaxed).saturating_sub(base))
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let rows = env_usize("BENCH_ROWS", 5_000_000);
    let latency = Duration::from_millis(env_usize("BENCH_LATENCY_MS", 20) as u64);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let started = Instant::now();
        let emulator = Emulator::builder().with_bench_rows(rows).with_s3_latency(latency).start().await.unwrap();
        println!("endpoint with {rows} bench rows and {latency:?} S3 first-byte latency ready in {:.1} s", started.elapsed().as_secs_f64());
        let builder = Connection::builder()
            .with_endpoint_url(emulator.endpoint())
            .with_region(emulator.region())
            .with_access_key(emulator.access_key_id(), emulator.secret_access_key())
            .with_s3_staging_dir("s3://athena-results/bench/");
        let csv = builder.clone().build().await.unwrap();
        let unload = builder.clone().with_unload(true).build().await.unwrap();
        let api = builder.with_result_source(ResultSource::Api).build().await.unwrap();
        let s3 = s3_client(&emulator);

        let (secs, n, info) = run(&unload, "SELECT * FROM bench").await;
        let manifest = info.data_manifest_location.clone().unwrap();
        let (mb, mk) = split(&manifest);
        let listing = s3.get_object().bucket(mb).key(mk).send().await.unwrap().body.collect().await.unwrap().into_bytes();
        let files: Vec<String> = String::from_utf8(listing.to_vec()).unwrap().lines().map(str::to_owned).collect();
        let data = download(&s3, &files).await;
        let parquet_bytes: u64 = data.iter().map(|d| d.len() as u64).sum();
        println!(
            "{} UNLOAD files, {:.1} MB of Parquet; engine time of the UNLOAD {:?}",
            files.len(),
            parquet_bytes as f64 / 1e6,
            info.engine_execution_time.unwrap_or_default()
        );
        line("(a) UNLOAD source, execute to last batch", secs, parquet_bytes, n);
        let fetch_secs = secs - info.total_execution_time.unwrap_or_default().as_secs_f64();
        line("(a') UNLOAD source, reading only (after the query ended)", fetch_secs, parquet_bytes, n);

        let (secs, n, info) = run(&csv, "SELECT * FROM bench").await;
        let (cb, ck) = split(info.output_location.as_deref().unwrap());
        let csv_bytes = s3.head_object().bucket(cb).key(ck).send().await.unwrap().content_length().unwrap() as u64;
        line("(b) CSV source, execute to last batch", secs, csv_bytes, n);
        let fetch_secs = secs - info.total_execution_time.unwrap_or_default().as_secs_f64();
        line("(b') CSV source, reading only", fetch_secs, csv_bytes, n);

        let slice = (rows / 50).clamp(1000, 100_000);
        let (secs, n, _) = run(&api, &format!("SELECT * FROM bench WHERE id < {slice}")).await;
        line(&format!("(c) GetQueryResults paging, {slice} rows"), secs, 0, n);

        let start = Instant::now();
        let again = download(&s3, &files).await;
        let d = start.elapsed().as_secs_f64();
        assert_eq!(again.iter().map(|x| x.len() as u64).sum::<u64>(), parquet_bytes);
        line("(d) raw ranged download of the UNLOAD files (8 x 8 MiB)", d, parquet_bytes, n);

        let start = Instant::now();
        let decoded = tokio::task::block_in_place(|| decode_in_memory(&data));
        let e = start.elapsed().as_secs_f64();
        line("(e) Parquet decode from memory, all cores", e, parquet_bytes, decoded);
        line("(f) ceiling when the same cores fetch and decode", d + e, parquet_bytes, decoded);

        for n in [rows / 5, rows] {
            let (got, peak) = streaming_peak(&unload, &format!("SELECT * FROM bench WHERE id < {n}")).await;
            println!("peak heap while streaming {got:>9} rows through UNLOAD: {:>7.1} MB", peak as f64 / 1e6);
            let (got, peak) = streaming_peak(&csv, &format!("SELECT * FROM bench WHERE id < {n}")).await;
            println!("peak heap while streaming {got:>9} rows through CSV:    {:>7.1} MB", peak as f64 / 1e6);
        }
    });
}
