//! Nested types from text: type names with element types (a caller's hint or table metadata,
//! in Trino `array(integer)` or Hive `array<int>` spelling) -> Arrow types, and Athena's text of
//! nested values (`[1, 2]`, `{a=1, b=2}`, `{1=2}`) -> nested Arrow arrays.
//!
//! Athena prints nested values without quoting, so the text is lossy: a string element holding
//! `, ` or `=` or `]` cannot be told apart from the structure, and a string `null` reads as NULL.
//! UNLOAD results are typed exactly; prefer them for such data.

use arrow::array::{
    ArrayBuilder, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder, Float64Builder, Int8Builder,
    Int16Builder, Int32Builder, Int64Builder, ListBuilder, MapBuilder, StringBuilder, StructBuilder, Time32MillisecondBuilder,
    Time32SecondBuilder, Time64MicrosecondBuilder, Time64NanosecondBuilder, TimestampMicrosecondBuilder, TimestampMillisecondBuilder,
    TimestampNanosecondBuilder, TimestampSecondBuilder,
};
use arrow::datatypes::{DataType, TimeUnit};

use crate::decode::parse::{
    VALUE_BRACKETS, ValueError, inner, malformed, parse_date, parse_decimal, parse_spaced_hex, parse_time_in, parse_timestamp,
    parse_timestamp_tz, split_top, timestamp_in,
};
pub use crate::decode::schema::parse_type;

