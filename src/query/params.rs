//! Query parameters: typed values rendered as SQL literals, PyAthena's pyformat placeholders
//! (`%(name)s`, `%%`) and Athena's own qmark parameters (`?` bound by ExecutionParameters).

use chrono::{NaiveDate, NaiveDateTime, Timelike};

pub use crate::config::ParamStyle;
use crate::error::{Error, Result};

/// A parameter value, rendered as a SQL literal.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Param {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    /// Decimal text, e.g. `"0.10"`: rendered `DECIMAL '0.10'`.
    Decimal(String),
    String(String),
    Date(NaiveDate),
    Timestamp(NaiveDateTime),
    Bytes(Vec<u8>),
    /// Rendered `(a, b, ...)`, e.g. for `IN %(ids)s`.
    List(Vec<Param>),
    /// SQL text passed as is (PyAthena's qmark style sends its parameters verbatim). Never put
    /// untrusted input here.
    Literal(String),
}

macro_rules! from_int {
    ($($t:ty => $v:ident),*) => {$(
        impl From<$t> for Param {
            fn from(v: $t) -> Self {
                Param::$v(v.into())
            }
        }
    )*};
}
from_int!(i8 => Int, i16 => Int, i32 => Int, i64 => Int, u8 => UInt, u16 => UInt, u32 => UInt, u64 => UInt, f32 => Float, f64 => Float, bool => Bool);

impl From<&str> for Param {
    fn from(v: &str) -> Self {
        Param::String(v.to_owned())
    }
}
impl From<String> for Param {
    fn from(v: String) -> Self {
        Param::String(v)
    }
}
impl From<NaiveDate> for Param {
    fn from(v: NaiveDate) -> Self {
        Param::Date(v)
    }
}
impl From<NaiveDateTime> for Param {
    fn from(v: NaiveDateTime) -> Self {
        Param::Timestamp(v)
    }
}
impl From<&[u8]> for Param {
    fn from(v: &[u8]) -> Self {
        Param::Bytes(v.to_vec())
    }
}
impl<T: Into<Param>> From<Option<T>> for Param {
    fn from(v: Option<T>) -> Self {
        v.map_or(Param::Null, Into::into)
    }
}
impl<T: Into<Param>> From<Vec<T>> for Param {
    fn from(v: Vec<T>) -> Self {
        Param::List(v.into_iter().map(Into::into).collect())
    }
}

/// String escaping of a statement: Trino's `''` doubling, or Hive's backslashes for Hive DDL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Escape {
    Trino,
    Hive,
    /// DuckDB's literals (Athena's DuckDB engine): standard strings, `'\xNN'::BLOB` bytes,
    /// `'nan'::DOUBLE`, bare decimals.
    DuckDb,
}

impl Escape {
    /// The escaping of the statement `sql`, by its kind as Athena routes it: Hive DDL (parsed by
    /// Hive's grammar, where backslash escapes apply) is CREATE [EXTERNAL] TABLE with columns,
    /// CREATE/DROP DATABASE or SCHEMA, DROP TABLE, ALTER, MSCK, SHOW and DESCRIBE; everything
    /// else is Trino: queries, INSERT, UPDATE, DELETE, MERGE, UNLOAD, EXPLAIN, views and CREATE
    /// TABLE ... AS (CTAS). The kind is read from the statement's words outside literals,
    /// quoted names, comments and parentheses: a `STORED AS PARQUET` is no CTAS.
    pub(crate) fn for_statement(sql: &str) -> Self {
        let words = top_level_words(sql, 256);
        let word = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
        let hive = match word(0) {
            "ALTER" | "MSCK" | "SHOW" | "DESCRIBE" | "DESC" => true,
            "DROP" => matches!(word(1), "TABLE" | "DATABASE" | "SCHEMA"),
            "CREATE" => {
                let mut i = 1;
                if word(1) == "OR" && word(2) == "REPLACE" {
                    i = 3;
                }
                match word(i) {
                    "EXTERNAL" | "DATABASE" | "SCHEMA" => true,
                    // CTAS: an AS at the top level (not `STORED AS`) before the query.
                    "TABLE" => !words
                        .windows(3)
                        .any(|w| w[0] != "STORED" && w[1] == "AS" && matches!(w[2].as_str(), "SELECT" | "WITH" | "VALUES" | "TABLE" | "(")),
                    _ => false,
                }
            }
            _ => false,
        };
        if hive { Escape::Hive } else { Escape::Trino }
    }
}

