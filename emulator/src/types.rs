//! Athena's type names: Hive spellings in the catalog <-> Arrow types in the engine <-> the
//! ColumnInfo (Type, Precision, Scale) that GetQueryResults reports.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, TimeUnit};
use serde::{Deserialize, Serialize};

/// Field metadata key carrying the Athena type where Arrow cannot express it
/// (`varchar(10)`, `char(3)`, `json`, ...).
pub const ATHENA_TYPE_KEY: &str = "athena.type";

/// One entry of `ResultSetMetadata.ColumnInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ColumnInfo {
    pub catalog_name: String,
    pub schema_name: String,
    pub table_name: String,
    pub name: String,
    pub label: String,
    #[serde(rename = "Type")]
    pub type_name: String,
    pub precision: i32,
    pub scale: i32,
    pub nullable: String,
    pub case_sensitive: bool,
}

impl ColumnInfo {
    pub fn new(name: &str, type_name: &str, precision: i32, scale: i32) -> Self {
        Self {
            catalog_name: "hive".into(),
            schema_name: String::new(),
            table_name: String::new(),
            name: name.into(),
            label: name.into(),
            type_name: type_name.into(),
            precision,
            scale,
            nullable: "UNKNOWN".into(),
            case_sensitive: matches!(type_name, "varchar" | "char"),
        }
    }

    /// The ColumnInfo of an engine output field.
    pub fn from_field(field: &Field) -> Self {
        let (t, p, s) = athena_type(field);
        Self::new(field.name(), &t, p, s)
    }
}

/// Athena's (Type, Precision, Scale) for an engine field.
/// The declared Athena type of a string field; none once a cast made it another type (the
/// engine keeps field metadata through casts).
fn declared(field: &Field) -> Option<&String> {
    field.metadata().get(ATHENA_TYPE_KEY).filter(|_| matches!(field.data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View))
}

pub fn athena_type(field: &Field) -> (String, i32, i32) {
    if let Some(declared) = declared(field) {
        let declared = declared.to_ascii_lowercase();
        let (base, args) = split_args(&declared);
        return match (base, args.as_slice()) {
            ("varchar" | "string", [n]) => ("varchar".into(), n.parse().unwrap_or(i32::MAX), 0),
            ("char", [n]) => ("char".into(), n.parse().unwrap_or(1), 0),
            (b, _) => (b.to_owned(), 0, 0),
        };
    }
    let t = |s: &str, p: i32, sc: i32| (s.to_owned(), p, sc);
    match field.data_type() {
        DataType::Boolean => t("boolean", 0, 0),
        DataType::Int8 => t("tinyint", 3, 0),
        DataType::Int16 | DataType::UInt8 => t("smallint", 5, 0),
        DataType::Int32 | DataType::UInt16 => t("integer", 10, 0),
        DataType::Int64 | DataType::UInt32 => t("bigint", 19, 0),
        DataType::UInt64 => t("decimal", 20, 0),
        DataType::Float16 | DataType::Float32 => t("float", 17, 0),
        DataType::Float64 => t("double", 17, 0),
        DataType::Decimal32(p, s) | DataType::Decimal64(p, s) | DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => {
            t("decimal", *p as i32, *s as i32)
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => t("varchar", i32::MAX, 0),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => t("varbinary", 1_073_741_824, 0),
        DataType::Date32 | DataType::Date64 => t("date", 0, 0),
        DataType::Timestamp(_, None) => t("timestamp", 3, 0),
        DataType::Timestamp(_, Some(_)) => t("timestamp with time zone", 3, 0),
        DataType::Time32(_) | DataType::Time64(_) => t("time", 3, 0),
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(_, _) | DataType::ListView(_) => t("array", 0, 0),
        DataType::Map(_, _) => t("map", 0, 0),
        DataType::Struct(_) => t("row", 0, 0),
        DataType::Interval(arrow::datatypes::IntervalUnit::YearMonth) => t("interval year to month", 0, 0),
        DataType::Interval(_) | DataType::Duration(_) => t("interval day to second", 0, 0),
        DataType::Dictionary(_, v) => athena_type(&Field::new(field.name(), (**v).clone(), true)),
        DataType::Null => t("unknown", 0, 0),
        _ => t("varchar", i32::MAX, 0),
    }
}

/// The Hive spelling of an engine field, as GetTableMetadata and DESCRIBE show it.
pub fn hive_type(field: &Field) -> String {
    if let Some(declared) = declared(field) {
        return declared.clone();
    }
    match field.data_type() {
        DataType::Boolean => "boolean".into(),
        DataType::Int8 => "tinyint".into(),
        DataType::Int16 | DataType::UInt8 => "smallint".into(),
        DataType::Int32 | DataType::UInt16 => "int".into(),
        DataType::Int64 | DataType::UInt32 => "bigint".into(),
        DataType::Float16 | DataType::Float32 => "float".into(),
        DataType::Float64 => "double".into(),
        DataType::Decimal32(p, s) | DataType::Decimal64(p, s) | DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => {
            format!("decimal({p},{s})")
        }
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => "binary".into(),
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Timestamp(_, _) => "timestamp".into(),
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            format!("array<{}>", hive_type(f))
        }
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => {
                format!("map<{},{}>", hive_type(&kv[0]), hive_type(&kv[1]))
            }
            _ => "map<string,string>".into(),
        },
        DataType::Struct(fields) => {
            let inner: Vec<String> = fields.iter().map(|f| format!("{}:{}", f.name(), hive_type(f))).collect();
            format!("struct<{}>", inner.join(","))
        }
        _ => "string".into(),
    }
}