/// Appends the Athena text `v` (None = NULL) of a value of type `dt` to `builder` (as
/// `arrow::array::make_builder` made it for `dt`).
pub(crate) fn append(builder: &mut dyn ArrayBuilder, dt: &DataType, v: Option<&str>) -> Result<(), ValueError> {
    let v = v.filter(|s| *s != "null");
    macro_rules! prim {
        ($b:ty, $parse:expr) => {{
            let b = builder.as_any_mut().downcast_mut::<$b>().ok_or("builder mismatch")?;
            match v {
                None => b.append_null(),
                Some(s) => b.append_value($parse(s)?),
            }
        }};
    }
    match dt {
        DataType::Utf8 => prim!(StringBuilder, |s: &str| Ok::<_, ValueError>(s.to_owned())),
        DataType::Binary => prim!(BinaryBuilder, parse_spaced_hex),
        DataType::Boolean => prim!(BooleanBuilder, |s: &str| s.parse::<bool>().map_err(|_| malformed!("{s:?} is not a boolean"))),
        DataType::Int8 => prim!(Int8Builder, |s: &str| s.parse::<i8>().map_err(|e| ValueError::Malformed(e.to_string()))),
        DataType::Int16 => prim!(Int16Builder, |s: &str| s.parse::<i16>().map_err(|e| ValueError::Malformed(e.to_string()))),
        DataType::Int32 => prim!(Int32Builder, |s: &str| s.parse::<i32>().map_err(|e| ValueError::Malformed(e.to_string()))),
        DataType::Int64 => prim!(Int64Builder, |s: &str| s.parse::<i64>().map_err(|e| ValueError::Malformed(e.to_string()))),
        DataType::Float32 => prim!(Float32Builder, |s: &str| s.parse::<f32>().map_err(|e| ValueError::Malformed(e.to_string()))),
        DataType::Float64 => prim!(Float64Builder, |s: &str| s.parse::<f64>().map_err(|e| ValueError::Malformed(e.to_string()))),
        DataType::Decimal128(_, scale) => prim!(Decimal128Builder, |s| parse_decimal(s, *scale as u8)),
        DataType::Date32 => prim!(Date32Builder, parse_date),
        DataType::Timestamp(unit, tz) => {
            let parse = |s: &str| timestamp_in(if tz.is_some() { parse_timestamp_tz(s)? } else { parse_timestamp(s)? }, *unit);
            match unit {
                TimeUnit::Second => prim!(TimestampSecondBuilder, parse),
                TimeUnit::Millisecond => prim!(TimestampMillisecondBuilder, parse),
                TimeUnit::Microsecond => prim!(TimestampMicrosecondBuilder, parse),
                TimeUnit::Nanosecond => prim!(TimestampNanosecondBuilder, parse),
            }
        }
        DataType::Time32(TimeUnit::Second) => prim!(Time32SecondBuilder, |s| parse_time_in(s, TimeUnit::Second).map(|v| v as i32)),
        DataType::Time32(_) => prim!(Time32MillisecondBuilder, |s| parse_time_in(s, TimeUnit::Millisecond).map(|v| v as i32)),
        DataType::Time64(TimeUnit::Nanosecond) => prim!(Time64NanosecondBuilder, |s| parse_time_in(s, TimeUnit::Nanosecond)),
        DataType::Time64(_) => prim!(Time64MicrosecondBuilder, |s| parse_time_in(s, TimeUnit::Microsecond)),
        DataType::List(item) => {
            let b = builder.as_any_mut().downcast_mut::<ListBuilder<Box<dyn ArrayBuilder>>>().ok_or("list builder mismatch")?;
            match v {
                None => b.append_null(),
                Some(s) => {
                    let body = inner(s, '[', ']').ok_or_else(|| malformed!("{s:?} is not an array"))?;
                    if !body.is_empty() {
                        for e in split_top(body, ", ", VALUE_BRACKETS) {
                            append(b.values().as_mut(), item.data_type(), Some(&e))?;
                        }
                    }
                    b.append(true);
                }
            }
        }
        DataType::Map(entries, _) => {
            let DataType::Struct(kv) = entries.data_type() else { return Err("map without entries".into()) };
            let b = builder
                .as_any_mut()
                .downcast_mut::<MapBuilder<Box<dyn ArrayBuilder>, Box<dyn ArrayBuilder>>>()
                .ok_or("map builder mismatch")?;
            match v {
                None => b.append(false).map_err(|e| ValueError::Malformed(e.to_string()))?,
                Some(s) => {
                    let body = inner(s, '{', '}').ok_or_else(|| malformed!("{s:?} is not a map"))?;
                    if !body.is_empty() {
                        for e in split_top(body, ", ", VALUE_BRACKETS) {
                            let (k, val) = e.split_once('=').ok_or_else(|| malformed!("map entry {e:?} has no '='"))?;
                            append(b.keys().as_mut(), kv[0].data_type(), Some(k))?;
                            append(b.values().as_mut(), kv[1].data_type(), Some(val))?;
                        }
                    }
                    b.append(true).map_err(|e| ValueError::Malformed(e.to_string()))?;
                }
            }
        }
        DataType::Struct(fields) => {
            let b = builder.as_any_mut().downcast_mut::<StructBuilder>().ok_or("struct builder mismatch")?;
            let values: Vec<Option<String>> = match v {
                None => vec![None; fields.len()],
                Some(s) => {
                    let body = inner(s, '{', '}').ok_or_else(|| malformed!("{s:?} is not a row"))?;
                    let parts = split_top(body, ", ", VALUE_BRACKETS);
                    if parts.len() != fields.len() {
                        return Err(malformed!("{s:?} has {} fields, the row type {}", parts.len(), fields.len()));
                    }
                    parts.into_iter().map(|p| p.split_once('=').map(|(_, v)| v.to_owned())).collect()
                }
            };
            for (i, (f, val)) in fields.iter().zip(&values).enumerate() {
                let child = b.field_builders_mut()[i].as_mut();
                append(child, f.data_type(), val.as_deref())?;
            }
            b.append(v.is_some());
        }
        other => return Err(malformed!("no text decoding into {other}")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray, make_builder};
    use arrow::datatypes::Int32Type;

    #[test]
    fn type_names_with_elements() {
        let ns = None;
        assert_eq!(parse_type("array(integer)", ns).unwrap(), parse_type("array<int>", ns).unwrap());
        let row = parse_type("row(a integer, b varchar)", ns).unwrap();
        assert_eq!(row, parse_type("struct<a:int,b:string>", ns).unwrap());
        assert!(matches!(parse_type("map(integer, array(double))", ns).unwrap(), DataType::Map(..)));
        assert!(parse_type("map(integer)", ns).is_err());
    }

    #[test]
    fn nested_text_decodes() {
        let dt = parse_type("array(integer)", None).unwrap();
        let mut b = make_builder(&dt, 4);
        for v in [Some("[1, 2]"), Some("[]"), None, Some("[3, null]")] {
            append(b.as_mut(), &dt, v).unwrap();
        }
        let a = b.finish();
        let l = a.as_list::<i32>();
        assert_eq!((l.len(), l.null_count(), l.value(0).as_primitive::<Int32Type>().values().to_vec()), (4, 1, vec![1, 2]));
        assert!(l.value(3).is_null(1));

        let dt = parse_type("map(integer, integer)", None).unwrap();
        let mut b = make_builder(&dt, 1);
        append(b.as_mut(), &dt, Some("{1=2, 3=4}")).unwrap();
        let a = b.finish();
        assert_eq!(a.as_map().value(0).len(), 2);

        let dt = parse_type("row(a integer, b array(varchar))", None).unwrap();
        let mut b = make_builder(&dt, 1);
        append(b.as_mut(), &dt, Some("{a=1, b=[x, y]}")).unwrap();
        let a = b.finish();
        let s = a.as_struct();
        assert_eq!(s.column(0).as_primitive::<Int32Type>().value(0), 1);
        assert_eq!(s.column(1).as_list::<i32>().value(0).len(), 2);
        assert!(append(b.as_mut(), &dt, Some("{a=1}")).is_err());
    }
}
