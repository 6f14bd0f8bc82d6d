//! A DuckDB query's managed result read as the Arrow IPC stream GetQueryResultStream serves, in
//! parallel byte ranges: the first range tells the total size, the rest are in flight
//! concurrently (`FetchConfig::concurrency` ranges of `stream_range_size` bytes: memory stays
//! bounded whatever the result's size), reassembled in order and decoded by arrow-ipc's stream decoder as
//! bytes arrive, so the first batch follows the first range. A cut connection resumes from the
//! last byte received; a short body, or a size or ETag that changes between ranges, is an error.
//! Dictionary-encoded columns and compressed bodies (LZ4 frame, ZSTD) are decoded by arrow-ipc.

use std::time::Duration;

use arrow::array::RecordBatch;
use arrow::buffer::Buffer;
use arrow::ipc::reader::StreamDecoder;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;

use crate::connection::Connection;
use crate::decode::duckdb::mark_duckdb;
use crate::error::{Error, Result};
use crate::fetch::result_stream::{ARROW_STREAM, ResultStreamClient, StreamAnswer};
use crate::results::stream::RecordBatchStream;

/// Bytes of the first range: small, so that the size and schema arrive after one short read.
const FIRST_RANGE: u64 = 1 << 20;

/// Why the stream cannot be read here: the service does not offer it, or answered with
/// something that is not an Arrow stream. The result is then read through GetQueryResults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NotOffered(pub String);

/// What the first range told about the stream.
#[derive(Debug, Clone)]
struct Pinned {
    total: u64,
    etag: Option<String>,
}

/// Opens the result of `query_id` as a stream of batches; `Ok(Err(NotOffered))` when the
/// service does not serve it.
pub(crate) async fn open(conn: &Connection, query_id: &str) -> Result<std::result::Result<RecordBatchStream, NotOffered>> {
    let client = conn.inner_state().result_stream.clone();
    let fetch = conn.settings().fetch;
    let chunk = fetch.stream_range_size.max(64 << 10);
    // A short first range: it brings the size (and the schema) after one small read, and the
    // rest starts at once, in full ranges.
    let first = match first_range(&client, query_id, FIRST_RANGE.min(chunk), fetch.max_attempts).await? {
        Ok(first) => first,
        Err(not) => return Ok(Err(not)),
    };
    let (pinned, head) = first;
    if !head.starts_with(&[0xff, 0xff, 0xff, 0xff]) && pinned.total > 0 {
        return Ok(Err(NotOffered("the GetQueryResultStream answer is not an Arrow IPC stream".into())));
    }
    let id = query_id.to_owned();
    let from = head.len() as u64;
    let ranges: Vec<(u64, u64)> = (0..(pinned.total.saturating_sub(from)).div_ceil(chunk))
        .map(|i| (from + i * chunk, (from + (i + 1) * chunk).min(pinned.total)))
        .collect();
    // The rest is fetched from now on, `concurrency` ranges in flight, by a task that hands
    // them over in order (one waiting): memory holds at most `concurrency + 1` ranges. Dropping
    // the stream stops the task.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes>>(1);
    let prefetch = {
        let (client, id, pinned) = (client.clone(), id.clone(), pinned.clone());
        async move {
            let mut ranges = futures::stream::iter(ranges)
                .map(move |(start, end)| {
                    let (client, id, pinned) = (client.clone(), id.clone(), pinned.clone());
                    async move { range(&client, &id, &pinned, start, end, fetch.max_attempts).await }
                })
                .buffered(fetch.concurrency.max(1));
            while let Some(r) = ranges.next().await {
                let failed = r.is_err();
                if tx.send(r).await.is_err() || failed {
                    break;
                }
            }
        }
    };
    let (prefetch, running) = futures::FutureExt::remote_handle(prefetch);
    tokio::spawn(prefetch);
    let rest =
        futures::stream::unfold((rx, running), |(mut rx, running)| async move { rx.recv().await.map(|r| (r, (rx, running))) }).boxed();
    decode_stream(head, rest, pinned.total, id, conn.settings().timestamp_unit).await.map(Ok)
}

