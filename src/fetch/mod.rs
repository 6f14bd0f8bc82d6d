//! Fetch: the bytes of a result object, by ranged GETs in flight concurrently and reassembled in
//! order. Each range is pinned to the object's ETag (`If-Match`), so an object replaced while it
//! is read fails loudly; a connection dropped mid-body resumes from the last byte received.
//!
//! Built on aws-sdk-s3 rather than object_store: it shares the connection's `SdkConfig`
//! (credentials from every path of [`crate::ConnectionBuilder`], region, endpoint overrides) and
//! its retry strategy for 5xx and SlowDown, and it is already in the dependency tree.

mod config;
pub(crate) mod cse;
pub(crate) mod result_stream;

pub(crate) use config::ByteBudget;
pub use config::FetchConfig;

use std::time::Duration;

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures::stream::BoxStream;
use futures::{Stream, StreamExt, TryStreamExt};

use crate::fetch::cse::{DataKeys, Envelope, ObjectCipher, Piece, TAG_LEN};

use crate::error::{Error, Result};

/// A ranged GET running as a task of its own, aborted when dropped (a dropped stream stops its
/// reads). The streams of a result CSV's ranges hold these, `concurrency` at a time: building
/// and signing that many requests then does not hold up the task that consumes the ranges (with
/// 16 in flight the first batch came 20-30 ms later while it did), and the bodies are read on
/// every worker thread.
struct Spawned<T> {
    task: tokio::task::JoinHandle<Result<T>>,
    uri: String,
}

impl<T: Send + 'static> Spawned<T> {
    fn new(uri: &str, get: impl std::future::Future<Output = Result<T>> + Send + 'static) -> Self {
        Self { task: tokio::spawn(get), uri: uri.to_owned() }
    }
}

impl<T> std::future::Future for Spawned<T> {
    type Output = Result<T>;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        let this = &mut *self;
        std::pin::Pin::new(&mut this.task)
            .poll(cx)
            .map(|joined| joined.unwrap_or_else(|e| Err(storage_error(&this.uri, "a ranged GET's task ended", Some(Box::new(e))))))
    }
}

impl<T> Drop for Spawned<T> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `s3://bucket/key` -> (bucket, key).
pub(crate) fn parse_s3_uri(uri: &str) -> Result<(String, String)> {
    let rest = uri.strip_prefix("s3://").ok_or_else(|| Error::config(format!("not an s3:// URI: {uri:?}")))?;
    match rest.split_once('/') {
        Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => Ok((bucket.to_owned(), key.to_owned())),
        _ => Err(Error::config(format!("not an s3://bucket/key URI: {uri:?}"))),
    }
}

fn storage_error(uri: &str, message: impl Into<String>, source: Option<crate::error::BoxError>) -> Error {
    Error::Storage { uri: uri.to_owned(), message: message.into(), source }
}

/// Reads objects of one S3 client; client-side encrypted (CSE_KMS) objects with data keys from
/// KMS ([`cse`]).
#[derive(Clone, Debug)]
pub(crate) struct Fetcher {
    s3: aws_sdk_s3::Client,
    config: FetchConfig,
    keys: DataKeys,
}

/// Size and ETag of an object (a client-side encrypted object's size is its plaintext's).
#[derive(Debug, Clone)]
pub(crate) struct ObjectMeta {
    pub size: u64,
    pub etag: Option<String>,
    /// Set when the object is client-side encrypted and was opened by this process.
    pub(crate) sealed: Option<Arc<Sealed>>,
}

impl ObjectMeta {
    /// An object's size and ETag as recorded elsewhere (a partition).
    pub(crate) fn new(size: u64, etag: Option<String>) -> Self {
        Self { size, etag, sealed: None }
    }
}

/// A client-side encrypted object being read: its cipher, the GHASH share of the opening bytes
/// handed out with it, and its tag when the opening reached its end.
#[derive(Debug)]
pub(crate) struct Sealed {
    cipher: ObjectCipher,
    opening: Option<Piece>,
    tag: Option<Vec<u8>>,
}

