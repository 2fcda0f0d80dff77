//! `cargo xtask bench`: the benchmark harness. Seeds a fresh database through the use cases,
//! starts the release binary on it, drives every scenario over loopback with `wrk` and the Lua
//! scripts of xtask/bench/, and measures a constant actix-web handler (`bench-ceiling`) as the
//! ceiling the scenarios are compared with. Also `cargo xtask bench observability`, and the
//! keep-alive HTTP/1.1 client that `cargo xtask load-test` shares.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

mod documents;
mod scale;

pub use documents::run as documents;
pub use scale::run as scale;

const ADMIN_PASSWORD: &str = "Bench#Admin2026";

/// The server under test; killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A keep-alive HTTP/1.1 connection.
pub(crate) struct Conn {
    stream: BufReader<TcpStream>,
}

impl Conn {
    pub(crate) fn open(addr: &str) -> Result<Self, String> {
        let stream = TcpStream::connect(addr).map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(|e| e.to_string())?;
        Ok(Self {
            stream: BufReader::new(stream),
        })
    }

    /// Sends one request and reads the whole response; returns the status and body.
    pub(crate) fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Result<(u16, String), String> {
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        req.push_str(body);
        self.stream
            .get_mut()
            .write_all(req.as_bytes())
            .map_err(|e| e.to_string())?;
        let mut status_line = String::new();
        self.stream
            .read_line(&mut status_line)
            .map_err(|e| e.to_string())?;
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or("bad status line")?;
        let mut length = 0_usize;
        loop {
            let mut line = String::new();
            self.stream
                .read_line(&mut line)
                .map_err(|e| e.to_string())?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0_u8; length];
        self.stream
            .read_exact(&mut body)
            .map_err(|e| e.to_string())?;
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round();
    let index = usize::try_from(rank as u64)
        .unwrap_or(0)
        .min(sorted.len() - 1);
    sorted[index]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1_000.0)
}

/// Runs `clients` threads doing `work` until `duration` is over; returns every latency and
/// the number of errors.
fn load(
    addr: &str,
    clients: usize,
    duration: Duration,
    work: impl Fn(&mut Conn, usize) -> Result<bool, String> + Send + Sync + 'static,
) -> Result<(Vec<Duration>, u64), String> {
    let (mut latencies, errors) =
        load_tagged(addr, clients, duration, 1, move |c, i| (0, work(c, i)))?;
    Ok((latencies.swap_remove(0), errors[0]))
}

/// Runs `clients` keep-alive connections, each on its own thread, doing `work` until
/// `duration` is over. `work` returns which of the `kinds` request kinds it made and whether it
/// succeeded; the result is the sorted latencies of the successes and the error count, per kind.
/// A failed request reopens its connection (the server may have closed it).
pub(crate) fn load_tagged(
    addr: &str,
    clients: usize,
    duration: Duration,
    kinds: usize,
    work: impl Fn(&mut Conn, usize) -> (usize, Result<bool, String>) + Send + Sync + 'static,
) -> Result<(Vec<Vec<Duration>>, Vec<u64>), String> {
    let work = Arc::new(work);
    let stop = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    for client in 0..clients {
        let (addr, work, stop) = (addr.to_owned(), Arc::clone(&work), Arc::clone(&stop));
        handles.push(std::thread::spawn(move || {
            let mut latencies = vec![Vec::new(); kinds];
            let mut errors = vec![0_u64; kinds];
            let Ok(mut conn) = Conn::open(&addr) else {
                errors[0] += 1;
                return (latencies, errors);
            };
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let (kind, outcome) = work(&mut conn, client * 1_000_000 + i);
                let kind = kind.min(kinds - 1);
                if let Ok(true) = outcome {
                    latencies[kind].push(started.elapsed());
                } else {
                    errors[kind] += 1;
                    if let Ok(c) = Conn::open(&addr) {
                        conn = c;
                    }
                }
                i += 1;
            }
            (latencies, errors)
        }));
    }
    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    let mut all = vec![Vec::new(); kinds];
    let mut all_errors = vec![0_u64; kinds];
    for h in handles {
        let (latencies, errors) = h.join().map_err(|_| "a load thread panicked".to_owned())?;
        for (kind, (l, e)) in latencies.into_iter().zip(errors).enumerate() {
            all[kind].extend(l);
            all_errors[kind] += e;
        }
    }
    for l in &mut all {
        l.sort();
    }
    Ok((all, all_errors))
}

fn login_body(username: &str, password: &str) -> String {
    serde_json::json!({"username": username, "password": password}).to_string()
}

