//! DuckDB's type names and the Arrow types DuckDB exports (athena-duckdb-engine.md; checked
//! against the Python `duckdb` package 2.0.1 by `python/tests/test_duckdb_oracle.py`).
//!
//! A result column's DuckDB type is read from its Arrow type, except where several DuckDB types
//! share one Arrow type (HUGEINT and DECIMAL(38,0), UUID and VARCHAR, ENUM and VARCHAR...): the
//! DuckDB dialect then tags the field with [`DUCKDB_TYPE`] metadata where it casts.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{DataType, Field, FieldRef, Fields, IntervalUnit, Schema, SchemaRef, TimeUnit};
use arrow::error::ArrowError;

/// Field metadata naming the DuckDB type of a column whose Arrow type is shared by several.
pub const DUCKDB_TYPE: &str = "duckdb.type";

/// The DuckDB type name of a result column, as `typeof` prints it.
pub fn type_name(field: &Field) -> String {
    name_of(field.data_type(), field.metadata().get(DUCKDB_TYPE).map(String::as_str))
}

fn name_of(dt: &DataType, tag: Option<&str>) -> String {
    if let Some(tag) = tag {
        return tag.to_owned();
    }
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
        DataType::Decimal32(p, s) | DataType::Decimal64(p, s) | DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => {
            format!("DECIMAL({p},{s})")
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "VARCHAR".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => "BLOB".into(),
        DataType::Date32 | DataType::Date64 => "DATE".into(),
        DataType::Time64(TimeUnit::Nanosecond) => "TIME_NS".into(),
        DataType::Time32(_) | DataType::Time64(_) => "TIME".into(),
        DataType::Timestamp(_, Some(_)) => "TIMESTAMP WITH TIME ZONE".into(),
        DataType::Timestamp(TimeUnit::Second, None) => "TIMESTAMP_S".into(),
        DataType::Timestamp(TimeUnit::Millisecond, None) => "TIMESTAMP_MS".into(),
        DataType::Timestamp(TimeUnit::Microsecond, None) => "TIMESTAMP".into(),
        DataType::Timestamp(TimeUnit::Nanosecond, None) => "TIMESTAMP_NS".into(),
        DataType::Interval(_) | DataType::Duration(_) => "INTERVAL".into(),
        DataType::List(f) | DataType::LargeList(f) | DataType::ListView(f) | DataType::LargeListView(f) => format!("{}[]", type_name(f)),
        DataType::FixedSizeList(f, n) => format!("{}[{n}]", type_name(f)),
        DataType::Struct(fields) => {
            let parts: Vec<String> = fields.iter().map(|f| format!("{} {}", identifier(f.name()), type_name(f))).collect();
            format!("STRUCT({})", parts.join(", "))
        }
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => format!("MAP({}, {})", type_name(&kv[0]), type_name(&kv[1])),
            other => format!("MAP({})", name_of(other, None)),
        },
        DataType::Dictionary(_, values) => name_of(values, None),
        DataType::Union(fields, _) => {
            let parts: Vec<String> = fields.iter().map(|(_, f)| format!("{} {}", identifier(f.name()), type_name(f))).collect();
            format!("UNION({})", parts.join(", "))
        }
        DataType::RunEndEncoded(_, values) => type_name(values),
    }
}

/// `ENUM('a', 'b')`: the type name of an enum with these members.
pub fn enum_name(members: &[String]) -> String {
    let quoted: Vec<String> = members.iter().map(|m| format!("'{}'", m.replace('\'', "''"))).collect();
    format!("ENUM({})", quoted.join(", "))
}

/// A struct field name as DuckDB prints it in a type: bare when it is a plain identifier that is
/// not a reserved word, else in double quotes.
fn identifier(name: &str) -> String {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !RESERVED.contains(&name.to_ascii_lowercase().as_str());
    if plain { name.to_owned() } else { format!("\"{}\"", name.replace('"', "\"\"")) }
}

/// DuckDB's reserved keywords (those it quotes in type names).
const RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "column",
    "constraint",
    "create",
    "default",
    "deferrable",
    "desc",
    "describe",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "fetch",
    "for",
    "foreign",
    "from",
    "grant",
    "group",
    "having",
    "in",
    "initially",
    "intersect",
    "into",
    "lateral",
    "leading",
    "limit",
    "not",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "pivot",
    "pivot_longer",
    "pivot_wider",
    "placing",
    "primary",
    "qualify",
    "references",
    "returning",
    "select",
    "show",
    "some",
    "summarize",
    "symmetric",
    "table",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "unpivot",
    "using",
    "variadic",
    "when",
    "where",
    "window",
    "with",
];