/// The first `limit` words of `sql` in upper case, and `(` for each opening parenthesis, as they
/// stand outside string literals, quoted names (`"..."`, `` `...` ``), comments and parentheses.
fn top_level_words(sql: &str, limit: usize) -> Vec<String> {
    let b = sql.as_bytes();
    let (mut words, mut depth, mut i) = (Vec::new(), 0usize, 0usize);
    while i < b.len() && words.len() < limit {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => {
                // A quoted run; `''` inside a literal is a quote, and Hive's `\'` too.
                i += 1;
                while i < b.len() {
                    if b[i] == b'\\' && q == b'\'' {
                        i += 2;
                        continue;
                    }
                    if b[i] == q {
                        if b.get(i + 1) == Some(&q) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 2;
            }
            b'(' => {
                if depth == 0 {
                    words.push("(".to_owned());
                }
                depth += 1;
                i += 1;
            }
            b')' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            c if c.is_ascii_alphanumeric() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                if depth == 0 {
                    words.push(sql[start..i].to_ascii_uppercase());
                }
            }
            _ => i += 1,
        }
    }
    words
}

fn quote(s: &str, escape: Escape) -> String {
    match escape {
        Escape::Trino | Escape::DuckDb => format!("'{}'", s.replace('\'', "''")),
        Escape::Hive => {
            let mut out = String::with_capacity(s.len() + 2);
            out.push('\'');
            for c in s.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\'' => out.push_str("\\'"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c => out.push(c),
                }
            }
            out.push('\'');
            out
        }
    }
}

fn float_literal(f: f64, escape: Escape) -> String {
    if matches!(escape, Escape::DuckDb) && !f.is_finite() {
        let word = if f.is_nan() {
            "nan"
        } else if f < 0.0 {
            "-inf"
        } else {
            "inf"
        };
        return format!("'{word}'::DOUBLE");
    }
    if f.is_nan() {
        "CAST('NaN' AS DOUBLE)".into()
    } else if f.is_infinite() {
        format!("CAST('{}Infinity' AS DOUBLE)", if f < 0.0 { "-" } else { "" })
    } else {
        // `{:?}` keeps a fraction or exponent, so the literal is a DOUBLE, never an integer.
        let text = format!("{f:?}");
        if text.contains(['.', 'e', 'E']) { text } else { format!("{text}.0") }
    }
}

impl Param {
    /// The SQL literal of this value.
    pub(crate) fn to_sql(&self, escape: Escape) -> Result<String> {
        Ok(match self {
            Param::Null => "null".into(),
            Param::Bool(b) => b.to_string(),
            Param::Int(i) => i.to_string(),
            Param::UInt(u) => u.to_string(),
            Param::Float(f) => float_literal(*f, escape),
            Param::Decimal(d) => {
                let ok = !d.is_empty()
                    && d.trim_start_matches(['-', '+']).split_once('.').map_or(
                        d.trim_start_matches(['-', '+']).bytes().all(|b| b.is_ascii_digit()),
                        |(i, f)| {
                            (i.bytes().all(|b| b.is_ascii_digit()))
                                && f.bytes().all(|b| b.is_ascii_digit())
                                && !(i.is_empty() && f.is_empty())
                        },
                    );
                if !ok {
                    return Err(Error::parameter(format!("{d:?} is not a decimal number")));
                }
                match escape {
                    // DuckDB types a bare decimal literal DECIMAL(digits, fraction digits).
                    Escape::DuckDb => d.trim_start_matches('+').to_owned(),
                    _ => format!("DECIMAL '{d}'"),
                }
            }
            Param::String(s) => quote(s, escape),
            Param::Date(d) => format!("DATE '{}'", d.format("%Y-%m-%d")),
            Param::Timestamp(t) => {
                let nanos = t.nanosecond() % 1_000_000_000;
                let fraction = if nanos % 1_000_000 == 0 {
                    format!("{:03}", nanos / 1_000_000)
                } else if nanos % 1_000 == 0 {
                    format!("{:06}", nanos / 1_000)
                } else {
                    format!("{nanos:09}")
                };
                format!("TIMESTAMP '{}.{fraction}'", t.format("%Y-%m-%d %H:%M:%S"))
            }
            Param::Bytes(b) if matches!(escape, Escape::DuckDb) => {
                let escaped: String = b.iter().map(|x| format!("\\x{x:02X}")).collect();
                format!("'{escaped}'::BLOB")
            }
            Param::Bytes(b) => {
                let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
                format!("X'{hex}'")
            }
            Param::List(items) => {
                let parts = items.iter().map(|p| p.to_sql(escape)).collect::<Result<Vec<_>>>()?;
                format!("({})", parts.join(", "))
            }
            Param::Literal(s) => s.clone(),
        })
    }
}

