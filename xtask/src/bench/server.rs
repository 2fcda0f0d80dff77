//! The server under test: seeding, start-up with its readiness wait, its database URL, and its
//! memory as `/proc` reports it.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::client::Conn;
use super::scenarios::Backend;

pub(crate) const ADMIN_PASSWORD: &str = "Bench#Admin2026";

/// The server under test; killed when dropped.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) addr: String,
}

impl Server {
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn run_seed(
    binary: &Path,
    workdir: &Path,
    backend: &Backend,
    interventions: usize,
) -> Result<Duration, String> {
    let started = Instant::now();
    let mut cmd = Command::new(binary);
    cmd.current_dir(workdir)
        .env("ERP__ENVIRONMENT", "test")
        .env("ERP_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .args(["seed-demo", "--interventions", &interventions.to_string()]);
    for (k, v) in &backend.env {
        cmd.env(k, v);
        // Seeding commits hundreds of thousands of small transactions: on PostgreSQL, not
        // waiting for each WAL flush makes it about four times faster (the data is the same,
        // and a crash would only lose the benchmark's database).
        if k == "ERP__DATABASE__URL" && v.starts_with("postgres") {
            let sep = if v.contains('?') { '&' } else { '?' };
            cmd.env(k, format!("{v}{sep}options=-c%20synchronous_commit%3Doff"));
        }
    }
    let out = cmd.output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "seed-demo failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(started.elapsed())
}

/// A port that was free a moment ago (the server must listen on a known port from its first
/// instant, so that the start-up time is measured from the spawn).
fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

/// Starts the server (test environment with access logs at `info` as in production, a rate
/// limit no benchmark reaches, plus the backend's environment) and waits for the first 200 on
/// `/ready`; returns it with the time from spawn to that answer.
pub(crate) fn start_with(
    binary: &Path,
    workdir: &Path,
    backend: &Backend,
) -> Result<(Server, Duration), String> {
    let port = free_port()?;
    let stderr_path = workdir.join("server.stderr");
    let stderr = std::fs::File::create(&stderr_path).map_err(|e| e.to_string())?;
    let mut cmd = Command::new(binary);
    cmd.current_dir(workdir)
        .env("ERP__ENVIRONMENT", "test")
        .env("ERP__SERVER__HOST", "127.0.0.1")
        .env("ERP__SERVER__PORT", port.to_string())
        .env("ERP__LOG__LEVEL", "info")
        .env("ERP__LOG__FORMAT", "json")
        .env("ERP__RATE_LIMIT__REQUESTS_PER_MINUTE", "1000000000")
        .env("ERP_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
    for (k, v) in &backend.env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let child = cmd.spawn().map_err(|e| e.to_string())?;
    let mut server = Server {
        child,
        addr: format!("127.0.0.1:{port}"),
    };
    loop {
        if let Ok(mut conn) = Conn::open(&server.addr)
            && let Ok((200, _)) = conn.request("GET", "/ready", &[], "")
        {
            return Ok((server, started.elapsed()));
        }
        let exited = server.child.try_wait().map_err(|e| e.to_string())?;
        if exited.is_some() || started.elapsed() > Duration::from_secs(120) {
            let log = std::fs::read_to_string(&stderr_path).unwrap_or_default();
            return Err(format!(
                "the server did not become ready ({exited:?}): {}",
                log.trim()
            ));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The URL of the benchmark's database `name`, on the server of `admin_url`, with its options.
/// On a loopback host, without an explicit `sslmode`, TLS is turned off (`sslmode=disable`):
/// libpq's default (`prefer`) would encrypt every statement between two processes of this
/// machine, which a deployment would not do (same host: a Unix socket) and which measured
/// about a fifth of PostgreSQL reads' throughput. An explicit `sslmode` is kept.
pub(crate) fn database_url(admin_url: &str, name: &str) -> String {
    let (base, query) = admin_url.split_once('?').unwrap_or((admin_url, ""));
    let server = base.rsplit_once('/').map_or(base, |(b, _)| b);
    let authority = server.split_once("://").map_or(server, |(_, rest)| rest);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map_or(v6, |(h, _)| h),
        None => host_port.split_once(':').map_or(host_port, |(h, _)| h),
    };
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let mut options: Vec<&str> = query.split('&').filter(|o| !o.is_empty()).collect();
    if loopback && !options.iter().any(|o| o.starts_with("sslmode=")) {
        options.push("sslmode=disable");
    }
    if options.is_empty() {
        format!("{server}/{name}")
    } else {
        format!("{server}/{name}?{}", options.join("&"))
    }
}

/// A `/proc/<pid>/status` field in KiB.
pub(crate) fn status_kib(pid: u32, field: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The peak resident memory of a process over one scenario: VmHWM reset at the start
/// (`clear_refs` 5, when the kernel lets us) and VmRSS sampled every 50 ms, whichever is higher.
pub(crate) struct PeakRss {
    pid: u32,
    hwm_reset: bool,
    stop: Arc<AtomicBool>,
    sampler: std::thread::JoinHandle<u64>,
}

impl PeakRss {
    pub(crate) fn start(pid: u32) -> Self {
        let hwm_reset = std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let sampler = std::thread::spawn(move || {
            let mut peak = 0;
            while !flag.load(Ordering::Relaxed) {
                peak = peak.max(status_kib(pid, "VmRSS").unwrap_or(0));
                std::thread::sleep(Duration::from_millis(50));
            }
            peak.max(status_kib(pid, "VmRSS").unwrap_or(0))
        });
        Self {
            pid,
            hwm_reset,
            stop,
            sampler,
        }
    }

    /// KiB.
    pub(crate) fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let sampled = self.sampler.join().unwrap_or(0);
        let hwm = if self.hwm_reset {
            status_kib(self.pid, "VmHWM").unwrap_or(0)
        } else {
            0
        };
        sampled.max(hwm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bench_database_keeps_the_options_and_drops_tls_on_loopback() {
        for (admin, expected) in [
            (
                "postgres://postgres@127.0.0.1:5432/test",
                "postgres://postgres@127.0.0.1:5432/erp_bench_1?sslmode=disable",
            ),
            (
                "postgres://u:p@localhost/test?connect_timeout=3",
                "postgres://u:p@localhost/erp_bench_1?connect_timeout=3&sslmode=disable",
            ),
            (
                "postgresql://u@[::1]:5433/test",
                "postgresql://u@[::1]:5433/erp_bench_1?sslmode=disable",
            ),
            // An explicit choice is kept; a remote server keeps libpq's default.
            (
                "postgres://u@127.0.0.1/test?sslmode=require",
                "postgres://u@127.0.0.1/erp_bench_1?sslmode=require",
            ),
            (
                "postgres://u@db.example:5432/test",
                "postgres://u@db.example:5432/erp_bench_1",
            ),
            (
                "postgres://u@10.0.0.7/test?sslmode=verify-full",
                "postgres://u@10.0.0.7/erp_bench_1?sslmode=verify-full",
            ),
        ] {
            assert_eq!(database_url(admin, "erp_bench_1"), expected, "{admin}");
        }
    }

    #[test]
    fn the_peak_rss_of_this_process_is_read() {
        let pid = std::process::id();
        let rss = PeakRss::start(pid);
        let peak = rss.finish();
        assert!(peak > 0);
        assert!(status_kib(pid, "VmRSS").is_some());
        assert!(status_kib(pid, "NoSuchField").is_none());
    }
}
