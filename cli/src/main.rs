//! `athena-arrow`: run Athena queries and export their results (table, CSV, TSV, JSON, NDJSON,
//! Parquet, Arrow IPC), list databases and tables, describe a table, or serve the local endpoint.
//!
//! Exit codes (from the library's error kinds, `failure.rs`): 0 success; 2 usage errors (bad
//! flags, parameters or settings); 3 the query was refused, failed or timed out; 4 connection,
//! credential, throttling or storage failures, and results that cannot be read or disagree with
//! Athena's count; 1 anything else (writing the output); 130 interrupted (Ctrl-C), 143 terminated
//! (SIGTERM), 129 hung up (SIGHUP): each of the three stops the server-side query first.

mod args;
mod commands;
mod failure;
mod output;
mod progress;

use clap::Parser;

use crate::args::{Cli, Command, ConnArgs};
use crate::failure::{Failure, exit};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let quiet = cli.quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr());
    let result = match cli.command {
        Command::Emulator(args) => athena_emulator::cli::serve(args).await.map_err(|e| Failure { code: exit::FAILURE, message: e }),
        command => {
            // The library's warnings (a CSE_KMS result read through GetQueryResults, say) on
            // stderr, without the AWS SDK's; `ATHENA_ARROW_LOG` takes a filter (`debug`,
            // `athena_arrow=info`, ...), `-q` silences them.
            let default = if cli.quiet { "off" } else { "athena_arrow=warn" };
            let filter = tracing_subscriber::EnvFilter::try_from_env("ATHENA_ARROW_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
            let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
            let _ = tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .with_env_filter(filter)
                .with_target(false)
                .without_time()
                .with_ansi(ansi)
                .try_init();
            run(command, cli.conn, cli.quiet, quiet).await
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("athena-arrow: {}", f.message);
            std::process::ExitCode::from(f.code)
        }
    }
}

async fn run(command: Command, args: ConnArgs, no_summary: bool, no_progress: bool) -> Result<(), Failure> {
    // The embedded endpoint lives until the command is done.
    let (builder, _local) = commands::connect::connection_builder(&args).await?;
    let conn = builder.build().await?;
    match command {
        Command::Query(q) => commands::query::query(&conn, q, no_summary, no_progress).await,
        Command::Databases => commands::catalog::databases(&conn).await,
        Command::Tables { database } => commands::catalog::tables(&conn, database.as_deref().or(args.database.as_deref())).await,
        Command::Describe { table } => commands::catalog::describe(&conn, &table, args.database.as_deref()).await,
        Command::Emulator(_) => unreachable!("served before connecting"),
    }
}