fn run_seed(
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
fn start_with(
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

pub(crate) fn report_row(name: &str, latencies: &[Duration], errors: u64, seconds: f64) -> String {
    format!(
        "| {name} | {:.0} | {} | {} | {} | {errors} |\n",
        latencies.len() as f64 / seconds,
        ms(percentile(latencies, 50.0)),
        ms(percentile(latencies, 95.0)),
        ms(percentile(latencies, 99.0)),
    )
}

/// Accepts OTLP/HTTP exports on 127.0.0.1 and discards them (200), so tracing can be measured
/// with a real exporter talking to a real endpoint. Returns the port.
fn discarding_collector() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            std::thread::spawn(move || {
                let Ok(mut out) = stream.try_clone() else {
                    return;
                };
                let mut reader = BufReader::new(stream);
                loop {
                    let mut length = 0usize;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let l = line.trim_end();
                        if l.is_empty() {
                            break;
                        }
                        if let Some((k, v)) = l.split_once(':')
                            && k.eq_ignore_ascii_case("content-length")
                        {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err()
                        || out
                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                            .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    Ok(port)
}

/// The cost of observability on `GET /api/v1/interventions/{id}` (SQLite): metrics off and
/// tracing off, metrics on, then metrics on with every request traced (ratio 1.0) and
/// exported to a local OTLP endpoint.
pub fn observability(target: &Path, interventions: usize, seconds: u64) -> Result<String, String> {
    let binary = target.join("release/erp");
    let workdir = std::env::temp_dir().join(format!("erp-bench-obs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&workdir);
    std::fs::create_dir_all(&workdir).map_err(|e| e.to_string())?;
    let quiet = Backend {
        name: "SQLite",
        env: vec![],
    };
    run_seed(&binary, &workdir, &quiet, interventions)?;
    let collector = discarding_collector()?;
    let endpoint = format!("http://127.0.0.1:{collector}/v1/traces");
    let variants: [(&str, Vec<(String, String)>); 3] = [
        (
            "metrics off, tracing off",
            vec![
                ("ERP__METRICS__ENABLED".into(), "false".into()),
                ("ERP__SCHEDULER__ENABLED".into(), "false".into()),
            ],
        ),
        (
            "metrics on, tracing off",
            vec![("ERP__SCHEDULER__ENABLED".into(), "false".into())],
        ),
        (
            "metrics on, tracing on (ratio 1.0, exported over OTLP/HTTP)",
            vec![
                ("ERP__SCHEDULER__ENABLED".into(), "false".into()),
                ("ERP__TRACING__ENABLED".into(), "true".into()),
                ("ERP__TRACING__ENDPOINT".into(), endpoint),
                ("ERP__TRACING__SAMPLING_RATIO".into(), "1.0".into()),
            ],
        ),
    ];
    let n = interventions.max(1);
    let mut rows = String::new();
    let mut baseline = None;
    for (name, env) in variants {
        let backend = Backend {
            name: "SQLite",
            env,
        };
        let (server, _) = start_with(&binary, &workdir, &backend)?;
        let addr = server.addr.clone();
        let mut conn = Conn::open(&addr)?;
        let (status, body) = conn.request(
            "POST",
            "/api/v1/auth/token",
            &[("Content-Type", "application/json")],
            &login_body("demo.responsable", "Demo#Responsable2026"),
        )?;
        if status != 200 {
            return Err(format!("login failed: {status} {body}"));
        }
        let v: serde_json::Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
        let header = format!("Bearer {}", v["access_token"].as_str().unwrap_or_default());
        let duration = Duration::from_secs(seconds);
        // Warm-up, then the measured phase.
        let h = header.clone();
        load(&addr, 32, Duration::from_secs(2), move |c, i| {
            let id = (i.wrapping_mul(2_654_435_761) % n) + 1;
            c.request(
                "GET",
                &format!("/api/v1/interventions/{id}"),
                &[("Authorization", h.as_str())],
                "",
            )
            .map(|(s, _)| s == 200)
        })?;
        let h = header.clone();
        let (latencies, errors) = load(&addr, 32, duration, move |c, i| {
            let id = (i.wrapping_mul(2_654_435_761) % n) + 1;
            c.request(
                "GET",
                &format!("/api/v1/interventions/{id}"),
                &[("Authorization", h.as_str())],
                "",
            )
            .map(|(s, _)| s == 200)
        })?;
        drop(server);
        let rps = latencies.len() as f64 / duration.as_secs_f64();
        let overhead = match baseline {
            None => {
                baseline = Some(rps);
                "—".to_owned()
            }
            Some(base) => format!("{:+.1} %", (base - rps) / base * 100.0),
        };
        rows.push_str(&format!(
            "| {name} | {rps:.0} | {} | {} | {errors} | {overhead} |\n",
            ms(percentile(&latencies, 50.0)),
            ms(percentile(&latencies, 99.0)),
        ));
    }
    let _ = std::fs::remove_dir_all(&workdir);
    Ok(format!(
        "`GET /api/v1/interventions/{{id}}` (random ids, {interventions} interventions, SQLite), 32 keep-alive clients, {seconds} s after a 2 s warm-up; overhead = throughput lost against the first row.\n\n\
         | Variant | requests/s | p50 ms | p99 ms | errors | overhead |\n|---|---|---|---|---|---|\n{rows}\n"
    ))
}

// ---------------------------------------------------------------------------------------------
// The harness: `cargo xtask bench [--postgres URL] [--quick]`.

/// The filtered, sorted page of 50 of the scenarios and of the mixed workload.
const PAGE_OF_50: &str = "/api/v1/interventions?statut=ouverte,affectee,en_cours&priorite=urgente,haute,normale&sort=-date_creation&limit=50";
/// The account of the reads, creations and logins (sees every intervention).
const READER: (&str, &str) = ("demo.responsable", "Demo#Responsable2026");
/// The account of the lifecycle actions (an admin may act on any intervention).
const ACTOR: (&str, &str) = ("demo.admin", "Demo#Admin2026");
/// wrk threads and connections of every scenario.
const THREADS: usize = 2;
const CONNECTIONS: usize = 32;
/// At most this many interventions per lifecycle pool (the action rotates over them).
const POOL_CAP: usize = 2_000;

/// What one run measures.
#[derive(Debug, Clone)]
pub struct Options {
    /// Interventions seeded per backend.
    pub interventions: usize,
    /// Warm-up before each scenario.
    pub warmup: Duration,
    /// Measured duration of each scenario.
    pub duration: Duration,
    /// `--quick` (said in the report).
    pub quick: bool,
}

/// One backend of the harness.
#[derive(Debug)]
pub struct Backend {
    /// `SQLite` or `PostgreSQL`.
    pub name: &'static str,
    /// Extra environment for the server (database URL).
    pub env: Vec<(String, String)>,
}

/// One wrk run, as printed by `done()` of xtask/bench/lib.lua.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct WrkResult {
    requests: u64,
    seconds: f64,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    /// Non-2xx answers plus socket errors (connect, read, write, timeout).
    errors: u64,
    first_error: Option<String>,
}

impl WrkResult {
    fn rps(&self) -> f64 {
        if self.seconds > 0.0 {
            self.requests as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// Reads the `BENCH_RESULT key=value …` line (and the optional `BENCH_FIRST_ERROR` one).
fn parse_wrk(stdout: &str) -> Result<WrkResult, String> {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("BENCH_RESULT "))
        .ok_or_else(|| format!("no BENCH_RESULT line in wrk's output:\n{stdout}"))?;
    let mut fields = std::collections::BTreeMap::new();
    for pair in line.split_whitespace() {
        if let Some((k, v)) = pair.split_once('=') {
            let v: u64 = v
                .parse()
                .map_err(|_| format!("bad value in BENCH_RESULT: {pair}"))?;
            fields.insert(k, v);
        }
    }
    let get = |k: &str| {
        fields
            .get(k)
            .copied()
            .ok_or_else(|| format!("BENCH_RESULT has no {k}: {line}"))
    };
    let us = |k: &str| get(k).map(|v| v as f64 / 1_000.0);
    Ok(WrkResult {
        requests: get("requests")?,
        seconds: get("duration_us")? as f64 / 1e6,
        p50_ms: us("p50_us")?,
        p95_ms: us("p95_us")?,
        p99_ms: us("p99_us")?,
        errors: get("non2xx")? + get("socket_errors")?,
        first_error: stdout
            .lines()
            .find_map(|l| l.strip_prefix("BENCH_FIRST_ERROR "))
            .map(str::to_owned),
    })
}

/// A wrk load: script of xtask/bench/, target, shape and the script's environment.
#[derive(Debug, Clone)]
pub(crate) struct Load {
    script: &'static str,
    url: String,
    threads: usize,
    connections: usize,
    env: Vec<(String, String)>,
}

impl Load {
    fn command(&self, lua_dir: &Path, duration: Duration) -> Command {
        let mut cmd = Command::new("wrk");
        cmd.args([
            format!("-t{}", self.threads),
            format!("-c{}", self.connections),
            format!("-d{}s", duration.as_secs().max(1)),
            "--timeout".into(),
            "5s".into(),
            "-s".into(),
            lua_dir.join(self.script).display().to_string(),
            self.url.clone(),
        ])
        .env("BENCH_LUA_DIR", lua_dir)
        .env("BENCH_THREADS", self.threads.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    fn run(&self, lua_dir: &Path, duration: Duration) -> Result<WrkResult, String> {
        wait_wrk(self.command(lua_dir, duration).spawn())
    }
}

fn wait_wrk(child: std::io::Result<Child>) -> Result<WrkResult, String> {
    let out = child
        .and_then(Child::wait_with_output)
        .map_err(|e| format!("wrk: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "wrk failed ({}): {}{}",
            out.status,
            stdout,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    parse_wrk(&stdout)
}

/// A `/proc/<pid>/status` field in KiB.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
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
struct PeakRss {
    pid: u32,
    hwm_reset: bool,
    stop: Arc<AtomicBool>,
    sampler: std::thread::JoinHandle<u64>,
}

impl PeakRss {
    fn start(pid: u32) -> Self {
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
    fn finish(self) -> u64 {
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

/// What a row measures (the targets of issue 8 are checked per kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Ceiling,
    Live,
    ById,
    Page,
    Create,
    Lifecycle,
    Dashboard,
    Login,
    Mixed,
    ReadsDuringFlood,
}

/// One line of a backend's table.
#[derive(Debug)]
pub(crate) struct Row {
    kind: Kind,
    scenario: String,
    result: WrkResult,
    peak_rss_kib: u64,
}

/// Warm-up (its own environment: the lifecycle scenario warms up on another pool), then the
/// measured run with the server's peak RSS.
fn measure(
    lua_dir: &Path,
    pid: u32,
    kind: Kind,
    scenario: &str,
    load: &Load,
    warmup_env: Option<&[(String, String)]>,
    options: &Options,
) -> Result<Row, String> {
    crate::say(&format!("bench: {scenario}"));
    if !options.warmup.is_zero() {
        let mut warm = load.clone();
        if let Some(env) = warmup_env {
            warm.env.extend(env.iter().cloned());
        }
        warm.run(lua_dir, options.warmup)?;
    }
    let rss = PeakRss::start(pid);
    let result = load.run(lua_dir, options.duration);
    let peak_rss_kib = rss.finish();
    let result = result?;
    if let Some(e) = &result.first_error {
        crate::say(&format!(
            "bench: {scenario}: {} errors, first: {e}",
            result.errors
        ));
    }
    Ok(Row {
        kind,
        scenario: scenario.to_owned(),
        result,
        peak_rss_kib,
    })
}

fn login(addr: &str, (username, password): (&str, &str)) -> Result<String, String> {
    let mut conn = Conn::open(addr)?;
    let (status, body) = conn.request(
        "POST",
        "/api/v1/auth/token",
        &[("Content-Type", "application/json")],
        &login_body(username, password),
    )?;
    if status != 200 {
        return Err(format!("login as {username} failed: {status} {body}"));
    }
    let v: serde_json::Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
    v["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no access_token: {body}"))
}

/// The body of an authenticated GET that must answer 200.
fn get_body(addr: &str, token: &str, path: &str) -> Result<String, String> {
    let bearer = format!("Bearer {token}");
    let (status, body) =
        Conn::open(addr)?.request("GET", path, &[("Authorization", bearer.as_str())], "")?;
    if status != 200 {
        return Err(format!("GET {path}: {status} {body}"));
    }
    Ok(body)
}

fn get_json(addr: &str, token: &str, path: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(&get_body(addr, token, path)?).map_err(|e| format!("GET {path}: {e}"))
}

/// Ids of a collection, page after page (200 a page, at most `cap`).
fn ids(addr: &str, token: &str, path: &str, cap: usize) -> Result<Vec<i64>, String> {
    let mut all = Vec::new();
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let page = get_json(
            addr,
            token,
            &format!("{path}{sep}sort=id&limit=200&offset={}", all.len()),
        )?;
        let items = page.as_array().cloned().unwrap_or_default();
        all.extend(items.iter().filter_map(|i| i["id"].as_i64()));
        if items.len() < 200 || all.len() >= cap {
            all.truncate(cap);
            return Ok(all);
        }
    }
}

/// The ceiling: `bench-ceiling` serving `bytes` of constant JSON, under the same load.
pub fn ceiling(
    target: &Path,
    lua_dir: &Path,
    bytes: usize,
    options: &Options,
) -> Result<(Row, usize), String> {
    let mut child = Command::new(target.join("release/bench-ceiling"))
        .arg(bytes.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("bench-ceiling: {e}"))?;
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        BufReader::new(out)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
    }
    let server = Server {
        child,
        addr: line.trim().to_owned(),
    };
    let mut conn = Conn::open(&server.addr)?;
    let (status, body) = conn.request("GET", "/", &[], "")?;
    if status != 200 || body.len() != bytes {
        return Err(format!(
            "bench-ceiling answered {status} with {} bytes",
            body.len()
        ));
    }
    drop(conn);
    let load = Load {
        script: "static.lua",
        url: format!("http://{}/", server.addr),
        threads: THREADS,
        connections: CONNECTIONS,
        env: vec![],
    };
    let row = measure(
        lua_dir,
        server.pid(),
        Kind::Ceiling,
        &format!("ceiling: constant {bytes}-byte JSON (actix-web, no I/O)"),
        &load,
        None,
        options,
    )?;
    Ok((row, bytes))
}

/// Everything measured on one backend.
#[derive(Debug)]
pub struct BackendReport {
    name: &'static str,
    seeding: Duration,
    rows: Vec<Row>,
    idle_rss_kib: u64,
    startups: Vec<Duration>,
    flood_logins_per_s: f64,
}

/// Seeds `backend`, starts the server and runs every scenario; then restarts it on the same
/// database three times for the start-up time.
pub fn backend(
    target: &Path,
    lua_dir: &Path,
    backend: &Backend,
    options: &Options,
    ceiling_rows: &mut Option<(Row, usize)>,
) -> Result<BackendReport, String> {
    let binary = target.join("release/erp");
    let workdir =
        std::env::temp_dir().join(format!("erp-bench-{}-{}", backend.name, std::process::id()));
    let _ = std::fs::remove_dir_all(&workdir);
    std::fs::create_dir_all(&workdir).map_err(|e| e.to_string())?;
    let result = run_backend(
        target,
        &binary,
        &workdir,
        lua_dir,
        backend,
        options,
        ceiling_rows,
    );
    let _ = std::fs::remove_dir_all(&workdir);
    result
}

fn run_backend(
    target: &Path,
    binary: &Path,
    workdir: &Path,
    lua_dir: &Path,
    backend: &Backend,
    options: &Options,
    ceiling_rows: &mut Option<(Row, usize)>,
) -> Result<BackendReport, String> {
    crate::say(&format!(
        "bench: {}: seeding {} interventions through the use cases",
        backend.name, options.interventions
    ));
    let seeding = run_seed(binary, workdir, backend, options.interventions)?;
    if let Some((_, url)) = backend.env.iter().find(|(k, _)| k == "ERP__DATABASE__URL") {
        // Steady state: autovacuum would have cleaned the rows the seeding rewrote.
        let vacuumed = Command::new("psql")
            .args([url.as_str(), "-qc", "VACUUM ANALYZE"])
            .status()
            .map_err(|e| format!("psql: {e}"))?;
        if !vacuumed.success() {
            return Err("VACUUM ANALYZE failed".into());
        }
    }
    let (server, _) = start_with(binary, workdir, backend)?;
    std::thread::sleep(Duration::from_secs(1));
    let idle_rss_kib = status_kib(server.pid(), "VmRSS").unwrap_or(0);
    let addr = server.addr.clone();
    let url = |path: &str| format!("http://{addr}{path}");
    let reader = login(&addr, READER)?;
    let actor = login(&addr, ACTOR)?;

    // The data the scripts need, checked before any load.
    let n = options.interventions;
    let intervention_bytes = get_body(&addr, &reader, "/api/v1/interventions/1")?.len();
    get_body(&addr, &reader, &format!("/api/v1/interventions/{n}"))?;
    let equipements = ids(&addr, &reader, "/api/v1/equipements", 200)?;
    let en_cours = ids(
        &addr,
        &reader,
        "/api/v1/interventions?statut=en_cours",
        POOL_CAP,
    )?;
    let en_attente = ids(
        &addr,
        &reader,
        "/api/v1/interventions?statut=en_attente",
        POOL_CAP,
    )?;
    // Each wrk thread keeps its share of a pool queued, 16 connections drawing from it.
    if en_cours.len() < 100 || en_attente.len() < 100 || equipements.is_empty() {
        return Err(format!(
            "too little data for the lifecycle scenario ({} en_cours, {} en_attente, {} équipements): seed at least 1 000 interventions",
            en_cours.len(),
            en_attente.len(),
            equipements.len()
        ));
    }
    let write_ids = |name: &str, ids: &[i64]| -> Result<String, String> {
        let path = workdir.join(name);
        let text: String = ids.iter().map(|id| format!("{id}\n")).collect();
        std::fs::write(&path, text).map_err(|e| e.to_string())?;
        Ok(path.display().to_string())
    };
    let measured_pool = write_ids("en_cours.txt", &en_cours)?;
    let warmup_pool = write_ids("en_attente.txt", &en_attente)?;
    let equipement_list = equipements
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");

    // The ceiling is measured once, on the first backend, with a real intervention's size.
    if ceiling_rows.is_none() {
        *ceiling_rows = Some(ceiling(target, lua_dir, intervention_bytes, options)?);
    }

    let n_text = n.to_string();
    let login_json = login_body(READER.0, READER.1);
    let reading = env(&[("BENCH_TOKEN", reader.as_str())]);
    let load = |script: &'static str, path: &str, env: Vec<(String, String)>| Load {
        script,
        url: url(path),
        threads: THREADS,
        connections: CONNECTIONS,
        env,
    };
    let pid = server.pid();
    let mut rows = Vec::new();
    let mut run = |kind: Kind,
                   name: &str,
                   load: Load,
                   warmup: Option<Vec<(String, String)>>|
     -> Result<(), String> {
        rows.push(measure(
            lua_dir,
            pid,
            kind,
            name,
            &load,
            warmup.as_deref(),
            options,
        )?);
        Ok(())
    };
    run(
        Kind::Live,
        "`GET /live`",
        load("static.lua", "/live", vec![]),
        None,
    )?;
    run(
        Kind::ById,
        "`GET /api/v1/interventions/{id}` (random ids)",
        load(
            "by_id.lua",
            "/",
            env(&[
                ("BENCH_TOKEN", reader.as_str()),
                ("BENCH_MAX_ID", n_text.as_str()),
            ]),
        ),
        None,
    )?;
    run(
        Kind::Page,
        "filtered, sorted page of 50",
        load("static.lua", PAGE_OF_50, reading.clone()),
        None,
    )?;
    // The read scenarios run first, on the seeded (and, on PostgreSQL, vacuumed) data: right
    // after the write scenarios' tens of thousands of rows, before autovacuum has passed,
    // PostgreSQL's index-only scans go back to the heap (see docs/benchmarks.md).
    run(
        Kind::Dashboard,
        "`GET /api/v1/dashboard/stats`",
        load("static.lua", "/api/v1/dashboard/stats", reading),
        None,
    )?;
    run(
        Kind::Create,
        "`POST /api/v1/interventions`",
        load(
            "create.lua",
            "/",
            env(&[
                ("BENCH_TOKEN", reader.as_str()),
                ("BENCH_EQUIPEMENTS", equipement_list.as_str()),
            ]),
        ),
        None,
    )?;
    run(
        Kind::Lifecycle,
        "`POST /api/v1/interventions/{id}/suspendre` ↔ `reprendre`",
        load(
            "lifecycle.lua",
            "/",
            env(&[
                ("BENCH_TOKEN", actor.as_str()),
                ("BENCH_IDS_FILE", measured_pool.as_str()),
                ("BENCH_FIRST_ACTION", "suspendre"),
            ]),
        ),
        Some(env(&[
            ("BENCH_IDS_FILE", warmup_pool.as_str()),
            ("BENCH_FIRST_ACTION", "reprendre"),
        ])),
    )?;
    run(
        Kind::Login,
        "`POST /api/v1/auth/token` (Argon2id)",
        load(
            "static.lua",
            "/api/v1/auth/token",
            env(&[("BENCH_BODY", login_json.as_str())]),
        ),
        None,
    )?;
    run(
        Kind::Mixed,
        "mixed: 80 % reads, 15 % creations, 5 % logins",
        load(
            "mixed.lua",
            "/",
            env(&[
                ("BENCH_TOKEN", reader.as_str()),
                ("BENCH_MAX_ID", n_text.as_str()),
                ("BENCH_PAGE", PAGE_OF_50),
                ("BENCH_LOGIN_BODY", login_json.as_str()),
                ("BENCH_EQUIPEMENTS", equipement_list.as_str()),
            ]),
        ),
        None,
    )?;

    // Reads during a login flood: 16 connections read by id while 16 others log in.
    crate::say("bench: reads during a login flood");
    let flood = Load {
        script: "static.lua",
        url: url("/api/v1/auth/token"),
        threads: 1,
        connections: CONNECTIONS / 2,
        env: env(&[("BENCH_BODY", login_json.as_str())]),
    };
    let reads = Load {
        script: "by_id.lua",
        url: url("/"),
        threads: 1,
        connections: CONNECTIONS / 2,
        env: env(&[
            ("BENCH_TOKEN", reader.as_str()),
            ("BENCH_MAX_ID", n_text.as_str()),
        ]),
    };
    let flood_child = flood
        .command(lua_dir, options.duration + Duration::from_secs(2))
        .spawn();
    std::thread::sleep(Duration::from_secs(1));
    let rss = PeakRss::start(pid);
    let during = reads.run(lua_dir, options.duration);
    let peak_rss_kib = rss.finish();
    let flooded = wait_wrk(flood_child)?;
    let during = during?;
    rows.push(Row {
        kind: Kind::ReadsDuringFlood,
        scenario: format!(
            "`GET /api/v1/interventions/{{id}}` during a login flood ({:.0} logins/s, {} errors)",
            flooded.rps(),
            flooded.errors
        ),
        result: during,
        peak_rss_kib,
    });
    drop(server);

    // Start-up on the existing database (already migrated and seeded).
    let mut startups = Vec::new();
    for _ in 0..3 {
        let (server, took) = start_with(binary, workdir, backend)?;
        startups.push(took);
        drop(server);
    }
    Ok(BackendReport {
        name: backend.name,
        seeding,
        rows,
        idle_rss_kib,
        startups,
        flood_logins_per_s: flooded.rps(),
    })
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

fn table_row(row: &Row, ceiling_rps: f64) -> String {
    let r = &row.result;
    let share = if ceiling_rps > 0.0 {
        format!("{:.1} %", r.rps() / ceiling_rps * 100.0)
    } else {
        "—".into()
    };
    format!(
        "| {} | {:.0} | {share} | {:.2} | {:.2} | {:.2} | {} | {} |\n",
        row.scenario,
        r.rps(),
        r.p50_ms,
        r.p95_ms,
        r.p99_ms,
        r.errors,
        mib(row.peak_rss_kib)
    )
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "**not met**" }
}

/// The targets of issue 8 for one backend, each met or not with the measured figure.
fn targets(b: &BackendReport, ceiling_rps: f64) -> String {
    let row = |kind| b.rows.iter().find(|r| r.kind == kind).map(|r| &r.result);
    let share = |r: &WrkResult| {
        if ceiling_rps > 0.0 {
            r.rps() / ceiling_rps * 100.0
        } else {
            0.0
        }
    };
    let mut out = String::from(
        "
Targets (issue 8):

",
    );
    if let Some(r) = row(Kind::ById) {
        let floor = if b.name == "SQLite" { 8_000.0 } else { 5_000.0 };
        out.push_str(&format!(
            "- `GET /interventions/{{id}}` ≥ {floor:.0} req/s, p99 < 10 ms, ≥ 25 % of the ceiling: {} ({:.0} req/s, p99 {:.2} ms, {:.1} %)\n",
            verdict(r.rps() >= floor && r.p99_ms < 10.0 && share(r) >= 25.0),
            r.rps(),
            r.p99_ms,
            share(r)
        ));
    }
    if let Some(r) = row(Kind::Page) {
        out.push_str(&format!(
            "- Page of 50 ≥ 2 000 req/s, p99 < 25 ms: {} ({:.0} req/s, p99 {:.2} ms)\n",
            verdict(r.rps() >= 2_000.0 && r.p99_ms < 25.0),
            r.rps(),
            r.p99_ms
        ));
    }
    if let Some(r) = row(Kind::Mixed) {
        out.push_str(&format!(
            "- Mixed workload without errors, p99 < 30 ms: {} ({} errors, p99 {:.2} ms)\n",
            verdict(r.errors == 0 && r.p99_ms < 30.0),
            r.errors,
            r.p99_ms
        ));
    }
    if let Some(r) = row(Kind::ReadsDuringFlood) {
        out.push_str(&format!(
            "- Reads during a login flood p99 < 20 ms: {} (p99 {:.2} ms at {:.0} logins/s)\n",
            verdict(r.p99_ms < 20.0),
            r.p99_ms,
            b.flood_logins_per_s
        ));
    }
    if let Some(worst) = b.rows.iter().max_by_key(|r| r.peak_rss_kib) {
        out.push_str(&format!(
            "- Peak RSS < 80 MB in every scenario: {} (highest {} MB, {})\n",
            verdict(worst.peak_rss_kib < 80 * 1024),
            mib(worst.peak_rss_kib),
            worst.scenario
        ));
    }
    out.push_str(&format!(
        "- Idle RSS < 30 MB: {} ({} MB)\n",
        verdict(b.idle_rss_kib < 30 * 1024),
        mib(b.idle_rss_kib)
    ));
    if b.name == "SQLite" {
        let median = median_ms(&b.startups);
        out.push_str(&format!(
            "- Start-up to `/ready` < 300 ms on an existing SQLite database: {} (median {median:.0} ms)\n",
            verdict(median < 300.0)
        ));
    }
    out
}

fn median_ms(durations: &[Duration]) -> f64 {
    let mut ms: Vec<f64> = durations
        .iter()
        .map(|d| d.as_secs_f64() * 1_000.0)
        .collect();
    ms.sort_by(f64::total_cmp);
    ms.get(ms.len() / 2).copied().unwrap_or(0.0)
}

const TABLE_HEAD: &str = "| Scenario | req/s | % of ceiling | p50 ms | p95 ms | p99 ms | errors | peak RSS MB |\n|---|---|---|---|---|---|---|---|\n";

/// The machine, as `/proc` describes it.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cores = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
        .map_or("unknown CPU".to_owned(), |(_, m)| m.trim().to_owned());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or("unknown".to_owned(), |kib| {
            format!("{:.1} GiB", kib as f64 / 1024.0 / 1024.0)
        });
    format!("{cores} cores ({model}), {memory} memory")
}

/// `/proc/loadavg`'s three averages.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The whole report in Markdown (the generated part of docs/benchmarks.md).
pub fn report(
    options: &Options,
    revision: &str,
    date: &str,
    load_before: &str,
    ceiling: &(Row, usize),
    backends: &[BackendReport],
) -> String {
    let (ceiling_row, bytes) = ceiling;
    let ceiling_rps = ceiling_row.result.rps();
    let mode = if options.quick {
        format!(
            "`--quick`: {} interventions instead of 100 000, {} s warm-up and {} s per scenario instead of 3 s and 10 s",
            options.interventions,
            options.warmup.as_secs(),
            options.duration.as_secs()
        )
    } else {
        format!(
            "full: {} interventions, {} s warm-up and {} s per scenario",
            options.interventions,
            options.warmup.as_secs(),
            options.duration.as_secs()
        )
    };
    let mut out = format!(
        "Generated by `cargo xtask bench` — do not edit between the markers; notes go below.\n\n\
         - Date: {date}\n\
         - Machine: {} (load average before the run: {load_before}; after: {})\n\
         - Git revision: {revision}\n\
         - Run: {mode}\n\
         - Load: `wrk -t{THREADS} -c{CONNECTIONS}` over loopback on the same machine (scripts in \
         xtask/bench/); errors = non-2xx answers + socket errors; release build; the server in the test \
         environment with `info` access logs (JSON), metrics on, rate limit raised out of the way\n\
         - Ceiling: a constant {bytes}-byte JSON answer (the size of a real `GET /api/v1/interventions/{{id}}` \
         body) from actix-web with the same worker count: **{ceiling_rps:.0} req/s**, p50 {:.2} ms, p99 {:.2} ms, \
         peak RSS {} MB\n",
        machine(),
        load_average(),
        ceiling_row.result.p50_ms,
        ceiling_row.result.p99_ms,
        mib(ceiling_row.peak_rss_kib),
    );
    for b in backends {
        let runs = b
            .startups
            .iter()
            .map(|d| format!("{:.0}", d.as_secs_f64() * 1_000.0))
            .collect::<Vec<_>>()
            .join(", ");
        let median = median_ms(&b.startups);
        out.push_str(&format!(
            "\n## {} — {} interventions (seeded through the use cases in {:.0} s)\n\n{TABLE_HEAD}",
            b.name,
            options.interventions,
            b.seeding.as_secs_f64()
        ));
        for row in &b.rows {
            out.push_str(&table_row(row, ceiling_rps));
        }
        out.push_str(&format!(
            "\n- Idle RSS after start: {} MB.\n- Start-up (spawn → first 200 on `/ready`) on the existing database: median {median:.0} ms (runs: {runs} ms).\n- Login flood row: 16 connections read by id (`wrk -t1 -c16`) while 16 others log in (`wrk -t1 -c16`, {:.0} logins/s).\n",
            mib(b.idle_rss_kib),
            b.flood_logins_per_s,
        ));
        if b.name == "PostgreSQL" {
            out.push_str("- Peak RSS is the server process's only (PostgreSQL's own processes are not counted).\n");
        }
        out.push_str(&error_notes(&b.rows));
        out.push_str(&targets(b, ceiling_rps));
    }
    out
}

/// One line per scenario with errors: how many, and the first one wrk's script saw (a non-2xx
/// answer's status and body, else the socket errors by kind).
fn error_notes(rows: &[Row]) -> String {
    rows.iter()
        .filter(|r| r.result.errors > 0)
        .map(|r| {
            format!(
                "- Errors in {}: {}, the first: {}.\n",
                r.scenario,
                r.result.errors,
                r.result.first_error.as_deref().unwrap_or("(none recorded)")
            )
        })
        .collect()
}

/// Installs `wrk` from Debian's packages when it is missing (as root, else through `sudo -n`).
pub fn ensure_wrk() -> Result<(), String> {
    if Command::new("wrk")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
    {
        return Ok(());
    }
    let root = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1).map(|euid| euid == "0"))
        .unwrap_or(false);
    let apt = |args: &[&str]| -> bool {
        let mut cmd = if root {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.args(["-n", "apt-get"]);
            c
        };
        cmd.args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    crate::say("bench: wrk is missing; installing the Debian package wrk");
    if apt(&["install", "-y", "wrk"]) || (apt(&["update"]) && apt(&["install", "-y", "wrk"])) {
        return Ok(());
    }
    Err(format!(
        "wrk is not installed and `{}apt-get install wrk` failed: install the Debian package wrk (apt-get install wrk) and run again",
        if root { "" } else { "sudo -n " }
    ))
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
    fn the_result_line_of_the_lua_scripts_is_parsed() {
        let out = "Running 5s test @ http://127.0.0.1:1/\n  2 threads and 32 connections\n\
                   BENCH_RESULT requests=5000 duration_us=5000000 p50_us=1500 p95_us=3000 p99_us=4500 non2xx=3 socket_errors=2\n\
                   BENCH_FIRST_ERROR 409 {\"message\":\"x\"}\n";
        let r = parse_wrk(out).unwrap();
        assert_eq!(r.requests, 5_000);
        assert!((r.rps() - 1_000.0).abs() < 1e-9);
        assert!((r.p50_ms - 1.5).abs() < 1e-9);
        assert!((r.p95_ms - 3.0).abs() < 1e-9);
        assert!((r.p99_ms - 4.5).abs() < 1e-9);
        assert_eq!(r.errors, 5);
        assert_eq!(r.first_error.as_deref(), Some("409 {\"message\":\"x\"}"));
        assert!(parse_wrk("Running 5s test\n").is_err());
        assert!(parse_wrk("BENCH_RESULT requests=5000\n").is_err());
    }

    #[test]
    fn rows_show_the_share_of_the_ceiling() {
        let row = Row {
            kind: Kind::Live,
            scenario: "`GET /live`".into(),
            result: WrkResult {
                requests: 20_000,
                seconds: 10.0,
                p50_ms: 1.0,
                p95_ms: 2.0,
                p99_ms: 3.0,
                errors: 0,
                first_error: None,
            },
            peak_rss_kib: 20_480,
        };
        assert_eq!(
            table_row(&row, 8_000.0),
            "| `GET /live` | 2000 | 25.0 % | 1.00 | 2.00 | 3.00 | 0 | 20.0 |\n"
        );
    }

    fn row(kind: Kind, rps: u64, p99_ms: f64, errors: u64, peak_mib: u64) -> Row {
        Row {
            kind,
            scenario: format!("{kind:?}"),
            result: WrkResult {
                requests: rps * 10,
                seconds: 10.0,
                p50_ms: 1.0,
                p95_ms: 2.0,
                p99_ms,
                errors,
                first_error: None,
            },
            peak_rss_kib: peak_mib * 1024,
        }
    }

    #[test]
    fn each_target_is_met_or_not_with_its_figure() {
        let report = BackendReport {
            name: "SQLite",
            seeding: Duration::from_secs(1),
            rows: vec![
                row(Kind::ById, 9_000, 8.0, 0, 40),
                row(Kind::Page, 2_500, 30.0, 0, 50),
                row(Kind::Mixed, 1_000, 20.0, 1, 90),
                row(Kind::ReadsDuringFlood, 3_000, 12.0, 0, 60),
            ],
            idle_rss_kib: 20 * 1024,
            startups: vec![
                Duration::from_millis(400),
                Duration::from_millis(90),
                Duration::from_millis(100),
            ],
            flood_logins_per_s: 50.0,
        };
        let text = targets(&report, 30_000.0);
        assert!(text.contains("≥ 8000 req/s, p99 < 10 ms, ≥ 25 % of the ceiling: met (9000 req/s, p99 8.00 ms, 30.0 %)"), "{text}");
        assert!(
            text.contains(
                "Page of 50 ≥ 2 000 req/s, p99 < 25 ms: **not met** (2500 req/s, p99 30.00 ms)"
            ),
            "{text}"
        );
        assert!(
            text.contains("without errors, p99 < 30 ms: **not met** (1 errors"),
            "{text}"
        );
        assert!(
            text.contains("login flood p99 < 20 ms: met (p99 12.00 ms at 50 logins/s)"),
            "{text}"
        );
        assert!(
            text.contains("every scenario: **not met** (highest 90.0 MB, Mixed)"),
            "{text}"
        );
        assert!(text.contains("Idle RSS < 30 MB: met (20.0 MB)"), "{text}");
        assert!(
            text.contains("SQLite database: met (median 100 ms)"),
            "{text}"
        );
        // PostgreSQL has its own floor and no start-up target.
        let pg = BackendReport {
            name: "PostgreSQL",
            ..report
        };
        let text = targets(&pg, 30_000.0);
        assert!(text.contains("≥ 5000 req/s"), "{text}");
        assert!(!text.contains("Start-up"), "{text}");
    }

    #[test]
    fn scenarios_with_errors_say_which_came_first() {
        let mut timed_out = row(Kind::Mixed, 60, 4_000.0, 8, 70);
        timed_out.result.first_error =
            Some("socket errors: 0 connect, 0 read, 0 write, 8 timeout".into());
        let rows = [row(Kind::ById, 9_000, 8.0, 0, 40), timed_out];
        assert_eq!(
            error_notes(&rows),
            "- Errors in Mixed: 8, the first: socket errors: 0 connect, 0 read, 0 write, 8 timeout.\n"
        );
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
