//! DuckDB's text of every value (its cast to VARCHAR), as a DuckDB query's GetQueryResults and
//! result CSV show it (athena-duckdb-engine.md; checked against the Python `duckdb` package by
//! `python/tests/test_duckdb_oracle.py`). Pure functions over Arrow arrays.

use std::fmt::Write;

use arrow::array::*;
use arrow::datatypes::*;

use crate::formats::result_csv::push_quoted;
use crate::formats::value_text::timestamp_value;

/// Writes the rows of `batch` as Athena's result CSV with DuckDB's text: every non-NULL value
/// quoted, NULL as an empty unquoted field.
pub fn write_duckdb_csv_rows(out: &mut Vec<u8>, batch: &RecordBatch) {
    let nulls: Vec<_> = batch.columns().iter().map(|c| c.logical_nulls()).collect();
    let mut text = String::new();
    for row in 0..batch.num_rows() {
        for (i, column) in batch.columns().iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            if nulls[i].as_ref().is_some_and(|n| n.is_null(row)) {
                continue;
            }
            text.clear();
            write_duckdb_value(&mut text, column.as_ref(), row);
            push_quoted(out, &text);
        }
        out.push(b'\n');
    }
}

/// Appends DuckDB's text of `array[row]` (not NULL at top level).
pub fn write_duckdb_value(out: &mut String, array: &dyn Array, row: usize) {
    write(out, array, row, false);
}

fn write(out: &mut String, array: &dyn Array, row: usize, nested: bool) {
    macro_rules! prim {
        ($t:ty) => {{
            let _ = write!(out, "{}", array.as_primitive::<$t>().value(row));
        }};
    }
    if nested && array.is_null(row) {
        out.push_str("NULL");
        return;
    }
    match array.data_type() {
        DataType::Null => out.push_str("NULL"),
        DataType::Boolean => out.push_str(if array.as_boolean().value(row) { "true" } else { "false" }),
        DataType::Int8 => prim!(Int8Type),
        DataType::Int16 => prim!(Int16Type),
        DataType::Int32 => prim!(Int32Type),
        DataType::Int64 => prim!(Int64Type),
        DataType::UInt8 => prim!(UInt8Type),
        DataType::UInt16 => prim!(UInt16Type),
        DataType::UInt32 => prim!(UInt32Type),
        DataType::UInt64 => prim!(UInt64Type),
        DataType::Float16 => out.push_str(&shortest_repr(format!("{:e}", f32::from(array.as_primitive::<Float16Type>().value(row))))),
        DataType::Float32 => {
            let v = array.as_primitive::<Float32Type>().value(row);
            out.push_str(&float_text(v as f64, |_| format!("{v:e}")))
        }
        DataType::Float64 => {
            let v = array.as_primitive::<Float64Type>().value(row);
            out.push_str(&float_text(v, |v| format!("{v:e}")))
        }
        DataType::Decimal128(_, s) => decimal(out, array.as_primitive::<Decimal128Type>().value(row), *s),
        DataType::Decimal256(_, s) => {
            let v = array.as_primitive::<Decimal256Type>().value(row);
            let text = v.to_string();
            match v.to_i128() {
                Some(small) => decimal(out, small, *s),
                None => out.push_str(&text),
            }
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Dictionary(..) => {
            let text = string_value(array, row);
            scalar(out, &text, nested);
        }
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => {
            let mut text = String::new();
            blob(&mut text, binary_value(array, row));
            scalar(out, &text, nested);
        }
        DataType::Date32 => scalar(out, &date(array.as_primitive::<Date32Type>().value(row) as i64), nested),
        DataType::Date64 => scalar(out, &date(array.as_primitive::<Date64Type>().value(row).div_euclid(86_400_000)), nested),
        DataType::Time32(unit) => {
            let v = match unit {
                TimeUnit::Second => array.as_primitive::<Time32SecondType>().value(row) as i64 * 1_000_000_000,
                _ => array.as_primitive::<Time32MillisecondType>().value(row) as i64 * 1_000_000,
            };
            scalar(out, &time(v, 6), nested)
        }
        DataType::Time64(TimeUnit::Nanosecond) => scalar(out, &time(array.as_primitive::<Time64NanosecondType>().value(row), 9), nested),
        DataType::Time64(_) => scalar(out, &time(array.as_primitive::<Time64MicrosecondType>().value(row) * 1000, 6), nested),
        DataType::Timestamp(unit, tz) => {
            let v = timestamp_value(array, *unit, row);
            let mut text = timestamp(v, *unit);
            if tz.is_some() {
                text.push_str("+00");
            }
            scalar(out, &text, nested)
        }
        DataType::Interval(IntervalUnit::MonthDayNano) => {
            let v = array.as_primitive::<IntervalMonthDayNanoType>().value(row);
            scalar(out, &interval(v.months, v.days, v.nanoseconds), nested)
        }
        DataType::Interval(IntervalUnit::DayTime) => {
            let v = array.as_primitive::<IntervalDayTimeType>().value(row);
            scalar(out, &interval(0, v.days, v.milliseconds as i64 * 1_000_000), nested)
        }
        DataType::Interval(IntervalUnit::YearMonth) => {
            scalar(out, &interval(array.as_primitive::<IntervalYearMonthType>().value(row), 0, 0), nested)
        }
        DataType::List(_) => list(out, array.as_list::<i32>().value(row).as_ref()),
        DataType::LargeList(_) => list(out, array.as_list::<i64>().value(row).as_ref()),
        DataType::FixedSizeList(..) => list(out, array.as_fixed_size_list().value(row).as_ref()),
        DataType::Struct(fields) => {
            let s = array.as_struct();
            out.push('{');
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push('\'');
                escape_into(out, f.name());
                out.push_str("': ");
                write(out, s.column(i).as_ref(), row, true);
            }
            out.push('}');
        }
        DataType::Map(..) => {
            let entries = array.as_map().value(row);
            out.push('{');
            for i in 0..entries.len() {
                if i > 0 {
                    out.push_str(", ");
                }
                write(out, entries.column(0).as_ref(), i, true);
                out.push('=');
                write(out, entries.column(1).as_ref(), i, true);
            }
            out.push('}');
        }
        DataType::Union(..) => {
            let u = array.as_union();
            let child = u.child(u.type_id(row));
            write(out, child.as_ref(), u.value_offset(row), nested);
        }
        other => {
            let _ = write!(out, "<{other}>");
        }
    }
}