impl Fetcher {
    pub(crate) fn new(s3: aws_sdk_s3::Client, kms: aws_sdk_kms::Client, config: FetchConfig) -> Self {
        Self { s3, config, keys: DataKeys::new(kms) }
    }

    pub(crate) fn config(&self) -> &FetchConfig {
        &self.config
    }

    /// The first `len` bytes of the object (all of it when it is shorter) with its size and
    /// ETag, from one ranged GET: no HEAD before reading. The rest is read pinned to that ETag.
    /// A client-side encrypted object comes decrypted, its opening cut to whole 16-byte blocks
    /// (unless it is the whole object) so that the ranges after it hash on their own.
    pub(crate) async fn open_head(&self, uri: &str, len: u64) -> Result<(ObjectMeta, Bytes)> {
        let (meta, raw, _, envelope) = self.open(uri, format!("bytes=0-{}", len.max(1) - 1), false).await?;
        let Some(envelope) = envelope else { return Ok((meta, raw)) };
        let cipher = self.keys.cipher(&envelope).await?;
        let size = plain_size(uri, meta.size)?;
        let (keep, tag) = if raw.len() as u64 >= size {
            let mut tag = raw[size as usize..].to_vec();
            if (tag.len() as u64) < TAG_LEN {
                let rest = self.raw_range(uri, meta.etag.as_deref(), size + tag.len() as u64, size + TAG_LEN, true).await?;
                tag.extend_from_slice(&rest);
            }
            (size as usize, Some(tag))
        } else {
            (raw.len() / 16 * 16, None)
        };
        let (plain, piece) = unseal(cipher.clone(), 0, raw.slice(..keep)).await?;
        let sealed = Arc::new(Sealed { cipher, opening: Some(piece), tag });
        Ok((ObjectMeta { size, etag: meta.etag, sealed: Some(sealed) }, plain))
    }

    /// The last `len` bytes of the object (all of it when it is shorter) with its size and ETag,
    /// from one suffix GET: a Parquet file's footer comes with its first request. A client-side
    /// encrypted object comes whole instead (its other bytes in parallel ranges), decrypted and
    /// authenticated: none of its rows is read before its tag is checked.
    /// The bytes come as the pieces they were read in (`(offset, bytes)`, in order, contiguous to
    /// the object's end), without a copy into one buffer.
    pub(crate) async fn open_tail(&self, uri: &str, len: u64) -> Result<(ObjectMeta, Vec<(u64, Bytes)>)> {
        let (meta, raw, start, envelope) = self.open(uri, format!("bytes=-{}", len.max(1)), false).await?;
        let Some(envelope) = envelope else { return Ok((meta, vec![(start, raw)])) };
        let cipher = self.keys.cipher(&envelope).await?;
        let size = plain_size(uri, meta.size)?;
        let sealed = Arc::new(Sealed { cipher: cipher.clone(), opening: None, tag: None });
        let whole = ObjectMeta { size, etag: meta.etag.clone(), sealed: Some(sealed.clone()) };
        // Everything before the tail, in aligned ranges, then the tail itself (tag included).
        let chunk = self.config.chunk_size.max(16).next_multiple_of(16);
        let before = (0..start.div_ceil(chunk)).map(move |i| (i * chunk, ((i + 1) * chunk).min(start)));
        let this = self.clone();
        let uri_owned = uri.to_owned();
        let etag = meta.etag.clone();
        let mut parts: Vec<(Bytes, Piece)> = futures::stream::iter(before)
            .map(move |(s, e)| {
                let (this, uri, etag, cipher) = (this.clone(), uri_owned.clone(), etag.clone(), cipher.clone());
                async move {
                    let raw = this.raw_range(&uri, etag.as_deref(), s, e, true).await?;
                    unseal(cipher, s, raw).await
                }
            })
            .buffered(self.config.concurrency.max(1))
            .try_collect::<Vec<_>>()
            .await?;
        let tag = raw.slice((raw.len() as u64 - TAG_LEN.min(raw.len() as u64)) as usize..);
        let tail_plain_len = (size.saturating_sub(start)) as usize;
        parts.push(unseal(sealed.cipher.clone(), start.min(size), raw.slice(..tail_plain_len.min(raw.len()))).await?);
        let mut check = sealed.cipher.tag_check();
        let in_order = parts.iter().all(|(_, piece)| check.add(piece));
        if !in_order || !check.matches(&tag) {
            return Err(tampered(uri));
        }
        let mut at = 0;
        let pieces = parts
            .into_iter()
            .map(|(plain, _)| {
                let piece = (at, plain);
                at += piece.1.len() as u64;
                piece
            })
            .filter(|(_, bytes)| !bytes.is_empty())
            .collect();
        Ok((whole, pieces))
    }

