//! Athena's result CSV, decoded without I/O: every non-NULL value is double-quoted (`""` inside
//! is one `"`), an unquoted empty field is NULL, `""` is the empty string, newlines inside quotes
//! belong to the value, every record ends with `\n`, and an empty line is one NULL column.
//!
//! arrow-csv cannot tell a quoted empty field from an unquoted one (its parser drops the quoting),
//! so the NULL vs empty-string rule needs this small record splitter; values then go through the
//! same [`TextDecoder`] as GetQueryResults rows.

use std::borrow::Cow;

use arrow::array::RecordBatch;

use crate::decode::text::TextDecoder;
use crate::error::{Error, Result};

mod boundary;
mod index;

pub use boundary::{Grammar, Resync, Start, count_quotes, first_boundary, last_boundary, resync, resync_in, start_in};
use index::Index;

/// The longest prefix of `buf` that is UTF-8: a character cut at the end of a piece waits for
/// the next one (not at the end of input, `last`). UTF-8 is checked once per piece; fields are
/// then cut at ASCII delimiters, which are always character boundaries.
fn utf8_prefix(buf: &[u8], last: bool) -> Result<&str> {
    match std::str::from_utf8(buf) {
        Ok(text) => Ok(text),
        Err(e) if !last && e.error_len().is_none() => Ok(std::str::from_utf8(&buf[..e.valid_up_to()]).expect("valid prefix")),
        Err(e) => Err(Error::decode(format!("result CSV is not UTF-8: {e}"))),
    }
}

fn truncated(rest: usize) -> Error {
    Error::decode(format!("result CSV is truncated: {rest} bytes after the last complete record"))
}

#[doc(hidden)] // public for the benches (benches/csv_decode.rs), not an API
/// The number of complete records in `buf`, indexed a batch at a time as the decoder does and
/// not converted: the splitter's share of decoding.
pub fn count_records(buf: &[u8]) -> Result<usize> {
    let mut index = Index::default();
    let (mut pos, mut records) = (0, 0);
    loop {
        pos += index.records(&buf[pos..], BATCH_ROWS)?;
        records += index.ends.len();
        if index.ends.len() < BATCH_ROWS {
            return Ok(records);
        }
    }
}

