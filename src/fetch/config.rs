//! How result objects are read: the settings of the fetch step ([`FetchConfig`]) and the byte
//! budget its concurrent readers share.

/// How result objects are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchConfig {
    /// Bytes per ranged GET of a result CSV. Default 4 MiB: with [`concurrency`](Self::concurrency)
    /// GETs in flight, as fast as 8 MiB ones at S3's shape (30 ms first byte, 80 MB/s per
    /// connection: a 534 MB CSV in 0.88 s against 0.86-0.93 s) for half the memory in flight
    /// (peak heap while streaming 83-92 MB against 123-167 MB;
    /// `benches/results/fast_path-s3shape-2026-12-07-*`).
    pub chunk_size: u64,
    /// Ranged GETs of a result CSV in flight at once (and of a DuckDB result stream). Default 16
    /// per core, 16 to 32: a core decodes about 1 GB/s of CSV, and at S3's shape (30 ms first
    /// byte, 80 MB/s) a 4 MiB GET averages 51 MB/s, its first-byte wait counted; data in flight
    /// is bounded by `chunk_size * concurrency` (128 MiB at 32). On 2 cores at S3's shape, 32
    /// read a 534 MB result CSV in 0.685 s against 0.89-0.91 s with 16 (peak heap while
    /// streaming 151 against 83 MB), and 16 in 0.86-1.16 s against 1.37 s with 8 when a core
    /// decoded 0.65-0.8 GB/s (2026-12-07).
    pub concurrency: usize,
    /// Attempts per range when the body is cut or short (the SDK retries failed requests itself).
    /// Default 5.
    pub max_attempts: u32,
    /// Bytes per ranged request of a DuckDB result stream (GetQueryResultStream), `concurrency`
    /// of them in flight (with one more waiting to be decoded). Default 8 MiB. Each request
    /// waits a first-byte latency, so longer ranges keep a connection busier (at 30 ms and
    /// 80 MB/s, 16 MiB ranges transfer 87% of the time, 8 MiB ones 78%) for twice the memory;
    /// measured on 2 cores (benches/results/duckdb_stream-2026-12-04-b.txt) 16 MiB read 3% faster.
    pub stream_range_size: u64,
    /// Bytes of UNLOAD data files fetched and not yet decoded, across all files: each file's
    /// first request and each row group fetched after it hold their size of this budget until
    /// decoded, so few large row groups or many small files alike fill it, and memory stays
    /// bounded whatever the file count or row-group size. Files are handed over in order: files
    /// read ahead of the one being consumed hold at most half of it (their bytes wait for their
    /// turn), the rest is the current file's. A row group larger than the budget is read alone.
    /// Default 48 MiB per core, at least 96 MiB: room for three row groups of 25-33 MB (the
    /// endpoint's 1 M rows) while the first decodes.
    pub unload_bytes_in_flight: u64,
    /// Bytes of decoded batches waiting for the consumer. Default 16 MiB per core, at least
    /// 32 MiB.
    pub decoded_bytes_buffered: u64,
    /// Bytes of a result CSV per partition ([`crate::QueryHandle::wait_partitions`]): a larger
    /// CSV is cut into byte ranges, each read and decoded on its own (its records found from its
    /// bytes). Default 64 MiB; 0 keeps the CSV one partition.
    pub csv_partition_bytes: u64,
}

impl Default for FetchConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
        Self {
            chunk_size: 4 << 20,
            concurrency: (16 * cores as usize).clamp(16, 32),
            max_attempts: 5,
            stream_range_size: 8 << 20,
            unload_bytes_in_flight: (cores * (48 << 20)).max(96 << 20),
            decoded_bytes_buffered: (cores * (16 << 20)).max(32 << 20),
            csv_partition_bytes: 64 << 20,
        }
    }
}

/// A budget of bytes shared by concurrent readers, counted in KiB permits of a semaphore.
#[derive(Debug, Clone)]
pub(crate) struct ByteBudget {
    permits: std::sync::Arc<tokio::sync::Semaphore>,
    capacity: u32,
}

impl ByteBudget {
    pub(crate) fn new(bytes: u64) -> Self {
        let capacity = u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX >> 4).clamp(1, u32::MAX >> 4);
        Self { permits: std::sync::Arc::new(tokio::sync::Semaphore::new(capacity as usize)), capacity }
    }

    /// Waits until `bytes` (at most the whole budget) are free and holds them until the permit
    /// is dropped.
    pub(crate) async fn acquire(&self, bytes: u64) -> tokio::sync::OwnedSemaphorePermit {
        let units = u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX).clamp(1, self.capacity);
        self.permits.clone().acquire_many_owned(units).await.expect("the budget is never closed")
    }

    /// As [`acquire`](Self::acquire) when `bytes` are free now, else `None`.
    pub(crate) fn try_acquire(&self, bytes: u64) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let units = u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX).clamp(1, self.capacity);
        self.permits.clone().try_acquire_many_owned(units).ok()
    }
}
