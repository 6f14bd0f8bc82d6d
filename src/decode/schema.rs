//! The schema mapper: Athena column metadata (ColumnInfo) -> Arrow fields, with the Athena type,
//! precision and scale kept in field metadata. Pure functions; every result source uses them.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

use crate::decode::parse::{TYPE_BRACKETS, inner, split_top};
use crate::error::{Error, Result};

/// Field metadata key holding the Athena type name (`varchar`, `decimal`, `array`, ...).
pub const ATHENA_TYPE: &str = "athena.type";
/// Field metadata key holding ColumnInfo.Precision.
pub const ATHENA_PRECISION: &str = "athena.precision";
/// Field metadata key holding ColumnInfo.Scale.
pub const ATHENA_SCALE: &str = "athena.scale";

/// One result column as Athena describes it (GetQueryResults' ColumnInfo).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ColumnInfo {
    pub name: String,
    /// Athena's type name, lower case: `varchar`, `decimal`, `timestamp with time zone`, `array`.
    pub type_name: String,
    pub precision: i32,
    pub scale: i32,
}

impl ColumnInfo {
    pub(crate) fn from_sdk(c: &aws_sdk_athena::types::ColumnInfo) -> Self {
        Self { name: c.name().to_owned(), type_name: c.r#type().to_ascii_lowercase(), precision: c.precision(), scale: c.scale() }
    }
}

/// The Arrow type of an Athena column. Nested types (`array`, `map`, `row`) arrive as text whose
/// element types ColumnInfo does not give, so they map to Utf8 here (UNLOAD results are typed).
///
/// # Errors
/// [`Error::UnsupportedType`] for a type name this mapper does not know.
pub fn arrow_type(column: &ColumnInfo, timestamp_unit: Option<TimeUnit>) -> Result<DataType> {
    let name = column.type_name.trim();
    // Type names with parameters (from table metadata or hints): `decimal(10,2)`, `varchar(5)`,
    // `timestamp(6) with time zone`: match on the name without them.
    let base = strip_parameters(name);
    let base = base.as_str();
    Ok(match base {
        "boolean" => DataType::Boolean,
        "tinyint" => DataType::Int8,
        "smallint" => DataType::Int16,
        "integer" | "int" => DataType::Int32,
        "bigint" => DataType::Int64,
        "float" | "real" => DataType::Float32,
        "double" => DataType::Float64,
        "decimal" => {
            let (p, s) = decimal_params(name).unwrap_or((column.precision, column.scale));
            if !(1..=38).contains(&p) || s < 0 || s > p {
                return Err(Error::UnsupportedType { type_name: format!("decimal({p},{s})") });
            }
            DataType::Decimal128(p as u8, s as i8)
        }
        "varchar" | "char" | "string" => DataType::Utf8,
        "varbinary" | "binary" => DataType::Binary,
        "date" => DataType::Date32,
        "timestamp with time zone" => DataType::Timestamp(time_unit(column, timestamp_unit), Some("UTC".into())),
        "timestamp" => DataType::Timestamp(time_unit(column, timestamp_unit), None),
        "time with time zone" => DataType::Utf8,
        "time" => match time_unit(column, timestamp_unit) {
            unit @ (TimeUnit::Second | TimeUnit::Millisecond) => DataType::Time32(unit),
            unit => DataType::Time64(unit),
        },
        "json"
        | "interval year to month"
        | "interval day to second"
        | "ipaddress"
        | "uuid"
        | "unknown"
        | "array"
        | "map"
        | "row"
        | "struct" => DataType::Utf8,
        _ if base.starts_with("interval") => DataType::Utf8,
        _ => return Err(Error::UnsupportedType { type_name: column.type_name.clone() }),
    })
}

/// The Arrow unit of a timestamp or time column: `forced` (`with_timestamp_unit`) when given,
/// else the one its precision needs (see [`unit_of_precision`]). The precision is the type
/// name's parameter (`timestamp(6)`), else ColumnInfo's Precision, else Trino's default, 3.
fn time_unit(column: &ColumnInfo, forced: Option<TimeUnit>) -> TimeUnit {
    forced.unwrap_or_else(|| {
        let declared = column.type_name.split_once('(').and_then(|(_, rest)| rest.split_once(')')?.0.trim().parse::<u32>().ok());
        let reported = u32::try_from(column.precision).ok().filter(|p| *p > 0);
        unit_of_precision(declared.or(reported).unwrap_or(3))
    })
}

/// The unit that holds every value of a timestamp or time of `precision` fraction digits
/// without rounding and the widest range: 0 s, 1-3 ms, 4-6 us, 7-9 ns.
pub fn unit_of_precision(precision: u32) -> TimeUnit {
    match precision {
        0 => TimeUnit::Second,
        1..=3 => TimeUnit::Millisecond,
        4..=6 => TimeUnit::Microsecond,
        _ => TimeUnit::Nanosecond,
    }
}

/// `timestamp(6) with time zone` -> `timestamp with time zone`; `array<int>` -> `array`.
pub(crate) fn strip_parameters(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut depth = 0;
    for c in name.chars() {
        match c {
            '(' | '<' => depth += 1,
            ')' | '>' => depth -= 1,
            c if depth == 0 => out.push(c.to_ascii_lowercase()),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn decimal_params(name: &str) -> Option<(i32, i32)> {
    let inner = name.split_once('(')?.1.strip_suffix(')')?;
    let (p, s) = inner.split_once(',').unwrap_or((inner, "0"));
    Some((p.trim().parse().ok()?, s.trim().parse().ok()?))
}

/// The Arrow field of an Athena column: nullable, with the Athena type in its metadata.
pub fn arrow_field(column: &ColumnInfo, timestamp_unit: Option<TimeUnit>) -> Result<Field> {
    let metadata = HashMap::from([
        (ATHENA_TYPE.to_owned(), column.type_name.clone()),
        (ATHENA_PRECISION.to_owned(), column.precision.to_string()),
        (ATHENA_SCALE.to_owned(), column.scale.to_string()),
    ]);
    Ok(Field::new(&column.name, arrow_type(column, timestamp_unit)?, true).with_metadata(metadata))
}

/// Field metadata key holding the type hint a nested column was decoded with.
pub const ATHENA_TYPE_HINT: &str = "athena.type_hint";

/// The Arrow schema of a result.
pub fn arrow_schema(columns: &[ColumnInfo], timestamp_unit: Option<TimeUnit>) -> Result<SchemaRef> {
    arrow_schema_with_hints(columns, timestamp_unit, &HashMap::new())
}

/// The Arrow schema of a result, typing the columns named in `hints` by their hinted type
/// names (`array(integer)`, `map<string,int>`, `row(a integer, b varchar)`, `decimal(10,2)`):
/// ColumnInfo gives no element types, so nested columns are otherwise Utf8.
pub fn arrow_schema_with_hints(
    columns: &[ColumnInfo],
    timestamp_unit: Option<TimeUnit>,
    hints: &HashMap<String, String>,
) -> Result<SchemaRef> {
    let fields = columns
        .iter()
        .map(|c| {
            let field = arrow_field(c, timestamp_unit)?;
            let Some(hint) = hints.get(&c.name) else { return Ok(field) };
            let mut metadata = field.metadata().clone();
            metadata.insert(ATHENA_TYPE_HINT.to_owned(), hint.clone());
            Ok(field.with_data_type(parse_type(hint, timestamp_unit)?).with_metadata(metadata))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Arc::new(Schema::new(fields)))
}

/// The Arrow type of a type name with element types: `array(integer)`, `array<int>`,
/// `map(varchar, bigint)`, `map<string,bigint>`, `row(a integer, b varchar)`, `struct<a:int>`.
///
/// # Errors
/// [`Error::UnsupportedType`] for names it cannot parse.
pub fn parse_type(text: &str, unit: Option<TimeUnit>) -> Result<DataType> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    let unsupported = || Error::UnsupportedType { type_name: text.to_owned() };
    let args = |name: &str| -> Option<String> {
        let rest = lower.strip_prefix(name)?.trim_start();
        let body = inner(rest, '(', ')').or_else(|| inner(rest, '<', '>'))?;
        // Keep the original case of field names.
        let offset = t.len() - rest.len() + 1;
        Some(t[offset..offset + body.len()].to_owned())
    };
    if let Some(item) = args("array") {
        return Ok(DataType::List(Arc::new(Field::new("item", parse_type(&item, unit)?, true))));
    }
    if let Some(kv) = args("map") {
        let parts = split_top(&kv, ",", TYPE_BRACKETS);
        let [k, v] = parts.as_slice() else { return Err(unsupported()) };
        let entries = Fields::from(vec![Field::new("key", parse_type(k, unit)?, false), Field::new("value", parse_type(v, unit)?, true)]);
        return Ok(DataType::Map(Arc::new(Field::new("entries", DataType::Struct(entries), false)), false));
    }
    for (name, sep) in [("row", ' '), ("struct", ':')] {
        if let Some(body) = args(name) {
            let fields = split_top(&body, ",", TYPE_BRACKETS)
                .iter()
                .map(|f| {
                    let f = f.trim();
                    let (n, ty) = f.split_once(sep).ok_or_else(unsupported)?;
                    Ok(Field::new(n.trim().trim_matches('"'), parse_type(ty, unit)?, true))
                })
                .collect::<Result<Vec<_>>>()?;
            return Ok(DataType::Struct(fields.into()));
        }
    }
    arrow_type(&ColumnInfo { name: String::new(), type_name: lower, precision: 0, scale: 0 }, unit)
}

/// The Athena type name of an Arrow type read from UNLOAD's Parquet (the inverse of
/// [`arrow_type`] for what Trino writes).
pub fn athena_type_of(dt: &DataType) -> &'static str {
    match dt {
        DataType::Boolean => "boolean",
        DataType::Int8 => "tinyint",
        DataType::Int16 => "smallint",
        DataType::Int32 => "integer",
        DataType::Int64 => "bigint",
        DataType::Float32 => "float",
        DataType::Float64 => "double",
        DataType::Decimal128(..) | DataType::Decimal256(..) => "decimal",
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "varchar",
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => "varbinary",
        DataType::Date32 | DataType::Date64 => "date",
        DataType::Timestamp(_, Some(_)) => "timestamp with time zone",
        DataType::Timestamp(_, None) => "timestamp",
        DataType::Time32(_) | DataType::Time64(_) => "time",
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) => "array",
        DataType::Map(..) => "map",
        DataType::Struct(_) => "row",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(t: &str, p: i32, s: i32) -> ColumnInfo {
        ColumnInfo { name: "c".into(), type_name: t.into(), precision: p, scale: s }
    }

    #[test]
    fn every_athena_type_maps() {
        let ms = TimeUnit::Millisecond;
        let table: Vec<(&str, i32, i32, DataType)> = vec![
            ("boolean", 0, 0, DataType::Boolean),
            ("tinyint", 3, 0, DataType::Int8),
            ("smallint", 5, 0, DataType::Int16),
            ("integer", 10, 0, DataType::Int32),
            ("bigint", 19, 0, DataType::Int64),
            ("float", 17, 0, DataType::Float32),
            ("double", 17, 0, DataType::Float64),
            ("decimal", 10, 2, DataType::Decimal128(10, 2)),
            ("decimal(38,9)", 0, 0, DataType::Decimal128(38, 9)),
            ("varchar", 2147483647, 0, DataType::Utf8),
            ("char", 3, 0, DataType::Utf8),
            ("varbinary", 1073741824, 0, DataType::Binary),
            ("date", 0, 0, DataType::Date32),
            ("timestamp", 3, 0, DataType::Timestamp(ms, None)),
            ("timestamp with time zone", 3, 0, DataType::Timestamp(ms, Some("UTC".into()))),
            ("time", 3, 0, DataType::Time32(ms)),
            ("array", 0, 0, DataType::Utf8),
            ("map", 0, 0, DataType::Utf8),
            ("row", 0, 0, DataType::Utf8),
            ("json", 0, 0, DataType::Utf8),
            ("interval year to month", 0, 0, DataType::Utf8),
            ("interval day to second", 0, 0, DataType::Utf8),
            ("ipaddress", 0, 0, DataType::Utf8),
            ("uuid", 0, 0, DataType::Utf8),
        ];
        for (t, p, s, want) in table {
            assert_eq!(arrow_type(&col(t, p, s), None).unwrap(), want, "{t}");
        }
        assert!(matches!(arrow_type(&col("geometry", 0, 0), None), Err(Error::UnsupportedType { .. })));
        let f = arrow_field(&col("decimal", 10, 2), None).unwrap();
        assert_eq!(f.metadata().get(ATHENA_TYPE).map(String::as_str), Some("decimal"));
        assert_eq!(f.metadata().get(ATHENA_PRECISION).map(String::as_str), Some("10"));
    }

    #[test]
    fn time_units_follow_the_precision_unless_one_is_forced() {
        use TimeUnit::*;
        let cases = [
            ("timestamp(0)", 0, DataType::Timestamp(Second, None)),
            ("timestamp(3)", 0, DataType::Timestamp(Millisecond, None)),
            ("timestamp(6)", 3, DataType::Timestamp(Microsecond, None)),
            ("timestamp(9)", 3, DataType::Timestamp(Nanosecond, None)),
            ("timestamp(7) with time zone", 0, DataType::Timestamp(Nanosecond, Some("UTC".into()))),
            ("timestamp", 6, DataType::Timestamp(Microsecond, None)),
            // Glue's `timestamp` (no precision anywhere): Trino's default, 3.
            ("timestamp", 0, DataType::Timestamp(Millisecond, None)),
            ("time(0)", 0, DataType::Time32(Second)),
            ("time(6)", 0, DataType::Time64(Microsecond)),
            ("time", 9, DataType::Time64(Nanosecond)),
        ];
        for (t, p, want) in cases {
            assert_eq!(arrow_type(&col(t, p, 0), None).unwrap(), want, "{t} precision {p}");
        }
        assert_eq!(arrow_type(&col("timestamp(3)", 3, 0), Some(Nanosecond)).unwrap(), DataType::Timestamp(Nanosecond, None));
        assert_eq!(arrow_type(&col("time", 3, 0), Some(Microsecond)).unwrap(), DataType::Time64(Microsecond));
    }
}
