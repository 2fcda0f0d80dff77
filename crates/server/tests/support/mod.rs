//! The real `erp` binary for the integration suites: started on port 0 in a temporary
//! working directory with a clean environment, spoken to over real HTTP, killed when dropped.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers: failing loudly is the point"
)]

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod documents;
pub mod otlp;
pub mod smtp;

pub const BIN: &str = env!("CARGO_BIN_EXE_erp");

/// A running `erp serve`, killed when dropped.
#[derive(Debug)]
pub struct Server {
    pub child: Child,
    pub base: String,
    pub stderr: Receiver<String>,
    /// Every line the server wrote on stdout (its JSON logs), as they come.
    pub logs: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn command(workdir: &Path, env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(workdir);
    // Nothing from the developer's environment leaks into the server under test.
    for (key, _) in std::env::vars() {
        if key.starts_with("ERP")
            || key.starts_with("AWS_")
            || key == "FERNET_KEYS"
            || key == "RUST_LOG"
        {
            cmd.env_remove(key);
        }
    }
    cmd.env("ERP__SERVER__PORT", "0")
        .env("ERP__LOG__FORMAT", "json")
        .env("ERP__LOG__LEVEL", "info");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Runs a one-off command of the binary and returns its output, failing with its stderr unless it
/// succeeded.
pub fn succeed(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn start(workdir: &Path, env: &[(&str, &str)]) -> Server {
    let mut child = command(workdir, env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (addr_tx, addr_rx) = channel();
    let stdout = child.stdout.take().unwrap();
    let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = std::sync::Arc::clone(&logs);
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line.clone());
            if let Ok(v) = serde_json::from_str::<Value>(&line)
                && v["message"] == "server listening"
            {
                let _ = addr_tx.send(v["address"].as_str().unwrap_or_default().to_owned());
            }
        }
    });
    let (err_tx, err_rx) = channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = err_tx.send(line);
        }
    });
    let addr = addr_rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| {
            let _ = child.kill();
            let errors: Vec<String> = err_rx.try_iter().collect();
            panic!("the server did not start: {errors:?}")
        });
    Server {
        child,
        base: format!("http://{addr}"),
        stderr: err_rx,
        logs,
    }
}

pub fn get(url: &str) -> (u16, Value) {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(10))
        .build();
    match agent.get(url).call() {
        Ok(res) => (res.status(), res.into_json().unwrap()),
        Err(ureq::Error::Status(code, res)) => (code, res.into_json().unwrap_or(Value::Null)),
        Err(e) => panic!("{url}: {e}"),
    }
}

pub fn terminate(server: &mut Server) -> std::process::ExitStatus {
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A JSON request with an optional bearer token: (status, body).
pub fn send(method: &str, url: &str, token: Option<&str>, body: Option<&Value>) -> (u16, Value) {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(10))
        .build();
    let mut req = agent.request(method, url);
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    let res = match body {
        Some(b) => req.send_json(b.clone()),
        None => req.call(),
    };
    match res {
        Ok(res) => (res.status(), res.into_json().unwrap_or(Value::Null)),
        Err(ureq::Error::Status(code, res)) => (code, res.into_json().unwrap_or(Value::Null)),
        Err(e) => panic!("{url}: {e}"),
    }
}

/// Logs in and returns the access token.
pub fn login(base: &str, username: &str, password: &str) -> String {
    let (status, body) = send(
        "POST",
        &format!("{base}/api/v1/auth/token"),
        None,
        Some(&serde_json::json!({"username": username, "password": password})),
    );
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}