#[doc(hidden)] // public for the benches (benches/csv_decode.rs) and tests, not an API
/// Splits complete records off the front of `buf`, calling `on_record` with each record's
/// fields (None = NULL). Returns the bytes consumed: a trailing partial record is left for the
/// next call (with more bytes appended); at the end of input (`last`) it is an error.
pub fn split_records(buf: &[u8], last: bool, mut on_record: impl FnMut(&[Option<Cow<'_, str>>]) -> Result<()>) -> Result<usize> {
    let text = utf8_prefix(buf, last)?;
    let mut index = Index::default();
    let mut pos = 0;
    let mut values = Vec::new();
    loop {
        let used = index.records(&text.as_bytes()[pos..], BATCH_ROWS)?;
        for r in 0..index.ends.len() {
            values.clear();
            values.extend(index.record(r).iter().map(|f| match f.value(&text[pos..]) {
                None => None,
                Some(v) if v.contains('"') => Some(Cow::Owned(v.replace("\"\"", "\""))),
                Some(v) => Some(Cow::Borrowed(v)),
            }));
            on_record(&values)?;
        }
        pos += used;
        if index.ends.len() < BATCH_ROWS {
            break;
        }
    }
    if last && pos < buf.len() {
        return Err(truncated(buf.len() - pos));
    }
    Ok(pos)
}

#[doc(hidden)] // public for the benches (benches/csv_decode.rs, benches/fast_path.rs), not an API
/// Rows per batch decoded from CSV, as for Parquet.
pub const BATCH_ROWS: usize = 8192;

/// Records indexed, then converted column by column, at a time.
const RUN_ROWS: usize = 512;

/// Decodes a result CSV fed in pieces into batches of at most [`BATCH_ROWS`] rows: the header
/// line is checked against the schema and skipped; each call to [`feed`](Self::feed) yields the
/// batches of its complete records.
#[derive(Debug)]
pub struct CsvDecoder {
    decoder: TextDecoder,
    carry: Vec<u8>,
    header_seen: bool,
    rows: u64,
    index: Index,
}

impl CsvDecoder {
    /// A decoder for the CSV from its header line on; `decoder` is best made with
    /// [`TextDecoder::with_capacity`]`(schema, BATCH_ROWS)`.
    pub fn new(decoder: TextDecoder) -> Self {
        Self { decoder, carry: Vec::new(), header_seen: false, rows: 0, index: Index::default() }
    }

    /// A decoder for a piece of the CSV after its header line.
    pub fn without_header(decoder: TextDecoder) -> Self {
        Self { decoder, carry: Vec::new(), header_seen: true, rows: 0, index: Index::default() }
    }

    /// Appends `bytes` and decodes the complete records; `last` marks the end of the object.
    ///
    /// # Errors
    /// [`Error::Decode`] for malformed or truncated CSV, a header that does not match the
    /// schema, or values that do not parse.
    pub fn feed(&mut self, bytes: &[u8], last: bool) -> Result<Vec<RecordBatch>> {
        let mut batches = Vec::new();
        let mut rest = bytes;
        if !self.carry.is_empty() {
            // The record begun in an earlier piece is completed with the bytes up to its end
            // (a `\n` at even quote parity); the rest of the piece is split in place, uncopied.
            let odd = count_quotes(&self.carry) % 2 == 1;
            let end = first_boundary(bytes, odd).unwrap_or(bytes.len());
            let mut joined = std::mem::take(&mut self.carry);
            joined.extend_from_slice(&bytes[..end]);
            rest = &bytes[end..];
            let mut consumed = self.split(&joined, last && rest.is_empty(), &mut batches)?;
            if consumed < joined.len() && !rest.is_empty() {
                // No record end where the parity put one (malformed bytes): go on with the
                // carried bytes and the whole piece, as if fed at once.
                joined.drain(..consumed);
                joined.extend_from_slice(rest);
                rest = &[];
                consumed = self.split(&joined, last, &mut batches)?;
            }
            joined.drain(..consumed);
            self.carry = joined;
        }
        let consumed = self.split(rest, last, &mut batches)?;
        self.carry.extend_from_slice(&rest[consumed..]);
        if last && !self.header_seen {
            return Err(Error::decode("result CSV has no header line"));
        }
        batches.extend(self.decoder.flush()?);
        Ok(batches)
    }

    /// Decodes the complete records of `buf` into `batches`, returning the bytes consumed:
    /// records are indexed a batch at a time, then converted column by column.
    fn split(&mut self, buf: &[u8], last: bool, batches: &mut Vec<RecordBatch>) -> Result<usize> {
        let Self { decoder, header_seen, rows, index, .. } = self;
        let text = utf8_prefix(buf, last)?;
        let columns = decoder.schema().fields().len();
        let mut pos = 0;
        if !*header_seen {
            pos = index.records(text.as_bytes(), 1)?;
            if index.ends.is_empty() {
                return if last && !buf.is_empty() { Err(truncated(buf.len())) } else { Ok(0) };
            }
            *header_seen = true;
            let names: Vec<String> = index.record(0).iter().map(|f| f.value(text).unwrap_or("").replace("\"\"", "\"")).collect();
            let expected: Vec<&str> = decoder.schema().fields().iter().map(|f| f.name().as_str()).collect();
            if names != expected {
                return Err(Error::decode(format!("result CSV header {names:?} does not match the columns {expected:?}")));
            }
        }
        loop {
            // Converted in runs of a few hundred records: their fields and bytes stay in the
            // core's cache while each column is converted.
            let want = (BATCH_ROWS - decoder.len()).min(RUN_ROWS);
            let rest = &text[pos..];
            let used = index.records(rest.as_bytes(), want)?;
            let n = index.ends.len();
            if let Some(r) = (0..n).find(|&r| index.record(r).len() != columns) {
                return Err(Error::decode(format!(
                    "result CSV row {} has {} fields, expected {columns}",
                    *rows + r as u64,
                    index.record(r).len()
                )));
            }
            let fields = &index.fields;
            decoder.append_columns(n, |r, c| fields[r * columns + c].value(rest))?;
            *rows += n as u64;
            pos += used;
            if decoder.len() == BATCH_ROWS {
                batches.extend(decoder.flush()?);
            }
            if n < want {
                break;
            }
        }
        if last && pos < buf.len() {
            return Err(truncated(buf.len() - pos));
        }
        Ok(pos)
    }
}

/// Records written as Athena writes a result CSV (for tests).
#[cfg(test)]
pub(crate) fn written(records: &[Vec<Option<String>>]) -> String {
    let mut csv = String::new();
    for record in records {
        let fields: Vec<String> = record
            .iter()
            .map(|v| match v {
                None => String::new(),
                Some(v) => format!("\"{}\"", v.replace('"', "\"\"")),
            })
            .collect();
        csv.push_str(&fields.join(","));
        csv.push('\n');
    }
    csv
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::schema::{ColumnInfo, arrow_schema};
    use crate::rows::row::{Value, value_at};
    use arrow::datatypes::TimeUnit;

    fn records(csv: &[u8]) -> Vec<Vec<Option<String>>> {
        let mut out = Vec::new();
        let used = split_records(csv, true, |f| {
            out.push(f.iter().map(|v| v.as_deref().map(str::to_owned)).collect());
            Ok(())
        })
        .unwrap();
        assert_eq!(used, csv.len());
        out
    }

    #[test]
    fn athena_csv_rules() {
        let csv = b"\"i\",\"s\",\"q\",\"n\",\"empty\"\n\"1\",\"it's\",\"a\"\"b\",,\"\"\n\"2\",\"line\nbreak\",\"\"\"\",\"x\",\"\"\n";
        let r = records(csv);
        assert_eq!(r.len(), 3);
        let s = |v: &str| Some(v.to_owned());
        assert_eq!(r[1], vec![s("1"), s("it's"), s("a\"b"), None, s("")]);
        assert_eq!(r[2], vec![s("2"), s("line\nbreak"), s("\""), s("x"), s("")]);
        // An empty line is one NULL column.
        assert_eq!(records(b"\"a\"\n\n\"\"\n"), vec![vec![s("a")], vec![None], vec![s("")]]);
    }

    #[test]
    fn pieces_and_truncation() {
        let csv = "\"a\",\"b\"\n\"1\",\"x\"\"y\"\n,\"2é€\"\n".as_bytes();
        for cut in 0..csv.len() {
            let mut got = Vec::new();
            let mut carry = Vec::new();
            for (piece, last) in [(&csv[..cut], false), (&csv[cut..], true)] {
                carry.extend_from_slice(piece);
                let used = split_records(&carry, last, |f| {
                    got.push(f.iter().map(|v| v.as_deref().map(str::to_owned)).collect::<Vec<_>>());
                    Ok(())
                })
                .unwrap();
                carry.drain(..used);
            }
            assert_eq!(got.len(), 3, "cut at {cut}");
            assert_eq!(got[1][1].as_deref(), Some("x\"y"));
            assert_eq!(got[2][0], None);
            assert_eq!(got[2][1].as_deref(), Some("2é€"), "a character cut between pieces at {cut}");
        }
        assert!(split_records(b"\"a\xff\"\n", true, |_| Ok(())).is_err(), "invalid UTF-8");
        assert!(split_records(b"\"a\"\n\"tru", true, |_| Ok(())).is_err());
        assert!(split_records(b"\"a\"x\n", true, |_| Ok(())).is_err());
    }

    #[test]
    fn boundaries_respect_quotes() {
        let csv = b"\"a\"\n\"x\ny\",\"\"\"\"\n\"z\"\n";
        assert_eq!(first_boundary(csv, false), Some(4));
        // From inside the quoted "x\ny": the newline after y" ... is the end of that record.
        let from = 6;
        assert_eq!(count_quotes(&csv[..from]) % 2, 1);
        assert_eq!(first_boundary(&csv[from..], true).map(|b| b + from), Some(15));
    }

    #[test]
    fn decoder_checks_the_header_and_types_values() {
        let cols = [
            ColumnInfo { name: "n".into(), type_name: "integer".into(), precision: 10, scale: 0 },
            ColumnInfo { name: "s".into(), type_name: "varchar".into(), precision: 0, scale: 0 },
        ];
        let schema = arrow_schema(&cols, Some(TimeUnit::Nanosecond)).unwrap();
        let mut d = CsvDecoder::new(TextDecoder::new(schema.clone()).unwrap());
        assert_eq!(d.feed(b"\"n\",\"s\"\n\"1\",\"\"\n,", false).unwrap().len(), 1);
        let b = d.feed(b"\n", true).unwrap().pop().unwrap();
        assert_eq!((value_at(b.column(0).as_ref(), 0), value_at(b.column(1).as_ref(), 0)), (Value::Null, Value::Null));
        let mut d = CsvDecoder::new(TextDecoder::new(schema).unwrap());
        assert!(d.feed(b"\"x\",\"s\"\n", true).is_err());
        // A column name holding a quote is written doubled in the header.
        let quoted =
            arrow_schema(&[ColumnInfo { name: "a\"b".into(), type_name: "varchar".into(), precision: 0, scale: 0 }], None).unwrap();
        let mut d = CsvDecoder::new(TextDecoder::new(quoted).unwrap());
        assert_eq!(d.feed(b"\"a\"\"b\"\n\"x\"\n", true).unwrap()[0].num_rows(), 1);
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::*;
        use crate::decode::schema::{ColumnInfo, arrow_schema};

        fn decoder() -> CsvDecoder {
            let columns: Vec<ColumnInfo> =
                [("i", "integer", 10, 0), ("s", "varchar", 0, 0), ("d", "decimal", 10, 2), ("t", "timestamp", 3, 0)]
                    .iter()
                    .map(|(n, t, p, s)| ColumnInfo { name: (*n).into(), type_name: (*t).into(), precision: *p, scale: *s })
                    .collect();
            CsvDecoder::new(TextDecoder::new(arrow_schema(&columns, None).unwrap()).unwrap())
        }

        /// Bytes shaped like a result CSV (quotes, commas, newlines, digits, dates) or not at all.
        fn csvish() -> impl Strategy<Value = Vec<u8>> {
            let piece = prop_oneof![
                Just(b"\"i\",\"s\",\"d\",\"t\"\n".to_vec()),
                Just(b"\"1\",\"a\",\"1.50\",\"2017-01-01 00:00:00.000\"\n".to_vec()),
                Just(b",,,\n".to_vec()),
                Just(b"\"\"".to_vec()),
                Just(b"\"".to_vec()),
                Just(b",".to_vec()),
                Just(b"\n".to_vec()),
                Just(b"\r\n".to_vec()),
                proptest::collection::vec(any::<u8>(), 0..8),
            ];
            proptest::collection::vec(piece, 0..24).prop_map(|p| p.concat())
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

            /// Any bytes: rows or an error, never a panic, whether whole or fed in pieces.
            #[test]
            fn any_bytes_give_rows_or_an_error(bytes in csvish(), cut in 0usize..64) {
                let whole = decoder().feed(&bytes, true);
                let mut pieces = decoder();
                let cut = cut.min(bytes.len());
                let first = pieces.feed(&bytes[..cut], false);
                let pieced = first.and_then(|mut a| { a.extend(pieces.feed(&bytes[cut..], true)?); Ok(a) });
                // Fed whole or in two pieces, the same rows (or both fail).
                match (whole, pieced) {
                    (Ok(a), Ok(b)) => {
                        let rows = |v: &Vec<RecordBatch>| v.iter().map(|b| b.num_rows()).sum::<usize>();
                        prop_assert_eq!(rows(&a), rows(&b));
                    }
                    (Err(_), Err(_)) => {}
                    (a, b) => prop_assert!(false, "whole {:?} vs pieces {:?}", a.map(|_| ()), b.map(|_| ())),
                }
            }

            /// Records of values with quotes, commas, newlines and multi-byte characters, written
            /// as Athena writes them, split back exactly, in any 64-byte block alignment.
            #[test]
            fn written_records_split_back(
                records in proptest::collection::vec(
                    proptest::collection::vec(proptest::option::of("[a\",\né]{0,80}"), 1..6), 1..40),
                lead in 0usize..64,
            ) {
                let csv = crate::decode::csv::written(&records);
                // A first record of `lead` bytes shifts everything else against the blocks.
                let csv = format!("\"{}\"\n{csv}", "x".repeat(lead));
                let mut got = Vec::new();
                let used = split_records(csv.as_bytes(), true, |f| {
                    got.push(f.iter().map(|v| v.as_deref().map(str::to_owned)).collect::<Vec<_>>());
                    Ok(())
                }).unwrap();
                prop_assert_eq!(used, csv.len());
                prop_assert_eq!(&got[1..], &records[..]);
            }

            #[test]
            fn raw_random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
                let _ = decoder().feed(&bytes, true);
            }
        }
    }
}