/// Fills `%(name)s` placeholders of `sql` with the escaped literals of `params`; `%%` becomes `%`.
///
/// # Errors
/// [`Error::Parameter`] for a name without a value, a value whose name is not in the query, a
/// `%` followed by anything else, or an unterminated placeholder.
#[cfg(test)]
pub(crate) fn format_pyformat(sql: &str, params: &[(String, Param)]) -> Result<String> {
    format_pyformat_as(sql, params, Escape::for_statement(sql))
}

/// Fills `%(name)s` placeholders with the literals of `escape` (see [`Escape::for_statement`]).
pub(crate) fn format_pyformat_as(sql: &str, params: &[(String, Param)], escape: Escape) -> Result<String> {
    for (i, (name, _)) in params.iter().enumerate() {
        if params[..i].iter().any(|(n, _)| n == name) {
            return Err(Error::parameter(format!("parameter {name} is given more than once")));
        }
    }
    let mut used = vec![false; params.len()];
    let mut out = String::with_capacity(sql.len() + 16 * params.len());
    let mut rest = sql;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(r) = after.strip_prefix('%') {
            out.push('%');
            rest = r;
        } else if let Some(r) = after.strip_prefix('(') {
            let Some(end) = r.find(')') else {
                return Err(Error::parameter(format!("unterminated placeholder at byte {i}")));
            };
            let name = &r[..end];
            let Some(r) = r[end + 1..].strip_prefix('s') else {
                return Err(Error::parameter(format!("placeholder %({name}) must end with 's'")));
            };
            let Some(idx) = params.iter().position(|(n, _)| n == name) else {
                return Err(Error::parameter(format!("no value for placeholder %({name})s")));
            };
            used[idx] = true;
            out.push_str(&params[idx].1.to_sql(escape)?);
            rest = r;
        } else {
            let shown: String = after.chars().next().map(String::from).unwrap_or_default();
            return Err(Error::parameter(format!("unsupported format character {shown:?} after % at byte {i}: write %% for a literal %")));
        }
    }
    out.push_str(rest);
    let unused: Vec<&str> = params.iter().zip(&used).filter(|(_, u)| !**u).map(|((n, _), _)| n.as_str()).collect();
    if !unused.is_empty() {
        return Err(Error::parameter(format!("parameters not used by the query: {}", unused.join(", "))));
    }
    Ok(out)
}

