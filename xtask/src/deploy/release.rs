//! The release sequence of `deploy/k8s/deploy.sh`, run against a recording `kubectl` double
//! (Job Complete, Failed, and never finishing), and what it renders with each component.

use std::path::Path;
use std::process::Command;

use super::kustomize;
use crate::checks::canary;
use crate::{TaskResult, say};

/// A `kubectl` test double for deploy.sh: it records every call, renders `kubectl kustomize`
/// with the pinned kustomize, and answers the Job's conditions from `FAKE_JOB_CONDITIONS`
/// from the `FAKE_JOB_AFTER`-th poll on (nothing before: the Job still runs).
pub(super) const FAKE_KUBECTL: &str = r#"#!/usr/bin/env bash
set -euo pipefail
printf '%s\n' "$*" >> "$FAKE_KUBECTL_LOG"
if [ "$1" = kustomize ]; then
    "$FAKE_PYTHON" "$FAKE_RENDER_PY" "$FAKE_VERSION" "$2" "$FAKE_OUT.yaml" "$FAKE_OUT.json" >&2
    cat "$FAKE_OUT.yaml"
    exit 0
fi
case " $* " in
    *" get job erp-migrate "*)
        polls=$(( $(cat "$FAKE_KUBECTL_LOG.polls" 2>/dev/null || echo 0) + 1 ))
        echo "$polls" > "$FAKE_KUBECTL_LOG.polls"
        if [ "$polls" -ge "${FAKE_JOB_AFTER:-1}" ]; then printf '%s' "${FAKE_JOB_CONDITIONS:-}"; fi
        ;;
esac
"#;

