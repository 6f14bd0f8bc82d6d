//! Shared by the examples: connect to `AWS_ENDPOINT_URL` when it is set (real AWS or an endpoint
//! you started), otherwise start the local Athena-compatible endpoint in-process with the fixture
//! tables, so that every example runs on a machine without AWS.

#![allow(dead_code)]

use athena_arrow::ConnectionBuilder;

pub struct Endpoint {
    pub builder: ConnectionBuilder,
    _local: Option<athena_emulator::Emulator>,
}

pub async fn endpoint() -> Endpoint {
    if std::env::var_os("AWS_ENDPOINT_URL").is_some() {
        return Endpoint { builder: ConnectionBuilder::from_env(), _local: None };
    }
    let local = athena_emulator::Emulator::builder().start().await.expect("local endpoint starts");
    let builder = athena_arrow::Connection::builder()
        .with_endpoint_url(local.endpoint())
        .with_region(local.region())
        .with_access_key(local.access_key_id(), local.secret_access_key())
        .with_s3_staging_dir("s3://athena-results/examples/");
    Endpoint { builder, _local: Some(local) }
}
