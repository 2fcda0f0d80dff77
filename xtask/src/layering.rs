//! `cargo xtask layering`: the arrows of ARCHITECTURE.md between the workspace crates.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde_json::Value;

use crate::{TaskResult, cargo, say};

/// Crates the inner layers may never reach, directly or transitively.
const FORBIDDEN_FOR_CORE: &[&str] = &[
    "erp-persistence",
    "erp-http",
    "erp-security",
    "erp-storage",
    "erp-server",
    "erp-redis",
    "redis",
    "object_store",
    "actix-web",
    "actix-rt",
    "actix-http",
    "diesel",
    "diesel_migrations",
    "r2d2",
    "libsqlite3-sys",
    "pq-sys",
    "tokio",
    "reqwest",
    "hyper",
];

/// Checks the arrows of ARCHITECTURE.md: `domain` and `application` depend (normal
/// dependencies, transitively) on no adapter or I/O crate, and `domain` not on `application`.
pub(crate) fn check() -> TaskResult {
    let out = cargo()
        .args(["metadata", "--format-version", "1", "--locked"])
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let meta: Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata output: {e}"))?;
    let violations = layering_violations(&meta)?;
    if violations.is_empty() {
        say("layering: domain and application depend on no adapter, actix, diesel or tokio");
        Ok(())
    } else {
        Err(format!("layering violated:\n  {}", violations.join("\n  ")))
    }
}

fn layering_violations(meta: &Value) -> Result<Vec<String>, String> {
    let packages = meta["packages"]
        .as_array()
        .ok_or("metadata without packages")?;
    let names: BTreeMap<&str, &str> = packages
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p["name"].as_str()?)))
        .collect();
    let nodes = meta["resolve"]["nodes"]
        .as_array()
        .ok_or("metadata without resolve graph")?;
    // Normal (non-dev, non-build) edges only: tests may use anything.
    let mut edges: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for node in nodes {
        let Some(id) = node["id"].as_str() else {
            continue;
        };
        let deps = node["deps"].as_array().into_iter().flatten().filter(|d| {
            d["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].is_null())
        });
        edges.insert(id, deps.filter_map(|d| d["pkg"].as_str()).collect());
    }
    let mut violations = Vec::new();
    for (layer, extra) in [
        ("erp-domain", &["erp-application"][..]),
        ("erp-application", &[][..]),
    ] {
        let Some(root) = names.iter().find(|(_, n)| **n == layer).map(|(id, _)| *id) else {
            return Err(format!("{layer} not found in the workspace"));
        };
        let mut seen = BTreeSet::new();
        let mut queue = VecDeque::from([(root, vec![layer])]);
        while let Some((id, path)) = queue.pop_front() {
            for dep in edges.get(id).into_iter().flatten() {
                if !seen.insert(*dep) {
                    continue;
                }
                let name = names.get(dep).copied().unwrap_or("?");
                let mut next = path.clone();
                next.push(name);
                if FORBIDDEN_FOR_CORE.contains(&name)
                    || extra.contains(&name)
                    || name.starts_with("actix")
                {
                    violations.push(next.join(" -> "));
                }
                queue.push_back((dep, next));
            }
        }
    }
    Ok(violations)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn meta(edges: &[(&str, &str)]) -> Value {
        let mut names: BTreeSet<&str> = BTreeSet::new();
        for (a, b) in edges {
            names.insert(a);
            names.insert(b);
        }
        names.insert("erp-domain");
        names.insert("erp-application");
        let packages: Vec<Value> = names.iter().map(|n| json!({"id": n, "name": n})).collect();
        let nodes: Vec<Value> = names
            .iter()
            .map(|n| {
                let deps: Vec<Value> = edges
                    .iter()
                    .filter(|(a, _)| a == n)
                    .map(|(_, b)| json!({"pkg": b, "dep_kinds": [{"kind": null}]}))
                    .collect();
                json!({"id": n, "deps": deps})
            })
            .collect();
        json!({"packages": packages, "resolve": {"nodes": nodes}})
    }

    #[test]
    fn a_clean_graph_passes() {
        let m = meta(&[("erp-application", "erp-domain"), ("erp-domain", "chrono")]);
        assert!(layering_violations(&m).unwrap().is_empty());
    }

    #[test]
    fn direct_and_transitive_adapter_dependencies_are_reported_with_their_path() {
        let m = meta(&[
            ("erp-domain", "diesel"),
            ("erp-application", "helper"),
            ("helper", "tokio"),
        ]);
        let v = layering_violations(&m).unwrap();
        assert!(v.contains(&"erp-domain -> diesel".to_owned()), "{v:?}");
        assert!(
            v.contains(&"erp-application -> helper -> tokio".to_owned()),
            "{v:?}"
        );
    }

    #[test]
    fn domain_may_not_depend_on_application() {
        let m = meta(&[("erp-domain", "erp-application")]);
        assert_eq!(
            layering_violations(&m).unwrap(),
            vec!["erp-domain -> erp-application".to_owned()]
        );
    }
}
