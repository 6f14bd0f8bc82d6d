//! The SDK clients the endpoint's benches drive it with.

use athena_emulator::Emulator;

/// An S3 client (path-style) with the endpoint's keys.
pub fn s3_client(emulator: &Emulator) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_s3::config::Region::new(emulator.region().to_owned()))
        .endpoint_url(emulator.endpoint())
        .force_path_style(true)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            emulator.access_key_id(),
            emulator.secret_access_key(),
            None,
            None,
            "bench",
        ))
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// An Athena client with the endpoint's keys.
#[allow(dead_code)] // not every bench queries Athena
pub fn athena_client(emulator: &Emulator) -> aws_sdk_athena::Client {
    let conf = aws_sdk_athena::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_athena::config::Region::new(emulator.region().to_owned()))
        .endpoint_url(emulator.endpoint())
        .credentials_provider(aws_sdk_athena::config::Credentials::new(
            emulator.access_key_id(),
            emulator.secret_access_key(),
            None,
            None,
            "bench",
        ))
        .build();
    aws_sdk_athena::Client::from_conf(conf)
}
