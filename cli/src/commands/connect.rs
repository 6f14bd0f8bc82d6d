//! The connection a command runs on: the environment, the global flags, or the embedded endpoint
//! (`--local`), which lives as long as the returned handle.

use athena_arrow::{Connection, ConnectionBuilder};

use crate::args::ConnArgs;
use crate::failure::{Failure, exit};

pub async fn connection_builder(args: &ConnArgs) -> Result<(ConnectionBuilder, Option<athena_emulator::Emulator>), Failure> {
    let mut builder = Connection::builder().with_env();
    let mut local = None;
    if args.local {
        if args.endpoint_url.is_some() {
            return Err(Failure::usage("--local and --endpoint-url exclude each other"));
        }
        let emulator = athena_emulator::Emulator::builder().start().await.map_err(|e| Failure {
            code: exit::CONNECTION,
            message: format!("cannot start the local endpoint: {}", athena_arrow::message_with_causes(&e)),
        })?;
        builder = builder
            .with_endpoint_url(emulator.endpoint())
            .with_region(emulator.region())
            .with_access_key(emulator.access_key_id(), emulator.secret_access_key());
        // A workgroup named on the command line keeps its own result storage (the `duckdb`
        // workgroup's managed results are read as an Arrow stream).
        if args.work_group.is_none() {
            builder = builder.with_s3_staging_dir("s3://athena-results/cli/");
        }
        local = Some(emulator);
    }
    if let Some(url) = &args.endpoint_url {
        builder = builder.with_endpoint_url(url);
    }
    if let Some(region) = &args.region {
        builder = builder.with_region(region);
    }
    if let Some(profile) = &args.profile {
        builder = builder.with_profile(profile);
    }
    if let Some(wg) = &args.work_group {
        builder = builder.with_work_group(wg);
    }
    if let Some(engine) = &args.engine {
        builder = builder.with_option("engine_version", engine);
    }
    if let Some(dir) = &args.s3_staging_dir {
        builder = builder.with_s3_staging_dir(dir);
    }
    if let Some(db) = &args.database {
        builder = builder.with_schema(db);
    }
    if let Some(role) = &args.role_arn {
        builder = builder.with_role_arn(role);
    }
    if let Some(token) = &args.web_identity_token {
        if local.is_some() {
            return Err(Failure::usage("--local signs with the embedded endpoint's keys: use --endpoint-url for a web identity token"));
        }
        builder = builder.with_option("web_identity_token", token);
    }
    for option in &args.options {
        let Some((key, value)) = option.split_once('=') else {
            return Err(Failure::usage(format!("--option takes KEY=VALUE, got {option:?}")));
        };
        let parsed = athena_arrow::config::options::parse_option(key.trim(), value)
            .map_err(|e| Failure::usage(format!("--option {}: {e}", key.trim())))?;
        builder = builder.with_parsed_option(parsed);
    }
    Ok((builder, local))
}
