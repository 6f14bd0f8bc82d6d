//! Hive's text formats as Athena reads and writes them: LazySimpleSerDe (`\N` for NULL, field,
//! collection and map-key delimiters by nesting level, base64 binary, unparsable numbers as
//! NULL, missing trailing fields as NULL), OpenCSVSerde and the JSON SerDes. Pure functions
//! over bytes and Arrow arrays: the table provider does the I/O.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BinaryBuilder, RecordBatch};
use arrow::datatypes::{DataType, Field, FieldRef, Fields, Schema, SchemaRef};
use arrow::error::ArrowError;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::formats::storage::{FileKind, Storage};

/// How a table's text files are laid out.
#[derive(Debug, Clone)]
pub struct TextFormat {
    pub kind: FileKind,
    /// Separators by nesting level: 0 fields, 1 collection items, 2 map keys, then `\u{4}`...
    separators: Vec<char>,
    line: char,
    null: String,
    escape: Option<char>,
    skip_header: usize,
    csv_separator: char,
    csv_quote: char,
    csv_escape: char,
}

fn first_char(s: Option<&String>) -> Option<char> {
    s.and_then(|s| s.chars().next())
}

impl TextFormat {
    pub fn new(storage: &Storage, table_properties: &BTreeMap<String, String>) -> Self {
        let p = &storage.serde_params;
        let mut separators = vec![
            first_char(p.get("field.delim")).or(first_char(p.get("serialization.format")).filter(|c| *c != '1')).unwrap_or('\u{1}'),
            first_char(p.get("collection.delim").or(p.get("colelction.delim"))).unwrap_or('\u{2}'),
            first_char(p.get("mapkey.delim")).unwrap_or('\u{3}'),
        ];
        separators.extend((4u32..=8).filter_map(char::from_u32));
        TextFormat {
            kind: storage.reader(),
            separators,
            line: first_char(p.get("line.delim")).unwrap_or('\n'),
            null: p.get("serialization.null.format").cloned().unwrap_or_else(|| "\\N".into()),
            escape: first_char(p.get("escape.delim")),
            skip_header: table_properties.get("skip.header.line.count").and_then(|n| n.trim().parse().ok()).unwrap_or(0),
            csv_separator: first_char(p.get("separatorChar")).unwrap_or(','),
            csv_quote: first_char(p.get("quoteChar")).unwrap_or('"'),
            csv_escape: first_char(p.get("escapeChar")).unwrap_or('\\'),
        }
    }
}

/// The file's bytes, gunzipped when its name ends in `.gz` (as Hive picks the codec).
pub fn file_text(name: &str, bytes: &[u8]) -> Result<String, ArrowError> {
    let raw = if name.ends_with(".gz") {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut out)
            .map_err(|e| ArrowError::ParseError(format!("{name}: not a gzip file: {e}")))?;
        out
    } else {
        bytes.to_vec()
    };
    Ok(String::from_utf8_lossy(&raw).into_owned())
}

/// Decodes one file's text into a batch of `schema` (the table's data columns).
pub fn decode(text: &str, schema: &SchemaRef, format: &TextFormat) -> Result<RecordBatch, ArrowError> {
    let mut lines: Vec<&str> = text.split(format.line).collect();
    // The delimiter ends every line: the piece after the last one is no row.
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let lines = lines.into_iter().skip(format.skip_header).map(|l| l.strip_suffix('\r').unwrap_or(l));
    let rows: Vec<Value> = match format.kind {
        FileKind::Json => lines
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let v: Value =
                    serde_json::from_str(l).map_err(|e| ArrowError::ParseError(format!("Row is not a valid JSON Object: {e}")))?;
                Ok(json_row(&v, schema.fields()))
            })
            .collect::<Result<_, ArrowError>>()?,
        FileKind::OpenCsv => lines.map(|l| csv_row(l, schema.fields(), format)).collect(),
        _ => lines.map(|l| lazy_row(l, schema.fields(), format)).collect(),
    };
    rows_to_batch(rows, schema)
}

