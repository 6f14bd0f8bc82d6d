//! Objects on disk: where each `bucket/key` lives under the data dir (S3's naming rules checked
//! first), writing objects the way Athena does (complete before SUCCEEDED, atomically visible,
//! ETag recorded so S3 never hashes them on GET), and paging result rows for GetQueryResults.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Component, Path, PathBuf};

use md5::{Digest, Md5};

use crate::formats::envelope::Seal;
use crate::formats::result_csv::read_csv_record;

/// S3's longest object key, in bytes.
const MAX_KEY_BYTES: usize = 1024;
/// The longest file name this machine's file systems take: a key segment must fit in one.
const MAX_SEGMENT_BYTES: usize = 255;

/// Whether `name` is a bucket name S3 accepts (3-63 lowercase letters, digits, `-` and `.`,
/// starting and ending with a letter or digit): never `.`, `..` or anything with a `/`.
pub fn valid_bucket(name: &str) -> bool {
    let b = name.as_bytes();
    (3..=63).contains(&b.len())
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-' || *c == b'.')
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && !name.contains("..")
}

/// Why `key` cannot be stored here, if it cannot: keys map to files under their bucket's folder,
/// so a segment may not be empty (`a//b`, a leading `/`), `.` or `..`, hold a NUL, or exceed a
/// file name's length; a trailing `/` (a folder marker) is allowed. Longer than 1024 bytes is S3's
/// own KeyTooLongError.
pub fn key_problem(key: &str) -> Option<(&'static str, String)> {
    if key.len() > MAX_KEY_BYTES {
        return Some(("KeyTooLongError", "Your key is too long".into()));
    }
    let body = key.strip_suffix('/').unwrap_or(key);
    let bad =
        body.contains('\0') || body.split('/').any(|seg| seg.is_empty() || seg == "." || seg == ".." || seg.len() > MAX_SEGMENT_BYTES);
    bad.then(|| {
        (
            "InvalidArgument",
            format!("Object key {key:?} is not supported by this endpoint: segments must be non-empty, not '.' or '..', without NUL, at most {MAX_SEGMENT_BYTES} bytes"),
        )
    })
}

/// Where s3s-fs keeps objects and their sidecar files; shared with the Athena side, which writes
/// result files in the same layout so that S3 serves them.
#[derive(Debug, Clone)]
pub struct ObjectLayout {
    root: PathBuf,
}

impl ObjectLayout {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file holding `bucket/key`, refusing buckets and keys that could name a path outside
    /// the bucket's folder.
    pub fn object_path(&self, bucket: &str, key: &str) -> Option<PathBuf> {
        let rel = Path::new(key);
        if !valid_bucket(bucket) || key_problem(key).is_some() {
            return None;
        }
        if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
            return None;
        }
        Some(self.root.join(bucket).join(rel))
    }

    /// The `(bucket, key)` of a file under the data dir (the inverse of [`Self::object_path`]).
    pub fn locate(&self, path: &Path) -> Option<(String, String)> {
        let rel = path.strip_prefix(&self.root).ok()?;
        let mut parts = rel.components().map(|c| c.as_os_str().to_str());
        let bucket = parts.next()??.to_owned();
        let key = parts.collect::<Option<Vec<&str>>>()?.join("/");
        (!key.is_empty()).then_some((bucket, key))
    }

    /// Whether the object at `path` carries an encryption envelope (CSE_KMS).
    pub fn is_sealed(&self, path: &Path) -> bool {
        self.locate(path).and_then(|(bucket, key)| self.user_metadata(&bucket, &key)).is_some_and(|m| m.contains_key("x-amz-key-v2"))
    }

    pub fn bucket_path(&self, bucket: &str) -> PathBuf {
        self.root.join(bucket)
    }

    /// s3s-fs' sidecar holding the ETag (and checksums) of an object.
    pub fn internal_info_path(&self, bucket: &str, key: &str) -> PathBuf {
        use base64::Engine;
        let enc = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        self.root.join(format!(".bucket-{}.object-{}.internal.json", enc(bucket), enc(key)))
    }

    /// The stored ETag (hex MD5, unquoted) of an object, if its writer recorded one.
    pub fn stored_etag(&self, bucket: &str, key: &str) -> Option<String> {
        let text = std::fs::read(self.internal_info_path(bucket, key)).ok()?;
        let map: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&text).ok()?;
        map.get("e_tag")?.as_str().map(str::to_owned)
    }

    /// s3s-fs' sidecar holding an object's user metadata (and standard attributes).
    pub fn metadata_path(&self, bucket: &str, key: &str) -> PathBuf {
        use base64::Engine;
        let enc = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        self.root.join(format!(".bucket-{}.object-{}.metadata.json", enc(bucket), enc(key)))
    }

    /// The user metadata (`x-amz-meta-*`, without the prefix) stored with an object.
    pub fn user_metadata(&self, bucket: &str, key: &str) -> Option<HashMap<String, String>> {
        let text = std::fs::read(self.metadata_path(bucket, key)).ok()?;
        let attrs: serde_json::Value = serde_json::from_slice(&text).ok()?;
        serde_json::from_value(attrs.get("user_metadata")?.clone()).ok()
    }

    /// Records (or, `None`, removes) the user metadata of an object written outside s3s-fs, in
    /// s3s-fs' own sidecar format.
    fn store_user_metadata(&self, bucket: &str, key: &str, metadata: Option<&HashMap<String, String>>) -> std::io::Result<()> {
        let path = self.metadata_path(bucket, key);
        match metadata {
            Some(m) => std::fs::write(path, serde_json::to_vec(&serde_json::json!({ "user_metadata": m }))?),
            None => match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            },
        }
    }

    /// Records the ETag of an object written outside s3s-fs, in s3s-fs' own sidecar format.
    pub fn store_etag(&self, bucket: &str, key: &str, etag: &str) -> std::io::Result<()> {
        let mut map = serde_json::Map::new();
        map.insert("e_tag".into(), serde_json::Value::String(etag.to_owned()));
        std::fs::write(self.internal_info_path(bucket, key), serde_json::to_vec(&map)?)
    }
}