    /// The object's first `len` bytes in GETs of `piece` bytes, all sent at once before its size
    /// is known (a guess made beside the request that learns it), each piece with the ETag it
    /// came with (`(offset, ETag, bytes)`). Each GET is tried once, never retried (a throttled or
    /// failed one is left out at once rather than hold up the read with backoff), and a body cut
    /// short is kept as far as it came. Pieces past the object's end are empty; a client-side
    /// encrypted object's pieces (ciphertext) are left out too: a reader fetches what they lacked
    /// as it would have without them.
    pub(crate) async fn speculative_head(&self, uri: &str, len: u64, piece: u64) -> Vec<(u64, Option<String>, Bytes)> {
        let piece = piece.max(1);
        let pieces = (0..len.div_ceil(piece)).map(|i| {
            let (start, end) = (i * piece, ((i + 1) * piece).min(len));
            async move { (start, self.open(uri, format!("bytes={start}-{}", end - 1), true).await) }
        });
        futures::future::join_all(pieces)
            .await
            .into_iter()
            .filter_map(|(start, got)| match got {
                Ok((meta, bytes, at, None)) if at == start && !bytes.is_empty() => Some((start, meta.etag, bytes)),
                Ok(_) => None,
                Err(e) => {
                    tracing::debug!(uri, start, "a speculative GET failed ({e}): its bytes are fetched when needed");
                    None
                }
            })
            .collect()
    }