/// The batches of a stream whose first bytes are `head` and whose other bytes come from `rest`,
/// `total` bytes in all. It ends only when all `total` bytes were read and the stream's
/// end-of-stream marker decoded: bytes that stop early, even at a message boundary, are
/// [`Error::Incomplete`], never a short result. With `unit`, every timestamp is in that unit.
async fn decode_stream(
    head: Bytes,
    mut rest: futures::stream::BoxStream<'static, Result<Bytes>>,
    total: u64,
    id: String,
    unit: Option<arrow::datatypes::TimeUnit>,
) -> Result<RecordBatchStream> {
    // The schema comes first in the stream: decode until it is known.
    let mut decoder = StreamDecoder::new();
    let mut batches = Vec::new();
    let mut read = head.len() as u64;
    let mut buffer = Buffer::from(head);
    decode_into(&mut decoder, &mut buffer, &mut batches, &id)?;
    while decoder.schema().is_none() {
        let Some(more) = rest.next().await else { break };
        let more = more?;
        read += more.len() as u64;
        buffer = Buffer::from([buffer.as_slice(), &more].concat());
        decode_into(&mut decoder, &mut buffer, &mut batches, &id)?;
    }
    let schema = decoder
        .schema()
        .ok_or_else(|| Error::Incomplete { query_id: id.clone(), message: format!("the result stream's {read} bytes hold no schema") })?;
    let schema = mark_duckdb(&schema);
    let schema = match unit {
        Some(unit) => crate::decode::duckdb::units::schema_in_unit(&schema, unit),
        None => schema,
    };
    let marked = schema.clone();
    let state = State { decoder, buffer, chunks: rest, pending: batches.into(), done: false, query_id: id, total, read };
    let stream = futures::stream::unfold(state, State::next).map(move |b| {
        b.and_then(|b| match unit {
            Some(unit) => crate::decode::duckdb::units::batch_in_unit(&b, &marked, unit),
            None => with_schema(b, &marked),
        })
    });
    Ok(RecordBatchStream::new(schema, stream))
}

fn with_schema(batch: RecordBatch, schema: &arrow::datatypes::SchemaRef) -> Result<RecordBatch> {
    batch.with_schema(schema.clone()).map_err(|e| Error::decode(format!("the result stream's batch does not match its schema: {e}")))
}

/// Decodes every whole message of `buffer`, keeping the rest for the next bytes.
fn decode_into(decoder: &mut StreamDecoder, buffer: &mut Buffer, out: &mut Vec<RecordBatch>, query_id: &str) -> Result<()> {
    while !buffer.is_empty() {
        match decoder.decode(buffer) {
            Ok(Some(batch)) => out.push(batch),
            Ok(None) => {}
            Err(e) => {
                return Err(Error::Decode {
                    query_id: Some(query_id.to_owned()),
                    column: None,
                    row: None,
                    message: "the result stream is not valid Arrow IPC".into(),
                    source: Some(Box::new(e)),
                });
            }
        }
    }
    Ok(())
}

struct State {
    decoder: StreamDecoder,
    buffer: Buffer,
    chunks: futures::stream::BoxStream<'static, Result<Bytes>>,
    pending: std::collections::VecDeque<RecordBatch>,
    done: bool,
    query_id: String,
    total: u64,
    read: u64,
}

