//! S3 GET throughput of the endpoint on loopback: ranged GETs of 8 MiB, 8 in flight, through the
//! official SDK client, so that the endpoint is never what a client benchmark measures.
//!
//! `cargo bench --workspace --bench s3_get` prints the median time and throughput of 30 rounds
//! (8 x 8 MiB each) after 3 warm-up rounds. A plain loop rather than criterion: one figure is
//! wanted, and criterion's dependency tree would be compiled by every test build.

use std::time::{Duration, Instant};

mod common;

use athena_emulator::Emulator;
use futures::future::try_join_all;

const RANGE: u64 = 8 << 20;
const IN_FLIGHT: u64 = 8;
const OBJECT: u64 = RANGE * IN_FLIGHT;

/// One round: every range of the object in flight at once; returns the bytes received.
async fn round(s3: &aws_sdk_s3::Client) -> u64 {
    let gets = (0..IN_FLIGHT).map(|i| async move {
        let range = format!("bytes={}-{}", i * RANGE, (i + 1) * RANGE - 1);
        let out = s3.get_object().bucket("athena-results").key("bench/object").range(range).send().await?;
        let mut body = out.body;
        let mut n = 0u64;
        while let Some(chunk) = body.try_next().await? {
            n += chunk.len() as u64;
        }
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(n)
    });
    try_join_all(gets).await.expect("ranged GETs succeed").into_iter().sum()
}

const WARMUP: usize = 3;
const ROUNDS: usize = 30;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let emulator = rt.block_on(Emulator::builder().with_data_dir(dir.path()).with_fixtures(false).start()).expect("emulator starts");
    let s3 = common::s3_client(&emulator);
    let data: Vec<u8> = (0..OBJECT).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    rt.block_on(s3.put_object().bucket("athena-results").key("bench/object").body(data.into()).send()).expect("put object");
    for _ in 0..WARMUP {
        assert_eq!(rt.block_on(round(&s3)), OBJECT);
    }
    let mut times: Vec<Duration> = (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            assert_eq!(rt.block_on(round(&s3)), OBJECT);
            start.elapsed()
        })
        .collect();
    times.sort();
    let median = times[ROUNDS / 2];
    let gib_s = OBJECT as f64 / median.as_secs_f64() / f64::from(1u32 << 30);
    println!(
        "s3_get/8_ranged_8MiB_in_flight: median {:.1} ms per {} MiB round = {gib_s:.2} GiB/s (min {:.1} ms, max {:.1} ms, {ROUNDS} rounds)",
        median.as_secs_f64() * 1e3,
        OBJECT >> 20,
        times[0].as_secs_f64() * 1e3,
        times[ROUNDS - 1].as_secs_f64() * 1e3,
    );
    rt.block_on(emulator.shutdown());
}
