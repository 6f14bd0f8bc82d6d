//! Partitions of a result: one per UNLOAD data file, byte ranges of the result CSV, one for API
//! paging; serialised without credentials, read on other connections, exactly the result's
//! rows, and a changed object refused.

use std::sync::OnceLock;

use athena_arrow::{Connection, Error, FetchConfig, ResultPartition, ResultSource, Row, Value};
use futures::TryStreamExt;

use crate::Shared;

/// An endpoint whose UNLOADs write files of at most 1,500 rows (several partitions).
fn small_files() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        crate::start_emulator(
            athena_emulator::Emulator::builder()
                .with_data_dir(crate::kept_data_dir("it-partitions-endpoint"))
                .with_unload_rows_per_file(1_500),
        )
    })
}

const SQL: &str = "SELECT a, CAST(a AS VARCHAR) AS s, CAST(a AS DECIMAL(10,2)) AS d, IF(a % 7 = 0, NULL, 'x') AS n FROM many_rows";

/// Every row of `partition`, read from its bytes on `conn`, and the schema it was read with.
async fn read_with_schema(conn: &Connection, bytes: &[u8]) -> (Vec<Vec<Value>>, arrow::datatypes::SchemaRef) {
    let stream = conn.read_partition_bytes(bytes).await.unwrap();
    let schema = stream.schema().clone();
    let batches: Vec<_> = stream.try_collect().await.unwrap();
    (batches.iter().flat_map(|b| (0..b.num_rows()).map(move |i| Row::at(b, i).unwrap().values())).collect(), schema)
}

async fn read(conn: &Connection, bytes: &[u8]) -> Vec<Vec<Value>> {
    read_with_schema(conn, bytes).await.0
}

