//! The result CSV source: the result CSV read by the parallel chunk reader, cut
//! into segments at record boundaries and decoded on blocking threads in parallel, never on the
//! task that drives the I/O.
//!
//! A record boundary is a `\n` outside quotes; whether a byte is inside quotes follows from the
//! parity of the `"` bytes before it in the object. Each chunk's quotes are counted on a blocking
//! thread (in parallel); an ordered pass then only scans each chunk up to its first boundary.
//!
//! A byte range of the CSV (a partition) holds the records that start in it: its first record
//! start is found from its own bytes ([`crate::decode::csv::resync`]), or, when they allow more than one reading, from
//! the parity of the quotes before it; its last record is read past the range's end.

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use bytes::{Bytes, BytesMut};
use futures::{StreamExt, TryStreamExt};

use crate::decode::csv::{CsvDecoder, Grammar, Start, count_quotes, first_boundary, last_boundary, start_in};
use crate::error::{Error, Result};
use crate::fetch::{Fetcher, ObjectMeta};
use crate::results::stream::RecordBatchStream;

/// A run of whole records: the end of a record begun in earlier chunks (`head`, copied out of
/// them) and a chunk's bytes up to a record boundary (`body`, a slice of the chunk, not copied:
/// the decoder completes the head's record from the body's first bytes and splits the rest in
/// place). The first segment starts with the header line.
struct Segment {
    head: Bytes,
    body: Bytes,
    first: bool,
}

/// Cuts ordered (chunk, quote count) pairs into segments that end at record boundaries.
#[derive(Default)]
struct Cutter {
    carry: BytesMut,
    odd: bool,
    emitted: bool,
    /// Bytes pushed so far.
    pushed: u64,
    /// Records must start before this many bytes (a range's end); the one that straddles it is
    /// completed, nothing after.
    stop: Option<u64>,
    /// The record at `stop` is complete: later chunks are not wanted.
    done: bool,
}

impl Cutter {
    /// The segment `chunk` completes: the carried bytes (the end of a record begun in an
    /// earlier chunk) and the chunk up to its last record boundary, whose rest is carried. A
    /// chunk is thus decoded as soon as it arrives, not when the next one does; one segment a
    /// chunk keeps every core on a whole chunk (without carried bytes, without a copy).
    fn push(&mut self, chunk: Bytes, quotes: u64) -> Vec<Segment> {
        if self.done {
            return Vec::new();
        }
        let odd_before = self.odd;
        let before = self.pushed;
        self.pushed += chunk.len() as u64;
        self.odd ^= quotes % 2 == 1;
        let end = match self.stop {
            // The first boundary at or after the byte before `stop` ends the last record.
            Some(stop) if self.pushed >= stop => {
                let k = (stop.saturating_sub(1).saturating_sub(before) as usize).min(chunk.len());
                let odd = odd_before ^ (count_quotes(&chunk[..k]) % 2 == 1);
                match first_boundary(&chunk[k..], odd) {
                    Some(b) => {
                        self.done = true;
                        Some(k + b)
                    }
                    None => None,
                }
            }
            _ => last_boundary(&chunk, self.odd),
        };
        let Some(last) = end else {
            self.carry.extend_from_slice(&chunk);
            return Vec::new();
        };
        let head = std::mem::take(&mut self.carry).freeze();
        if !self.done {
            self.carry.extend_from_slice(&chunk[last..]);
        }
        vec![self.segment(head, chunk.slice(..last))]
    }

    fn segment(&mut self, head: Bytes, body: Bytes) -> Segment {
        let first = !std::mem::replace(&mut self.emitted, true);
        Segment { head, body, first }
    }

    fn finish(&mut self) -> Option<Segment> {
        if (self.carry.is_empty() && self.emitted) || self.done {
            return None;
        }
        let rest = std::mem::take(&mut self.carry).freeze();
        Some(self.segment(Bytes::new(), rest))
    }
}

