//! DuckDB type names (as a cast or a typed literal writes them) read into the Arrow type the
//! endpoint computes with, plus the DuckDB name where several share one Arrow type.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, IntervalUnit, TimeUnit};

use crate::formats::duckdb_types::enum_name;

/// A DuckDB type: its Arrow type and, when the Arrow type does not tell it, its DuckDB name.
#[derive(Debug, Clone, PartialEq)]
pub struct DuckType {
    pub arrow: DataType,
    pub tag: Option<String>,
}

impl DuckType {
    fn plain(arrow: DataType) -> Self {
        Self { arrow, tag: None }
    }

    fn tagged(arrow: DataType, tag: &str) -> Self {
        Self { arrow, tag: Some(tag.to_owned()) }
    }
}

/// Why a DuckDB type name was not read: DuckDB's own message (`Parser Error: ...`, `Catalog
/// Error: ...`, `Not implemented Error: ...`), which a query that names the type fails with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TypeNameError(pub String);

impl From<String> for TypeNameError {
    fn from(message: String) -> Self {
        TypeNameError(message)
    }
}

impl From<&str> for TypeNameError {
    fn from(message: &str) -> Self {
        TypeNameError(message.to_owned())
    }
}

/// Reads a DuckDB type name (`INTEGER`, `DECIMAL(10,2)`, `VARCHAR[]`, `INTEGER[3]`,
/// `STRUCT(a INTEGER, b VARCHAR)`, `MAP(VARCHAR, INTEGER)`, `ENUM('a', 'b')`, ...). The error
/// is DuckDB's message for an unknown or unsupported type.
pub fn parse_type(text: &str) -> Result<DuckType, TypeNameError> {
    let tokens = tokenize(text)?;
    let mut p = TypeParser { tokens, pos: 0 };
    let t = p.parse()?;
    if p.pos != p.tokens.len() {
        return Err(format!("Parser Error: syntax error at or near \"{}\"", p.tokens[p.pos].text()).into());
    }
    Ok(t)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    Str(String),
    Num(u64),
    Sym(char),
}

impl Tok {
    fn text(&self) -> String {
        match self {
            Tok::Word(w) | Tok::Quoted(w) => w.clone(),
            Tok::Str(s) => format!("'{s}'"),
            Tok::Num(n) => n.to_string(),
            Tok::Sym(c) => c.to_string(),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Tok>, TypeNameError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Tok::Word(chars[start..i].iter().collect()));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            out.push(Tok::Num(s.parse().map_err(|_| TypeNameError(format!("Parser Error: number {s} out of range")))?));
        } else if c == '\'' || c == '"' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err("Parser Error: unterminated quoted string".into()),
                    Some(&q) if q == c && chars.get(i + 1) == Some(&c) => {
                        s.push(c);
                        i += 2;
                    }
                    Some(&q) if q == c => {
                        i += 1;
                        break;
                    }
                    Some(&other) => {
                        s.push(other);
                        i += 1;
                    }
                }
            }
            out.push(if c == '\'' { Tok::Str(s) } else { Tok::Quoted(s) });
        } else {
            out.push(Tok::Sym(c));
            i += 1;
        }
    }
    Ok(out)
}

struct TypeParser {
    tokens: Vec<Tok>,
    pos: usize,
}

