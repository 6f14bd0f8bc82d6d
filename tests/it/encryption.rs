//! Result encryption: the option table's `encryption_option` / `kms_key` reach
//! StartQueryExecution, and a result Athena reports as written with CSE_KMS (ciphertext in S3)
//! is read through GetQueryResults, or refused when the fallback is off.

use athena_arrow::{Encryption, Error, ErrorKind, Value};

use crate::builder;

const SQL: &str = "SELECT a FROM many_rows WHERE a < 3 ORDER BY a";

fn cse() -> Encryption {
    Encryption::CseKms { kms_key: "arn:aws:kms:us-east-1:000000000000:key/results".into() }
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

#[tokio::test]
async fn a_cse_kms_result_is_read_through_the_api() {
    // The test runtime is single-threaded: the warning is emitted on this thread.
    let (warnings, _guard) = capture_warnings();
    let conn = builder().with_encryption(cse()).build().await.unwrap();
    let mut rs = conn.execute(SQL).await.unwrap();
    assert_eq!(rs.info().result_encryption.as_deref(), Some("CSE_KMS"));
    let mut values = Vec::new();
    while let Some(row) = rs.fetch_one().await.unwrap() {
        values.push(row.get(0));
    }
    assert_eq!(values, vec![Some(Value::Integer(0)), Some(Value::Integer(1)), Some(Value::Integer(2))]);
    conn.execute(SQL).await.unwrap().collect().await.unwrap();
    // One warning for the connection's two reads, saying why.
    let said = String::from_utf8(warnings.lock().unwrap().clone()).unwrap();
    assert_eq!(said.matches("the result is encrypted client-side (CSE_KMS)").count(), 1, "{said}");
    assert!(said.contains("read through GetQueryResults"), "{said}");
    // Its partitions read from the API too: no S3 location for a worker to fetch ciphertext from.
    let parts = conn.query(SQL).execute_partitions().await.unwrap();
    assert!(parts.partitions.iter().all(|p| p.uri().is_none()), "{:?}", parts.partitions);
    // A plain result's partitions are its CSV's ranges.
    let plain = builder().build().await.unwrap().query(SQL).execute_partitions().await.unwrap();
    assert!(plain.partitions[0].uri().is_some_and(|u| u.ends_with(".csv")));
}

#[tokio::test]
async fn refused_when_the_fallback_is_off_or_the_result_is_unloaded() {
    let conn = builder().with_encryption(cse()).with_option("encrypted_result_fallback", "false").build().await.unwrap();
    let e = conn.execute(SQL).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e:?}");
    assert!(matches!(&e, Error::EncryptedResult { .. }));
    let id = e.query_id().unwrap().to_owned();
    assert_eq!(
        e.to_string(),
        format!(
            "the result of query {id} is encrypted client-side (CSE_KMS): its files in S3 are ciphertext, and encrypted_result_fallback is off"
        )
    );
    let conn =
        builder().with_encryption(cse()).with_unload(true).with_s3_staging_dir("s3://athena-results/unload-cse/").build().await.unwrap();
    let e = conn.execute(SQL).await.unwrap_err();
    assert!(
        e.to_string().ends_with("its Parquet files in S3 are ciphertext and GetQueryResults does not serve them; read it without unload"),
        "{e}"
    );
}
