//! How an UNLOAD's data files are read: however many there are and whatever their size, the
//! connections stay busy and memory stays bounded, and batches come out in file order.
//!
//! - **Files in order, many ahead.** A scheduler starts the files one after the other, each as
//!   soon as the byte budget (`fetch.unload_bytes_in_flight`) has room for its first request and
//!   fewer than `4 x fetch.concurrency` files are ahead of the one being consumed. Each file is a
//!   task of its own; its batches wait in its own channel until the consumer reaches it.
//! - **One request for a small file.** A file's first request is a suffix GET as long as the
//!   files seen so far (the files of one UNLOAD are alike): a small file comes whole, footer and
//!   data, and is decoded from memory. A larger one brings its footer; its row groups are then
//!   fetched on tasks of their own, several at once, each holding its compressed size of the
//!   budget until decoded, and their batches are forwarded in order.
//! - **Sealed files whole.** A client-side encrypted (CSE_KMS) file is read whole when it is
//!   opened (its tag is checked before any row group decodes), so once one was seen, a file's
//!   first request counts as the whole file against the budget.
//! - **Bounded, never stuck.** Files ahead of the consumer hold their first request's bytes, their
//!   row groups in flight, and decoded batches under `fetch.decoded_bytes_buffered`. The file
//!   being consumed never waits for a budget that files after it hold: when it cannot get its
//!   share, it reads over the budget (by at most one row group at a time). Files ahead share at
//!   most half of the budget; a file's first request leaves that half when the consumer reaches
//!   the file (it stays in the whole budget until decoded).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::array::RecordBatch;
use arrow::datatypes::{SchemaRef, TimeUnit};
use futures::{FutureExt, StreamExt};
use parquet::arrow::arrow_reader::ArrowReaderMetadata;
use parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;
use parquet::errors::ParquetError;
use tokio::sync::{OwnedSemaphorePermit, mpsc, watch};

use crate::error::{Error, Result};
use crate::fetch::{ByteBudget, FetchConfig, Fetcher, ObjectMeta};
use crate::results::stream::RecordBatchStream;
use crate::results::unload::parquet::{FOOTER_GUESS, Opened, S3ParquetReader, open_file};

/// Rows per batch read from Parquet (8192 decodes about 30% faster than 1024).
const BATCH_ROWS: usize = 8192;
/// The first request of the first file when its size is unknown: small files come whole, larger
/// ones bring their footer and their last bytes.
const FIRST_GUESS: u64 = 1 << 20;
/// The first file's first bytes, read in GETs of [`FIRST_GUESS`] sent beside its first request
/// when its size is unknown and the result has more than one file: a file of up to 4 MiB comes
/// whole in one round of requests (at S3's shape, by arithmetic, 30 ms + 1 MiB at 80 MB/s: about
/// 43 ms) instead of its footer first and its data after it (about 76 ms for 3.3 MB; measured in
/// fast_path, the first batch came 112.6 -> 74.0 / 78.0 ms), and a larger one brings the start of
/// its first row group. At most 3 MiB more read and held for the first file; the GETs past a smaller file's end
/// answer at once with nothing. A result of one file (most small results) is left its one GET.
const FIRST_HEAD: u64 = 3 << 20;
/// A file read alone (a partition, its size known) at most this long is read with one request
/// (footer and data). Longer, its footer first and then its row groups in parallel pieces is
/// faster: with S3's first-byte latency (about 30 ms) and per-connection throughput (about
/// 80 MB/s), one request of S bytes takes 30 ms + S / 80 MB/s, the two steps
/// 60 ms + S / (8 x 80 MB/s): even at about 2.7 MB.
const SMALL_FILE: u64 = 2 << 20;
/// Batches a file sends ahead into its channel.
const FILE_CHANNEL: usize = 2;

/// A decoded batch with the share of the decoded budget it holds until the consumer takes it.
type Item = Result<Option<(RecordBatch, Option<OwnedSemaphorePermit>)>>;

/// Shares of the in-flight budget, released when dropped.
struct Held {
    _in_flight: Option<OwnedSemaphorePermit>,
    ahead: Option<OwnedSemaphorePermit>,
}

/// A file's first request's share of the files-ahead budget, given back by the consumer when
/// the file becomes the one being consumed: its bytes no longer stand in the way of the files
/// after it. (Kept until the file was read, a budget of a few files let one file fewer ahead:
/// 16 MiB of 3.3 MB files were read at about the speed of two connections.)
type AheadShare = Arc<std::sync::Mutex<Option<OwnedSemaphorePermit>>>;

fn give_back(share: &AheadShare) {
    share.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
}

