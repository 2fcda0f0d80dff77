//! deploy/prometheus/alerts.yml and alerts.test.yml, read with a YAML parser (`serde-saphyr`):
//! every alert's expression queries known families, its runbook anchor exists, and the unit
//! tests have a case where it fires and one where it stays silent. promtool parses both files
//! too; its rule count must equal the rules read here.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::metrics::{EXTERNAL_METRICS, check_expr};

/// A Prometheus rules file: only what the checks read.
#[derive(Debug, Deserialize)]
struct RulesFile {
    #[serde(default)]
    groups: Vec<RuleGroup>,
}

#[derive(Debug, Deserialize)]
struct RuleGroup {
    #[serde(default)]
    rules: Vec<Rule>,
}

#[derive(Debug, Deserialize)]
struct Rule {
    alert: Option<String>,
    record: Option<String>,
    expr: String,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

/// A promtool unit-test file: only the alert cases.
#[derive(Debug, Deserialize)]
struct TestFile {
    #[serde(default)]
    tests: Vec<TestGroup>,
}

#[derive(Debug, Deserialize)]
struct TestGroup {
    #[serde(default)]
    alert_rule_test: Vec<AlertCase>,
}

#[derive(Debug, Deserialize)]
struct AlertCase {
    alertname: String,
    /// `[]`: the alert stays silent; items: it fires; absent or null: neither.
    exp_alerts: Option<Vec<IgnoredAny>>,
}

/// GitHub's anchor for a Markdown heading.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// Checks the `expr` and the `runbook_url` of every rule of a rules file
/// (`deploy/prometheus/alerts.yml`). Returns the rule names (alert, else record), one per rule,
/// so that the count can be compared with promtool's.
pub(super) fn check_alerts(yaml: &str, runbook: &str, problems: &mut Vec<String>) -> Vec<String> {
    let file: RulesFile = match serde_saphyr::from_str(yaml) {
        Ok(file) => file,
        Err(e) => {
            problems.push(format!("alerts.yml: cannot be read: {e}"));
            return Vec::new();
        }
    };
    let anchors: BTreeSet<String> = runbook
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .map(|h| anchor(h.trim_start_matches('#')))
        .collect();
    let mut names = Vec::new();
    for rule in file.groups.iter().flat_map(|g| &g.rules) {
        let name = rule
            .alert
            .as_deref()
            .or(rule.record.as_deref())
            .unwrap_or("?");
        names.push(name.to_owned());
        check_expr(
            &format!("alerts.yml {name}"),
            &rule.expr,
            EXTERNAL_METRICS,
            problems,
        );
        if let Some(url) = rule.annotations.get("runbook_url") {
            match url.split_once('#') {
                Some(("docs/operations.md", a)) if anchors.contains(a) => {}
                _ => problems.push(format!(
                    "alerts.yml {name}: runbook_url {url} is not a heading of docs/operations.md"
                )),
            }
        }
    }
    if names.is_empty() {
        problems.push("alerts.yml: no `expr` found".to_owned());
    }
    names
}

/// What `alerts.test.yml` lacks: for every alert, a case where it fires (`exp_alerts` with
/// items) and one where it does not (`exp_alerts: []`); and no case may name an unknown alert
/// (promtool passes a test of a missing alert that expects nothing).
pub(super) fn alert_test_problems(tests: &str, alerts: &[String]) -> Vec<String> {
    let file: TestFile = match serde_saphyr::from_str(tests) {
        Ok(file) => file,
        Err(e) => return vec![format!("alerts.test.yml: cannot be read: {e}")],
    };
    let mut firing = BTreeSet::new();
    let mut silent = BTreeSet::new();
    let mut problems = Vec::new();
    for case in file.tests.iter().flat_map(|t| &t.alert_rule_test) {
        let name = case.alertname.as_str();
        if !alerts.iter().any(|a| a == name) {
            problems.push(format!(
                "alerts.test.yml tests `{name}`, which is not an alert of alerts.yml"
            ));
        }
        match &case.exp_alerts {
            Some(expected) if expected.is_empty() => silent.insert(name),
            Some(_) => firing.insert(name),
            None => false,
        };
    }
    for alert in alerts {
        if !firing.contains(alert.as_str()) {
            problems.push(format!("alerts.test.yml: no case where {alert} fires"));
        }
        if !silent.contains(alert.as_str()) {
            problems.push(format!(
                "alerts.test.yml: no case where {alert} stays silent"
            ));
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
    fn alert_expressions_and_runbook_anchors_are_checked() {
        let yaml = r#"groups:
  - name: g
    rules:
      - alert: Good
        expr: up{job="erp"} == 0
        annotations:
          runbook_url: "docs/operations.md#good-alert"
      - alert: Bad
        expr: |
          sum(rate(unknown_total[5m]))
            /
          sum(rate(http_requests_total[5m])) > 0.05
        for: 5m
        annotations:
          runbook_url: "docs/operations.md#missing"
"#;
        let mut problems = Vec::new();
        assert_eq!(
            check_alerts(yaml, "# Ops\n\n### Good alert\n", &mut problems),
            strings(&["Good", "Bad"])
        );
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(problems[0].contains("Bad: `unknown_total`"));
        assert!(problems[1].contains("#missing"));
    }

    #[test]
    fn every_alert_needs_a_firing_and_a_silent_test() {
        let tests = r#"tests:
  - interval: 1m
    alert_rule_test:
      - eval_time: 5m
        alertname: A
        exp_alerts:
          - exp_labels:
              severity: critical
      - eval_time: 1m
        alertname: A
        exp_alerts: []
      - eval_time: 5m
        alertname: B
        exp_alerts: []
      - eval_time: 5m
        alertname: C
        exp_alerts:
      - eval_time: 5m
        alertname: Typo
        exp_alerts: []
"#;
        assert_eq!(
            alert_test_problems(tests, &strings(&["A", "B", "C"])),
            strings(&[
                "alerts.test.yml tests `Typo`, which is not an alert of alerts.yml",
                "alerts.test.yml: no case where B fires",
                "alerts.test.yml: no case where C fires",
                "alerts.test.yml: no case where C stays silent",
            ])
        );
    }

    #[test]
    fn every_yaml_form_of_a_rule_is_read() {
        // Flow style, a folded block, a quoted scalar, a record rule and comments: forms a line
        // scanner would miss, each counted once (promtool's count must match).
        let yaml = r#"# rules
groups: [{name: flow, rules: [{alert: Flow, expr: 'up{job="erp"} == 0'}]}]
"#;
        let mut problems = Vec::new();
        assert_eq!(check_alerts(yaml, "", &mut problems), strings(&["Flow"]));
        assert_eq!(problems, Vec::<String>::new());
        let yaml = r#"groups:
  - name: g
    rules:
      - record: job:up:sum   # a recording rule
        expr: sum(up{job="erp"})
      - alert: Folded
        expr: >-
          sum(rate(http_requests_total[5m]))
          > 1
        annotations: {runbook_url: "docs/operations.md#folded"}
      - alert: "Quoted"
        expr: "absent(app_ready{job=\"erp\"})"
"#;
        assert_eq!(
            check_alerts(yaml, "## Folded\n", &mut problems),
            strings(&["job:up:sum", "Folded", "Quoted"])
        );
        assert_eq!(problems, Vec::<String>::new());
    }

    #[test]
    fn unreadable_files_are_reported() {
        let mut problems = Vec::new();
        assert!(check_alerts("groups: [", "", &mut problems).is_empty());
        assert!(
            problems[0].starts_with("alerts.yml: cannot be read"),
            "{problems:?}"
        );
        let problems = alert_test_problems("tests:\n  - alert_rule_test: 3\n", &strings(&["A"]));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("alerts.test.yml: cannot be read"));
    }
}