/// Objects up to this size are written as one PUT (ETag: the content's MD5); larger ones as a
/// multipart upload of parts this size, as Athena and the AWS SDKs upload big results.
const PART_BYTES: u64 = 8 << 20;

/// A file being written to a temporary name, renamed into place by [`ObjectWriter::finish`].
pub struct ObjectWriter {
    out: BufWriter<File>,
    tmp: PathBuf,
    dest: PathBuf,
    md5: Md5,
    /// `(layout, bucket, key)` when the file is an S3 object whose ETag must be recorded.
    object: Option<(ObjectLayout, String, String)>,
    written: u64,
    /// A CSE_KMS object: sealed when finished, its plaintext kept at the path when given.
    seal: Option<(Seal, Option<PathBuf>)>,
}

impl ObjectWriter {
    /// Starts writing the S3 object `bucket/key`.
    pub fn object(layout: &ObjectLayout, tmp_dir: &Path, bucket: &str, key: &str) -> std::io::Result<Self> {
        let dest = layout
            .object_path(bucket, key)
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("invalid S3 key {key:?}")))?;
        let mut w = Self::file(tmp_dir, dest)?;
        w.object = Some((layout.clone(), bucket.to_owned(), key.to_owned()));
        Ok(w)
    }

    /// Starts writing a plain file (internal state, not served by S3).
    pub fn file(tmp_dir: &Path, dest: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(tmp_dir)?;
        let tmp = tmp_dir.join(uuid::Uuid::new_v4().to_string());
        let out = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
        Ok(Self { out, tmp, dest, md5: Md5::new(), object: None, written: 0, seal: None })
    }

    /// Writes the object sealed with `seal` (CSE_KMS) when given, keeping its plaintext at
    /// `keep_plain` too (what GetQueryResults pages from) when given.
    pub fn sealed(mut self, seal: Option<&Seal>, keep_plain: Option<PathBuf>) -> Self {
        self.seal = seal.map(|s| (s.clone(), keep_plain));
        self
    }

    /// Makes the file visible under its final name; returns its size (a sealed object's
    /// plaintext size).
    pub fn finish(mut self) -> std::io::Result<u64> {
        self.out.flush()?;
        if let Some(parent) = self.dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut envelope = None;
        if let Some((seal, keep_plain)) = self.seal.take() {
            if let Some(plain) = keep_plain {
                if let Some(parent) = plain.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::copy(&self.tmp, &plain)?;
            }
            envelope = Some(seal.seal_file(&self.tmp)?);
            if self.written + 16 <= PART_BYTES {
                // The ETag of a single PUT is the MD5 of what S3 stores: the ciphertext.
                self.md5 = Md5::new();
                self.md5.update(&std::fs::read(&self.tmp)?);
            }
        }
        if let Some((layout, bucket, key)) = &self.object {
            let stored = self.written + if envelope.is_some() { 16 } else { 0 };
            let etag = if stored <= PART_BYTES {
                hex::encode(std::mem::take(&mut self.md5).finalize())
            } else {
                // A multipart upload's ETag is no MD5 of the content (S3 writes the MD5 of the
                // parts' MD5s and the part count); clients may only compare it. A fresh token of
                // that shape costs no hashing of the whole result.
                format!("{}-{}", uuid::Uuid::new_v4().simple(), stored.div_ceil(PART_BYTES))
            };
            layout.store_etag(bucket, key, &etag)?;
            layout.store_user_metadata(bucket, key, envelope.as_ref())?;
        }
        std::fs::rename(&self.tmp, &self.dest)?;
        Ok(self.written)
    }
}

impl Write for ObjectWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        // Only a single-PUT object's ETag is its MD5: hashing stops past the first part.
        if self.object.is_some() && self.written < PART_BYTES {
            self.md5.update(&buf[..n]);
        }
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

impl Drop for ObjectWriter {
    fn drop(&mut self) {
        // Unfinished (failed or cancelled) writes leave nothing behind.
        let _ = std::fs::remove_file(&self.tmp);
    }
}

/// One page of GetQueryResults rows read from a result CSV, and where the next page starts.
pub struct Page {
    pub rows: Vec<Vec<Option<String>>>,
    pub next: Option<u64>,
}

/// Reads up to `max` records of an Athena CSV starting at byte `offset`.
pub fn read_page(path: &Path, offset: u64, max: usize) -> std::io::Result<Page> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    if len == 0 || offset >= len {
        return Ok(Page { rows: vec![], next: None });
    }
    // SAFETY: result files are written once under a temporary name and renamed into place.
    let map = unsafe { memmap2::Mmap::map(&file)? };
    let mut pos = offset as usize;
    let mut rows = Vec::new();
    while rows.len() < max {
        match read_csv_record(&map, pos) {
            Some((fields, next)) => {
                rows.push(fields);
                pos = next;
            }
            None => break,
        }
    }
    let next = (pos < map.len()).then_some(pos as u64);
    Ok(Page { rows, next })
}
