//! Every source under every fault kind at once (S3 503 SlowDown, connections cut mid-body,
//! Athena ThrottlingException), at a size where each kind happens many times: the content must
//! equal a fault-free run's, checksum for checksum. And many queries of mixed sources on one
//! connection at once, each exact.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use arrow::array::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use athena_arrow::{Connection, FetchConfig, ResultSource, RetryConfig};

/// 100,000 rows of several types (about 5 MB of CSV, 100 GetQueryResults pages).
const SQL: &str = "SELECT a.a AS a, CAST(a.a AS VARCHAR) AS s, CAST(a.a AS DECIMAL(12,2)) / 7 AS d, \
                   CAST(b.a AS DOUBLE) / 3 AS f, a.a % 2 = 0 AS even \
                   FROM many_rows a CROSS JOIN (SELECT a FROM many_rows WHERE a < 10) b";

/// Row count and a checksum of the rows as text, in sorted order (UNLOAD files have no order).
fn checksum(batches: &[RecordBatch]) -> (usize, u64) {
    let options = FormatOptions::default().with_null("NULL");
    let mut rows: Vec<String> = Vec::new();
    for b in batches {
        let formatters: Vec<ArrayFormatter> = b.columns().iter().map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap()).collect();
        rows.extend((0..b.num_rows()).map(|i| formatters.iter().map(|f| f.value(i).to_string()).collect::<Vec<_>>().join("|")));
    }
    rows.sort();
    let mut h = DefaultHasher::new();
    rows.hash(&mut h);
    (rows.len(), h.finish())
}

