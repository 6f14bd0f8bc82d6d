//! Rows: views over one row of a `RecordBatch`, with typed [`Value`]s by position or by name
//! (PyAthena's tuple rows and DictCursor rows).

use std::collections::BTreeMap;
use std::fmt;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, Time32MillisecondType,
    Time32SecondType, Time64MicrosecondType, Time64NanosecondType, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    Null,
    Boolean(bool),
    TinyInt(i8),
    SmallInt(i16),
    Integer(i32),
    BigInt(i64),
    Float(f32),
    Double(f64),
    /// Unscaled value and scale: `Decimal(150, 2)` is 1.50.
    Decimal(i128, i8),
    String(String),
    Binary(Vec<u8>),
    Date(NaiveDate),
    Timestamp(NaiveDateTime),
    TimestampTz(DateTime<Utc>),
    Time(NaiveTime),
    /// A timestamp beyond the years chrono represents (about ±262,000), exact: `value` counts of
    /// `unit` since 1970-01-01 00:00 (UTC when `zoned`).
    Epoch {
        value: i64,
        unit: TimeUnit,
        zoned: bool,
    },
    List(Vec<Value>),
    Map(Vec<(Value, Value)>),
    Struct(Vec<(String, Value)>),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Any integer value widened to i64.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::TinyInt(v) => Some(v.into()),
            Value::SmallInt(v) => Some(v.into()),
            Value::Integer(v) => Some(v.into()),
            Value::BigInt(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Float(v) => Some(v.into()),
            Value::Double(v) => Some(v),
            _ => None,
        }
    }
}

fn decimal_text(v: i128, scale: i8) -> String {
    if scale <= 0 {
        return format!("{v}{}", "0".repeat((-scale) as usize));
    }
    let digits = v.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{}{int}.{frac}", if v < 0 { "-" } else { "" })
}

impl fmt::Display for Value {
    /// Athena's text form where it has one (NULL prints as `NULL`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Boolean(v) => write!(f, "{v}"),
            Value::TinyInt(v) => write!(f, "{v}"),
            Value::SmallInt(v) => write!(f, "{v}"),
            Value::Integer(v) => write!(f, "{v}"),
            Value::BigInt(v) => write!(f, "{v}"),
            Value::Float(v) => write!(f, "{v}"),
            Value::Double(v) => write!(f, "{v}"),
            Value::Decimal(v, s) => f.write_str(&decimal_text(*v, *s)),
            Value::String(v) => f.write_str(v),
            Value::Binary(v) => {
                let hex: Vec<String> = v.iter().map(|b| format!("{b:02x}")).collect();
                f.write_str(&hex.join(" "))
            }
            Value::Date(v) => write!(f, "{v}"),
            Value::Timestamp(v) => write!(f, "{}", v.format("%Y-%m-%d %H:%M:%S%.3f")),
            Value::TimestampTz(v) => write!(f, "{} UTC", v.format("%Y-%m-%d %H:%M:%S%.3f")),
            Value::Time(v) => write!(f, "{}", v.format("%H:%M:%S%.3f")),
            Value::Epoch { value, unit, zoned } => {
                write!(f, "{value} {unit:?}s after 1970-01-01 00:00:00{}", if *zoned { " UTC" } else { "" })
            }
            Value::List(items) => {
                let parts: Vec<String> = items.iter().map(|v| v.to_string()).collect();
                write!(f, "[{}]", parts.join(", "))
            }
            Value::Map(entries) => {
                let parts: Vec<String> = entries.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write!(f, "{{{}}}", parts.join(", "))
            }
            Value::Struct(fields) => {
                let parts: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write!(f, "{{{}}}", parts.join(", "))
            }
        }
    }
}

fn timestamp(unit: TimeUnit, v: i64) -> Option<DateTime<Utc>> {
    match unit {
        TimeUnit::Second => DateTime::from_timestamp(v, 0),
        TimeUnit::Millisecond => DateTime::from_timestamp_millis(v),
        TimeUnit::Microsecond => DateTime::from_timestamp_micros(v),
        TimeUnit::Nanosecond => Some(DateTime::from_timestamp_nanos(v)),
    }
}