fn decode_segment(schema: SchemaRef, segment: Segment) -> Result<Vec<RecordBatch>> {
    let mut csv = if segment.first { CsvDecoder::new(schema)? } else { CsvDecoder::without_header(schema)? };
    let mut batches = if segment.head.is_empty() { Vec::new() } else { csv.feed(&segment.head, false)? };
    batches.extend(csv.feed(&segment.body, true)?);
    Ok(batches)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| Error::decode(format!("decode task failed: {e}")))
}

/// The result CSV at `uri` as a stream of batches of `schema`, in the file's row order.
/// `head`: the object's first bytes, already read with its size and ETag.
pub(crate) fn csv_stream(
    fetcher: &Fetcher,
    uri: &str,
    meta: ObjectMeta,
    head: Bytes,
    query_id: &str,
    schema: SchemaRef,
) -> RecordBatchStream {
    if meta.sealed.is_some() || head.len() as u64 >= meta.size {
        let chunks = fetcher.chunks(uri, &meta, head);
        return decode_chunks(chunks, Cutter::default(), query_id, schema, FirstBatch(None));
    }
    // The other ranges' GETs (up to `concurrency` of them at once) start once the head's first
    // batch is decoded: started with it, their requests and the endpoint's answers share the
    // cores with that decode, and the first batch came 20 ms later at S3's shape with 32 GETs.
    let (ready, started) = tokio::sync::oneshot::channel::<()>();
    let (fetcher, uri_owned, rest_head) = (fetcher.clone(), uri.to_owned(), head.clone());
    let rest = futures::stream::once(started).flat_map(move |_| fetcher.chunks(&uri_owned, &meta, rest_head.clone()).skip(1));
    let chunks = futures::stream::iter([Ok(head)]).chain(rest);
    decode_chunks(chunks, Cutter::default(), query_id, schema, FirstBatch(Some(ready)))
}

/// Told (dropped) when the first batch is decoded, or when the first chunk holds no whole
/// record (the next chunks are needed for one): what [`csv_stream`]'s later GETs wait for.
struct FirstBatch(Option<tokio::sync::oneshot::Sender<()>>);

impl FirstBatch {
    fn tell(shared: &std::sync::Mutex<Self>) {
        shared.lock().expect("not poisoned").0.take();
    }
}

/// The records of the result CSV at `uri` that start in bytes `start..end`, as a stream of
/// batches of `schema` in the file's order (the header is read only by the range at 0).
/// `meta`: the object's size and ETag when it was partitioned; every GET is pinned to the ETag.
pub(crate) async fn csv_range_stream(
    fetcher: &Fetcher,
    uri: &str,
    meta: ObjectMeta,
    (start, end): (u64, u64),
    query_id: &str,
    schema: SchemaRef,
) -> Result<RecordBatchStream> {
    // Athena's engine 3 writes every value quoted (a strict grammar, which rules out most wrong
    // readings); DuckDB's CSV is not known to (no source documents its quoting), so its starts
    // are found in RFC 4180's grammar, which any CSV keeps.
    let grammar = if crate::decode::duckdb::is_duckdb(&schema) { Grammar::Rfc4180 } else { Grammar::Strict };
    let from = record_start(fetcher, uri, &meta, start, grammar).await?;
    if from >= end.min(meta.size) {
        return Ok(RecordBatchStream::new(schema, futures::stream::empty()));
    }
    // The range in chunks read concurrently, then the bytes after it in small pieces until the
    // last record's end (read lazily: the stream is dropped once the cutter has it).
    let chunk = fetcher.config().chunk_size.max(1);
    let size = meta.size;
    let inside = (0..(end - from).div_ceil(chunk)).map(move |i| (from + i * chunk, (from + (i + 1) * chunk).min(end)));
    let tail = TAIL_PIECE.min(chunk);
    let after = (0..size.saturating_sub(end).div_ceil(tail)).map(move |i| (end + i * tail, (end + (i + 1) * tail).min(size)));
    let chunks = fetcher.ranges(uri, &meta, inside.chain(after));
    let cutter = Cutter { emitted: start > 0, stop: Some(end - from), ..Cutter::default() };
    Ok(decode_chunks(chunks, cutter, query_id, schema, FirstBatch(None)))
}

