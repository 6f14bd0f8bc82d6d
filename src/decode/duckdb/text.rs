//! DuckDB's text of values (its cast to VARCHAR, as GetQueryResults and the result CSV of a
//! DuckDB query give them) -> Arrow, into builders made by `arrow::array::make_builder` for the
//! types of [`super::types::duckdb_arrow_type`]. Unlike engine version 3's, DuckDB's nested text
//! is unambiguous: strings that need it are quoted (`['a, b', '']`) with `\'` and `\\` escapes,
//! struct keys always (`{'k': v}`), map entries are `k=v`, and an unquoted `NULL` is NULL.

use arrow::array::*;
use arrow::datatypes::*;

use crate::decode::parse::{ValueError, instant_in, malformed, parse_decimal, parse_float, parse_int};

/// Appends DuckDB's text `v` (None = NULL) of a value of type `dt` to `builder`.
pub(crate) fn append_duckdb(builder: &mut dyn ArrayBuilder, dt: &DataType, v: Option<&str>) -> Result<(), ValueError> {
    match v {
        None => append_value(builder, dt, None),
        Some(s) => append_value(builder, dt, Some(s)),
    }
}

/// One element of nested text: NULL, a scalar's text (unquoted), or nested text as written.
fn element(raw: &str) -> Result<Option<String>, ValueError> {
    let t = raw.trim();
    if t == "NULL" {
        return Ok(None);
    }
    match t.strip_prefix('\'') {
        Some(rest) => {
            let body = rest.strip_suffix('\'').ok_or_else(|| malformed!("unterminated quoted value {t:?}"))?;
            let mut out = String::with_capacity(body.len());
            let mut chars = body.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    out.push(chars.next().ok_or_else(|| malformed!("dangling escape in {t:?}"))?);
                } else {
                    out.push(c);
                }
            }
            Ok(Some(out))
        }
        None => Ok(Some(t.to_owned())),
    }
}

