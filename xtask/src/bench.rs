//! `cargo xtask bench auth`: the identity figures of the closing note, measured on the release
//! binary over loopback with a small keep-alive HTTP/1.1 load generator.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

const ADMIN_PASSWORD: &str = "Bench#Admin2026";

/// The server under test; killed when dropped.
struct Server {
    child: Child,
    addr: String,
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

/// The figures of the identity issue.
pub fn auth(root: &Path, seconds: u64) -> Result<String, String> {
    let binary = root.join("target/release/erp");
    let workdir = std::env::temp_dir().join(format!("erp-bench-{}", std::process::id()));
    std::fs::create_dir_all(&workdir).map_err(|e| e.to_string())?;
    // The flood comes from many addresses through a trusted proxy (X-Forwarded-For).
    let backend = Backend {
        name: "SQLite",
        env: vec![(
            "ERP__RATE_LIMIT__TRUSTED_PROXIES".into(),
            "[\"127.0.0.1\"]".into(),
        )],
    };
    let server = start_with(&binary, &workdir, &backend)?;
    let addr = server.addr.clone();
    let json = [("Content-Type", "application/json")];

    // 1. Login latency, sequential, at the configured Argon2id parameters.
    let mut conn = Conn::open(&addr)?;
    let mut logins = Vec::new();
    let mut token = String::new();
    for _ in 0..30 {
        let started = Instant::now();
        let (status, body) = conn.request(
            "POST",
            "/api/v1/auth/token",
            &json,
            &login_body("admin", ADMIN_PASSWORD),
        )?;
        logins.push(started.elapsed());
        if status != 200 {
            return Err(format!("login failed: {status} {body}"));
        }
        let v: serde_json::Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
        token = v["access_token"].as_str().unwrap_or_default().to_owned();
    }
    logins.sort();
    let auth_header = format!("Bearer {token}");

    // 2. Authenticated GET /users/me, 32 keep-alive clients.
    let duration = Duration::from_secs(seconds);
    let header = auth_header.clone();
    let (me, me_errors) = load(&addr, 32, duration, move |c, _| {
        c.request(
            "GET",
            "/api/v1/users/me",
            &[("Authorization", header.as_str())],
            "",
        )
        .map(|(s, _)| s == 200)
    })?;
    let rps = me.len() as f64 / duration.as_secs_f64();

    // 3. The same endpoint while 32 clients flood /auth/token with wrong passwords, each from
    //    its own address (X-Forwarded-For through a trusted proxy) and for a different
    //    username, so that no lockout short-cuts the hashing.
    let stop_flood = Arc::new(AtomicBool::new(false));
    let flood_count = Arc::new(AtomicU64::new(0));
    let mut flooders = Vec::new();
    for f in 0..32_u64 {
        let (addr, stop, count) = (
            addr.clone(),
            Arc::clone(&stop_flood),
            Arc::clone(&flood_count),
        );
        flooders.push(std::thread::spawn(move || {
            let Ok(mut c) = Conn::open(&addr) else { return };
            let mut i = 0_u64;
            while !stop.load(Ordering::Relaxed) {
                let ip = format!("10.{}.{}.{}", f, (i / 250) % 250, i % 250 + 1);
                let body = login_body(&format!("attacker{f}x{i}"), "Wrong#Password1");
                let headers = [
                    ("Content-Type", "application/json"),
                    ("X-Forwarded-For", ip.as_str()),
                ];
                if c.request("POST", "/api/v1/auth/token", &headers, &body)
                    .is_err()
                {
                    match Conn::open(&addr) {
                        Ok(n) => c = n,
                        Err(_) => return,
                    }
                }
                count.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        }));
    }
    std::thread::sleep(Duration::from_secs(1));
    let header = auth_header;
    let (flooded, flooded_errors) = load(&addr, 8, duration, move |c, _| {
        c.request(
            "GET",
            "/api/v1/users/me",
            &[("Authorization", header.as_str())],
            "",
        )
        .map(|(s, _)| s == 200)
    })?;
    stop_flood.store(true, Ordering::Relaxed);
    for f in flooders {
        let _ = f.join();
    }
    let flood_rate = flood_count.load(Ordering::Relaxed) as f64 / (duration.as_secs_f64() + 1.0);
    drop(server);
    let _ = std::fs::remove_dir_all(&workdir);

    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    Ok(format!(
        "| Measure | Value |\n|---|---|\n\
         | Login (`POST /auth/token`, Argon2id m=19456 KiB t=2 p=1), sequential, 30 logins | p50 {} ms, p95 {} ms, max {} ms |\n\
         | `GET /api/v1/users/me` (JWT verify + session/user read), 32 keep-alive clients, {seconds} s | {:.0} requests/s, p50 {} ms, p99 {} ms, {} errors |\n\
         | `GET /api/v1/users/me`, 8 clients, while 32 clients flood `/auth/token` with wrong passwords ({:.0} attempts/s) | p50 {} ms, p99 {} ms, {} errors |\n\
         \nMachine: {cores} cores; release build; server and load generator on the same machine over loopback.\n",
        ms(percentile(&logins, 50.0)),
        ms(percentile(&logins, 95.0)),
        ms(percentile(&logins, 100.0)),
        rps,
        ms(percentile(&me, 50.0)),
        ms(percentile(&me, 99.0)),
        me_errors,
        flood_rate,
        ms(percentile(&flooded, 50.0)),
        ms(percentile(&flooded, 99.0)),
        flooded_errors,
    ))
}

/// One backend of `cargo xtask bench core`.
pub struct Backend {
    /// `sqlite` or `postgres`.
    pub name: &'static str,
    /// Extra environment for the server (database URL).
    pub env: Vec<(String, String)>,
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

fn start_with(binary: &Path, workdir: &Path, backend: &Backend) -> Result<Server, String> {
    // A test-environment server with a generous rate limit, plus the backend's environment.
    let mut child = Command::new(binary);
    child
        .current_dir(workdir)
        .env("ERP__ENVIRONMENT", "test")
        .env("ERP__SERVER__PORT", "0")
        .env("ERP__LOG__LEVEL", "info")
        .env("ERP__LOG__FORMAT", "json")
        .env("ERP__RATE_LIMIT__REQUESTS_PER_MINUTE", "100000000")
        .env("ERP_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in &backend.env {
        child.env(k, v);
    }
    let mut child = child.spawn().map_err(|e| e.to_string())?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                && v["message"] == "server listening"
            {
                let _ = tx.send(v["address"].as_str().unwrap_or_default().to_owned());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(120))
        .map_err(|_| "the server did not start".to_owned())?;
    Ok(Server { child, addr })
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

/// The maintenance-core figures: reads of interventions with `interventions` loaded.
pub fn core(
    root: &Path,
    backend: &Backend,
    interventions: usize,
    seconds: u64,
) -> Result<String, String> {
    let binary = root.join("target/release/erp");
    let workdir = std::env::temp_dir().join(format!(
        "erp-bench-core-{}-{}",
        backend.name,
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&workdir);
    std::fs::create_dir_all(&workdir).map_err(|e| e.to_string())?;
    let seeding = run_seed(&binary, &workdir, backend, interventions)?;
    if let Some((_, url)) = backend.env.iter().find(|(k, _)| k == "ERP__DATABASE__URL") {
        // Steady state: autovacuum would have cleaned the rows the seeding rewrote.
        let vacuumed = Command::new("psql")
            .args([url.as_str(), "-qc", "VACUUM ANALYZE"])
            .status()
            .map_err(|e| e.to_string())?;
        if !vacuumed.success() {
            return Err("VACUUM ANALYZE failed".into());
        }
    }
    let server = start_with(&binary, &workdir, backend)?;
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
    let n = interventions.max(1);

    let h = header.clone();
    let (by_id, by_id_errors) = load(&addr, 32, duration, move |c, i| {
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
    let page_query = "/api/v1/interventions?statut=ouverte,affectee,en_cours&priorite=urgente,haute,normale&sort=-date_creation&limit=50";
    let (page, page_errors) = load(&addr, 32, duration, move |c, _| {
        c.request("GET", page_query, &[("Authorization", h.as_str())], "")
            .map(|(s, _)| s == 200)
    })?;
    // The login connection idled through the load phases (keep-alive expired): a new one.
    let mut conn = Conn::open(&addr)?;
    let mut dashboard = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let (status, _) = conn.request(
            "GET",
            "/api/v1/dashboard/stats",
            &[("Authorization", header.as_str())],
            "",
        )?;
        if status != 200 {
            return Err(format!("dashboard failed: {status}"));
        }
        dashboard.push(started.elapsed());
    }
    dashboard.sort();
    drop(server);
    let _ = std::fs::remove_dir_all(&workdir);
    let secs = duration.as_secs_f64();
    Ok(format!(
        "### {} — {interventions} interventions (loaded through the use cases in {:.0} s)\n\n\
         | Scenario (32 keep-alive clients, {seconds} s) | requests/s | p50 ms | p95 ms | p99 ms | errors |\n|---|---|---|---|---|---|\n{}{}\
         \n`GET /api/v1/dashboard/stats`, sequential: p50 {} ms, max {} ms.\n\n",
        backend.name,
        seeding.as_secs_f64(),
        report_row(
            "`GET /api/v1/interventions/{id}` (random ids)",
            &by_id,
            by_id_errors,
            secs
        ),
        report_row(
            "filtered, sorted page of 50 (`statut`, `priorite`, `-date_creation`)",
            &page,
            page_errors,
            secs
        ),
        ms(percentile(&dashboard, 50.0)),
        ms(percentile(&dashboard, 100.0)),
    ))
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
pub fn observability(root: &Path, interventions: usize, seconds: u64) -> Result<String, String> {
    let binary = root.join("target/release/erp");
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
        let server = start_with(&binary, &workdir, &backend)?;
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
