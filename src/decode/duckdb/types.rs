//! The schema mapper of Athena's DuckDB engine: DuckDB type names (as GetQueryResults'
//! `ColumnInfo.Type` gives them) -> the Arrow types DuckDB itself exports, so that a result read
//! from text (GetQueryResults, the result CSV) has the schema of the same result read as an
//! Arrow stream. Where DuckDB's export loses values, the text paths keep them and say so here:
//! UHUGEINT is `decimal256(39, 0)` (DuckDB exports `decimal128(38, 0)`, which wraps values above
//! 2^127), BIT, BIGNUM, GEOMETRY and VARIANT are their text (DuckDB exports opaque binaries).

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, IntervalUnit, TimeUnit, UnionFields, UnionMode};

use crate::error::{Error, Result};

/// The Arrow type of a DuckDB type name. `timestamp_unit` overrides the unit of TIMESTAMP
/// types (as [`crate::ConnectionBuilder::with_timestamp_unit`] does for engine version 3).
///
/// # Errors
/// [`Error::UnsupportedType`] for a name this client does not know.
pub fn duckdb_arrow_type(name: &str, timestamp_unit: Option<TimeUnit>) -> Result<DataType> {
    let mut p = Parser { s: name.trim(), pos: 0, unit: timestamp_unit };
    let t = p.parse()?;
    p.skip_ws();
    if p.pos != p.s.len() {
        return Err(unsupported(name));
    }
    Ok(t)
}

fn unsupported(name: &str) -> Error {
    Error::UnsupportedType { type_name: format!("DuckDB type {name:?}") }
}