impl State {
    async fn next(mut self) -> Option<(Result<RecordBatch>, Self)> {
        loop {
            if let Some(batch) = self.pending.pop_front() {
                return Some((Ok(batch), self));
            }
            if self.done {
                return None;
            }
            match self.chunks.next().await {
                Some(Ok(bytes)) => {
                    self.read += bytes.len() as u64;
                    // Decoding (and decompressing) is CPU work: off the async threads.
                    let (mut decoder, mut buffer, id) = (std::mem::take(&mut self.decoder), self.buffer.clone(), self.query_id.clone());
                    let joined = tokio::task::spawn_blocking(move || {
                        let mut batches = Vec::new();
                        buffer = if buffer.is_empty() { Buffer::from(bytes) } else { Buffer::from([buffer.as_slice(), &bytes].concat()) };
                        let r = decode_into(&mut decoder, &mut buffer, &mut batches, &id);
                        (decoder, buffer, batches, r)
                    })
                    .await;
                    let (decoder, buffer, batches, r) = match joined {
                        Ok(parts) => parts,
                        Err(e) => return self.fail(Error::decode(format!("decode task failed: {e}"))),
                    };
                    self.decoder = decoder;
                    self.buffer = buffer;
                    self.pending.extend(batches);
                    if let Err(e) = r {
                        return self.fail(e);
                    }
                }
                Some(Err(e)) => return self.fail(e),
                None => {
                    self.done = true;
                    if self.read != self.total {
                        let message = format!("the result stream stopped after {} of its {} bytes", self.read, self.total);
                        let query_id = self.query_id.clone();
                        return self.fail(Error::Incomplete { query_id, message });
                    }
                    if let Err(e) = self.decoder.finish() {
                        let message = format!("the result stream ends inside a message after {} of {} bytes: {e}", self.read, self.total);
                        let query_id = self.query_id.clone();
                        return self.fail(Error::Incomplete { query_id, message });
                    }
                    // Between messages: the stream must also have ended with its end-of-stream
                    // marker. arrow-ipc's decoder keeps that to itself, but refuses any byte
                    // after it ("Unexpected EOS"), and takes one otherwise (the decoder is not
                    // used again).
                    if self.decoder.decode(&mut Buffer::from(vec![0u8])).is_ok() {
                        let message = format!("the result stream's {} bytes end without its end-of-stream marker", self.read);
                        let query_id = self.query_id.clone();
                        return self.fail(Error::Incomplete { query_id, message });
                    }
                }
            }
        }
    }

    fn fail(mut self, e: Error) -> Option<(Result<RecordBatch>, Self)> {
        self.done = true;
        self.pending.clear();
        Some((Err(e), self))
    }
}

/// The first range (`0..chunk`) with the stream's size and ETag, or why the stream is not offered.
async fn first_range(
    client: &ResultStreamClient,
    query_id: &str,
    chunk: u64,
    attempts: u32,
) -> Result<std::result::Result<(Pinned, Bytes), NotOffered>> {
    let answer = match call(client, query_id, 0, Some(chunk - 1), attempts).await? {
        Ok(a) => a,
        Err(e) if e.unknown_operation() => return Ok(Err(NotOffered(format!("{}: {}", e.code, e.message)))),
        Err(e) => return Err(stream_error(query_id, &e.code, &e.message, e.status)),
    };
    if answer.content_type.as_deref().is_some_and(|t| t.contains("json")) {
        return Ok(Err(NotOffered(format!("GetQueryResultStream answered {} with {:?}", answer.status, answer.content_type))));
    }
    if let Some(t) = answer.content_type.as_deref().filter(|t| !t.starts_with(ARROW_STREAM) && !t.starts_with("application/octet-stream")) {
        tracing::debug!(query_id, "GetQueryResultStream's content type is {t:?}; reading it as an Arrow stream");
    }
    let total = match (answer.status, answer.content_range) {
        (206, Some((0, _, total))) => total,
        // The whole stream at once (no range support): its length is its size.
        (200, _) => answer.content_length.unwrap_or(u64::MAX),
        _ => {
            return Err(Error::Incomplete {
                query_id: query_id.to_owned(),
                message: format!("GetQueryResultStream answered {} without a usable Content-Range", answer.status),
            });
        }
    };
    let etag = answer.etag.clone();
    let whole = answer.status == 200;
    let want = if whole { total } else { total.min(chunk) };
    let pinned = Pinned { total, etag };
    let (mut got, complete) = read_body(answer, want).await;
    if whole && total == u64::MAX {
        // No length: the body is the stream, read to its end (a cut body resumes from the last
        // byte with an open range). Its end-of-stream marker, checked when it is decoded, says
        // whether it was all there.
        let mut complete = complete;
        let mut failures = 0u32;
        while !complete {
            failures += 1;
            let from = got.len() as u64;
            if failures >= attempts.max(1) {
                let message = format!("the result stream (sent without a length) was cut after {from} bytes {failures} times");
                return Err(Error::Incomplete { query_id: query_id.to_owned(), message });
            }
            tokio::time::sleep(Duration::from_millis(50 << failures.min(6))).await;
            let answer = match call(client, query_id, from, None, attempts).await? {
                Ok(a) => a,
                Err(e) => return Err(stream_error(query_id, &e.code, &e.message, e.status)),
            };
            if !matches!(answer.content_range, Some((first, _, _)) if first == from) {
                let message = format!("asked for the result stream from byte {from}, got {:?}", answer.content_range);
                return Err(Error::Incomplete { query_id: query_id.to_owned(), message });
            }
            let (more, done) = read_body(answer, u64::MAX).await;
            got.extend_from_slice(&more);
            complete = done;
        }
        let n = got.len() as u64;
        return Ok(Ok((Pinned { total: n, etag: pinned.etag }, got.freeze())));
    }
    if !complete {
        let rest = range(client, query_id, &pinned, got.len() as u64, want, attempts).await?;
        got.extend_from_slice(&rest);
    }
    Ok(Ok((pinned, got.freeze())))
}