async fn read(conn: &Connection, unload: bool) -> Vec<RecordBatch> {
    conn.query(SQL).unload(unload).execute().await.unwrap().collect().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_source_reads_the_same_content_under_faults() {
    let clean = crate::builder().with_s3_staging_dir("s3://athena-results/faults-clean/").build().await.unwrap();
    let expected = checksum(&read(&clean, false).await);
    assert_eq!(expected.0, 100_000);

    let emulator = crate::start_emulator(athena_emulator::Emulator::builder().with_faults(0.2, 0.2, 0.2));
    let retry = RetryConfig {
        max_attempts: 20,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(50),
        ..RetryConfig::default()
    };
    // Small ranges: about 80 ranged GETs for the CSV, 20 or more for the Parquet files.
    let fetch = FetchConfig { chunk_size: 64 << 10, concurrency: 8, max_attempts: 20, ..FetchConfig::default() };
    let faulty = |source: ResultSource, fetch: FetchConfig| {
        crate::builder_at(&emulator.endpoint)
            .with_s3_staging_dir("s3://athena-results/faults/")
            .with_retry(retry)
            .with_fetch(fetch)
            .with_result_source(source)
            .build()
    };
    let csv = faulty(ResultSource::S3, fetch).await.unwrap();
    assert_eq!(checksum(&read(&csv, false).await), expected, "result CSV");
    let api = faulty(ResultSource::Api, fetch).await.unwrap();
    assert_eq!(checksum(&read(&api, false).await), expected, "GetQueryResults paging");
    let unload = faulty(ResultSource::Auto, FetchConfig { chunk_size: 16 << 10, ..fetch }).await.unwrap();
    assert_eq!(checksum(&read(&unload, true).await), expected, "UNLOAD");
    // CSE_KMS results: ranges retried after SlowDown and resumed after cut bodies still decrypt
    // and authenticate. (S3 faults only: the SDK's retry quota is shared by the whole test
    // process, and Athena throttling is tested above.)
    let s3_faults = crate::start_emulator(athena_emulator::Emulator::builder().with_faults(0.2, 0.2, 0.0));
    let cse = athena_arrow::Encryption::CseKms { kms_key: "alias/athena-results".into() };
    let sealed = crate::builder_at(&s3_faults.endpoint)
        .with_s3_staging_dir("s3://athena-results/faults-cse/")
        .with_retry(retry)
        .with_fetch(fetch)
        .with_result_source(ResultSource::S3)
        .with_encryption(cse)
        .build()
        .await
        .unwrap();
    assert_eq!(checksum(&read(&sealed, false).await), expected, "CSE_KMS result CSV");
    assert_eq!(checksum(&read(&sealed, true).await), expected, "CSE_KMS UNLOAD");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_queries_of_mixed_sources_on_one_connection() {
    let conn = crate::builder().with_s3_staging_dir("s3://athena-results/concurrent/").build().await.unwrap();
    let tasks = (0..50u32).map(|i| {
        let conn = conn.clone();
        tokio::spawn(async move {
            // Small results come from the first page, large ones from the CSV, every third
            // through UNLOAD.
            let (sql, unload, rows, sum) = match i % 3 {
                0 => (format!("SELECT a FROM many_rows WHERE a < {i}"), false, i as usize, (0..i as i64).sum::<i64>()),
                1 => (format!("SELECT a FROM many_rows WHERE a >= {i}"), false, 10_000 - i as usize, (i as i64..10_000).sum()),
                _ => (format!("SELECT a FROM many_rows WHERE a % 50 = {i}"), true, 200, (0..200).map(|k| k * 50 + i as i64).sum()),
            };
            let batches = conn.query(&sql).unload(unload).execute().await.unwrap().collect().await.unwrap();
            let mut got_rows = 0;
            let mut got_sum = 0i64;
            for b in &batches {
                let a = b.column(0).as_any().downcast_ref::<arrow::array::Int32Array>().unwrap();
                got_rows += b.num_rows();
                got_sum += a.iter().map(|v| i64::from(v.unwrap())).sum::<i64>();
            }
            assert_eq!((got_rows, got_sum), (rows, sum), "query {i}: {sql}");
        })
    });
    for t in futures::future::join_all(tasks).await {
        t.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unload_files_read_under_budgets_smaller_than_a_row_group() {
    // Budgets of 1 KiB: every row group is read alone, every batch waits for the consumer; the
    // result is still whole and exact.
    let tiny = FetchConfig { unload_bytes_in_flight: 1024, decoded_bytes_buffered: 1024, ..FetchConfig::default() };
    let conn = crate::builder().with_s3_staging_dir("s3://athena-results/budget/").with_fetch(tiny).build().await.unwrap();
    let clean = crate::builder().with_s3_staging_dir("s3://athena-results/budget-clean/").build().await.unwrap();
    assert_eq!(checksum(&read(&conn, true).await), checksum(&read(&clean, false).await));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unload_of_many_small_files_reads_whole() {
    // 100,000 rows in files of 1,500 rows: about 70 files, read under the byte budget.
    let emulator = crate::start_emulator(athena_emulator::Emulator::builder().with_unload_rows_per_file(1_500));
    let conn = crate::builder_at(&emulator.endpoint).with_s3_staging_dir("s3://athena-results/many-files/").build().await.unwrap();
    let result = conn.query(SQL).unload(true).execute().await.unwrap();
    let query_id = result.query_id().to_owned();
    let got = checksum(&result.collect().await.unwrap());
    let files = crate::manifest_file_count(&conn, &query_id).await;
    assert!(files >= 64, "{files} files");
    let clean = crate::builder().with_s3_staging_dir("s3://athena-results/many-files-clean/").build().await.unwrap();
    assert_eq!(got, checksum(&read(&clean, false).await));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_small_files_read_in_order_under_resets_and_cuts() {
    // 100,100 rows in files of 100 rows: 1,001 files, read while one GET in ten has its
    // connection reset before any answer and one in ten is cut mid-body.
    let emulator = crate::start_emulator(
        athena_emulator::Emulator::builder().with_unload_rows_per_file(100).with_faults(0.0, 0.1, 0.0).with_connection_resets(0.1),
    );
    let fetch = FetchConfig { max_attempts: 10, ..FetchConfig::default() };
    let conn = crate::builder_at(&emulator.endpoint)
        .with_s3_staging_dir("s3://athena-results/thousand-files/")
        .with_fetch(fetch)
        .build()
        .await
        .unwrap();
    let sql = "SELECT x, 'v' || CAST(x AS VARCHAR) AS s FROM (SELECT CAST(a.a AS BIGINT) * 11 + b.a AS x \
               FROM many_rows a CROSS JOIN (SELECT a FROM many_rows WHERE a < 11) b) WHERE x < 100100 ORDER BY x";
    let result = conn.query(sql).unload(true).execute().await.unwrap();
    let query_id = result.query_id().to_owned();
    let batches = result.collect().await.unwrap();
    assert_eq!(crate::manifest_file_count(&conn, &query_id).await, 1001);
    // The files hold consecutive rows in manifest order, and are handed over in that order.
    let xs: Vec<i64> =
        batches.iter().flat_map(|b| b.column(0).as_any().downcast_ref::<arrow::array::Int64Array>().unwrap().values().to_vec()).collect();
    assert_eq!(xs, (0..100_100).collect::<Vec<i64>>());
    let s = batches.iter().map(|b| b.column(1).as_any().downcast_ref::<arrow::array::StringArray>().unwrap().value(0).to_owned());
    assert_eq!(s.take(1).collect::<Vec<_>>(), vec!["v0".to_owned()]);
}

/// Rows of the DuckDB stream read under faults.
const STREAM_ROWS: i64 = 20_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duckdb_stream_read_under_faults_loses_no_row() {
    // Cut bodies and throttled calls (the stream's own and the polls); ranges of 1 MiB, so the
    // stream (about 580 MB) comes in some 550 ranges, each cut with one chance in five.
    let emulator = crate::start_emulator(athena_emulator::Emulator::builder().with_faults(0.0, 0.2, 0.2));
    let retry = RetryConfig {
        max_attempts: 20,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(50),
        ..RetryConfig::default()
    };
    let fetch = FetchConfig { stream_range_size: 1 << 20, concurrency: 8, max_attempts: 20, ..FetchConfig::default() };
    let conn = crate::builder_at(&emulator.endpoint).with_work_group("duckdb").with_retry(retry).with_fetch(fetch).build().await.unwrap();
    let sql = format!("SELECT x, x * 2 AS y, 'r' || x AS s FROM range({STREAM_ROWS}) t(x)");
    let result = conn.execute(&sql).await.unwrap();
    assert!(result.info().output_location.is_none(), "managed results: read as the Arrow stream");
    let (mut rows, mut sum_x, mut sum_y, mut text) = (0i64, 0i64, 0i64, 0usize);
    let mut stream = result.into_stream();
    use futures::StreamExt;
    while let Some(batch) = stream.next().await {
        let b = batch.unwrap();
        rows += b.num_rows() as i64;
        let x = b.column(0).as_any().downcast_ref::<arrow::array::Int64Array>().unwrap();
        let y = b.column(1).as_any().downcast_ref::<arrow::array::Int64Array>().unwrap();
        sum_x += x.values().iter().sum::<i64>();
        sum_y += y.values().iter().sum::<i64>();
        text += b.column(2).as_any().downcast_ref::<arrow::array::StringArray>().unwrap().value_data().len();
    }
    let n = STREAM_ROWS;
    assert_eq!((rows, sum_x, sum_y), (n, n * (n - 1) / 2, n * (n - 1)));
    let digits: usize = (0..n).map(|i| i.to_string().len() + 1).sum();
    assert_eq!(text, digits);
}