fn sorted(mut rows: Vec<Vec<Value>>) -> Vec<Vec<Value>> {
    rows.sort_by_key(|r| r[0].as_i64());
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unload_partitions_are_the_data_files_and_give_the_whole_result() {
    let endpoint = &small_files().endpoint;
    let conn = crate::builder_at(endpoint).with_s3_staging_dir("s3://athena-results/partitions/").build().await.unwrap();
    let parts = conn.query(SQL).unload(true).execute_partitions().await.unwrap();
    let files = crate::manifest_file_count(&conn, &parts.info.query_id).await;
    assert!(files >= 6, "{files} files");
    assert_eq!(parts.partitions.len() as u64, files);
    assert!(parts.partitions.iter().all(|p| p.uri().is_some_and(|u| u.starts_with("s3://")) && p.size().is_some_and(|s| s > 0)));
    // Read elsewhere: a connection of its own, from bytes holding no credentials.
    let reader = crate::builder_at(endpoint).build().await.unwrap();
    let mut rows = Vec::new();
    for p in &parts.partitions {
        let bytes = p.to_bytes();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(!text.contains("test"), "no key in {text}");
        assert_eq!(&ResultPartition::from_bytes(&bytes).unwrap(), p);
        let (read, schema) = read_with_schema(&reader, &bytes).await;
        assert_eq!(schema, parts.schema);
        rows.extend(read);
    }
    let rows = sorted(rows);
    let expected = sorted(conn.execute(SQL).await.unwrap().fetch_all().await.unwrap().iter().map(Row::values).collect());
    assert_eq!(rows.len(), 10_000);
    assert_eq!(rows, expected);
    assert_eq!(rows[14], vec![Value::Integer(14), Value::String("14".into()), Value::Decimal(1400, 2), Value::Null]);
    assert_eq!(rows[15][3], Value::String("x".into()));
}

#[tokio::test]
async fn a_csv_result_is_one_partition_read_on_another_connection() {
    let conn = crate::builder().with_s3_staging_dir("s3://athena-results/partitions-csv/").build().await.unwrap();
    let parts = conn.query(SQL).execute_partitions().await.unwrap();
    assert_eq!(parts.partitions.len(), 1);
    let p = &parts.partitions[0];
    assert_eq!(p.uri(), parts.info.output_location.as_deref());
    let reader = crate::connect().await;
    let rows = read(&reader, &p.to_bytes()).await;
    let expected = sorted(conn.execute(SQL).await.unwrap().fetch_all().await.unwrap().iter().map(Row::values).collect());
    let rows = sorted(rows);
    assert_eq!(rows, expected);
    let seven = rows.iter().find(|r| r[0] == Value::Integer(7)).unwrap();
    assert_eq!(seven, &vec![Value::Integer(7), Value::String("7".into()), Value::Decimal(700, 2), Value::Null]);
}

/// Every partition of `sql`'s result CSV cut into ranges of `per` bytes, read in order on
/// another connection (reading small chunks), against the whole result read at once.
async fn ranges_give_the_result_in_order(sql: &str, per: u64) -> usize {
    let conn = crate::builder()
        .with_s3_staging_dir("s3://athena-results/partitions-ranges/")
        .with_option("csv_partition_bytes", &per.to_string())
        .build()
        .await
        .unwrap();
    let parts = conn.query(sql).execute_partitions().await.unwrap();
    let size = parts.partitions[0].size().unwrap();
    assert_eq!(parts.partitions.len() as u64, size.div_ceil(per), "{size} bytes in ranges of {per}");
    let mut next = 0;
    for p in &parts.partitions {
        let (start, end) = p.byte_range().expect("a range");
        assert_eq!((start, p.uri()), (next, parts.info.output_location.as_deref()));
        next = end;
    }
    assert_eq!(next, size);
    let fetch = FetchConfig { chunk_size: 4096, concurrency: 3, ..FetchConfig::default() };
    let reader = crate::builder().with_fetch(fetch).build().await.unwrap();
    let mut rows = Vec::new();
    for p in &parts.partitions {
        let (read, schema) = read_with_schema(&reader, &p.to_bytes()).await;
        assert_eq!(schema, parts.schema);
        rows.extend(read);
    }
    let whole: Vec<Vec<Value>> = conn.execute(sql).await.unwrap().fetch_all().await.unwrap().iter().map(Row::values).collect();
    assert_eq!(rows.len(), whole.len());
    assert_eq!(rows, whole, "the partitions in order are the result in order");
    parts.partitions.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csv_result_is_cut_into_byte_ranges_that_give_every_row_once() {
    // Values with quotes, commas, newlines, empty strings and NULLs, cut at odd sizes so that
    // ranges start inside quoted values, between doubled quotes and at record starts.
    let sql = "SELECT a, IF(a % 5 = 0, NULL, IF(a % 5 = 1, '', 'q\"' || CAST(a AS VARCHAR) || ',\n\"\"x')) AS s, \
               CAST(a AS DOUBLE) / 8 AS d FROM many_rows ORDER BY a";
    for per in [997, 4096, 65_536] {
        assert!(ranges_give_the_result_in_order(sql, per).await > 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranges_of_quotes_and_commas_alone_count_the_quotes_before_them() {
    // `","` on every row reads two ways from any byte until the object's end: ranges far from
    // the end find their start from the parity of the quotes before them.
    let n = ranges_give_the_result_in_order("SELECT '\",\"' AS q, '' AS e FROM many_rows", 20_000).await;
    assert!(n >= 5, "{n} partitions");
}

#[tokio::test]
async fn statements_without_a_csv_are_read_through_the_api() {
    let conn = crate::builder().with_result_source(ResultSource::Api).build().await.unwrap();
    let parts = conn.query("SELECT a FROM many_rows WHERE a < 3 ORDER BY a").execute_partitions().await.unwrap();
    assert_eq!((parts.partitions.len(), parts.partitions[0].uri()), (1, None));
    let rows = read(&crate::connect().await, &parts.partitions[0].to_bytes()).await;
    assert_eq!(rows, vec![vec![Value::Integer(0)], vec![Value::Integer(1)], vec![Value::Integer(2)]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_object_fails_loudly() {
    let conn = crate::builder().with_s3_staging_dir("s3://athena-results/partitions-changed/").build().await.unwrap();
    let s3 = crate::s3_client(&conn);
    let replace = |uri: String, body: Vec<u8>| {
        let s3 = s3.clone();
        async move {
            let (bucket, key) = uri.trim_start_matches("s3://").split_once('/').unwrap();
            s3.put_object().bucket(bucket).key(key).body(body.into()).send().await.unwrap();
        }
    };
    // The result CSV, replaced by one of the same size.
    let parts = conn.query("SELECT a FROM many_rows WHERE a < 10").execute_partitions().await.unwrap();
    let p = &parts.partitions[0];
    let size = p.size().unwrap() as usize;
    let mut body = b"\"a\"\n".to_vec();
    body.resize(size - 1, b' ');
    body.push(b'\n');
    replace(p.uri().unwrap().to_owned(), body).await;
    let e = conn.read_partition(p).await.expect_err("refused");
    assert!(matches!(&e, Error::Storage { message, .. } if message.contains("changed")), "{e:?}");
    // An UNLOAD data file, replaced by another Parquet file.
    let parts = conn.query("SELECT a FROM many_rows WHERE a < 10").unload(true).execute_partitions().await.unwrap();
    let other = conn.query("SELECT a FROM many_rows WHERE a < 20").unload(true).execute_partitions().await.unwrap();
    let (bucket, key) = other.partitions[0].uri().unwrap().trim_start_matches("s3://").split_once('/').unwrap();
    let body = s3.get_object().bucket(bucket).key(key).send().await.unwrap().body.collect().await.unwrap().to_vec();
    replace(parts.partitions[0].uri().unwrap().to_owned(), body).await;
    let e = conn.read_partition(&parts.partitions[0]).await.expect_err("refused");
    assert!(matches!(&e, Error::Storage { message, .. } if message.contains("changed")), "{e:?}");
}

#[test]
fn bytes_that_are_not_a_partition_are_a_config_error() {
    for bytes in [&b"not json"[..], b"{}", b"{\"format\":99}"] {
        assert!(matches!(ResultPartition::from_bytes(bytes), Err(Error::Config { .. })), "{:?}", String::from_utf8_lossy(bytes));
    }
}
