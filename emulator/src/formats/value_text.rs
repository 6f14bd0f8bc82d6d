//! Athena's text form of every value (athena-behaviour.md section 4), the byte-exact result CSV
//! (section 3), and the reader GetQueryResults pages from. Pure functions over Arrow arrays.

use std::fmt::Write;

use arrow::array::*;
use arrow::datatypes::*;

/// Java's `Double.toString`: plain notation in [1e-3, 1e7), else `d.dddE[-]n`; `NaN`, `Infinity`.
pub fn java_double(v: f64) -> String {
    java_float_text(v.is_nan(), v.is_infinite(), v.is_sign_negative(), v == 0.0, v.abs(), format!("{v}"), format!("{v:e}"))
}

/// Java's `Float.toString`, with the shortest digits that identify the 32-bit value.
pub fn java_float(v: f32) -> String {
    java_float_text(v.is_nan(), v.is_infinite(), v.is_sign_negative(), v == 0.0, v.abs() as f64, format!("{v}"), format!("{v:e}"))
}

fn java_float_text(nan: bool, inf: bool, neg: bool, zero: bool, abs: f64, plain: String, sci: String) -> String {
    if nan {
        return "NaN".into();
    }
    if inf {
        return if neg { "-Infinity".into() } else { "Infinity".into() };
    }
    if zero {
        return if neg { "-0.0".into() } else { "0.0".into() };
    }
    if (1e-3..1e7).contains(&abs) {
        if plain.contains('.') { plain } else { plain + ".0" }
    } else {
        let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
        if mantissa.contains('.') { format!("{mantissa}E{exp}") } else { format!("{mantissa}.0E{exp}") }
    }
}

/// The raw value of a timestamp array of `unit` at `row`.
fn timestamp_value(array: &dyn Array, unit: TimeUnit, row: usize) -> i64 {
    match unit {
        TimeUnit::Second => array.as_primitive::<TimestampSecondType>().value(row),
        TimeUnit::Millisecond => array.as_primitive::<TimestampMillisecondType>().value(row),
        TimeUnit::Microsecond => array.as_primitive::<TimestampMicrosecondType>().value(row),
        TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().value(row),
    }
}

