//! The byte-exact result CSV Athena writes (athena-behaviour.md section 3), and the reader
//! GetQueryResults pages from. Values are written in engine version 3's text
//! ([`crate::formats::value_text`]); the common types straight into the output.

use arrow::array::*;
use arrow::datatypes::*;

use crate::formats::value_text::{java_double, timestamp_value, write_timestamp, write_value};

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

/// `s` in double quotes, `"` doubled.
pub(crate) fn push_quoted(out: &mut Vec<u8>, s: &str) {
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
