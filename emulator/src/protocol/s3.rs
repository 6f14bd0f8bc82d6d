//! The S3 side: s3s parses the protocol, s3s-fs stores objects under the data dir, and this
//! wrapper serves GetObject itself (memory-mapped, zero-copy, never hashing) and applies the
//! optional realism: first-byte latency, a per-response bandwidth cap and fault injection.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};

use crate::config::Realism;
use crate::formats::objects::{ObjectLayout, key_problem, valid_bucket};

/// Size of the body chunks a GET streams; large enough that per-chunk overhead is negligible.
const GET_CHUNK: usize = 1 << 20;

/// Checks the bucket and key of a path-style S3 request path (`/bucket/key`, percent-encoded)
/// before s3s-fs maps it to a file. `Err`: status, S3 error code, message.
pub fn check_request_path(path: &str) -> Result<(), (u16, &'static str, String)> {
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .map_err(|_| (400, "InvalidURI", "Couldn't parse the specified URI.".to_owned()))?;
    let rest = decoded.strip_prefix('/').unwrap_or(&decoded);
    if rest.is_empty() {
        return Ok(()); // ListBuckets
    }
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    if !valid_bucket(bucket) {
        return Err((400, "InvalidBucketName", "The specified bucket is not valid.".to_owned()));
    }
    if key.is_empty() {
        return Ok(());
    }
    match key_problem(key) {
        Some(("KeyTooLongError", m)) => Err((400, "KeyTooLongError", m)),
        Some((code, m)) => Err((400, code, m)),
        None => Ok(()),
    }
}

/// An S3 error response (XML, as S3 writes them).
pub fn error_response(status: u16, code: &str, message: &str) -> http::Response<s3s::Body> {
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message><RequestId>{}</RequestId></Error>",
        esc(code),
        esc(message),
        uuid::Uuid::new_v4()
    );
    http::Response::builder()
        .status(status)
        .header("content-type", "application/xml")
        .body(s3s::Body::from(Bytes::from(body)))
        .expect("valid response")
}

/// s3s-fs with a fast GetObject and S3 realism.
pub struct Storage {
    fs: s3s_fs::FileSystem,
    layout: ObjectLayout,
    realism: Arc<Realism>,
}

impl Storage {
    pub fn new(layout: ObjectLayout, realism: Arc<Realism>) -> std::io::Result<Self> {
        let fs = s3s_fs::FileSystem::new(layout.root()).map_err(|e| std::io::Error::other(format!("{e:?}")))?;
        Ok(Self { fs, layout, realism })
    }
}

struct Mapped(memmap2::Mmap);