/// Appends the Athena text of `array[row]` (which must not be NULL at top level).
pub fn write_value(out: &mut String, array: &dyn Array, row: usize) {
    macro_rules! prim {
        ($t:ty) => {{
            let _ = write!(out, "{}", array.as_primitive::<$t>().value(row));
        }};
    }
    match array.data_type() {
        DataType::Null => out.push_str("null"),
        DataType::Boolean => out.push_str(if array.as_boolean().value(row) { "true" } else { "false" }),
        DataType::Int8 => prim!(Int8Type),
        DataType::Int16 => prim!(Int16Type),
        DataType::Int32 => prim!(Int32Type),
        DataType::Int64 => prim!(Int64Type),
        DataType::UInt8 => prim!(UInt8Type),
        DataType::UInt16 => prim!(UInt16Type),
        DataType::UInt32 => prim!(UInt32Type),
        DataType::UInt64 => prim!(UInt64Type),
        DataType::Float16 => out.push_str(&java_float(array.as_primitive::<Float16Type>().value(row).to_f32())),
        DataType::Float32 => out.push_str(&java_float(array.as_primitive::<Float32Type>().value(row))),
        DataType::Float64 => out.push_str(&java_double(array.as_primitive::<Float64Type>().value(row))),
        DataType::Decimal128(p, s) => {
            out.push_str(&Decimal128Type::format_decimal(array.as_primitive::<Decimal128Type>().value(row), *p, *s))
        }
        DataType::Decimal256(p, s) => {
            out.push_str(&Decimal256Type::format_decimal(array.as_primitive::<Decimal256Type>().value(row), *p, *s))
        }
        DataType::Utf8 => out.push_str(array.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => out.push_str(array.as_string::<i64>().value(row)),
        DataType::Utf8View => out.push_str(array.as_string_view().value(row)),
        DataType::Binary => spaced_hex(out, array.as_binary::<i32>().value(row)),
        DataType::LargeBinary => spaced_hex(out, array.as_binary::<i64>().value(row)),
        DataType::BinaryView => spaced_hex(out, array.as_binary_view().value(row)),
        DataType::FixedSizeBinary(_) => spaced_hex(out, array.as_fixed_size_binary().value(row)),
        DataType::Date32 => {
            let d = array.as_primitive::<Date32Type>().value_as_date(row).expect("date in range");
            let _ = write!(out, "{}", d.format("%Y-%m-%d"));
        }
        DataType::Date64 => {
            let d = array.as_primitive::<Date64Type>().value_as_date(row).expect("date in range");
            let _ = write!(out, "{}", d.format("%Y-%m-%d"));
        }
        DataType::Timestamp(unit, tz) => write_timestamp(out, timestamp_value(array, *unit, row), *unit, tz.as_deref()),
        DataType::Time32(unit) => {
            let v = match unit {
                TimeUnit::Second => array.as_primitive::<Time32SecondType>().value(row) as i64 * 1_000_000_000,
                _ => array.as_primitive::<Time32MillisecondType>().value(row) as i64 * 1_000_000,
            };
            write_time(out, v);
        }
        DataType::Time64(unit) => {
            let v = match unit {
                TimeUnit::Microsecond => array.as_primitive::<Time64MicrosecondType>().value(row) * 1000,
                _ => array.as_primitive::<Time64NanosecondType>().value(row),
            };
            write_time(out, v);
        }
        DataType::List(_) => write_list(out, &array.as_list::<i32>().value(row)),
        DataType::LargeList(_) => write_list(out, &array.as_list::<i64>().value(row)),
        DataType::FixedSizeList(_, _) => write_list(out, &array.as_fixed_size_list().value(row)),
        DataType::Map(_, _) => {
            let entries = array.as_map().value(row);
            out.push('{');
            for i in 0..entries.len() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_nested(out, entries.column(0).as_ref(), i);
                out.push('=');
                write_nested(out, entries.column(1).as_ref(), i);
            }
            out.push('}');
        }
        DataType::Struct(fields) => {
            let s = array.as_struct();
            out.push('{');
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(f.name());
                out.push('=');
                write_nested(out, s.column(i).as_ref(), row);
            }
            out.push('}');
        }
        DataType::Dictionary(_, _) => {
            let dict = array.as_any_dictionary();
            let key = dict.normalized_keys()[row];
            write_nested(out, dict.values().as_ref(), key);
        }
        _ => {
            let f = arrow::util::display::ArrayFormatter::try_new(array, &Default::default()).expect("displayable");
            let _ = write!(out, "{}", f.value(row));
        }
    }
}

fn write_nested(out: &mut String, array: &dyn Array, row: usize) {
    if array.is_null(row) || array.data_type() == &DataType::Null { out.push_str("null") } else { write_value(out, array, row) }
}

fn write_list(out: &mut String, values: &dyn Array) {
    out.push('[');
    for i in 0..values.len() {
        if i > 0 {
            out.push_str(", ");
        }
        write_nested(out, values, i);
    }
    out.push(']');
}

fn spaced_hex(out: &mut String, bytes: &[u8]) {
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{b:02x}");
    }
}

fn write_time(out: &mut String, nanos: i64) {
    let secs = nanos.div_euclid(1_000_000_000);
    let millis = nanos.rem_euclid(1_000_000_000) / 1_000_000;
    let _ = write!(out, "{:02}:{:02}:{:02}.{millis:03}", secs / 3600, secs / 60 % 60, secs % 60);
}

fn write_timestamp(out: &mut String, v: i64, unit: TimeUnit, tz: Option<&str>) {
    let (secs, nanos, digits) = match unit {
        TimeUnit::Second => (v, 0, 0),
        TimeUnit::Millisecond => (v.div_euclid(1000), v.rem_euclid(1000) * 1_000_000, 3),
        TimeUnit::Microsecond => (v.div_euclid(1_000_000), v.rem_euclid(1_000_000) * 1000, 6),
        TimeUnit::Nanosecond => (v.div_euclid(1_000_000_000), v.rem_euclid(1_000_000_000), 9),
    };
    let Some(utc) = chrono::DateTime::from_timestamp(secs, nanos as u32) else {
        out.push_str("<out of range>");
        return;
    };
    // Trino prints a `timestamp with time zone` as the wall clock in its own zone, then the zone.
    let zone = tz.map(Zone::parse);
    let local = match &zone {
        Some(z) => utc.naive_utc() + chrono::Duration::seconds(z.offset_at(&utc) as i64),
        None => utc.naive_utc(),
    };
    let _ = write!(out, "{}", local.format("%Y-%m-%d %H:%M:%S"));
    if digits > 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(&frac[..digits]);
    }
    if let Some(z) = zone {
        out.push(' ');
        out.push_str(&z.label);
    }
}

