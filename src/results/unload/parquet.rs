//! One UNLOAD data file as parquet's async reader sees it: an `AsyncFileReader` over ranged GETs
//! pinned to the object's ETag. The file's first request is a suffix GET whose length is a guess
//! of the file's size (see [`crate::results::unload::schedule`]): a small file comes whole in that
//! one request (footer and data), a large one brings its footer and its last bytes, which are
//! served from memory (as are the first bytes, when GETs of them were sent beside it); the byte
//! ranges parquet asks for are coalesced where they are close and fetched in parallel pieces of at
//! most `chunk_size`.
//!
//! INT96 timestamps are read in milliseconds (Trino's timestamp(3); the connection's forced unit
//! when it has one), never overflowing through nanoseconds, and the schema gets the Athena type of
//! each column in its field metadata, as the other sources do.

use std::ops::Range;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use bytes::{Bytes, BytesMut};
use futures::FutureExt;
use futures::future::BoxFuture;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};

use crate::decode::schema::{ATHENA_TYPE, athena_type_of};
use crate::error::{Error, Result};
use crate::fetch::{Fetcher, ObjectMeta};

/// Bytes read from the end of a data file when its size is not known to be small: the footer
/// (Parquet footers are rarely longer).
pub(crate) const FOOTER_GUESS: u64 = 64 * 1024;
/// Ranges parquet asks for that are at most this far apart are fetched as one (what object_store
/// coalesces by default).
const COALESCE_GAP: u64 = 1 << 20;

/// A Parquet object read through ranged GETs, pinned to its ETag; its tail (read with the first
/// request, footer included; the whole object when it is small) and the head read beside it, if
/// any, are served from memory.
#[derive(Clone)]
pub(crate) struct S3ParquetReader {
    fetcher: Fetcher,
    uri: Arc<str>,
    pub(crate) meta: ObjectMeta,
    /// The object's bytes read when it was opened, as the pieces they were read in: its last
    /// bytes from `tail_start` on (the whole object when it is small or client-side encrypted),
    /// and its first ones when they were read beside them.
    held: Arc<Pieces>,
    tail_start: u64,
}

impl S3ParquetReader {
    fn cached(&self, range: &Range<u64>) -> Option<Bytes> {
        if range.end > self.meta.size {
            return None;
        }
        self.held.slice(range)
    }

    /// Bytes of the object not in memory among `ranges` (what reading them will fetch).
    pub(crate) fn to_fetch(&self, ranges: impl Iterator<Item = Range<u64>>) -> u64 {
        ranges.filter(|r| r.end > self.meta.size || !self.held.covers(r)).map(|r| r.end - r.start).sum()
    }

    /// The bytes of `range` (not in memory), fetched in parallel pieces of at most `piece` bytes,
    /// kept as they came (no copy into one buffer): [`Pieces::slice`] hands out views of them.
    async fn fetch(&self, range: Range<u64>, piece: u64) -> Result<Pieces> {
        let piece = piece.max(1);
        let starts: Vec<u64> = (range.start..range.end).step_by(piece as usize).collect();
        let parts = futures::future::try_join_all(
            starts.iter().map(|&s| async move { self.fetcher.range(&self.uri, &self.meta, s, (s + piece).min(range.end)).await }),
        )
        .await?;
        Ok(Pieces { parts: starts.into_iter().zip(parts).collect() })
    }
}

/// Bytes of an object as the pieces they came in: `(start offset in the object, bytes)`, in
/// order, not overlapping (there may be gaps between them).
pub(crate) struct Pieces {
    parts: Vec<(u64, Bytes)>,
}

impl Pieces {
    /// Whether the pieces hold every byte of `range`.
    fn covers(&self, range: &Range<u64>) -> bool {
        if range.start >= range.end {
            return true;
        }
        let first = self.parts.partition_point(|(start, bytes)| start + bytes.len() as u64 <= range.start);
        let mut at = range.start;
        for (start, bytes) in &self.parts[first..] {
            if *start > at {
                return false;
            }
            at = at.max(start + bytes.len() as u64);
            if at >= range.end {
                return true;
            }
        }
        false
    }

    /// Bytes `range` of the object: a view of one piece when it lies in one, else a copy of the
    /// pieces it spans; `None` when they do not hold all of it.
    fn slice(&self, range: &Range<u64>) -> Option<Bytes> {
        if range.start >= range.end {
            return Some(Bytes::new());
        }
        let first = self.parts.partition_point(|(start, bytes)| start + bytes.len() as u64 <= range.start);
        let (start, bytes) = self.parts.get(first)?;
        if range.start < *start {
            return None;
        }
        let end_in_piece = start + bytes.len() as u64;
        if range.end <= end_in_piece {
            return Some(bytes.slice((range.start - start) as usize..(range.end - start) as usize));
        }
        if !self.covers(range) {
            return None;
        }
        let mut out = BytesMut::with_capacity((range.end - range.start) as usize);
        let mut at = range.start;
        for (start, bytes) in &self.parts[first..] {
            if at >= range.end {
                break;
            }
            let from = (at - start) as usize;
            let to = ((range.end - start) as usize).min(bytes.len());
            out.extend_from_slice(&bytes[from..to]);
            at = start + to as u64;
        }
        (at >= range.end).then(|| out.freeze())
    }
}