/// JSON rows -> a batch, through arrow-json; binary columns travel as base64 text.
fn rows_to_batch(rows: Vec<Value>, schema: &SchemaRef) -> Result<RecordBatch, ArrowError> {
    let carrier: Vec<FieldRef> = schema
        .fields()
        .iter()
        .map(|f| if f.data_type() == &DataType::Binary { Arc::new(Field::new(f.name(), DataType::Utf8, true)) } else { f.clone() })
        .collect();
    let carrier = Arc::new(Schema::new(carrier));
    let mut decoder = arrow::json::ReaderBuilder::new(carrier.clone()).with_batch_size(rows.len().max(1)).build_decoder()?;
    decoder.serialize(&rows)?;
    let batch = decoder.flush()?.unwrap_or_else(|| RecordBatch::new_empty(carrier.clone()));
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(f, c)| {
            if f.data_type() != &DataType::Binary {
                return c.clone();
            }
            let mut b = BinaryBuilder::new();
            for v in c.as_string::<i32>().iter() {
                match v {
                    Some(t) => {
                        b.append_value(base64::engine::general_purpose::STANDARD.decode(t).unwrap_or_else(|_| t.as_bytes().to_vec()))
                    }
                    None => b.append_null(),
                }
            }
            Arc::new(b.finish()) as ArrayRef
        })
        .collect();
    RecordBatch::try_new_with_options(
        schema.clone(),
        columns,
        &arrow::array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )
}

fn lazy_row(line: &str, fields: &Fields, format: &TextFormat) -> Value {
    let parts = split_escaped(line, format.separators[0], format.escape);
    let mut row = Map::new();
    for (i, f) in fields.iter().enumerate() {
        let v = parts.get(i).map_or(Value::Null, |text| lazy_value(text, f.data_type(), 1, format));
        row.insert(f.name().clone(), v);
    }
    Value::Object(row)
}

fn split_escaped(s: &str, sep: char, escape: Option<char>) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if Some(c) == escape {
            if let Some(n) = chars.next() {
                out.last_mut().expect("one part").push(n);
            }
        } else if c == sep {
            out.push(String::new());
        } else {
            out.last_mut().expect("one part").push(c);
        }
    }
    out
}

/// One LazySimpleSerDe field of type `dt` at nesting `level` (1 = a top-level field's items).
fn lazy_value(text: &str, dt: &DataType, level: usize, format: &TextFormat) -> Value {
    if text == format.null {
        return Value::Null;
    }
    let sep = |l: usize| format.separators.get(l).copied().unwrap_or('\u{8}');
    match dt {
        DataType::List(item) => {
            if text.is_empty() {
                return Value::Array(vec![]);
            }
            Value::Array(text.split(sep(level)).map(|t| lazy_value(t, item.data_type(), level + 1, format)).collect())
        }
        DataType::Map(entries, _) => {
            let DataType::Struct(kv) = entries.data_type() else { return Value::Null };
            let mut m = Map::new();
            if !text.is_empty() {
                for entry in text.split(sep(level)) {
                    let (k, v) = entry.split_once(sep(level + 1)).unwrap_or((entry, &format.null));
                    m.insert(k.to_owned(), lazy_value(v, kv[1].data_type(), level + 2, format));
                }
            }
            Value::Object(m)
        }
        DataType::Struct(fields) => {
            let parts: Vec<&str> = text.split(sep(level)).collect();
            let mut m = Map::new();
            for (i, f) in fields.iter().enumerate() {
                m.insert(f.name().clone(), parts.get(i).map_or(Value::Null, |t| lazy_value(t, f.data_type(), level + 1, format)));
            }
            Value::Object(m)
        }
        _ => scalar(text, dt),
    }
}

/// A scalar from its text as Hive parses it: what does not parse is NULL.
fn scalar(text: &str, dt: &DataType) -> Value {
    let t = text.trim();
    match dt {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Binary => Value::String(text.to_owned()),
        DataType::Boolean => match t.to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::Null,
        },
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
            let Ok(v) = t.parse::<i64>() else { return Value::Null };
            let fits = match dt {
                DataType::Int8 => i8::try_from(v).is_ok(),
                DataType::Int16 => i16::try_from(v).is_ok(),
                DataType::Int32 => i32::try_from(v).is_ok(),
                _ => true,
            };
            if fits { Value::from(v) } else { Value::Null }
        }
        DataType::Float32 | DataType::Float64 => {
            t.parse::<f64>().ok().and_then(serde_json::Number::from_f64).map_or(Value::Null, Value::Number)
        }
        DataType::Decimal128(_, _) => {
            if t.parse::<f64>().is_ok() {
                Value::String(t.to_owned())
            } else {
                Value::Null
            }
        }
        DataType::Date32 => {
            if chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").is_ok() {
                Value::String(t.to_owned())
            } else {
                Value::Null
            }
        }
        DataType::Timestamp(_, _) => {
            let ok = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S"]
                .iter()
                .any(|f| chrono::NaiveDateTime::parse_from_str(t, f).is_ok());
            if ok { Value::String(t.replace(' ', "T")) } else { Value::Null }
        }
        _ => Value::String(text.to_owned()),
    }
}

