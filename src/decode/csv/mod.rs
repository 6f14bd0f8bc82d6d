//! Athena's result CSV, decoded without I/O: every non-NULL value is double-quoted (`""` inside
//! is one `"`), an unquoted empty field is NULL, `""` is the empty string, newlines inside quotes
//! belong to the value, every record ends with `\n`, and an empty line is one NULL column.
//!
//! arrow-csv cannot tell a quoted empty field from an unquoted one (its parser drops the quoting),
//! so the NULL vs empty-string rule needs this small record splitter ([`split`]); each field goes
//! from it straight into its column's values ([`columns`]), the rarer types through the same
//! [`TextDecoder`](crate::decode::text::TextDecoder) as GetQueryResults rows.

use std::borrow::Cow;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;

use crate::error::{Error, Result};

mod boundary;
mod columns;
mod split;

pub use boundary::{Grammar, Resync, Start, count_quotes, first_boundary, last_boundary, record_cuts, resync, resync_in, start_in};
use columns::Columns;
use split::{Fields, Tail, split};

fn truncated(rest: usize) -> Error {
    Error::decode(format!("result CSV is truncated: {rest} bytes after the last complete record"))
}

/// Counts records (the splitter's share of decoding, for the bench).
struct Count(usize);

impl Fields<'_> for Count {
    fn field(&mut self, _: usize, _: Option<&str>, _: bool, _: Tail<'_>) -> Result<()> {
        Ok(())
    }

    fn end(&mut self, _: usize) -> Result<bool> {
        self.0 += 1;
        Ok(false)
    }
}

#[doc(hidden)] // public for the benches (benches/csv_decode.rs), not an API
/// The number of complete records in `buf`, split as the decoder splits them and not
/// converted: the splitter's share of decoding.
pub fn count_records(buf: &[u8]) -> Result<usize> {
    let mut count = Count(0);
    split(buf, &mut count)?;
    Ok(count.0)
}

/// Gathers each record's fields, unescaped, for a callback; `stop` after the first record.
struct Records<'a, F> {
    values: Vec<Option<Cow<'a, str>>>,
    on_record: F,
    stop: bool,
}

impl<'a, F: FnMut(&[Option<Cow<'_, str>>]) -> Result<()>> Fields<'a> for Records<'a, F> {
    fn field(&mut self, _: usize, value: Option<&'a str>, quotes: bool, _: Tail<'a>) -> Result<()> {
        self.values.push(value.map(|v| if quotes { Cow::Owned(v.replace("\"\"", "\"")) } else { Cow::Borrowed(v) }));
        Ok(())
    }

    fn end(&mut self, _: usize) -> Result<bool> {
        (self.on_record)(&self.values)?;
        self.values.clear();
        Ok(self.stop)
    }
}

#[doc(hidden)] // public for the benches (benches/csv_decode.rs) and tests, not an API
/// Splits complete records off the front of `buf`, calling `on_record` with each record's
/// fields (None = NULL). Returns the bytes consumed: a trailing partial record is left for the
/// next call (with more bytes appended); at the end of input (`last`) it is an error.
pub fn split_records(buf: &[u8], last: bool, on_record: impl FnMut(&[Option<Cow<'_, str>>]) -> Result<()>) -> Result<usize> {
    let pos = split(buf, &mut Records { values: Vec::new(), on_record, stop: false })?;
    if last && pos < buf.len() {
        return Err(truncated(buf.len() - pos));
    }
    Ok(pos)
}

#[doc(hidden)] // public for the benches (benches/csv_decode.rs, benches/fast_path.rs), not an API
/// Rows per batch decoded from CSV, as for Parquet.
pub const BATCH_ROWS: usize = 8192;

/// Decodes a result CSV fed in pieces into batches of at most [`BATCH_ROWS`] rows: the header
/// line is checked against the schema and skipped; each call to [`feed`](Self::feed) yields the
/// batches of its complete records.
pub struct CsvDecoder {
    columns: Columns,
    carry: Vec<u8>,
    header_seen: bool,
}

impl std::fmt::Debug for CsvDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvDecoder").field("schema", self.columns.schema()).field("header_seen", &self.header_seen).finish_non_exhaustive()
    }
}