impl AsRef<[u8]> for Mapped {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

fn etag_matches(cond: &ETagCondition, etag: &str) -> bool {
    match cond {
        ETagCondition::Any => true,
        ETagCondition::ETag(e) => e.value() == etag,
    }
}

/// Every S3 operation but GetObject goes straight to s3s-fs. (The whole impl is generated so
/// that `async_trait` sees the methods.)
macro_rules! delegate {
    ($($name:ident($input:ty) -> $output:ty;)*) => {
        #[async_trait::async_trait]
        impl S3 for Storage {
            $(
                async fn $name(&self, req: S3Request<$input>) -> S3Result<S3Response<$output>> {
                    self.fs.$name(req).await
                }
            )*

            async fn get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
                self.serve_get(req).await
            }

            /// A key that is a "folder" of other keys (`prefix` of `prefix/file`) is no object:
            /// 404, as S3 answers (s3s-fs would fail on the directory with a 500).
            async fn head_object(&self, req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
                if let Some(path) = self.layout.object_path(&req.input.bucket, &req.input.key)
                    && path.is_dir()
                {
                    return Err(s3_error!(NoSuchKey, "The specified key does not exist."));
                }
                self.fs.head_object(req).await
            }

            /// S3 ignores an empty Delimiter (fsspec's `find` sends `delimiter=`); s3s-fs would
            /// take it as a delimiter that ends every key at once.
            async fn list_objects_v2(&self, mut req: S3Request<ListObjectsV2Input>) -> S3Result<S3Response<ListObjectsV2Output>> {
                if req.input.delimiter.as_deref() == Some("") {
                    req.input.delimiter = None;
                }
                self.fs.list_objects_v2(req).await
            }

            async fn list_objects(&self, mut req: S3Request<ListObjectsInput>) -> S3Result<S3Response<ListObjectsOutput>> {
                if req.input.delimiter.as_deref() == Some("") {
                    req.input.delimiter = None;
                }
                self.fs.list_objects(req).await
            }

            /// Deleting a key that is no object -- absent, or a "folder" of other keys -- succeeds
            /// and deletes nothing, as in S3 (s3s-fs fails on the directory with a 500).
            async fn delete_object(&self, req: S3Request<DeleteObjectInput>) -> S3Result<S3Response<DeleteObjectOutput>> {
                if self.is_folder_key(&req.input.bucket, &req.input.key) {
                    return Ok(S3Response::new(DeleteObjectOutput::default()));
                }
                self.fs.delete_object(req).await
            }

            async fn delete_objects(&self, mut req: S3Request<DeleteObjectsInput>) -> S3Result<S3Response<DeleteObjectsOutput>> {
                let bucket = req.input.bucket.clone();
                let (folders, objects): (Vec<_>, Vec<_>) =
                    std::mem::take(&mut req.input.delete.objects).into_iter().partition(|o| self.is_folder_key(&bucket, &o.key));
                req.input.delete.objects = objects;
                let mut response = self.fs.delete_objects(req).await?;
                let deleted = response.output.deleted.get_or_insert_with(Vec::new);
                deleted.extend(folders.into_iter().map(|o| DeletedObject { key: Some(o.key), version_id: o.version_id, ..Default::default() }));
                Ok(response)
            }
        }
    };
}

delegate! {
        create_bucket(CreateBucketInput) -> CreateBucketOutput;
        copy_object(CopyObjectInput) -> CopyObjectOutput;
        delete_bucket(DeleteBucketInput) -> DeleteBucketOutput;
        get_bucket_location(GetBucketLocationInput) -> GetBucketLocationOutput;
        head_bucket(HeadBucketInput) -> HeadBucketOutput;
        list_buckets(ListBucketsInput) -> ListBucketsOutput;
        put_object(PutObjectInput) -> PutObjectOutput;
        create_multipart_upload(CreateMultipartUploadInput) -> CreateMultipartUploadOutput;
        upload_part(UploadPartInput) -> UploadPartOutput;
        upload_part_copy(UploadPartCopyInput) -> UploadPartCopyOutput;
        list_parts(ListPartsInput) -> ListPartsOutput;
        complete_multipart_upload(CompleteMultipartUploadInput) -> CompleteMultipartUploadOutput;
        abort_multipart_upload(AbortMultipartUploadInput) -> AbortMultipartUploadOutput;
}

impl Storage {
    /// A key without a trailing `/` whose path is a directory: a prefix of other keys, no object.
    fn is_folder_key(&self, bucket: &str, key: &str) -> bool {
        !key.ends_with('/') && self.layout.object_path(bucket, key).is_some_and(|p| p.is_dir())
    }

