//! Delivery tasks: `cargo xtask docker` (the image build with its OCI labels) and the schema
//! validation of the GitHub workflows, the compose file and the Kubernetes manifests that
//! `cargo xtask lint` runs.
//!
//! The validators are pinned PyPI tools (`crate::python::tool`) that carry their schemas with
//! them, so once installed the checks need no network: `check-jsonschema` with its vendored
//! `vendor.github-workflows` and `vendor.compose-spec` schemas, and `kubernetes-validate` with
//! the bundled schemas of [`KUBERNETES_VERSION`] in strict mode (unknown fields rejected).
//! Before trusting a validator, every run feeds it a deliberately broken document and fails
//! if the validator accepts it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{TaskResult, run, say, workspace_root};

const CHECK_JSONSCHEMA: &[&str] = &["check-jsonschema==0.39.0"];
const KUBERNETES_VALIDATE: &[&str] = &["kubernetes-validate==1.37.0"];
/// The Kubernetes API the manifests are validated against (the oldest release still
/// maintained upstream when this was written; autoscaling/v2 and policy/v1 are GA there).
const KUBERNETES_VERSION: &str = "1.33.0";
/// The image name `cargo xtask docker` tags by default; deploy/k8s/kustomization.yaml uses it.
pub const DEFAULT_TAG: &str = "erp-mif-maroc:dev";

/// What `cargo xtask docker` puts on the image besides the tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labels {
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
pub fn docker_build_args(tags: &[String], labels: &Labels) -> Vec<String> {
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
pub fn docker(tags: Vec<String>, dry_run: bool) -> TaskResult {
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

/// The lint step: schema validation of `.github/workflows/`, `deploy/compose.yaml` and
/// `deploy/k8s/`, plus the kustomization's file list.
///
/// # Errors
/// The first validator that rejects a file (its output names the file and the field), a
/// validator that accepts a broken document, or a kustomization that misses a manifest.
pub fn check() -> TaskResult {
    let root = workspace_root();
    let canary_dir = root.join("target").join("xtask-deploy-canary");
    std::fs::create_dir_all(&canary_dir).map_err(|e| format!("{}: {e}", canary_dir.display()))?;

    let check_jsonschema = crate::python::tool("check-jsonschema", CHECK_JSONSCHEMA)?;
    let workflows = files_with_extensions(&root.join(".github/workflows"), &["yml", "yaml"])?;
    if workflows.is_empty() {
        return Err(".github/workflows: no workflow file".into());
    }
    let schema = |name: &str| {
        let mut cmd = Command::new(&check_jsonschema);
        cmd.args(["--builtin-schema", name]).current_dir(&root);
        cmd
    };
    expect_rejection(
        "check-jsonschema (workflows)",
        schema("vendor.github-workflows").arg(canary(
            &canary_dir,
            "workflow.yml",
            BROKEN_WORKFLOW,
        )?),
    )?;
    run(
        "workflow schema",
        schema("vendor.github-workflows").args(&workflows),
    )?;
    expect_rejection(
        "check-jsonschema (compose)",
        schema("vendor.compose-spec").arg(canary(&canary_dir, "compose.yaml", BROKEN_COMPOSE)?),
    )?;
    run(
        "compose schema",
        schema("vendor.compose-spec").arg("deploy/compose.yaml"),
    )?;

    let k8s_dir = root.join("deploy/k8s");
    let kustomization = std::fs::read_to_string(k8s_dir.join("kustomization.yaml"))
        .map_err(|e| format!("deploy/k8s/kustomization.yaml: {e}"))?;
    let listed = kustomization_resources(&kustomization);
    let present = files_with_extensions(&k8s_dir, &["yaml", "yml"])?;
    let problems = kustomization_problems(&listed, &file_names(&present));
    if !problems.is_empty() {
        return Err(format!(
            "deploy/k8s/kustomization.yaml: {}",
            problems.join("; ")
        ));
    }
    let kubernetes_validate = crate::python::tool("kubernetes-validate", KUBERNETES_VALIDATE)?;
    let validate = || {
        let mut cmd = Command::new(&kubernetes_validate);
        cmd.args(["--kubernetes-version", KUBERNETES_VERSION, "--strict"])
            .current_dir(&k8s_dir);
        cmd
    };
    expect_rejection(
        "kubernetes-validate",
        validate().arg(canary(&canary_dir, "deployment.yaml", BROKEN_DEPLOYMENT)?),
    )?;
    // Everything kustomize applies, and the Secret example (so that it stays a valid Secret).
    let mut manifests: Vec<&str> = listed.iter().map(String::as_str).collect();
    manifests.push(SECRET_EXAMPLE);
    run(
        "kubernetes schema",
        validate().args(["--quiet"]).args(&manifests),
    )?;
    say(&format!(
        "deploy check passed: {} workflow(s), compose, {} Kubernetes manifest(s) (k8s {KUBERNETES_VERSION}, strict); each validator rejected its broken sample",
        workflows.len(),
        manifests.len()
    ));
    Ok(())
}

/// Listed nowhere on purpose: an example, validated but never applied.
const SECRET_EXAMPLE: &str = "secret.example.yaml";

/// A workflow whose job has no `runs-on` and an unknown key.
const BROKEN_WORKFLOW: &str = "on: push\njobs:\n  build:\n    stepz:\n      - run: true\n";
/// A compose service with an unknown key.
const BROKEN_COMPOSE: &str = "services:\n  erp:\n    image: erp\n    restartt: always\n";
/// A Deployment whose only fault is a misspelt probe field: rejected only in strict mode, so a
/// lost `--strict` fails the lint.
const BROKEN_DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: broken\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {app: x}\n  template:\n    metadata:\n      labels: {app: x}\n    spec:\n      containers:\n        - name: x\n          image: x\n          livenessProbe:\n            httpGet: {path: /live, port: 8000}\n            periodSecond: 10\n";

fn canary(dir: &Path, name: &str, text: &str) -> Result<PathBuf, String> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// Runs a validator on a broken document and requires it to fail: a validator that accepts
/// everything (wrong schema, wrong flags, a tool change) must not make the lint pass.
fn expect_rejection(step: &str, cmd: &mut Command) -> TaskResult {
    let out = cmd
        .output()
        .map_err(|e| format!("{step}: cannot run: {e}"))?;
    if out.status.success() {
        Err(format!(
            "{step} ACCEPTED a deliberately broken document ({cmd:?}): it would not catch errors"
        ))
    } else {
        say(&format!("{step}: rejects a broken document, as it must"));
        Ok(())
    }
}

fn files_with_extensions(dir: &Path, extensions: &[&str]) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        let matches = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| extensions.contains(&e));
        if path.is_file() && matches {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn file_names(paths: &[PathBuf]) -> Vec<String> {
    paths
        .iter()
        .filter_map(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_owned))
        .collect()
}

/// The entries of the top-level `resources:` list of a kustomization (a line scanner for our
/// own file: block list, one `- name` per line).
fn kustomization_resources(text: &str) -> Vec<String> {
    let mut resources = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') && !line.starts_with('-') {
            inside = line.trim_end() == "resources:";
            continue;
        }
        if inside && let Some(item) = line.trim().strip_prefix("- ") {
            resources.push(item.trim().trim_matches('"').to_owned());
        }
    }
    resources
}

