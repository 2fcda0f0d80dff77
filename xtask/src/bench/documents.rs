//! `cargo xtask bench documents`: the memory of document transfers (D9, issue 20). One 10 MiB
//! document downloaded by 12 clients at once, then 12 clients uploading 10 MiB at once, on the
//! filesystem store and on the S3 store (a moto server on a free loopback port); the server's
//! peak RSS over each burst is measured as the other scenarios measure it ([`PeakRss`]).

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use erp_storage::testing::{TEST_BUCKET, TestS3};

use super::client::{Conn, login};
use super::report::mib;
use super::scenarios::Backend;
use super::server::{ADMIN_PASSWORD, PeakRss, start_with, status_kib};

/// One file's size: the default upload limit.
pub const FILE_BYTES: usize = 10 * 1024 * 1024;
const BOUNDARY: &str = "erp-bench-boundary-3f9c";
/// What the client writes per call.
const CLIENT_CHUNK: usize = 64 * 1024;

/// One measured burst.
struct Burst {
    storage: &'static str,
    transfer: &'static str,
    clients: usize,
    seconds: f64,
    peak_rss_kib: u64,
    idle_rss_kib: u64,
}

fn post_json(addr: &str, token: &str, path: &str, body: &serde_json::Value) -> Result<i64, String> {
    let bearer = format!("Bearer {token}");
    let (status, text) = Conn::open(addr)?.request(
        "POST",
        path,
        &[
            ("Authorization", bearer.as_str()),
            ("Content-Type", "application/json"),
        ],
        &body.to_string(),
    )?;
    if status != 201 {
        return Err(format!("POST {path}: {status} {text}"));
    }
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    v["id"]
        .as_i64()
        .ok_or_else(|| format!("POST {path}: no id in {text}"))
}

/// One upload of `data` as `bench.txt`, streamed in 64 KiB writes; the new document's id.
fn upload(addr: &str, token: &str, intervention: i64, data: &[u8]) -> Result<i64, String> {
    let head = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bench.txt\"\r\nContent-Type: text/plain\r\n\r\n"
    );
    let tail = format!("\r\n--{BOUNDARY}--\r\n");
    let mut stream = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(300)))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "POST /api/v1/documents?intervention_id={intervention} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{head}",
        head.len() + data.len() + tail.len()
    );
    let io = |e: std::io::Error| format!("upload: {e}");
    stream.write_all(request.as_bytes()).map_err(io)?;
    for chunk in data.chunks(CLIENT_CHUNK) {
        stream.write_all(chunk).map_err(io)?;
    }
    stream.write_all(tail.as_bytes()).map_err(io)?;
    let mut response = String::new();
    stream.read_to_string(&mut response).map_err(io)?;
    if !response.starts_with("HTTP/1.1 201") {
        return Err(format!(
            "upload refused: {}",
            response.lines().next().unwrap_or_default()
        ));
    }
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let v: serde_json::Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
    v["id"]
        .as_i64()
        .ok_or_else(|| format!("upload: no id in {body}"))
}

/// One download, read in 64 KiB reads and discarded; the body's length.
fn download(addr: &str, token: &str, id: i64) -> Result<usize, String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(300)))
        .map_err(|e| e.to_string())?;
    let io = |e: std::io::Error| format!("download: {e}");
    write!(
        stream,
        "GET /api/v1/documents/{id}/download HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .map_err(io)?;
    let mut buf = vec![0_u8; CLIENT_CHUNK];
    let mut head = Vec::new();
    let mut body: Option<usize> = None;
    loop {
        let n = stream.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        match &mut body {
            Some(len) => *len += n,
            None => {
                head.extend_from_slice(&buf[..n]);
                if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                    body = Some(head.len() - end - 4);
                    head.truncate(end);
                }
            }
        }
    }
    let body = body.unwrap_or(0);
    let status = String::from_utf8_lossy(&head);
    if !status.starts_with("HTTP/1.1 200") {
        return Err(format!(
            "download refused: {}",
            status.lines().next().unwrap_or_default()
        ));
    }
    Ok(body)
}

