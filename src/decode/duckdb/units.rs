//! A forced timestamp unit (`with_timestamp_unit`) on batches that arrive already in Arrow (the
//! DuckDB result stream): every timestamp column, nested ones included, converted to the unit
//! exactly as the text paths parse into it: a value finer than the unit, or outside its range,
//! is an error that says so, never rounded or truncated. The schema is the one the DuckDB type
//! mapper gives for the same unit, so that every path of a result has one schema.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, FixedSizeListArray, ListArray, MapArray, PrimitiveArray, RecordBatch, StructArray};
use arrow::datatypes::{DataType, Field, FieldRef, Fields, Schema, SchemaRef, TimeUnit, TimestampNanosecondType};

use crate::decode::parse::instant_in;
use crate::error::{Error, Result};

fn arrow(e: arrow::error::ArrowError) -> Error {
    Error::Decode {
        query_id: None,
        column: None,
        row: None,
        message: "cannot change the unit of timestamps".into(),
        source: Some(Box::new(e)),
    }
}

/// `dt` with every timestamp in `unit`.
fn retyped(dt: &DataType, unit: TimeUnit) -> DataType {
    let field = |f: &FieldRef| Arc::new(f.as_ref().clone().with_data_type(retyped(f.data_type(), unit)));
    match dt {
        DataType::Timestamp(_, tz) => DataType::Timestamp(unit, tz.clone()),
        DataType::List(f) => DataType::List(field(f)),
        DataType::LargeList(f) => DataType::LargeList(field(f)),
        DataType::FixedSizeList(f, n) => DataType::FixedSizeList(field(f), *n),
        DataType::Struct(fields) => DataType::Struct(fields.iter().map(field).collect()),
        DataType::Map(f, sorted) => DataType::Map(field(f), *sorted),
        other => other.clone(),
    }
}