/// Runs deploy.sh with the `kubectl` double in `out/bin`; returns its exit status and the
/// recorded calls.
pub(super) fn run_deploy_sh(
    renderer: &kustomize::Renderer,
    deploy_sh: &Path,
    out: &Path,
    env: &[(&str, &str)],
) -> Result<(bool, String), String> {
    let bin = out.join("bin");
    std::fs::create_dir_all(&bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    let kubectl = canary(&bin, "kubectl", FAKE_KUBECTL)?;
    make_executable(&kubectl)?;
    let log = out.join("kubectl.log");
    let _ = std::fs::remove_file(&log);
    let _ = std::fs::remove_file(out.join("kubectl.log.polls"));
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("bash");
    cmd.arg(deploy_sh)
        .env("PATH", path)
        .env("FAKE_KUBECTL_LOG", &log)
        .env("FAKE_PYTHON", renderer.python())
        .env("FAKE_RENDER_PY", renderer.script())
        .env("FAKE_VERSION", kustomize::LIBRARY_VERSION)
        .env("FAKE_OUT", out.join("rendered"))
        .env("IMAGE_REF", FAKE_IMAGE)
        .env_remove("RENDER_ONLY")
        .env_remove("COMPONENTS")
        .env_remove("KUBECONFIG_DATA");
    for (key, value) in env {
        cmd.env(key, value);
    }
    let output = cmd
        .output()
        .map_err(|e| format!("deploy.sh: cannot run: {e}"))?;
    let calls = std::fs::read_to_string(&log).unwrap_or_default();
    if !output.status.success() {
        say(&format!(
            "deploy.sh exited {} (stderr: {})",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok((output.status.success(), calls))
}

/// An image reference pinned by digest, as deploy.sh requires.
pub(super) const FAKE_IMAGE: &str =
    "registry.example/erp@sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// What `RENDER_ONLY=1 deploy.sh` renders with `components`.
pub(super) fn render_through_deploy_sh(
    renderer: &kustomize::Renderer,
    deploy_sh: &Path,
    out: &Path,
    namespace: &str,
    components: &[String],
) -> Result<Vec<serde_json::Value>, String> {
    let joined = components.join(" ");
    let (ok, _) = run_deploy_sh(
        renderer,
        deploy_sh,
        out,
        &[
            ("RENDER_ONLY", "1"),
            ("NAMESPACE", namespace),
            ("COMPONENTS", &joined),
        ],
    )?;
    if !ok {
        return Err(format!(
            "RENDER_ONLY deploy.sh with COMPONENTS={joined:?} failed"
        ));
    }
    let json_path = out.join("rendered.json");
    let text =
        std::fs::read_to_string(&json_path).map_err(|e| format!("{}: {e}", json_path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", json_path.display()))?;
    let objects = value
        .get("resources")
        .and_then(serde_json::Value::as_array)
        .cloned()
        .ok_or("no resources rendered")?;
    let image_pinned = objects.iter().all(|o| {
        o.pointer("/spec/template/spec/containers")
            .and_then(serde_json::Value::as_array)
            .is_none_or(|cs| {
                cs.iter()
                    .all(|c| c.get("image").and_then(serde_json::Value::as_str) == Some(FAKE_IMAGE))
            })
    });
    if !image_pinned {
        return Err(format!(
            "deploy.sh did not pin every container to {FAKE_IMAGE}"
        ));
    }
    Ok(objects)
}

/// One step of a deploy.sh run, from a recorded `kubectl` call.
pub(super) fn release_step(call: &str) -> &'static str {
    let has = |part: &str| call.contains(part);
    if call.starts_with("kustomize ") {
        "render"
    } else if has("delete job erp-migrate") {
        "delete-job"
    } else if has("apply ") && has("component in (config,migration)") {
        "apply-migration"
    } else if has("get job erp-migrate") {
        "poll"
    } else if has("apply ") && has("component!=migration") {
        "apply-rest"
    } else if has("rollout status deployment/erp") {
        "rollout"
    } else if has("describe job erp-migrate") {
        "describe-job"
    } else if has("logs ") && has("job-name=erp-migrate") {
        "job-logs"
    } else if has("get deployment erp") {
        "show"
    } else {
        "other"
    }
}

pub(super) fn release_steps(calls: &str) -> Vec<&'static str> {
    calls.lines().map(release_step).collect()
}

/// A release scenario: its name, the double's settings, whether deploy.sh must succeed, and
/// the steps it must take.
pub(super) type Scenario<'a> = (&'a str, &'a [(&'a str, &'a str)], bool, &'a [&'a str]);

/// The release sequence of deploy.sh against the `kubectl` double: with a Job that completes
/// (after one poll still running), the rest is applied after it; with a Job that fails, or
/// never finishes, deploy.sh stops with the Job's description and logs and applies nothing
/// else.
pub(super) fn release_sequence(
    renderer: &kustomize::Renderer,
    deploy_sh: &Path,
    canary_dir: &Path,
) -> TaskResult {
    let scenarios: [Scenario<'_>; 3] = [
        (
            "Job complete",
            &[
                ("FAKE_JOB_CONDITIONS", "SuccessCriteriaMet Complete "),
                ("FAKE_JOB_AFTER", "2"),
            ],
            true,
            &[
                "render",
                "delete-job",
                "apply-migration",
                "poll",
                "poll",
                "apply-rest",
                "rollout",
                "show",
            ],
        ),
        (
            "Job failed",
            &[("FAKE_JOB_CONDITIONS", "FailureTarget Failed ")],
            false,
            &[
                "render",
                "delete-job",
                "apply-migration",
                "poll",
                "describe-job",
                "job-logs",
            ],
        ),
        (
            "Job never finishes",
            &[("FAKE_JOB_CONDITIONS", ""), ("JOB_TIMEOUT", "0")],
            false,
            &[
                "render",
                "delete-job",
                "apply-migration",
                "poll",
                "describe-job",
                "job-logs",
            ],
        ),
    ];
    for (index, (label, env, succeeds, expected)) in scenarios.iter().enumerate() {
        let out = canary_dir.join(format!("release-{index}"));
        let mut env = env.to_vec();
        env.extend([
            ("KUBECONFIG_DATA", "apiVersion: v1\nkind: Config\n"),
            ("POLL_SECONDS", "0"),
            ("NAMESPACE", "erp"),
        ]);
        let (ok, calls) = run_deploy_sh(renderer, deploy_sh, &out, &env)?;
        let steps = release_steps(&calls);
        if ok != *succeeds || steps != *expected {
            return Err(format!(
                "deploy.sh, {label}: exit {}, kubectl calls {steps:?}; expected {} and {expected:?}",
                if ok { "0" } else { "non-zero" },
                if *succeeds { "0" } else { "non-zero" }
            ));
        }
        say(&format!("deploy.sh, {label}: {}", steps.join(" → ")));
    }
    Ok(())
}

#[cfg(unix)]
pub(super) fn make_executable(path: &Path) -> TaskResult {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(not(unix))]
pub(super) fn make_executable(_: &Path) -> TaskResult {
    Err("the deploy check needs a Unix system (bash, the kustomize library)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_release_steps_are_read_from_the_kubectl_calls() {
        let calls = "kustomize /tmp/x\n-n erp delete job erp-migrate --ignore-not-found --cascade=foreground --wait=true\n\
                     -n erp apply -f /tmp/x/rendered.yaml -l app.kubernetes.io/component in (config,migration)\n\
                     -n erp get job erp-migrate -o jsonpath=x\n\
                     -n erp apply -f /tmp/x/rendered.yaml -l app.kubernetes.io/component!=migration\n\
                     -n erp rollout status deployment/erp --timeout=10m\n\
                     -n erp describe job erp-migrate\n\
                     -n erp logs -l job-name=erp-migrate --all-containers\n\
                     -n erp get deployment erp -o wide\n-n erp apply -f all.yaml\n";
        assert_eq!(
            release_steps(calls),
            [
                "render",
                "delete-job",
                "apply-migration",
                "poll",
                "apply-rest",
                "rollout",
                "describe-job",
                "job-logs",
                "show",
                "other"
            ]
        );
    }
}