/// Bytes `start..end` of the stream, resuming after cut or short bodies from the last byte
/// received; the size and ETag must be those of the first range.
async fn range(client: &ResultStreamClient, query_id: &str, pinned: &Pinned, start: u64, end: u64, attempts: u32) -> Result<Bytes> {
    let len = (end - start) as usize;
    let mut buf = BytesMut::with_capacity(len);
    let mut failures = 0u32;
    while buf.len() < len {
        let from = start + buf.len() as u64;
        if failures >= attempts.max(1) {
            return Err(Error::Incomplete {
                query_id: query_id.to_owned(),
                message: format!("bytes {from}-{} of the result stream not received after {failures} attempts", end - 1),
            });
        }
        if failures > 0 {
            tokio::time::sleep(Duration::from_millis(50 << failures.min(6))).await;
        }
        let answer = match call(client, query_id, from, Some(end - 1), attempts).await? {
            Ok(a) => a,
            Err(e) => return Err(stream_error(query_id, &e.code, &e.message, e.status)),
        };
        match answer.content_range {
            Some((first, _, total)) if first == from && total == pinned.total => {}
            other => {
                return Err(Error::Incomplete {
                    query_id: query_id.to_owned(),
                    message: format!(
                        "the result stream changed while it was read: asked for bytes {from}-{} of {}, got {other:?}",
                        end - 1,
                        pinned.total
                    ),
                });
            }
        }
        if let (Some(want), Some(got)) = (&pinned.etag, &answer.etag)
            && want != got
        {
            return Err(Error::Incomplete {
                query_id: query_id.to_owned(),
                message: format!("the result stream changed while it was read (ETag {got}, first read as {want})"),
            });
        }
        let (got, _) = read_body(answer, (len - buf.len()) as u64).await;
        if got.is_empty() {
            failures += 1;
        }
        buf.extend_from_slice(&got);
    }
    Ok(buf.freeze())
}

/// Reads up to `want` bytes of an answer's body; `false` when it was cut or short.
async fn read_body(mut answer: StreamAnswer, want: u64) -> (BytesMut, bool) {
    let mut buf = BytesMut::with_capacity(want.min(64 << 20) as usize);
    loop {
        match answer.body.try_next().await {
            Ok(Some(bytes)) => {
                let room = (want as usize).saturating_sub(buf.len());
                buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
            }
            Ok(None) => break,
            Err(e) => {
                tracing::debug!("result stream body cut after {} bytes ({e}): resuming", buf.len());
                return (buf, false);
            }
        }
    }
    let complete = buf.len() as u64 >= want || want == u64::MAX;
    (buf, complete)
}

/// One call, with throttling, server errors and unreachable attempts retried with backoff.
async fn call(
    client: &ResultStreamClient,
    query_id: &str,
    from: u64,
    to: Option<u64>,
    attempts: u32,
) -> Result<std::result::Result<StreamAnswer, crate::fetch::result_stream::StreamError>> {
    let mut tries = 0u32;
    loop {
        tries += 1;
        let outcome = client.get(query_id, from, to).await;
        let again = match &outcome {
            Ok(Err(e)) => e.transient(),
            Err(Error::Api { .. }) => true,
            _ => false,
        };
        if !again || tries >= attempts.max(1) {
            return outcome;
        }
        tokio::time::sleep(Duration::from_millis(50 << tries.min(6))).await;
    }
}

