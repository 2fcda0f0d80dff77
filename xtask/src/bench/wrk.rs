//! wrk: the load generator of the harness, its result line, and its installation.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// One wrk run, as printed by `done()` of xtask/bench/lib.lua.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct WrkResult {
    pub(crate) requests: u64,
    pub(crate) seconds: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p95_ms: f64,
    pub(crate) p99_ms: f64,
    /// Non-2xx answers plus socket errors (connect, read, write, timeout).
    pub(crate) errors: u64,
    pub(crate) first_error: Option<String>,
}

impl WrkResult {
    pub(crate) fn rps(&self) -> f64 {
        if self.seconds > 0.0 {
            self.requests as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// Reads the `BENCH_RESULT key=value …` line (and the optional `BENCH_FIRST_ERROR` one).
pub(crate) fn parse_wrk(stdout: &str) -> Result<WrkResult, String> {
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
    pub(crate) script: &'static str,
    pub(crate) url: String,
    pub(crate) threads: usize,
    pub(crate) connections: usize,
    pub(crate) env: Vec<(String, String)>,
}

impl Load {
    pub(crate) fn command(&self, lua_dir: &Path, duration: Duration) -> Command {
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

    pub(crate) fn run(&self, lua_dir: &Path, duration: Duration) -> Result<WrkResult, String> {
        wait_wrk(self.command(lua_dir, duration).spawn())
    }
}

pub(crate) fn wait_wrk(child: std::io::Result<Child>) -> Result<WrkResult, String> {
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

/// Installs `wrk` from Debian's packages when it is missing (as root, else through `sudo -n`).
pub(crate) fn ensure_wrk() -> Result<(), String> {
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
}