    /// One ranged GET whose `Content-Range` tells the object's size; a body cut short is
    /// completed by GETs pinned to the ETag it came with. Returns the bytes as stored, where
    /// they start, and the object's encryption envelope when it has one. `speculative`: tried
    /// once (no retry by us or the SDK), a cut body returned as far as it came.
    async fn open(&self, uri: &str, range: String, speculative: bool) -> Result<(ObjectMeta, Bytes, u64, Option<Envelope>)> {
        let (bucket, key) = parse_s3_uri(uri)?;
        let mut failures = 0u32;
        let out = loop {
            if failures > 0 {
                tokio::time::sleep(Duration::from_millis(50 << failures.min(6))).await;
            }
            let request = self.s3.get_object().bucket(&bucket).key(&key).range(range.clone());
            let sent = if speculative {
                let once = aws_sdk_s3::config::Builder::default().retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled());
                request.customize().config_override(once).send().await
            } else {
                request.send().await
            };
            match sent {
                Ok(out) => break out,
                // An empty object has no byte to range over (416 InvalidRange).
                Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 416) => {
                    return Ok((ObjectMeta::new(0, None), Bytes::new(), 0, None));
                }
                Err(e) => {
                    let status = e.raw_response().map(|r| r.status().as_u16());
                    if matches!(status, Some(403 | 404)) {
                        return Err(storage_error(uri, "GetObject refused", Some(Box::new(e))));
                    }
                    // Anything else (a reset or refused connection, a timeout, a 5xx the SDK's
                    // own attempts did not get past) is tried again, as a cut body is.
                    failures += 1;
                    if speculative || failures >= self.config.max_attempts {
                        return Err(storage_error(uri, format!("GetObject failed after {failures} attempts"), Some(Box::new(e))));
                    }
                    tracing::debug!(uri, "GetObject failed ({e}): trying again");
                }
            }
        };
        let envelope = Envelope::from_metadata(uri, out.metadata())?;
        let etag = out.e_tag().map(str::to_owned);
        let length = out.content_length().unwrap_or(0).max(0) as u64;
        // `bytes a-b/size`; without it (a 200 for the whole object) the body is the object.
        let (start, size) = match out.content_range().and_then(parse_content_range) {
            Some((start, size)) => (start, size),
            None => (0, length),
        };
        let meta = ObjectMeta::new(size, etag);
        let mut buf = BytesMut::with_capacity(length as usize);
        let mut body = out.body;
        loop {
            match body.try_next().await {
                Ok(Some(bytes)) => buf.extend_from_slice(&bytes),
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(uri, "first body cut at byte {} ({e}): resuming", start + buf.len() as u64);
                    break;
                }
            }
        }
        if (buf.len() as u64) < length && !speculative {
            let from = start + buf.len() as u64;
            let rest = self.raw_range(uri, meta.etag.as_deref(), from, start + length, envelope.is_some()).await?;
            buf.extend_from_slice(&rest);
        }
        buf.truncate(length as usize);
        Ok((meta, buf.freeze(), start, envelope))
    }

    /// Deletes the objects at `uris` (best effort: failures are logged).
    pub(crate) async fn delete_all(&self, uris: &[String]) {
        for uri in uris {
            let Ok((bucket, key)) = parse_s3_uri(uri) else { continue };
            if let Err(e) = self.s3.delete_object().bucket(bucket).key(key).send().await {
                tracing::warn!("cannot delete {uri}: {e}");
            }
        }
    }

    /// The whole (small) object in memory.
    pub(crate) async fn get_all(&self, uri: &str) -> Result<Bytes> {
        let (meta, first) = self.open_head(uri, self.config.chunk_size).await?;
        if first.len() as u64 >= meta.size && meta.sealed.is_none() {
            return Ok(first);
        }
        let parts: Vec<Bytes> = futures::TryStreamExt::try_collect(self.chunks(uri, &meta, first)).await?;
        Ok(parts.concat().into())
    }

    /// The object's bytes in order, `first` (its opening bytes, already read) included, the
    /// rest as ranged GETs in flight concurrently. A client-side encrypted object's ranges are
    /// decrypted and hashed where they are fetched, and its tag checked before its last bytes
    /// are handed on (a mismatch ends the stream with an error instead).
    pub(crate) fn chunks(&self, uri: &str, meta: &ObjectMeta, first: Bytes) -> BoxStream<'static, Result<Bytes>> {
        let size = meta.size;
        let from = (first.len() as u64).min(size);
        let Some(sealed) = meta.sealed.clone() else {
            let chunk = self.config.chunk_size.max(1);
            let ranges = (0..(size - from).div_ceil(chunk)).map(move |i| (from + i * chunk, (from + (i + 1) * chunk).min(size)));
            let head = (!first.is_empty()).then_some(Ok(first));
            return futures::stream::iter(head).chain(self.ranges(uri, meta, ranges)).boxed();
        };
        // Ranges start on block boundaries (the opening was cut to one), so each hashes alone;
        // the last one brings the tag.
        let chunk = self.config.chunk_size.max(16).next_multiple_of(16);
        let ranges = (0..(size - from).div_ceil(chunk)).map(move |i| (from + i * chunk, (from + (i + 1) * chunk).min(size)));
        let (this, uri_owned, etag, cipher) = (self.clone(), uri.to_owned(), meta.etag.clone(), sealed.cipher.clone());
        let fetched = futures::stream::iter(ranges)
            .map(move |(start, end)| {
                let (this, uri, etag, cipher) = (this.clone(), uri_owned.clone(), etag.clone(), cipher.clone());
                Spawned::new(&uri_owned, async move {
                    let last = end == size;
                    let mut raw = this.raw_range(&uri, etag.as_deref(), start, if last { end + TAG_LEN } else { end }, true).await?;
                    // The tag copied out and cut off (not split: the range stays unshared, so
                    // it is decrypted where it lies).
                    let tag = last.then(|| {
                        let at = (end - start) as usize;
                        let tag = raw[at..].to_vec();
                        raw.truncate(at);
                        tag
                    });
                    let (plain, piece) = unseal(cipher, start, raw).await?;
                    Ok::<_, Error>((plain, piece, tag))
                })
            })
            .buffered(self.config.concurrency.max(1))
            .boxed();
        let mut check = sealed.cipher.tag_check();
        let opening_ok = sealed.opening.as_ref().is_none_or(|p| check.add(p));
        let uri = uri.to_owned();
        let state = (Some(first), fetched, Some(check), opening_ok);
        futures::stream::unfold(state, move |(mut first, mut fetched, mut check, ok)| {
            let (uri, sealed) = (uri.clone(), sealed.clone());
            async move {
                let verify = |check: Option<cse::TagCheck>, tag: Option<&[u8]>| match (check, tag) {
                    (Some(check), Some(tag)) if ok => {
                        if check.matches(tag) {
                            Ok(())
                        } else {
                            Err(tampered(&uri))
                        }
                    }
                    _ => Err(tampered(&uri)),
                };
                loop {
                    if let Some(bytes) = first.take() {
                        if from == size {
                            // The opening was the whole object: checked before it is handed on.
                            if let Err(e) = verify(check.take(), sealed.tag.as_deref()) {
                                return Some((Err(e), (None, fetched, None, false)));
                            }
                        }
                        if bytes.is_empty() {
                            continue;
                        }
                        return Some((Ok(bytes), (None, fetched, check, ok)));
                    }
                    check.as_ref()?;
                    return match fetched.next().await? {
                        Err(e) => Some((Err(e), (None, fetched, None, false))),
                        Ok((plain, piece, tag)) => {
                            let ok = ok && check.as_mut().is_some_and(|c| c.add(&piece));
                            match tag {
                                None => Some((Ok(plain), (None, fetched, check, ok))),
                                Some(tag) => match verify(check.take(), Some(&tag)) {
                                    Ok(()) => Some((Ok(plain), (None, fetched, None, ok))),
                                    Err(e) => Some((Err(e), (None, fetched, None, false))),
                                },
                            }
                        }
                    };
                }
            }
        })
        .boxed()
    }

    /// The bytes of `ranges` of the object (start, end), in order, `concurrency` GETs in flight
    /// (the iterator is read lazily: dropping the stream stops the reading).
    pub(crate) fn ranges(
        &self,
        uri: &str,
        meta: &ObjectMeta,
        ranges: impl Iterator<Item = (u64, u64)> + Send + 'static,
    ) -> impl Stream<Item = Result<Bytes>> + Send + 'static {
        let this = self.clone();
        let uri = uri.to_owned();
        let meta = meta.clone();
        futures::stream::iter(ranges)
            .map(move |(start, end)| {
                let (this, named, meta) = (this.clone(), uri.clone(), meta.clone());
                Spawned::new(&uri, async move { this.range(&named, &meta, start, end).await })
            })
            .buffered(self.config.concurrency.max(1))
    }

    /// Bytes `start..end` of the object, resuming after cut or short bodies. A client-side
    /// encrypted object is read whole ([`Self::chunks`], [`Self::open_tail`]), never by
    /// unauthenticated ranges: asking for one is an error.
    pub(crate) async fn range(&self, uri: &str, meta: &ObjectMeta, start: u64, end: u64) -> Result<Bytes> {
        if meta.sealed.is_some() {
            return Err(storage_error(uri, "a client-side encrypted object is read whole, not by byte ranges", None));
        }
        self.raw_range(uri, meta.etag.as_deref(), start, end, false).await
    }

    /// Bytes `start..end` as stored, resuming after cut or short bodies; unless `sealed`, an
    /// object with an encryption envelope is refused (its bytes are ciphertext).
    async fn raw_range(&self, uri: &str, etag: Option<&str>, start: u64, end: u64, sealed: bool) -> Result<Bytes> {
        let (bucket, key) = parse_s3_uri(uri)?;
        let len = (end - start) as usize;
        let mut buf = BytesMut::with_capacity(len);
        let mut failures = 0u32;
        let mut last_error: Option<crate::error::BoxError> = None;
        while buf.len() < len {
            if failures >= self.config.max_attempts {
                return Err(storage_error(
                    uri,
                    format!("bytes {}-{} not received after {failures} attempts", start + buf.len() as u64, end - 1),
                    last_error,
                ));
            }
            if failures > 0 {
                tokio::time::sleep(Duration::from_millis(50 << failures.min(6))).await;
            }
            let from = start + buf.len() as u64;
            let sent = self
                .s3
                .get_object()
                .bucket(&bucket)
                .key(&key)
                .range(format!("bytes={from}-{}", end - 1))
                .set_if_match(etag.map(str::to_owned))
                .send()
                .await;
            let mut body = match sent {
                Ok(out) if !sealed && out.metadata().is_some_and(|m| m.contains_key("x-amz-key-v2") || m.contains_key("x-amz-key")) => {
                    return Err(storage_error(
                        uri,
                        "the object is client-side encrypted (it carries an encryption envelope): it is read whole",
                        None,
                    ));
                }
                Ok(out) => out.body,
                Err(e) => {
                    let status = e.raw_response().map(|r| r.status().as_u16());
                    if status == Some(412) {
                        return Err(storage_error(uri, "the object changed while it was read (ETag no longer matches)", Some(Box::new(e))));
                    }
                    if matches!(status, Some(403 | 404)) {
                        return Err(storage_error(uri, "GetObject refused", Some(Box::new(e))));
                    }
                    failures += 1;
                    last_error = Some(Box::new(e));
                    continue;
                }
            };
            loop {
                match body.try_next().await {
                    Ok(Some(bytes)) => {
                        let room = len - buf.len();
                        buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::debug!(uri, "body cut at byte {}: resuming", start + buf.len() as u64);
                        last_error = Some(Box::new(e));
                        break;
                    }
                }
            }
            if buf.len() < len {
                failures += 1;
            }
        }
        Ok(buf.freeze())
    }
}

