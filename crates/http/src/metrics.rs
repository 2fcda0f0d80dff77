//! Prometheus metrics (D12, API.md §3.1): the recorder behind the `metrics` facade, the HTTP
//! families recorded by the request middleware, and `/metrics` — which also samples the pool,
//! refreshes `interventions_current` at most every 60 s, and appends the process families.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Buckets for latencies of an API whose p99 is in milliseconds (seconds).
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// How often the recorder folds the samples its histograms received into their buckets.
///
/// A histogram keeps every recorded sample in a queue until it is folded, which only a scrape
/// or an explicit upkeep does: with nothing scraping `/metrics`, the process grew by about
/// 20 bytes a request on `/live` and 65 on a read by id (two statements), 0.7–0.8 MB a second
/// under load (docs/benchmarks.md). Once a second bounds the queue to a second's samples.
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(1);

/// Upkeeps run so far by the thread [`install`] starts.
static UPKEEPS: AtomicU64 = AtomicU64::new(0);

/// Installs the process-wide recorder once, with a thread that runs its upkeep every
/// [`UPKEEP_INTERVAL`], and returns its handle; `None` if another recorder was installed
/// first (then `/metrics` answers 503).
pub fn install() -> Option<PrometheusHandle> {
    install_with_upkeep(UPKEEP_INTERVAL)
}

/// [`install`] with another upkeep interval (tests); the first call in the process decides.
pub fn install_with_upkeep(every: Duration) -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let built = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .and_then(PrometheusBuilder::install_recorder);
            match built {
                Ok(handle) => {
                    start_upkeep(handle.clone(), every);
                    Some(handle)
                }
                Err(e) => {
                    tracing::error!(error = %e, "metrics recorder not installed");
                    None
                }
            }
        })
        .clone()
}

/// The recorder is the process's for its whole life, and so is the thread that keeps it.
fn start_upkeep(handle: PrometheusHandle, every: Duration) {
    let started = std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(every);
                handle.run_upkeep();
                UPKEEPS.fetch_add(1, Ordering::Relaxed);
            }
        });
    if let Err(e) = started {
        // Scrapes still fold the samples; only an unscraped process would grow.
        tracing::error!(error = %e, "metrics upkeep thread not started");
    }
}

/// How many upkeeps the recorder's thread has run (diagnostics and tests).
#[must_use]
pub fn upkeeps() -> u64 {
    UPKEEPS.load(Ordering::Relaxed)
}

/// The installed recorder's handle, if [`install`] ran (metrics enabled).
#[must_use]
pub fn handle() -> Option<PrometheusHandle> {
    HANDLE.get().cloned().flatten()
}

/// Whether a recorder is installed (metrics enabled): without one, the request middleware
/// skips the route lookup and label building altogether.
#[must_use]
pub fn enabled() -> bool {
    HANDLE.get().is_some_and(Option::is_some)
}

/// The label of a request's route: its template, or `unmatched`.
#[must_use]
pub fn endpoint_label(pattern: Option<&str>) -> &str {
    pattern.unwrap_or("unmatched")
}

/// Records one finished request.
pub fn record_request(method: &str, endpoint: &str, status: u16, elapsed: Duration) {
    metrics::counter!(
        "http_requests_total",
        "method" => method.to_owned(),
        "endpoint" => endpoint.to_owned(),
        "status_code" => status.to_string()
    )
    .increment(1);
    metrics::histogram!(
        "http_request_duration_seconds",
        "method" => method.to_owned(),
        "endpoint" => endpoint.to_owned()
    )
    .record(elapsed.as_secs_f64());
}

/// `http_requests_in_progress` up (on creation) and down (on drop).
#[derive(Debug)]
pub struct InFlight(metrics::Gauge);

impl InFlight {
    /// Counts a request in.
    #[must_use]
    pub fn start(method: &str, endpoint: &str) -> Self {
        let g = metrics::gauge!(
            "http_requests_in_progress",
            "method" => method.to_owned(),
            "endpoint" => endpoint.to_owned()
        );
        g.increment(1.0);
        Self(g)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// When `interventions_current` was last refreshed.
static CURRENT_REFRESHED: Mutex<Option<Instant>> = Mutex::new(None);

/// Whether `interventions_current` is due for a refresh (and marks it refreshed).
pub fn interventions_current_due(every: Duration) -> bool {
    let Ok(mut last) = CURRENT_REFRESHED.lock() else {
        return false;
    };
    if last.is_some_and(|t| t.elapsed() < every) {
        return false;
    }
    *last = Some(Instant::now());
    true
}

/// The process families, in the Prometheus text format (Linux: from `/proc/self`).
#[must_use]
pub fn process_families() -> String {
    let mut out = String::new();
    #[cfg(target_os = "linux")]
    {
        use std::fmt::Write as _;
        // Kernel clock ticks and page size of every Linux platform we ship on.
        const TICKS: f64 = 100.0;
        const PAGE: u64 = 4096;
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        // Fields after the command name (which may contain spaces) start after the last ')'.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let field = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        // utime and stime are fields 14 and 15 of stat; index 0 here is field 3.
        let cpu = u64_to_f64(field(11) + field(12)) / TICKS;
        let start_ticks = field(19);
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
        let rss_pages: u64 = statm
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let open_fds = std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count);
        let max_fds = std::fs::read_to_string("/proc/self/limits")
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .and_then(|l| l.split_whitespace().nth(3))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        let boot = std::fs::read_to_string("/proc/stat")
            .unwrap_or_default()
            .lines()
            .find_map(|l| {
                l.strip_prefix("btime ")
                    .and_then(|v| v.trim().parse::<u64>().ok())
            })
            .unwrap_or(0);
        let start = u64_to_f64(boot) + u64_to_f64(start_ticks) / TICKS;
        let _ = write!(
            out,
            "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n\
             # TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total {cpu}\n\
             # HELP process_resident_memory_bytes Resident memory size in bytes.\n\
             # TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes {}\n\
             # HELP process_open_fds Number of open file descriptors.\n\
             # TYPE process_open_fds gauge\nprocess_open_fds {open_fds}\n\
             # HELP process_max_fds Maximum number of open file descriptors.\n\
             # TYPE process_max_fds gauge\nprocess_max_fds {max_fds}\n\
             # HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n\
             # TYPE process_start_time_seconds gauge\nprocess_start_time_seconds {start}\n",
            rss_pages * PAGE,
        );
    }
    out
}

#[cfg(target_os = "linux")]
#[expect(
    clippy::cast_precision_loss,
    reason = "tick and second counts stay far below 2^52"
)]
const fn u64_to_f64(v: u64) -> f64 {
    v as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_families_are_well_formed() {
        let text = process_families();
        #[cfg(target_os = "linux")]
        for name in [
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_open_fds",
            "process_max_fds",
            "process_start_time_seconds",
        ] {
            let line = text
                .lines()
                .find(|l| l.starts_with(&format!("{name} ")))
                .unwrap_or_else(|| panic!("{name} missing:\n{text}"));
            let value: f64 = line[name.len() + 1..].parse().unwrap();
            assert!(value >= 0.0, "{line}");
        }
    }

    #[test]
    fn the_refresh_of_current_counts_is_rate_limited() {
        // A zero period is always due, and marks the refresh; right after it, a minute's
        // period is not due.
        assert!(interventions_current_due(Duration::ZERO));
        assert!(
            !interventions_current_due(Duration::from_secs(60)),
            "just refreshed"
        );
    }
}