/// Bytes per GET past a range's end, where usually only the rest of one record is wanted.
const TAIL_PIECE: u64 = 64 << 10;

/// Bytes read from a range's start to find its first record start, growing fourfold up to one
/// chunk (`FetchConfig::chunk_size`) before the quotes before the range are counted instead.
const RESYNC_FIRST: u64 = 64 << 10;

/// The first record start at or after `start`, the CSV read in `grammar`.
async fn record_start(fetcher: &Fetcher, uri: &str, meta: &ObjectMeta, start: u64, grammar: Grammar) -> Result<u64> {
    if start == 0 || start >= meta.size {
        return Ok(start.min(meta.size));
    }
    // From the byte before `start`: a record starting at `start` itself is found too. The bytes
    // read grow fourfold (each GET reads only the new ones) up to one chunk.
    let from = start - 1;
    let window = fetcher.config().chunk_size.max(RESYNC_FIRST);
    let mut read = BytesMut::new();
    let mut len = RESYNC_FIRST.min(window);
    loop {
        let to = (from + len).min(meta.size);
        read.extend_from_slice(&fetcher.range(uri, meta, from + read.len() as u64, to).await?);
        match start_in(&read, to == meta.size, grammar) {
            Start::At(at) => return Ok(from + at as u64),
            Start::NeedMore if len < window => len = (len * 4).min(window),
            Start::NeedMore | Start::CountQuotes => break,
        }
    }
    // The bytes alone allow more than one reading: the parity of every quote before them.
    tracing::debug!(uri, start, "CSV range start ambiguous from its bytes: counting the quotes before it");
    let ranges = (0..from.div_ceil(window)).map(move |i| (i * window, ((i + 1) * window).min(from)));
    let quotes: u64 = fetcher
        .ranges(uri, meta, ranges)
        .map_ok(|bytes| async move { blocking(move || count_quotes(&bytes)).await })
        .try_buffered(2)
        .try_fold(0u64, |sum, q| futures::future::ready(Ok(sum + q)))
        .await?;
    // The bytes already read first, then further ones until a `\n` outside quotes.
    let mut odd = quotes % 2 == 1;
    let mut at = from;
    let mut bytes = read.freeze();
    loop {
        if let Some(b) = first_boundary(&bytes, odd) {
            return Ok(at + b as u64);
        }
        odd ^= count_quotes(&bytes) % 2 == 1;
        at += bytes.len() as u64;
        if at >= meta.size {
            return Ok(meta.size);
        }
        bytes = fetcher.range(uri, meta, at, (at + window).min(meta.size)).await?;
    }
}

