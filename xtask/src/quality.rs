//! `cargo xtask coverage` (the whole test suite under `cargo llvm-cov`, with a floor) and
//! `cargo xtask audit` (`cargo deny`: advisories, licences, duplicate versions, sources).
//! Both install their cargo tool at a pinned version when it is missing.

use std::process::Command;

use crate::{TaskResult, cargo, postgres_for_tests, run, say, workspace_root};

/// The cargo subcommands the xtask installs on demand, pinned.
const LLVM_COV: (&str, &str) = ("cargo-llvm-cov", "0.9.1");
const DENY: (&str, &str) = ("cargo-deny", "0.20.2");

/// The line-coverage floor. Why this figure: see docs/testing.md ("Coverage").
pub const COVERAGE_FLOOR: f64 = 85.0;

/// Installs `cargo <name>` (pinned, `--locked`) unless it answers `--version`.
fn ensure_cargo_tool((package, version): (&str, &str)) -> TaskResult {
    let sub = package.trim_start_matches("cargo-");
    let present = cargo()
        .args([sub, "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if present {
        return Ok(());
    }
    say(&format!(
        "{package} is missing: installing {version} from crates.io"
    ));
    run(
        package,
        cargo().args(["install", "--locked", package, "--version", version]),
    )
}

/// `llvm-cov` needs the toolchain's LLVM tools (`llvm-profdata`, `llvm-cov`).
fn ensure_llvm_tools() -> TaskResult {
    let installed = Command::new("rustup")
        .args(["component", "list", "--installed"])
        .output()
        .map_err(|e| format!("rustup: {e}"))?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.starts_with("llvm-tools"))
    {
        return Ok(());
    }
    run(
        "llvm-tools",
        Command::new("rustup").args(["component", "add", "llvm-tools"]),
    )
}

/// Runs every test of the product crates under coverage instrumentation (PostgreSQL suite
/// included when a server is given, as `cargo xtask test`), writes `target/coverage/lcov.info`
/// and a per-file summary, and fails when line coverage is under `floor`.
pub fn coverage(postgres: Option<String>, floor: f64) -> TaskResult {
    ensure_llvm_tools()?;
    ensure_cargo_tool(LLVM_COV)?;
    let url = postgres_for_tests(postgres)?;
    let mut test = cargo();
    test.args([
        "llvm-cov",
        "--no-report",
        "--workspace",
        "--exclude",
        "xtask",
        "--all-targets",
        "--locked",
    ]);
    match &url {
        Some(url) => test.env("ERP_TEST_POSTGRES_URL", url),
        None => test.env_remove("ERP_TEST_POSTGRES_URL"),
    };
    test.env(
        crate::python::MOTO_SERVER_VAR,
        crate::python::moto_server()?,
    );
    run("coverage: tests", &mut test)?;
    let out_dir = workspace_root().join("target").join("coverage");
    std::fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
    let lcov = out_dir.join("lcov.info");
    run(
        "coverage: lcov",
        cargo()
            .args(["llvm-cov", "report", "--lcov", "--output-path"])
            .arg(&lcov),
    )?;
    say(&format!("coverage: lcov report at {}", lcov.display()));
    let floor_arg = format!("{floor}");
    run(
        "coverage: summary",
        cargo().args(["llvm-cov", "report", "--fail-under-lines", &floor_arg]),
    )
    .map_err(|e| format!("{e}: line coverage is under the floor of {floor} %"))?;
    say(&format!("coverage: line coverage is at least {floor} %"));
    Ok(())
}

/// `cargo deny check` with `deny.toml`: licences, banned and duplicate crates, sources, and
/// the RustSec advisories. The advisory database is cloned from GitHub; with `offline` nothing is
/// fetched: advisories are checked against the copy already on disk when there is one (it may be
/// stale), and when there is none the run says loudly that advisories were NOT checked.
pub fn audit(offline: bool) -> TaskResult {
    ensure_cargo_tool(DENY)?;
    let mut checks = vec!["bans", "licenses", "sources"];
    let mut cmd = cargo();
    // The graph of the shipped build: the container's static binary bundles libpq and OpenSSL.
    cmd.args([
        "deny",
        "--locked",
        "--workspace",
        "--features",
        "erp-server/static",
    ]);
    if offline {
        cmd.arg("--offline");
        if local_advisory_db() {
            say(
                "audit: OFFLINE — advisories checked against the local RustSec copy, which may be stale",
            );
            checks.push("advisories");
        } else {
            say(
                "audit: OFFLINE and no local RustSec database — advisories are NOT checked (run `cargo xtask audit` with network access)",
            );
        }
    } else {
        checks.push("advisories");
    }
    cmd.arg("check").args(&checks);
    run("audit", &mut cmd)?;
    say(&format!("audit: {} ok", checks.join(", ")));
    Ok(())
}

/// Whether cargo-deny has a RustSec database on disk (`$CARGO_HOME/advisory-dbs/advisory-db-*`).
fn local_advisory_db() -> bool {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cargo")));
    cargo_home
        .and_then(|home| std::fs::read_dir(home.join("advisory-dbs")).ok())
        .is_some_and(|mut entries| {
            entries.any(|e| {
                e.is_ok_and(|e| {
                    e.file_name().to_string_lossy().starts_with("advisory-db-")
                        && e.path().join("crates").is_dir()
                })
            })
        })
}
