//! Result encryption: the option table's `encryption_option` / `kms_key` reach
//! StartQueryExecution; a CSE_KMS result (the S3 Encryption Client's envelope, written by the
//! endpoint with its KMS) is read from S3 on the fast path, decrypted and authenticated; a
//! tampered object is an error, never rows; when KMS refuses the data key, the result is read
//! through GetQueryResults with one warning, or refused.

use arrow::array::{Array, Int32Array};
use athena_arrow::{Encryption, Error, ErrorKind, FetchConfig, ResultSource, Value};

use crate::{builder, shared};

const SQL: &str = "SELECT a FROM many_rows WHERE a < 3 ORDER BY a";
/// 10 000 rows: more than GetQueryResults' first page, so the CSV is read from S3.
const MANY: &str = "SELECT a, 'row ' || CAST(a AS varchar) AS s FROM many_rows ORDER BY a";
/// The endpoint's fixture key (every principal may use it).
pub const KEY: &str = "alias/athena-results";
/// A key only another principal may use (the shared endpoint serves it).
pub const OTHERS_KEY: &str = "alias/someone-elses";

fn cse(key: &str) -> Encryption {
    Encryption::CseKms { kms_key: key.into() }
}

/// Small ranges: a result of a few hundred KB is read in many of them.
fn small_ranges() -> FetchConfig {
    FetchConfig { chunk_size: 16 << 10, ..FetchConfig::default() }
}

/// The file under the endpoint's data dir holding the object at `uri`.
fn stored(uri: &str) -> std::path::PathBuf {
    let (bucket, key) = uri.strip_prefix("s3://").unwrap().split_once('/').unwrap();
    shared().data_dir().join("s3").join(bucket).join(key)
}

fn column_a(batches: &[arrow::array::RecordBatch]) -> Vec<i32> {
    batches.iter().flat_map(|b| b.column(0).as_any().downcast_ref::<Int32Array>().unwrap().values().to_vec()).collect()
}

#[tokio::test]
async fn the_option_table_sets_the_encryption_athena_reports() {
    let conn = builder().with_option("encryption_option", "sse_kms").with_option("kms_key", "alias/results").build().await.unwrap();
    let rs = conn.execute(SQL).await.unwrap();
    assert_eq!(rs.info().result_encryption.as_deref(), Some("SSE_KMS"));
    let conn = builder().with_option("encryption_option", "SSE_S3").build().await.unwrap();
    assert_eq!(conn.execute(SQL).await.unwrap().info().result_encryption.as_deref(), Some("SSE_S3"));
    // Deferred errors: a key without an option, an option without its key.
    let e = builder().with_option("kms_key", "alias/results").build().await.unwrap_err();
    assert_eq!(e.to_string(), "invalid configuration: kms_key needs encryption_option SSE_KMS or CSE_KMS");
    let e = builder().with_option("encryption_option", "CSE_KMS").build().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert_eq!(e.to_string(), "invalid configuration: encryption_option CSE_KMS needs kms_key (a KMS key ARN, id or alias)");
}

