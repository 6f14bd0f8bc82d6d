//! Plain-data configuration of the endpoint: credentials, workgroups and S3 realism.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// S3 and Athena realism, all off by default so tests and benchmarks measure the client.
#[derive(Debug, Clone, Default)]
pub struct Realism {
    /// Delay before the first byte of every S3 GET.
    pub s3_latency: Duration,
    /// Bandwidth cap per GET response in megabytes (10^6 bytes) per second; 0 = unlimited.
    pub s3_bandwidth_mbps: f64,
    /// Fraction (0..=1) of S3 GETs answered `503 SlowDown`.
    pub fault_slowdown_rate: f64,
    /// Fraction (0..=1) of S3 GETs whose connection is cut half-way through the body.
    pub fault_cut_rate: f64,
    /// Fraction (0..=1) of S3 GETs whose connection is reset (TCP RST) before any answer, as a
    /// server or load balancer that drops a connection does.
    pub fault_reset_rate: f64,
    /// Fraction (0..=1) of Athena calls answered `ThrottlingException`.
    pub fault_throttle_rate: f64,
    /// Shortest time from submission to a query's end (Athena's queueing and planning take
    /// hundreds of milliseconds): a query done sooner stays RUNNING until then.
    pub min_query_time: Duration,
    /// Rows an UNLOAD writes per data file before starting the next (`None`: 2,000,000): large
    /// UNLOADs on Athena write dozens to hundreds of files.
    pub unload_rows_per_file: Option<usize>,
    /// Rows per Parquet row group of UNLOAD's files (`None`: 1,048,576).
    pub unload_rows_per_row_group: Option<usize>,
    /// How DuckDB queries' managed results are served through `GetQueryResultStream`.
    pub result_stream: ResultStream,
}

/// `GetQueryResultStream` as the endpoint serves it.
#[derive(Debug, Clone)]
pub struct ResultStream {
    /// When false the endpoint answers the operation as one it does not know
    /// (`UnknownOperationException`), as a service without the API would.
    pub enabled: bool,
    /// Compression of each IPC message's body (LZ4 frame or ZSTD); `None` uncompressed.
    pub compression: Option<arrow::ipc::CompressionType>,
    /// How long a managed result is kept (Athena: 24 hours).
    pub ttl: Duration,
}

impl Default for ResultStream {
    fn default() -> Self {
        Self { enabled: true, compression: None, ttl: Duration::from_secs(24 * 3600) }
    }
}

impl Realism {
    pub(crate) fn roll(&self, rate: f64) -> bool {
        rate > 0.0 && rand::random::<f64>() < rate
    }

    pub(crate) fn latency(&self) -> Option<Duration> {
        (!self.s3_latency.is_zero()).then_some(self.s3_latency)
    }

    pub(crate) fn bandwidth_bytes_per_sec(&self) -> Option<f64> {
        (self.s3_bandwidth_mbps > 0.0).then_some(self.s3_bandwidth_mbps * 1e6)
    }
}

/// An Athena workgroup as the endpoint serves it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WorkGroup {
    pub name: String,
    /// `s3://bucket/prefix/` where results go; `None` = Athena-managed results (API only).
    pub output_location: Option<String>,
    /// When true, the workgroup's settings override those of each query.
    pub enforce: bool,
    /// Athena-managed result storage: no OutputLocation needed, results only through the API.
    #[serde(default)]
    pub managed: bool,
    pub description: String,
    /// The engine it selects (`Configuration.EngineVersion.SelectedEngineVersion`); `None`:
    /// `AUTO`, which runs Athena engine version 3.
    #[serde(default)]
    pub engine_version: Option<String>,
    /// `Configuration.IdentityCenterConfiguration.IdentityCenterInstanceArn` of a workgroup
    /// enabled for IAM Identity Center: its queries run only for sessions that carry an Identity
    /// Center identity context (trusted identity propagation).
    #[serde(default)]
    pub identity_center_instance_arn: Option<String>,
}

impl WorkGroup {
    pub fn new(name: impl Into<String>, output_location: Option<&str>) -> Self {
        Self {
            name: name.into(),
            output_location: output_location.map(str::to_owned),
            enforce: false,
            managed: false,
            description: String::new(),
            engine_version: None,
            identity_center_instance_arn: None,
        }
    }

    /// A workgroup with Athena-managed query results (no OutputLocation).
    pub fn managed(name: impl Into<String>) -> Self {
        Self { managed: true, ..Self::new(name, None) }
    }

    /// Selects an engine by the name Athena gives it (`Athena engine version 3`).
    pub fn with_engine_version(mut self, name: impl Into<String>) -> Self {
        self.engine_version = Some(name.into());
        self
    }

    pub fn enforced(mut self) -> Self {
        self.enforce = true;
        self
    }
}

/// The workgroups every endpoint has unless configured otherwise: `primary` (results in
/// `s3://athena-results/`), `managed` (Athena-managed results, no OutputLocation), `enforced`
/// (results forced to `s3://athena-results/enforced/`, whatever the query asks), `no-output`
/// (neither an OutputLocation nor managed results: queries need one in their request), and two
/// on Athena's DuckDB engine: `duckdb` (managed results, read as an Arrow stream through
/// GetQueryResultStream) and `duckdb-bucket` (results in `s3://athena-results/duckdb/`).
pub fn default_workgroups() -> Vec<WorkGroup> {
    vec![
        WorkGroup::new("primary", Some("s3://athena-results/")),
        WorkGroup::managed("managed"),
        WorkGroup::new("enforced", Some("s3://athena-results/enforced/")).enforced(),
        WorkGroup::new("no-output", None),
        WorkGroup::managed("duckdb").with_engine_version("DuckDB"),
        WorkGroup::new("duckdb-bucket", Some("s3://athena-results/duckdb/")).with_engine_version("DuckDB"),
    ]
}