/// The piece size for fetching `total` bytes: about `concurrency` pieces, each request as long
/// as a connection moves in a few first-byte latencies (256 KiB) and at most `chunk_size`. S3
/// caps each connection's throughput, so one long GET of a row group would take several times
/// as long as the same bytes in parallel pieces.
fn piece_size(fetcher: &Fetcher, total: u64) -> u64 {
    let config = fetcher.config();
    (total / config.concurrency.max(1) as u64).clamp(256 << 10, config.chunk_size.max(256 << 10))
}

fn external(e: Error) -> ParquetError {
    ParquetError::External(Box::new(e))
}

/// `ranges` merged where they are at most `gap` apart (overlapping ones too), sorted.
pub(crate) fn coalesce(ranges: &[Range<u64>], gap: u64) -> Vec<Range<u64>> {
    let mut sorted: Vec<Range<u64>> = ranges.iter().filter(|r| r.end > r.start).cloned().collect();
    sorted.sort_by_key(|r| r.start);
    let mut out: Vec<Range<u64>> = Vec::with_capacity(sorted.len());
    for r in sorted {
        match out.last_mut() {
            Some(last) if r.start <= last.end.saturating_add(gap) => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

impl AsyncFileReader for S3ParquetReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        async move {
            if let Some(bytes) = self.cached(&range) {
                return Ok(bytes);
            }
            let pieces = self.fetch(range.clone(), piece_size(&self.fetcher, range.end - range.start)).await.map_err(external)?;
            pieces.slice(&range).ok_or_else(|| ParquetError::General(format!("range {range:?} was not fetched")))
        }
        .boxed()
    }

    fn get_byte_ranges(&mut self, ranges: Vec<Range<u64>>) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        async move {
            let this = &*self;
            let missing: Vec<Range<u64>> = ranges.iter().filter(|r| this.cached(r).is_none()).cloned().collect();
            let merged = coalesce(&missing, COALESCE_GAP);
            let piece = piece_size(&this.fetcher, merged.iter().map(|r| r.end - r.start).sum());
            let fetched = futures::future::try_join_all(merged.iter().map(|r| this.fetch(r.clone(), piece))).await.map_err(external)?;
            ranges
                .iter()
                .map(|r| {
                    if let Some(bytes) = this.cached(r) {
                        return Ok(bytes);
                    }
                    let i = merged.partition_point(|m| m.end < r.end);
                    match (merged.get(i), fetched.get(i)) {
                        (Some(m), Some(pieces)) if m.start <= r.start && r.end <= m.end => pieces.slice(r),
                        _ => None,
                    }
                    .ok_or_else(|| ParquetError::General(format!("range {r:?} was not fetched")))
                })
                .collect()
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        _options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let size = self.meta.size;
            let hint = (size - self.tail_start).max(FOOTER_GUESS) as usize;
            let metadata = ParquetMetaDataReader::new().with_prefetch_hint(Some(hint)).load_and_finish(self, size).await?;
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}

/// The schema to read a file with: INT96 columns in `unit`, every field with its Athena type.
fn read_schema(metadata: &ArrowReaderMetadata, unit: Option<TimeUnit>) -> SchemaRef {
    let descr = metadata.metadata().file_metadata().schema_descr();
    let int96: Vec<String> = descr
        .columns()
        .iter()
        .filter(|c| c.physical_type() == parquet::basic::Type::INT96 && c.path().parts().len() == 1)
        .map(|c| c.name().to_owned())
        .collect();
    let fields: Vec<Field> = metadata
        .schema()
        .fields()
        .iter()
        .map(|f| {
            // Trino writes timestamp(3) columns as INT96: milliseconds hold every value exactly.
            let dt = if int96.contains(f.name()) {
                DataType::Timestamp(unit.unwrap_or(TimeUnit::Millisecond), None)
            } else {
                f.data_type().clone()
            };
            let mut md = f.metadata().clone();
            md.insert(ATHENA_TYPE.to_owned(), athena_type_of(&dt).to_owned());
            f.as_ref().clone().with_data_type(dt).with_metadata(md)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// The schema a data file is read with (its footer only).
pub(crate) async fn file_schema(fetcher: &Fetcher, uri: &str, unit: Option<TimeUnit>) -> Result<SchemaRef> {
    Ok(open_file(fetcher, uri, unit, None, FOOTER_GUESS, 0).await?.schema)
}

/// A data file with its reader and footer loaded, and the schema it is read with.
pub(crate) struct Opened {
    pub reader: S3ParquetReader,
    pub metadata: ArrowReaderMetadata,
    pub schema: SchemaRef,
}

/// Opens a data file with one suffix GET of `guess` bytes (the whole file when it is no longer)
/// and, when `head` is not 0, GETs of its first `head` bytes in pieces of `guess` sent at the same
/// time (kept when they have the tail's ETag); `expected`: the size and ETag it must still have.
pub(crate) async fn open_file(
    fetcher: &Fetcher,
    uri: &str,
    unit: Option<TimeUnit>,
    expected: Option<&ObjectMeta>,
    guess: u64,
    head: u64,
) -> Result<Opened> {
    let guess = guess.max(FOOTER_GUESS);
    // The head's GETs go out with the tail's and are as long; tried once each, they take no
    // longer than one answer (a throttled one is left out, its bytes read when needed).
    let (opened, head) = futures::join!(fetcher.open_tail(uri, guess), async {
        if head == 0 { Vec::new() } else { fetcher.speculative_head(uri, head, guess).await }
    });
    let (meta, mut held) = opened?;
    let tail_start = held.first().map_or(meta.size, |(start, _)| *start);
    if meta.sealed.is_none() && meta.etag.is_some() {
        // The head's pieces of the same object, up to where the tail starts.
        let before = head.into_iter().filter(|(start, etag, _)| *etag == meta.etag && *start < tail_start).map(|(start, _, bytes)| {
            let keep = bytes.len().min((tail_start - start) as usize);
            (start, bytes.slice(..keep))
        });
        held.splice(0..0, before);
    }
    if let Some(want) = expected
        && (meta.size != want.size || (want.etag.is_some() && meta.etag != want.etag))
    {
        return Err(Error::Storage {
            uri: uri.to_owned(),
            message: format!(
                "the object changed since the result was partitioned (size {} and ETag {:?}, partitioned at {} and {:?})",
                meta.size, meta.etag, want.size, want.etag
            ),
            source: None,
        });
    }
    let held = Arc::new(Pieces { parts: held });
    let mut reader = S3ParquetReader { fetcher: fetcher.clone(), uri: uri.into(), meta, held, tail_start };
    let parquet_err =
        |e: ParquetError| Error::Storage { uri: uri.to_owned(), message: "cannot read Parquet".into(), source: Some(Box::new(e)) };
    let metadata = ArrowReaderMetadata::load_async(&mut reader, ArrowReaderOptions::new()).await.map_err(parquet_err)?;
    let schema = read_schema(&metadata, unit);
    let metadata = ArrowReaderMetadata::try_new(metadata.metadata().clone(), ArrowReaderOptions::new().with_schema(schema.clone()))
        .map_err(parquet_err)?;
    Ok(Opened { reader, metadata, schema })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_are_sliced_without_a_copy_where_they_can_be() {
        let pieces = Pieces {
            parts: vec![(100, Bytes::from_static(b"abcd")), (104, Bytes::from_static(b"efgh")), (108, Bytes::from_static(b"ij"))],
        };
        assert_eq!(pieces.slice(&(101..103)).unwrap(), Bytes::from_static(b"bc"));
        assert_eq!(pieces.slice(&(104..108)).unwrap(), Bytes::from_static(b"efgh"));
        assert_eq!(pieces.slice(&(102..109)).unwrap(), Bytes::from_static(b"cdefghi"));
        assert_eq!(pieces.slice(&(100..110)).unwrap(), Bytes::from_static(b"abcdefghij"));
        assert!(pieces.slice(&(99..101)).is_none());
        assert!(pieces.slice(&(108..111)).is_none());
        // A view, not a copy, within one piece.
        let one = pieces.slice(&(104..106)).unwrap();
        assert_eq!(one.as_ptr(), pieces.parts[1].1.as_ptr());
    }

    #[test]
    fn pieces_with_gaps_hold_only_what_was_read() {
        // A head of 0..4 and a tail of 8..12 (what a file's first round of requests reads).
        let pieces = Pieces { parts: vec![(0, Bytes::from_static(b"abcd")), (8, Bytes::from_static(b"ijkl"))] };
        assert!(pieces.covers(&(0..4)) && pieces.covers(&(9..12)) && pieces.covers(&(5..5)));
        assert!(!pieces.covers(&(3..5)) && !pieces.covers(&(4..8)) && !pieces.covers(&(2..10)) && !pieces.covers(&(11..13)));
        assert_eq!(pieces.slice(&(1..3)).unwrap(), Bytes::from_static(b"bc"));
        assert_eq!(pieces.slice(&(8..12)).unwrap(), Bytes::from_static(b"ijkl"));
        assert!(pieces.slice(&(2..10)).is_none(), "a range across the gap is not held");
        assert!(pieces.slice(&(4..9)).is_none());
        let contiguous = Pieces { parts: vec![(0, Bytes::from_static(b"ab")), (2, Bytes::from_static(b"cd"))] };
        assert!(contiguous.covers(&(1..4)));
        assert_eq!(contiguous.slice(&(1..4)).unwrap(), Bytes::from_static(b"bcd"));
    }

    #[test]
    fn close_ranges_are_fetched_as_one() {
        assert_eq!(coalesce(&[10..20, 0..5, 30..40], 4), vec![0..5, 10..20, 30..40]);
        assert_eq!(coalesce(&[10..20, 0..5, 30..40], 10), vec![0..40]);
        assert_eq!(coalesce(&[0..100, 50..60, 90..120, 200..200], 0), vec![0..120]);
        assert_eq!(coalesce(&[], 10), Vec::<Range<u64>>::new());
    }
}
