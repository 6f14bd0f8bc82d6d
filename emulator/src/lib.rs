//! A local endpoint that behaves like Amazon Athena and S3, on one loopback port, for tests,
//! examples and benchmarks of `athena-arrow` (and of any AWS SDK client) without AWS.
//!
//! ```no_run
//! # async fn demo() -> Result<(), athena_emulator::Error> {
//! let emulator = athena_emulator::Emulator::builder().start().await?;
//! println!("endpoint {} (key {})", emulator.endpoint(), emulator.access_key_id());
//! emulator.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! What it serves, and where it deviates from Athena, is in the crate's README.

mod catalog;
pub mod cli;
mod config;
mod engine;
mod failure;
mod fixtures;
mod formats;
mod protocol;
mod statements;
mod types;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use config::{Realism, ResultStream, WorkGroup, default_workgroups};
pub use formats::kms::KmsKey;
pub use protocol::identity_center::IdcApplication;
pub use protocol::oidc::{LocalIssuer, OidcProvider};

/// Errors starting the endpoint.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("cannot listen on {addr}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("data dir {path}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("loading fixture table {table}: {message}")]
    Fixture { table: String, message: String },
}

/// Configures and starts an [`Emulator`].
#[derive(Debug, Clone)]
pub struct EmulatorBuilder {
    listen: SocketAddr,
    data_dir: Option<PathBuf>,
    access_key_id: String,
    secret_access_key: String,
    region: String,
    fixtures: bool,
    bench_rows: Option<usize>,
    workgroups: Vec<WorkGroup>,
    realism: Realism,
    limits: protocol::server::Limits,
    request_log: Option<PathBuf>,
    oidc_providers: Vec<OidcProvider>,
    kms_keys: Vec<KmsKey>,
    idc_applications: Vec<IdcApplication>,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        Self {
            // An ephemeral loopback port: tests run side by side.
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            // A temporary directory removed on shutdown.
            data_dir: None,
            // The conventional keys of local AWS emulators.
            access_key_id: "test".into(),
            secret_access_key: "test".into(),
            region: "us-east-1".into(),
            fixtures: true,
            bench_rows: None,
            workgroups: default_workgroups(),
            realism: Realism::default(),
            limits: protocol::server::Limits::default(),
            request_log: None,
            oidc_providers: Vec::new(),
            kms_keys: Vec::new(),
            idc_applications: Vec::new(),
        }
    }
}

impl EmulatorBuilder {
    /// Address to listen on (default `127.0.0.1:0`, an ephemeral port).
    pub fn with_listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Directory holding S3 objects, the catalog and query history (default: a temporary
    /// directory removed when the emulator stops). Reusing a directory keeps all of them.
    pub fn with_data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// The long-term access key accepted (default `test` / `test`).
    pub fn with_credentials(mut self, access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        self.access_key_id = access_key_id.into();
        self.secret_access_key = secret_access_key.into();
        self
    }

    /// The region requests must be signed for (default `us-east-1`).
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    /// Whether to create the standard fixture tables in `default` (default true).
    pub fn with_fixtures(mut self, fixtures: bool) -> Self {
        self.fixtures = fixtures;
        self
    }

    /// Generates the deterministic benchmark table `default.bench` with `rows` rows.
    pub fn with_bench_rows(mut self, rows: usize) -> Self {
        self.bench_rows = Some(rows);
        self
    }

    /// Replaces the workgroups (default: [`default_workgroups`]).
    pub fn with_workgroups(mut self, workgroups: Vec<WorkGroup>) -> Self {
        self.workgroups = workgroups;
        self
    }

    /// Adds a workgroup.
    pub fn with_workgroup(mut self, workgroup: WorkGroup) -> Self {
        self.workgroups.retain(|w| w.name != workgroup.name);
        self.workgroups.push(workgroup);
        self
    }

    /// S3 first-byte latency per GET (default none).
    pub fn with_s3_latency(mut self, latency: Duration) -> Self {
        self.realism.s3_latency = latency;
        self
    }

    /// Bandwidth cap per GET response in MB/s (default unlimited).
    pub fn with_s3_bandwidth_mbps(mut self, mbps: f64) -> Self {
        self.realism.s3_bandwidth_mbps = mbps;
        self
    }

    /// Fault injection rates, each 0..=1 (default all 0).
    pub fn with_faults(mut self, slowdown_rate: f64, cut_rate: f64, throttle_rate: f64) -> Self {
        self.realism.fault_slowdown_rate = slowdown_rate;
        self.realism.fault_cut_rate = cut_rate;
        self.realism.fault_throttle_rate = throttle_rate;
        self
    }

    /// Fraction (0..=1) of S3 GETs whose connection is reset (TCP RST) before any answer
    /// (default 0).
    pub fn with_connection_resets(mut self, rate: f64) -> Self {
        self.realism.fault_reset_rate = rate;
        self
    }

    /// Shortest time from a query's submission to its end, as Athena's queueing and planning
    /// give every query (default none): for benchmarks of queries of realistic length.
    pub fn with_min_query_time(mut self, time: Duration) -> Self {
        self.realism.min_query_time = time;
        self
    }

    /// Rows an UNLOAD writes per data file before starting the next (default 2,000,000): to
    /// give a result Athena's shape of many files.
    pub fn with_unload_rows_per_file(mut self, rows: usize) -> Self {
        self.realism.unload_rows_per_file = Some(rows.max(1));
        self
    }

    /// Rows per row group of an UNLOAD's Parquet files (default 1,048,576): to give one file
    /// many row groups, as Trino's writer does by bytes (128 MB).
    pub fn with_unload_rows_per_row_group(mut self, rows: usize) -> Self {
        self.realism.unload_rows_per_row_group = Some(rows.max(1));
        self
    }

    /// Longest a client may take to send a request's headers before its connection is closed
    /// (default 30 s).
    pub fn with_header_read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.header_read_timeout = timeout;
        self
    }

