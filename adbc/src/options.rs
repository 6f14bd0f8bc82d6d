//! Database options: the `uri` (`athena://?region=..&s3_staging_dir=..`) and one key per
//! connection setting that makes sense as text, applied to an [`athena_arrow::ConnectionBuilder`]
//! over what the environment gives (as [`athena_arrow::ConnectionBuilder::from_env`] reads it).

use std::collections::BTreeMap;
use std::time::Duration;

use adbc_core::error::{Error, Result, Status};
use athena_arrow::{ConnectionBuilder, PollConfig};

/// Prefix of this driver's option keys.
pub const PREFIX: &str = "adbc.athena.";

/// Every database option key (after [`PREFIX`]), with the PyAthena keyword it mirrors.
pub const KEYS: &[(&str, &str, &str)] = &[
    ("region", "region_name", "AWS region of Athena and the result bucket"),
    ("s3_staging_dir", "s3_staging_dir", "where Athena writes results (s3://bucket/prefix/)"),
    ("work_group", "work_group", "Athena workgroup"),
    ("schema", "schema_name", "default database of unqualified table names"),
    ("catalog", "catalog_name", "data catalog"),
    ("endpoint_url", "endpoint_url", "Athena, S3 and STS endpoint (a local endpoint, a VPC endpoint)"),
    ("unload", "unload", "read SELECT results through UNLOAD to Parquet (true/false)"),
    ("result_reuse_minutes", "result_reuse_minutes", "reuse a result of the same query up to this age"),
    ("query_timeout_seconds", "", "stop queries running longer than this"),
    ("poll_interval_ms", "poll_interval", "longest wait between status polls (ms)"),
    ("poll_initial_ms", "", "first wait between status polls (ms)"),
    ("access_key_id", "aws_access_key_id", "static credentials: access key id (also ADBC `username`)"),
    ("secret_access_key", "aws_secret_access_key", "static credentials: secret key (also ADBC `password`)"),
    ("session_token", "aws_session_token", "static credentials: session token"),
    ("profile", "profile_name", "shared config profile"),
    ("role_arn", "role_arn", "role assumed through STS"),
    ("role_session_name", "role_session_name", "session name of the assumed role"),
    ("external_id", "external_id", "external id of the assumed role"),
    ("duration_seconds", "duration_seconds", "duration of the assumed role's session"),
];

/// The option's key without the prefix, when it is one of ours (`uri` too).
pub fn known(key: &str) -> Option<&'static str> {
    let short = key.strip_prefix(PREFIX).unwrap_or(key);
    match short {
        "uri" => Some("uri"),
        "username" => Some("access_key_id"),
        "password" => Some("secret_access_key"),
        _ => KEYS.iter().map(|(k, _, _)| *k).find(|k| *k == short),
    }
}

pub fn invalid(message: impl Into<String>) -> Error {
    Error::with_message_and_status(message, Status::InvalidArguments)
}

/// The options of `athena://?k=v&...` (keys without the prefix, values percent-decoded).
pub fn parse_uri(uri: &str) -> Result<BTreeMap<String, String>> {
    let rest = uri.strip_prefix("athena://").ok_or_else(|| {
        invalid(format!("ADBC uri {uri:?} must start with athena:// (e.g. athena://?region=us-east-1&s3_staging_dir=s3://b/p/)"))
    })?;
    let (host, query) = rest.split_once('?').unwrap_or((rest, ""));
    if !host.is_empty() {
        return Err(invalid(format!("ADBC uri {uri:?}: put settings after `?` (athena://?region=..), not a host ({host:?})")));
    }
    let mut out = BTreeMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').ok_or_else(|| invalid(format!("ADBC uri parameter {pair:?} has no `=`")))?;
        let key = known(&decode(k)?).filter(|k| *k != "uri").ok_or_else(|| unknown(k))?;
        out.insert(key.to_owned(), decode(v)?);
    }
    Ok(out)
}

pub fn unknown(key: &str) -> Error {
    let keys: Vec<String> = KEYS.iter().map(|(k, _, _)| format!("{PREFIX}{k}")).collect();
    Error::with_message_and_status(format!("unknown Athena option {key:?}; known: uri, {}", keys.join(", ")), Status::NotFound)
}

