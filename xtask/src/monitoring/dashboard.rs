//! The Grafana dashboards of deploy/grafana: structure, templated data source, the `job` and
//! `instance` variables, and every target's metric names and scoping.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::metrics::check_expr;
use super::promql::scoping_problems;
use crate::{TaskResult, say};

/// A dashboard whose only target is not scoped by `$job` (the issue-21 bug): the check must
/// say so, or it would not catch a regression.
pub(super) fn dashboard_check_rejects_a_broken_sample() -> TaskResult {
    let broken = serde_json::json!({
        "uid": "canary", "title": "Canary", "schemaVersion": 39,
        "templating": {"list": [
            {"name": "datasource", "type": "datasource", "query": "prometheus"},
            {"name": "job", "type": "query"},
            {"name": "instance", "type": "query"}
        ]},
        "panels": [{
            "id": 1, "type": "stat", "title": "Instances up", "gridPos": {},
            "datasource": {"uid": "${datasource}"},
            "targets": [{"refId": "A", "expr": "sum(up{instance=~\"$instance\"})"}]
        }]
    });
    let mut problems = Vec::new();
    check_dashboard("canary", &broken, &mut problems);
    if problems.len() == 1 && problems[0].contains("does not filter on $job") {
        say("dashboard scoping check: rejects a target without $job, as it must");
        Ok(())
    } else {
        Err(format!(
            "the dashboard scoping check did not reject a target without $job as expected: {problems:?}"
        ))
    }
}

/// Every panel of a dashboard, rows' nested panels included, in id order.
pub(super) fn all_panels(dash: &Value) -> Vec<&Value> {
    let mut panels: Vec<&Value> = Vec::new();
    let mut stack: Vec<&Value> = dash["panels"].as_array().into_iter().flatten().collect();
    while let Some(p) = stack.pop() {
        stack.extend(p["panels"].as_array().into_iter().flatten());
        panels.push(p);
    }
    panels.sort_by_key(|p| p["id"].as_u64());
    panels
}

pub(super) fn json_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Datasource references must go through the dashboard's `datasource` variable.
pub(super) fn templated_datasource(ds: &Value) -> bool {
    match ds {
        Value::String(s) => s == "$datasource" || s == "${datasource}",
        Value::Object(o) => o
            .get("uid")
            .and_then(Value::as_str)
            .is_some_and(|uid| uid == "$datasource" || uid == "${datasource}"),
        _ => false,
    }
}

