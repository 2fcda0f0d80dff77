//! What every task shares: the report lines, the workspace paths, running a command.

use std::path::{Path, PathBuf};
use std::process::Command;

pub(crate) type TaskResult = Result<(), String>;

#[expect(clippy::print_stdout, reason = "xtask reports to the developer")]
pub(crate) fn say(line: &str) {
    println!("xtask: {line}");
}

#[expect(clippy::print_stdout, reason = "xtask reports to the developer")]
pub(crate) fn say_plain(line: &str) {
    println!("{line}");
}

pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

pub(crate) fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(workspace_root());
    cmd
}

pub(crate) fn run(step: &str, cmd: &mut Command) -> TaskResult {
    say(&format!("{step}: {cmd:?}"));
    let status = cmd
        .status()
        .map_err(|e| format!("{step}: cannot run: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{step} failed ({status})"))
    }
}

/// The build directory cargo uses: `CARGO_TARGET_DIR` (relative to the workspace when
/// relative), else `<workspace>/target`.
pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || workspace_root().join("target"),
        |dir| workspace_root().join(dir),
    )
}

pub(crate) fn git_revision() -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(workspace_root())
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default()
    };
    let rev = git(&["rev-parse", "--short", "HEAD"]);
    if git(&["status", "--porcelain", "--untracked-files=no"]).is_empty() {
        rev
    } else {
        format!("{rev} (with uncommitted changes)")
    }
}