impl TypeParser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos)
    }

    fn eat_sym(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::Sym(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_sym(&mut self, c: char) -> Result<(), TypeNameError> {
        if self.eat_sym(c) { Ok(()) } else { Err(self.unexpected()) }
    }

    fn eat_word(&mut self, w: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn unexpected(&self) -> TypeNameError {
        match self.peek() {
            Some(t) => TypeNameError(format!("Parser Error: syntax error at or near \"{}\"", t.text())),
            None => TypeNameError("Parser Error: syntax error at end of input".into()),
        }
    }

    fn number(&mut self) -> Result<u64, TypeNameError> {
        match self.peek() {
            Some(Tok::Num(n)) => {
                let n = *n;
                self.pos += 1;
                Ok(n)
            }
            _ => Err(self.unexpected()),
        }
    }

    /// `(n[, m])` after a type name, if present.
    fn params(&mut self) -> Result<Vec<u64>, TypeNameError> {
        let mut out = Vec::new();
        if self.eat_sym('(') {
            loop {
                out.push(self.number()?);
                if !self.eat_sym(',') {
                    break;
                }
            }
            self.expect_sym(')')?;
        }
        Ok(out)
    }

    fn name(&mut self) -> Result<String, TypeNameError> {
        match self.peek().cloned() {
            Some(Tok::Word(w)) | Some(Tok::Quoted(w)) => {
                self.pos += 1;
                Ok(w)
            }
            _ => Err(self.unexpected()),
        }
    }

    fn parse(&mut self) -> Result<DuckType, TypeNameError> {
        let mut t = self.base()?;
        // Array suffixes: `T[]` a list, `T[n]` a fixed-size array.
        while self.eat_sym('[') {
            let child = Arc::new(child_field("item", &t));
            if self.eat_sym(']') {
                t = DuckType::plain(DataType::List(child));
            } else {
                let n = self.number()?;
                self.expect_sym(']')?;
                t = DuckType::plain(DataType::FixedSizeList(child, n as i32));
            }
        }
        Ok(t)
    }

    fn base(&mut self) -> Result<DuckType, TypeNameError> {
        let word = self.name()?;
        let upper = word.to_ascii_uppercase();
        let t = match upper.as_str() {
            "BOOLEAN" | "BOOL" | "LOGICAL" => DuckType::plain(DataType::Boolean),
            "TINYINT" | "INT1" => DuckType::plain(DataType::Int8),
            "SMALLINT" | "INT2" | "SHORT" => DuckType::plain(DataType::Int16),
            "INTEGER" | "INT" | "INT4" | "SIGNED" => DuckType::plain(DataType::Int32),
            "BIGINT" | "INT8" | "LONG" => DuckType::plain(DataType::Int64),
            "HUGEINT" | "INT128" => DuckType::tagged(DataType::Decimal128(38, 0), "HUGEINT"),
            "UTINYINT" | "UINT8" => DuckType::plain(DataType::UInt8),
            "USMALLINT" | "UINT16" => DuckType::plain(DataType::UInt16),
            "UINTEGER" | "UINT32" => DuckType::plain(DataType::UInt32),
            "UBIGINT" | "UINT64" => DuckType::plain(DataType::UInt64),
            "FLOAT" | "FLOAT4" | "REAL" => DuckType::plain(DataType::Float32),
            "DOUBLE" | "FLOAT8" => {
                self.eat_word("PRECISION");
                DuckType::plain(DataType::Float64)
            }
            "DECIMAL" | "NUMERIC" | "DEC" => {
                let p = self.params()?;
                let (width, scale) = match p.as_slice() {
                    [] => (18, 3),
                    [w] => (*w, 0),
                    [w, s] => (*w, *s),
                    _ => return Err("Parser Error: A decimal type can only have two type modifiers".into()),
                };
                if !(1..=38).contains(&width) || scale > width {
                    return Err("Parser Error: Width must be between 1 and 38!".into());
                }
                DuckType::plain(DataType::Decimal128(width as u8, scale as i8))
            }
            "VARCHAR" | "TEXT" | "STRING" | "CHAR" | "BPCHAR" | "NVARCHAR" => {
                self.params()?;
                DuckType::plain(DataType::Utf8)
            }
            "CHARACTER" => {
                self.eat_word("VARYING");
                self.params()?;
                DuckType::plain(DataType::Utf8)
            }
            "BLOB" | "BYTEA" | "BINARY" | "VARBINARY" => DuckType::plain(DataType::Binary),
            "UUID" => DuckType::tagged(DataType::Utf8, "UUID"),
            "JSON" => DuckType::tagged(DataType::Utf8, "JSON"),
            "DATE" => DuckType::plain(DataType::Date32),
            "TIME" => {
                self.params()?;
                if self.eat_word("WITH") {
                    return Err(unsupported("TIME WITH TIME ZONE"));
                }
                let _ = self.eat_word("WITHOUT") && self.eat_word("TIME") && self.eat_word("ZONE");
                DuckType::plain(DataType::Time64(TimeUnit::Microsecond))
            }
            "TIME_NS" => DuckType::plain(DataType::Time64(TimeUnit::Nanosecond)),
            "TIMETZ" => return Err(unsupported("TIME WITH TIME ZONE")),
            "TIMESTAMP" | "DATETIME" => {
                self.params()?;
                if self.eat_word("WITH") {
                    if !(self.eat_word("TIME") && self.eat_word("ZONE")) {
                        return Err(self.unexpected());
                    }
                    DuckType::plain(DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())))
                } else {
                    if self.eat_word("WITHOUT") && !(self.eat_word("TIME") && self.eat_word("ZONE")) {
                        return Err(self.unexpected());
                    }
                    DuckType::plain(DataType::Timestamp(TimeUnit::Microsecond, None))
                }
            }
            "TIMESTAMPTZ" => DuckType::plain(DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))),
            "TIMESTAMP_S" => DuckType::plain(DataType::Timestamp(TimeUnit::Second, None)),
            "TIMESTAMP_MS" => DuckType::plain(DataType::Timestamp(TimeUnit::Millisecond, None)),
            "TIMESTAMP_US" => DuckType::plain(DataType::Timestamp(TimeUnit::Microsecond, None)),
            "TIMESTAMP_NS" => DuckType::plain(DataType::Timestamp(TimeUnit::Nanosecond, None)),
            "INTERVAL" => DuckType::plain(DataType::Interval(IntervalUnit::MonthDayNano)),
            "STRUCT" | "ROW" => {
                self.expect_sym('(')?;
                let mut fields = Vec::new();
                loop {
                    let name = self.name()?;
                    let t = self.parse()?;
                    fields.push(child_field(&name, &t));
                    if !self.eat_sym(',') {
                        break;
                    }
                }
                self.expect_sym(')')?;
                DuckType::plain(DataType::Struct(Fields::from(fields)))
            }
            "MAP" => {
                self.expect_sym('(')?;
                let k = self.parse()?;
                self.expect_sym(',')?;
                let v = self.parse()?;
                self.expect_sym(')')?;
                let key = Field::new("key", k.arrow.clone(), false);
                let entries = Field::new("entries", DataType::Struct(Fields::from(vec![key, child_field("value", &v)])), false);
                DuckType::plain(DataType::Map(Arc::new(entries), false))
            }
            "ENUM" => {
                self.expect_sym('(')?;
                let mut members = Vec::new();
                loop {
                    match self.peek().cloned() {
                        Some(Tok::Str(s)) => {
                            self.pos += 1;
                            members.push(s);
                        }
                        _ => return Err(self.unexpected()),
                    }
                    if !self.eat_sym(',') {
                        break;
                    }
                }
                self.expect_sym(')')?;
                let key = if members.len() <= 255 { DataType::UInt8 } else { DataType::UInt16 };
                DuckType::tagged(DataType::Dictionary(Box::new(key), Box::new(DataType::Utf8)), &enum_name(&members))
            }
            "UNION" => return Err(unsupported("UNION")),
            "BIT" | "BITSTRING" => return Err(unsupported("BIT")),
            "BIGNUM" | "VARINT" => return Err(unsupported("BIGNUM")),
            "UHUGEINT" | "UINT128" => return Err(unsupported("UHUGEINT")),
            "GEOMETRY" | "VARIANT" => return Err(unsupported(&upper)),
            _ => return Err(format!("Catalog Error: Type with name {word} does not exist!").into()),
        };
        Ok(t)
    }
}

