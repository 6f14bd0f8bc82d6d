//! Engine functions Trino has and DataFusion lacks.

use std::sync::Arc;

use arrow::array::*;
use arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::Result;
use datafusion::logical_expr::{ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};

use crate::formats::value_text::write_value;
use crate::types::ATHENA_TYPE_KEY;

/// `CAST(x AS JSON)`: Trino's JSON text of a value, typed `json` through field metadata.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct AthenaJson {
    signature: Signature,
}

pub fn athena_json() -> ScalarUDF {
    ScalarUDF::new_from_impl(AthenaJson { signature: Signature::any(1, Volatility::Immutable) })
}

impl ScalarUDFImpl for AthenaJson {
    fn name(&self) -> &str {
        "athena_json"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn return_field_from_args(&self, _args: ReturnFieldArgs) -> Result<FieldRef> {
        let meta = [(ATHENA_TYPE_KEY.to_owned(), "json".to_owned())].into_iter().collect();
        Ok(Arc::new(Field::new(self.name(), DataType::Utf8, true).with_metadata(meta)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        text_of_each(args, json_value)
    }
}

fn json_string(out: &mut String, s: &str) {
    out.push_str(&serde_json::to_string(s).expect("strings serialise"));
}

/// Compact JSON as Trino casts it: arrays `[1,2]`, maps `{"1":2}`, rows as objects, strings quoted.
pub fn json_value(out: &mut String, array: &dyn Array, row: usize) {
    if array.is_null(row) {
        out.push_str("null");
        return;
    }
    let list = |out: &mut String, values: ArrayRef| {
        out.push('[');
        for i in 0..values.len() {
            if i > 0 {
                out.push(',');
            }
            json_value(out, values.as_ref(), i);
        }
        out.push(']');
    };
    match array.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let mut s = String::new();
            write_value(&mut s, array, row);
            json_string(out, &s);
        }
        DataType::List(_) => list(out, array.as_list::<i32>().value(row)),
        DataType::LargeList(_) => list(out, array.as_list::<i64>().value(row)),
        DataType::Map(_, _) => {
            let entries = array.as_map().value(row);
            out.push('{');
            for i in 0..entries.len() {
                if i > 0 {
                    out.push(',');
                }
                let mut key = String::new();
                write_value(&mut key, entries.column(0).as_ref(), i);
                json_string(out, &key);
                out.push(':');
                json_value(out, entries.column(1).as_ref(), i);
            }
            out.push('}');
        }
        DataType::Struct(fields) => {
            let s = array.as_struct();
            out.push('{');
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_string(out, f.name());
                out.push(':');
                json_value(out, s.column(i).as_ref(), row);
            }
            out.push('}');
        }
        DataType::Boolean
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::Float32
        | DataType::Float64
        | DataType::Decimal128(_, _) => write_value(out, array, row),
        _ => {
            let mut s = String::new();
            write_value(&mut s, array, row);
            json_string(out, &s);
        }
    }
}

/// `CAST(x AS VARCHAR)` and `json_format(json)`: the Athena text of a scalar value as a plain
/// varchar (`01:02:03.500`, `2017-01-01 09:00:00.000 Asia/Tokyo`, `2 00:00:00.000`; json and
/// uuid text unchanged), as Trino casts it. Nested values cannot be cast to varchar in Trino.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct AthenaText {
    name: &'static str,
    signature: Signature,
}

pub fn athena_varchar() -> ScalarUDF {
    ScalarUDF::new_from_impl(AthenaText { name: "athena_varchar", signature: Signature::any(1, Volatility::Immutable) })
}

pub fn json_format() -> ScalarUDF {
    ScalarUDF::new_from_impl(AthenaText { name: "json_format", signature: Signature::any(1, Volatility::Immutable) })
}

impl ScalarUDFImpl for AthenaText {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match args.first() {
            Some(DataType::List(_) | DataType::LargeList(_) | DataType::Map(..) | DataType::Struct(_)) => {
                datafusion::common::plan_err!("Cannot cast {} to varchar", args[0])
            }
            _ => Ok(DataType::Utf8),
        }
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let input = &args.arg_fields[0];
        if self.name == "json_format" && input.metadata().get(ATHENA_TYPE_KEY).map(String::as_str) != Some("json") {
            return datafusion::common::plan_err!(
                "Unexpected parameters ({}) for function json_format. Expected: json_format(json)",
                input.data_type()
            );
        }
        let dt = self.return_type(&[input.data_type().clone()])?;
        Ok(Arc::new(Field::new(self.name(), dt, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        text_of_each(args, write_value)
    }
}

/// A varchar column of `write`'s text of each non-NULL value of the one argument.
fn text_of_each(args: ScalarFunctionArgs, write: fn(&mut String, &dyn Array, usize)) -> Result<ColumnarValue> {
    let arrays = ColumnarValue::values_to_arrays(&args.args)?;
    let input = &arrays[0];
    let mut builder = StringBuilder::with_capacity(input.len(), input.len() * 8);
    let mut s = String::new();
    for row in 0..input.len() {
        if input.is_null(row) || input.data_type() == &DataType::Null {
            builder.append_null();
        } else {
            s.clear();
            write(&mut s, input.as_ref(), row);
            builder.append_value(&s);
        }
    }
    Ok(ColumnarValue::Array(Arc::new(builder.finish())))
}

/// `athena_like_pattern(pattern, escape)`: a LIKE pattern written with another escape character
/// (`ESCAPE '#'`) as the same pattern escaped with `\\`, the one DataFusion takes.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LikePattern {
    signature: Signature,
}

pub fn athena_like_pattern() -> ScalarUDF {
    ScalarUDF::new_from_impl(LikePattern { signature: Signature::exact(vec![DataType::Utf8, DataType::Utf8], Volatility::Immutable) })
}

/// `ab#%c` with escape `#` -> `ab\\%c`; a literal `\\` is escaped itself.
pub fn backslash_pattern(pattern: &str, escape: char) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == escape {
            match chars.next() {
                Some('\\') => out.push_str("\\\\"),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            }
        } else if c == '\\' {
            out.push_str("\\\\");
        } else {
            out.push(c);
        }
    }
    out
}

