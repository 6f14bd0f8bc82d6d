//! Bound parameters: each row of a bound batch becomes one list of [`Param`]s, sent as
//! Athena's ExecutionParameters (qmark `?` placeholders) as typed literals.

use adbc_core::error::Result;
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Date32Type, Float64Type, Int64Type, TimeUnit, UInt64Type};
use athena_arrow::Param;

use crate::options::invalid;

/// The parameters of every row of `batch`, column by column.
pub fn rows(batch: &RecordBatch) -> Result<Vec<Vec<Param>>> {
    let mut rows = vec![Vec::with_capacity(batch.num_columns()); batch.num_rows()];
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        let values = column_params(column.as_ref()).map_err(|m| invalid(format!("parameter {:?}: {m}", field.name())))?;
        for (row, v) in rows.iter_mut().zip(values) {
            row.push(v);
        }
    }
    Ok(rows)
}

fn column_params(a: &dyn Array) -> std::result::Result<Vec<Param>, String> {
    let to = |dt: &DataType| cast(a, dt).map_err(|e| e.to_string());
    let each = |f: &dyn Fn(usize) -> Param| (0..a.len()).map(|i| if a.is_null(i) { Param::Null } else { f(i) }).collect::<Vec<_>>();
    Ok(match a.data_type() {
        // Dictionary-encoded values bind as their values.
        DataType::Dictionary(_, values) => return column_params(to(values)?.as_ref()),
        DataType::Null => vec![Param::Null; a.len()],
        DataType::Boolean => {
            let b = a.as_boolean();
            each(&|i| Param::Bool(b.value(i)))
        }
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 | DataType::UInt8 | DataType::UInt16 | DataType::UInt32 => {
            let c = to(&DataType::Int64)?;
            let c = c.as_primitive::<Int64Type>();
            each(&|i| Param::Int(c.value(i)))
        }
        DataType::UInt64 => {
            let c = a.as_primitive::<UInt64Type>();
            each(&|i| Param::UInt(c.value(i)))
        }
        DataType::Float16 | DataType::Float32 | DataType::Float64 => {
            let c = to(&DataType::Float64)?;
            let c = c.as_primitive::<Float64Type>();
            each(&|i| Param::Float(c.value(i)))
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let c = to(&DataType::Utf8)?;
            let c = c.as_string::<i32>();
            each(&|i| Param::String(c.value(i).to_owned()))
        }
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => {
            let c = to(&DataType::Binary)?;
            let c = c.as_binary::<i32>();
            each(&|i| Param::Bytes(c.value(i).to_vec()))
        }
        DataType::Date32 | DataType::Date64 => {
            let c = to(&DataType::Date32)?;
            let c = c.as_primitive::<Date32Type>();
            let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
            each(&|i| Param::Date(epoch + chrono::TimeDelta::days(i64::from(c.value(i)))))
        }
        DataType::Timestamp(unit, _) => {
            // The instant (UTC) of zoned values, the wall clock of naive ones, read in the
            // column's own unit (year 1 and year 9999 do not fit in nanoseconds).
            let raw = to(&DataType::Int64)?;
            let raw = raw.as_primitive::<Int64Type>();
            let instant = |v: i64| match unit {
                TimeUnit::Second => chrono::DateTime::from_timestamp(v, 0),
                TimeUnit::Millisecond => chrono::DateTime::from_timestamp_millis(v),
                TimeUnit::Microsecond => chrono::DateTime::from_timestamp_micros(v),
                TimeUnit::Nanosecond => Some(chrono::DateTime::from_timestamp_nanos(v)),
            };
            let mut out = Vec::with_capacity(a.len());
            for i in 0..a.len() {
                out.push(match a.is_null(i) {
                    true => Param::Null,
                    false => match instant(raw.value(i)) {
                        Some(t) => Param::Timestamp(t.naive_utc()),
                        None => return Err(format!("timestamp {} {unit:?}s since 1970 is outside the range of dates", raw.value(i))),
                    },
                });
            }
            out
        }
        DataType::Decimal128(..) | DataType::Decimal256(..) => {
            let c = to(&DataType::Utf8)?;
            let c = c.as_string::<i32>();
            each(&|i| Param::Decimal(c.value(i).to_owned()))
        }
        other => return Err(format!("type {other} cannot be bound (bind booleans, numbers, decimals, text, binary, dates or timestamps)")),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Decimal128Array, Int32Array, StringArray};

    use super::*;

    #[test]
    fn a_row_becomes_typed_parameters() {
        let batch = RecordBatch::try_from_iter([
            ("n", Arc::new(Int32Array::from(vec![Some(7), None])) as _),
            ("s", Arc::new(StringArray::from(vec!["it's", "日本"])) as _),
            ("d", Arc::new(Decimal128Array::from(vec![150, -5]).with_precision_and_scale(10, 2).unwrap()) as _),
        ])
        .unwrap();
        let rows = rows(&batch).unwrap();
        assert_eq!(rows[0], vec![Param::Int(7), Param::String("it's".into()), Param::Decimal("1.50".into())]);
        assert_eq!(rows[1], vec![Param::Null, Param::String("日本".into()), Param::Decimal("-0.05".into())]);
    }

    #[test]
    fn dictionary_encoded_values_bind_as_their_values() {
        let dict: arrow::array::DictionaryArray<arrow::datatypes::Int8Type> =
            vec![Some("a"), None, Some("a"), Some("b")].into_iter().collect();
        let batch = RecordBatch::try_from_iter([("s", Arc::new(dict) as _)]).unwrap();
        let rows = rows(&batch).unwrap();
        let values: Vec<Param> = rows.into_iter().map(|mut r| r.remove(0)).collect();
        assert_eq!(values, vec![Param::String("a".into()), Param::Null, Param::String("a".into()), Param::String("b".into())]);
    }

    #[test]
    fn timestamps_bind_in_their_own_unit_over_the_whole_calendar() {
        use arrow::array::TimestampMillisecondArray;
        let ts = TimestampMillisecondArray::from(vec![Some(-62135596800000), Some(253402300799999), None]);
        let batch = RecordBatch::try_from_iter([("t", Arc::new(ts) as _)]).unwrap();
        let values: Vec<Param> = rows(&batch).unwrap().into_iter().map(|mut r| r.remove(0)).collect();
        let at = |s: &str| Param::Timestamp(chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.3f").unwrap());
        assert_eq!(values, vec![at("0001-01-01 00:00:00.000"), at("9999-12-31 23:59:59.999"), Param::Null]);
    }
}