/// Splits nested text's body at its top-level `sep`, outside quotes and brackets.
fn split(body: &str, sep: u8) -> Result<Vec<&str>, ValueError> {
    let b = body.as_bytes();
    let (mut out, mut depth, mut start, mut i, mut quoted) = (Vec::new(), 0i32, 0usize, 0usize, false);
    while i < b.len() {
        let c = b[i];
        if quoted {
            match c {
                b'\\' => i += 1,
                b'\'' => quoted = false,
                _ => {}
            }
        } else {
            match c {
                b'\'' => quoted = true,
                b'[' | b'{' | b'(' => depth += 1,
                b']' | b'}' | b')' => depth -= 1,
                c if c == sep && depth == 0 => {
                    out.push(&body[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        i += 1;
    }
    if quoted || depth != 0 {
        return Err(malformed!("unbalanced nested value {body:?}"));
    }
    if !body.trim().is_empty() {
        out.push(&body[start..]);
    }
    Ok(out)
}

/// `key=value` of a map entry, at the first top-level `=`.
fn map_entry(entry: &str) -> Result<(&str, &str), ValueError> {
    let parts = split(entry, b'=')?;
    match parts.as_slice() {
        [k, _, ..] => Ok((k, &entry[k.len() + 1..])),
        _ => Err(malformed!("map entry {entry:?} has no '='")),
    }
}

fn body<'a>(s: &'a str, open: char, close: char, what: &str) -> Result<&'a str, ValueError> {
    s.trim().strip_prefix(open).and_then(|r| r.strip_suffix(close)).ok_or_else(|| malformed!("{s:?} is not {what}"))
}

fn append_value(builder: &mut dyn ArrayBuilder, dt: &DataType, v: Option<&str>) -> Result<(), ValueError> {
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
        DataType::Null => builder.as_any_mut().downcast_mut::<NullBuilder>().ok_or("builder mismatch")?.append_null(),
        DataType::Utf8 => prim!(StringBuilder, |s: &str| Ok::<_, ValueError>(s.to_owned())),
        DataType::Binary => prim!(BinaryBuilder, parse_blob),
        DataType::Boolean => prim!(BooleanBuilder, |s: &str| match s {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(malformed!("{s:?} is not a boolean")),
        }),
        DataType::Int8 => prim!(Int8Builder, parse_int::<i8>),
        DataType::Int16 => prim!(Int16Builder, parse_int::<i16>),
        DataType::Int32 => prim!(Int32Builder, parse_int::<i32>),
        DataType::Int64 => prim!(Int64Builder, parse_int::<i64>),
        DataType::UInt8 => prim!(UInt8Builder, |s: &str| s.parse::<u8>().map_err(|_| malformed!("{s:?} is not a UTINYINT"))),
        DataType::UInt16 => prim!(UInt16Builder, |s: &str| s.parse::<u16>().map_err(|_| malformed!("{s:?} is not a USMALLINT"))),
        DataType::UInt32 => prim!(UInt32Builder, |s: &str| s.parse::<u32>().map_err(|_| malformed!("{s:?} is not a UINTEGER"))),
        DataType::UInt64 => prim!(UInt64Builder, |s: &str| s.parse::<u64>().map_err(|_| malformed!("{s:?} is not a UBIGINT"))),
        DataType::Float32 => prim!(Float32Builder, parse_float::<f32>),
        DataType::Float64 => prim!(Float64Builder, parse_float::<f64>),
        // HUGEINT's 39 digits do not fit decimal(38, 0)'s precision but do fit its i128, which
        // DuckDB exports them in: read whole numbers as i128 directly.
        DataType::Decimal128(_, 0) => {
            prim!(Decimal128Builder, |s: &str| s.parse::<i128>().map_err(|_| malformed!("{s:?} is not a whole number")))
        }
        DataType::Decimal128(_, scale) => prim!(Decimal128Builder, |s| parse_decimal(s, *scale as u8)),
        DataType::Decimal256(_, _) => {
            prim!(Decimal256Builder, |s: &str| i256::from_string(s).ok_or_else(|| malformed!("{s:?} is not a whole number")))
        }
        DataType::Date32 => prim!(Date32Builder, parse_date),
        DataType::Timestamp(unit, tz) => {
            let parse = |s: &str| parse_timestamp(s, *unit, tz.is_some());
            match unit {
                TimeUnit::Second => prim!(TimestampSecondBuilder, parse),
                TimeUnit::Millisecond => prim!(TimestampMillisecondBuilder, parse),
                TimeUnit::Microsecond => prim!(TimestampMicrosecondBuilder, parse),
                TimeUnit::Nanosecond => prim!(TimestampNanosecondBuilder, parse),
            }
        }
        DataType::Time64(TimeUnit::Nanosecond) => prim!(Time64NanosecondBuilder, |s| parse_time(s, 1)),
        DataType::Time64(_) => prim!(Time64MicrosecondBuilder, |s| parse_time(s, 1000)),
        DataType::Interval(IntervalUnit::MonthDayNano) => prim!(IntervalMonthDayNanoBuilder, parse_interval),
        DataType::Dictionary(key, _) => {
            macro_rules! dict {
                ($k:ty) => {{
                    let b = builder.as_any_mut().downcast_mut::<StringDictionaryBuilder<$k>>().ok_or("enum builder mismatch")?;
                    match v {
                        None => b.append_null(),
                        Some(s) => {
                            b.append(s).map_err(|e| ValueError::Malformed(e.to_string()))?;
                        }
                    }
                }};
            }
            match key.as_ref() {
                DataType::UInt8 => dict!(UInt8Type),
                DataType::UInt16 => dict!(UInt16Type),
                _ => dict!(UInt32Type),
            }
        }
        DataType::List(item) => {
            let b = builder.as_any_mut().downcast_mut::<ListBuilder<Box<dyn ArrayBuilder>>>().ok_or("list builder mismatch")?;
            match v {
                None => b.append_null(),
                Some(s) => {
                    for e in split(body(s, '[', ']', "a list")?, b',')? {
                        append_value(b.values().as_mut(), item.data_type(), element(e)?.as_deref())?;
                    }
                    b.append(true);
                }
            }
        }
        DataType::FixedSizeList(item, n) => {
            let b = builder.as_any_mut().downcast_mut::<FixedSizeListBuilder<Box<dyn ArrayBuilder>>>().ok_or("array builder mismatch")?;
            match v {
                None => {
                    for _ in 0..*n {
                        append_value(b.values().as_mut(), item.data_type(), None)?;
                    }
                    b.append(false);
                }
                Some(s) => {
                    let parts = split(body(s, '[', ']', "an array")?, b',')?;
                    if parts.len() != *n as usize {
                        return Err(malformed!("{s:?} has {} elements, the array type {n}", parts.len()));
                    }
                    for e in parts {
                        append_value(b.values().as_mut(), item.data_type(), element(e)?.as_deref())?;
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
                    for e in split(body(s, '{', '}', "a map")?, b',')? {
                        let (k, val) = map_entry(e)?;
                        let key = element(k)?.ok_or_else(|| malformed!("map entry {e:?} has a NULL key"))?;
                        append_value(b.keys().as_mut(), kv[0].data_type(), Some(&key))?;
                        append_value(b.values().as_mut(), kv[1].data_type(), element(val)?.as_deref())?;
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
                    let parts = split(body(s, '{', '}', "a struct")?, b',')?;
                    if parts.len() != fields.len() {
                        return Err(malformed!("{s:?} has {} fields, the struct type {}", parts.len(), fields.len()));
                    }
                    let mut out = Vec::with_capacity(parts.len());
                    for p in parts {
                        let members = split(p, b':')?;
                        let [key, ..] = members.as_slice() else { return Err(malformed!("struct member {p:?} has no ':'")) };
                        out.push(element(&p[key.len() + 1..])?);
                    }
                    out
                }
            };
            for (i, (f, val)) in fields.iter().zip(&values).enumerate() {
                append_value(b.field_builders_mut()[i].as_mut(), f.data_type(), val.as_deref())?;
            }
            b.append(v.is_some());
        }
        DataType::Union(..) => {
            return Err("a UNION value's text does not say its member: read the result as an Arrow stream (GetQueryResultStream) or cast the column to one type".into());
        }
        other => return Err(malformed!("no DuckDB text decoding into {other}")),
    }
    Ok(())
}

/// `\xNN` escapes are bytes, every other character its UTF-8 bytes.
fn parse_blob(s: &str) -> Result<Vec<u8>, ValueError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            let hex = b.get(i + 2..i + 4).filter(|_| matches!(b.get(i + 1), Some(b'x' | b'X')));
            let byte = hex.and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
            out.push(byte.ok_or_else(|| malformed!("bad escape in BLOB text {s:?}"))?);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// `YYYY-MM-DD` (`(BC)` years before 1): the day number; `infinity` as DuckDB stores it.
fn parse_date(s: &str) -> Result<i32, ValueError> {
    match s {
        "infinity" => return Ok(i32::MAX),
        "-infinity" => return Ok(-i32::MAX),
        _ => {}
    }
    let (text, bc) = match s.strip_suffix(" (BC)") {
        Some(t) => (t, true),
        None => (s, false),
    };
    let d = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| malformed!("{s:?} is not a date"))?;
    let d = if bc {
        use chrono::Datelike;
        d.with_year(1 - d.year()).ok_or_else(|| malformed!("{s:?} is not a date"))?
    } else {
        d
    };
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    i32::try_from((d - epoch).num_days()).map_err(|_| malformed!("{s:?} is out of range"))
}

/// `HH:MM:SS[.fraction]` in units of `nanos_per_unit` nanoseconds.
fn parse_time(s: &str, nanos_per_unit: i64) -> Result<i64, ValueError> {
    let bad = || malformed!("{s:?} is not a time");
    let (clock, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut parts = clock.split(':');
    let mut next = || parts.next().and_then(|p| p.parse::<i64>().ok()).ok_or_else(bad);
    let (h, m, sec) = (next()?, next()?, next()?);
    let nanos = fraction_nanos(frac).ok_or_else(bad)?;
    Ok(((h * 3600 + m * 60 + sec) * 1_000_000_000 + nanos) / nanos_per_unit)
}

fn fraction_nanos(frac: &str) -> Option<i64> {
    if frac.is_empty() {
        return Some(0);
    }
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(frac.parse::<i64>().ok()? * 10i64.pow(9 - frac.len() as u32))
}

/// `YYYY-MM-DD HH:MM:SS[.fraction][ (BC)]`, with time zones `+HH[:MM]` after the clock.
fn parse_timestamp(s: &str, unit: TimeUnit, zoned: bool) -> Result<i64, ValueError> {
    match s {
        "infinity" => return Ok(i64::MAX),
        "-infinity" => return Ok(-i64::MAX),
        _ => {}
    }
    let bad = || malformed!("{s:?} is not a timestamp");
    let (text, bc) = match s.strip_suffix(" (BC)") {
        Some(t) => (t, true),
        None => (s, false),
    };
    let (date, rest) = text.split_once(' ').ok_or_else(bad)?;
    let (clock, offset_secs) = match rest.rfind(['+', '-']).filter(|_| zoned) {
        Some(at) => {
            let (clock, off) = rest.split_at(at);
            let sign = if off.starts_with('-') { -1 } else { 1 };
            let mut hm = off[1..].split(':');
            let h: i64 = hm.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
            let m: i64 = hm.next().map_or(Some(0), |v| v.parse().ok()).ok_or_else(bad)?;
            (clock, sign * (h * 3600 + m * 60))
        }
        None => (rest, 0),
    };
    let day = parse_date(&if bc { format!("{date} (BC)") } else { date.to_owned() })? as i64;
    let nanos_of_day = parse_time(clock, 1)?;
    let secs = day * 86_400 + nanos_of_day.div_euclid(1_000_000_000) - offset_secs;
    instant_in(secs, nanos_of_day.rem_euclid(1_000_000_000) as u32, unit)
}

/// `1 year 2 months 3 days 04:05:06.5`, `-01:30:00`, `00:00:00`.
fn parse_interval(s: &str) -> Result<IntervalMonthDayNano, ValueError> {
    let bad = || malformed!("{s:?} is not an interval");
    let (mut months, mut days, mut nanos) = (0i32, 0i32, 0i64);
    let words: Vec<&str> = s.split_whitespace().collect();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        if w.contains(':') {
            let (neg, clock) = match w.strip_prefix('-') {
                Some(c) => (true, c),
                None => (false, w),
            };
            let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
            let parts: Vec<i64> = hms.split(':').map(|p| p.parse::<i64>().map_err(|_| bad())).collect::<Result<_, _>>()?;
            let [h, m, sec] = parts.as_slice() else { return Err(bad()) };
            let total = (h * 3600 + m * 60 + sec) * 1_000_000_000 + fraction_nanos(frac).ok_or_else(bad)?;
            nanos += if neg { -total } else { total };
            i += 1;
            continue;
        }
        let n: i32 = w.parse().map_err(|_| bad())?;
        let unit = words.get(i + 1).ok_or_else(bad)?;
        match unit.trim_end_matches('s') {
            "year" => months += n * 12,
            "month" | "mon" => months += n,
            "day" => days += n,
            _ => return Err(bad()),
        }
        i += 2;
    }
    Ok(IntervalMonthDayNano::new(months, days, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(dt: &DataType, v: &str) -> ArrayRef {
        let mut b = make_builder(dt, 1);
        append_duckdb(b.as_mut(), dt, Some(v)).unwrap();
        b.finish()
    }

    #[test]
    fn scalars() {
        assert_eq!(parse_blob("\\x00ab\\x5C").unwrap(), vec![0, b'a', b'b', b'\\']);
        assert_eq!(parse_interval("1 year 2 months 3 days 04:05:06.5").unwrap(), IntervalMonthDayNano::new(14, 3, 14_706_500_000_000));
        assert_eq!(parse_interval("-01:30:00").unwrap(), IntervalMonthDayNano::new(0, 0, -5_400_000_000_000));
        assert_eq!(parse_interval("-1 year").unwrap(), IntervalMonthDayNano::new(-12, 0, 0));
        assert_eq!(parse_date("0001-12-31 (BC)").unwrap(), -719163);
        assert_eq!(parse_timestamp("2026-01-02 01:04:05+00", TimeUnit::Microsecond, true).unwrap(), 1_767_315_845_000_000);
        assert_eq!(parse_timestamp("2026-01-02 03:04:05+02", TimeUnit::Second, true).unwrap(), 1_767_315_845);
        assert_eq!(parse_timestamp("1969-12-31 23:59:59.999999", TimeUnit::Microsecond, false).unwrap(), -1);
        assert_eq!(parse_time("12:34:56.789", 1000).unwrap(), 45_296_789_000);
    }

    #[test]
    fn nested() {
        let list = DataType::List(std::sync::Arc::new(Field::new("l", DataType::Utf8, true)));
        let a = one(&list, "[a, b c, NULL, '', 'x, y', 'NULL', 'a\\'b']");
        let values = a.as_list::<i32>().value(0);
        let s = values.as_string::<i32>();
        let got: Vec<Option<&str>> = s.iter().collect();
        assert_eq!(got, vec![Some("a"), Some("b c"), None, Some(""), Some("x, y"), Some("NULL"), Some("a'b")]);
        let st = DataType::Struct(Fields::from(vec![Field::new("k y", DataType::Utf8, true), Field::new("n", DataType::Int32, true)]));
        let a = one(&st, "{'k y': 'v\\'s', 'n': NULL}");
        let s = a.as_struct();
        assert_eq!((s.column(0).as_string::<i32>().value(0), s.column(1).is_null(0)), ("v's", true));
        let map = arrow::datatypes::DataType::Map(
            std::sync::Arc::new(Field::new(
                "entries",
                DataType::Struct(Fields::from(vec![Field::new("key", DataType::Utf8, false), Field::new("value", DataType::Int32, true)])),
                false,
            )),
            false,
        );
        let a = one(&map, "{k=1, 'a=b'=NULL}");
        let entries = a.as_map().value(0);
        assert_eq!(entries.column(0).as_string::<i32>().value(1), "a=b");
        assert!(entries.column(1).is_null(1));
    }
}