#[tokio::test]
async fn a_cse_kms_result_is_read_from_s3_decrypted() {
    let conn = builder().with_encryption(cse(KEY)).with_fetch(small_ranges()).build().await.unwrap();
    let before = shared().s3_requests();
    let rs = conn.execute(MANY).await.unwrap();
    assert_eq!(rs.info().result_encryption.as_deref(), Some("CSE_KMS"));
    let location = rs.info().output_location.clone().unwrap();
    let batches = rs.collect().await.unwrap();
    assert_eq!(column_a(&batches), (0..10_000).collect::<Vec<i32>>());
    let s = batches[0].column(1).as_any().downcast_ref::<arrow::array::StringArray>().unwrap();
    assert_eq!(s.value(7), "row 7");
    // Read in many ranges from S3, not through the API.
    let after = shared().s3_requests();
    assert!(after.get - before.get >= 10, "{before:?} -> {after:?}");
    // What S3 holds is ciphertext with its tag: neither the header nor any row in the clear.
    let bytes = std::fs::read(stored(&location)).unwrap();
    let plain = builder().build().await.unwrap().execute(MANY).await.unwrap().info().output_location.clone().unwrap();
    let plain_len = std::fs::read(stored(&plain)).unwrap().len();
    assert_eq!(bytes.len(), plain_len + 16);
    assert!(!bytes.windows(5).any(|w| w == b"\"a\",\"" || w == b"row 7"));
    // The envelope, as GetObject gives it (x-amz-meta-*).
    let (bucket, key) = location.strip_prefix("s3://").unwrap().split_once('/').unwrap();
    let out = crate::s3_client(&conn).head_object().bucket(bucket).key(key).send().await.unwrap();
    let meta = out.metadata().unwrap();
    assert_eq!(meta["x-amz-cek-alg"], "AES/GCM/NoPadding");
    assert_eq!(meta["x-amz-wrap-alg"], "kms");
    assert_eq!(meta["x-amz-tag-len"], "128");
    assert_eq!(meta["x-amz-matdesc"], r#"{"kms_cmk_id":"alias/athena-results"}"#);
    assert_eq!(meta["x-amz-unencrypted-content-length"], plain_len.to_string());
    assert_eq!(out.content_length(), Some(plain_len as i64 + 16));
}

#[tokio::test]
async fn a_tampered_object_is_an_error_never_its_last_rows() {
    use futures::StreamExt;
    let conn = builder().with_encryption(cse(KEY)).with_fetch(small_ranges()).build().await.unwrap();
    let kept = conn.query(MANY).execute_partitions().await.unwrap();
    let damaged = conn.query(MANY).execute_partitions().await.unwrap();
    // One byte of the first range changed in place (size and ETag unchanged).
    let path = stored(damaged.partitions[0].uri().unwrap());
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[100] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    let mut stream = conn.read_partition(&damaged.partitions[0]).await.unwrap();
    let mut rows = 0;
    let e = loop {
        match stream.next().await {
            Some(Ok(batch)) => rows += batch.num_rows(),
            Some(Err(e)) => break e,
            None => panic!("a tampered result read to its end ({rows} rows)"),
        }
    };
    assert_eq!(e.kind(), ErrorKind::Storage, "{e:?}");
    assert!(e.to_string().contains("the object's authentication tag does not match its content"), "{e}");
    assert!(rows < 10_000, "{rows}");
    // Another result is untouched and reads whole.
    let read = conn.read_partition(&kept.partitions[0]).await.unwrap().collect_batches().await.unwrap();
    assert_eq!(column_a(&read).len(), 10_000);
}

/// The warnings (tracing events) this thread emits while the guard lives.
fn capture_warnings() -> (std::sync::Arc<std::sync::Mutex<Vec<u8>>>, tracing::subscriber::DefaultGuard) {
    #[derive(Clone)]
    struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = Sink(buf.clone());
    let subscriber =
        tracing_subscriber::fmt().with_writer(move || sink.clone()).with_ansi(false).with_max_level(tracing::Level::WARN).finish();
    (buf, tracing::subscriber::set_default(subscriber))
}

const REFUSED: &str = "KMS Decrypt failed: AccessDeniedException: User: arn:aws:iam::000000000000:user/test is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:000000000000:key/0b0e5b1c-7d1f-4c55-9d1e-5a4cfa2b7e01 because no identity-based policy allows the kms:Decrypt action";

#[tokio::test]
async fn a_refused_data_key_falls_back_to_the_api_with_one_warning() {
    // The test runtime is single-threaded: the warning is emitted on this thread.
    let (warnings, _guard) = capture_warnings();
    let conn = builder().with_encryption(cse(OTHERS_KEY)).build().await.unwrap();
    let batches = conn.execute(MANY).await.unwrap().collect().await.unwrap();
    assert_eq!(column_a(&batches), (0..10_000).collect::<Vec<i32>>());
    let mut rs = conn.execute(SQL).await.unwrap();
    let mut values = Vec::new();
    while let Some(row) = rs.fetch_one().await.unwrap() {
        values.push(row.get(0));
    }
    assert_eq!(values, vec![Some(Value::Integer(0)), Some(Value::Integer(1)), Some(Value::Integer(2))]);
    let said = String::from_utf8(warnings.lock().unwrap().clone()).unwrap();
    assert_eq!(said.matches("the result is encrypted client-side (CSE_KMS)").count(), 1, "{said}");
    assert!(said.contains(REFUSED), "{said}");
    assert!(said.contains("it is read through GetQueryResults instead"), "{said}");
    // Its partitions read from the API too.
    let parts = conn.query(MANY).execute_partitions().await.unwrap();
    assert!(parts.partitions.iter().all(|p| p.uri().is_none()), "{:?}", parts.partitions);
}

#[tokio::test]
async fn a_refused_data_key_is_an_error_when_the_fallback_is_off_or_the_result_is_unloaded() {
    let conn = builder().with_encryption(cse(OTHERS_KEY)).with_option("encrypted_result_fallback", "false").build().await.unwrap();
    let e = conn.execute(MANY).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e:?}");
    assert!(matches!(&e, Error::EncryptedResult { .. }));
    let id = e.query_id().unwrap().to_owned();
    assert_eq!(
        e.to_string(),
        format!("the result of query {id} is encrypted client-side (CSE_KMS): {REFUSED}; encrypted_result_fallback is off")
    );
    let conn = builder().with_encryption(cse(OTHERS_KEY)).with_result_source(ResultSource::S3).build().await.unwrap();
    assert!(conn.execute(MANY).await.unwrap_err().to_string().ends_with("; the result source is S3"));
    let conn = builder()
        .with_encryption(cse(OTHERS_KEY))
        .with_unload(true)
        .with_s3_staging_dir("s3://athena-results/unload-cse/")
        .build()
        .await
        .unwrap();
    let e = conn.execute(SQL).await.unwrap_err();
    assert!(e.to_string().ends_with(&format!("{REFUSED}; GetQueryResults does not serve an UNLOAD's Parquet files")), "{e}");
}

