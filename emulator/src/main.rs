//! `athena-emulator`: serves the local Athena + S3 endpoint until SIGINT/SIGTERM.

use clap::Parser;

/// A local Amazon Athena + S3 compatible endpoint on one port.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    serve: athena_emulator::cli::ServeArgs,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).with_writer(std::io::stderr).init();
    match athena_emulator::cli::serve(Args::parse().serve).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("athena-emulator: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
