//! The endpoint as a command: the flags of the `athena-emulator` binary (also
//! `athena-arrow emulator`) and serving until SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Flags of the local Amazon Athena + S3 compatible endpoint.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:4566")]
    pub listen: SocketAddr,
    /// Directory for S3 objects, the catalog and query history (default: temporary, removed at exit).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Do not create the standard fixture tables.
    #[arg(long)]
    pub no_fixtures: bool,
    /// Access key id that requests must be signed with.
    #[arg(long, default_value = "test")]
    pub access_key_id: String,
    /// Its secret key.
    #[arg(long, default_value = "test")]
    pub secret_access_key: String,
    /// Region of the endpoint's signatures and ARNs.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// First-byte latency of every S3 GET, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub s3_latency_ms: u64,
    /// Bandwidth cap per S3 GET response, in MB/s (0 = unlimited).
    #[arg(long, default_value_t = 0.0)]
    pub s3_bandwidth_mbps: f64,
    /// Fraction of S3 GETs answered 503 SlowDown.
    #[arg(long, default_value_t = 0.0)]
    pub fault_slowdown_rate: f64,
    /// Fraction of S3 GETs whose connection is cut mid-body.
    #[arg(long, default_value_t = 0.0)]
    pub fault_cut_rate: f64,
    /// Fraction of S3 GETs whose connection is reset before any answer.
    #[arg(long, default_value_t = 0.0)]
    pub fault_reset_rate: f64,
    /// Fraction of Athena calls answered ThrottlingException.
    #[arg(long, default_value_t = 0.0)]
    pub fault_throttle_rate: f64,
    /// Shortest time from a query's submission to its end, in milliseconds (Athena's queueing
    /// and planning).
    #[arg(long, default_value_t = 0)]
    pub min_query_ms: u64,
    /// Rows an UNLOAD writes per data file before starting the next (default 2,000,000).
    #[arg(long)]
    pub unload_rows_per_file: Option<usize>,
    /// Rows per Parquet row group of UNLOAD's files (default 1,048,576).
    #[arg(long)]
    pub unload_rows_per_row_group: Option<usize>,
    /// Generate the benchmark table `default.bench` with this many rows.
    #[arg(long)]
    pub bench_rows: Option<usize>,
    /// Answer GetQueryResultStream as an unknown operation (a service without the API).
    #[arg(long)]
    pub no_result_stream: bool,
    /// Compress the Arrow IPC bodies of DuckDB result streams: lz4 or zstd.
    #[arg(long, value_parser = ["lz4", "zstd"])]
    pub result_stream_compression: Option<String>,
    /// Append a line per successful S3 GET (`GET /bucket/key bytes=a-b`) and per Athena call
    /// (`ATHENA <Operation> <input as JSON>`) to this file.
    #[arg(long, value_name = "FILE")]
    pub request_log: Option<std::path::PathBuf>,
    /// Trust an OpenID Connect provider for STS AssumeRoleWithWebIdentity: a JSON file
    /// `{"issuer": URL, "client_ids": [...], "jwks": {"keys": [...]}, "roles": [role ARN, ...]}`
    /// (repeat for more providers).
    #[arg(long, value_name = "FILE")]
    pub oidc_provider: Vec<std::path::PathBuf>,
    /// Serve a KMS key for GenerateDataKey/Decrypt and CSE_KMS results: a JSON file
    /// `{"key_id": UUID, "aliases": ["alias/name"], "principals": [IAM ARN, ...]}` (no
    /// `principals`: every principal may use it; repeat for more keys).
    #[arg(long, value_name = "FILE")]
    pub kms_key: Vec<std::path::PathBuf>,
    /// Serve an IAM Identity Center application for trusted identity propagation
    /// (CreateTokenWithIAM): a JSON file `{"arn": ARN, "issuer": URL of an --oidc-provider,
    /// "audiences": [...]}` (repeat for more).
    #[arg(long, value_name = "FILE")]
    pub identity_center_application: Vec<std::path::PathBuf>,
    /// How long DuckDB's managed results are kept, in seconds (Athena: 86400).
    #[arg(long, default_value_t = 86_400)]
    pub managed_result_ttl_seconds: u64,
}

/// Serves the endpoint with `args` until Ctrl-C or SIGTERM; prints its address on stdout.
///
/// # Errors
/// The endpoint cannot start (address in use, data directory unusable), with its causes.
pub async fn serve(args: ServeArgs) -> Result<(), String> {
    let mut builder = crate::Emulator::builder()
        .with_listen(args.listen)
        .with_fixtures(!args.no_fixtures)
        .with_credentials(args.access_key_id, args.secret_access_key)
        .with_region(args.region)
        .with_s3_latency(Duration::from_millis(args.s3_latency_ms))
        .with_s3_bandwidth_mbps(args.s3_bandwidth_mbps)
        .with_min_query_time(Duration::from_millis(args.min_query_ms))
        .with_faults(args.fault_slowdown_rate, args.fault_cut_rate, args.fault_throttle_rate)
        .with_connection_resets(args.fault_reset_rate);
    if let Some(dir) = args.data_dir {
        builder = builder.with_data_dir(dir);
    }
    if let Some(rows) = args.unload_rows_per_file {
        builder = builder.with_unload_rows_per_file(rows);
    }
    if let Some(rows) = args.unload_rows_per_row_group {
        builder = builder.with_unload_rows_per_row_group(rows);
    }
    if let Some(rows) = args.bench_rows {
        builder = builder.with_bench_rows(rows);
    }
    if let Some(path) = args.request_log {
        builder = builder.with_request_log(path);
    }
    for path in &args.oidc_provider {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the OIDC provider file {}: {e}", path.display()))?;
        let provider: crate::OidcProvider =
            serde_json::from_str(&text).map_err(|e| format!("OIDC provider file {}: {e}", path.display()))?;
        builder = builder.with_oidc_provider(provider);
    }
    for path in &args.kms_key {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the KMS key file {}: {e}", path.display()))?;
        let key: crate::KmsKey = serde_json::from_str(&text).map_err(|e| format!("KMS key file {}: {e}", path.display()))?;
        builder = builder.with_kms_key(key);
    }
    for path in &args.identity_center_application {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the Identity Center application file {}: {e}", path.display()))?;
        let app: crate::IdcApplication =
            serde_json::from_str(&text).map_err(|e| format!("Identity Center application file {}: {e}", path.display()))?;
        builder = builder.with_identity_center_application(app);
    }
    let compression = match args.result_stream_compression.as_deref() {
        Some("lz4") => Some(arrow::ipc::CompressionType::LZ4_FRAME),
        Some("zstd") => Some(arrow::ipc::CompressionType::ZSTD),
        _ => None,
    };
    builder = builder.with_result_stream(crate::ResultStream {
        enabled: !args.no_result_stream,
        compression,
        ttl: Duration::from_secs(args.managed_result_ttl_seconds),
    });
    let emulator = match builder.start().await {
        Ok(e) => e,
        Err(e) => {
            let mut msg = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                msg.push_str(&format!(": {s}"));
                src = s.source();
            }
            return Err(msg);
        }
    };
    println!("athena-emulator listening on {}", emulator.endpoint());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("signal handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    emulator.shutdown().await;
    Ok(())
}
