//! `cargo xtask openapi [--check]`: docs/openapi.json is the document the server generates
//! from its code (`erp openapi`); `--check` fails when the committed copy is stale.
//! `cargo xtask schemathesis`: Schemathesis (pinned, from PyPI) against a live server on a
//! fresh SQLite data directory, with the document the server itself serves.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::{TaskResult, cargo, run, say, workspace_root};

/// Pinned Schemathesis release.
const SCHEMATHESIS: &str = "schemathesis==4.32.5";
/// The committed document.
const DOCUMENT: &str = "docs/openapi.json";
/// The bootstrap admin's password on the throw-away server.
const ADMIN_PASSWORD: &str = "Fuzz#Admin2026!";
/// What every response must satisfy.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance";

/// The document as `erp openapi` prints it.
fn generated() -> Result<String, String> {
    let mut cmd = cargo();
    cmd.args([
        "run",
        "--quiet",
        "--locked",
        "-p",
        "erp-server",
        "--bin",
        "erp",
        "--",
        "openapi",
    ]);
    say(&format!("generate: {cmd:?}"));
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!("`erp openapi` failed ({})", out.status));
    }
    String::from_utf8(out.stdout).map_err(|e| format!("`erp openapi` printed non-UTF-8: {e}"))
}

/// Writes docs/openapi.json, or with `check` compares it with the generated document.
///
/// # Errors
/// When generation fails, or with `check` when the committed document differs.
pub fn document(check: bool) -> TaskResult {
    let fresh = generated()?;
    let path = workspace_root().join(DOCUMENT);
    if check {
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != fresh {
            let line = committed
                .lines()
                .zip(fresh.lines())
                .position(|(a, b)| a != b)
                .map_or_else(
                    || committed.lines().count().min(fresh.lines().count()) + 1,
                    |i| i + 1,
                );
            return Err(format!(
                "{DOCUMENT} is stale (first difference at line {line}): the handlers' OpenAPI \
                 annotations changed; run `cargo xtask openapi` and commit {DOCUMENT}"
            ));
        }
        say(&format!("{DOCUMENT} matches the code"));
        return Ok(());
    }
    std::fs::write(&path, &fresh).map_err(|e| format!("cannot write {DOCUMENT}: {e}"))?;
    say(&format!("wrote {DOCUMENT} ({} bytes)", fresh.len()));
    Ok(())
}

/// The server under test; stopped when dropped, and its data directory removed.
struct Server {
    child: Child,
    addr: String,
    workdir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.workdir);
    }
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from)
}

/// The environment of the server under test (test configuration, fresh data directory).
fn server_env(cmd: &mut Command) -> &mut Command {
    cmd.env("ERP__ENVIRONMENT", "test")
        .env("ERP__SERVER__HOST", "127.0.0.1")
        .env("ERP__SERVER__PORT", "0")
        .env("ERP__LOG__LEVEL", "warn,erp_server=info")
        .env("ERP__LOG__FORMAT", "json")
        .env("ERP__RATE_LIMIT__REQUESTS_PER_MINUTE", "100000000")
        // One token for the whole run.
        .env("ERP__SECURITY__ACCESS_TOKEN_TTL_SECONDS", "7200")
        .env("ERP__SCHEDULER__ENABLED", "false")
        .env("ERP_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
}

/// Starts `binary` on 127.0.0.1, port 0, over a fresh SQLite database; the general rate limit
/// is raised so that the fuzzer is not answered 429 for its volume (the limiter itself is
/// covered by the test suites).
fn start(binary: &Path) -> Result<Server, String> {
    let workdir = std::env::temp_dir().join(format!("erp-schemathesis-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&workdir);
    std::fs::create_dir_all(&workdir).map_err(|e| e.to_string())?;
    // Demo rows, so that generated ids (small integers) reach real resources, not only 404s.
    run(
        "seed-demo",
        server_env(Command::new(binary).current_dir(&workdir)).args([
            "seed-demo",
            "--interventions",
            "40",
        ]),
    )?;
    let mut child = server_env(Command::new(binary).current_dir(&workdir))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            match serde_json::from_str::<serde_json::Value>(&line) {
                Ok(v) if v["message"] == "server listening" => {
                    let _ = tx.send(v["address"].as_str().unwrap_or_default().to_owned());
                }
                Ok(v) if v["level"] == "ERROR" => say(&format!("server: {line}")),
                _ => {}
            }
        }
    });
    // Owned by the guard from here on, so that a start-up failure still stops the process.
    let mut server = Server {
        child,
        addr: String::new(),
        workdir,
    };
    server.addr = rx
        .recv_timeout(Duration::from_secs(120))
        .map_err(|_| "the server did not start".to_owned())?;
    Ok(server)
}