    /// How `GetQueryResultStream` serves DuckDB results: turned off (the operation unknown),
    /// with IPC body compression, or with a shorter lifetime than Athena's 24 hours.
    pub fn with_result_stream(mut self, stream: config::ResultStream) -> Self {
        self.realism.result_stream = stream;
        self
    }

    /// Appends a line per successful S3 GET to `path` (`GET /bucket/key bytes=a-b`) and one per
    /// Athena call (`ATHENA <Operation> <input as JSON>`), so tests can see which objects each
    /// reader fetched and what Athena was asked (the SQL a pushdown produced).
    pub fn with_request_log(mut self, path: impl Into<PathBuf>) -> Self {
        self.request_log = Some(path.into());
        self
    }

    /// Trusts an OpenID Connect provider: STS `AssumeRoleWithWebIdentity` issues credentials of
    /// its roles for tokens it signed (none is trusted by default).
    pub fn with_oidc_provider(mut self, provider: OidcProvider) -> Self {
        self.oidc_providers.push(provider);
        self
    }

    /// Serves a KMS key (GenerateDataKey, Decrypt; CSE_KMS results are sealed with it). With
    /// fixtures, `alias/athena-results` is served too, usable by every principal.
    pub fn with_kms_key(mut self, key: KmsKey) -> Self {
        self.kms_keys.push(key);
        self
    }

    /// Serves an IAM Identity Center application for trusted identity propagation: SSO-OIDC
    /// CreateTokenWithIAM trades tokens of its issuer (an OIDC provider given with
    /// [`Self::with_oidc_provider`]) for identity contexts that STS AssumeRole takes.
    pub fn with_identity_center_application(mut self, application: IdcApplication) -> Self {
        self.idc_applications.push(application);
        self
    }

    /// Connections served at once; more wait in the listen backlog (default 1024).
    pub fn with_max_connections(mut self, connections: usize) -> Self {
        self.limits.max_connections = connections.max(1);
        self
    }

    /// Starts serving; returns once the port accepts connections.
    pub async fn start(self) -> Result<Emulator, Error> {
        let (temp, data_dir) = match &self.data_dir {
            Some(d) => (None, d.clone()),
            None => {
                let t = tempfile::Builder::new()
                    .prefix("athena-emulator-")
                    .tempdir()
                    .map_err(|source| Error::DataDir { path: std::env::temp_dir(), source })?;
                let p = t.path().to_owned();
                (Some(t), p)
            }
        };
        let io = |source| Error::DataDir { path: data_dir.clone(), source };
        let s3_root = data_dir.join("s3");
        let state_dir = data_dir.join("athena");
        for dir in [&s3_root, &state_dir, &s3_root.join("athena-results"), &s3_root.join(catalog::WAREHOUSE_BUCKET)] {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let layout = formats::objects::ObjectLayout::new(s3_root);
        let catalog = Arc::new(catalog::Catalog::open(state_dir.join("catalog.json"), layout.clone()).map_err(io)?);
        if self.fixtures {
            fixtures::install(&catalog)?;
        }
        if let Some(rows) = self.bench_rows {
            fixtures::install_bench(&catalog, rows)?;
        }
        let realism = Arc::new(self.realism.clone());
        let rows_per_file = statements::unload::FileShape {
            rows_per_file: self.realism.unload_rows_per_file.unwrap_or(statements::unload::ROWS_PER_FILE),
            rows_per_row_group: self.realism.unload_rows_per_row_group.unwrap_or(statements::unload::ROWS_PER_ROW_GROUP),
        };
        let mut kms_keys = self.kms_keys.clone();
        if self.fixtures {
            kms_keys.push(formats::kms::fixture_key());
        }
        let kms = formats::kms::Kms::open(&kms_keys, &state_dir.join("kms"), &self.region).map_err(io)?;
        catalog.set_kms(kms.clone());
        let executor = Arc::new(statements::Executor::new(
            catalog,
            layout.clone(),
            state_dir.clone(),
            rows_per_file,
            self.realism.result_stream.compression,
            kms.clone(),
        ));
        let athena =
            protocol::athena::Athena::open(executor, self.workgroups.clone(), realism.clone(), state_dir.join("queries")).map_err(io)?;

        let keys = protocol::auth::Keys::default();
        keys.insert(&self.access_key_id, &self.secret_access_key);
        let realism_for_router = realism.clone();
        let storage = protocol::s3::Storage::new(layout, realism).map_err(io)?;
        let mut builder = s3s::service::S3ServiceBuilder::new(storage);
        builder.set_auth(keys.clone());
        let counters = Arc::new(protocol::server::S3Counters::default());
        let router = Arc::new(protocol::server::Router {
            athena,
            realism: realism_for_router,
            s3: builder.build(),
            keys,
            region: self.region.clone(),
            counters: counters.clone(),
            request_log: match &self.request_log {
                Some(path) => Some(std::sync::Mutex::new(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)
                        .map_err(|source| Error::DataDir { path: path.clone(), source })?,
                )),
                None => None,
            },
            oidc_providers: self.oidc_providers.clone(),
            kms,
            idc: Arc::new(protocol::identity_center::IdentityCenter::new(self.idc_applications.clone())),
        });

        let listener = tokio::net::TcpListener::bind(self.listen).await.map_err(|source| Error::Listen { addr: self.listen, source })?;
        let addr = listener.local_addr().map_err(|source| Error::Listen { addr: self.listen, source })?;
        let task = tokio::spawn(protocol::server::serve(listener, router, self.limits));
        Ok(Emulator { addr, task, _temp: temp, data_dir, config: self, counters })
    }
}