/// A time zone as Trino names it in text: `UTC` for every zero offset spelling, `+05:30` for
/// offsets, region names (`Asia/Tokyo`) as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    pub label: String,
    kind: ZoneKind,
}

#[derive(Debug, Clone, PartialEq)]
enum ZoneKind {
    Fixed(i32),
    Named(chrono_tz::Tz),
}

impl Zone {
    /// Any zone Arrow or Trino spells: `UTC`, `Z`, `+00:00`, `+09:00`, `-0530`, `Asia/Tokyo`.
    /// An unknown name is kept as a label at offset 0 (Arrow refuses such zones earlier).
    pub fn parse(tz: &str) -> Zone {
        Self::try_parse(tz).unwrap_or(Zone { label: tz.to_owned(), kind: ZoneKind::Fixed(0) })
    }

    pub fn try_parse(tz: &str) -> Option<Zone> {
        let t = tz.trim();
        if ["utc", "z", "gmt", "ut", "etc/utc", "etc/gmt", "zulu", "universal"].contains(&t.to_ascii_lowercase().as_str()) {
            return Some(Zone { label: "UTC".into(), kind: ZoneKind::Fixed(0) });
        }
        if let Some(secs) = parse_offset(t) {
            if secs == 0 {
                return Some(Zone { label: "UTC".into(), kind: ZoneKind::Fixed(0) });
            }
            let (sign, abs) = if secs < 0 { ('-', -secs) } else { ('+', secs) };
            return Some(Zone { label: format!("{sign}{:02}:{:02}", abs / 3600, abs / 60 % 60), kind: ZoneKind::Fixed(secs) });
        }
        let named: chrono_tz::Tz = t.parse().ok()?;
        Some(Zone { label: named.name().to_owned(), kind: ZoneKind::Named(named) })
    }

    /// Seconds east of UTC at the instant `utc`.
    pub fn offset_at(&self, utc: &chrono::DateTime<chrono::Utc>) -> i32 {
        use chrono::{Offset, TimeZone};
        match &self.kind {
            ZoneKind::Fixed(s) => *s,
            ZoneKind::Named(tz) => tz.offset_from_utc_datetime(&utc.naive_utc()).fix().local_minus_utc(),
        }
    }

    /// The instant of a wall-clock time in this zone (the earlier one where clocks go back).
    pub fn instant_of(&self, local: chrono::NaiveDateTime) -> Option<chrono::DateTime<chrono::Utc>> {
        use chrono::TimeZone;
        match &self.kind {
            ZoneKind::Fixed(s) => Some(local.and_utc() - chrono::Duration::seconds(*s as i64)),
            ZoneKind::Named(tz) => tz.from_local_datetime(&local).earliest().map(|t| t.with_timezone(&chrono::Utc)),
        }
    }

    /// The zone as Arrow types carry it.
    pub fn arrow_name(&self) -> String {
        match &self.kind {
            ZoneKind::Fixed(0) => "UTC".into(),
            ZoneKind::Fixed(_) => self.label.clone(),
            ZoneKind::Named(tz) => tz.name().to_owned(),
        }
    }
}

/// Seconds east of UTC for `±HH:MM`, `±HHMM` or `±HH`.
fn parse_offset(tz: &str) -> Option<i32> {
    let sign = match tz.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let rest = &tz[1..];
    let (h, m) = match rest.split_once(':') {
        Some(hm) => hm,
        None if rest.len() == 4 => rest.split_at(2),
        None => (rest, "0"),
    };
    let (h, m) = (h.parse::<i32>().ok()?, m.parse::<i32>().ok()?);
    (h <= 14 && m < 60).then_some(sign * (h * 3600 + m * 60))
}