fn list(out: &mut String, values: &dyn Array) {
    out.push('[');
    for i in 0..values.len() {
        if i > 0 {
            out.push_str(", ");
        }
        write(out, values, i, true);
    }
    out.push(']');
}

fn string_value(array: &dyn Array, row: usize) -> String {
    match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().value(row).to_owned(),
        DataType::LargeUtf8 => array.as_string::<i64>().value(row).to_owned(),
        DataType::Utf8View => array.as_string_view().value(row).to_owned(),
        DataType::Dictionary(..) => {
            let dict = array.as_any_dictionary();
            let key = dict.normalized_keys()[row];
            let mut out = String::new();
            write(&mut out, dict.values().as_ref(), key, false);
            out
        }
        _ => String::new(),
    }
}

fn binary_value(array: &dyn Array, row: usize) -> &[u8] {
    match array.data_type() {
        DataType::Binary => array.as_binary::<i32>().value(row),
        DataType::LargeBinary => array.as_binary::<i64>().value(row),
        DataType::BinaryView => array.as_binary_view().value(row),
        DataType::FixedSizeBinary(_) => array.as_fixed_size_binary().value(row),
        _ => &[],
    }
}

/// A scalar inside a list, struct or map is quoted when DuckDB would quote it: empty, leading or
/// trailing whitespace, the word NULL, or any of `"'(),:=[\]{}` (then `'` and `\` are escaped).
fn scalar(out: &mut String, text: &str, nested: bool) {
    if nested && needs_quotes(text) {
        out.push('\'');
        escape_into(out, text);
        out.push('\'');
    } else {
        out.push_str(text);
    }
}

fn needs_quotes(text: &str) -> bool {
    let b = text.as_bytes();
    b.is_empty()
        || b[0].is_ascii_whitespace()
        || (b.len() >= 2 && b[b.len() - 1].is_ascii_whitespace())
        || text.eq_ignore_ascii_case("null")
        || b.iter().any(|c| matches!(c, b'"' | b'\'' | b'(' | b')' | b',' | b':' | b'=' | b'[' | b'\\' | b']' | b'{' | b'}'))
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        if c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
}