fn unsupported(name: &str) -> TypeNameError {
    TypeNameError(format!(
        "Not implemented Error: the local endpoint does not compute {name} values (DuckDB has the type; see the endpoint's README)"
    ))
}

/// A child field (list element, struct member, map value) carrying its DuckDB name when the
/// Arrow type does not tell it.
fn child_field(name: &str, t: &DuckType) -> Field {
    let f = Field::new(name, t.arrow.clone(), true);
    match &t.tag {
        Some(tag) => f.with_metadata([(crate::formats::duckdb_types::DUCKDB_TYPE.to_owned(), tag.clone())].into()),
        None => f,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duckdb_type_names() {
        assert_eq!(parse_type("INTEGER").unwrap().arrow, DataType::Int32);
        assert_eq!(parse_type("decimal(10, 2)").unwrap().arrow, DataType::Decimal128(10, 2));
        assert_eq!(parse_type("HUGEINT").unwrap().tag.as_deref(), Some("HUGEINT"));
        assert_eq!(parse_type("TIMESTAMP WITH TIME ZONE").unwrap().arrow, DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())));
        let t = parse_type("STRUCT(a INTEGER, \"b c\" VARCHAR[])[3]").unwrap();
        assert!(matches!(t.arrow, DataType::FixedSizeList(_, 3)));
        assert_eq!(parse_type("ENUM('x', 'y''s')").unwrap().tag.as_deref(), Some("ENUM('x', 'y''s')"));
        assert_eq!(parse_type("NOPE").unwrap_err().to_string(), "Catalog Error: Type with name NOPE does not exist!");
        assert!(parse_type("MAP(VARCHAR, INTEGER[])").is_ok());
    }
}