/// Decodes ordered chunks of a result CSV: cut into segments of whole records by `cutter`,
/// segments decoded on blocking threads in parallel, batches in order.
fn decode_chunks(
    chunks: impl futures::Stream<Item = Result<Bytes>> + Send + 'static,
    cutter: Cutter,
    query_id: &str,
    schema: SchemaRef,
    first_batch: FirstBatch,
) -> RecordBatchStream {
    // Decoding is CPU-bound: one segment per core in flight (more only adds memory).
    let parallel = std::thread::available_parallelism().map_or(2, |n| n.get());
    let first_batch = std::sync::Arc::new(std::sync::Mutex::new(first_batch));
    let first_cut = first_batch.clone();
    let counted = chunks
        .map_ok(|chunk| async move {
            let c = chunk.clone();
            let quotes = blocking(move || count_quotes(&c)).await?;
            Ok::<_, Error>((chunk, quotes))
        })
        .try_buffered(parallel);
    // Ordered, cheap: each chunk is scanned only up to its first record boundary.
    let segments = futures::stream::unfold((counted.boxed(), cutter, false), move |(mut counted, mut cutter, done)| {
        let first_cut = first_cut.clone();
        async move {
            if done {
                return None;
            }
            loop {
                if cutter.done {
                    return None;
                }
                match counted.next().await {
                    Some(Ok((chunk, quotes))) => {
                        let segments = cutter.push(chunk, quotes);
                        if !segments.is_empty() {
                            return Some((Ok(segments), (counted, cutter, false)));
                        }
                        FirstBatch::tell(&first_cut);
                    }
                    Some(Err(e)) => return Some((Err(e), (counted, cutter, true))),
                    None => return cutter.finish().map(|seg| (Ok(vec![seg]), (counted, cutter, true))),
                }
            }
        }
    });
    let segments = segments.map_ok(|segments| futures::stream::iter(segments.into_iter().map(Ok))).try_flatten();
    let decode_schema = schema.clone();
    let query_id = query_id.to_owned();
    let batches = segments
        .map_ok(move |segment| {
            let schema = decode_schema.clone();
            async move { blocking(move || decode_segment(schema, segment)).await? }
        })
        .try_buffered(parallel)
        .scan(0u64, move |rows_done, item| {
            FirstBatch::tell(&first_batch);
            let item = item.map_err(|e| e.in_result(&query_id, *rows_done)).map(|batches| {
                *rows_done += batches.iter().map(|b| b.num_rows() as u64).sum::<u64>();
                futures::stream::iter(batches.into_iter().map(Ok))
            });
            futures::future::ready(Some(item))
        })
        .try_flatten();
    RecordBatchStream::new(schema, batches)
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Segment {
        fn bytes(&self) -> Vec<u8> {
            [&self.head[..], &self.body[..]].concat()
        }
    }

    #[test]
    fn cutting_anywhere_gives_whole_records() {
        let csv: &[u8] = b"\"h\"\n\"a\nb\"\n\"\"\"\"\n\n\"c,d\"\n";
        for size in 1..csv.len() {
            let mut cutter = Cutter::default();
            let mut segments = Vec::new();
            for chunk in csv.chunks(size) {
                segments.extend(cutter.push(Bytes::copy_from_slice(chunk), count_quotes(chunk)));
            }
            // Each chunk is cut at its last record boundary: nothing waits for a next chunk.
            assert!(cutter.carry.is_empty(), "chunk size {size}: {:?} carried", cutter.carry);
            segments.extend(cutter.finish());
            assert!(segments[0].first && segments[1..].iter().all(|s| !s.first));
            let joined: Vec<u8> = segments.iter().flat_map(Segment::bytes).collect();
            assert_eq!(joined, csv, "chunk size {size}");
            for s in &segments {
                let bytes = s.bytes();
                assert!(bytes.is_empty() || bytes.ends_with(b"\n"), "chunk size {size}: {bytes:?}");
                // Every segment splits into whole records on its own.
                crate::decode::csv::split_records(&bytes, true, |_| Ok(())).unwrap();
            }
        }
    }

    #[test]
    fn a_stop_ends_at_the_record_that_straddles_it() {
        let csv: &[u8] = b"\"a\nb\"\n\"\"\"\"\n\n\"c,d\"\n";
        // Records start at 0, 6, 11, 12; a range ending at `stop` keeps those starting before it.
        let starts = [0u64, 6, 11, 12];
        for stop in 1..=csv.len() as u64 {
            let want = starts.iter().find(|&&p| p >= stop).map_or(csv.len(), |&p| p as usize);
            for size in 1..csv.len() {
                let mut cutter = Cutter { stop: Some(stop), ..Cutter::default() };
                let mut segments = Vec::new();
                for chunk in csv.chunks(size) {
                    segments.extend(cutter.push(Bytes::copy_from_slice(chunk), count_quotes(chunk)));
                }
                segments.extend(cutter.finish());
                let joined: Vec<u8> = segments.iter().flat_map(Segment::bytes).collect();
                assert_eq!(joined, &csv[..want], "stop {stop}, chunk size {size}");
            }
        }
    }
}