/// The DuckDB name of an Arrow type as DuckDB exports it (the reverse of
/// [`duckdb_arrow_type`], for results whose column metadata is not at hand).
pub fn duckdb_type_name(dt: &DataType) -> String {
    match dt {
        DataType::Null => "\"NULL\"".into(),
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Int8 => "TINYINT".into(),
        DataType::Int16 => "SMALLINT".into(),
        DataType::Int32 => "INTEGER".into(),
        DataType::Int64 => "BIGINT".into(),
        DataType::UInt8 => "UTINYINT".into(),
        DataType::UInt16 => "USMALLINT".into(),
        DataType::UInt32 => "UINTEGER".into(),
        DataType::UInt64 => "UBIGINT".into(),
        DataType::Float16 | DataType::Float32 => "FLOAT".into(),
        DataType::Float64 => "DOUBLE".into(),
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => format!("DECIMAL({p},{s})"),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => "BLOB".into(),
        DataType::Date32 | DataType::Date64 => "DATE".into(),
        DataType::Time64(TimeUnit::Nanosecond) => "TIME_NS".into(),
        DataType::Time32(_) | DataType::Time64(_) => "TIME".into(),
        DataType::Timestamp(_, Some(_)) => "TIMESTAMP WITH TIME ZONE".into(),
        DataType::Timestamp(TimeUnit::Second, None) => "TIMESTAMP_S".into(),
        DataType::Timestamp(TimeUnit::Millisecond, None) => "TIMESTAMP_MS".into(),
        DataType::Timestamp(TimeUnit::Nanosecond, None) => "TIMESTAMP_NS".into(),
        DataType::Timestamp(TimeUnit::Microsecond, None) => "TIMESTAMP".into(),
        DataType::Interval(_) | DataType::Duration(_) => "INTERVAL".into(),
        DataType::List(f) | DataType::LargeList(f) | DataType::ListView(f) | DataType::LargeListView(f) => {
            format!("{}[]", duckdb_type_name(f.data_type()))
        }
        DataType::FixedSizeList(f, n) => format!("{}[{n}]", duckdb_type_name(f.data_type())),
        DataType::Struct(fields) => {
            let parts: Vec<String> = fields.iter().map(|f| format!("{} {}", f.name(), duckdb_type_name(f.data_type()))).collect();
            format!("STRUCT({})", parts.join(", "))
        }
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => {
                format!("MAP({}, {})", duckdb_type_name(kv[0].data_type()), duckdb_type_name(kv[1].data_type()))
            }
            _ => "MAP".into(),
        },
        DataType::Union(fields, _) => {
            let parts: Vec<String> = fields.iter().map(|(_, f)| format!("{} {}", f.name(), duckdb_type_name(f.data_type()))).collect();
            format!("UNION({})", parts.join(", "))
        }
        // Strings, enums (dictionaries) and what is read as text.
        _ => "VARCHAR".into(),
    }
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
    unit: Option<TimeUnit>,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.s[self.pos..].starts_with(char::is_whitespace) {
            self.pos += self.s[self.pos..].chars().next().map_or(1, char::len_utf8);
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.s[self.pos..].starts_with(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<()> {
        if self.eat(c) { Ok(()) } else { Err(unsupported(self.s)) }
    }

    /// A bare word, or a `"quoted"` name (`""` a quote).
    fn word(&mut self) -> Result<String> {
        if let Some(quoted) = self.quoted('"')? {
            return Ok(quoted);
        }
        let rest = &self.s[self.pos..];
        let len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
        if len == 0 {
            return Err(unsupported(self.s));
        }
        self.pos += len;
        Ok(rest[..len].to_owned())
    }

    /// `'text'` with `''` a quote.
    fn string(&mut self) -> Result<String> {
        self.quoted('\'')?.ok_or_else(|| unsupported(self.s))
    }

    /// Text between `q`s with a doubled `q` standing for one, if the next (non-space) character
    /// is `q`; an unterminated one is an error.
    fn quoted(&mut self, q: char) -> Result<Option<String>> {
        self.skip_ws();
        let Some(body) = self.s[self.pos..].strip_prefix(q) else { return Ok(None) };
        let mut out = String::new();
        let mut chars = body.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == q {
                if chars.peek().map(|(_, n)| *n) == Some(q) {
                    out.push(q);
                    chars.next();
                    continue;
                }
                self.pos += q.len_utf8() + i + q.len_utf8();
                return Ok(Some(out));
            }
            out.push(c);
        }
        Err(unsupported(self.s))
    }

    fn number(&mut self) -> Result<u64> {
        self.skip_ws();
        let rest = &self.s[self.pos..];
        let len = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let n = rest[..len].parse().map_err(|_| unsupported(self.s))?;
        self.pos += len;
        Ok(n)
    }

    /// `(n, m, ...)` if present.
    fn params(&mut self) -> Result<Vec<u64>> {
        let mut out = Vec::new();
        if self.eat('(') {
            loop {
                out.push(self.number()?);
                if !self.eat(',') {
                    break;
                }
            }
            self.expect(')')?;
        }
        Ok(out)
    }

    /// `(name type, ...)`: a STRUCT's fields or a UNION's members.
    fn members(&mut self) -> Result<Vec<Field>> {
        self.expect('(')?;
        let mut fields = Vec::new();
        loop {
            let name = self.word()?;
            fields.push(Field::new(name, self.parse()?, true));
            if !self.eat(',') {
                break;
            }
        }
        self.expect(')')?;
        Ok(fields)
    }

    fn peek_word(&mut self, w: &str) -> bool {
        let save = self.pos;
        let found = self.word().is_ok_and(|x| x.eq_ignore_ascii_case(w));
        if !found {
            self.pos = save;
        }
        found
    }

    fn parse(&mut self) -> Result<DataType> {
        let mut t = self.base()?;
        while self.eat('[') {
            let child = Arc::new(Field::new("l", t, true));
            if self.eat(']') {
                t = DataType::List(child);
            } else {
                let n = self.number()?;
                self.expect(']')?;
                t = DataType::FixedSizeList(Arc::new(Field::new("", child.data_type().clone(), true)), n as i32);
            }
        }
        Ok(t)
    }

    fn timestamp(&self, unit: TimeUnit, tz: bool) -> DataType {
        DataType::Timestamp(self.unit.unwrap_or(unit), tz.then(|| "UTC".into()))
    }

    fn base(&mut self) -> Result<DataType> {
        let word = self.word()?;
        Ok(match word.to_ascii_uppercase().as_str() {
            "NULL" => DataType::Null,
            "BOOLEAN" | "BOOL" => DataType::Boolean,
            "TINYINT" => DataType::Int8,
            "SMALLINT" => DataType::Int16,
            "INTEGER" | "INT" => DataType::Int32,
            "BIGINT" => DataType::Int64,
            "HUGEINT" => DataType::Decimal128(38, 0),
            "UTINYINT" => DataType::UInt8,
            "USMALLINT" => DataType::UInt16,
            "UINTEGER" => DataType::UInt32,
            "UBIGINT" => DataType::UInt64,
            "UHUGEINT" => DataType::Decimal256(39, 0),
            "FLOAT" | "REAL" => DataType::Float32,
            "DOUBLE" => {
                self.peek_word("PRECISION");
                DataType::Float64
            }
            "DECIMAL" | "NUMERIC" => match self.params()?.as_slice() {
                [] => DataType::Decimal128(18, 3),
                [p] => DataType::Decimal128(*p as u8, 0),
                [p, s] => DataType::Decimal128(*p as u8, *s as i8),
                _ => return Err(unsupported(self.s)),
            },
            "VARCHAR" | "CHAR" | "BPCHAR" | "TEXT" | "STRING" | "UUID" | "JSON" | "BIT" | "BITSTRING" | "BIGNUM" | "VARINT"
            | "GEOMETRY" | "VARIANT" => {
                self.params()?;
                DataType::Utf8
            }
            "BLOB" | "BYTEA" | "VARBINARY" => DataType::Binary,
            "DATE" => DataType::Date32,
            "TIME" => {
                // TIME WITH TIME ZONE: DuckDB exports the wall clock, its offset dropped.
                if self.peek_word("WITH") {
                    self.peek_word("TIME");
                    self.peek_word("ZONE");
                }
                DataType::Time64(TimeUnit::Microsecond)
            }
            "TIMETZ" => DataType::Time64(TimeUnit::Microsecond),
            "TIME_NS" => DataType::Time64(TimeUnit::Nanosecond),
            "TIMESTAMP" => {
                let tz = self.peek_word("WITH") && self.peek_word("TIME") && self.peek_word("ZONE");
                self.timestamp(TimeUnit::Microsecond, tz)
            }
            "TIMESTAMPTZ" => self.timestamp(TimeUnit::Microsecond, true),
            "TIMESTAMP_S" => self.timestamp(TimeUnit::Second, false),
            "TIMESTAMP_MS" => self.timestamp(TimeUnit::Millisecond, false),
            "TIMESTAMP_US" => self.timestamp(TimeUnit::Microsecond, false),
            "TIMESTAMP_NS" => self.timestamp(TimeUnit::Nanosecond, false),
            "INTERVAL" => DataType::Interval(IntervalUnit::MonthDayNano),
            "STRUCT" => DataType::Struct(Fields::from(self.members()?)),
            "MAP" => {
                self.expect('(')?;
                let k = self.parse()?;
                self.expect(',')?;
                let v = self.parse()?;
                self.expect(')')?;
                let entries = Field::new(
                    "entries",
                    DataType::Struct(Fields::from(vec![Field::new("key", k, false), Field::new("value", v, true)])),
                    false,
                );
                DataType::Map(Arc::new(entries), false)
            }
            "ENUM" => {
                self.expect('(')?;
                let mut n = 0usize;
                loop {
                    self.string()?;
                    n += 1;
                    if !self.eat(',') {
                        break;
                    }
                }
                self.expect(')')?;
                let key = match n {
                    0..=255 => DataType::UInt8,
                    256..=65535 => DataType::UInt16,
                    _ => DataType::UInt32,
                };
                DataType::Dictionary(Box::new(key), Box::new(DataType::Utf8))
            }
            "UNION" => {
                let fields = self.members()?;
                let ids: Vec<i8> = (0..fields.len() as i8).collect();
                DataType::Union(UnionFields::try_new(ids, fields).map_err(|_| unsupported(self.s))?, UnionMode::Sparse)
            }
            _ => return Err(unsupported(self.s)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_duckdbs_arrow_types() {
        let t = |n: &str| duckdb_arrow_type(n, None).unwrap();
        assert_eq!(t("INTEGER"), DataType::Int32);
        assert_eq!(t("HUGEINT"), DataType::Decimal128(38, 0));
        assert_eq!(t("UBIGINT"), DataType::UInt64);
        assert_eq!(t("DECIMAL(10,2)"), DataType::Decimal128(10, 2));
        assert_eq!(t("TIMESTAMP WITH TIME ZONE"), DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())));
        assert_eq!(t("TIMESTAMP_NS"), DataType::Timestamp(TimeUnit::Nanosecond, None));
        assert_eq!(t("INTEGER[]").to_string(), DataType::List(Arc::new(Field::new("l", DataType::Int32, true))).to_string());
        assert!(matches!(t("INTEGER[3]"), DataType::FixedSizeList(_, 3)));
        assert!(matches!(t("STRUCT(\"a b\" INTEGER, c VARCHAR[])"), DataType::Struct(f) if f[0].name() == "a b"));
        assert!(matches!(t("MAP(VARCHAR, INTEGER)"), DataType::Map(..)));
        assert!(matches!(t("ENUM('x', 'y''z')"), DataType::Dictionary(k, _) if *k == DataType::UInt8));
        assert!(matches!(t("UNION(num INTEGER, str VARCHAR)"), DataType::Union(..)));
        assert_eq!(t("\"NULL\""), DataType::Null);
        assert_eq!(duckdb_arrow_type("TIMESTAMP", Some(TimeUnit::Nanosecond)).unwrap(), DataType::Timestamp(TimeUnit::Nanosecond, None));
        // Every name of athena-duckdb-engine.md's list.
        for (name, want) in [
            ("UHUGEINT", DataType::Decimal256(39, 0)),
            ("BIGNUM", DataType::Utf8),
            ("VARINT", DataType::Utf8),
            ("BIT", DataType::Utf8),
            ("GEOMETRY", DataType::Utf8),
            ("VARIANT", DataType::Utf8),
            ("UUID", DataType::Utf8),
            ("JSON", DataType::Utf8),
            ("CHAR", DataType::Utf8),
            ("BLOB", DataType::Binary),
            ("TIME", DataType::Time64(TimeUnit::Microsecond)),
            ("TIME_NS", DataType::Time64(TimeUnit::Nanosecond)),
            ("TIME WITH TIME ZONE", DataType::Time64(TimeUnit::Microsecond)),
            ("TIMESTAMP_S", DataType::Timestamp(TimeUnit::Second, None)),
            ("TIMESTAMP_MS", DataType::Timestamp(TimeUnit::Millisecond, None)),
            ("INTERVAL", DataType::Interval(IntervalUnit::MonthDayNano)),
            ("FLOAT", DataType::Float32),
            ("UTINYINT", DataType::UInt8),
            ("USMALLINT", DataType::UInt16),
            ("UINTEGER", DataType::UInt32),
            ("SMALLINT", DataType::Int16),
            ("TINYINT", DataType::Int8),
            ("BOOLEAN", DataType::Boolean),
            ("DATE", DataType::Date32),
        ] {
            assert_eq!(t(name), want, "{name}");
        }
        let e = duckdb_arrow_type("NOPE(", None).unwrap_err();
        assert_eq!(e.to_string(), Error::UnsupportedType { type_name: "DuckDB type \"NOPE(\"".into() }.to_string());
    }
}