/// ExecutionParameters of a qmark query: each value as one constant SQL literal of the engine
/// (Trino's, or DuckDB's with `escape` [`Escape::DuckDb`]).
pub(crate) fn qmark_literals(params: &[Param], escape: Escape) -> Result<Vec<String>> {
    params.iter().map(|p| p.to_sql(escape)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, v: impl Into<Param>) -> (String, Param) {
        (name.to_owned(), v.into())
    }

    #[test]
    fn literals_follow_pyathena() {
        let date = NaiveDate::from_ymd_opt(2017, 1, 1).unwrap();
        let ts = date.and_hms_milli_opt(12, 0, 0, 5).unwrap();
        let cases: Vec<(Param, &str)> = vec![
            (Param::Null, "null"),
            (true.into(), "true"),
            ((-5i32).into(), "-5"),
            (0.5f64.into(), "0.5"),
            (1e20f64.into(), "1e20"),
            (3.0f64.into(), "3.0"),
            (f64::NAN.into(), "CAST('NaN' AS DOUBLE)"),
            (Param::Decimal("0.10".into()), "DECIMAL '0.10'"),
            ("it's".into(), "'it''s'"),
            (date.into(), "DATE '2017-01-01'"),
            (ts.into(), "TIMESTAMP '2017-01-01 12:00:00.005'"),
            (Param::Bytes(vec![0x01, 0xab]), "X'01ab'"),
            (vec![1i64, 2].into(), "(1, 2)"),
            (Param::Literal("'a string'".into()), "'a string'"),
        ];
        for (param, want) in cases {
            assert_eq!(param.to_sql(Escape::Trino).unwrap(), want, "{param:?}");
        }
        assert_eq!(Param::from("a'b\\c\n").to_sql(Escape::Hive).unwrap(), "'a\\'b\\\\c\\n'");
        assert!(Param::Decimal("1e5".into()).to_sql(Escape::Trino).is_err());
    }

    #[test]
    fn pyformat_placeholders() {
        let sql = "SELECT * FROM t WHERE s = %(s)s OR s LIKE 'a%%' OR n IN %(n)s";
        let out = format_pyformat(sql, &[p("s", "x'y"), p("n", vec![1, 2])]).unwrap();
        assert_eq!(out, "SELECT * FROM t WHERE s = 'x''y' OR s LIKE 'a%' OR n IN (1, 2)");
        assert!(matches!(format_pyformat("SELECT %(a)s", &[]), Err(Error::Parameter { .. })));
        let unused = format_pyformat("SELECT %(a)s", &[p("a", 1), p("b", 2)]).unwrap_err();
        assert!(unused.to_string().contains("not used by the query: b"), "{unused}");
        assert!(format_pyformat("SELECT 'a%' , %(a)s", &[p("a", 1)]).is_err());
        assert!(format_pyformat("SELECT %(a", &[p("a", 1)]).is_err());
        let twice = format_pyformat("SELECT %(a)s", &[p("a", 1), p("a", 2)]).unwrap_err();
        assert_eq!(twice.to_string(), "invalid query parameters: parameter a is given more than once");
    }

    #[test]
    fn escaping_follows_the_statement_kind() {
        use Escape::{Hive, Trino};
        let cases = [
            ("-- c\nCREATE EXTERNAL TABLE t (a int) LOCATION %(l)s", Hive),
            ("CREATE TABLE t (a int) STORED AS PARQUET LOCATION %(l)s", Hive),
            ("create table t (a int) stored as parquet tblproperties ('x' = %(v)s)", Hive),
            ("CREATE TABLE t (a int, b string COMMENT 'as select') STORED AS TEXTFILE", Hive),
            ("CREATE TABLE t (a int) LOCATION 's3://b/p/' TBLPROPERTIES ('table_type' = 'ICEBERG')", Hive),
            ("CREATE DATABASE d COMMENT %(c)s", Hive),
            ("CREATE SCHEMA IF NOT EXISTS d", Hive),
            ("ALTER TABLE t ADD PARTITION (dt = %(d)s)", Hive),
            ("DROP TABLE IF EXISTS t", Hive),
            ("DROP DATABASE d CASCADE", Hive),
            ("MSCK REPAIR TABLE t", Hive),
            ("SHOW PARTITIONS t", Hive),
            ("SHOW TABLES LIKE %(p)s", Hive),
            ("DESCRIBE t", Hive),
            ("CREATE TABLE t AS SELECT 1", Trino),
            ("CREATE TABLE t WITH (format = 'PARQUET') AS SELECT %(s)s AS c", Trino),
            ("CREATE TABLE t AS (SELECT 1)", Trino),
            ("CREATE TABLE t AS WITH x AS (SELECT 1) SELECT * FROM x", Trino),
            ("CREATE TABLE \"as\" AS VALUES (1)", Trino),
            ("CREATE VIEW v AS SELECT %(s)s", Trino),
            ("CREATE OR REPLACE VIEW v AS SELECT 1", Trino),
            ("DROP VIEW v", Trino),
            ("/* CREATE EXTERNAL TABLE */ SELECT 1", Trino),
            ("SELECT 'ALTER TABLE' AS x", Trino),
            ("INSERT INTO t SELECT %(s)s", Trino),
            ("UNLOAD (SELECT 1) TO 's3://b/p/' WITH (format = 'PARQUET')", Trino),
            ("WITH a AS (SELECT 1) SELECT * FROM a", Trino),
            ("EXPLAIN SELECT 1", Trino),
            ("DELETE FROM t WHERE a = %(a)s", Trino),
        ];
        for (sql, want) in cases {
            assert_eq!(Escape::for_statement(sql), want, "{sql}");
        }
    }

    #[test]
    fn hive_ddl_with_stored_as_takes_backslash_escapes() {
        // The campaign's case: `STORED AS` once picked Trino quoting, so `\'` ended the literal.
        let sql = format_pyformat("CREATE EXTERNAL TABLE t (a int) COMMENT %(c)s STORED AS PARQUET", &[p("c", "x\\' y")]).unwrap();
        assert_eq!(sql, "CREATE EXTERNAL TABLE t (a int) COMMENT 'x\\\\\\' y' STORED AS PARQUET");
    }

    /// Hive's reading of a string literal's body (BaseSemanticAnalyzer.unescapeSQLString):
    /// `\ooo` octal, `\uXXXX`, the named escapes, and any other escaped character as itself.
    fn hive_unescape(literal: &str) -> Option<String> {
        let body = literal.strip_prefix('\'')?.strip_suffix('\'')?;
        let chars: Vec<char> = body.chars().collect();
        let mut out = String::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                return None; // an unescaped quote would have ended the literal
            }
            if c != '\\' {
                out.push(c);
                i += 1;
                continue;
            }
            let next = *chars.get(i + 1)?;
            let octal = chars.get(i + 1..i + 4).filter(|d| d[0] <= '3' && d.iter().all(|c| ('0'..='7').contains(c)));
            if let Some(d) = octal {
                out.push(char::from(u8::from_str_radix(&d.iter().collect::<String>(), 8).ok()?));
                i += 4;
                continue;
            }
            if next == 'u' && chars.len() >= i + 6 {
                out.push(char::from_u32(u32::from_str_radix(&chars[i + 2..i + 6].iter().collect::<String>(), 16).ok()?)?);
                i += 6;
                continue;
            }
            let named = match next {
                '0' => "\0",
                'b' => "\u{8}",
                'n' => "\n",
                'r' => "\r",
                't' => "\t",
                'Z' => "\u{1A}",
                '%' => "\\%",
                '_' => "\\_",
                _ => "",
            };
            if named.is_empty() {
                out.push(next);
            } else {
                out.push_str(named);
            }
            i += 2;
        }
        Some(out)
    }

    /// Trino's reading of a string literal: `''` is a quote; a lone quote would end it.
    fn trino_unescape(literal: &str) -> Option<String> {
        let body = literal.strip_prefix('\'')?.strip_suffix('\'')?;
        let mut out = String::new();
        let mut chars = body.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\'' && chars.next() != Some('\'') {
                return None;
            }
            out.push(c);
        }
        Some(out)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 3000, ..Default::default() })]

        /// Any string is read back exactly from its literal, under both quoting rules.
        #[test]
        fn any_string_round_trips_as_a_literal(s in "(?s).{0,40}|[\\\\'\"%_0-9nrtuZb\n\r\t]{0,24}") {
            let hive = Param::from(s.as_str()).to_sql(Escape::Hive).unwrap();
            proptest::prop_assert_eq!(hive_unescape(&hive), Some(s.clone()), "hive literal {}", hive);
            let trino = Param::from(s.as_str()).to_sql(Escape::Trino).unwrap();
            proptest::prop_assert_eq!(trino_unescape(&trino), Some(s.clone()), "trino literal {}", trino);
        }
    }
}
