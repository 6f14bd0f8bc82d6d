//! Conformance suite: drives the endpoint with the official AWS SDK clients over HTTP and asserts
//! the Athena and S3 behaviours of athena-behaviour.md. Athena calls go in `rest-json`, the
//! protocol of today's AWS SDKs: the Rust SDK (which still sends `awsJson1_1`) has each request
//! re-bound by [`rest_json::RestJson`] from AWS's model; `awsJson1_1` is what the library's own
//! suite speaks, and [`athena_json`] here.

mod athena;
mod hostile;
mod protocols;
mod rest_json;
mod s3;
mod statements;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use athena_emulator::Emulator;
use aws_sdk_athena::types::{QueryExecution, QueryExecutionState, ResultConfiguration};

/// The shared endpoint: started once on its own runtime so it outlives each test's runtime.
pub struct Shared {
    pub endpoint: String,
    _emulator: Emulator,
    _runtime: tokio::runtime::Runtime,
}

pub fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        // Built on a plain thread: tests call this from inside their own runtime.
        std::thread::spawn(|| {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            // Kept for the whole binary (a static): this process's own directory under cargo's
            // temporary directory for tests.
            let data = athena_emulator::process_data_dir(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")), "emulator-it-endpoint");
            let emulator = runtime.block_on(Emulator::builder().with_data_dir(data).start()).expect("emulator starts");
            Shared { endpoint: emulator.endpoint(), _emulator: emulator, _runtime: runtime }
        })
        .join()
        .expect("emulator thread")
    })
}

pub fn creds(secret: &str) -> aws_sdk_athena::config::Credentials {
    aws_sdk_athena::config::Credentials::new("test", secret, None, None, "tests")
}

/// A client of `endpoint` speaking `rest-json`.
pub fn athena_at(endpoint: &str, secret: &str) -> aws_sdk_athena::Client {
    let conf = aws_sdk_athena::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_athena::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(creds(secret))
        .interceptor(rest_json::RestJson)
        .build();
    aws_sdk_athena::Client::from_conf(conf)
}

/// A client of the shared endpoint speaking `awsJson1_1` (`X-Amz-Target`), as aws-sdk-athena
/// 1.128 and botocore up to 1.44.8 do.
pub fn athena_json() -> aws_sdk_athena::Client {
    let conf = aws_sdk_athena::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_athena::config::Region::new("us-east-1"))
        .endpoint_url(&shared().endpoint)
        .credentials_provider(creds("test"))
        .build();
    aws_sdk_athena::Client::from_conf(conf)
}

pub fn s3_at(endpoint: &str, secret: &str) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .credentials_provider(aws_sdk_s3::config::Credentials::new("test", secret, None, None, "tests"))
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

pub fn athena() -> aws_sdk_athena::Client {
    athena_at(&shared().endpoint, "test")
}

pub fn s3() -> aws_sdk_s3::Client {
    s3_at(&shared().endpoint, "test")
}

/// Polls until the query ends (deadline 60 s).
pub async fn wait(client: &aws_sdk_athena::Client, id: &str) -> QueryExecution {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let q = client.get_query_execution().query_execution_id(id).send().await.unwrap().query_execution.unwrap();
        let state = q.status().unwrap().state().unwrap().clone();
        if matches!(state, QueryExecutionState::Succeeded | QueryExecutionState::Failed | QueryExecutionState::Cancelled) {
            return q;
        }
        assert!(Instant::now() < deadline, "query {id} still {state:?} after 60 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn start(client: &aws_sdk_athena::Client, sql: &str) -> String {
    client.start_query_execution().query_string(sql).send().await.unwrap().query_execution_id.unwrap()
}

/// Runs a query to its end in workgroup `primary`.
pub async fn run(client: &aws_sdk_athena::Client, sql: &str) -> QueryExecution {
    let id = start(client, sql).await;
    wait(client, &id).await
}

/// Runs a query with its results under `s3://athena-results/<prefix>/`.
pub async fn run_at(client: &aws_sdk_athena::Client, sql: &str, prefix: &str) -> QueryExecution {
    let id = client
        .start_query_execution()
        .query_string(sql)
        .result_configuration(ResultConfiguration::builder().output_location(format!("s3://athena-results/{prefix}/")).build())
        .send()
        .await
        .unwrap()
        .query_execution_id
        .unwrap();
    wait(client, &id).await
}

pub fn state(q: &QueryExecution) -> QueryExecutionState {
    q.status().unwrap().state().unwrap().clone()
}

/// Bytes of an `s3://bucket/key` object.
pub async fn get_bytes(uri: &str) -> Vec<u8> {
    let (bucket, key) = uri.strip_prefix("s3://").unwrap().split_once('/').unwrap();
    let out = s3().get_object().bucket(bucket).key(key).send().await.unwrap();
    out.body.collect().await.unwrap().into_bytes().to_vec()
}

/// Adds `"EngineVersion": <name>` to each StartQueryExecution body before it is signed: the SDK
/// does not model the member yet (athena-duckdb-engine.md).
#[derive(Debug)]
pub struct WithEngineVersion(pub String);

impl aws_sdk_athena::config::Intercept for WithEngineVersion {
    fn name(&self) -> &'static str {
        "WithEngineVersion"
    }

    fn modify_before_signing(
        &self,
        context: &mut aws_sdk_athena::config::interceptors::BeforeTransmitInterceptorContextMut<'_>,
        _components: &aws_sdk_athena::config::RuntimeComponents,
        _cfg: &mut aws_sdk_athena::config::ConfigBag,
    ) -> Result<(), aws_sdk_athena::error::BoxError> {
        let request = context.request_mut();
        if request.headers().get("x-amz-target") != Some("AmazonAthena.StartQueryExecution") {
            return Ok(());
        }
        let mut body: serde_json::Value = serde_json::from_slice(request.body().bytes().unwrap_or_default())?;
        body["EngineVersion"] = serde_json::Value::String(self.0.clone());
        let bytes = serde_json::to_vec(&body)?;
        request.headers_mut().insert("content-length", bytes.len().to_string());
        *request.body_mut() = bytes.into();
        Ok(())
    }
}

/// A client of the shared endpoint whose queries ask for engine `name`.
pub fn athena_with_engine(name: &str) -> aws_sdk_athena::Client {
    let conf = aws_sdk_athena::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_athena::config::Region::new("us-east-1"))
        .endpoint_url(&shared().endpoint)
        .credentials_provider(creds("test"))
        .interceptor(WithEngineVersion(name.to_owned()))
        .interceptor(rest_json::RestJson)
        .build();
    aws_sdk_athena::Client::from_conf(conf)
}