/// The value at `row` of `array`.
pub(crate) fn value_at(array: &dyn Array, row: usize) -> Value {
    if array.is_null(row) || array.data_type() == &DataType::Null {
        return Value::Null;
    }
    match array.data_type() {
        DataType::Boolean => Value::Boolean(array.as_boolean().value(row)),
        DataType::Int8 => Value::TinyInt(array.as_primitive::<Int8Type>().value(row)),
        DataType::Int16 => Value::SmallInt(array.as_primitive::<Int16Type>().value(row)),
        DataType::Int32 => Value::Integer(array.as_primitive::<Int32Type>().value(row)),
        DataType::Int64 => Value::BigInt(array.as_primitive::<Int64Type>().value(row)),
        DataType::UInt8 => Value::SmallInt(array.as_primitive::<UInt8Type>().value(row).into()),
        DataType::UInt16 => Value::Integer(array.as_primitive::<UInt16Type>().value(row).into()),
        DataType::UInt32 => Value::BigInt(array.as_primitive::<UInt32Type>().value(row).into()),
        DataType::UInt64 => Value::Decimal(array.as_primitive::<UInt64Type>().value(row).into(), 0),
        DataType::Float32 => Value::Float(array.as_primitive::<Float32Type>().value(row)),
        DataType::Float64 => Value::Double(array.as_primitive::<Float64Type>().value(row)),
        DataType::Decimal128(_, s) => Value::Decimal(array.as_primitive::<Decimal128Type>().value(row), *s),
        DataType::Utf8 => Value::String(array.as_string::<i32>().value(row).to_owned()),
        DataType::LargeUtf8 => Value::String(array.as_string::<i64>().value(row).to_owned()),
        DataType::Utf8View => Value::String(array.as_string_view().value(row).to_owned()),
        DataType::Binary => Value::Binary(array.as_binary::<i32>().value(row).to_vec()),
        DataType::LargeBinary => Value::Binary(array.as_binary::<i64>().value(row).to_vec()),
        DataType::BinaryView => Value::Binary(array.as_binary_view().value(row).to_vec()),
        DataType::FixedSizeBinary(_) => Value::Binary(array.as_fixed_size_binary().value(row).to_vec()),
        DataType::Date32 => Value::Date(
            NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")
                + chrono::Duration::days(array.as_primitive::<Date32Type>().value(row).into()),
        ),
        DataType::Timestamp(unit, tz) => {
            let v = match unit {
                TimeUnit::Second => array.as_primitive::<TimestampSecondType>().value(row),
                TimeUnit::Millisecond => array.as_primitive::<TimestampMillisecondType>().value(row),
                TimeUnit::Microsecond => array.as_primitive::<TimestampMicrosecondType>().value(row),
                TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().value(row),
            };
            match (timestamp(*unit, v), tz) {
                (Some(t), Some(_)) => Value::TimestampTz(t),
                (Some(t), None) => Value::Timestamp(t.naive_utc()),
                (None, tz) => Value::Epoch { value: v, unit: *unit, zoned: tz.is_some() },
            }
        }
        DataType::Time32(TimeUnit::Second) => time_of_day(array.as_primitive::<Time32SecondType>().value(row).into(), 0),
        DataType::Time32(_) => {
            let ms = i64::from(array.as_primitive::<Time32MillisecondType>().value(row));
            time_of_day(ms / 1000, (ms % 1000) * 1_000_000)
        }
        DataType::Time64(TimeUnit::Nanosecond) => {
            let ns = array.as_primitive::<Time64NanosecondType>().value(row);
            time_of_day(ns / 1_000_000_000, ns % 1_000_000_000)
        }
        DataType::Time64(_) => {
            let us = array.as_primitive::<Time64MicrosecondType>().value(row);
            time_of_day(us / 1_000_000, (us % 1_000_000) * 1000)
        }
        DataType::List(_) => {
            let list = array.as_list::<i32>().value(row);
            Value::List((0..list.len()).map(|i| value_at(list.as_ref(), i)).collect())
        }
        DataType::LargeList(_) => {
            let list = array.as_list::<i64>().value(row);
            Value::List((0..list.len()).map(|i| value_at(list.as_ref(), i)).collect())
        }
        DataType::Struct(fields) => {
            let s = array.as_struct();
            Value::Struct(fields.iter().zip(s.columns()).map(|(f, c)| (f.name().clone(), value_at(c.as_ref(), row))).collect())
        }
        DataType::Map(_, _) => {
            let entries = array.as_map().value(row);
            let (keys, values) = (entries.column(0), entries.column(1));
            Value::Map((0..entries.len()).map(|i| (value_at(keys.as_ref(), i), value_at(values.as_ref(), i))).collect())
        }
        _ => match arrow::util::display::ArrayFormatter::try_new(array, &Default::default()) {
            Ok(f) => Value::String(f.value(row).to_string()),
            Err(_) => Value::Null,
        },
    }
}

