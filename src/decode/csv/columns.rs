//! The columns a result CSV is decoded into: each field is converted as the splitter finds it,
//! straight into its column's values (no field index in between). The common types parse into
//! plain vectors (booleans into a word bitmap); a NULL is noted by its row, and a validity
//! bitmap is made only for a batch in which one came. The rest (varbinary, time, timestamp
//! with time zone, nested values, DuckDB's text) are kept as text and converted by the
//! [`TextDecoder`] when the batch is finished. A record cut at the end of a piece is dropped
//! ([`Columns::drop_partial`]) and split again with the next piece.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, ArrowPrimitiveType, BooleanArray, PrimitiveArray, RecordBatch, StringArray, TimestampMicrosecondArray,
    TimestampMillisecondArray, TimestampNanosecondArray, TimestampSecondArray,
};
use arrow::buffer::{BooleanBuffer, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, Schema, SchemaRef, TimeUnit,
};

use crate::decode::csv::split::{Fields, Tail};
use crate::decode::parse::{
    ValueError, fast_date, naive_timestamp_in, parse_bool, parse_date, parse_decimal, parse_fast_float, parse_int, timestamp_fast,
};
use crate::decode::shapes::{Plain, bool_fast, decimal_fast, double_fast, int_fast};
use crate::decode::text::{TextDecoder, unescape};
use crate::error::{Error, Result};

/// Bits appended one at a time (boolean values): the word being filled kept apart, stored to a
/// plain word vector when full. Not arrow's `BooleanBufferBuilder`: with it (and
/// `NullBufferBuilder` for validity) the csv_decode bench table decoded at 671 MB/s against 746
/// with these, booleans at 488 against 611 MB/s (three runs each, 2026-12-07; it checks and grows
/// its byte buffer every eighth bit).
struct Bits {
    /// Full words.
    words: Vec<u64>,
    /// The bits after them (`len % 64` of them).
    last: u64,
    len: usize,
}

impl Bits {
    fn new(rows: usize) -> Self {
        Self { words: Vec::with_capacity(rows.div_ceil(64)), last: 0, len: 0 }
    }

    #[inline(always)]
    fn append(&mut self, bit: bool) {
        self.last |= u64::from(bit) << (self.len % 64);
        self.len += 1;
        if self.len.is_multiple_of(64) {
            self.words.push(std::mem::take(&mut self.last));
        }
    }

    fn truncate(&mut self, len: usize) {
        if len >= self.len {
            return;
        }
        if len / 64 < self.words.len() {
            self.last = self.words[len / 64];
            self.words.truncate(len / 64);
        }
        self.last &= (1u64 << (len % 64)) - 1;
        self.len = len;
    }

    /// The bits as a buffer; left empty, sized for `rows`.
    fn finish(&mut self, rows: usize) -> BooleanBuffer {
        let mut words = std::mem::replace(&mut self.words, Vec::with_capacity(rows.div_ceil(64)));
        let len = std::mem::take(&mut self.len);
        let last = std::mem::take(&mut self.last);
        if !len.is_multiple_of(64) {
            words.push(last);
        }
        BooleanBuffer::new(Buffer::from_vec(words), 0, len)
    }
}

/// A column's NULLs as their rows, in order: a value costs nothing here (most columns of most
/// batches hold none), a NULL one entry; the validity bitmap is made when the batch is finished.
/// (With a bit per value the csv_decode bench table decoded at 763-767 MB/s, with this 808-811;
/// 2026-12-07.)
#[derive(Default)]
struct Nulls {
    rows: Vec<u32>,
}

impl Nulls {
    #[inline(always)]
    fn push(&mut self, row: usize) {
        // Rows of one batch (at most its capacity, which is far below 2^32).
        self.rows.push(row as u32);
    }

    fn is_null(&self, row: usize) -> bool {
        self.rows.binary_search(&(row as u32)).is_ok()
    }

    fn truncate(&mut self, rows: usize) {
        let keep = self.rows.partition_point(|&r| (r as usize) < rows);
        self.rows.truncate(keep);
    }

