//! `cargo xtask monitoring` (also run by `lint`): checks of the Prometheus and Grafana files
//! under `deploy/`.
//!
//! - `promtool check config`, `check rules` and `test rules` when `promtool` is on PATH; said
//!   loudly as SKIPPED when it is not (or a failure with `ERP_REQUIRE_PROMTOOL=1`).
//! - Every `deploy/grafana/**/*.json` parses, is a dashboard with the templated data source and
//!   `instance` variable, and every panel queries only the metric families below.
//! - Every `expr` of `deploy/prometheus/alerts.yml` queries only those families, and every
//!   `runbook_url` anchor exists in `docs/operations.md`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::{TaskResult, run, say, workspace_root};

/// How a family's series are named in Prometheus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Counters and gauges: the family name itself.
    Plain,
    /// Histograms: `<name>_bucket`, `<name>_sum`, `<name>_count`.
    Histogram,
}

/// The metric families the server exposes at `/metrics` (API.md §3.1 and the observability
/// issue; names are contractual). The only names dashboards and alerts may query, with `up`.
const METRICS: &[(&str, Kind)] = &[
    ("http_requests_total", Kind::Plain),
    ("http_request_duration_seconds", Kind::Histogram),
    ("http_requests_in_progress", Kind::Plain),
    ("db_pool_connections", Kind::Plain),
    ("db_query_duration_seconds", Kind::Histogram),
    ("auth_attempts_total", Kind::Plain),
    ("auth_lockouts_total", Kind::Plain),
    ("rate_limit_rejections_total", Kind::Plain),
    ("rate_limit_store_errors_total", Kind::Plain),
    ("auth_tokens_issued_total", Kind::Plain),
    ("security_events_total", Kind::Plain),
    ("interventions_created_total", Kind::Plain),
    ("interventions_transitions_total", Kind::Plain),
    ("interventions_current", Kind::Plain),
    ("documents_uploaded_total", Kind::Plain),
    ("documents_downloaded_total", Kind::Plain),
    ("notifications_created_total", Kind::Plain),
    ("notifications_email_total", Kind::Plain),
    ("scheduler_runs_total", Kind::Plain),
    ("outbox_pending", Kind::Plain),
    ("app_info", Kind::Plain),
    ("app_ready", Kind::Plain),
    ("process_cpu_seconds_total", Kind::Plain),
    ("process_resident_memory_bytes", Kind::Plain),
    ("process_open_fds", Kind::Plain),
    ("process_max_fds", Kind::Plain),
    ("process_start_time_seconds", Kind::Plain),
    // Written by Prometheus for each scrape target.
    ("up", Kind::Plain),
];

fn is_known_metric(name: &str) -> bool {
    METRICS.iter().any(|(family, kind)| {
        name == *family
            || (*kind == Kind::Histogram
                && ["_bucket", "_sum", "_count"]
                    .iter()
                    .any(|suffix| name.strip_suffix(suffix) == Some(family)))
    })
}

/// PromQL words that are not metric names: aggregators, set and comparison modifiers, literals.
const KEYWORDS: &[&str] = &[
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
    "and",
    "or",
    "unless",
    "atan2",
    "bool",
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "inf",
    "nan",
];

/// Keywords followed by a parenthesised list of label names.
const LABEL_LIST_KEYWORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// Index just past the string literal starting at `start`.
fn skip_string(chars: &[char], start: usize) -> usize {
    let quote = chars[start];
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' if quote != '`' => i += 2,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// Index just past the group opened at `start` (`{…}`, `[…]`, `(…)`), strings skipped whole.
fn skip_group(chars: &[char], start: usize) -> usize {
    let (open, close) = match chars[start] {
        '{' => ('{', '}'),
        '[' => ('[', ']'),
        _ => ('(', ')'),
    };
    let mut depth = 0_usize;
    let mut i = start;
    while i < chars.len() {
        match chars[i] {
            '"' | '\'' | '`' => {
                i = skip_string(chars, i);
                continue;
            }
            c if c == open => depth += 1,
            c if c == close => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    i
}

/// The metric names a PromQL expression selects (Grafana variables such as `$instance` and
/// `$__rate_interval` allowed). Label matchers, label lists, ranges, functions, keywords,
/// strings and numbers are not metric names.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if matches!(c, '"' | '\'' | '`') {
            i = skip_string(&chars, i);
        } else if matches!(c, '{' | '[') {
            i = skip_group(&chars, i);
        } else if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '$' {
            i += 1;
            if chars.get(i) == Some(&'{') {
                i = skip_group(&chars, i);
            } else {
                while i < chars.len() && is_ident(chars[i]) {
                    i += 1;
                }
            }
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            // Numbers, durations (`5m`), exponents (`1e9`), hexadecimal.
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else if is_ident_start(c) {
            let start = i;
            while i < chars.len() && is_ident(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut next = i;
            while next < chars.len() && chars[next].is_whitespace() {
                next += 1;
            }
            let paren = chars.get(next) == Some(&'(');
            let lower = word.to_ascii_lowercase();
            if LABEL_LIST_KEYWORDS.contains(&lower.as_str()) && paren {
                i = skip_group(&chars, next);
            } else if !paren && !KEYWORDS.contains(&lower.as_str()) {
                names.insert(word);
            }
            // Followed by `(`: a function or an aggregator, its arguments are scanned next.
        } else {
            i += 1;
        }
    }
    names
}