/// OpenCSVSerde: quoted fields, an escape character; every field is text, then parsed by type.
fn csv_row(line: &str, fields: &Fields, format: &TextFormat) -> Value {
    let mut parts = vec![String::new()];
    let (mut quoted, mut chars) = (false, line.chars());
    while let Some(c) = chars.next() {
        if c == format.csv_escape && format.csv_escape != format.csv_quote {
            if let Some(n) = chars.next() {
                parts.last_mut().expect("one part").push(n);
            }
        } else if c == format.csv_quote {
            quoted = !quoted;
        } else if c == format.csv_separator && !quoted {
            parts.push(String::new());
        } else {
            parts.last_mut().expect("one part").push(c);
        }
    }
    let mut row = Map::new();
    for (i, f) in fields.iter().enumerate() {
        row.insert(f.name().clone(), parts.get(i).map_or(Value::Null, |t| scalar(t, f.data_type())));
    }
    Value::Object(row)
}

/// The JSON SerDes: fields matched by name without regard to case, values coerced to the type.
fn json_row(v: &Value, fields: &Fields) -> Value {
    let Value::Object(obj) = v else { return Value::Null };
    let mut row = Map::new();
    for f in fields {
        let found = obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(f.name())).map(|(_, v)| v);
        row.insert(f.name().clone(), found.map_or(Value::Null, |v| json_coerce(v, f.data_type())));
    }
    Value::Object(row)
}

fn json_coerce(v: &Value, dt: &DataType) -> Value {
    match (v, dt) {
        (Value::Null, _) => Value::Null,
        (Value::Array(items), DataType::List(item)) => Value::Array(items.iter().map(|i| json_coerce(i, item.data_type())).collect()),
        (Value::Object(_), DataType::Struct(fields)) => json_row(v, fields),
        (Value::Object(m), DataType::Map(entries, _)) => match entries.data_type() {
            DataType::Struct(kv) => Value::Object(m.iter().map(|(k, v)| (k.clone(), json_coerce(v, kv[1].data_type()))).collect()),
            _ => Value::Null,
        },
        (Value::String(s), _) => scalar(s, dt),
        (Value::Number(n), _) => scalar(&n.to_string(), dt),
        (Value::Bool(b), _) => scalar(&b.to_string(), dt),
        (other, DataType::Utf8) => Value::String(other.to_string()),
        _ => Value::Null,
    }
}

/// Writes a batch as LazySimpleSerDe text (INSERT INTO a TEXTFILE table): `\N` for NULL,
/// delimiters by nesting level, base64 binary, one line per row.
pub fn encode(batch: &RecordBatch, format: &TextFormat, out: &mut String) {
    for row in 0..batch.num_rows() {
        for (i, column) in batch.columns().iter().enumerate() {
            if i > 0 {
                out.push(format.separators[0]);
            }
            encode_value(column.as_ref(), row, 1, format, out);
        }
        out.push(format.line);
    }
}