/// Writes the rows of `batch` as Athena's result CSV: every non-NULL value quoted, `"` doubled,
/// NULL as an empty unquoted field, `\n` after every row.
pub fn write_csv_rows(out: &mut Vec<u8>, batch: &RecordBatch, scratch: &mut String) {
    // Each column's array is downcast once per batch; the common types are written straight into
    // `out` (numbers, dates and timestamps need no quote escaping), the rest through their text.
    let columns: Vec<CsvColumn<'_>> = batch.columns().iter().map(|c| CsvColumn::new(c.as_ref())).collect();
    // Logical nulls: a NullArray (`SELECT NULL`) has no validity buffer but is all NULL.
    let nulls: Vec<_> = batch.columns().iter().map(|c| c.logical_nulls()).collect();
    let mut ints = itoa::Buffer::new();
    for row in 0..batch.num_rows() {
        for (i, col) in columns.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            if nulls[i].as_ref().is_some_and(|n| n.is_null(row)) {
                continue;
            }
            col.write(out, row, scratch, &mut ints);
        }
        out.push(b'\n');
    }
}

/// A column of a batch, downcast for writing its values as Athena's CSV does.
enum CsvColumn<'a> {
    Boolean(&'a BooleanArray),
    Int8(&'a Int8Array),
    Int16(&'a Int16Array),
    Int32(&'a Int32Array),
    Int64(&'a Int64Array),
    Float64(&'a Float64Array),
    Decimal(&'a Decimal128Array, u8),
    Utf8(&'a StringArray),
    Date(&'a Date32Array),
    /// Without a time zone; the unit's fraction digits.
    Timestamp(&'a dyn Array, TimeUnit),
    Other(&'a dyn Array),
}

impl<'a> CsvColumn<'a> {
    fn new(array: &'a dyn Array) -> Self {
        match array.data_type() {
            DataType::Boolean => CsvColumn::Boolean(array.as_boolean()),
            DataType::Int8 => CsvColumn::Int8(array.as_primitive()),
            DataType::Int16 => CsvColumn::Int16(array.as_primitive()),
            DataType::Int32 => CsvColumn::Int32(array.as_primitive()),
            DataType::Int64 => CsvColumn::Int64(array.as_primitive()),
            DataType::Float64 => CsvColumn::Float64(array.as_primitive()),
            DataType::Decimal128(_, s) if (0..=38).contains(s) => CsvColumn::Decimal(array.as_primitive(), *s as u8),
            DataType::Utf8 => CsvColumn::Utf8(array.as_string()),
            DataType::Date32 => CsvColumn::Date(array.as_primitive()),
            DataType::Timestamp(unit, None) => CsvColumn::Timestamp(array, *unit),
            _ => CsvColumn::Other(array),
        }
    }

    fn write(&self, out: &mut Vec<u8>, row: usize, scratch: &mut String, ints: &mut itoa::Buffer) {
        let quoted = |out: &mut Vec<u8>, text: &[u8]| {
            out.push(b'"');
            out.extend_from_slice(text);
            out.push(b'"');
        };
        match self {
            CsvColumn::Boolean(a) => quoted(out, if a.value(row) { b"true" } else { b"false" }),
            CsvColumn::Int8(a) => quoted(out, ints.format(a.value(row)).as_bytes()),
            CsvColumn::Int16(a) => quoted(out, ints.format(a.value(row)).as_bytes()),
            CsvColumn::Int32(a) => quoted(out, ints.format(a.value(row)).as_bytes()),
            CsvColumn::Int64(a) => quoted(out, ints.format(a.value(row)).as_bytes()),
            CsvColumn::Float64(a) => {
                let v = a.value(row);
                if v.is_finite() && (1e-3..1e7).contains(&v.abs()) {
                    // Java's plain range: Rust's shortest digits, with `.0` for whole numbers.
                    out.push(b'"');
                    let start = out.len();
                    let _ = std::io::Write::write_fmt(out, format_args!("{v}"));
                    if !out[start..].contains(&b'.') {
                        out.extend_from_slice(b".0");
                    }
                    out.push(b'"');
                } else {
                    quoted(out, java_double(v).as_bytes());
                }
            }
            CsvColumn::Decimal(a, scale) => {
                out.push(b'"');
                write_decimal(out, a.value(row), *scale, ints);
                out.push(b'"');
            }
            CsvColumn::Utf8(a) => push_quoted(out, a.value(row)),
            CsvColumn::Date(a) => {
                out.push(b'"');
                write_date(out, i64::from(a.value(row)));
                out.push(b'"');
            }
            CsvColumn::Timestamp(a, unit) => {
                out.push(b'"');
                write_naive_timestamp(out, timestamp_value(*a, *unit, row), *unit);
                out.push(b'"');
            }
            CsvColumn::Other(a) => {
                scratch.clear();
                write_value(scratch, *a, row);
                push_quoted(out, scratch);
            }
        }
    }
}

/// `v` with `scale` fraction digits, as arrow's decimal text (`-0.05`, `12.30`).
fn write_decimal(out: &mut Vec<u8>, v: i128, scale: u8, ints: &mut itoa::Buffer) {
    if v < 0 {
        out.push(b'-');
    }
    let digits = ints.format(v.unsigned_abs()).as_bytes();
    let scale = scale as usize;
    if scale == 0 {
        out.extend_from_slice(digits);
    } else if digits.len() > scale {
        let (int, frac) = digits.split_at(digits.len() - scale);
        out.extend_from_slice(int);
        out.push(b'.');
        out.extend_from_slice(frac);
    } else {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', scale - digits.len()));
        out.extend_from_slice(digits);
    }
}

/// `n` as exactly `width` decimal digits.
fn push_digits(out: &mut Vec<u8>, n: u32, width: usize) {
    let mut buf = [b'0'; 10];
    let mut n = n;
    for k in (0..width).rev() {
        buf[k] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend_from_slice(&buf[..width]);
}

/// `YYYY-MM-DD` of a day count since 1970-01-01 (H. Hinnant's civil_from_days); chrono's text
/// outside years 0..=9999.
fn write_date(out: &mut Vec<u8>, days: i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    if !(0..=9999).contains(&y) {
        let date = chrono::NaiveDate::from_num_days_from_ce_opt((days + 719_163) as i32);
        let _ = std::io::Write::write_fmt(out, format_args!("{}", date.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default()));
        return;
    }
    push_digits(out, y as u32, 4);
    out.push(b'-');
    push_digits(out, m as u32, 2);
    out.push(b'-');
    push_digits(out, d as u32, 2);
}

/// A timestamp without a zone, as [`write_timestamp`] writes it.
fn write_naive_timestamp(out: &mut Vec<u8>, v: i64, unit: TimeUnit) {
    let (per_sec, digits) = match unit {
        TimeUnit::Second => (1, 0),
        TimeUnit::Millisecond => (1_000, 3),
        TimeUnit::Microsecond => (1_000_000, 6),
        TimeUnit::Nanosecond => (1_000_000_000, 9),
    };
    let (secs, frac) = (v.div_euclid(per_sec), v.rem_euclid(per_sec));
    let (days, clock) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let start = out.len();
    write_date(out, days);
    if out.len() - start != 10 {
        // Outside years 0..=9999: the general path.
        out.truncate(start);
        let mut text = String::new();
        write_timestamp(&mut text, v, unit, None);
        out.extend_from_slice(text.as_bytes());
        return;
    }
    out.push(b' ');
    push_digits(out, (clock / 3600) as u32, 2);
    out.push(b':');
    push_digits(out, (clock / 60 % 60) as u32, 2);
    out.push(b':');
    push_digits(out, (clock % 60) as u32, 2);
    if digits > 0 {
        out.push(b'.');
        push_digits(out, frac as u32, digits);
    }
}

/// The header line: quoted column names.
pub fn csv_header(names: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_quoted(&mut out, n);
    }
    out.push(b'\n');
    out
}

fn push_quoted(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    if memchr::memchr(b'"', s.as_bytes()).is_some() {
        out.extend_from_slice(s.replace('"', "\"\"").as_bytes());
    } else {
        out.extend_from_slice(s.as_bytes());
    }
    out.push(b'"');
}

/// Reads one record of Athena's CSV at `pos`: `(fields, next position)`, or `None` at the end.
/// A quoted field is a value (`""` = empty string), an empty unquoted field is NULL.
pub fn read_csv_record(buf: &[u8], mut pos: usize) -> Option<(Vec<Option<String>>, usize)> {
    if pos >= buf.len() {
        return None;
    }
    let mut fields = Vec::new();
    loop {
        if buf.get(pos) == Some(&b'"') {
            let mut value = Vec::new();
            pos += 1;
            while pos < buf.len() {
                if buf[pos] == b'"' {
                    if buf.get(pos + 1) == Some(&b'"') {
                        value.push(b'"');
                        pos += 2;
                    } else {
                        pos += 1;
                        break;
                    }
                } else {
                    value.push(buf[pos]);
                    pos += 1;
                }
            }
            fields.push(Some(String::from_utf8_lossy(&value).into_owned()));
        } else {
            let end = buf[pos..].iter().position(|&b| b == b',' || b == b'\n').map_or(buf.len(), |i| pos + i);
            fields.push(if end == pos { None } else { Some(String::from_utf8_lossy(&buf[pos..end]).into_owned()) });
            pos = end;
        }
        match buf.get(pos) {
            Some(b',') => pos += 1,
            Some(b'\n') => return Some((fields, pos + 1)),
            _ => return Some((fields, buf.len())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn java_text_of_floats() {
        assert_eq!(java_double(0.25), "0.25");
        assert_eq!(java_double(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(java_double(1e-7), "1.0E-7");
        assert_eq!(java_double(1e20), "1.0E20");
        assert_eq!(java_double(1.5e20), "1.5E20");
        assert_eq!(java_double(1.0), "1.0");
        assert_eq!(java_double(-2.0), "-2.0");
        assert_eq!(java_double(f64::NAN), "NaN");
        assert_eq!(java_double(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(java_double(1e7), "1.0E7");
        assert_eq!(java_double(9999999.0), "9999999.0");
        assert_eq!(java_float(0.5), "0.5");
        assert_eq!(java_float(1e20), "1.0E20");
        assert_eq!(java_float(0.1), "0.1");
        assert_eq!(java_float(f32::INFINITY), "Infinity");
    }

    #[test]
    fn csv_rows_quote_values_and_leave_null_empty() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("i", DataType::Int32, true),
            Field::new("s", DataType::Utf8, true),
            Field::new("q", DataType::Utf8, true),
            Field::new("n", DataType::Utf8, true),
            Field::new("empty", DataType::Utf8, true),
            Field::new("vb", DataType::Binary, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int32Array::from(vec![1])),
                Arc::new(StringArray::from(vec!["it's"])),
                Arc::new(StringArray::from(vec!["a\"b"])),
                Arc::new(StringArray::from(vec![None::<&str>])),
                Arc::new(StringArray::from(vec![""])),
                Arc::new(BinaryArray::from(vec![&[1u8, 2][..]])),
            ],
        )
        .unwrap();
        let mut out = csv_header(&["i".into(), "s".into()]);
        write_csv_rows(&mut out, &batch, &mut String::new());
        assert_eq!(String::from_utf8(out).unwrap(), "\"i\",\"s\"\n\"1\",\"it's\",\"a\"\"b\",,\"\",\"01 02\"\n");
    }

    #[test]
    fn csv_reader_keeps_null_and_empty_apart() {
        let buf = b"\"a\",,\"\"\n\n\"x\ny\",\"q\"\"\"\n";
        let (r1, p) = read_csv_record(buf, 0).unwrap();
        assert_eq!(r1, vec![Some("a".into()), None, Some("".into())]);
        let (r2, p) = read_csv_record(buf, p).unwrap();
        assert_eq!(r2, vec![None]);
        let (r3, p) = read_csv_record(buf, p).unwrap();
        assert_eq!(r3, vec![Some("x\ny".into()), Some("q\"".into())]);
        assert!(read_csv_record(buf, p).is_none());
    }

    #[test]
    fn nested_and_temporal_text() {
        let list = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1), None, Some(2)])]);
        let mut s = String::new();
        write_value(&mut s, &list, 0);
        assert_eq!(s, "[1, null, 2]");
        let ts = TimestampMillisecondArray::from(vec![1_483_228_800_000]);
        s.clear();
        write_value(&mut s, &ts, 0);
        assert_eq!(s, "2017-01-01 00:00:00.000");
        let tz = TimestampMillisecondArray::from(vec![0]).with_timezone("+09:00");
        s.clear();
        write_value(&mut s, &tz, 0);
        assert_eq!(s, "1970-01-01 09:00:00.000 +09:00");
        // Named zones: the wall clock in the zone, daylight saving included (athena-behaviour.md 4).
        let cases = [
            (0, "Asia/Tokyo", "1970-01-01 09:00:00.000 Asia/Tokyo"),
            (0, "UTC", "1970-01-01 00:00:00.000 UTC"),
            (0, "+00:00", "1970-01-01 00:00:00.000 UTC"),
            (0, "+05:30", "1970-01-01 05:30:00.000 +05:30"),
            (1_593_561_600_000, "America/New_York", "2020-06-30 20:00:00.000 America/New_York"),
            (1_577_836_800_000, "America/New_York", "2019-12-31 19:00:00.000 America/New_York"),
        ];
        for (ms, zone, text) in cases {
            let a = TimestampMillisecondArray::from(vec![ms]).with_timezone(zone);
            s.clear();
            write_value(&mut s, &a, 0);
            assert_eq!(s, text, "{ms} in {zone}");
        }
        let t = Time64NanosecondArray::from(vec![3_723_000_000_000]);
        s.clear();
        write_value(&mut s, &t, 0);
        assert_eq!(s, "01:02:03.000");
    }
}

#[cfg(test)]
mod csv_writer_equivalence {
    use std::sync::Arc;

    use super::*;

    /// The writer as it was: every value through its text (the reference for the fast paths).
    fn reference(batch: &RecordBatch) -> Vec<u8> {
        let mut out = Vec::new();
        let nulls: Vec<_> = batch.columns().iter().map(|c| c.logical_nulls()).collect();
        let mut scratch = String::new();
        for row in 0..batch.num_rows() {
            for (i, col) in batch.columns().iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                if nulls[i].as_ref().is_some_and(|n| n.is_null(row)) {
                    continue;
                }
                scratch.clear();
                write_value(&mut scratch, col.as_ref(), row);
                push_quoted(&mut out, &scratch);
            }
            out.push(b'\n');
        }
        out
    }

    #[test]
    fn fast_paths_write_the_same_bytes() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let n = 20_000;
        let mut ints = Vec::new();
        let (mut doubles, mut decimals, mut dates, mut millis, mut nanos, mut secs, mut strings, mut bools, mut smalls) =
            (vec![], vec![], vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
        for k in 0..n {
            let r = next();
            ints.push((k % 7 != 0).then_some(r as i64));
            let d = f64::from_bits(next());
            let specials = [0.0, -0.0, 1.0, 1e7, 9_999_999.5, 1e-3, 0.000_999, 1e300, 5e-324, f64::NAN, f64::INFINITY, 123.456, -2.5];
            doubles.push(if k % 3 == 0 {
                specials[k % specials.len()]
            } else if k % 3 == 1 {
                d
            } else {
                (r % 10_000_000) as f64 / 1000.0
            });
            decimals.push(Some(i128::from(r as i64) % 10_i128.pow(12) * if k % 2 == 0 { 1 } else { -1 }));
            dates.push(Some((r % 3_000_000) as i32 - 1_000_000));
            millis.push(Some((r % (400_000_000_000_000)) as i64 - 62_000_000_000_000));
            nanos.push(Some((r as i64) / 4));
            secs.push(Some((r % 250_000_000_000) as i64 - 62_000_000_000));
            strings.push(Some(["", "a", "it's", "a\"b", "\"", "x,y\nz", "ünï"][k % 7]));
            bools.push((k % 5 != 0).then_some(r % 2 == 0));
            smalls.push(Some((r % 256) as i8));
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(ints)),
            Arc::new(Float64Array::from(doubles)),
            Arc::new(Decimal128Array::from(decimals.clone()).with_precision_and_scale(20, 2).unwrap()),
            Arc::new(Decimal128Array::from(decimals.clone()).with_precision_and_scale(20, 0).unwrap()),
            Arc::new(Decimal128Array::from(decimals).with_precision_and_scale(38, 15).unwrap()),
            Arc::new(Date32Array::from(dates)),
            Arc::new(TimestampMillisecondArray::from(millis)),
            Arc::new(TimestampNanosecondArray::from(nanos)),
            Arc::new(TimestampSecondArray::from(secs)),
            Arc::new(StringArray::from(strings)),
            Arc::new(BooleanArray::from(bools)),
            Arc::new(Int8Array::from(smalls)),
        ];
        let names = ["i", "d", "dec2", "dec0", "dec15", "day", "ms", "ns", "s", "str", "b", "t"];
        let batch = RecordBatch::try_from_iter(names.into_iter().zip(columns)).unwrap();
        let mut fast = Vec::new();
        write_csv_rows(&mut fast, &batch, &mut String::new());
        let want = reference(&batch);
        if fast != want {
            let (f, w) = (String::from_utf8_lossy(&fast), String::from_utf8_lossy(&want));
            let line = f.lines().zip(w.lines()).find(|(a, b)| a != b).unwrap();
            panic!("first differing row:\n fast: {}\n  ref: {}", line.0, line.1);
        }
    }
}
