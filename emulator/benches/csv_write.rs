//! How fast the endpoint writes a SELECT's result CSV (so that client benchmarks never wait on
//! it): `SELECT * FROM bench` over the generated benchmark table, engine time as the endpoint
//! reports it (EngineExecutionTimeInMillis), result size from S3.
//!
//! `cargo bench --workspace --bench csv_write` (env `BENCH_ROWS`, default 2,000,000; medians of
//! 3 runs).

use std::time::Duration;

mod common;

use athena_emulator::Emulator;
use aws_sdk_athena::types::QueryExecutionState;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rows = std::env::var("BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let emulator = Emulator::builder().with_data_dir(dir.path()).with_fixtures(false).with_bench_rows(rows).start().await.expect("starts");
    let athena = common::athena_client(&emulator);
    let s3 = common::s3_client(&emulator);
    let mut runs = Vec::new();
    for _ in 0..3 {
        let id = athena.start_query_execution().query_string("SELECT * FROM bench").send().await.unwrap().query_execution_id.unwrap();
        let q = loop {
            let q = athena.get_query_execution().query_execution_id(&id).send().await.unwrap().query_execution.unwrap();
            match q.status().unwrap().state().unwrap() {
                QueryExecutionState::Succeeded => break q,
                QueryExecutionState::Failed | QueryExecutionState::Cancelled => panic!("{:?}", q.status()),
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        };
        let engine = Duration::from_millis(q.statistics().unwrap().engine_execution_time_in_millis().unwrap() as u64);
        let location = q.result_configuration().unwrap().output_location().unwrap().to_owned();
        let (bucket, key) = location.trim_start_matches("s3://").split_once('/').unwrap();
        let size = s3.head_object().bucket(bucket).key(key).send().await.unwrap().content_length().unwrap() as u64;
        runs.push((engine, size));
    }
    runs.sort();
    let (engine, size) = runs[1];
    println!(
        "csv_write: {rows} rows, {:.1} MB of result CSV in {:.2} s of engine time: {:.0} MB/s (median of 3)",
        size as f64 / 1e6,
        engine.as_secs_f64(),
        size as f64 / 1e6 / engine.as_secs_f64()
    );
}