/// Checks one dashboard; returns its number of query panels.
pub(super) fn check_dashboard(file: &str, dash: &Value, problems: &mut Vec<String>) -> usize {
    if dash["schemaVersion"].as_u64().is_none_or(|v| v < 38) {
        problems.push(format!("{file}: schemaVersion must be >= 38"));
    }
    for key in ["uid", "title"] {
        if dash[key].as_str().is_none_or(str::is_empty) {
            problems.push(format!("{file}: no `{key}`"));
        }
    }
    let vars = dash["templating"]["list"].as_array();
    let var = |name: &str| {
        vars.into_iter()
            .flatten()
            .find(|v| v["name"].as_str() == Some(name))
    };
    match var("datasource") {
        Some(v) if v["type"] == "datasource" && v["query"] == "prometheus" => {}
        _ => problems.push(format!(
            "{file}: needs a `datasource` variable of type datasource (query prometheus)"
        )),
    }
    for name in ["job", "instance"] {
        if var(name).is_none() {
            problems.push(format!("{file}: needs a `{name}` variable"));
        }
    }
    let panels = all_panels(dash);
    if panels.is_empty() {
        problems.push(format!("{file}: no panels"));
    }
    let mut ids = BTreeSet::new();
    let mut queried = 0;
    for p in panels {
        let title = p["title"].as_str().unwrap_or("?");
        let ctx = format!("{file}: panel {title:?}");
        match p["id"].as_u64() {
            Some(id) if ids.insert(id) => {}
            _ => problems.push(format!("{ctx}: missing or duplicate id")),
        }
        if p["gridPos"].as_object().is_none() {
            problems.push(format!("{ctx}: no gridPos"));
        }
        if matches!(p["type"].as_str(), Some("row" | "text")) {
            continue;
        }
        if !templated_datasource(&p["datasource"]) {
            problems.push(format!("{ctx}: datasource must be ${{datasource}}"));
        }
        let Some(targets) = p["targets"].as_array().filter(|t| !t.is_empty()) else {
            problems.push(format!("{ctx}: no `targets`"));
            continue;
        };
        queried += 1;
        for t in targets {
            let ref_id = t["refId"].as_str().unwrap_or("?");
            let ctx = format!("{ctx} target {ref_id}");
            if !t["datasource"].is_null() && !templated_datasource(&t["datasource"]) {
                problems.push(format!("{ctx}: datasource must be ${{datasource}}"));
            }
            match t["expr"].as_str().filter(|e| !e.trim().is_empty()) {
                Some(expr) => {
                    check_expr(&ctx, expr, &[], problems);
                    problems.extend(
                        scoping_problems(expr)
                            .into_iter()
                            .map(|p| format!("{ctx}: {p}")),
                    );
                }
                None => problems.push(format!("{ctx}: no `expr`")),
            }
        }
    }
    queried
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(crate) fn dashboard(panels: &Value) -> Value {
        serde_json::json!({
            "uid": "d", "title": "D", "schemaVersion": 39,
            "templating": {"list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus"},
                {"name": "job", "type": "query"},
                {"name": "instance", "type": "query"}
            ]},
            "panels": panels
        })
    }

    #[test]
    fn unknown_metrics_unscoped_targets_and_hard_coded_datasources_are_reported() {
        let dash = dashboard(&serde_json::json!([
            {"id": 1, "type": "row", "title": "r", "gridPos": {}, "panels": [
                {"id": 2, "type": "timeseries", "title": "typo", "gridPos": {},
                 "datasource": {"uid": "${datasource}"},
                 "targets": [{"refId": "A", "expr": "rate(http_request_total{job=~\"$job\",instance=~\"$instance\"}[5m])"}]}
            ]},
            {"id": 3, "type": "stat", "title": "empty", "gridPos": {}, "datasource": {"uid": "${datasource}"}},
            {"id": 4, "type": "stat", "title": "fixed", "gridPos": {}, "datasource": {"uid": "abc"},
             "targets": [{"refId": "A", "expr": "up{job=~\"$job\",instance=~\"$instance\"}"}]},
            {"id": 5, "type": "stat", "title": "shared", "gridPos": {}, "datasource": {"uid": "${datasource}"},
             "targets": [{"refId": "B", "expr": "sum(up{instance=~\"$instance\"})"}]}
        ]));
        let mut problems = Vec::new();
        assert_eq!(check_dashboard("d.json", &dash, &mut problems), 3);
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(
            problems
                .iter()
                .any(|p| p.contains("\"typo\" target A: `http_request_total`"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("\"empty\": no `targets`"))
        );
        assert!(problems.iter().any(|p| p.contains("\"fixed\": datasource")));
        assert!(
            problems
                .iter()
                .any(|p| p.contains("\"shared\" target B: `up` does not filter on $job"))
        );
    }

    #[test]
    fn a_dashboard_without_the_job_variable_is_reported() {
        let mut dash = dashboard(&serde_json::json!([]));
        dash["templating"]["list"]
            .as_array_mut()
            .unwrap()
            .retain(|v| v["name"] != "job");
        let mut problems = Vec::new();
        check_dashboard("d.json", &dash, &mut problems);
        assert!(
            problems.contains(&"d.json: needs a `job` variable".to_owned()),
            "{problems:?}"
        );
    }

    #[test]
    fn the_run_canary_is_rejected_for_its_missing_job_only() {
        assert_eq!(dashboard_check_rejects_a_broken_sample(), Ok(()));
    }
}
