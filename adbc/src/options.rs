//! Options: the library's one table of settings ([`athena_arrow::config::options::SETTINGS`]) as
//! ADBC keys (`adbc.athena.<key>`) and as the query keys of an `athena://?k=v` URI. Values are
//! checked when set (the library's parser) and applied to an
//! [`athena_arrow::ConnectionBuilder`] over what the environment gives.

use std::collections::BTreeMap;

use adbc_core::error::{Error, Result, Status};
use adbc_core::options::OptionValue;
use athena_arrow::ConnectionBuilder;
use athena_arrow::config::options::{OptionError, ParsedOption, SETTINGS, Setting, parse_option};

/// Prefix of this driver's option keys.
pub const PREFIX: &str = "adbc.athena.";

/// The readable statement option holding the QueryExecutionId of its last query.
pub const LAST_QUERY_ID: &str = "last_query_id";

/// The setting an option key names (with or without [`PREFIX`]; ADBC's `username` and
/// `password` are the static keys), or `uri`.
pub fn known(key: &str) -> Option<&'static str> {
    let short = key.strip_prefix(PREFIX).unwrap_or(key);
    match short {
        "uri" => Some("uri"),
        "username" => Some("access_key_id"),
        "password" => Some("secret_access_key"),
        _ => SETTINGS.iter().map(|s| s.key).find(|k| *k == short),
    }
}

pub fn invalid(message: impl Into<String>) -> Error {
    Error::with_message_and_status(message, Status::InvalidArguments)
}

/// An option this driver does not have: setting it is `NOT_IMPLEMENTED` (ADBC's status for an
/// unknown option), naming the key and the known ones.
pub fn unknown(key: &str) -> Error {
    let keys: Vec<String> = SETTINGS.iter().map(|s| format!("{PREFIX}{}", s.key)).collect();
    Error::with_message_and_status(format!("unknown Athena option {key:?}; known: uri, {}", keys.join(", ")), Status::NotImplemented)
}

/// An option's value parsed by the library, once, when it is set; its error an ADBC error
/// naming the full key.
pub fn parsed(key: &str, value: &str) -> Result<ParsedOption> {
    parse_option(key, value).map_err(|e| match e {
        OptionError::Unknown { .. } => unknown(&format!("{PREFIX}{key}")),
        other => invalid(format!("{PREFIX}{}", other.to_string().trim_start_matches("option "))),
    })
}

/// An option as it was set: its text (what reading it back gives) and its value, parsed then.
#[derive(Debug, Clone)]
pub struct SetOption {
    pub text: String,
    pub value: ParsedOption,
}

impl SetOption {
    pub fn new(key: &str, text: String) -> Result<Self> {
        Ok(Self { value: parsed(key, &text)?, text })
    }

    pub fn setting(&self) -> &'static Setting {
        self.value.setting()
    }
}

/// The options of `athena://?k=v&...` (keys without the prefix, values percent-decoded and
/// checked).
pub fn parse_uri(uri: &str) -> Result<BTreeMap<String, SetOption>> {
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
        let value = decode(v)?;
        out.insert(key.to_owned(), SetOption::new(key, value)?);
    }
    Ok(out)
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

/// `true`/`false` of ADBC's own boolean options.
pub fn boolean(key: &str, v: &str) -> Result<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(format!("option {key} must be true or false, got {v:?}"))),
    }
}

/// The builder for `options` (short keys, parsed when set) over the environment's settings.
pub fn builder(options: &BTreeMap<String, SetOption>) -> ConnectionBuilder {
    options.values().fold(ConnectionBuilder::from_env(), |b, o| b.with_parsed_option(o.value.clone()))
}

/// The README's table of options, from [`SETTINGS`].
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| key (`adbc.athena.<key>`; URI `athena://?<key>=`) | takes | default | environment | PyAthena keyword | per query | meaning |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for s in SETTINGS {
        let or_none = |v: Option<&str>| v.map_or_else(String::new, |v| format!("`{v}`"));
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {}{} |\n",
            s.key,
            s.kind.name(),
            s.default,
            or_none(s.env),
            or_none(s.pyathena),
            if s.per_query { "yes" } else { "" },
            s.meaning,
            if s.secret { " (never read back)" } else { "" },
        ));
    }
    out
}

