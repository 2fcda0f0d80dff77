//! Test support: the Redis the tests share (`ERP_TEST_REDIS_URL`), and Redis servers of their
//! own on free loopback ports for the tests that stop and restart one.
//!
//! Without `ERP_TEST_REDIS_URL` (or without `redis-server` on the `PATH`, for a server of their
//! own) tests print that they were skipped, outside the test harness's capture; under
//! `CI=true` they fail instead, so that CI can never pass without running them.

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Environment variable naming the Redis used by tests.
pub const REDIS_URL_VAR: &str = "ERP_TEST_REDIS_URL";

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

fn skip(reason: &str) {
    assert!(
        !in_ci(),
        "{reason} in CI: the Redis suite may not be skipped"
    );
    let test = std::thread::current().name().unwrap_or("?").to_owned();
    let _ = writeln!(std::io::stderr(), "SKIPPED ({reason}): {test}");
}

/// The shared test Redis, or `None` (after printing that the test was skipped).
///
/// # Panics
/// Under `CI=true` when the variable is not set.
#[must_use]
pub fn shared_redis_url() -> Option<String> {
    let url = std::env::var(REDIS_URL_VAR).ok().filter(|u| !u.is_empty());
    if url.is_none() {
        skip(&format!("no {REDIS_URL_VAR}"));
    }
    url
}

/// A key prefix no other test uses.
#[must_use]
pub fn unique_prefix() -> String {
    format!(
        "erp-test:{}:{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    )
}

/// A `redis-server` of the test's own on a free loopback port, keeping nothing on disk, killed
/// when dropped.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
}

impl RedisServer {
    /// Starts one on a free port; `None` when `redis-server` is not installed (after printing
    /// that the test was skipped).
    ///
    /// # Panics
    /// Under `CI=true` without `redis-server`, or when it does not answer within 10 s.
    #[must_use]
    #[expect(clippy::expect_used, reason = "test support")]
    pub fn start() -> Option<Self> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let mut server = Self { child: None, port };
        if !server.restart() {
            skip("no redis-server on the PATH");
            return None;
        }
        Some(server)
    }

    /// `redis://127.0.0.1:<port>/0`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Stops the server (SIGKILL), as a crash or a network cut would.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port; `false` when `redis-server` cannot be run.
    ///
    /// # Panics
    /// When it does not answer within 10 s.
    pub fn restart(&mut self) -> bool {
        self.stop();
        let Ok(child) = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        else {
            return false;
        };
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not listen on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
