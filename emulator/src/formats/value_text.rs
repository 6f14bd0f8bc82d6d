//! Engine version 3's text form of every value (athena-behaviour.md section 4), as the result
//! CSV and GetQueryResults show it. Pure functions over Arrow arrays.

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
pub(crate) fn timestamp_value(array: &dyn Array, unit: TimeUnit, row: usize) -> i64 {
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

pub(crate) fn write_timestamp(out: &mut String, v: i64, unit: TimeUnit, tz: Option<&str>) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
