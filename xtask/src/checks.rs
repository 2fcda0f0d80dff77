//! What every validator of the lint shares: a deliberately broken sample written to disk, and
//! the requirement that the validator rejects it before its verdict on the real files counts.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{TaskResult, say};

/// Writes `text` to `dir/name` and returns the path.
///
/// # Errors
/// When the file cannot be written.
pub fn canary(dir: &Path, name: &str, text: &str) -> Result<PathBuf, String> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// Runs a validator on a deliberately broken sample and requires it to fail: a validator that
/// accepts everything (wrong schema, wrong flags, a changed tool) must not make the lint pass.
///
/// # Errors
/// When the validator cannot run, or accepts the sample.
pub fn expect_rejection(step: &str, cmd: &mut Command) -> TaskResult {
    let out = cmd
        .output()
        .map_err(|e| format!("{step}: cannot run: {e}"))?;
    if out.status.success() {
        return Err(format!(
            "{step} ACCEPTED a deliberately broken sample ({cmd:?}): it would not catch errors"
        ));
    }
    let said = [&out.stdout, &out.stderr]
        .iter()
        .find_map(|bytes| {
            String::from_utf8_lossy(bytes)
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(ToOwned::to_owned)
        })
        .unwrap_or_default();
    say(&format!(
        "{step}: rejects a broken sample, as it must ({said})"
    ));
    Ok(())
}
