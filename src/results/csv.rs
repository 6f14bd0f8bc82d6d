//! The result CSV source: the result CSV read by the parallel chunk reader, cut
//! into segments at record boundaries and decoded on blocking threads in parallel, never on the
//! task that drives the I/O.
//!
//! A record boundary is a `\n` outside quotes; whether a byte is inside quotes follows from the
//! parity of the `"` bytes before it in the object. Each chunk's quotes are counted on a blocking
//! thread (in parallel); an ordered pass then only scans each chunk up to its first boundary.

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use bytes::{Bytes, BytesMut};
use futures::{StreamExt, TryStreamExt};

use crate::decode::TextDecoder;
use crate::decode::csv::{BATCH_ROWS, CsvDecoder, count_quotes, last_boundary};
use crate::error::{Error, Result};
use crate::fetch::{Fetcher, ObjectMeta};
use crate::results::stream::RecordBatchStream;

/// A run of whole records: the first segment starts with the header line.
struct Segment {
    bytes: Bytes,
    first: bool,
}

/// Cuts ordered (chunk, quote count) pairs into segments that end at record boundaries.
#[derive(Default)]
struct Cutter {
    carry: BytesMut,
    odd: bool,
    emitted: bool,
}

impl Cutter {
    /// The segment `chunk` completes: the carried bytes (the end of a record begun in an
    /// earlier chunk) and the chunk up to its last record boundary, whose rest is carried. A
    /// chunk is thus decoded as soon as it arrives, not when the next one does; one segment a
    /// chunk keeps every core on a whole chunk (without carried bytes, without a copy).
    fn push(&mut self, chunk: Bytes, quotes: u64) -> Vec<Segment> {
        self.odd ^= quotes % 2 == 1;
        let Some(last) = last_boundary(&chunk, self.odd) else {
            self.carry.extend_from_slice(&chunk);
            return Vec::new();
        };
        let bytes = if self.carry.is_empty() {
            chunk.slice(..last)
        } else {
            let mut joined = std::mem::take(&mut self.carry);
            joined.extend_from_slice(&chunk[..last]);
            joined.freeze()
        };
        self.carry.extend_from_slice(&chunk[last..]);
        vec![self.segment(bytes)]
    }

    fn segment(&mut self, bytes: Bytes) -> Segment {
        let first = !std::mem::replace(&mut self.emitted, true);
        Segment { bytes, first }
    }

    fn finish(&mut self) -> Option<Segment> {
        if self.carry.is_empty() && self.emitted {
            return None;
        }
        let rest = std::mem::take(&mut self.carry).freeze();
        Some(self.segment(rest))
    }
}

fn decode_segment(schema: SchemaRef, segment: Segment) -> Result<Vec<RecordBatch>> {
    let decoder = TextDecoder::with_capacity(schema, BATCH_ROWS)?;
    let mut csv = if segment.first { CsvDecoder::new(decoder) } else { CsvDecoder::without_header(decoder) };
    csv.feed(&segment.bytes, true)
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
    // Decoding is CPU-bound: one segment per core in flight (more only adds memory).
    let parallel = std::thread::available_parallelism().map_or(2, |n| n.get());
    let counted = fetcher
        .chunks(uri, &meta, head)
        .map_ok(|chunk| async move {
            let c = chunk.clone();
            let quotes = blocking(move || count_quotes(&c)).await?;
            Ok::<_, Error>((chunk, quotes))
        })
        .try_buffered(parallel);
    // Ordered, cheap: each chunk is scanned only up to its first record boundary.
    let segments = futures::stream::unfold((counted.boxed(), Cutter::default(), false), |(mut counted, mut cutter, done)| async move {
        if done {
            return None;
        }
        loop {
            match counted.next().await {
                Some(Ok((chunk, quotes))) => {
                    let segments = cutter.push(chunk, quotes);
                    if !segments.is_empty() {
                        return Some((Ok(segments), (counted, cutter, false)));
                    }
                }
                Some(Err(e)) => return Some((Err(e), (counted, cutter, true))),
                None => return cutter.finish().map(|seg| (Ok(vec![seg]), (counted, cutter, true))),
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
            let joined: Vec<u8> = segments.iter().flat_map(|s| s.bytes.to_vec()).collect();
            assert_eq!(joined, csv, "chunk size {size}");
            for s in &segments {
                assert!(s.bytes.is_empty() || s.bytes.ends_with(b"\n"), "chunk size {size}: {:?}", s.bytes);
                // Every segment splits into whole records on its own.
                crate::decode::csv::split_records(&s.bytes, true, |_| Ok(())).unwrap();
            }
        }
    }
}