impl ScalarUDFImpl for LikePattern {
    fn name(&self) -> &str {
        "athena_like_pattern"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let (patterns, escapes) = (arrays[0].as_string::<i32>(), arrays[1].as_string::<i32>());
        let out: StringArray = patterns.iter().zip(escapes.iter()).map(|(p, e)| Some(backslash_pattern(p?, e?.chars().next()?))).collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// Trino's JSON functions over JSON text: `json_extract_scalar(json, path)` (the scalar's text,
/// NULL for objects and arrays), `json_extract(json, path)` (JSON text, typed `json`),
/// `json_array_length(json)`. Paths: `$`, `.key`, `["key"]`, `[n]`; anything else is NULL.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct JsonFn {
    name: &'static str,
    signature: Signature,
}

pub fn json_functions() -> Vec<ScalarUDF> {
    let f = |name, n| ScalarUDF::new_from_impl(JsonFn { name, signature: Signature::any(n, Volatility::Immutable) });
    vec![f("json_extract_scalar", 2), f("json_extract", 2), f("json_array_length", 1)]
}

/// `$.a.b[0]["c d"]` -> steps; `None` for paths outside that grammar.
fn json_path(path: &str) -> Option<Vec<serde_json::Value>> {
    let mut rest = path.trim().strip_prefix('$')?;
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            steps.push(serde_json::Value::String(r[..end].to_owned()));
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = r[..end].trim();
            steps.push(match inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                Some(key) => serde_json::Value::String(key.to_owned()),
                None => serde_json::Value::from(inner.parse::<u64>().ok()?),
            });
            rest = &r[end + 1..];
        } else {
            return None;
        }
    }
    Some(steps)
}

fn json_at<'a>(mut v: &'a serde_json::Value, steps: &[serde_json::Value]) -> Option<&'a serde_json::Value> {
    for s in steps {
        v = match s {
            serde_json::Value::String(k) => v.get(k)?,
            serde_json::Value::Number(n) => v.get(n.as_u64()? as usize)?,
            _ => return None,
        };
    }
    Some(v)
}

impl ScalarUDFImpl for JsonFn {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(if self.name == "json_array_length" { DataType::Int64 } else { DataType::Utf8 })
    }

    fn return_field_from_args(&self, _args: ReturnFieldArgs) -> Result<FieldRef> {
        let dt = self.return_type(&[])?;
        let field = Field::new(self.name(), dt, true);
        Ok(Arc::new(if self.name == "json_extract" {
            field.with_metadata([(ATHENA_TYPE_KEY.to_owned(), "json".to_owned())].into_iter().collect())
        } else {
            field
        }))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let text = |a: &ArrayRef, i: usize| -> Option<String> {
            if a.is_null(i) {
                return None;
            }
            let mut s = String::new();
            write_value(&mut s, a.as_ref(), i);
            Some(s)
        };
        let rows = arrays[0].len();
        let parsed = |i: usize| text(&arrays[0], i).and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
        if self.name == "json_array_length" {
            let out: Int64Array = (0..rows).map(|i| parsed(i).and_then(|v| v.as_array().map(|a| a.len() as i64))).collect();
            return Ok(ColumnarValue::Array(Arc::new(out)));
        }
        let out: StringArray = (0..rows)
            .map(|i| {
                let v = parsed(i)?;
                let steps = json_path(&text(&arrays[1], i)?)?;
                let found = json_at(&v, &steps)?;
                match (self.name, found) {
                    ("json_extract_scalar", serde_json::Value::String(s)) => Some(s.clone()),
                    ("json_extract_scalar", serde_json::Value::Object(_) | serde_json::Value::Array(_) | serde_json::Value::Null) => None,
                    ("json_extract_scalar", other) => Some(other.to_string()),
                    (_, other) => Some(other.to_string()),
                }
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}