/// Problems with the metric names of one expression, prefixed with `context`.
fn check_expr(context: &str, expr: &str, problems: &mut Vec<String>) {
    let names = metric_names(expr);
    if names.is_empty() {
        problems.push(format!("{context}: selects no metric: {expr}"));
    }
    for name in names.iter().filter(|n| !is_known_metric(n)) {
        problems.push(format!(
            "{context}: `{name}` is not a metric the server exposes (xtask METRICS)"
        ));
    }
}

pub(crate) fn check() -> TaskResult {
    let root = workspace_root();
    let promtool = if promtool(&root.join("deploy/prometheus"))? {
        "promtool checks passed"
    } else {
        "promtool SKIPPED"
    };
    let mut problems = Vec::new();
    let dashboards = json_files(&root.join("deploy/grafana"))?;
    if dashboards.is_empty() {
        problems.push("deploy/grafana: no dashboard JSON".to_owned());
    }
    let mut panel_count = 0;
    for path in &dashboards {
        let shown = path
            .strip_prefix(&root)
            .unwrap_or(path)
            .display()
            .to_string();
        let text = std::fs::read_to_string(path).map_err(|e| format!("{shown}: {e}"))?;
        match serde_json::from_str::<Value>(&text) {
            Ok(dashboard) => panel_count += check_dashboard(&shown, &dashboard, &mut problems),
            Err(e) => problems.push(format!("{shown}: invalid JSON: {e}")),
        }
    }
    let alerts_path = root.join("deploy/prometheus/alerts.yml");
    let alerts = std::fs::read_to_string(&alerts_path)
        .map_err(|e| format!("{}: {e}", alerts_path.display()))?;
    let runbook = std::fs::read_to_string(root.join("docs/operations.md"))
        .map_err(|e| format!("docs/operations.md: {e}"))?;
    let rule_count = check_alerts(&alerts, &runbook, &mut problems);
    if problems.is_empty() {
        say(&format!(
            "monitoring: {promtool}; {} dashboard(s), {panel_count} panels and {rule_count} alert expressions query only the {} known metric families; runbook anchors exist",
            dashboards.len(),
            METRICS.len()
        ));
        Ok(())
    } else {
        Err(format!("monitoring files:\n  {}", problems.join("\n  ")))
    }
}

/// `promtool` checks, or a loud SKIPPED line when it is not installed. True when they ran.
fn promtool(dir: &Path) -> Result<bool, String> {
    let version = match Command::new("promtool").arg("--version").output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or("promtool")
            .trim()
            .to_owned(),
        _ => {
            let required =
                std::env::var("ERP_REQUIRE_PROMTOOL").is_ok_and(|v| v == "1" || v == "true");
            let line = "promtool: SKIPPED — promtool is not on PATH, so deploy/prometheus/prometheus.yml and alerts.yml were NOT validated by promtool (install Debian's `prometheus` package; .ci/run tries to)";
            if required {
                return Err(format!("{line}; ERP_REQUIRE_PROMTOOL is set"));
            }
            say("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
            say(line);
            say("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
            return Ok(false);
        }
    };
    say(&format!("promtool: using {version}"));
    for args in [
        ["check", "config", "prometheus.yml"],
        ["check", "rules", "alerts.yml"],
        ["test", "rules", "alerts.test.yml"],
    ] {
        run(
            "promtool",
            Command::new("promtool").current_dir(dir).args(args),
        )?;
    }
    Ok(true)
}

fn json_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
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
fn templated_datasource(ds: &Value) -> bool {
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
fn check_dashboard(file: &str, dash: &Value, problems: &mut Vec<String>) -> usize {
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
    if var("instance").is_none() {
        problems.push(format!("{file}: needs an `instance` variable"));
    }
    let mut panels: Vec<&Value> = Vec::new();
    let mut stack: Vec<&Value> = dash["panels"].as_array().into_iter().flatten().collect();
    if stack.is_empty() {
        problems.push(format!("{file}: no panels"));
    }
    while let Some(p) = stack.pop() {
        stack.extend(p["panels"].as_array().into_iter().flatten());
        panels.push(p);
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
                    check_expr(&ctx, expr, problems);
                    if !expr.contains("$instance") {
                        problems.push(format!("{ctx}: does not filter on $instance"));
                    }
                }
                None => problems.push(format!("{ctx}: no `expr`")),
            }
        }
    }
    queried
}

/// The value of a `key:` line, without quotes.
fn yaml_value<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = line
        .trim_start()
        .strip_prefix(key)?
        .strip_prefix(':')?
        .trim();
    Some(
        rest.strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .unwrap_or(rest),
    )
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

