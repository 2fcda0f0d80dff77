//! `cargo xtask structure`: the shape of the workspace crates under `crates/`.
//!
//! - Import cycles between the files of one crate: the graph of module references
//!   ([`imports`]: `use` declarations and paths, read with `syn`, re-exports followed, test
//!   code left out) and every elementary cycle in it ([`cycles`]), grouped by knot (strongly
//!   connected component).
//! - Production source files over [`MAX_LINES`] lines: every line of the file counts (code,
//!   comments, blank lines) except the lines of items marked `#[cfg(test)]` (the `mod tests`
//!   blocks) and the files of modules declared under `#[cfg(test)]` (test fakes, `mod cases;`
//!   inside a `mod tests { … }`). Only `src/` is read;
//!   `tests/`, `benches/` and `src/bin/` are not production library code.
//!
//! Fails on any finding; `cargo xtask lint` runs it after the layering check.

use std::path::{Path, PathBuf};

use crate::{TaskResult, say, say_plain, workspace_root};

mod cycles;
mod imports;

/// The longest a production source file may be.
pub(crate) const MAX_LINES: usize = 700;

pub(crate) fn check() -> TaskResult {
    let root = workspace_root();
    let crates_dir = root.join("crates");
    let mut crates: Vec<PathBuf> = std::fs::read_dir(&crates_dir)
        .map_err(|e| format!("{}: {e}", crates_dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("src").is_dir())
        .collect();
    crates.sort();
    let mut findings = 0;
    let mut long_files = Vec::new();
    for dir in &crates {
        let name = dir
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let files = rust_files(&dir.join("src"))?;
        let analysis = imports::analyse(&files);
        for error in &analysis.errors {
            say_plain(&format!("crates/{name}/src/{error}"));
            findings += 1;
        }
        let knots = cycles::knots(&analysis.graph);
        let all = cycles::cycles(&analysis.graph);
        if knots.is_empty() {
            say(&format!("structure: crates/{name}: no import cycle"));
        }
        for knot in &knots {
            let in_knot: Vec<&Vec<String>> = all.iter().filter(|c| knot.contains(&c[0])).collect();
            say_plain(&format!(
                "crates/{name}: import cycle(s) among {} files: {}",
                knot.len(),
                knot.join(", ")
            ));
            for cycle in &in_knot {
                say_plain(&format!("  {} -> {}", cycle.join(" -> "), cycle[0]));
            }
            if in_knot.len() >= cycles::MAX_CYCLES_PER_KNOT {
                say_plain(&format!(
                    "  (the first {} cycles only)",
                    cycles::MAX_CYCLES_PER_KNOT
                ));
            }
            findings += in_knot.len().max(1);
        }
        for (file, lines) in &analysis.production_lines {
            if *lines > MAX_LINES {
                long_files.push((format!("crates/{name}/src/{file}"), *lines));
            }
        }
    }
    long_files.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    if long_files.is_empty() {
        say(&format!(
            "structure: no production file over {MAX_LINES} lines"
        ));
    } else {
        say_plain(&format!(
            "production files over {MAX_LINES} lines (outside #[cfg(test)] items):"
        ));
        for (file, lines) in &long_files {
            say_plain(&format!("  {file}: {lines}"));
        }
    }
    findings += long_files.len();
    if findings == 0 {
        say("structure: no import cycle, no production file over the limit");
        Ok(())
    } else {
        Err(format!(
            "structure: {findings} finding(s) (import cycles, long files or unparsable files; listed above)"
        ))
    }
}

/// The `.rs` files under `src` (paths relative to it, `/`-separated) with their text, sorted.
fn rust_files(src: &Path) -> Result<Vec<(String, String)>, String> {
    let mut files = Vec::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path
                    .strip_prefix(src)
                    .map_err(|e| e.to_string())?
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                files.push((relative, text));
            }
        }
    }
    files.sort();
    Ok(files)
}
