//! `cargo xtask docker`: the image build with its OCI labels.

use std::path::Path;
use std::process::Command;

use crate::{TaskResult, run, say, workspace_root};

/// The image name `cargo xtask docker` tags by default; deploy/k8s/kustomization.yaml uses it.
pub(super) const DEFAULT_TAG: &str = "erp-mif-maroc:dev";

/// What `cargo xtask docker` puts on the image besides the tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Labels {
    /// `org.opencontainers.image.version`: the workspace version.
    pub version: String,
    /// `org.opencontainers.image.revision`: the commit.
    pub revision: String,
    /// `org.opencontainers.image.created`: the commit's time, so one commit gives one label set.
    pub created: String,
    /// `org.opencontainers.image.source`: the repository URL, when `origin` is known.
    pub source: Option<String>,
}

/// The `docker build` command line, from the repository root.
#[must_use]
pub(super) fn docker_build_args(tags: &[String], labels: &Labels) -> Vec<String> {
    let mut args: Vec<String> = vec!["build".into(), "-f".into(), "deploy/Dockerfile".into()];
    for tag in tags {
        args.extend(["-t".into(), tag.clone()]);
    }
    let mut build_arg = |name: &str, value: &str| {
        args.extend(["--build-arg".into(), format!("{name}={value}")]);
    };
    build_arg("VERSION", &labels.version);
    build_arg("REVISION", &labels.revision);
    build_arg("CREATED", &labels.created);
    if let Some(source) = &labels.source {
        build_arg("SOURCE", source);
    }
    args.push(".".into());
    args
}

/// `cargo xtask docker`: prints the build command, then runs it when a Docker engine answers.
///
/// # Errors
/// When git cannot say the revision, no Docker engine answers (after printing the command), or
/// the build fails.
pub(crate) fn docker(tags: Vec<String>, dry_run: bool) -> TaskResult {
    let root = workspace_root();
    let tags = if tags.is_empty() {
        vec![DEFAULT_TAG.to_owned()]
    } else {
        tags
    };
    let labels = labels(&root)?;
    let args = docker_build_args(&tags, &labels);
    say(&format!(
        "DOCKER_BUILDKIT=1 docker {}",
        args.iter()
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    ));
    if dry_run {
        say("--dry-run: not built");
        return Ok(());
    }
    let engine = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output();
    match engine {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            return Err(format!(
                "no Docker engine answers (`docker info` failed: {}): the build above was NOT run",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Err(e) => {
            return Err(format!(
                "no Docker client (`docker info`: {e}): the build above was NOT run"
            ));
        }
    }
    run(
        "docker build",
        Command::new("docker")
            .args(&args)
            .env("DOCKER_BUILDKIT", "1")
            .current_dir(&root),
    )
}

fn labels(root: &Path) -> Result<Labels, String> {
    let git = |args: &[&str]| -> Result<String, String> {
        let out = Command::new("git")
            .args(args)
            .current_dir(root)
            .env("TZ", "UTC")
            .output()
            .map_err(|e| format!("git: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        } else {
            Err(format!(
                "git {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    };
    let revision = git(&["rev-parse", "HEAD"])?;
    if !git(&["status", "--porcelain", "--untracked-files=no"])?.is_empty() {
        say(&format!(
            "warning: uncommitted changes are built but the revision label says {revision}"
        ));
    }
    let created = git(&[
        "log",
        "-1",
        "--format=%cd",
        "--date=format-local:%Y-%m-%dT%H:%M:%SZ",
    ])?;
    let source = git(&["remote", "get-url", "origin"])
        .ok()
        .and_then(|url| https_url(&url));
    Ok(Labels {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        revision,
        created,
        source,
    })
}

/// A browsable https URL for a git remote (`git@host:owner/repo.git` or https), else `None`.
fn https_url(remote: &str) -> Option<String> {
    let remote = remote.trim().trim_end_matches(".git");
    if let Some(rest) = remote.strip_prefix("git@") {
        let (host, path) = rest.split_once(':')?;
        return Some(format!("https://{host}/{path}"));
    }
    remote.starts_with("https://").then(|| remote.to_owned())
}

fn shell_quote(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@+,".contains(c))
    {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_build_command_carries_every_label_and_tag() {
        let labels = Labels {
            version: "0.1.0".into(),
            revision: "abc123".into(),
            created: "2026-01-02T03:04:05Z".into(),
            source: Some("https://github.com/o/r".into()),
        };
        let args = docker_build_args(&strings(&["a:1", "b:2"]), &labels);
        assert_eq!(
            args.join(" "),
            "build -f deploy/Dockerfile -t a:1 -t b:2 --build-arg VERSION=0.1.0 \
             --build-arg REVISION=abc123 --build-arg CREATED=2026-01-02T03:04:05Z \
             --build-arg SOURCE=https://github.com/o/r ."
        );
        let no_source = docker_build_args(
            &strings(&["a:1"]),
            &Labels {
                source: None,
                ..labels
            },
        );
        assert!(!no_source.iter().any(|a| a.starts_with("SOURCE=")));
        assert_eq!(no_source.last().map(String::as_str), Some("."));
    }

    #[test]
    fn remotes_become_browsable_urls() {
        assert_eq!(
            https_url("git@github.com:o/r.git").as_deref(),
            Some("https://github.com/o/r")
        );
        assert_eq!(
            https_url("https://github.com/o/r.git\n").as_deref(),
            Some("https://github.com/o/r")
        );
        assert_eq!(https_url("/srv/git/repo"), None);
    }

    #[test]
    fn shell_quoting_keeps_plain_words_and_quotes_the_rest() {
        assert_eq!(shell_quote("VERSION=0.1.0"), "VERSION=0.1.0");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