/// One HTTP/1.1 request on its own connection; the status and body.
fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<(u16, String), String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream
        .write_all(req.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw).map_err(|e| e.to_string())?;
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status line in {raw:?}"))?;
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

fn json_field(body: &str, field: &str) -> Result<serde_json::Value, String> {
    let v: serde_json::Value = serde_json::from_str(body).map_err(|e| format!("{e}: {body}"))?;
    Ok(v[field].clone())
}

/// Builds `erp`, starts it, logs in as the bootstrap admin, runs Schemathesis on the served
/// document with that token, and stops the server.
///
/// # Errors
/// When a step fails or Schemathesis reports a failure.
pub fn schemathesis(max_examples: u32, seed: u64) -> TaskResult {
    let bin = crate::python::tool("schemathesis", &[SCHEMATHESIS])?;
    run(
        "build erp",
        cargo().args(["build", "--locked", "-p", "erp-server", "--bin", "erp"]),
    )?;
    let server = start(&target_dir().join("debug").join("erp"))?;
    let addr = server.addr.clone();
    say(&format!("server on http://{addr}"));
    let login = serde_json::json!({"username": "admin", "password": ADMIN_PASSWORD}).to_string();
    let (status, body) = request(
        &addr,
        "POST",
        "/api/v1/auth/token",
        &[("Content-Type", "application/json")],
        &login,
    )?;
    if status != 200 {
        return Err(format!("admin login failed: {status} {body}"));
    }
    let token = json_field(&body, "access_token")?
        .as_str()
        .ok_or("no access_token")?
        .to_owned();
    let bearer = format!("Bearer {token}");
    let (status, body) = request(
        &addr,
        "GET",
        "/api/v1/auth/me",
        &[("Authorization", &bearer)],
        "",
    )?;
    if status != 200 {
        return Err(format!("GET /auth/me failed: {status} {body}"));
    }
    let admin_id = json_field(&body, "id")?.to_string();
    let report = target_dir().join("schemathesis");
    std::fs::create_dir_all(&report).map_err(|e| e.to_string())?;
    let mut cmd = Command::new(bin);
    // Schemathesis keeps its cache (`.schemathesis/`) in the working directory.
    cmd.current_dir(&report)
        .env("SCHEMATHESIS_HOOKS", "schemathesis_hooks")
        .env("PYTHONPATH", workspace_root().join("xtask"))
        .env("ERP_SCHEMATHESIS_ADMIN_ID", &admin_id)
        .args(["run", &format!("http://{addr}/openapi.json")])
        .args(["--checks", CHECKS])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--max-examples", &max_examples.to_string()])
        .args(["--seed", &seed.to_string()])
        .args(["--workers", "2"])
        .args(["--request-timeout", "30"])
        // Logging out would revoke the run's own session; logout is covered by the test suites.
        .args(["--exclude-operation-id", "post_api_v1_auth_logout"])
        .args(["--header", &format!("Authorization: {bearer}")])
        .args(["--report", "junit", "--report-dir"])
        .arg(&report)
        .args(["--no-color"]);
    let outcome = run("schemathesis", &mut cmd);
    drop(server);
    outcome?;
    say(&format!(
        "schemathesis: no failure (JUnit report in {})",
        report.display()
    ));
    Ok(())
}