    /// The validity of `len` rows (none when no NULL came); left empty.
    fn finish(&mut self, len: usize) -> Option<NullBuffer> {
        if self.rows.is_empty() {
            return None;
        }
        let mut words = vec![u64::MAX; len.div_ceil(64)];
        for &r in &self.rows {
            words[r as usize / 64] &= !(1u64 << (r % 64));
        }
        self.rows.clear();
        Some(NullBuffer::new(BooleanBuffer::new(Buffer::from_vec(words), 0, len)))
    }
}

/// A primitive column's values and validity.
struct Prim<T: ArrowPrimitiveType> {
    values: Vec<T::Native>,
    nulls: Nulls,
}

impl<T: ArrowPrimitiveType> Prim<T> {
    fn new(rows: usize) -> Self {
        Self { values: Vec::with_capacity(rows), nulls: Nulls::default() }
    }

    #[inline(always)]
    fn push(&mut self, v: Option<T::Native>) {
        match v {
            Some(v) => self.values.push(v),
            None => {
                self.nulls.push(self.values.len());
                self.values.push(T::Native::default());
            }
        }
    }

    fn truncate(&mut self, rows: usize) {
        self.values.truncate(rows);
        self.nulls.truncate(rows);
    }

    fn take(&mut self, rows: usize) -> (ScalarBuffer<T::Native>, Option<NullBuffer>) {
        let values = std::mem::replace(&mut self.values, Vec::with_capacity(rows));
        let len = values.len();
        (ScalarBuffer::from(values), self.nulls.finish(len))
    }

    fn finish(&mut self, rows: usize, dt: &DataType) -> ArrayRef {
        let (values, nulls) = self.take(rows);
        Arc::new(PrimitiveArray::<T>::new(values, nulls).with_data_type(dt.clone()))
    }
}

/// Text values: their bytes end to end, with offsets and validity.
struct Texts {
    offsets: Vec<i32>,
    bytes: Vec<u8>,
    nulls: Nulls,
}

impl Texts {
    fn new(rows: usize) -> Self {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        Self { offsets, bytes: Vec::with_capacity(rows * 16), nulls: Nulls::default() }
    }

    #[inline(always)]
    fn push(&mut self, v: Option<&str>) -> Result<(), ValueError> {
        match v {
            Some(s) => self.bytes.extend_from_slice(s.as_bytes()),
            None => self.nulls.push(self.offsets.len() - 1),
        }
        let end = i32::try_from(self.bytes.len()).map_err(|_| too_long())?;
        self.offsets.push(end);
        Ok(())
    }

    fn truncate(&mut self, rows: usize) {
        self.offsets.truncate(rows + 1);
        self.bytes.truncate(self.offsets[rows] as usize);
        self.nulls.truncate(rows);
    }

    /// Value `r` as written (None = NULL).
    fn get(&self, r: usize) -> Option<&str> {
        if self.nulls.is_null(r) {
            return None;
        }
        let text = &self.bytes[self.offsets[r] as usize..self.offsets[r + 1] as usize];
        // Whole values of a UTF-8 text, cut at ASCII delimiters.
        Some(std::str::from_utf8(text).expect("values cut from UTF-8 text at ASCII bytes"))
    }

    fn finish(&mut self, rows: usize) -> Result<ArrayRef> {
        let offsets = std::mem::replace(&mut self.offsets, Vec::with_capacity(rows + 1));
        self.offsets.push(0);
        let bytes = std::mem::replace(&mut self.bytes, Vec::with_capacity(rows * 16));
        let nulls = self.nulls.finish(offsets.len() - 1);
        let array = StringArray::try_new(OffsetBuffer::new(ScalarBuffer::from(offsets)), Buffer::from_vec(bytes), nulls)
            .map_err(|e| Error::decode(format!("cannot assemble a text column: {e}")))?;
        Ok(Arc::new(array))
    }

    fn clear(&mut self) {
        self.truncate(0);
    }
}

fn too_long() -> ValueError {
    ValueError::Malformed("a text column's values in one batch exceed 2 GiB".into())
}