/// `schema` with every timestamp (nested ones too) in `unit`, its metadata kept.
pub fn schema_in_unit(schema: &Schema, unit: TimeUnit) -> SchemaRef {
    let fields: Fields =
        schema.fields().iter().map(|f| Arc::new(f.as_ref().clone().with_data_type(retyped(f.data_type(), unit)))).collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

fn per_second(unit: TimeUnit) -> i64 {
    match unit {
        TimeUnit::Second => 1,
        TimeUnit::Millisecond => 1_000,
        TimeUnit::Microsecond => 1_000_000,
        TimeUnit::Nanosecond => 1_000_000_000,
    }
}

/// A timestamp array of any unit as the same instants in `unit`.
fn timestamps(array: &ArrayRef, from: TimeUnit, tz: Option<Arc<str>>, unit: TimeUnit, column: &str) -> Result<ArrayRef> {
    // Every unit's values are i64 counts: read them through one type, convert, and re-type.
    let values = array.to_data().into_builder().data_type(DataType::Timestamp(TimeUnit::Nanosecond, None)).build().map_err(arrow)?;
    let values: PrimitiveArray<TimestampNanosecondType> = values.into();
    let step = per_second(from);
    let mut out = Vec::with_capacity(values.len());
    for v in values.iter() {
        let Some(v) = v else {
            out.push(None);
            continue;
        };
        let (secs, sub) = (v.div_euclid(step), v.rem_euclid(step));
        let nanos = (sub * (1_000_000_000 / step)) as u32;
        let count = instant_in(secs, nanos, unit).map_err(|message| Error::Decode {
            query_id: None,
            column: Some(column.to_owned()),
            row: None,
            message: message.to_string(),
            source: None,
        })?;
        out.push(Some(count));
    }
    let converted = PrimitiveArray::<TimestampNanosecondType>::from(out);
    let data = converted.to_data().into_builder().data_type(DataType::Timestamp(unit, tz)).build().map_err(arrow)?;
    Ok(arrow::array::make_array(data))
}

/// `array` with every timestamp in it (nested ones too) in `unit`.
fn in_unit(array: &ArrayRef, field: &Field, unit: TimeUnit) -> Result<ArrayRef> {
    let column = field.name();
    let child = |a: &ArrayRef, f: &FieldRef| in_unit(a, f, unit);
    Ok(match array.data_type() {
        DataType::Timestamp(from, _) if *from == unit => array.clone(),
        DataType::Timestamp(from, tz) => timestamps(array, *from, tz.clone(), unit, column)?,
        DataType::List(f) => {
            let list = array.as_list::<i32>();
            let values = child(list.values(), f)?;
            let f = Arc::new(f.as_ref().clone().with_data_type(values.data_type().clone()));
            Arc::new(ListArray::try_new(f, list.offsets().clone(), values, list.nulls().cloned()).map_err(arrow)?)
        }
        DataType::FixedSizeList(f, n) => {
            let list = array.as_fixed_size_list();
            let values = child(list.values(), f)?;
            let f = Arc::new(f.as_ref().clone().with_data_type(values.data_type().clone()));
            Arc::new(FixedSizeListArray::try_new(f, *n, values, list.nulls().cloned()).map_err(arrow)?)
        }
        DataType::Struct(fields) => {
            let s = array.as_struct();
            let columns = s.columns().iter().zip(fields.iter()).map(|(c, f)| child(c, f)).collect::<Result<Vec<_>>>()?;
            let fields: Fields =
                fields.iter().zip(&columns).map(|(f, c)| Arc::new(f.as_ref().clone().with_data_type(c.data_type().clone()))).collect();
            Arc::new(StructArray::try_new(fields, columns, s.nulls().cloned()).map_err(arrow)?)
        }
        DataType::Map(f, sorted) => {
            let map = array.as_map();
            let entries: ArrayRef = Arc::new(map.entries().clone());
            let entries = child(&entries, f)?;
            let f = Arc::new(f.as_ref().clone().with_data_type(entries.data_type().clone()));
            Arc::new(
                MapArray::try_new(f, map.offsets().clone(), entries.as_struct().clone(), map.nulls().cloned(), *sorted).map_err(arrow)?,
            )
        }
        _ => array.clone(),
    })
}

/// `batch` with every timestamp in `unit`, as `schema` (from [`schema_in_unit`]) describes it.
///
/// # Errors
/// [`Error::Decode`] naming the column when a value is finer than `unit` or outside its range.
pub fn batch_in_unit(batch: &RecordBatch, schema: &SchemaRef, unit: TimeUnit) -> Result<RecordBatch> {
    let columns = batch.columns().iter().zip(batch.schema().fields()).map(|(c, f)| in_unit(c, f, unit)).collect::<Result<Vec<_>>>()?;
    RecordBatch::try_new(schema.clone(), columns).map_err(arrow)
}

#[cfg(test)]
mod tests {
    use arrow::array::{Int32Array, TimestampMicrosecondArray, TimestampSecondArray};

    use super::*;

    fn batch(array: ArrayRef) -> RecordBatch {
        RecordBatch::try_from_iter([("t", array)]).unwrap()
    }

    #[test]
    fn timestamps_change_unit_exactly_or_say_why() {
        let us: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![Some(1_500_000), None, Some(-1_000)]).with_timezone("UTC"));
        let b = batch(us.clone());
        let ms = schema_in_unit(&b.schema(), TimeUnit::Millisecond);
        let got = batch_in_unit(&b, &ms, TimeUnit::Millisecond).unwrap();
        let col = got.column(0).as_primitive::<arrow::datatypes::TimestampMillisecondType>();
        assert_eq!(col.iter().collect::<Vec<_>>(), vec![Some(1_500), None, Some(-1)]);
        assert_eq!(got.schema().field(0).data_type(), &DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())));
        let ns = schema_in_unit(&b.schema(), TimeUnit::Nanosecond);
        let got = batch_in_unit(&b, &ns, TimeUnit::Nanosecond).unwrap();
        assert_eq!(got.column(0).as_primitive::<TimestampNanosecondType>().value(0), 1_500_000_000);
        // A fraction the unit cannot hold.
        let fine: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![1_500_001]));
        let b = batch(fine);
        let e = batch_in_unit(&b, &schema_in_unit(&b.schema(), TimeUnit::Millisecond), TimeUnit::Millisecond).unwrap_err();
        assert!(e.to_string().contains("finer fraction of a second"), "{e}");
        // Outside the range of nanoseconds (year 3000).
        let far: ArrayRef = Arc::new(TimestampSecondArray::from(vec![32_503_680_000]));
        let b = batch(far);
        let e = batch_in_unit(&b, &schema_in_unit(&b.schema(), TimeUnit::Nanosecond), TimeUnit::Nanosecond).unwrap_err();
        assert!(e.to_string().contains("outside the range"), "{e}");
    }

    #[test]
    fn nested_timestamps_change_unit_too() {
        let ts: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![Some(2_000_000), None]));
        let field = Arc::new(Field::new("l", ts.data_type().clone(), true));
        let list: ArrayRef =
            Arc::new(ListArray::try_new(field.clone(), arrow::buffer::OffsetBuffer::from_lengths([2, 0]), ts.clone(), None).unwrap());
        let st: ArrayRef = Arc::new(StructArray::from(vec![
            (Arc::new(Field::new("a", ts.data_type().clone(), true)), ts.clone()),
            (Arc::new(Field::new("b", DataType::Int32, true)), Arc::new(Int32Array::from(vec![1, 2])) as ArrayRef),
        ]));
        let b = RecordBatch::try_from_iter([("l", list), ("s", st)]).unwrap();
        let schema = schema_in_unit(&b.schema(), TimeUnit::Second);
        let got = batch_in_unit(&b, &schema, TimeUnit::Second).unwrap();
        assert_eq!(got.schema(), schema);
        let values = got.column(0).as_list::<i32>().values().as_primitive::<arrow::datatypes::TimestampSecondType>().clone();
        assert_eq!(values.iter().collect::<Vec<_>>(), vec![Some(2), None]);
        let a = got.column(1).as_struct().column(0).as_primitive::<arrow::datatypes::TimestampSecondType>().clone();
        assert_eq!(a.value(0), 2);
    }
}