/// Printable ASCII as is, except `\`, `'` and `"`; every other byte as `\xNN`.
fn blob(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        if (0x20..0x7f).contains(&b) && !matches!(b, b'\\' | b'\'' | b'"') {
            out.push(b as char);
        } else {
            let _ = write!(out, "\\x{b:02X}");
        }
    }
}

fn decimal(out: &mut String, v: i128, scale: i8) {
    if scale <= 0 {
        let _ = write!(out, "{v}");
        for _ in 0..(-scale) {
            out.push('0');
        }
        return;
    }
    let digits = v.unsigned_abs().to_string();
    if v < 0 {
        out.push('-');
    }
    let scale = scale as usize;
    if digits.len() <= scale {
        out.push_str("0.");
        for _ in 0..(scale - digits.len()) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let (int, frac) = digits.split_at(digits.len() - scale);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    }
}

/// Shortest round-trip digits in Python's `repr` layout (what DuckDB prints): plain notation
/// for exponents -5 < e < 16 with at least one fraction digit, else `d.ddde+XX`.
fn float_text(v: f64, sci: impl Fn(f64) -> String) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v < 0.0 { "-inf".into() } else { "inf".into() };
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0.0".into() } else { "0.0".into() };
    }
    shortest_repr(sci(v))
}

/// `{:e}` text (`-1.2345e17`) laid out as Python's `repr`.
fn shortest_repr(sci: String) -> String {
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("integer exponent");
    let (neg, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if (-5 < exp) && (exp < 16) {
        if exp >= 0 {
            let point = exp as usize + 1;
            if digits.len() <= point {
                out.push_str(&digits);
                for _ in digits.len()..point {
                    out.push('0');
                }
                out.push_str(".0");
            } else {
                out.push_str(&digits[..point]);
                out.push('.');
                out.push_str(&digits[point..]);
            }
        } else {
            out.push_str("0.");
            for _ in 0..(-exp - 1) {
                out.push('0');
            }
            out.push_str(&digits);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    out
}

/// `YYYY-MM-DD`, years before 1 as `YYYY-MM-DD (BC)` (year 0 is 1 BC).
fn date(days: i64) -> String {
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    match epoch.checked_add_signed(chrono::TimeDelta::days(days)) {
        Some(d) => ymd(d),
        None => days.to_string(),
    }
}

fn ymd(d: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    if d.year() > 0 {
        format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
    } else {
        format!("{:04}-{:02}-{:02} (BC)", 1 - d.year(), d.month(), d.day())
    }
}

/// `HH:MM:SS` and, when not zero, the fraction without trailing zeros (`digits` at most).
fn time(nanos: i64, digits: usize) -> String {
    let secs = nanos.div_euclid(1_000_000_000);
    let frac = nanos.rem_euclid(1_000_000_000);
    let mut out = format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    fraction(&mut out, frac, digits);
    out
}

fn fraction(out: &mut String, nanos: i64, digits: usize) {
    if nanos == 0 {
        return;
    }
    let text = format!("{nanos:09}");
    let text = &text[..digits.min(9)];
    let trimmed = text.trim_end_matches('0');
    if !trimmed.is_empty() {
        out.push('.');
        out.push_str(trimmed);
    }
}

fn timestamp(v: i64, unit: TimeUnit) -> String {
    let (secs, nanos, digits) = match unit {
        TimeUnit::Second => (v, 0, 0),
        TimeUnit::Millisecond => (v.div_euclid(1000), v.rem_euclid(1000) * 1_000_000, 3),
        TimeUnit::Microsecond => (v.div_euclid(1_000_000), v.rem_euclid(1_000_000) * 1000, 6),
        TimeUnit::Nanosecond => (v.div_euclid(1_000_000_000), v.rem_euclid(1_000_000_000), 9),
    };
    let Some(dt) = chrono::DateTime::from_timestamp(secs, 0) else { return v.to_string() };
    let dt = dt.naive_utc();
    let mut out = String::new();
    let day = ymd(dt.date());
    let (date, bc) = match day.strip_suffix(" (BC)") {
        Some(d) => (d.to_owned(), true),
        None => (day, false),
    };
    let _ = write!(out, "{date} {}", dt.time().format("%H:%M:%S"));
    fraction(&mut out, nanos, digits);
    if bc {
        out.push_str(" (BC)");
    }
    out
}

/// `1 year 2 months 3 days 04:05:06.5`; the time part only when not zero; `00:00:00` for zero.
fn interval(months: i32, days: i32, nanos: i64) -> String {
    let mut parts: Vec<String> = Vec::new();
    let unit = |n: i64, name: &str| format!("{n} {name}{}", if n == 1 || n == -1 { "" } else { "s" });
    let (years, months) = (months / 12, months % 12);
    if years != 0 {
        parts.push(unit(years as i64, "year"));
    }
    if months != 0 {
        parts.push(unit(months as i64, "month"));
    }
    if days != 0 {
        parts.push(unit(days as i64, "day"));
    }
    let micros = nanos / 1000;
    if micros != 0 || parts.is_empty() {
        let sign = if micros < 0 { "-" } else { "" };
        let abs = micros.unsigned_abs() as i64;
        let mut t = format!("{sign}{:02}:{:02}:{:02}", abs / 3_600_000_000, abs / 60_000_000 % 60, abs / 1_000_000 % 60);
        fraction(&mut t, (abs % 1_000_000) * 1000, 6);
        parts.push(t);
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn text(array: &dyn Array, row: usize) -> String {
        let mut s = String::new();
        write_duckdb_value(&mut s, array, row);
        s
    }

    #[test]
    fn doubles_print_as_duckdb_does() {
        let cases = [
            (1.0, "1.0"),
            (100.0, "100.0"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (1e-4, "0.0001"),
            (1e-5, "1e-05"),
            (0.30000000000000004, "0.30000000000000004"),
            (-1.5e300, "-1.5e+300"),
            (5e-324, "5e-324"),
            (f64::NEG_INFINITY, "-inf"),
            (-0.0, "-0.0"),
        ];
        for (v, want) in cases {
            assert_eq!(text(&Float64Array::from(vec![v]), 0), want, "{v:e}");
        }
        assert_eq!(text(&Float32Array::from(vec![0.1f32]), 0), "0.1");
        assert_eq!(text(&Float32Array::from(vec![3.4028235e38f32]), 0), "3.4028235e+38");
        assert_eq!(text(&Float32Array::from(vec![2.5e-5f32]), 0), "2.5e-05");
    }

    #[test]
    fn nested_strings_are_quoted_where_duckdb_quotes_them() {
        let values = StringArray::from(vec![Some("a"), Some("b c"), None, Some(""), Some("a'b"), Some("x, y"), Some("NULL"), Some(" a")]);
        let list = ListArray::new(
            Arc::new(Field::new("item", DataType::Utf8, true)),
            arrow::buffer::OffsetBuffer::from_lengths([8]),
            Arc::new(values),
            None,
        );
        assert_eq!(text(&list, 0), "[a, b c, NULL, '', 'a\\'b', 'x, y', 'NULL', ' a']");
    }

    #[test]
    fn scalars() {
        assert_eq!(blob_text(b"\x00\x09 \x0a~\x7f\x80\\'\","), "\\x00\\x09 \\x0A~\\x7F\\x80\\x5C\\x27\\x22,");
        assert_eq!(interval(14, 3, 14_706_500_000_000), "1 year 2 months 3 days 04:05:06.5");
        assert_eq!(interval(0, 0, 0), "00:00:00");
        assert_eq!(interval(0, 0, -5_400_000_000_000), "-01:30:00");
        assert_eq!(interval(-12, 0, 0), "-1 year");
        assert_eq!(interval(0, 2, 0), "2 days");
        assert_eq!(date(-719162), "0001-01-01");
        assert_eq!(date(-719163), "0001-12-31 (BC)");
        assert_eq!(timestamp(-1, TimeUnit::Microsecond), "1969-12-31 23:59:59.999999");
        assert_eq!(timestamp(1_767_225_600_100, TimeUnit::Millisecond), "2026-01-01 00:00:00.1");
        assert_eq!(time(45_296_789_000_000, 6), "12:34:56.789");
        let mut d = String::new();
        decimal(&mut d, -5, 2);
        assert_eq!(d, "-0.05");
    }

    fn blob_text(b: &[u8]) -> String {
        let mut s = String::new();
        blob(&mut s, b);
        s
    }
}
