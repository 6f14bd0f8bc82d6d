//! The command line: global connection flags, the commands and their arguments (clap), and
//! the parsers of durations and typed parameter values.

use std::path::PathBuf;
use std::time::Duration;

use athena_arrow::Param;
use clap::{Args, Parser, Subcommand};

use crate::output::Format;

#[derive(Debug, Parser)]
#[command(name = "athena-arrow", version, about = "Amazon Athena queries and exports through Arrow")]
pub struct Cli {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// No progress and no summary on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct ConnArgs {
    /// Start the local endpoint in-process with the fixture tables and use it.
    #[arg(long, global = true)]
    pub local: bool,
    /// Athena, S3 and STS endpoint (default: AWS; env AWS_ENDPOINT_URL).
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// AWS region (default: the AWS config chain).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Profile of the shared AWS config and credentials files.
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// Workgroup (env AWS_ATHENA_WORK_GROUP).
    #[arg(long, global = true)]
    pub work_group: Option<String>,
    /// Engine the queries run on: `DuckDB` or `Athena engine version 3` (default: the
    /// workgroup's; env AWS_ATHENA_ENGINE_VERSION).
    #[arg(long, global = true, value_name = "ENGINE")]
    pub engine: Option<String>,
    /// Result location, s3://bucket/prefix/ (env AWS_ATHENA_S3_STAGING_DIR).
    #[arg(long, global = true, value_name = "S3_URI")]
    pub s3_staging_dir: Option<String>,
    /// Database the query runs in (default: `default`).
    #[arg(long, global = true)]
    pub database: Option<String>,
    /// Role to assume (STS AssumeRole with the other credentials, or AssumeRoleWithWebIdentity
    /// with --web-identity-token).
    #[arg(long, global = true, value_name = "ARN")]
    pub role_arn: Option<String>,
    /// Sign in with a JWT of your identity provider: file:PATH or env:VARIABLE (read again at
    /// each refresh; the token itself also works, but shows in the process list).
    #[arg(long, global = true, value_name = "TOKEN")]
    pub web_identity_token: Option<String>,
    /// Any setting of the option table (see the README): KEY=VALUE, repeatable.
    #[arg(long = "option", global = true, value_name = "KEY=VALUE")]
    pub options: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a query and write its result.
    Query(QueryArgs),
    /// List the databases of the catalog.
    Databases,
    /// List the tables of a database.
    Tables {
        /// Database (default: --database, or `default`).
        database: Option<String>,
    },
    /// Show a table's columns and partition keys.
    Describe {
        /// `table` or `database.table`.
        table: String,
    },
    /// Serve the local Athena + S3 endpoint (the flags of the athena-emulator binary).
    Emulator(athena_emulator::cli::ServeArgs),
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The SQL text (or -f FILE; `-` reads standard input).
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    pub sql: Option<String>,
    /// Read the SQL from FILE (`-`: standard input).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Read SELECT/WITH results through UNLOAD to Parquet.
    #[arg(long)]
    pub unload: bool,
    /// A pyformat parameter for %(NAME)s: NAME=VALUE. VALUE is typed: integers, decimals
    /// (1.5), true/false and null as such, 'quoted' as a string, anything else a string.
    #[arg(long = "param", value_name = "NAME=VALUE", conflicts_with = "qmark")]
    pub params: Vec<String>,
    /// A positional parameter for a `?` (Athena's execution parameters), typed as --param's
    /// values; repeat for each `?`.
    #[arg(long = "qmark", value_name = "VALUE")]
    pub qmark: Vec<String>,
    /// Reuse a previous identical query's result up to this many minutes old (1 to 10080,
    /// Athena's limit).
    #[arg(long, value_name = "MINUTES", value_parser = clap::value_parser!(u64).range(1..=10_080))]
    pub reuse_minutes: Option<u64>,
    /// Stop the query after this long: seconds, or with a unit (500ms, 90s, 10m, 1h).
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Option<Duration>,
    /// Output format (default: table on a terminal, CSV otherwise).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write to FILE instead of standard output. The export goes to a temporary file beside
    /// FILE, renamed to FILE only once complete: a failed or interrupted run leaves FILE as it
    /// was (an earlier export included) and no partial file behind.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = s.find(|c: char| c.is_ascii_alphabetic()).map_or((s, "s"), |i| (&s[..i], &s[i..]));
    let value: f64 = number.trim().parse().map_err(|_| format!("{s:?} is not a duration (e.g. 30, 90s, 500ms, 10m, 1h)"))?;
    let secs = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("unknown unit {unit:?} in {s:?} (ms, s, m, h)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| format!("{s:?}: {e}"))
}

/// A parameter value typed from its text (see `--param`).
pub fn parse_param(text: &str) -> Param {
    let t = text.trim();
    if let Some(inner) = t.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        return Param::String(inner.to_owned());
    }
    if t.eq_ignore_ascii_case("null") {
        return Param::Null;
    }
    if let Ok(b) = t.parse::<bool>() {
        return Param::Bool(b);
    }
    if let Ok(i) = t.parse::<i64>() {
        return Param::Int(i);
    }
    let decimal = t.strip_prefix('-').unwrap_or(t);
    if decimal
        .split_once('.')
        .is_some_and(|(i, f)| !i.is_empty() && !f.is_empty() && (i.to_owned() + f).bytes().all(|b| b.is_ascii_digit()))
    {
        return Param::Decimal(t.to_owned());
    }
    Param::String(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_typed_from_their_text() {
        assert_eq!(parse_param("10"), Param::Int(10));
        assert_eq!(parse_param("-1.50"), Param::Decimal("-1.50".into()));
        assert_eq!(parse_param("true"), Param::Bool(true));
        assert_eq!(parse_param("NULL"), Param::Null);
        assert_eq!(parse_param("'10'"), Param::String("10".into()));
        assert_eq!(parse_param("a b"), Param::String("a b".into()));
        assert_eq!(parse_param("1.2.3"), Param::String("1.2.3".into()));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert!(parse_duration("5 parsecs").is_err());
    }
}