/// The Arrow type DuckDB exports for a column of this field's type: strings as `Utf8`, lists
/// with children named `l`, fixed arrays with unnamed children, maps with `entries`/`key`/
/// `value`, time zones as `UTC`, HUGEINT as `decimal128(38, 0)`, every field nullable.
pub fn export_field(field: &Field) -> Field {
    let dt = export_type(field.data_type());
    let mut out = Field::new(field.name(), dt, true);
    if let Some(tag) = field.metadata().get(DUCKDB_TYPE) {
        out = out.with_metadata(HashMap::from([(DUCKDB_TYPE.to_owned(), tag.clone())]));
    }
    out
}

fn export_child(field: &FieldRef, name: &str) -> FieldRef {
    let mut f = export_field(field);
    f = f.with_name(name);
    Arc::new(f)
}

fn export_type(dt: &DataType) -> DataType {
    match dt {
        DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
        DataType::BinaryView | DataType::LargeBinary | DataType::FixedSizeBinary(_) => DataType::Binary,
        DataType::Float16 => DataType::Float32,
        DataType::Date64 => DataType::Date32,
        DataType::Time32(_) | DataType::Time64(TimeUnit::Microsecond) => DataType::Time64(TimeUnit::Microsecond),
        DataType::Timestamp(unit, Some(_)) => DataType::Timestamp(*unit, Some("UTC".into())),
        DataType::Interval(_) | DataType::Duration(_) => DataType::Interval(IntervalUnit::MonthDayNano),
        DataType::Decimal32(p, s) | DataType::Decimal64(p, s) => DataType::Decimal128(*p, *s),
        DataType::List(f) | DataType::LargeList(f) | DataType::ListView(f) | DataType::LargeListView(f) => {
            DataType::List(export_child(f, "l"))
        }
        DataType::FixedSizeList(f, n) => DataType::FixedSizeList(export_child(f, ""), *n),
        DataType::Struct(fields) => DataType::Struct(fields.iter().map(|f| Arc::new(export_field(f))).collect::<Fields>()),
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => {
                let key = Field::new("key", export_type(kv[0].data_type()), false);
                let value = export_child(&kv[1], "value");
                let entries = Field::new("entries", DataType::Struct(Fields::from(vec![Arc::new(key), value])), false);
                DataType::Map(Arc::new(entries), false)
            }
            _ => dt.clone(),
        },
        DataType::Dictionary(_, values) => DataType::Dictionary(Box::new(DataType::UInt8), Box::new(export_type(values))),
        other => other.clone(),
    }
}

/// The schema DuckDB would export for a result of `schema`.
pub fn export_schema(schema: &Schema) -> SchemaRef {
    Arc::new(Schema::new(schema.fields().iter().map(|f| export_field(f)).collect::<Vec<_>>()))
}

/// `batch` in the exported schema's types.
pub fn export_batch(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, ArrowError> {
    let columns: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| if c.data_type() == f.data_type() { Ok(c.clone()) } else { arrow::compute::cast(c, f.data_type()) })
        .collect::<Result<_, _>>()?;
    RecordBatch::try_new_with_options(
        schema.clone(),
        columns,
        &arrow::array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_duckdb() {
        let list = DataType::List(Arc::new(Field::new("item", DataType::Int32, true)));
        assert_eq!(name_of(&list, None), "INTEGER[]");
        let st = DataType::Struct(Fields::from(vec![
            Field::new("a b", DataType::Int32, true),
            Field::new("select", DataType::Utf8, true),
            Field::new("A", list.clone(), true),
        ]));
        assert_eq!(name_of(&st, None), "STRUCT(\"a b\" INTEGER, \"select\" VARCHAR, A INTEGER[])");
        assert_eq!(name_of(&DataType::FixedSizeList(Arc::new(Field::new("x", DataType::Int32, true)), 3), None), "INTEGER[3]");
        assert_eq!(name_of(&DataType::Timestamp(TimeUnit::Microsecond, Some("+02:00".into())), None), "TIMESTAMP WITH TIME ZONE");
        assert_eq!(name_of(&DataType::Null, None), "\"NULL\"");
        assert_eq!(enum_name(&["x".into(), "y'z".into()]), "ENUM('x', 'y''z')");
        let f = Field::new("h", DataType::Decimal128(38, 0), true).with_metadata(HashMap::from([(DUCKDB_TYPE.into(), "HUGEINT".into())]));
        assert_eq!(type_name(&f), "HUGEINT");
        assert_eq!(export_field(&f).metadata().get(DUCKDB_TYPE).map(String::as_str), Some("HUGEINT"));
    }

    #[test]
    fn exported_types_are_duckdbs() {
        let list = Field::new("c", DataType::List(Arc::new(Field::new("item", DataType::Utf8View, true))), false);
        assert_eq!(
            export_field(&list).to_string(),
            Field::new("c", DataType::List(Arc::new(Field::new("l", DataType::Utf8, true))), true).to_string()
        );
    }
}