/// What the scheduler hands the consumer, in file order.
enum Next {
    /// File `index`'s batches; `Ok(None)` on it marks the file complete.
    File(usize, mpsc::Receiver<Item>, AheadShare),
    /// Every file was started.
    End,
}

/// What the files of one read share.
struct Shared {
    fetcher: Fetcher,
    unit: Option<TimeUnit>,
    schema: SchemaRef,
    /// Compressed bytes being fetched or decoded.
    in_flight: ByteBudget,
    /// The share of `in_flight` that files after the one being consumed may hold (half of it):
    /// the rest stays for the file being read, whose row groups may be large.
    ahead: ByteBudget,
    /// Decoded batches waiting for the consumer.
    decoded: ByteBudget,
    /// The index of the file being consumed.
    front: watch::Receiver<usize>,
    /// The size of the file opened last (0: none yet).
    last_size: AtomicU64,
    /// Whether the file opened last was client-side encrypted (CSE_KMS): such a file is read
    /// whole when opened, so its first request is its size.
    sealed: std::sync::atomic::AtomicBool,
    /// Once a file's size was seen, a file at most this long is read with one request
    /// (`fetch.chunk_size`): with many files in flight the first-byte waits overlap, and one
    /// request each keeps the most connections busy.
    small: u64,
}

impl Shared {
    /// The length of a file's first request: the whole file when the files seen so far were
    /// small, else its footer.
    fn guess(&self) -> u64 {
        if self.sealed.load(Ordering::Relaxed) {
            return self.last_size.load(Ordering::Relaxed).max(FOOTER_GUESS);
        }
        match self.last_size.load(Ordering::Relaxed) {
            0 => FIRST_GUESS,
            size if size <= self.small => (size + size / 8).max(FOOTER_GUESS),
            _ => FOOTER_GUESS,
        }
    }

    /// `bytes` of the in-flight budget for file `index` (and of the share of files ahead while
    /// it is not the one being consumed). `wait`: wait for them (the file being consumed never
    /// waits: it reads over the budget); else `None` when they are not free now.
    async fn fetch_share(&self, bytes: u64, index: usize, wait: bool) -> Option<Held> {
        let front = *self.front.borrow() >= index;
        let ahead = match (front, wait) {
            (true, _) => None,
            (false, true) => self.share(&self.ahead, bytes, index).await,
            (false, false) => Some(self.ahead.try_acquire(bytes)?),
        };
        let in_flight = if wait { self.share(&self.in_flight, bytes, index).await } else { Some(self.in_flight.try_acquire(bytes)?) };
        Some(Held { _in_flight: in_flight, ahead })
    }

    /// `bytes` of `budget` for file `index`, or `None` when that file is (or becomes) the one
    /// being consumed before they are free: that file reads over the budget rather than wait for
    /// files after it.
    async fn share(&self, budget: &ByteBudget, bytes: u64, index: usize) -> Option<OwnedSemaphorePermit> {
        let mut front = self.front.clone();
        loop {
            if let Some(permit) = budget.try_acquire(bytes) {
                return Some(permit);
            }
            if *front.borrow_and_update() >= index {
                return None;
            }
            tokio::select! {
                permit = budget.acquire(bytes) => return Some(permit),
                changed = front.changed() => if changed.is_err() { return None },
            }
        }
    }
}

/// Reads every file of an UNLOAD, in order; `None` when there is none (0 rows).
/// `files`: each URI with, when known, the size and ETag it must still have.
pub(crate) async fn unload_stream(
    fetcher: &Fetcher,
    files: Vec<(String, Option<ObjectMeta>)>,
    unit: Option<TimeUnit>,
    fetch: &FetchConfig,
) -> Result<Option<RecordBatchStream>> {
    let Some((first, expected)) = files.first() else { return Ok(None) };
    let in_flight = ByteBudget::new(fetch.unload_bytes_in_flight);
    // The first file gives the schema; it is read with the reader and footer opened for that.
    // Its size is known when it was partitioned: a small file whole, else its footer.
    let (first_guess, first_head) = match expected {
        Some(meta) if meta.size <= SMALL_FILE => (meta.size, 0),
        Some(_) => (FOOTER_GUESS, 0),
        None if files.len() > 1 => (FIRST_GUESS, FIRST_HEAD),
        None => (FIRST_GUESS, 0),
    };
    let first_permit = Held { _in_flight: Some(in_flight.acquire(first_guess + first_head).await), ahead: None };
    let opened = open_file(fetcher, first, unit, expected.as_ref(), first_guess, first_head).await?;
    let schema = opened.schema.clone();
    let (front_tx, front) = watch::channel(0usize);
    let shared = Arc::new(Shared {
        fetcher: fetcher.clone(),
        unit,
        schema: schema.clone(),
        in_flight,
        ahead: ByteBudget::new(fetch.unload_bytes_in_flight / 2),
        decoded: ByteBudget::new(fetch.decoded_bytes_buffered),
        front,
        last_size: AtomicU64::new(opened.reader.meta.size),
        sealed: std::sync::atomic::AtomicBool::new(opened.reader.meta.sealed.is_some()),
        small: fetch.chunk_size,
    });
    let ahead = fetch.concurrency.max(1) * 4;
    let (order_tx, order_rx) = mpsc::channel::<Next>(ahead);
    tokio::spawn(schedule(shared, files, (opened, first_permit), order_tx));
    let state = Consumer { order: order_rx, current: None, front: front_tx, done: false };
    let stream = futures::stream::unfold(state, |mut state| async move { state.next().await.map(|item| (item, state)) });
    Ok(Some(RecordBatchStream::new(schema, stream)))
}