/// The settings as the Python package reads them (`adbc_driver_athena/settings.json`).
pub fn settings_json() -> String {
    let settings: Vec<serde_json::Value> = SETTINGS
        .iter()
        .map(|s| {
            let kind = match s.kind {
                athena_arrow::config::options::ValueKind::Text => "text",
                athena_arrow::config::options::ValueKind::Flag => "flag",
                athena_arrow::config::options::ValueKind::Count => "count",
                athena_arrow::config::options::ValueKind::Seconds => "seconds",
                athena_arrow::config::options::ValueKind::Choice(_) => "choice",
                athena_arrow::config::options::ValueKind::Exact(_) => "exact",
            };
            let values = match s.kind {
                athena_arrow::config::options::ValueKind::Choice(v) | athena_arrow::config::options::ValueKind::Exact(v) => Some(v),
                _ => None,
            };
            serde_json::json!({
                "key": s.key,
                "option": format!("{PREFIX}{}", s.key),
                "kind": kind,
                "values": values,
                "pyathena": s.pyathena,
                "env": s.env,
                "default": s.default,
                "per_query": s.per_query,
                "secret": s.secret,
                "meaning": s.meaning,
            })
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&serde_json::json!({
        "generated_by": "cargo test -p adbc-driver-athena --lib generated (UPDATE_GENERATED=1 rewrites it)",
        "prefix": PREFIX,
        "last_query_id": format!("{PREFIX}{LAST_QUERY_ID}"),
        "settings": settings,
    }))
    .expect("serialisable");
    text.push('\n');
    text
}

pub(crate) fn text(key: &str, value: OptionValue) -> Result<String> {
    match value {
        OptionValue::String(s) => Ok(s),
        OptionValue::Int(i) => Ok(i.to_string()),
        OptionValue::Double(d) => Ok(d.to_string()),
        OptionValue::Bytes(_) => Err(invalid(format!("option {key} takes text, not bytes"))),
        _ => Err(invalid(format!("option {key}: unsupported value kind"))),
    }
}

pub(crate) fn not_found(key: &str) -> Error {
    Error::with_message_and_status(format!("option {key} is not set or not readable"), Status::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_form() {
        let o = parse_uri("athena://?region=us-east-1&s3_staging_dir=s3%3A%2F%2Fb%2Fp%2F&work_group=wg").unwrap();
        assert_eq!(o["region"].text, "us-east-1");
        assert_eq!(o["s3_staging_dir"].text, "s3://b/p/");
        assert_eq!(o["work_group"].text, "wg");
        assert!(parse_uri("athena://").unwrap().is_empty());
        assert_eq!(parse_uri("postgres://x").unwrap_err().status, Status::InvalidArguments);
        assert_eq!(parse_uri("athena://host?region=x").unwrap_err().status, Status::InvalidArguments);
        let e = parse_uri("athena://?nope=1").unwrap_err();
        assert_eq!(e.status, Status::NotImplemented);
        assert!(e.message.starts_with("unknown Athena option \"nope\"; known: uri, adbc.athena.region, "), "{}", e.message);
        assert_eq!(parse_uri("athena://?region").unwrap_err().status, Status::InvalidArguments);
        let e = parse_uri("athena://?unload=maybe").unwrap_err();
        assert_eq!((e.status, e.message.as_str()), (Status::InvalidArguments, "adbc.athena.unload takes true or false, got \"maybe\""));
    }

    /// The README's options table and the Python package's settings file are this table's:
    /// `UPDATE_GENERATED=1` rewrites them, and without it they must be up to date.
    #[test]
    fn generated() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let update = std::env::var_os("UPDATE_GENERATED").is_some();
        let json_path = root.join("python/adbc_driver_athena/settings.json");
        let json = settings_json();
        if update {
            std::fs::write(&json_path, &json).unwrap();
        }
        assert_eq!(std::fs::read_to_string(&json_path).unwrap(), json, "run with UPDATE_GENERATED=1 to rewrite {}", json_path.display());
        let readme_path = root.join("README.md");
        let readme = std::fs::read_to_string(&readme_path).unwrap();
        let (begin, end) = ("<!-- options table: generated from SETTINGS -->\n", "<!-- end of options table -->");
        let start = readme.find(begin).expect("README marks its options table") + begin.len();
        let stop = start + readme[start..].find(end).expect("README ends its options table");
        let table = markdown_table();
        if update && readme[start..stop] != table {
            std::fs::write(&readme_path, format!("{}{table}{}", &readme[..start], &readme[stop..])).unwrap();
            return;
        }
        assert_eq!(&readme[start..stop], table, "run with UPDATE_GENERATED=1 to rewrite README.md's options table");
    }
}
