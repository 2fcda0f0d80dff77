//! Test support: a real S3-compatible server — moto in server mode (PyPI `moto[server]`,
//! installed by `cargo xtask test` into the xtask's virtual environment) — started per test on
//! a free loopback port, with a fresh bucket, and killed when the handle is dropped.
//!
//! `ERP_TEST_MOTO_SERVER` names the `moto_server` executable (`cargo xtask test` sets it; the
//! memory benchmark of `cargo xtask bench documents` starts its server through [`TestS3::spawn`]). Without it a test prints
//! `SKIPPED` and returns; with `CI=true` it fails instead (as the PostgreSQL suite does).

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use secrecy::SecretString;

use crate::S3Settings;

/// The variable naming the `moto_server` executable.
pub const MOTO_SERVER_VAR: &str = "ERP_TEST_MOTO_SERVER";
/// The bucket every test server gets.
pub const TEST_BUCKET: &str = "erp-documents";

/// A running moto server with one empty bucket.
#[derive(Debug)]
pub struct TestS3 {
    child: Child,
    port: u16,
}

#[expect(clippy::panic, reason = "test support: failing loudly is the point")]
fn skip_or_fail(test: &str) -> Option<TestS3> {
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("{MOTO_SERVER_VAR} must be set in CI: the S3 suite may not be skipped");
    }
    // Written to the process's stderr directly, not captured by libtest.
    let _ = writeln!(std::io::stderr(), "SKIPPED (no {MOTO_SERVER_VAR}): {test}");
    None
}

/// One HTTP/1.1 request without a body; the status code.
fn request(port: u16, method: &str, path: &str) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = [0_u8; 12];
    stream.read_exact(&mut head)?;
    let text = String::from_utf8_lossy(&head);
    text.get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {text:?}")))
}

impl TestS3 {
    /// A fresh server with an empty [`TEST_BUCKET`]; `None` (after printing `SKIPPED`) when
    /// [`MOTO_SERVER_VAR`] is not set outside CI.
    ///
    /// # Panics
    /// When the variable is missing in CI, or the server does not come up.
    #[must_use]
    #[expect(clippy::panic, reason = "test support: failing loudly is the point")]
    pub fn start() -> Option<Self> {
        let test = std::thread::current().name().unwrap_or("?").to_owned();
        let Some(bin) = std::env::var_os(MOTO_SERVER_VAR).filter(|v| !v.is_empty()) else {
            return skip_or_fail(&test);
        };
        Some(Self::spawn(Path::new(&bin)).unwrap_or_else(|e| panic!("{e}")))
    }

    /// Starts `moto_server` (the executable `bin`) on a free loopback port and creates
    /// [`TEST_BUCKET`].
    ///
    /// # Errors
    /// When it cannot start, or does not answer within a minute.
    pub fn spawn(bin: &Path) -> Result<Self, String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| format!("no free loopback port: {e}"))?;
        let child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let server = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match request(port, "PUT", &format!("/{TEST_BUCKET}")) {
                Ok(200) => return Ok(server),
                Ok(status) => {
                    return Err(format!("moto refused to create the bucket: HTTP {status}"));
                }
                Err(e) if Instant::now() > deadline => {
                    return Err(format!("moto did not come up on port {port}: {e}"));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// The endpoint URL.
    #[must_use]
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Settings for the bucket (path-style, static test credentials), under `prefix`.
    #[must_use]
    pub fn settings(&self, prefix: Option<&str>) -> S3Settings {
        S3Settings {
            endpoint: Some(self.endpoint()),
            bucket: TEST_BUCKET.to_owned(),
            region: "us-east-1".to_owned(),
            path_style: true,
            prefix: prefix.map(ToOwned::to_owned),
            access_key_id: Some("testing".to_owned()),
            secret_access_key: Some(SecretString::from("testing")),
        }
    }
}

impl Drop for TestS3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