#[tokio::test]
async fn unload_files_and_partitions_of_a_cse_kms_result_are_read_from_s3() {
    let conn = builder()
        .with_encryption(cse(KEY))
        .with_unload(true)
        .with_s3_staging_dir("s3://athena-results/unload-cse-read/")
        .build()
        .await
        .unwrap();
    let rs = conn.execute(MANY).await.unwrap();
    let batches = rs.collect().await.unwrap();
    assert_eq!(column_a(&batches), (0..10_000).collect::<Vec<i32>>());
    // Each data file is ciphertext (no Parquet magic); one changed byte fails its file whole.
    let unloaded = conn.query(MANY).execute_partitions().await.unwrap();
    let path = stored(unloaded.partitions[0].uri().unwrap());
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(!bytes.starts_with(b"PAR1") && !bytes.ends_with(b"PAR1"));
    let last = bytes.len() - 20;
    bytes[last] ^= 0x80;
    std::fs::write(&path, &bytes).unwrap();
    let e = match conn.read_partition(&unloaded.partitions[0]).await {
        Err(e) => e,
        Ok(stream) => stream.collect_batches().await.expect_err("a tampered file is refused"),
    };
    assert!(e.to_string().contains("the object's authentication tag does not match its content"), "{e}");
    // Partitions: each UNLOAD file, and a CSV as one whole partition (its tag covers it all).
    let parts = builder().with_encryption(cse(KEY)).build().await.unwrap().query(MANY).execute_partitions().await.unwrap();
    assert_eq!(parts.partitions.len(), 1);
    assert!(parts.partitions[0].uri().is_some_and(|u| u.ends_with(".csv")));
    let reader = crate::connect().await;
    let read = reader.read_partition(&parts.partitions[0]).await.unwrap().collect_batches().await.unwrap();
    assert_eq!(column_a(&read), (0..10_000).collect::<Vec<i32>>());
}

#[tokio::test]
async fn a_key_that_is_unknown_fails_the_query() {
    let conn = builder().with_encryption(cse("alias/no-such-key")).build().await.unwrap();
    let e = conn.execute(SQL).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "query {} failed: PERMISSION_DENIED: Cannot encrypt the query results with KMS key alias/no-such-key: NotFoundException: Alias arn:aws:kms:us-east-1:000000000000:alias/no-such-key is not found.",
            e.query_id().unwrap()
        )
    );
}

/// The data files of `table` (its location as GetTableMetadata gives it).
async fn table_files(conn: &athena_arrow::Connection, table: &str) -> Vec<std::path::PathBuf> {
    let out =
        conn.athena().get_table_metadata().catalog_name("AwsDataCatalog").database_name("default").table_name(table).send().await.unwrap();
    let location = out.table_metadata().unwrap().parameters().unwrap()["location"].clone();
    let dir = stored(&location);
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

#[tokio::test]
async fn ctas_and_insert_data_of_a_cse_kms_query_is_sealed_and_reads_back() {
    let sealed = builder().with_encryption(cse(KEY)).build().await.unwrap();
    let plain = crate::connect().await;
    for (table, format) in [("cse_ctas_parquet", "PARQUET"), ("cse_ctas_text", "TEXTFILE")] {
        plain.execute(format!("DROP TABLE IF EXISTS {table}")).await.unwrap();
        sealed
            .execute(format!(
                "CREATE TABLE {table} WITH (format = '{format}') AS SELECT a, CAST(a AS varchar) AS s FROM many_rows WHERE a < 100"
            ))
            .await
            .unwrap();
        sealed.execute(format!("INSERT INTO {table} SELECT a, CAST(a AS varchar) FROM many_rows WHERE a >= 9990")).await.unwrap();
        // Both data files are ciphertext with their envelope: no Parquet magic, no row in the clear.
        let files = table_files(&plain, table).await;
        assert_eq!(files.len(), 2, "{files:?}");
        for file in &files {
            let bytes = std::fs::read(file).unwrap();
            assert!(!bytes.starts_with(b"PAR1") && !bytes.windows(4).any(|w| w == b"9995"), "{file:?}");
        }
        // Any later query reads them decrypted, as Athena reads its CSE_KMS table data.
        let batches = plain.execute(format!("SELECT count(*) AS n, sum(a) AS total FROM {table}")).await.unwrap().collect().await.unwrap();
        let n = batches[0].column(0).as_any().downcast_ref::<arrow::array::Int64Array>().unwrap().value(0);
        let total = batches[0].column(1).as_any().downcast_ref::<arrow::array::Int64Array>().unwrap().value(0);
        assert_eq!((n, total), (110, 4950 + 99_945), "{table}");
        plain.execute(format!("DROP TABLE {table}")).await.unwrap();
    }
}
