//! `cargo xtask monitoring` (also run by `lint`): checks of the Prometheus and Grafana files
//! under `deploy/`.
//!
//! Always (no tool needed):
//! - every `deploy/grafana/**/*.json` parses, is a dashboard with the templated data source and
//!   the `job` and `instance` variables, its panels query only the metric families below, and
//!   every selector of every target has a `job` matcher on `$job` and an `instance` matcher on
//!   `$instance` (each run also feeds this check a dashboard without `$job`, which it must
//!   reject);
//! - every `expr` of `deploy/prometheus/alerts.yml` queries only those families or the
//!   kube-state-metrics families of [`EXTERNAL_METRICS`], every `runbook_url` anchor exists in
//!   `docs/operations.md`, and `alerts.test.yml` has a case where each alert fires and one where
//!   it does not.
//!
//! With `promtool` on PATH (said loudly as SKIPPED when it is not, a failure with
//! `ERP_REQUIRE_PROMTOOL=1`): `check config`, `check rules` (its rule count must equal the
//! alerts read above), `test rules alerts.test.yml`, and the dashboard test: every target
//! becomes a recording rule evaluated by `promtool test rules` in a Prometheus shared with
//! another service — with `$job` = `erp` the issue-21 figures are right ("Instances up" 1, 5xx
//! ratio 0) and the other service's series reach no panel; with the job scope removed
//! (`$job` = `.*`, the dashboard as it was) they read 3 and 50 % and reach every panel. Before
//! trusting promtool, each run feeds it a broken configuration, a broken rules file and two
//! failing unit tests, and fails if it accepts any of them.

//!
//! Modules: [`metrics`] (the families), [`promql`] (the expression reader), [`dashboard`],
//! [`alerts`] (alerts.yml and alerts.test.yml, read with a YAML parser), [`promtool`] and
//! [`shared`] (the dashboard's shared-Prometheus test).

use std::path::Path;

use serde_json::Value;

use crate::{TaskResult, say, workspace_root};

mod alerts;
mod dashboard;
mod metrics;
mod promql;
mod promtool;
mod shared;

use alerts::{alert_test_problems, check_alerts};
use dashboard::{check_dashboard, dashboard_check_rejects_a_broken_sample, json_files};
use metrics::{EXTERNAL_METRICS, METRICS};
use promtool::promtool;

pub(crate) fn check() -> TaskResult {
    let root = workspace_root();
    let mut problems = Vec::new();
    let files = json_files(&root.join("deploy/grafana"))?;
    if files.is_empty() {
        problems.push("deploy/grafana: no dashboard JSON".to_owned());
    }
    let mut dashboards = Vec::new();
    let mut panel_count = 0;
    for path in &files {
        let shown = path
            .strip_prefix(&root)
            .unwrap_or(path)
            .display()
            .to_string();
        let text = std::fs::read_to_string(path).map_err(|e| format!("{shown}: {e}"))?;
        match serde_json::from_str::<Value>(&text) {
            Ok(dashboard) => {
                panel_count += check_dashboard(&shown, &dashboard, &mut problems);
                dashboards.push((shown, dashboard));
            }
            Err(e) => problems.push(format!("{shown}: invalid JSON: {e}")),
        }
    }
    dashboard_check_rejects_a_broken_sample()?;
    let prometheus = root.join("deploy/prometheus");
    let read =
        |path: &Path| std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()));
    let alerts_text = read(&prometheus.join("alerts.yml"))?;
    let tests_text = read(&prometheus.join("alerts.test.yml"))?;
    let runbook = read(&root.join("docs/operations.md"))?;
    let alerts = check_alerts(&alerts_text, &runbook, &mut problems);
    problems.extend(alert_test_problems(&tests_text, &alerts));
    if !problems.is_empty() {
        return Err(format!("monitoring files:\n  {}", problems.join("\n  ")));
    }
    say(&format!(
        "monitoring: {} dashboard(s), {panel_count} panels query only the {} known metric families, every target scoped by $job and $instance; {} alerts query only known families (+ {} kube-state-metrics ones), runbook anchors exist, each alert has a firing and a silent test",
        dashboards.len(),
        METRICS.len(),
        alerts.len(),
        EXTERNAL_METRICS.len()
    ));
    if promtool(&root, &prometheus, alerts.len(), &dashboards)? {
        say("monitoring: promtool checks passed");
    } else {
        say("monitoring: promtool SKIPPED (see above)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::{SCOPED, dashboard_records, dashboard_test_yaml};

    #[test]
    fn the_repository_files_pass() {
        let root = workspace_root();
        let mut problems = Vec::new();
        for path in json_files(&root.join("deploy/grafana")).unwrap() {
            let dash: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            assert!(check_dashboard(&path.display().to_string(), &dash, &mut problems) >= 20);
            let values = [
                ("job", "erp"),
                ("instance", ".*"),
                ("__rate_interval", "5m"),
                ("__interval", "1m"),
                ("__range", "1h"),
            ];
            let records = dashboard_records(&dash, &values).unwrap();
            assert!(records.iter().all(|r| r.expr.contains("job=~\"erp\"")));
            dashboard_test_yaml("r.yml", &records, SCOPED).unwrap();
        }
        let alerts = std::fs::read_to_string(root.join("deploy/prometheus/alerts.yml")).unwrap();
        let tests =
            std::fs::read_to_string(root.join("deploy/prometheus/alerts.test.yml")).unwrap();
        let runbook = std::fs::read_to_string(root.join("docs/operations.md")).unwrap();
        let names = check_alerts(&alerts, &runbook, &mut problems);
        assert!(names.len() >= 19, "{names:?}");
        for alert in [
            "ErpTargetsAbsent",
            "ErpSchedulerMetricsAbsent",
            "ErpMemoryNearLimit",
            "ErpOOMKilled",
            "ErpPodRestarting",
        ] {
            assert!(names.iter().any(|n| n == alert), "{alert}");
        }
        problems.extend(alert_test_problems(&tests, &names));
        assert!(problems.is_empty(), "{problems:#?}");
    }
}
