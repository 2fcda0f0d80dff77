//! The metrics recorder's histograms do not grow with the number of requests while nothing
//! scrapes `/metrics`: the upkeep thread folds their samples (alone in its process, since it
//! measures the process's resident memory).

#![cfg(target_os = "linux")]
#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions: failing loudly is the point"
)]

use std::time::{Duration, Instant};

/// Resident memory of this process, in bytes.
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// Waits until the upkeep thread has run a full upkeep that started after this call.
fn wait_for_upkeep() {
    let seen = erp_http::metrics::upkeeps();
    let deadline = Instant::now() + Duration::from_secs(30);
    while erp_http::metrics::upkeeps() < seen + 2 {
        assert!(Instant::now() < deadline, "no upkeep in 30 s");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn unscraped_histograms_stay_bounded() {
    erp_http::metrics::install_with_upkeep(Duration::from_millis(5)).unwrap();
    const CHUNKS: usize = 20;
    const PER_CHUNK: usize = 100_000;
    // Warm up: the series exist and the allocator has its working set.
    for _ in 0..PER_CHUNK {
        erp_http::metrics::record_request("GET", "/live", 200, Duration::from_micros(300));
    }
    wait_for_upkeep();
    let before = rss_bytes();
    for _ in 0..CHUNKS {
        for _ in 0..PER_CHUNK {
            erp_http::metrics::record_request("GET", "/live", 200, Duration::from_micros(300));
        }
        wait_for_upkeep();
    }
    let grown = rss_bytes().saturating_sub(before);
    // 2 000 000 unfolded samples hold about 33 MB (measured: 16 bytes each with their queue);
    // folded after each chunk, at most one chunk's (about 1.6 MB) is pending at a time.
    assert!(
        grown < 8 * 1024 * 1024,
        "resident memory grew by {grown} bytes over {} requests",
        CHUNKS * PER_CHUNK
    );
    let rendered = erp_http::metrics::handle().unwrap().render();
    let count: usize = rendered
        .lines()
        .find(|l| l.starts_with("http_request_duration_seconds_count"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    // Folded, not dropped. Not exactly every one: metrics-util's AtomicBucket can lose a sample
    // pushed while the upkeep thread swaps its blocks out (seen on a loaded machine: 17 of
    // 2 100 000). A fold that dropped samples wholesale, or counted them twice, fails here.
    let recorded = (CHUNKS + 1) * PER_CHUNK;
    assert!(
        count <= recorded && count >= recorded - recorded / 10_000,
        "every sample is counted (within the upstream race): {count} of {recorded}"
    );
}
