//! GetQueryResultStream: a DuckDB query's Athena-managed result as an Arrow IPC stream, whole or
//! by HTTP byte range, as AWS's model binds it (`rest-json` only): `GET
//! /query-executions/{QueryExecutionId}/result-stream`, the range in the `Range` header
//! (`bytes=N-M` or `bytes=N-`); the answer the raw bytes as the payload, 200 or 206 with
//! `Content-Type`, `Content-Range` and `Accept-Ranges`; RangeNotSatisfiableException (416) for a
//! range that starts past the end, InvalidRequestException otherwise.

use bytes::Bytes;
use http::Response;
use s3s::Body;
use s3s::dto::StreamingBlob;
use serde_json::Value;

use crate::catalog::now_epoch;
use crate::protocol::athena::{ApiError, Athena, required, str_field};
use crate::statements::duckdb::DUCKDB;

/// The stream's media type.
pub const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";

impl Athena {
    /// Answers GetQueryResultStream for its input document (`QueryExecutionId`, `Range`).
    pub async fn result_stream(&self, body: &Value) -> Result<Response<Body>, ApiError> {
        let stream = &self.realism.result_stream;
        if !stream.enabled {
            return Err(ApiError { status: 404, ..ApiError::plain("UnknownOperationException", "Unknown operation GetQueryResultStream") });
        }
        if self.realism.roll(self.realism.fault_throttle_rate) {
            return Err(ApiError::plain("ThrottlingException", "Rate exceeded"));
        }
        let id = required(body, "QueryExecutionId")?;
        let rec = self.succeeded(id)?;
        if rec.engine != DUCKDB {
            return Err(ApiError::invalid(
                "INVALID_INPUT",
                format!("GetQueryResultStream is only available for queries run on the DuckDB engine; query {id} ran on {}", rec.engine),
            ));
        }
        if let Some(staging) = &rec.staging {
            return Err(ApiError::invalid(
                "INVALID_INPUT",
                format!("GetQueryResultStream is only available for managed query results; the results of query {id} are in {staging}"),
            ));
        }
        let completed = rec.completed.unwrap_or(rec.submitted);
        if now_epoch() - completed > stream.ttl.as_secs_f64() {
            return Err(ApiError::invalid("INVALID_INPUT", format!("The results of query {id} have expired")));
        }
        let Some(path) = rec.arrow_stream.clone() else {
            return Err(ApiError::invalid(
                "RESULT_NOT_FOUND",
                format!("Query {id} ({}) has no result rows to stream", rec.substatement_type),
            ));
        };
        let (data, etag) =
            read_mapped(&path).map_err(|e| ApiError::invalid("RESULT_NOT_FOUND", format!("Query results could not be read: {e}")))?;
        let total = data.len() as u64;
        let (start, end, partial) = match str_field(body, "Range") {
            None => (0, total, false),
            Some(r) => match parse_range(r) {
                None => return Err(ApiError::invalid("INVALID_INPUT", format!("Invalid Range {r:?}: use bytes=N- or bytes=N-M"))),
                Some((start, _)) if start >= total => {
                    let e = ApiError {
                        status: 416,
                        aws_type: "RangeNotSatisfiableException",
                        athena_code: None,
                        message: format!("The range {r} starts past the end of the {total}-byte result"),
                    };
                    let mut resp = crate::protocol::athena::rest::error(&e);
                    resp.headers_mut().insert("content-range", format!("bytes */{total}").parse().expect("valid header"));
                    return Ok(resp);
                }
                Some((start, end)) => (start, end.map_or(total, |e| (e + 1).min(total)), true),
            },
        };
        let slice = data.slice(start as usize..end as usize);
        if let Some(latency) = self.realism.latency() {
            tokio::time::sleep(latency).await;
        }
        let len = slice.len();
        let cut_at = self.realism.roll(self.realism.fault_cut_rate).then_some(len / 2);
        let body = crate::protocol::s3::chunk_stream(slice, self.realism.clone(), cut_at);
        let mut resp = Response::builder()
            .status(if partial { 206 } else { 200 })
            .header("content-type", ARROW_STREAM)
            .header("content-length", len)
            .header("accept-ranges", "bytes")
            .header("etag", etag)
            .header("x-amzn-RequestId", uuid::Uuid::new_v4().to_string());
        if partial {
            resp = resp.header("content-range", format!("bytes {start}-{}/{total}", end - 1));
        }
        Ok(resp.body(Body::from(StreamingBlob::wrap(body))).expect("valid response"))
    }
}

/// `bytes=N-` or `bytes=N-M` (M >= N): `(N, M)`.
fn parse_range(r: &str) -> Option<(u64, Option<u64>)> {
    let (start, end) = r.trim().strip_prefix("bytes=")?.split_once('-')?;
    let start: u64 = start.trim().parse().ok()?;
    let end = match end.trim() {
        "" => None,
        e => Some(e.parse::<u64>().ok().filter(|e| *e >= start)?),
    };
    Some((start, end))
}

/// The file's bytes and its ETag. The ETag changes with the content, not only with the size: it
/// names the file's length, modification time (nanoseconds) and inode, so a result replaced by
/// another of the same size (written, as every result, to a new file renamed into place) gets
/// another ETag, as an S3 object rewritten does.
fn read_mapped(path: &std::path::Path) -> std::io::Result<(Bytes, String)> {
    use std::os::unix::fs::MetadataExt;
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    let etag = format!("\"{:x}-{:x}-{:x}\"", meta.len(), meta.mtime() as i128 * 1_000_000_000 + i128::from(meta.mtime_nsec()), meta.ino());
    if meta.len() == 0 {
        return Ok((Bytes::new(), etag));
    }
    // SAFETY: result files are written to a temporary name and renamed into place, never
    // modified afterwards, so the mapping is never truncated underneath us.
    let map = unsafe { memmap2::Mmap::map(&file) }?;
    Ok((Bytes::from_owner(map), etag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-99"), Some((0, Some(99))));
        assert_eq!(parse_range("bytes=100-"), Some((100, None)));
        assert_eq!(parse_range("bytes=5-4"), None);
        assert_eq!(parse_range("bytes=-5"), None);
        assert_eq!(parse_range("items=0-1"), None);
    }
}