/// Starts the files in order, each once the budget has room for its first request.
async fn schedule(shared: Arc<Shared>, files: Vec<(String, Option<ObjectMeta>)>, first: (Opened, Held), order: mpsc::Sender<Next>) {
    let mut first = Some(first);
    for (index, (uri, expected)) in files.into_iter().enumerate() {
        let (tx, rx) = mpsc::channel(FILE_CHANNEL);
        let ahead = AheadShare::default();
        if order.send(Next::File(index, rx, ahead.clone())).await.is_err() {
            return; // the consumer is gone
        }
        let (opened, mut permit) = match first.take() {
            Some((opened, permit)) => (Some(opened), permit),
            None => {
                let guess = shared.guess();
                (None, shared.fetch_share(guess, index, true).await.expect("a share that is waited for is given"))
            }
        };
        *ahead.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = permit.ahead.take();
        if *shared.front.borrow() >= index {
            give_back(&ahead); // the consumer reached the file while its share was being taken
        }
        let file = FileRead { shared: shared.clone(), index, uri, expected, tx };
        tokio::spawn(file.run(opened, permit));
    }
    let _ = order.send(Next::End).await;
}

/// One file being read.
struct FileRead {
    shared: Arc<Shared>,
    index: usize,
    uri: String,
    expected: Option<ObjectMeta>,
    tx: mpsc::Sender<Item>,
}

impl FileRead {
    async fn run(self, opened: Option<Opened>, permit: Held) {
        // A panicking reader must not look like a complete file: the consumer sees the channel
        // end without the completion mark.
        let read = std::panic::AssertUnwindSafe(self.read(opened, permit)).catch_unwind().await;
        let outcome = match read {
            Ok(Ok(())) => Ok(None),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(Error::decode(format!("reading UNLOAD file {} failed: the reader panicked", self.uri))),
        };
        let _ = self.tx.send(outcome).await;
    }

    async fn read(&self, opened: Option<Opened>, first_request: Held) -> Result<()> {
        let shared = &self.shared;
        let Opened { reader, metadata, schema } = match opened {
            Some(o) => o,
            None => open_file(&shared.fetcher, &self.uri, shared.unit, self.expected.as_ref(), shared.guess(), 0).await?,
        };
        shared.last_size.store(reader.meta.size, Ordering::Relaxed);
        shared.sealed.store(reader.meta.sealed.is_some(), Ordering::Relaxed);
        let same = schema.fields().len() == shared.schema.fields().len()
            && schema.fields().iter().zip(shared.schema.fields()).all(|(a, b)| a.name() == b.name() && a.data_type() == b.data_type());
        if !same {
            return Err(Error::decode(format!(
                "UNLOAD file {} has another schema than the first file: it was replaced after the query ended",
                self.uri
            )));
        }
        // The first request's bytes (the whole file, when small) stay held until the last row
        // group that reads from them is decoded: each row group's task holds a share of them.
        let first_request = Arc::new(first_request);
        // Row groups are read on tasks of their own, several at once (one large file uses every
        // core), each decoding as far as the decoded budget lets it; their batches are forwarded
        // in file order.
        let groups = metadata.metadata().num_row_groups();
        let parallel = std::thread::available_parallelism().map_or(2, |n| n.get()) + 1;
        let mut queue = std::collections::VecDeque::new();
        let mut next = 0;
        let mut open = Some((reader, metadata, first_request));
        loop {
            while let Some((reader, metadata, first_request)) = open.as_ref().filter(|_| next < groups && queue.len() < parallel) {
                let group = metadata.metadata().row_group(next);
                let ranges = group.columns().iter().map(|c| {
                    let (start, len) = c.byte_range();
                    start..start + len
                });
                let size = reader.to_fetch(ranges);
                // What is already in memory needs no budget; otherwise this file waits for its
                // share only when nothing of it is under way.
                let held = match size {
                    0 => None,
                    _ if queue.is_empty() => shared.fetch_share(size, self.index, true).await,
                    _ => match shared.fetch_share(size, self.index, false).await {
                        Some(held) => Some(held),
                        None => break,
                    },
                };
                let held = (held, first_request.clone());
                queue.push_back(spawn_row_group(shared.clone(), self.index, reader.clone(), metadata.clone(), next, held, &self.uri));
                next += 1;
                if next == groups {
                    // Every row group is under way: what they read from is theirs now.
                    open = None;
                }
            }
            let Some(mut group) = queue.pop_front() else { return Ok(()) };
            loop {
                match group.recv().await {
                    Some(Ok(Some((batch, held)))) => {
                        let batch = batch
                            .with_schema(shared.schema.clone())
                            .map_err(|e| Error::decode(format!("UNLOAD file {}: {e}", self.uri)))?;
                        if self.tx.send(Ok(Some((batch, held)))).await.is_err() {
                            return Ok(()); // the consumer is gone
                        }
                    }
                    Some(Ok(None)) => break, // the row group is complete
                    Some(Err(e)) => return Err(e),
                    None => return Err(Error::decode(format!("reading UNLOAD file {}: a row group's reader stopped early", self.uri))),
                }
            }
        }
    }
}