/// What is wrong between the kustomization's `resources` and the manifests on disk: a listed
/// file that is missing, a manifest that is not listed (forgotten, so never applied), or a
/// listed example.
fn kustomization_problems(listed: &[String], present: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    if listed.is_empty() {
        problems.push("no resources listed".to_owned());
    }
    for name in listed {
        if !present.contains(name) {
            problems.push(format!("lists {name}, which does not exist"));
        }
        if name == SECRET_EXAMPLE {
            problems.push(format!(
                "lists {name}: the example Secret must not be applied"
            ));
        }
    }
    for name in present {
        if name != "kustomization.yaml" && name != SECRET_EXAMPLE && !listed.contains(name) {
            problems.push(format!("{name} is not listed in resources"));
        }
    }
    problems
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

    #[test]
    fn kustomization_resources_are_read_from_the_resources_list_only() {
        let text = "# comment\napiVersion: v1\nresources:\n  - a.yaml\n  # skipped\n  - \"b.yaml\"\nimages:\n  - name: erp\n";
        assert_eq!(
            kustomization_resources(text),
            strings(&["a.yaml", "b.yaml"])
        );
    }

    #[test]
    fn the_real_kustomization_lists_every_manifest_and_no_example() {
        let dir = workspace_root().join("deploy/k8s");
        let text = std::fs::read_to_string(dir.join("kustomization.yaml")).unwrap();
        let present = file_names(&files_with_extensions(&dir, &["yaml", "yml"]).unwrap());
        let listed = kustomization_resources(&text);
        assert!(listed.contains(&"deployment.yaml".to_owned()), "{listed:?}");
        assert_eq!(
            kustomization_problems(&listed, &present),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_forgotten_missing_or_example_manifest_is_reported() {
        let present = strings(&[
            "kustomization.yaml",
            "deployment.yaml",
            "service.yaml",
            SECRET_EXAMPLE,
        ]);
        let problems = kustomization_problems(
            &strings(&["deployment.yaml", "gone.yaml", SECRET_EXAMPLE]),
            &present,
        );
        assert_eq!(
            problems,
            strings(&[
                "lists gone.yaml, which does not exist",
                "lists secret.example.yaml: the example Secret must not be applied",
                "service.yaml is not listed in resources",
            ])
        );
        assert_eq!(
            kustomization_problems(&[], &present)[0],
            "no resources listed"
        );
    }
}