fn time_of_day(secs: i64, nanos: i64) -> Value {
    NaiveTime::from_num_seconds_from_midnight_opt(secs as u32, nanos as u32).map_or(Value::Null, Value::Time)
}

/// One row of a result: a view over a shared batch (cloning is cheap).
#[derive(Clone)]
pub struct Row {
    batch: RecordBatch,
    index: usize,
}

impl fmt::Debug for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.values()).finish()
    }
}

impl PartialEq for Row {
    fn eq(&self, other: &Self) -> bool {
        self.values() == other.values()
    }
}

impl Row {
    pub(crate) fn new(batch: RecordBatch, index: usize) -> Self {
        Self { batch, index }
    }

    /// The row view of `batch` at `index` (`None` past its last row), e.g. of the batches a
    /// partition gives.
    pub fn at(batch: &RecordBatch, index: usize) -> Option<Self> {
        (index < batch.num_rows()).then(|| Self::new(batch.clone(), index))
    }

    pub fn len(&self) -> usize {
        self.batch.num_columns()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of column `i`, `None` past the last column.
    pub fn get(&self, i: usize) -> Option<Value> {
        (i < self.len()).then(|| value_at(self.batch.column(i).as_ref(), self.index))
    }

    /// The value of the column named `name` (the first, if names repeat).
    pub fn get_by_name(&self, name: &str) -> Option<Value> {
        self.batch.schema().index_of(name).ok().and_then(|i| self.get(i))
    }

    /// All values in column order (a DB-API tuple row).
    pub fn values(&self) -> Vec<Value> {
        (0..self.len()).filter_map(|i| self.get(i)).collect()
    }

    /// Column name -> value (PyAthena's DictCursor row). Repeated names keep the last value,
    /// as a Python dict does.
    pub fn to_dict(&self) -> BTreeMap<String, Value> {
        self.batch.schema().fields().iter().zip(self.values()).map(|(f, v)| (f.name().clone(), v)).collect()
    }

    /// The batch this row views, and its index in it.
    pub fn batch(&self) -> (&RecordBatch, usize) {
        (&self.batch, self.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_and_binary_text() {
        assert_eq!(Value::Decimal(150, 2).to_string(), "1.50");
        assert_eq!(Value::Decimal(-5, 2).to_string(), "-0.05");
        assert_eq!(Value::Decimal(7, 0).to_string(), "7");
        assert_eq!(Value::Binary(vec![0x31, 0x0a]).to_string(), "31 0a");
    }

    #[test]
    fn timestamps_chrono_cannot_hold_stay_exact_never_null() {
        use arrow::array::{TimestampMillisecondArray, TimestampSecondArray};
        let far = 9_000_000_000_000_000i64; // about 285 million years after 1970, in ms
        let a = TimestampMillisecondArray::from(vec![far, -62_135_596_800_000]);
        assert_eq!(value_at(&a, 0), Value::Epoch { value: far, unit: TimeUnit::Millisecond, zoned: false });
        let year_one = NaiveDate::from_ymd_opt(1, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
        assert_eq!(value_at(&a, 1), Value::Timestamp(year_one));
        let z = TimestampSecondArray::from(vec![i64::MAX]).with_timezone("UTC");
        assert_eq!(value_at(&z, 0), Value::Epoch { value: i64::MAX, unit: TimeUnit::Second, zoned: true });
        assert_eq!(value_at(&z, 0).to_string(), format!("{} Seconds after 1970-01-01 00:00:00 UTC", i64::MAX));
    }
}
