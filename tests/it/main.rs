//! Integration tests of the client against the local endpoint, started once for the binary.

mod credentials;
#[cfg(feature = "datafusion")]
mod datafusion;
mod duckdb;
mod encryption;
mod execute;
mod faults;
mod identity_center;
mod layout;
mod params;
mod partitions;
mod results;
mod unload;
mod web_identity;

use std::sync::OnceLock;

use athena_arrow::{Connection, ConnectionBuilder};
use athena_emulator::Emulator;

/// The shared endpoint: started once on its own runtime so that it outlives each test's runtime.
pub struct Shared {
    pub endpoint: String,
    emulator: Option<Emulator>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Shared {
    /// Also from inside a test's runtime, where a runtime may not be dropped by blocking.
    fn drop(&mut self) {
        drop(self.emulator.take());
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Shared {
    /// The endpoint's data directory (its state files, e.g. managed results).
    pub fn data_dir(&self) -> std::path::PathBuf {
        self.emulator.as_ref().expect("running").data_dir().to_owned()
    }

    /// S3 requests the endpoint has received so far.
    pub fn s3_requests(&self) -> athena_emulator::S3Requests {
        self.emulator.as_ref().expect("running").s3_requests()
    }
}

/// The data directory of an endpoint kept for the whole test binary: this process's own under
/// cargo's temporary directory for tests ([`athena_emulator::process_data_dir`]).
pub fn kept_data_dir(name: &str) -> std::path::PathBuf {
    athena_emulator::process_data_dir(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")), name)
}

pub fn start_emulator(builder: athena_emulator::EmulatorBuilder) -> Shared {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let emulator = runtime.block_on(builder.start()).expect("emulator starts");
        Shared { endpoint: emulator.endpoint(), emulator: Some(emulator), runtime: Some(runtime) }
    })
    .join()
    .expect("emulator thread")
}

/// The role the shared endpoint lets [`issuer`]'s tokens assume.
pub const WEB_IDENTITY_ROLE: &str = "arn:aws:iam::000000000000:role/web-analyst";
/// The audience (client id) the shared endpoint accepts from [`issuer`].
pub const WEB_IDENTITY_AUDIENCE: &str = "athena-arrow-tests";

/// The Identity Center application the shared endpoint serves (it trusts [`issuer`] for
/// [`WEB_IDENTITY_AUDIENCE`]).
pub const IDC_APPLICATION: &str = "arn:aws:sso::000000000000:application/ssoins-local/apl-athena-arrow-tests";
/// A workgroup enabled for IAM Identity Center.
pub const IDC_WORKGROUP: &str = "identity-center";

/// The identity provider the shared endpoint trusts (a key made for this test binary).
pub fn issuer() -> &'static athena_emulator::LocalIssuer {
    static ISSUER: OnceLock<athena_emulator::LocalIssuer> = OnceLock::new();
    ISSUER.get_or_init(|| athena_emulator::LocalIssuer::new("https://idp.athena-arrow.test"))
}

pub fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        start_emulator(
            Emulator::builder()
                .with_data_dir(kept_data_dir("it-shared-endpoint"))
                .with_oidc_provider(issuer().provider(&[WEB_IDENTITY_AUDIENCE], &[WEB_IDENTITY_ROLE]))
                .with_identity_center_application(athena_emulator::IdcApplication {
                    arn: IDC_APPLICATION.into(),
                    issuer: "https://idp.athena-arrow.test".into(),
                    audiences: vec![WEB_IDENTITY_AUDIENCE.into()],
                })
                .with_workgroup(athena_emulator::WorkGroup {
                    identity_center_instance_arn: Some("arn:aws:sso:::instance/ssoins-local".into()),
                    ..athena_emulator::WorkGroup::new(IDC_WORKGROUP, Some("s3://athena-results/identity-center/"))
                })
                .with_kms_key(
                    athena_emulator::KmsKey::new("0b0e5b1c-7d1f-4c55-9d1e-5a4cfa2b7e01")
                        .with_alias(encryption::OTHERS_KEY)
                        .with_principals(["arn:aws:iam::000000000000:user/someone-else"]),
                ),
        )
    })
}

/// A builder pointed at `endpoint` with the endpoint's default keys.
pub fn builder_at(endpoint: &str) -> ConnectionBuilder {
    Connection::builder().with_endpoint_url(endpoint).with_region("us-east-1").with_access_key("test", "test")
}

pub fn builder() -> ConnectionBuilder {
    builder_at(&shared().endpoint)
}

/// An S3 client for the shared endpoint with `conn`'s credentials (to damage result files).
pub fn s3_client(conn: &Connection) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(conn.sdk_config()).endpoint_url(&shared().endpoint).force_path_style(true).build(),
    )
}

/// How many data files Athena lists for UNLOAD query `query_id` (GetQueryResults DATA_MANIFEST).
pub async fn manifest_file_count(conn: &Connection, query_id: &str) -> u64 {
    let (mut files, mut token) = (0, None);
    loop {
        let out = conn
            .athena()
            .get_query_results()
            .query_execution_id(query_id)
            .query_result_type(aws_sdk_athena::types::QueryResultType::DataManifest)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        files += out.result_set().unwrap().rows().len() as u64;
        match out.next_token() {
            Some(t) => token = Some(t.to_owned()),
            None => return files,
        }
    }
}

pub async fn connect() -> Connection {
    builder().build().await.expect("connection builds")
}

/// A query that runs until it is stopped (a sum over 10^12 rows of cross join; a bare count(*)
/// would be answered from statistics).
pub const ENDLESS: &str = "SELECT sum(a.a + b.a + c.a) FROM many_rows a CROSS JOIN many_rows b CROSS JOIN many_rows c";