/// A short number's parts read from the 16 bytes that end where it ends, when they are at hand
/// and the CPU reads them in one go; else None (the slice parsers read it).
#[inline(always)]
fn plain(value: &[u8], tail: Tail<'_>) -> Option<Plain> {
    Plain::read(tail.get()?, value.len())
}

/// One column of the batch being decoded.
#[repr(u8)]
enum Column {
    /// varchar and char: doubled quotes made one as they are stored.
    Utf8(Texts),
    Boolean(Bits, Nulls),
    Int8(Prim<Int8Type>),
    Int16(Prim<Int16Type>),
    Int32(Prim<Int32Type>),
    Int64(Prim<Int64Type>),
    Float32(Prim<Float32Type>),
    Float64(Prim<Float64Type>),
    Decimal(Prim<Decimal128Type>, u8),
    Date(Prim<Date32Type>),
    /// A timestamp without time zone, as a count of its unit.
    Timestamp(Prim<Int64Type>, TimeUnit),
    /// Any other type: kept as written, converted by a one-column [`TextDecoder`] at the end.
    Text(Texts, Box<TextDecoder>),
}

impl Column {
    fn new(schema: &Schema, field: usize, rows: usize, duckdb: bool) -> Result<Self> {
        let f = schema.field(field);
        Ok(match f.data_type() {
            _ if duckdb => Column::text(schema, field, rows)?,
            DataType::Utf8 => Column::Utf8(Texts::new(rows)),
            DataType::Boolean => Column::Boolean(Bits::new(rows), Nulls::default()),
            DataType::Int8 => Column::Int8(Prim::new(rows)),
            DataType::Int16 => Column::Int16(Prim::new(rows)),
            DataType::Int32 => Column::Int32(Prim::new(rows)),
            DataType::Int64 => Column::Int64(Prim::new(rows)),
            DataType::Float32 => Column::Float32(Prim::new(rows)),
            DataType::Float64 => Column::Float64(Prim::new(rows)),
            DataType::Decimal128(_, s) if *s >= 0 => Column::Decimal(Prim::new(rows), *s as u8),
            DataType::Date32 => Column::Date(Prim::new(rows)),
            DataType::Timestamp(unit, None) => Column::Timestamp(Prim::new(rows), *unit),
            _ => Column::text(schema, field, rows)?,
        })
    }

    /// A column converted by the [`TextDecoder`] (which refuses types it cannot fill).
    fn text(schema: &Schema, field: usize, rows: usize) -> Result<Self> {
        let one = Schema::new_with_metadata(vec![schema.field(field).clone()], schema.metadata().clone());
        Ok(Column::Text(Texts::new(rows), Box::new(TextDecoder::with_capacity(Arc::new(one), rows)?)))
    }

    /// Appends `v`; `quotes`: whether it holds a quote (only text can, as `""`); `tail`: the 16
    /// bytes of text that end where it ends (see [`Fields::field`]).
    #[inline(always)]
    fn push(&mut self, v: Option<&str>, quotes: bool, tail: Tail<'_>) -> Result<(), ValueError> {
        // A value of the type's common shape by its `fast` parser (None otherwise, in registers),
        // else by the full parser, which reads the other shapes or says why it cannot.
        macro_rules! fast {
            ($fast:expr, $full:expr) => {
                match v {
                    None => None,
                    Some(s) => Some(match $fast(s.as_bytes()) {
                        Some(x) => x,
                        None => $full(s)?,
                    }),
                }
            };
        }
        match self {
            Column::Utf8(t) => match v {
                Some(s) if quotes => t.push(Some(&unescape(s)?))?,
                v => t.push(v)?,
            },
            Column::Boolean(values, nulls) => {
                let b = fast!(bool_fast, parse_bool);
                if b.is_none() {
                    nulls.push(values.len);
                }
                values.append(b.unwrap_or(false));
            }
            Column::Int8(p) => p.push(fast!(|b| int_fast(b).and_then(|v| i8::try_from(v).ok()), parse_int)),
            Column::Int16(p) => p.push(fast!(|b| int_fast(b).and_then(|v| i16::try_from(v).ok()), parse_int)),
            Column::Int32(p) => p.push(fast!(|b| int_fast(b).and_then(|v| i32::try_from(v).ok()), parse_int)),
            Column::Int64(p) => p.push(fast!(int_fast, parse_int)),
            Column::Float32(p) => p.push(v.map(parse_fast_float).transpose()?),
            Column::Float64(p) => p.push(fast!(|b: &[u8]| plain(b, tail).map_or_else(|| double_fast(b), Plain::double), parse_fast_float)),
            Column::Decimal(p, scale) => p
                .push(fast!(|b: &[u8]| plain(b, tail).map_or_else(|| decimal_fast(b, *scale), |n| n.decimal(*scale)), |s| parse_decimal(
                    s, *scale
                ))),
            Column::Date(p) => p.push(fast!(fast_date, parse_date)),
            Column::Timestamp(p, unit) => p.push(fast!(|b| timestamp_fast(b, *unit), |s| naive_timestamp_in(s, *unit))),
            Column::Text(t, _) => t.push(v)?,
        }
        Ok(())
    }