/// A batch of a row group, with its share of the decoded budget.
type Decoded = Result<Option<(RecordBatch, Option<OwnedSemaphorePermit>)>>;

/// Reads row group `group` of file `index` on a task of its own, holding `held` (its share of
/// the in-flight budget) until done; each batch takes its share of the decoded budget before it
/// is sent (so that decoded batches waiting anywhere, in this task's channel or the file's, count
/// against it); sends its batches, then `None` once complete (a reader that stops without it
/// failed).
fn spawn_row_group(
    shared: Arc<Shared>,
    index: usize,
    reader: S3ParquetReader,
    metadata: ArrowReaderMetadata,
    group: usize,
    held: (Option<Held>, Arc<Held>),
    uri: &str,
) -> mpsc::Receiver<Decoded> {
    // Two batches ahead: the file being read (which takes no share of the decoded budget) decodes
    // at most that far ahead of the consumer; the others also wait for their share.
    let (tx, rx) = mpsc::channel(2);
    let uri = uri.to_owned();
    tokio::spawn(async move {
        let _held = held;
        let parquet_err =
            |e: ParquetError| Error::Storage { uri: uri.clone(), message: "cannot decode Parquet".into(), source: Some(Box::new(e)) };
        let read = async {
            let mut stream = ParquetRecordBatchStreamBuilder::new_with_metadata(reader, metadata)
                .with_row_groups(vec![group])
                .with_batch_size(BATCH_ROWS)
                .build()
                .map_err(parquet_err)?;
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(parquet_err)?;
                let decoded = shared.share(&shared.decoded, batch.get_array_memory_size() as u64, index).await;
                if tx.send(Ok(Some((batch, decoded)))).await.is_err() {
                    return Ok(()); // the file's reader is gone
                }
            }
            let _ = tx.send(Ok(None)).await;
            Ok::<_, Error>(())
        };
        match std::panic::AssertUnwindSafe(read).catch_unwind().await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let _ = tx.send(Err(e)).await;
            }
            Err(_) => {
                let _ = tx.send(Err(Error::decode(format!("reading UNLOAD file {uri}: the row group reader panicked")))).await;
            }
        }
    });
    rx
}

/// Takes the files' batches in file order.
struct Consumer {
    order: mpsc::Receiver<Next>,
    current: Option<(usize, mpsc::Receiver<Item>)>,
    front: watch::Sender<usize>,
    done: bool,
}

impl Consumer {
    async fn next(&mut self) -> Option<Result<RecordBatch>> {
        loop {
            if self.done {
                return None;
            }
            let Some((index, file)) = &mut self.current else {
                match self.order.recv().await {
                    Some(Next::File(index, rx, ahead)) => {
                        self.front.send_replace(index);
                        give_back(&ahead);
                        self.current = Some((index, rx));
                        continue;
                    }
                    Some(Next::End) => {
                        self.done = true;
                        return None;
                    }
                    None => {
                        self.done = true;
                        return Some(Err(Error::decode("reading UNLOAD files: the scheduler stopped before every file was read")));
                    }
                }
            };
            match file.recv().await {
                // The batch's share of the decoded budget is released as it is handed over.
                Some(Ok(Some((batch, _held)))) => return Some(Ok(batch)),
                Some(Ok(None)) => self.current = None,
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
                None => {
                    self.done = true;
                    return Some(Err(Error::decode(format!("reading UNLOAD file {}: its reader stopped early", *index + 1))));
                }
            }
        }
    }
}