/// The plaintext size of a client-side encrypted object of `stored` bytes (its tag after it).
fn plain_size(uri: &str, stored: u64) -> Result<u64> {
    stored
        .checked_sub(TAG_LEN)
        .ok_or_else(|| storage_error(uri, format!("a client-side encrypted object of {stored} bytes is shorter than its tag"), None))
}

fn tampered(uri: &str) -> Error {
    storage_error(
        uri,
        "the object's authentication tag does not match its content: it was changed or damaged after it was written (CSE_KMS); none of its last rows were read",
        None,
    )
}

/// Hashes the ciphertext `raw` (the object's bytes from `offset` on) and decrypts it, on a
/// blocking thread: ranges of one object are opened on every core at once.
async fn unseal(cipher: ObjectCipher, offset: u64, raw: Bytes) -> Result<(Bytes, Piece)> {
    tokio::task::spawn_blocking(move || {
        let mut buf = raw.try_into_mut().unwrap_or_else(|shared| BytesMut::from(&shared[..]));
        let piece = cipher.open_in_place(offset, &mut buf);
        (buf.freeze(), piece)
    })
    .await
    .map_err(|e| Error::decode(format!("decryption task failed: {e}")))
}

/// `bytes 0-99/1234` -> (0, 1234).
fn parse_content_range(value: &str) -> Option<(u64, u64)> {
    let (range, size) = value.strip_prefix("bytes ")?.split_once('/')?;
    let start = range.split_once('-')?.0.parse().ok()?;
    Some((start, size.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_uris() {
        assert_eq!(parse_s3_uri("s3://b/k/x.csv").unwrap(), ("b".into(), "k/x.csv".into()));
        assert!(parse_s3_uri("s3://b/").is_err());
        assert!(parse_s3_uri("https://b/k").is_err());
        assert_eq!(parse_content_range("bytes 0-99/1234"), Some((0, 1234)));
        assert_eq!(parse_content_range("bytes 1200-1233/1234"), Some((1200, 1234)));
        assert_eq!(parse_content_range("bytes */1234"), None);
    }
}