fn stream_error(query_id: &str, code: &str, message: &str, status: u16) -> Error {
    use crate::error::ErrorKind;
    let kind = ErrorKind::of_name(code).unwrap_or(match status {
        416 => ErrorKind::Result,
        500.. => ErrorKind::Service,
        _ => ErrorKind::InvalidArgument,
    });
    Error::Api {
        operation: "GetQueryResultStream",
        code: (!code.is_empty()).then(|| code.to_owned()),
        message: format!("query {query_id}: {message}"),
        retryable: false,
        kind,
        source: None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, TimestampMicrosecondArray};
    use arrow::datatypes::{DataType, TimeUnit};
    use arrow::ipc::writer::StreamWriter;

    use super::*;

    /// An IPC stream of three batches and its end-of-stream marker; the byte offsets where each
    /// message ends.
    fn ipc() -> (Vec<u8>, Vec<usize>) {
        let batch = |from: i64| {
            let x: arrow::array::ArrayRef = Arc::new(Int64Array::from_iter_values(from..from + 100));
            let t: arrow::array::ArrayRef = Arc::new(TimestampMicrosecondArray::from_iter_values((from..from + 100).map(|v| v * 1000)));
            RecordBatch::try_from_iter([("x", x), ("t", t)]).unwrap()
        };
        let first = batch(0);
        let mut w = StreamWriter::try_new(Vec::new(), &first.schema()).unwrap();
        let mut ends = vec![w.get_ref().len()];
        for b in [first, batch(100), batch(200)] {
            w.write(&b).unwrap();
            ends.push(w.get_ref().len());
        }
        w.finish().unwrap();
        (w.into_inner().unwrap(), ends)
    }

    async fn read(bytes: &[u8], total: u64, unit: Option<TimeUnit>) -> Result<Vec<RecordBatch>> {
        let (head, rest) = bytes.split_at(bytes.len().min(10));
        let chunks: Vec<Result<Bytes>> = rest.chunks(1000).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        let stream = decode_stream(Bytes::copy_from_slice(head), futures::stream::iter(chunks).boxed(), total, "q".into(), unit).await?;
        stream.collect_batches().await
    }

    #[tokio::test]
    async fn a_whole_stream_reads_whole() {
        let (bytes, _) = ipc();
        let batches = read(&bytes, bytes.len() as u64, None).await.unwrap();
        assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 300);
    }

    #[tokio::test]
    async fn bytes_that_stop_at_a_message_boundary_are_incomplete() {
        // The prefetch task ended after the second batch, between messages.
        let (bytes, ends) = ipc();
        let e = read(&bytes[..ends[2]], bytes.len() as u64, None).await.unwrap_err();
        assert!(matches!(e, Error::Incomplete { .. }), "{e}");
        assert!(e.to_string().contains(&format!("stopped after {} of its {} bytes", ends[2], bytes.len())), "{e}");
    }

    #[tokio::test]
    async fn a_stream_without_its_end_marker_is_incomplete() {
        // What an answer without a length that was cut between messages looks like: its bytes
        // are all there are, and they end without the end-of-stream marker.
        let (bytes, ends) = ipc();
        assert_eq!(bytes.len(), ends[3] + 8, "the end-of-stream marker is 8 bytes");
        let bytes = &bytes[..ends[3]];
        let e = read(bytes, bytes.len() as u64, None).await.unwrap_err();
        assert!(e.to_string().contains("end without its end-of-stream marker"), "{e}");
        let e = read(&bytes[..ends[1]], ends[1] as u64, None).await.unwrap_err();
        assert!(e.to_string().contains("end without its end-of-stream marker"), "{e}");
    }

    #[tokio::test]
    async fn a_forced_unit_applies_to_the_stream() {
        let (bytes, _) = ipc();
        let batches = read(&bytes, bytes.len() as u64, Some(TimeUnit::Millisecond)).await.unwrap();
        assert_eq!(batches[0].schema().field(1).data_type(), &DataType::Timestamp(TimeUnit::Millisecond, None));
        let t = batches[2].column(1).as_any().downcast_ref::<arrow::array::TimestampMillisecondArray>().unwrap();
        assert_eq!(t.value(99), 299);
    }
}