fn encode_value(array: &dyn Array, row: usize, level: usize, format: &TextFormat, out: &mut String) {
    if array.is_null(row) {
        out.push_str(&format.null);
        return;
    }
    let sep = format.separators.get(level).copied().unwrap_or('\u{8}');
    match array.data_type() {
        DataType::Binary => out.push_str(&base64::engine::general_purpose::STANDARD.encode(array.as_binary::<i32>().value(row))),
        DataType::List(_) => {
            let items = array.as_list::<i32>().value(row);
            for i in 0..items.len() {
                if i > 0 {
                    out.push(sep);
                }
                encode_value(items.as_ref(), i, level + 1, format, out);
            }
        }
        DataType::Map(_, _) => {
            let entries = array.as_map().value(row);
            let key_sep = format.separators.get(level + 1).copied().unwrap_or('\u{8}');
            for i in 0..entries.len() {
                if i > 0 {
                    out.push(sep);
                }
                encode_value(entries.column(0).as_ref(), i, level + 2, format, out);
                out.push(key_sep);
                encode_value(entries.column(1).as_ref(), i, level + 2, format, out);
            }
        }
        DataType::Struct(_) => {
            let s = array.as_struct();
            for (i, c) in s.columns().iter().enumerate() {
                if i > 0 {
                    out.push(sep);
                }
                encode_value(c.as_ref(), row, level + 1, format, out);
            }
        }
        _ => crate::formats::value_text::write_value(out, array, row),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::hive_to_field;

    fn schema(cols: &[(&str, &str)]) -> SchemaRef {
        Arc::new(Schema::new(cols.iter().map(|(n, t)| hive_to_field(n, t).unwrap()).collect::<Vec<_>>()))
    }

    fn tsv() -> TextFormat {
        let mut s = Storage::text();
        s.serde_params.insert("field.delim".into(), "\t".into());
        TextFormat::new(&s, &BTreeMap::new())
    }

    fn texts(batch: &RecordBatch) -> Vec<Vec<String>> {
        (0..batch.num_rows())
            .map(|r| {
                batch
                    .columns()
                    .iter()
                    .map(|c| {
                        if c.is_null(r) {
                            "NULL".to_owned()
                        } else {
                            let mut s = String::new();
                            crate::formats::value_text::write_value(&mut s, c.as_ref(), r);
                            s
                        }
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn pyathena_fixture_rows_decode_as_athena_reads_them() {
        // tests/resources/rows/one_row_complex (gunzipped): base64 binary, \x02 and \x03 levels.
        let line = "true\t127\t32767\t2147483647\t9223372036854775807\t0.5\t0.25\ta string\tvarchar\t2017-01-01 00:00:00\t2017-01-02\tMTIz\t1\u{2}2\t1\u{3}2\u{2}3\u{3}4\t1\u{2}2\t0.1\n";
        let s = schema(&[
            ("b", "boolean"),
            ("ti", "tinyint"),
            ("si", "smallint"),
            ("i", "int"),
            ("bi", "bigint"),
            ("f", "float"),
            ("d", "double"),
            ("s", "string"),
            ("v", "varchar(10)"),
            ("ts", "timestamp"),
            ("dt", "date"),
            ("bin", "binary"),
            ("a", "array<int>"),
            ("m", "map<int,int>"),
            ("st", "struct<a:int,b:int>"),
            ("dec", "decimal(10,1)"),
        ]);
        let batch = decode(line, &s, &tsv()).unwrap();
        assert_eq!(
            texts(&batch),
            [[
                "true",
                "127",
                "32767",
                "2147483647",
                "9223372036854775807",
                "0.5",
                "0.25",
                "a string",
                "varchar",
                "2017-01-01 00:00:00.000",
                "2017-01-02",
                "31 32 33",
                "[1, 2]",
                "{1=2, 3=4}",
                "{a=1, b=2}",
                "0.1"
            ]]
        );
        // integer_na_values.tsv: missing and empty fields are NULL; the last newline ends a row.
        let batch = decode("1\t2\n1\n\n", &schema(&[("a", "int"), ("b", "int")]), &tsv()).unwrap();
        assert_eq!(texts(&batch), [["1", "2"], ["1", "NULL"], ["NULL", "NULL"]]);
        // Strings keep the empty string; \N is NULL.
        let batch = decode("\t\\N\n", &schema(&[("a", "string"), ("b", "string")]), &tsv()).unwrap();
        assert_eq!(texts(&batch), [["", "NULL"]]);
    }

    #[test]
    fn headers_csv_json_and_round_trip() {
        let mut props = BTreeMap::new();
        props.insert("skip.header.line.count".to_owned(), "1".to_owned());
        let mut csv = Storage::text();
        csv.serde = "org.apache.hadoop.hive.serde2.OpenCSVSerde".into();
        let batch = decode("a,b\n\"x, y\",2\n", &schema(&[("a", "string"), ("b", "int")]), &TextFormat::new(&csv, &props)).unwrap();
        assert_eq!(texts(&batch), [["x, y", "2"]]);
        let mut json = Storage::text();
        json.serde = "org.openx.data.jsonserde.JsonSerDe".into();
        let batch = decode(
            "{\"A\": 1, \"b\": [1, 2]}\n{}\n",
            &schema(&[("a", "int"), ("b", "array<int>")]),
            &TextFormat::new(&json, &BTreeMap::new()),
        )
        .unwrap();
        assert_eq!(texts(&batch), [["1", "[1, 2]"], ["NULL", "NULL"]]);

        let s = schema(&[("a", "int"), ("b", "string"), ("m", "map<string,array<int>>"), ("bin", "binary")]);
        let original = decode("1\tx\tk\u{3}1\u{4}2\tMTIz\n\\N\t\\N\t\\N\t\\N\n", &s, &tsv()).unwrap();
        let mut text = String::new();
        encode(&original, &tsv(), &mut text);
        assert_eq!(text, "1\tx\tk\u{3}1\u{4}2\tMTIz\n\\N\t\\N\t\\N\t\\N\n");
        assert_eq!(decode(&text, &s, &tsv()).unwrap(), original);
    }
}