    fn truncate(&mut self, rows: usize) {
        match self {
            Column::Utf8(t) | Column::Text(t, _) => t.truncate(rows),
            Column::Boolean(values, nulls) => {
                values.truncate(rows);
                nulls.truncate(rows);
            }
            Column::Int8(p) => p.truncate(rows),
            Column::Int16(p) => p.truncate(rows),
            Column::Int32(p) => p.truncate(rows),
            Column::Int64(p) | Column::Timestamp(p, _) => p.truncate(rows),
            Column::Float32(p) => p.truncate(rows),
            Column::Float64(p) => p.truncate(rows),
            Column::Decimal(p, _) => p.truncate(rows),
            Column::Date(p) => p.truncate(rows),
        }
    }

    /// The column's `rows` values as an array of `dt`; the column is left empty, sized for
    /// `capacity` rows. Errors of the text conversion name their row within the batch.
    fn finish(&mut self, rows: usize, capacity: usize, dt: &DataType) -> Result<ArrayRef> {
        Ok(match self {
            Column::Utf8(t) => t.finish(capacity)?,
            Column::Boolean(values, nulls) => {
                let values = values.finish(capacity);
                let nulls = nulls.finish(values.len());
                Arc::new(BooleanArray::new(values, nulls))
            }
            Column::Int8(p) => p.finish(capacity, dt),
            Column::Int16(p) => p.finish(capacity, dt),
            Column::Int32(p) => p.finish(capacity, dt),
            Column::Int64(p) => p.finish(capacity, dt),
            Column::Float32(p) => p.finish(capacity, dt),
            Column::Float64(p) => p.finish(capacity, dt),
            Column::Decimal(p, _) => p.finish(capacity, dt),
            Column::Date(p) => p.finish(capacity, dt),
            Column::Timestamp(p, unit) => {
                let (values, nulls) = p.take(capacity);
                match unit {
                    TimeUnit::Second => Arc::new(TimestampSecondArray::new(values, nulls)),
                    TimeUnit::Millisecond => Arc::new(TimestampMillisecondArray::new(values, nulls)),
                    TimeUnit::Microsecond => Arc::new(TimestampMicrosecondArray::new(values, nulls)),
                    TimeUnit::Nanosecond => Arc::new(TimestampNanosecondArray::new(values, nulls)),
                }
            }
            Column::Text(t, decoder) => {
                let converted = decoder.append_columns(rows, |r, _| t.get(r)).and_then(|()| decoder.flush());
                t.clear();
                converted?.expect("rows appended").column(0).clone()
            }
        })
    }
}

/// The batch being decoded: the [`Fields`] sink of the splitter.
pub(super) struct Columns {
    schema: SchemaRef,
    columns: Vec<Column>,
    /// Complete records in the batch.
    rows: usize,
    /// Rows of the CSV in earlier batches (for errors).
    before: u64,
    /// Rows per batch.
    capacity: usize,
}