/// Checks the `expr`s (inline or `|` blocks) and `runbook_url`s of a rules file written like
/// `deploy/prometheus/alerts.yml` (a line scanner, not a YAML parser; promtool parses it).
/// Returns the number of expressions.
fn check_alerts(yaml: &str, runbook: &str, problems: &mut Vec<String>) -> usize {
    let anchors: BTreeSet<String> = runbook
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .map(|h| anchor(h.trim_start_matches('#')))
        .collect();
    let lines: Vec<&str> = yaml.lines().collect();
    let mut alert = "?";
    let mut count = 0;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        if let Some(name) = yaml_value(line, "- alert") {
            alert = name;
        } else if let Some(url) = yaml_value(line, "runbook_url") {
            match url.split_once('#') {
                Some(("docs/operations.md", a)) if anchors.contains(a) => {}
                _ => problems.push(format!(
                    "alerts.yml {alert}: runbook_url {url} is not a heading of docs/operations.md"
                )),
            }
        } else if let Some(value) = yaml_value(line, "expr") {
            let expr = if value.starts_with('|') || value.starts_with('>') {
                let indent = line.len() - line.trim_start().len();
                let mut block = String::new();
                while i < lines.len()
                    && (lines[i].trim().is_empty()
                        || lines[i].len() - lines[i].trim_start().len() > indent)
                {
                    block.push_str(lines[i]);
                    block.push('\n');
                    i += 1;
                }
                block
            } else {
                value.to_owned()
            };
            count += 1;
            check_expr(&format!("alerts.yml {alert}"), &expr, problems);
        }
    }
    if count == 0 {
        problems.push("alerts.yml: no `expr` found".to_owned());
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(expr: &str) -> Vec<String> {
        metric_names(expr).into_iter().collect()
    }

    #[test]
    fn metric_names_skip_functions_keywords_labels_ranges_and_variables() {
        assert_eq!(
            names(
                r#"histogram_quantile(0.99, sum by (endpoint, le) (rate(http_request_duration_seconds_bucket{instance=~"$instance",endpoint="/api/v1/interventions/{id}"}[$__rate_interval])))"#
            ),
            ["http_request_duration_seconds_bucket"]
        );
        assert_eq!(
            names(
                "sum by (job) (increase(a_total[1h])) < 1\n  and on (job)\nsum without (instance) (up{job=\"erp\"}) > 1e9 offset 5m"
            ),
            ["a_total", "up"]
        );
        assert_eq!(
            names("time() - process_start_time_seconds{instance=~\"${instance}\"}"),
            ["process_start_time_seconds"]
        );
        assert_eq!(names("sum(rate(x[5m])) BY (le)"), ["x"]);
    }

    #[test]
    fn histogram_suffixes_are_known_only_for_histograms() {
        assert!(is_known_metric("http_request_duration_seconds_bucket"));
        assert!(is_known_metric("db_query_duration_seconds_count"));
        assert!(is_known_metric("up"));
        assert!(!is_known_metric("http_requests_total_bucket"));
        assert!(!is_known_metric("http_request_duration_seconds_total"));
    }

    #[test]
    fn unknown_metrics_panels_without_targets_and_hard_coded_datasources_are_reported() {
        let dash = serde_json::json!({
            "uid": "d", "title": "D", "schemaVersion": 39,
            "templating": {"list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus"},
                {"name": "instance", "type": "query"}
            ]},
            "panels": [
                {"id": 1, "type": "row", "title": "r", "gridPos": {}, "panels": [
                    {"id": 2, "type": "timeseries", "title": "typo", "gridPos": {},
                     "datasource": {"uid": "${datasource}"},
                     "targets": [{"refId": "A", "expr": "rate(http_request_total{instance=~\"$instance\"}[5m])"}]}
                ]},
                {"id": 3, "type": "stat", "title": "empty", "gridPos": {}, "datasource": {"uid": "${datasource}"}},
                {"id": 4, "type": "stat", "title": "fixed", "gridPos": {}, "datasource": {"uid": "abc"},
                 "targets": [{"refId": "A", "expr": "up{instance=~\"$instance\"}"}]}
            ]
        });
        let mut problems = Vec::new();
        assert_eq!(check_dashboard("d.json", &dash, &mut problems), 2);
        assert_eq!(problems.len(), 3, "{problems:#?}");
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
            2
        );
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(problems[0].contains("Bad: `unknown_total`"));
        assert!(problems[1].contains("#missing"));
    }

    #[test]
    fn the_repository_files_pass() {
        let root = workspace_root();
        let mut problems = Vec::new();
        for path in json_files(&root.join("deploy/grafana")).unwrap() {
            let dash: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            check_dashboard(&path.display().to_string(), &dash, &mut problems);
        }
        let alerts = std::fs::read_to_string(root.join("deploy/prometheus/alerts.yml")).unwrap();
        let runbook = std::fs::read_to_string(root.join("docs/operations.md")).unwrap();
        assert!(check_alerts(&alerts, &runbook, &mut problems) >= 10);
        assert!(problems.is_empty(), "{problems:#?}");
    }
}