/// Runs `clients` copies of `work` at once; the wall time.
fn burst(clients: usize, work: impl Fn() -> Result<(), String> + Sync) -> Result<f64, String> {
    let started = Instant::now();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients).map(|_| s.spawn(&work)).collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| "a client panicked".to_owned())?)
            .collect::<Result<Vec<()>, String>>()
    })?;
    Ok(started.elapsed().as_secs_f64())
}

/// Both bursts on one storage backend.
fn measure(
    binary: &Path,
    workdir: &Path,
    storage: &'static str,
    env: Vec<(String, String)>,
    clients: usize,
) -> Result<Vec<Burst>, String> {
    let dir = workdir.join(storage);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let backend = Backend {
        name: "SQLite",
        env,
    };
    let (server, _) = start_with(binary, &dir, &backend)?;
    let addr = server.addr.clone();
    let token = login(&addr, ("admin", ADMIN_PASSWORD))?;
    let equipement = post_json(
        &addr,
        &token,
        "/api/v1/equipements",
        &serde_json::json!({"nom": "Compresseur", "type": "compresseur", "localisation": "Atelier"}),
    )?;
    let intervention = post_json(
        &addr,
        &token,
        "/api/v1/interventions",
        &serde_json::json!({"titre": "Révision", "type": "preventive", "equipement_id": equipement}),
    )?;
    let data: Arc<Vec<u8>> = Arc::new(
        (0..FILE_BYTES)
            .map(|i| b"Releve de vibration, palier cote accouplement\n"[i % 46])
            .collect(),
    );
    // Warm-up: one upload and one download (thread pools, allocator arenas, connections).
    let id = upload(&addr, &token, intervention, &data)?;
    if download(&addr, &token, id)? != FILE_BYTES {
        return Err("the warm-up download is not the file".into());
    }
    let idle_rss_kib = status_kib(server.pid(), "VmRSS").unwrap_or(0);
    let mut rows = Vec::new();
    let rss = PeakRss::start(server.pid());
    let seconds = burst(clients, || match download(&addr, &token, id)? {
        FILE_BYTES => Ok(()),
        n => Err(format!("downloaded {n} bytes of {FILE_BYTES}")),
    })?;
    rows.push(Burst {
        storage,
        transfer: "download",
        clients,
        seconds,
        peak_rss_kib: rss.finish(),
        idle_rss_kib,
    });
    let rss = PeakRss::start(server.pid());
    let seconds = burst(clients, || {
        upload(&addr, &token, intervention, &data).map(|_| ())
    })?;
    rows.push(Burst {
        storage,
        transfer: "upload",
        clients,
        seconds,
        peak_rss_kib: rss.finish(),
        idle_rss_kib,
    });
    Ok(rows)
}

/// Measures `binary` on the filesystem store, and on S3 when `moto` (a `moto_server`) is given;
/// the Markdown table.
///
/// # Errors
/// When the server or moto cannot start, or a transfer fails.
pub fn run(
    binary: &Path,
    workdir: &Path,
    moto: Option<&Path>,
    clients: usize,
) -> Result<String, String> {
    let mut rows = measure(binary, workdir, "filesystem", Vec::new(), clients)?;
    if let Some(moto) = moto {
        let s3 = TestS3::spawn(moto)?;
        let env = [
            ("ERP__DOCUMENTS__BACKEND", "s3".to_owned()),
            ("ERP__DOCUMENTS__S3__ENDPOINT", s3.endpoint()),
            ("ERP__DOCUMENTS__S3__BUCKET", TEST_BUCKET.to_owned()),
            ("AWS_ACCESS_KEY_ID", "bench".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "bench".to_owned()),
        ];
        let env = env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        rows.extend(measure(binary, workdir, "S3 (moto)", env, clients)?);
    }
    let mut table = String::from(
        "| Transfer | Storage | Clients × size | Wall s | Peak RSS MB | Idle RSS MB | < 80 MB |\n|---|---|---|---|---|---|---|\n",
    );
    for r in &rows {
        table.push_str(&format!(
            "| {} | {} | {} × 10 MiB | {:.2} | {} | {} | {} |\n",
            r.transfer,
            r.storage,
            r.clients,
            r.seconds,
            mib(r.peak_rss_kib),
            mib(r.idle_rss_kib),
            if r.peak_rss_kib < 80 * 1024 {
                "yes"
            } else {
                "**no**"
            },
        ));
    }
    Ok(table)
}