impl Columns {
    /// Columns for `schema` (as [`crate::decode::schema::arrow_schema`] or
    /// [`crate::decode::duckdb::duckdb_schema`] builds it), batches of `capacity` rows.
    pub(super) fn new(schema: SchemaRef, capacity: usize) -> Result<Self> {
        let duckdb = crate::decode::duckdb::is_duckdb(&schema);
        let columns = (0..schema.fields().len()).map(|f| Column::new(&schema, f, capacity, duckdb)).collect::<Result<_>>()?;
        Ok(Self { schema, columns, rows: 0, before: 0, capacity })
    }

    pub(super) fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Whether the batch holds its `capacity` rows.
    pub(super) fn is_full(&self) -> bool {
        self.rows == self.capacity
    }

    /// Drops the fields of a record not ended (cut at the end of a piece).
    pub(super) fn drop_partial(&mut self) {
        let rows = self.rows;
        self.columns.iter_mut().for_each(|c| c.truncate(rows));
    }

    /// The complete records as one batch (`None` when there are none).
    pub(super) fn flush(&mut self) -> Result<Option<RecordBatch>> {
        self.drop_partial();
        if self.rows == 0 {
            return Ok(None);
        }
        let (rows, before) = (self.rows, self.before);
        self.rows = 0;
        self.before += rows as u64;
        let mut arrays = Vec::with_capacity(self.columns.len());
        for (column, field) in self.columns.iter_mut().zip(self.schema.fields()) {
            let array = column.finish(rows, self.capacity, field.data_type()).map_err(|e| match e {
                Error::Decode { row: Some(r), query_id, column, message, source } => {
                    Error::Decode { row: Some(before + r), query_id, column, message, source }
                }
                e => e,
            })?;
            arrays.push(array);
        }
        RecordBatch::try_new(self.schema.clone(), arrays).map(Some).map_err(|e| Error::Decode {
            query_id: None,
            column: None,
            row: None,
            message: "cannot assemble batch".into(),
            source: Some(Box::new(e)),
        })
    }
}

impl Columns {
    /// `e` of field `index` of the current record, with its column and row.
    #[cold]
    fn value_error(&self, index: usize, e: ValueError) -> Error {
        Error::Decode {
            query_id: None,
            column: Some(self.schema.field(index).name().clone()),
            row: Some(self.before + self.rows as u64),
            message: e.to_string(),
            source: None,
        }
    }
}

impl<'a> Fields<'a> for Columns {
    #[inline(always)]
    fn field(&mut self, index: usize, value: Option<&'a str>, quotes: bool, tail: Tail<'a>) -> Result<()> {
        // Fields beyond the schema's are not stored: the record's end reports them.
        if let Some(column) = self.columns.get_mut(index)
            && let Err(e) = column.push(value, quotes, tail)
        {
            return Err(self.value_error(index, e));
        }
        Ok(())
    }

    #[inline(always)]
    fn end(&mut self, fields: usize) -> Result<bool> {
        if fields != self.columns.len() {
            return Err(Error::decode(format!(
                "result CSV row {} has {fields} fields, expected {}",
                self.before + self.rows as u64,
                self.columns.len()
            )));
        }
        self.rows += 1;
        Ok(self.is_full())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::Bits;

    proptest! {
        /// Bits appended, cut back anywhere (a record cut at a piece's end), appended again:
        /// the buffer holds exactly the bits kept.
        #[test]
        fn bits_cut_back_anywhere_keep_exactly_their_bits(
            first in proptest::collection::vec(any::<bool>(), 0..300),
            keep in 0usize..300,
            then in proptest::collection::vec(any::<bool>(), 0..100),
        ) {
            let mut bits = Bits::new(8);
            first.iter().for_each(|&b| bits.append(b));
            let keep = keep.min(first.len());
            bits.truncate(keep);
            then.iter().for_each(|&b| bits.append(b));
            let want: Vec<bool> = first[..keep].iter().chain(&then).copied().collect();
            let got: Vec<bool> = bits.finish(8).iter().collect();
            prop_assert_eq!(got, want);
            prop_assert_eq!(bits.finish(8).len(), 0);
        }
    }
}
