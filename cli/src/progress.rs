//! Progress on stderr while a query waits and while its result downloads (indicatif); nothing
//! when disabled (`-q`, or stderr is not a terminal).

use std::time::Duration;

use athena_arrow::QueryInfo;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn new(enabled: bool) -> Self {
        let bar = enabled.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("valid template"));
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Self { bar }
    }

    pub fn waiting(&self, query_id: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("query {query_id} submitted"));
        }
    }

    pub fn state(&self, info: &QueryInfo, elapsed: Duration) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!(
                "query {} {:?} {:.1} s, scanned {:.1} MB",
                info.query_id,
                info.state,
                elapsed.as_secs_f64(),
                info.data_scanned_bytes.unwrap_or(0) as f64 / 1e6
            ));
        }
    }

    /// `total`: the rows Athena says the result has, when known.
    pub fn fetching(&self, rows: u64, total: Option<u64>, bytes: u64, elapsed: Duration) {
        if let Some(bar) = &self.bar {
            let secs = elapsed.as_secs_f64().max(1e-9);
            let rows = match total {
                Some(t) if t > 0 => format!("{rows} of {t} rows ({:.0}%)", rows as f64 * 100.0 / t as f64),
                _ => format!("{rows} rows"),
            };
            bar.set_message(format!("{rows}, {:.1} MB, {:.1} MB/s", bytes as f64 / 1e6, bytes as f64 / 1e6 / secs));
        }
    }

    /// Runs `f` (which writes to the terminal) with the progress line hidden.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    pub fn clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