/// Percent-decoding (`%2F` -> `/`, `+` stays `+`).
fn decode(s: &str) -> Result<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok());
            out.push(hex.ok_or_else(|| invalid(format!("bad percent-escape in {s:?}")))?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| invalid(format!("{s:?} is not UTF-8 once decoded")))
}

fn number<T: std::str::FromStr>(key: &str, v: &str) -> Result<T> {
    v.trim().parse().map_err(|_| invalid(format!("option {PREFIX}{key} must be a number, got {v:?}")))
}

pub fn boolean(key: &str, v: &str) -> Result<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(invalid(format!("option {key} must be true or false, got {v:?}"))),
    }
}

/// The builder for `options` (short keys) over the environment's settings.
pub fn builder(options: &BTreeMap<String, String>) -> Result<ConnectionBuilder> {
    let mut b = ConnectionBuilder::from_env();
    let (mut key_id, mut secret) = (None, None);
    let mut poll = PollConfig::default();
    for (k, v) in options {
        b = match k.as_str() {
            "region" => b.with_region(v),
            "s3_staging_dir" => b.with_s3_staging_dir(v),
            "work_group" => b.with_work_group(v),
            "schema" => b.with_schema(v),
            "catalog" => b.with_catalog(v),
            "endpoint_url" => b.with_endpoint_url(v),
            "unload" => b.with_unload(boolean(&format!("{PREFIX}unload"), v)?),
            "result_reuse_minutes" => b.with_result_reuse(Duration::from_secs(number::<u64>(k, v)? * 60)),
            "query_timeout_seconds" => b.with_query_timeout(Duration::from_secs_f64(number(k, v)?)),
            "poll_interval_ms" => {
                poll.max = Duration::from_millis(number(k, v)?);
                poll.cap = poll.cap.min(poll.max);
                b
            }
            "poll_initial_ms" => {
                poll.initial = Duration::from_millis(number(k, v)?);
                b
            }
            "access_key_id" => {
                key_id = Some(v.clone());
                b
            }
            "secret_access_key" => {
                secret = Some(v.clone());
                b
            }
            "session_token" => b.with_session_token(v),
            "profile" => b.with_profile(v),
            "role_arn" => b.with_role_arn(v),
            "role_session_name" => b.with_role_session_name(v),
            "external_id" => b.with_external_id(v),
            "duration_seconds" => b.with_duration_seconds(number(k, v)?),
            other => return Err(unknown(other)),
        };
    }
    match (key_id, secret) {
        (Some(id), Some(secret)) => b = b.with_access_key(id, secret),
        (None, None) => {}
        _ => return Err(invalid("give both the access key id and the secret access key (or neither)")),
    }
    Ok(b.with_poll(poll))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_form() {
        let o = parse_uri("athena://?region=us-east-1&s3_staging_dir=s3%3A%2F%2Fb%2Fp%2F&work_group=wg").unwrap();
        assert_eq!(o["region"], "us-east-1");
        assert_eq!(o["s3_staging_dir"], "s3://b/p/");
        assert_eq!(o["work_group"], "wg");
        assert!(parse_uri("athena://").unwrap().is_empty());
        assert_eq!(parse_uri("postgres://x").unwrap_err().status, Status::InvalidArguments);
        assert_eq!(parse_uri("athena://host?region=x").unwrap_err().status, Status::InvalidArguments);
        assert_eq!(parse_uri("athena://?nope=1").unwrap_err().status, Status::NotFound);
        assert_eq!(parse_uri("athena://?region").unwrap_err().status, Status::InvalidArguments);
    }

    #[test]
    fn values_are_checked() {
        let opts = |k: &str, v: &str| BTreeMap::from([(k.to_owned(), v.to_owned())]);
        assert!(builder(&opts("unload", "maybe")).is_err());
        assert!(builder(&opts("result_reuse_minutes", "x")).is_err());
        assert!(builder(&opts("access_key_id", "a")).is_err(), "a key id without its secret");
        assert!(builder(&opts("unload", "true")).is_ok());
    }
}