fn split_args(t: &str) -> (&str, Vec<&str>) {
    match t.split_once('(') {
        Some((base, rest)) => (base.trim(), rest.trim_end_matches(')').split(',').map(str::trim).collect()),
        None => (t.trim(), vec![]),
    }
}

/// Error for a Hive type string the catalog cannot hold.
#[derive(Debug, thiserror::Error)]
#[error("unknown or unsupported type: {0}")]
pub struct UnknownType(pub String);

/// Parses a Hive type (`int`, `varchar(10)`, `array<struct<a:int>>`, ...) into an Arrow field.
pub fn hive_to_field(name: &str, hive: &str) -> Result<Field, UnknownType> {
    let lower = hive.trim().to_ascii_lowercase();
    let (base, args) = split_args(&lower);
    let mut metadata = HashMap::new();
    let dt = if let Some(inner) = angle(&lower, "array") {
        DataType::List(Arc::new(hive_to_field("item", inner)?))
    } else if let Some(inner) = angle(&lower, "map") {
        let parts = split_top(inner);
        let [k, v] = parts.as_slice() else {
            return Err(UnknownType(hive.into()));
        };
        let key = hive_to_field("key", k)?.with_nullable(false);
        let value = hive_to_field("value", v)?;
        DataType::Map(Arc::new(Field::new("entries", DataType::Struct(Fields::from(vec![key, value])), false)), false)
    } else if let Some(inner) = angle(&lower, "struct") {
        let fields = split_top(inner)
            .into_iter()
            .map(|part| {
                let (n, t) = part.split_once(':').ok_or_else(|| UnknownType(hive.into()))?;
                hive_to_field(n.trim(), t)
            })
            .collect::<Result<Vec<_>, _>>()?;
        DataType::Struct(Fields::from(fields))
    } else {
        match (base, args.as_slice()) {
            ("boolean", []) => DataType::Boolean,
            ("tinyint", []) => DataType::Int8,
            ("smallint", []) => DataType::Int16,
            ("int" | "integer", []) => DataType::Int32,
            ("bigint", []) => DataType::Int64,
            ("float" | "real", []) => DataType::Float32,
            ("double", []) => DataType::Float64,
            ("string", []) | ("varchar", []) => DataType::Utf8,
            ("varchar" | "char", [n]) if n.parse::<u32>().is_ok() => {
                metadata.insert(ATHENA_TYPE_KEY.to_owned(), format!("{base}({n})"));
                DataType::Utf8
            }
            ("binary" | "varbinary", []) => DataType::Binary,
            ("date", []) => DataType::Date32,
            ("timestamp", []) => DataType::Timestamp(TimeUnit::Millisecond, None),
            ("decimal", []) => DataType::Decimal128(10, 0),
            ("decimal", [p]) => DataType::Decimal128(p.parse().map_err(|_| UnknownType(hive.into()))?, 0),
            ("decimal", [p, s]) => {
                DataType::Decimal128(p.parse().map_err(|_| UnknownType(hive.into()))?, s.parse().map_err(|_| UnknownType(hive.into()))?)
            }
            _ => return Err(UnknownType(hive.into())),
        }
    };
    Ok(Field::new(name, dt, true).with_metadata(metadata))
}

fn angle<'a>(t: &'a str, kind: &str) -> Option<&'a str> {
    t.strip_prefix(kind)?.trim_start().strip_prefix('<')?.strip_suffix('>')
}

/// Splits `a:int,b:map<int,int>` at top-level commas.
fn split_top(s: &str) -> Vec<&str> {
    let (mut depth, mut start, mut out) = (0i32, 0usize, Vec::new());
    for (i, c) in s.char_indices() {
        match c {
            '<' | '(' => depth += 1,
            '>' | ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(s[start..].trim());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hive_types_round_trip_to_column_info() {
        let cases = [
            ("boolean", "boolean", 0, 0),
            ("tinyint", "tinyint", 3, 0),
            ("smallint", "smallint", 5, 0),
            ("int", "integer", 10, 0),
            ("bigint", "bigint", 19, 0),
            ("float", "float", 17, 0),
            ("double", "double", 17, 0),
            ("string", "varchar", 2147483647, 0),
            ("varchar(10)", "varchar", 10, 0),
            ("char(3)", "char", 3, 0),
            ("timestamp", "timestamp", 3, 0),
            ("date", "date", 0, 0),
            ("binary", "varbinary", 1073741824, 0),
            ("array<int>", "array", 0, 0),
            ("map<int,int>", "map", 0, 0),
            ("struct<a:int,b:int>", "row", 0, 0),
            ("decimal(10,1)", "decimal", 10, 1),
        ];
        for (hive, t, p, s) in cases {
            let f = hive_to_field("c", hive).unwrap();
            assert_eq!(athena_type(&f), (t.to_owned(), p, s), "{hive}");
            assert_eq!(hive_type(&f), hive, "{hive}");
        }
        assert!(hive_to_field("c", "uniontype<int>").is_err());
        // A cast keeps field metadata in the engine: a varchar(10) made binary is varbinary.
        let cast = hive_to_field("c", "varchar(10)").unwrap().with_data_type(DataType::Binary);
        assert_eq!(athena_type(&cast), ("varbinary".to_owned(), 1_073_741_824, 0));
    }
}
