//! What the library's benches share: a heap counter for their memory figures and an S3 client
//! of the local endpoint.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use athena_emulator::Emulator;

/// Counts live heap bytes and their peak (resettable), for the memory figures.
struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Starts a peak measurement: the live heap now, from which [`peak_since`] counts.
pub fn heap_mark() -> usize {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    base
}

/// Heap bytes at the peak since [`heap_mark`] returned `base`, above `base`.
pub fn peak_since(base: usize) -> usize {
    PEAK.load(Ordering::Relaxed).saturating_sub(base)
}

/// An S3 client (path-style) with the endpoint's keys.
pub fn s3_client(emulator: &Emulator) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version_latest()
            .region(aws_sdk_s3::config::Region::new(emulator.region().to_owned()))
            .endpoint_url(emulator.endpoint())
            .force_path_style(true)
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                emulator.access_key_id(),
                emulator.secret_access_key(),
                None,
                None,
                "bench",
            ))
            .build(),
    )
}

/// CPU seconds this process has used, in all and in the endpoint's threads (those named
/// `endpoint*` or `athena-engine*`): the benches run the endpoint in-process on the same cores as
/// the client, and print both so that a figure says what bounded it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu {
    pub total: f64,
    pub endpoint: f64,
}

impl Cpu {
    /// Reads the counters now (Linux `/proc`; zeros elsewhere). A thread's time stays counted
    /// after it ends (the endpoint's blocking threads end when idle): each endpoint thread seen,
    /// by id and start time, keeps the last time read from it.
    pub fn now() -> Self {
        static SEEN: std::sync::Mutex<Option<std::collections::HashMap<(String, String), f64>>> = std::sync::Mutex::new(None);
        let tick = 100.0; // USER_HZ: clock ticks per second of /proc's counters on Linux
        // Fields after the command (which may hold spaces) in parentheses: utime is the 14th
        // field of the line, stime the 15th, starttime the 22nd.
        let fields =
            |stat: &str| -> Vec<String> { stat.rsplit_once(')').map_or("", |(_, r)| r).split_whitespace().map(str::to_owned).collect() };
        let times = |f: &[String]| -> f64 {
            let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
            (t(11) + t(12)) / tick
        };
        let total = std::fs::read_to_string("/proc/self/stat").map(|s| times(&fields(&s))).unwrap_or(0.0);
        let mut seen = SEEN.lock().unwrap();
        let seen = seen.get_or_insert_with(Default::default);
        if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
            for task in tasks.flatten() {
                let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
                if !(comm.starts_with("endpoint") || comm.starts_with("athena-engine")) {
                    continue;
                }
                if let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) {
                    let f = fields(&stat);
                    let id = (task.file_name().to_string_lossy().into_owned(), f.get(19).cloned().unwrap_or_default());
                    seen.insert(id, times(&f));
                }
            }
        }
        Self { total, endpoint: seen.values().sum() }
    }

    /// Prints `[N runs: <spread_of> S s; CPU per run: client C s, endpoint E s]`: the spread of
    /// `repeat` runs started at `self`, and the CPU the client and the endpoint used per run since.
    pub fn report(&self, repeat: usize, spread_of: &str, spread: f64) {
        let (client, endpoint) = Cpu::now().since(self);
        let n = repeat as f64;
        println!("    [{repeat} runs: {spread_of} {spread:.3} s; CPU per run: client {:.2} s, endpoint {:.2} s]", client / n, endpoint / n);
    }

    /// CPU used since `earlier`: (client, endpoint) seconds.
    pub fn since(&self, earlier: &Cpu) -> (f64, f64) {
        let endpoint = self.endpoint - earlier.endpoint;
        (self.total - earlier.total - endpoint, endpoint)
    }
}

/// Starts `builder`'s endpoint on a runtime of its own whose threads are named `endpoint` (kept
/// alive for the whole run, so that [`Cpu`] counts every thread's time), apart from the client's.
pub fn start_endpoint(builder: athena_emulator::EmulatorBuilder) -> (Emulator, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_name("endpoint")
        .thread_keep_alive(std::time::Duration::from_secs(3600))
        .enable_all()
        .build()
        .expect("the endpoint's runtime starts");
    let emulator =
        std::thread::scope(|s| s.spawn(|| runtime.block_on(builder.start())).join()).expect("no panic").expect("the endpoint starts");
    (emulator, runtime)
}

/// The median of `v` and its spread (max - min).
pub fn median_spread(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[v.len() - 1] - v[0])
}