/// A running endpoint. Stops when dropped or on [`Emulator::shutdown`].
#[derive(Debug)]
pub struct Emulator {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
    _temp: Option<tempfile::TempDir>,
    data_dir: PathBuf,
    config: EmulatorBuilder,
    counters: Arc<protocol::server::S3Counters>,
}

/// S3 requests an endpoint has received so far, by method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct S3Requests {
    pub get: u64,
    /// Body bytes of successful GETs.
    pub get_bytes: u64,
    pub head: u64,
    /// PUT, POST, DELETE and the rest.
    pub other: u64,
}

impl Emulator {
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// `http://127.0.0.1:PORT`: the endpoint URL for both Athena and S3 (path-style).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// S3 requests received so far, by method: round trips, for tests and benchmarks.
    pub fn s3_requests(&self) -> S3Requests {
        use std::sync::atomic::Ordering::Relaxed;
        S3Requests {
            get: self.counters.get.load(Relaxed),
            get_bytes: self.counters.get_bytes.load(Relaxed),
            head: self.counters.head.load(Relaxed),
            other: self.counters.other.load(Relaxed),
        }
    }

    pub fn access_key_id(&self) -> &str {
        &self.config.access_key_id
    }

    pub fn secret_access_key(&self) -> &str {
        &self.config.secret_access_key
    }

    pub fn region(&self) -> &str {
        &self.config.region
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Stops accepting requests and closes every connection.
    pub async fn shutdown(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A data directory for an endpoint that lives as long as its process (a test binary's shared
/// endpoint, held in a static that is never dropped, where a temporary directory would never be
/// removed): `parent/name-PID`. Directories of the same name left by processes no longer running
/// (on Linux, where `/proc` tells), by an earlier process of this id, and the unnumbered
/// `parent/name` of earlier versions are removed first. Two runs of one binary at once each have
/// their own directory.
pub fn process_data_dir(parent: &Path, name: &str) -> PathBuf {
    let pid = std::process::id();
    let proc = Path::new("/proc/self").exists();
    let _ = std::fs::remove_dir_all(parent.join(name));
    if let Ok(entries) = std::fs::read_dir(parent) {
        for entry in entries.flatten() {
            let file = entry.file_name();
            let Some(owner) = file.to_str().and_then(|f| f.strip_prefix(name)?.strip_prefix('-')?.parse::<u32>().ok()) else {
                continue;
            };
            if owner == pid || (proc && !Path::new("/proc").join(owner.to_string()).exists()) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    parent.join(format!("{name}-{pid}"))
}

#[cfg(test)]
mod tests {
    use super::process_data_dir;

    #[test]
    fn a_process_data_dir_is_this_process_s_and_clears_the_dead_ones() {
        let parent = tempfile::tempdir().unwrap();
        let pid = std::process::id();
        // Ids above Linux's largest (2^22) name no running process; 1 always runs.
        let made = ["x", "x-999999999", &format!("x-{pid}"), "x-1", "xy-999999999", "x-abc"];
        for name in made {
            std::fs::create_dir(parent.path().join(name)).unwrap();
        }
        let dir = process_data_dir(parent.path(), "x");
        assert_eq!(dir, parent.path().join(format!("x-{pid}")));
        let mut left: Vec<String> =
            std::fs::read_dir(parent.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        left.sort();
        let mut want = vec!["x-abc", "xy-999999999"];
        if !std::path::Path::new("/proc/self").exists() {
            // Without /proc, other processes' directories are kept.
            want.push("x-999999999");
        }
        want.push("x-1");
        want.sort();
        assert_eq!(left, want);
    }
}
