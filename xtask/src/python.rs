//! Python command-line tools the xtask needs (schema validators, Schemathesis), installed from
//! PyPI at pinned versions into one virtual environment under `target/`, so a fresh machine
//! needs nothing beyond `python3` and no tool is ever silently skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{TaskResult, run, say, workspace_root};

/// moto in server mode: the S3-compatible server the blob-store tests start (one per test, on a
/// free loopback port; `erp_storage::testing`).
const MOTO_SERVER: &str = "moto[server]==5.2.5";

/// The variable through which the tests find `moto_server`.
pub const MOTO_SERVER_VAR: &str = "ERP_TEST_MOTO_SERVER";

/// The `moto_server` the S3 tests run: `ERP_TEST_MOTO_SERVER` when set, else the one installed
/// (pinned) into the xtask virtual environment.
///
/// # Errors
/// As [`tool`].
pub fn moto_server() -> Result<PathBuf, String> {
    match std::env::var_os(MOTO_SERVER_VAR).filter(|v| !v.is_empty()) {
        Some(path) => Ok(PathBuf::from(path)),
        None => tool("moto_server", &[MOTO_SERVER]),
    }
}

/// The virtual environment every Python tool of the xtask lives in.
fn venv() -> PathBuf {
    workspace_root().join("target").join("xtask-venv")
}

/// The path of `bin` inside the virtual environment.
fn bin_path(bin: &str) -> PathBuf {
    venv().join("bin").join(bin)
}

/// Returns the path of `bin`, installing `requirements` (pip specifiers, pinned with `==`) into
/// the xtask virtual environment first when the binary is not there yet.
///
/// # Errors
/// When `python3` is missing, the environment cannot be created, or pip fails.
pub fn tool(bin: &str, requirements: &[&str]) -> Result<PathBuf, String> {
    let path = bin_path(bin);
    if path.is_file() {
        return Ok(path);
    }
    ensure_venv()?;
    say(&format!(
        "installing {} into {} (PyPI)",
        requirements.join(" "),
        venv().display()
    ));
    let pip = bin_path("pip");
    install(&pip, requirements)?;
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{bin} is still missing after installing {}",
            requirements.join(" ")
        ))
    }
}

fn ensure_venv() -> TaskResult {
    if bin_path("pip").is_file() {
        return Ok(());
    }
    run(
        "python venv",
        Command::new("python3").args(["-m", "venv"]).arg(venv()),
    )
}

fn install(pip: &Path, requirements: &[&str]) -> TaskResult {
    run(
        "pip install",
        Command::new(pip)
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .args(requirements),
    )
}
