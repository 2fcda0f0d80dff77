//! The keep-alive HTTP/1.1 client of the measurements (shared with `cargo xtask load-test`):
//! one connection, a closed load loop over many, and the authenticated reads the harness
//! prepares its scenarios with.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

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

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1_000.0)
}

/// Runs `clients` threads doing `work` until `duration` is over; returns every latency and
/// the number of errors.
pub(crate) fn load(
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

pub(crate) fn login_body(username: &str, password: &str) -> String {
    serde_json::json!({"username": username, "password": password}).to_string()
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

pub(crate) fn login(addr: &str, (username, password): (&str, &str)) -> Result<String, String> {
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
pub(crate) fn get_body(addr: &str, token: &str, path: &str) -> Result<String, String> {
    let bearer = format!("Bearer {token}");
    let (status, body) =
        Conn::open(addr)?.request("GET", path, &[("Authorization", bearer.as_str())], "")?;
    if status != 200 {
        return Err(format!("GET {path}: {status} {body}"));
    }
    Ok(body)
}

pub(crate) fn get_json(addr: &str, token: &str, path: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(&get_body(addr, token, path)?).map_err(|e| format!("GET {path}: {e}"))
}

/// Ids of a collection, page after page (200 a page, at most `cap`).
pub(crate) fn ids(addr: &str, token: &str, path: &str, cap: usize) -> Result<Vec<i64>, String> {
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