impl CsvDecoder {
    /// A decoder for the CSV from its header line on, into batches of `schema` (as
    /// [`crate::decode::schema::arrow_schema`] or [`crate::decode::duckdb::duckdb_schema`] builds
    /// it).
    ///
    /// # Errors
    /// [`Error::UnsupportedType`] as [`TextDecoder::new`](crate::decode::text::TextDecoder::new).
    pub fn new(schema: SchemaRef) -> Result<Self> {
        Ok(Self { columns: Columns::new(schema, BATCH_ROWS)?, carry: Vec::new(), header_seen: false })
    }

    /// A decoder for a piece of the CSV after its header line.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn without_header(schema: SchemaRef) -> Result<Self> {
        Ok(Self { header_seen: true, ..Self::new(schema)? })
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
        batches.extend(self.columns.flush()?);
        Ok(batches)
    }

    /// Decodes the complete records of `buf` into `batches`, returning the bytes consumed: each
    /// field goes into its column as the splitter finds it; a full batch is flushed.
    fn split(&mut self, buf: &[u8], last: bool, batches: &mut Vec<RecordBatch>) -> Result<usize> {
        let mut pos = 0;
        if !self.header_seen {
            let mut names = Vec::new();
            pos = split(
                buf,
                &mut Records {
                    values: Vec::new(),
                    on_record: |f: &[Option<Cow<'_, str>>]| {
                        names = f.iter().map(|v| v.as_deref().unwrap_or("").to_owned()).collect();
                        Ok(())
                    },
                    stop: true,
                },
            )?;
            if pos == 0 {
                return if last && !buf.is_empty() { Err(truncated(buf.len())) } else { Ok(0) };
            }
            self.header_seen = true;
            let expected: Vec<&str> = self.columns.schema().fields().iter().map(|f| f.name().as_str()).collect();
            if names != expected {
                return Err(Error::decode(format!("result CSV header {names:?} does not match the columns {expected:?}")));
            }
        }
        loop {
            pos += split(&buf[pos..], &mut self.columns)?;
            if !self.columns.is_full() {
                break;
            }
            batches.extend(self.columns.flush()?);
        }
        self.columns.drop_partial();
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
        // Record starts: 0, 4, 15; cuts fall on them, never back, the last at the end.
        assert_eq!(record_cuts(csv, 2), vec![0, 15, 19]);
        assert_eq!(record_cuts(csv, 4), vec![0, 15, 15, 15, 19]);
        assert_eq!(record_cuts(csv, 1), vec![0, 19]);
    }

    #[test]
    fn decoder_checks_the_header_and_types_values() {
        let cols = [
            ColumnInfo { name: "n".into(), type_name: "integer".into(), precision: 10, scale: 0 },
            ColumnInfo { name: "s".into(), type_name: "varchar".into(), precision: 0, scale: 0 },
        ];
        let schema = arrow_schema(&cols, Some(TimeUnit::Nanosecond)).unwrap();
        let mut d = CsvDecoder::new(schema.clone()).unwrap();
        assert_eq!(d.feed(b"\"n\",\"s\"\n\"1\",\"\"\n,", false).unwrap().len(), 1);
        let b = d.feed(b"\n", true).unwrap().pop().unwrap();
        assert_eq!((value_at(b.column(0).as_ref(), 0), value_at(b.column(1).as_ref(), 0)), (Value::Null, Value::Null));
        let mut d = CsvDecoder::new(schema).unwrap();
        assert!(d.feed(b"\"x\",\"s\"\n", true).is_err());
        // A column name holding a quote is written doubled in the header.
        let quoted =
            arrow_schema(&[ColumnInfo { name: "a\"b".into(), type_name: "varchar".into(), precision: 0, scale: 0 }], None).unwrap();
        let mut d = CsvDecoder::new(quoted).unwrap();
        assert_eq!(d.feed(b"\"a\"\"b\"\n\"x\"\n", true).unwrap()[0].num_rows(), 1);
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::*;
        use crate::decode::schema::{ColumnInfo, arrow_schema};
        use crate::decode::text::TextDecoder;

        fn decoder() -> CsvDecoder {
            let columns: Vec<ColumnInfo> =
                [("i", "integer", 10, 0), ("s", "varchar", 0, 0), ("d", "decimal", 10, 2), ("t", "timestamp", 3, 0)]
                    .iter()
                    .map(|(n, t, p, s)| ColumnInfo { name: (*n).into(), type_name: (*t).into(), precision: *p, scale: *s })
                    .collect();
            CsvDecoder::new(arrow_schema(&columns, None).unwrap()).unwrap()
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

            /// UTF-8 is checked as the records are split: records of multi-byte text with one
            /// byte replaced (by a byte above 0x7F, which is never a delimiter or a quote, so
            /// the records stay whole) are refused exactly when the bytes are not UTF-8, with
            /// the message naming it, whether split whole or decoded in two pieces cut anywhere
            /// (inside a character too); valid ones give their values back.
            #[test]
            fn records_are_refused_exactly_when_not_utf8(
                records in proptest::collection::vec(
                    proptest::collection::vec(proptest::option::of("[a\",é€😀]{0,40}"), 3), 1..20),
                lead in 0usize..64,
                at in any::<proptest::sample::Index>(),
                byte in 0x80u8..=0xFF,
                corrupt in any::<bool>(),
                cut in any::<proptest::sample::Index>(),
            ) {
                // A first column name of `lead` bytes shifts everything else against the blocks.
                let names = [format!("c{}", "x".repeat(lead)), "c1".into(), "c2".into()];
                let header: Vec<Option<String>> = names.iter().cloned().map(Some).collect();
                let mut bytes = crate::decode::csv::written(&[vec![header], records.clone()].concat()).into_bytes();
                // A byte of a value's text (not a quote, comma or newline).
                let text_bytes: Vec<usize> = (0..bytes.len()).filter(|&i| !b"\",\n".contains(&bytes[i])).collect();
                if corrupt && !text_bytes.is_empty() {
                    bytes[text_bytes[at.index(text_bytes.len())]] = byte;
                }
                let valid = std::str::from_utf8(&bytes).is_ok();
                let mut got = Vec::new();
                let whole = split_records(&bytes, true, |f| {
                    got.push(f.iter().map(|v| v.as_deref().map(str::to_owned)).collect::<Vec<_>>());
                    Ok(())
                });
                match whole {
                    Ok(used) => {
                        prop_assert!(valid, "invalid UTF-8 accepted");
                        prop_assert_eq!(used, bytes.len());
                        if !corrupt {
                            prop_assert_eq!(&got[1..], &records[..]);
                        }
                    }
                    Err(e) => {
                        prop_assert!(!valid, "valid UTF-8 refused: {}", e);
                        prop_assert!(e.to_string().contains("not UTF-8"), "{}", e);
                    }
                }
                // Decoded in two pieces: the same verdict (a corrupted header is refused too).
                let columns: Vec<ColumnInfo> =
                    names.iter().map(|n| ColumnInfo { name: n.clone(), type_name: "varchar".into(), precision: 0, scale: 0 }).collect();
                let mut d = CsvDecoder::new(arrow_schema(&columns, None).unwrap()).unwrap();
                let cut = cut.index(bytes.len() + 1);
                let pieced = d.feed(&bytes[..cut], false).and_then(|mut a| { a.extend(d.feed(&bytes[cut..], true)?); Ok(a) });
                match pieced {
                    Ok(batches) => {
                        prop_assert!(valid, "invalid UTF-8 decoded");
                        prop_assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), records.len());
                    }
                    Err(e) => prop_assert!(!valid || corrupt, "valid records refused: {}", e),
                }
            }

            #[test]
            fn raw_random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
                let _ = decoder().feed(&bytes, true);
            }

            /// Fields converted as they are split give the very arrays of the text converter
            /// fed the same values row by row (or both refuse the input, at the same first bad
            /// value), for every type converted as it is split and one (time) converted when the
            /// batch is finished, whatever the piece boundaries.
            #[test]
            fn typed_columns_agree_with_the_text_converter(
                rows in prop_oneof![3 => proptest::collection::vec(row(false), 0..30), 1 => proptest::collection::vec(row(true), 0..30)],
                cut in 0usize..2000,
            ) {
                let columns: Vec<ColumnInfo> = [
                    ("s", "varchar", 0, 0), ("b", "boolean", 0, 0), ("t", "tinyint", 3, 0), ("m", "smallint", 5, 0),
                    ("i", "integer", 10, 0), ("l", "bigint", 19, 0), ("f", "real", 24, 0), ("x", "double", 53, 0),
                    ("d", "decimal", 12, 2), ("day", "date", 0, 0), ("ts", "timestamp", 3, 0), ("tm", "time", 3, 0),
                ]
                .iter()
                .map(|(n, t, p, s)| ColumnInfo { name: (*n).into(), type_name: (*t).into(), precision: *p, scale: *s })
                .collect();
                for unit in [None, Some(arrow::datatypes::TimeUnit::Second)] {
                    let schema = arrow_schema(&columns, unit).unwrap();
                    let header: Vec<Option<String>> = columns.iter().map(|c| Some(c.name.clone())).collect();
                    let csv = crate::decode::csv::written(&[vec![header], rows.clone()].concat());
                    let cut = cut.min(csv.len());
                    let mut d = CsvDecoder::new(schema.clone()).unwrap();
                    let got = d.feed(&csv.as_bytes()[..cut], false).and_then(|mut a| { a.extend(d.feed(&csv.as_bytes()[cut..], true)?); Ok(a) });
                    let mut text = TextDecoder::with_capacity(schema.clone(), BATCH_ROWS).unwrap();
                    let want = rows.iter().try_for_each(|r| text.append_row(r.iter().map(|v| v.as_deref()))).and_then(|()| text.flush());
                    match (got, want) {
                        (Ok(got), Ok(want)) => {
                            let got = arrow::compute::concat_batches(&schema, &got).unwrap();
                            let want = want.unwrap_or_else(|| RecordBatch::new_empty(schema.clone()));
                            prop_assert_eq!(got, want);
                        }
                        // The same first bad value (row-major in both): its column and row (the
                        // split text keeps a value's quotes doubled, as written).
                        (Err(Error::Decode { column: c, row: r, .. }), Err(Error::Decode { column: wc, row: wr, .. })) => {
                            prop_assert_eq!((c, r), (wc, wr));
                        }
                        (got, want) => prop_assert!(false, "split {:?} vs row by row {:?}", got.map(|_| ()), want.map(|_| ())),
                    }
                }
            }
        }

        /// A row of the test's columns: each column's own text (NULLs included), and with
        /// `junk` now and then a value of another shape.
        fn row(junk: bool) -> Vec<BoxedStrategy<Option<String>>> {
            let own: [BoxedStrategy<String>; 12] = [
                "[a\",\né]{0,12}".boxed(),
                prop_oneof![Just("true".to_owned()), Just("false".to_owned())].boxed(),
                any::<i8>().prop_map(|v| v.to_string()).boxed(),
                any::<i16>().prop_map(|v| v.to_string()).boxed(),
                prop_oneof![any::<i32>().prop_map(|v| v.to_string()), Just("007".to_owned()), Just("+5".to_owned())].boxed(),
                any::<i64>().prop_map(|v| v.to_string()).boxed(),
                any::<f32>().prop_map(|v| format!("{v:?}")).boxed(),
                // Doubles of any bits (mostly with an exponent), and of the plain shape that is
                // read from the 16 bytes ending with it, up to 16 bytes and beyond.
                prop_oneof![
                    any::<f64>().prop_map(|v| format!("{v:?}")),
                    "-?[0-9]{1,9}\\.[0-9]{1,9}",
                    Just("Infinity".to_owned()),
                    Just("-0.0".to_owned())
                ]
                .boxed(),
                prop_oneof!["-?[0-9]{1,10}(\\.[0-9]{0,2})?", "-?[0-9]{0,10}\\.[0-9]{1,2}"].boxed(),
                "[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])".boxed(),
                "[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]) [01][0-9]:[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,3})?".boxed(),
                // Converted when the batch is finished (the text converter's type); whole seconds,
                // which every unit holds.
                "[01][0-9]:[0-5][0-9]:[0-5][0-9]".boxed(),
            ];
            let other = prop_oneof!["[0-9a-z\" .:+-]{0,12}", Just("1.005".to_owned()), Just("2017-02-30".to_owned())];
            // Junk only in the columns converted as they are split: a bad value of the time column
            // is found when its batch is finished, after the bad values of later rows in the
            // others (so "the first bad value" differs from the row-by-row converter's).
            let typed = own.len() - 1;
            own.into_iter()
                .enumerate()
                .map(|(k, own)| {
                    let junk = u32::from(junk && k < typed);
                    proptest::option::weighted(0.9, prop_oneof![20 => own, junk => other.clone()]).boxed()
                })
                .collect()
        }
    }
}