    /// GetObject from a memory map: zero-copy ranged reads, no hashing, optional realism.
    async fn serve_get(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        let input = req.input;
        let realism = self.realism.clone();
        if realism.roll(realism.fault_slowdown_rate) {
            return Err(s3_error!(SlowDown, "Please reduce your request rate."));
        }
        let path = self.layout.object_path(&input.bucket, &input.key).ok_or_else(|| s3_error!(InvalidArgument, "invalid object key"))?;
        let file = match std::fs::File::open(&path) {
            Ok(f) if f.metadata().map(|m| m.is_file()).unwrap_or(false) => f,
            _ if !self.layout.bucket_path(&input.bucket).is_dir() => {
                return Err(s3_error!(NoSuchBucket));
            }
            _ => return Err(s3_error!(NoSuchKey, "The specified key does not exist.")),
        };
        let meta = file.metadata().map_err(|e| s3_error!(e, InternalError))?;
        let file_len = meta.len();
        let modified = meta.modified().map_err(|e| s3_error!(e, InternalError))?;
        let etag = self.layout.stored_etag(&input.bucket, &input.key).unwrap_or_else(|| {
            // Written by something that recorded no ETag: derive one from size and mtime rather
            // than hashing the object on a GET.
            let secs = modified.duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
            format!("{file_len:x}-{secs:x}")
        });
        if let Some(cond) = &input.if_match
            && !etag_matches(cond, &etag)
        {
            return Err(s3_error!(PreconditionFailed, "At least one of the pre-conditions you specified did not hold"));
        }
        let (start, end, content_range) = match &input.range {
            None => (0, file_len, None),
            Some(range) => {
                let r = range.check(file_len)?;
                (r.start, r.end, Some(format!("bytes {}-{}/{}", r.start, r.end - 1, file_len)))
            }
        };
        let data = if file_len == 0 {
            Bytes::new()
        } else {
            // SAFETY: objects are only ever replaced by rename (s3s-fs and our writers write a
            // temporary file first), so the mapped inode is never truncated underneath us.
            let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| s3_error!(e, InternalError))?;
            Bytes::from_owner(Mapped(map)).slice(start as usize..end as usize)
        };
        let len = data.len();
        if let Some(latency) = realism.latency() {
            tokio::time::sleep(latency).await;
        }
        let cut_at = realism.roll(realism.fault_cut_rate).then_some(len / 2);
        let body = chunk_stream(data, realism, cut_at);
        let output = GetObjectOutput {
            body: Some(StreamingBlob::wrap(body)),
            content_length: Some(len as i64),
            content_range,
            last_modified: Some(Timestamp::from(modified)),
            e_tag: Some(ETag::Strong(etag)),
            accept_ranges: Some("bytes".into()),
            content_type: Some("application/octet-stream".parse().expect("valid mime")),
            metadata: self.layout.user_metadata(&input.bucket, &input.key),
            ..Default::default()
        };
        Ok(S3Response::new(output))
    }
}

/// Streams `data` in chunks, pacing it to the bandwidth cap and cutting the connection after
/// `cut_at` bytes when a fault was drawn.
pub(crate) fn chunk_stream(
    data: Bytes,
    realism: Arc<Realism>,
    cut_at: Option<usize>,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let chunk = realism.bandwidth_bytes_per_sec().map_or(GET_CHUNK, |bps| (bps as usize / 20).clamp(16 << 10, GET_CHUNK));
    let started = tokio::time::Instant::now();
    futures::stream::unfold((data, 0usize), move |(mut rest, sent)| {
        let realism = realism.clone();
        async move {
            if rest.is_empty() {
                return None;
            }
            if let Some(cut) = cut_at
                && sent >= cut
            {
                // Returning an error makes hyper abort the connection mid-body.
                return Some((Err(std::io::Error::other("injected fault: connection cut")), (Bytes::new(), sent)));
            }
            let mut take = rest.len().min(chunk);
            if let Some(cut) = cut_at {
                take = take.min(cut.saturating_sub(sent).max(1));
            }
            let piece = rest.split_to(take);
            let sent = sent + take;
            if let Some(bps) = realism.bandwidth_bytes_per_sec() {
                let due = started + Duration::from_secs_f64(sent as f64 / bps);
                tokio::time::sleep_until(due).await;
            }
            Some((Ok(piece), (rest, sent)))
        }
    })
    .fuse()
}
