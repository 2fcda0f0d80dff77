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

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::checks::expect_rejection;
use crate::{TaskResult, run, say, workspace_root};

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

/// Families of other exporters that the alerts (not the dashboards) may query: the
/// kube-state-metrics (v2) series of the server's pods, scoped in alerts.yml by container name
/// and by a join with the `erp` job's series.
const EXTERNAL_METRICS: &[&str] = &[
    "kube_pod_container_resource_limits",
    "kube_pod_container_status_last_terminated_reason",
    "kube_pod_container_status_restarts_total",
];

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

/// A vector selector of an expression: the metric name and the text between its braces.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Selector {
    name: String,
    matchers: Option<String>,
}

/// The vector selectors of a PromQL expression (Grafana variables such as `$instance` and
/// `$__rate_interval` allowed). Label lists, ranges, functions, keywords, strings and numbers
/// are not selectors.
fn selectors(expr: &str) -> Vec<Selector> {
    let chars: Vec<char> = expr.chars().collect();
    let mut found = Vec::new();
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
        } else if let Some((_, end)) = variable_at(&chars, i) {
            i = end;
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
            let lower = word.to_ascii_lowercase();
            match chars.get(next) {
                Some('(') if LABEL_LIST_KEYWORDS.contains(&lower.as_str()) => {
                    i = skip_group(&chars, next);
                }
                // A function or an aggregator: its arguments are scanned next.
                Some('(') => {}
                _ if KEYWORDS.contains(&lower.as_str()) => {}
                Some('{') => {
                    let end = skip_group(&chars, next);
                    let inner = chars[next + 1..end.saturating_sub(1).max(next + 1)]
                        .iter()
                        .collect();
                    found.push(Selector {
                        name: word,
                        matchers: Some(inner),
                    });
                    i = end;
                }
                _ => found.push(Selector {
                    name: word,
                    matchers: None,
                }),
            }
        } else {
            i += 1;
        }
    }
    found
}

/// The metric names a PromQL expression selects.
fn metric_names(expr: &str) -> BTreeSet<String> {
    selectors(expr).into_iter().map(|s| s.name).collect()
}

/// The Grafana variable reference at `chars[i]` (`$name`, `${name}`, `${name:format}`): its
/// name and the index just past it.
fn variable_at(chars: &[char], i: usize) -> Option<(String, usize)> {
    if chars.get(i) != Some(&'$') {
        return None;
    }
    if chars.get(i + 1) == Some(&'{') {
        let close = i + 2 + chars.get(i + 2..)?.iter().position(|&c| c == '}')?;
        let inner: String = chars[i + 2..close].iter().collect();
        let name = inner.split(':').next().unwrap_or_default();
        return (!name.is_empty()).then(|| (name.to_owned(), close + 1));
    }
    let end = chars[i + 1..]
        .iter()
        .position(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
        .map_or(chars.len(), |p| i + 1 + p);
    (end > i + 1).then(|| (chars[i + 1..end].iter().collect(), end))
}

/// The names of the Grafana variables a text references.
fn variables(text: &str) -> BTreeSet<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < chars.len() {
        if let Some((name, end)) = variable_at(&chars, i) {
            names.insert(name);
            i = end;
        } else {
            i += 1;
        }
    }
    names
}

/// `text` with its Grafana variables replaced by `values`; an unknown variable is an error.
fn substitute(text: &str, values: &[(&str, &str)]) -> Result<String, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if let Some((name, end)) = variable_at(&chars, i) {
            let (_, value) = values
                .iter()
                .find(|(n, _)| *n == name)
                .ok_or_else(|| format!("unknown variable ${name}"))?;
            out.push_str(value);
            i = end;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// A selector's matchers (`label op "value"`, comma separated) as (label, op, raw value); `None`
/// when the text is not a plain list of matchers.
fn matchers(text: &str) -> Option<Vec<(String, String, String)>> {
    let chars: Vec<char> = text.chars().collect();
    let skip_ws = |mut i: usize| {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        i
    };
    let mut out = Vec::new();
    let mut i = skip_ws(0);
    while i < chars.len() {
        let start = i;
        while i < chars.len() && is_ident(chars[i]) && chars[i] != ':' {
            i += 1;
        }
        if i == start {
            return None;
        }
        let label: String = chars[start..i].iter().collect();
        i = skip_ws(i);
        let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
        let op = ["=~", "!~", "!=", "="]
            .into_iter()
            .find(|op| rest.starts_with(op))?;
        i = skip_ws(i + op.len());
        if !matches!(chars.get(i), Some('"' | '\'' | '`')) {
            return None;
        }
        let end = skip_string(&chars, i);
        if end > chars.len() {
            return None;
        }
        let value: String = chars[i + 1..end - 1].iter().collect();
        out.push((label, op.to_owned(), value));
        i = skip_ws(end);
        match chars.get(i) {
            Some(',') => i = skip_ws(i + 1),
            None => {}
            Some(_) => return None,
        }
    }
    Some(out)
}

/// What keeps one dashboard target from being scoped: every selector needs a `job` matcher on
/// `$job` and an `instance` matcher on `$instance` (`=` or `=~`), so that another service in
/// the same Prometheus is never counted.
fn scoping_problems(expr: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for selector in selectors(expr) {
        let name = &selector.name;
        let Some(text) = selector.matchers.as_deref() else {
            problems.push(format!(
                "`{name}` has no matchers: does not filter on $job nor $instance"
            ));
            continue;
        };
        let Some(list) = matchers(text) else {
            problems.push(format!("`{name}`: cannot read the matchers {{{text}}}"));
            continue;
        };
        for var in ["job", "instance"] {
            let scoped = list.iter().any(|(label, op, value)| {
                label == var && (op == "=" || op == "=~") && variables(value).contains(var)
            });
            if !scoped {
                problems.push(format!(
                    "`{name}` does not filter on ${var} (add {var}=~\"${var}\")"
                ));
            }
        }
    }
    problems
}

/// Problems with the metric names of one expression, prefixed with `context`. `external`: the
/// names of other exporters this file may also query.
fn check_expr(context: &str, expr: &str, external: &[&str], problems: &mut Vec<String>) {
    let names = metric_names(expr);
    if names.is_empty() {
        problems.push(format!("{context}: selects no metric: {expr}"));
    }
    for name in names
        .iter()
        .filter(|n| !is_known_metric(n) && !external.contains(&n.as_str()))
    {
        problems.push(format!(
            "{context}: `{name}` is not a metric the server exposes (xtask METRICS){}",
            if external.is_empty() {
                ""
            } else {
                " nor an allowed external one (EXTERNAL_METRICS)"
            }
        ));
    }
}

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

/// A dashboard whose only target is not scoped by `$job` (the issue-21 bug): the check must
/// say so, or it would not catch a regression.
fn dashboard_check_rejects_a_broken_sample() -> TaskResult {
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

fn promtool_command() -> Command {
    Command::new("promtool")
}

/// `promtool <args>` run in `dir`.
fn cmd(dir: &Path, args: &[&str]) -> Command {
    let mut c = promtool_command();
    c.current_dir(dir).args(args);
    c
}

/// The `promtool` checks, or a loud SKIPPED line when it is not installed. True when they ran.
fn promtool(
    root: &Path,
    prometheus: &Path,
    alert_count: usize,
    dashboards: &[(String, Value)],
) -> Result<bool, String> {
    let version = match promtool_command().arg("--version").output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or("promtool")
            .trim()
            .to_owned(),
        _ => {
            let required =
                std::env::var("ERP_REQUIRE_PROMTOOL").is_ok_and(|v| v == "1" || v == "true");
            let line = "promtool: SKIPPED — promtool is not on PATH, so deploy/prometheus/ (config, rules, unit tests) and the dashboard's shared-Prometheus test were NOT run by promtool (install Debian's `prometheus` package; .ci/run tries to)";
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
    let work = root.join("target").join("xtask-monitoring");
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;

    expect_rejection(
        "promtool check config",
        &mut cmd(
            &work,
            &[
                "check",
                "config",
                &write(&work, "broken-prometheus.yml", BROKEN_CONFIG)?,
            ],
        ),
    )?;
    run(
        "promtool check config",
        &mut cmd(prometheus, &["check", "config", "prometheus.yml"]),
    )?;

    expect_rejection(
        "promtool check rules",
        &mut cmd(
            &work,
            &[
                "check",
                "rules",
                &write(&work, "broken-rules.yml", BROKEN_RULES)?,
            ],
        ),
    )?;
    let found = rule_count(&output(
        "promtool check rules",
        &mut cmd(prometheus, &["check", "rules", "alerts.yml"]),
    )?)?;
    if found != alert_count {
        return Err(format!(
            "promtool found {found} rules in alerts.yml but the xtask reader {alert_count}: the reader misses rules, their names and runbooks go unchecked"
        ));
    }

    let alerts_path = prometheus.join("alerts.yml");
    let failing = failing_alert_test(&alerts_path.display().to_string());
    expect_rejection(
        "promtool test rules (failing alert test)",
        &mut cmd(
            &work,
            &[
                "test",
                "rules",
                &write(&work, "failing-alert.test.yml", &failing)?,
            ],
        ),
    )?;
    run(
        "promtool test rules",
        &mut cmd(prometheus, &["test", "rules", "alerts.test.yml"]),
    )?;

    for (file, dashboard) in dashboards {
        dashboard_test(&work, file, dashboard)?;
    }
    Ok(true)
}

/// Writes a generated file under `dir`; returns its name.
fn write(dir: &Path, name: &str, text: &str) -> Result<String, String> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(name.to_owned())
}

/// Runs a command and returns its standard output, echoed; an error when it fails.
fn output(step: &str, cmd: &mut Command) -> Result<String, String> {
    say(&format!("{step}: {cmd:?}"));
    let out = cmd
        .output()
        .map_err(|e| format!("{step}: cannot run: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
        say(&format!("  {}", line.trim()));
    }
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "{step} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The number of rules of `promtool check rules`' `SUCCESS: N rules found`.
fn rule_count(stdout: &str) -> Result<usize, String> {
    stdout
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("SUCCESS: ")?
                .strip_suffix(" rules found")?
                .parse()
                .ok()
        })
        .ok_or_else(|| format!("no `SUCCESS: N rules found` in promtool's output: {stdout}"))
}

/// An unknown key in `global`: promtool must refuse it.
const BROKEN_CONFIG: &str = "global:\n  scrape_intervall: 15s\nscrape_configs:\n  - job_name: erp\n    static_configs:\n      - targets: [\"erp:9000\"]\n";
/// An alert whose expression misses a closing parenthesis.
const BROKEN_RULES: &str = "groups:\n  - name: broken\n    rules:\n      - alert: Broken\n        expr: sum(rate(http_requests_total{job=\"erp\"}[5m])\n        for: 5m\n";

/// A unit test of alerts.yml that must fail: ErpInstanceDown expected while the target answers.
fn failing_alert_test(alerts_path: &str) -> String {
    format!(
        "rule_files:\n  - {}\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n      - series: 'up{{job=\"erp\",instance=\"erp:9000\"}}'\n        values: '1x10'\n    alert_rule_test:\n      - eval_time: 10m\n        alertname: ErpInstanceDown\n        exp_alerts:\n          - exp_labels:\n              severity: critical\n              job: erp\n              instance: \"erp:9000\"\n",
        json_string(alerts_path)
    )
}

/// A YAML double-quoted scalar (JSON's string syntax is a subset of YAML's).
fn json_string(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

/// One dashboard target as a recording rule of the generated dashboard test.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    /// `dashboard:panel<id>_<refid>`.
    name: String,
    /// The panel's title.
    title: String,
    /// The target's expression, its variables substituted.
    expr: String,
}

/// Every panel of a dashboard, rows' nested panels included, in id order.
fn all_panels(dash: &Value) -> Vec<&Value> {
    let mut panels: Vec<&Value> = Vec::new();
    let mut stack: Vec<&Value> = dash["panels"].as_array().into_iter().flatten().collect();
    while let Some(p) = stack.pop() {
        stack.extend(p["panels"].as_array().into_iter().flatten());
        panels.push(p);
    }
    panels.sort_by_key(|p| p["id"].as_u64());
    panels
}

/// The dashboard's targets as recording rules, its variables given `values`.
fn dashboard_records(dash: &Value, values: &[(&str, &str)]) -> Result<Vec<Record>, String> {
    let mut records = Vec::new();
    for panel in all_panels(dash) {
        let title = panel["title"].as_str().unwrap_or("?");
        let id = panel["id"].as_u64().unwrap_or_default();
        for target in panel["targets"].as_array().into_iter().flatten() {
            let ref_id = target["refId"].as_str().unwrap_or_default();
            let expr = target["expr"].as_str().unwrap_or_default();
            if ref_id.is_empty() || !ref_id.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(format!(
                    "panel {title:?}: refId {ref_id:?} is not alphanumeric"
                ));
            }
            records.push(Record {
                name: format!("dashboard:panel{id}_{}", ref_id.to_ascii_lowercase()),
                title: title.to_owned(),
                expr: substitute(expr, values)
                    .map_err(|e| format!("panel {title:?} target {ref_id}: {e}"))?,
            });
        }
    }
    Ok(records)
}

fn rules_yaml(source: &str, records: &[Record]) -> String {
    let mut yaml = format!(
        "# Generated by `cargo xtask monitoring` from {source}: every target as a recording rule.\ngroups:\n  - name: dashboard\n    rules:\n"
    );
    for r in records {
        let _ = write!(
            yaml,
            "      - record: {}\n        expr: {}\n",
            r.name,
            json_string(&r.expr)
        );
    }
    yaml
}

/// The issue-21 figures: one ERP instance (its 500 counter exists but no longer grows) and a
/// service `shop` with two instances whose requests all fail, in one Prometheus. One series and
/// its values (promtool's notation, a sample a minute; evaluated at 10 min) per line.
const SHARED_SERIES: &str = r#"
up{job="erp",instance="erp:9000"} 1x10
up{job="shop",instance="shop-1:8080"} 1x10
up{job="shop",instance="shop-2:8080"} 1x10
http_requests_total{job="erp",instance="erp:9000",method="GET",endpoint="/api/v1/interventions",status_code="200"} 0+60x10
http_requests_total{job="erp",instance="erp:9000",method="GET",endpoint="/api/v1/interventions",status_code="500"} 3x10
http_requests_total{job="shop",instance="shop-1:8080",method="GET",endpoint="/cart",status_code="500"} 0+60x10
"#;

/// Another service (`shop`) exposing every family the server does, with labels that every
/// panel's filters select: unscoped, each panel shows its data (checked on every run). Same
/// notation as [`SHARED_SERIES`].
const FOREIGN_SERIES: &str = r#"
up{job="shop",instance="shop-1:8080"} 1x10
app_info{job="shop",instance="shop-1:8080",service="shop",version="2.0.0",environment="production",git_sha="abc"} 1x10
app_ready{job="shop",instance="shop-1:8080"} 1x10
http_requests_total{job="shop",instance="shop-1:8080",method="GET",endpoint="/cart",status_code="200"} 0+60x10
http_requests_total{job="shop",instance="shop-1:8080",method="GET",endpoint="/cart",status_code="404"} 0+6x10
http_requests_total{job="shop",instance="shop-1:8080",method="GET",endpoint="/cart",status_code="500"} 0+6x10
http_request_duration_seconds_bucket{job="shop",instance="shop-1:8080",method="GET",endpoint="/cart",le="0.1"} 0+50x10
http_request_duration_seconds_bucket{job="shop",instance="shop-1:8080",method="GET",endpoint="/cart",le="+Inf"} 0+72x10
http_request_duration_seconds_sum{job="shop",instance="shop-1:8080",method="GET",endpoint="/cart"} 0+3x10
http_request_duration_seconds_count{job="shop",instance="shop-1:8080",method="GET",endpoint="/cart"} 0+72x10
http_requests_in_progress{job="shop",instance="shop-1:8080",method="GET",endpoint="/cart"} 3x10
auth_attempts_total{job="shop",instance="shop-1:8080",method="password",result="failure"} 0+2x10
auth_lockouts_total{job="shop",instance="shop-1:8080",scope="ip"} 0+1x10
auth_tokens_issued_total{job="shop",instance="shop-1:8080",kind="access"} 0+5x10
rate_limit_rejections_total{job="shop",instance="shop-1:8080"} 0+1x10
rate_limit_store_errors_total{job="shop",instance="shop-1:8080"} 0+1x10
security_events_total{job="shop",instance="shop-1:8080",event_type="auth.login.failed"} 0+1x10
interventions_current{job="shop",instance="shop-1:8080",statut="ouverte",type="corrective"} 4x10
interventions_created_total{job="shop",instance="shop-1:8080",type="corrective"} 0+1x10
interventions_transitions_total{job="shop",instance="shop-1:8080",from_statut="ouverte",to_statut="en_cours"} 0+1x10
documents_uploaded_total{job="shop",instance="shop-1:8080",extension="pdf"} 0+1x10
documents_downloaded_total{job="shop",instance="shop-1:8080"} 0+1x10
notifications_created_total{job="shop",instance="shop-1:8080",type="affectation",canal="email"} 0+1x10
notifications_email_total{job="shop",instance="shop-1:8080",result="sent"} 0+1x10
outbox_pending{job="shop",instance="shop-1:8080"} 2x10
scheduler_runs_total{job="shop",instance="shop-1:8080",exported_job="nightly",result="failure"} 0+1x10
db_pool_connections{job="shop",instance="shop-1:8080",state="in_use"} 3x10
db_pool_connections{job="shop",instance="shop-1:8080",state="idle"} 7x10
db_query_duration_seconds_bucket{job="shop",instance="shop-1:8080",operation="select",le="0.01"} 0+10x10
db_query_duration_seconds_bucket{job="shop",instance="shop-1:8080",operation="select",le="+Inf"} 0+12x10
db_query_duration_seconds_sum{job="shop",instance="shop-1:8080",operation="select"} 0+0.5x10
db_query_duration_seconds_count{job="shop",instance="shop-1:8080",operation="select"} 0+12x10
process_cpu_seconds_total{job="shop",instance="shop-1:8080"} 0+6x10
process_resident_memory_bytes{job="shop",instance="shop-1:8080"} 52428800x10
process_open_fds{job="shop",instance="shop-1:8080"} 40x10
process_max_fds{job="shop",instance="shop-1:8080"} 1024x10
process_start_time_seconds{job="shop",instance="shop-1:8080"} 1000x10
"#;

/// What the generated dashboard test asserts.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Expected {
    /// "Instances up" over SHARED_SERIES.
    instances_up: f64,
    /// "5xx ratio" over SHARED_SERIES.
    ratio_5xx: f64,
    /// Whether FOREIGN_SERIES (another job only) give every panel data.
    foreign_data: bool,
}

/// The scoped dashboard (`$job` = erp): the ERP's own figures, nothing from the other job.
const SCOPED: Expected = Expected {
    instances_up: 1.0,
    ratio_5xx: 0.0,
    foreign_data: false,
};
/// The dashboard without the job scope (as it was before issue 21): the figures of the issue.
const UNSCOPED: Expected = Expected {
    instances_up: 3.0,
    ratio_5xx: 0.5,
    foreign_data: true,
};

/// The `series values` lines of [`SHARED_SERIES`] or [`FOREIGN_SERIES`].
fn series_lines(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.lines().filter_map(|line| line.trim().rsplit_once(' '))
}

fn series_yaml(series: &str) -> String {
    let mut yaml = String::from("    input_series:\n");
    for (s, values) in series_lines(series) {
        let _ = write!(yaml, "      - series: '{s}'\n        values: '{values}'\n");
    }
    yaml
}

/// The record of the panel titled `title` (its first target).
fn record_named<'a>(records: &'a [Record], title: &str) -> Result<&'a str, String> {
    records
        .iter()
        .find(|r| r.title == title)
        .map(|r| r.name.as_str())
        .ok_or_else(|| format!("no panel titled {title:?}: the shared-Prometheus test needs it"))
}

/// The `promtool test rules` file of a dashboard's records (in `rules_file`).
fn dashboard_test_yaml(
    rules_file: &str,
    records: &[Record],
    expected: Expected,
) -> Result<String, String> {
    let up = record_named(records, "Instances up")?;
    let ratio = record_named(records, "5xx ratio")?;
    let mut yaml = format!(
        "# Generated by `cargo xtask monitoring`: the dashboard's targets ({rules_file}) in a shared Prometheus.\nrule_files:\n  - {rules_file}\nevaluation_interval: 1m\ntests:\n  # The ERP and `shop`, another service, in one Prometheus.\n  - interval: 1m\n"
    );
    yaml.push_str(&series_yaml(SHARED_SERIES));
    yaml.push_str("    promql_expr_test:\n");
    for (record, value) in [(up, expected.instances_up), (ratio, expected.ratio_5xx)] {
        let _ = write!(
            yaml,
            "      - expr: {record}\n        eval_time: 10m\n        exp_samples:\n          - labels: '{record}'\n            value: {value:?}\n"
        );
    }
    yaml.push_str(
        "  # Only another service's series: does each target show them?\n  - interval: 1m\n",
    );
    yaml.push_str(&series_yaml(FOREIGN_SERIES));
    yaml.push_str("    promql_expr_test:\n");
    for r in records {
        let samples = if expected.foreign_data {
            " []\n".to_owned()
        } else {
            "\n          - labels: '{}'\n            value: 1\n".to_owned()
        };
        let _ = write!(
            yaml,
            "      - expr: absent({})\n        eval_time: 10m\n        exp_samples:{samples}",
            r.name
        );
    }
    Ok(yaml)
}

/// The dashboard's targets evaluated by promtool in a shared Prometheus: scoped (`$job` = erp)
/// they give the ERP's figures and ignore the other service; with the job scope removed they
/// give the issue's wrong figures; the scoped expectations on the unscoped dashboard must fail.
fn dashboard_test(work: &Path, file: &str, dash: &Value) -> TaskResult {
    let stem = Path::new(file)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("dashboard");
    let vars = |job| {
        [
            ("job", job),
            ("instance", ".*"),
            ("__rate_interval", "5m"),
            ("__interval", "1m"),
            ("__range", "1h"),
        ]
    };
    let scoped = dashboard_records(dash, &vars("erp")).map_err(|e| format!("{file}: {e}"))?;
    let unscoped = dashboard_records(dash, &vars(".*")).map_err(|e| format!("{file}: {e}"))?;
    let scoped_rules = write(
        work,
        &format!("{stem}.rules.yml"),
        &rules_yaml(file, &scoped),
    )?;
    let unscoped_rules = write(
        work,
        &format!("{stem}.unscoped.rules.yml"),
        &rules_yaml(&format!("{file} with $job = .*"), &unscoped),
    )?;
    let found = rule_count(&output(
        "promtool check rules (dashboard targets)",
        &mut cmd(work, &["check", "rules", &scoped_rules]),
    )?)?;
    if found != scoped.len() {
        return Err(format!(
            "{file}: promtool read {found} of the {} targets",
            scoped.len()
        ));
    }
    let test = |name: &str, rules: &str, expected| -> Result<String, String> {
        write(work, name, &dashboard_test_yaml(rules, &scoped, expected)?)
    };
    let scoped_test = test(&format!("{stem}.test.yml"), &scoped_rules, SCOPED)?;
    let unscoped_test = test(
        &format!("{stem}.unscoped.test.yml"),
        &unscoped_rules,
        UNSCOPED,
    )?;
    let canary = test(&format!("{stem}.canary.test.yml"), &unscoped_rules, SCOPED)?;
    run(
        "promtool test rules (dashboard, $job = erp)",
        &mut cmd(work, &["test", "rules", &scoped_test]),
    )?;
    run(
        "promtool test rules (dashboard without the job scope: the issue-21 figures)",
        &mut cmd(work, &["test", "rules", &unscoped_test]),
    )?;
    expect_rejection(
        "promtool test rules (scoped expectations on the unscoped dashboard)",
        &mut cmd(work, &["test", "rules", &canary]),
    )?;
    say(&format!(
        "{file} in a Prometheus shared with another service: \"Instances up\" {} -> {}, \"5xx ratio\" {} % -> {} % (without -> with the $job scope); the other service's series reach all {} targets unscoped and none scoped",
        UNSCOPED.instances_up,
        SCOPED.instances_up,
        UNSCOPED.ratio_5xx * 100.0,
        SCOPED.ratio_5xx * 100.0,
        scoped.len()
    ));
    Ok(())
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
/// `deploy/prometheus/alerts.yml` (a line scanner, not a YAML parser: promtool parses it, and
/// its rule count must equal the number of names returned here). Returns the alert names.
fn check_alerts(yaml: &str, runbook: &str, problems: &mut Vec<String>) -> Vec<String> {
    let anchors: BTreeSet<String> = runbook
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .map(|h| anchor(h.trim_start_matches('#')))
        .collect();
    let lines: Vec<&str> = yaml.lines().collect();
    let mut alert = "?";
    let mut names = Vec::new();
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
            names.push(alert.to_owned());
            check_expr(
                &format!("alerts.yml {alert}"),
                &expr,
                EXTERNAL_METRICS,
                problems,
            );
        }
    }
    if names.is_empty() {
        problems.push("alerts.yml: no `expr` found".to_owned());
    }
    names
}

/// What `alerts.test.yml` lacks: for every alert, a case where it fires (`exp_alerts` with
/// items) and one where it does not (`exp_alerts: []`); and no case may name an unknown alert
/// (promtool passes a test of a missing alert that expects nothing). A line scanner for our
/// file: `alertname:` then `exp_alerts:` in each `alert_rule_test` item.
fn alert_test_problems(tests: &str, alerts: &[String]) -> Vec<String> {
    let lines: Vec<&str> = tests.lines().collect();
    let mut firing = BTreeSet::new();
    let mut silent = BTreeSet::new();
    let mut problems = Vec::new();
    let mut current: Option<&str> = None;
    for (i, line) in lines.iter().enumerate() {
        if let Some(name) =
            yaml_value(line, "alertname").or_else(|| yaml_value(line, "- alertname"))
        {
            if !alerts.iter().any(|a| a == name) {
                problems.push(format!(
                    "alerts.test.yml tests `{name}`, which is not an alert of alerts.yml"
                ));
            }
            current = Some(name);
        } else if let Some(value) = yaml_value(line, "exp_alerts") {
            let Some(name) = current.take() else {
                continue;
            };
            let next = lines[i + 1..].iter().find(|l| !l.trim().is_empty());
            if value == "[]" {
                silent.insert(name);
            } else if value.is_empty() && next.is_some_and(|l| l.trim_start().starts_with("- exp_"))
            {
                firing.insert(name);
            }
        }
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

    fn names(expr: &str) -> Vec<String> {
        metric_names(expr).into_iter().collect()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
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
    fn selectors_carry_their_matchers() {
        assert_eq!(
            selectors(r#"sum(rate(a{job=~"$job", x="}"}[5m])) / on (pod) group_left () b"#),
            vec![
                Selector {
                    name: "a".into(),
                    matchers: Some(r#"job=~"$job", x="}""#.into())
                },
                Selector {
                    name: "b".into(),
                    matchers: None
                },
            ]
        );
    }

    #[test]
    fn matchers_are_read_or_refused() {
        assert_eq!(
            matchers(r#" job=~"$job",instance = "a,b" , le!="+Inf", "#),
            Some(vec![
                ("job".into(), "=~".into(), "$job".into()),
                ("instance".into(), "=".into(), "a,b".into()),
                ("le".into(), "!=".into(), "+Inf".into()),
            ])
        );
        assert_eq!(matchers(""), Some(vec![]));
        assert_eq!(matchers(r#"job=~$job"#), None);
        assert_eq!(matchers(r#"job "erp""#), None);
        assert_eq!(matchers(r#"job="a" instance="b""#), None);
    }

    #[test]
    fn a_target_is_scoped_only_when_every_selector_filters_on_job_and_instance() {
        let ok = [
            r#"sum(up{job=~"$job",instance=~"$instance"})"#,
            r#"a{instance=~"${instance}",job="${job}"} / b{job=~"$job",instance=~"${instance:regex}"}"#,
        ];
        for expr in ok {
            assert_eq!(scoping_problems(expr), Vec::<String>::new(), "{expr}");
        }
        let broken = [
            (
                r#"sum(up{instance=~"$instance"})"#,
                "`up` does not filter on $job",
            ),
            (
                r#"a{job=~"$job",instance=~"$instance"} / b{instance=~"$instance"}"#,
                "`b` does not filter on $job",
            ),
            (
                r#"up{job!~"$job",instance=~"$instance"}"#,
                "`up` does not filter on $job",
            ),
            (
                r#"up{job=~"erp",instance=~"$instance"}"#,
                "`up` does not filter on $job",
            ),
            (
                r#"up{job=~"$job",pod=~"$instance"}"#,
                "`up` does not filter on $instance",
            ),
            ("sum(up)", "`up` has no matchers"),
        ];
        for (expr, problem) in broken {
            let problems = scoping_problems(expr);
            assert!(
                problems.iter().any(|p| p.contains(problem)),
                "{expr}: {problems:?}"
            );
        }
    }

    #[test]
    fn variables_are_substituted_and_unknown_ones_refused() {
        let values = [
            ("job", "erp"),
            ("instance", ".*"),
            ("__rate_interval", "5m"),
        ];
        assert_eq!(
            substitute(
                r#"rate(x{job=~"$job",instance=~"${instance:regex}",p=~".*/x$"}[$__rate_interval])"#,
                &values
            ),
            Ok(r#"rate(x{job=~"erp",instance=~".*",p=~".*/x$"}[5m])"#.to_owned())
        );
        assert_eq!(
            substitute("x{a=\"$nope\"}", &values),
            Err("unknown variable $nope".to_owned())
        );
        assert_eq!(
            variables("$job ${instance} ${a:csv} $ $1x"),
            ["1x", "a", "instance", "job"]
                .into_iter()
                .map(str::to_owned)
                .collect()
        );
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
    fn kube_state_metrics_families_are_allowed_in_alerts_only_and_by_name() {
        let mut problems = Vec::new();
        let expr = r#"kube_pod_container_status_restarts_total{container="erp"} and on (pod) up{job="erp"}"#;
        check_expr("alert", expr, EXTERNAL_METRICS, &mut problems);
        assert_eq!(problems, Vec::<String>::new());
        check_expr("panel", expr, &[], &mut problems);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("`kube_pod_container_status_restarts_total`"));
        problems.clear();
        check_expr(
            "alert",
            "kube_pod_status_phase{phase=\"Pending\"}",
            EXTERNAL_METRICS,
            &mut problems,
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("nor an allowed external one"));
    }

    fn dashboard(panels: &Value) -> Value {
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
    fn promtool_rule_counts_are_read() {
        assert_eq!(
            rule_count("Checking alerts.yml\n  SUCCESS: 19 rules found\n\n"),
            Ok(19)
        );
        assert!(rule_count("Checking alerts.yml\n  FAILED:\n").is_err());
    }

    #[test]
    fn the_foreign_series_cover_every_family() {
        for (family, kind) in METRICS {
            let name = if *kind == Kind::Histogram {
                format!("{family}_bucket{{")
            } else {
                format!("{family}{{")
            };
            assert!(
                series_lines(FOREIGN_SERIES).any(|(s, _)| s.starts_with(&name)),
                "FOREIGN_SERIES misses {family}"
            );
        }
        for text in [SHARED_SERIES, FOREIGN_SERIES] {
            let lines = text.lines().filter(|l| !l.trim().is_empty()).count();
            assert_eq!(series_lines(text).count(), lines);
            for (series, values) in series_lines(text) {
                assert!(series.ends_with('}') && !series.contains('\''), "{series}");
                assert!(values.ends_with("x10"), "{values}");
            }
        }
    }

    #[test]
    fn dashboard_targets_become_recording_rules_and_expectations() {
        let dash = dashboard(&serde_json::json!([
            {"id": 3, "type": "stat", "title": "Instances up", "gridPos": {},
             "targets": [{"refId": "A", "expr": "sum(up{job=~\"$job\",instance=~\"$instance\"})"}]},
            {"id": 6, "type": "stat", "title": "5xx ratio", "gridPos": {},
             "targets": [{"refId": "A", "expr": "sum(rate(x{job=~\"$job\",instance=~\"$instance\"}[$__rate_interval]))"},
                         {"refId": "B", "expr": "y{job=~\"$job\",instance=~\"$instance\",q=\"it's\"}"}]}
        ]));
        let values = [
            ("job", "erp"),
            ("instance", ".*"),
            ("__rate_interval", "5m"),
        ];
        let records = dashboard_records(&dash, &values).unwrap();
        assert_eq!(
            records.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            [
                "dashboard:panel3_a",
                "dashboard:panel6_a",
                "dashboard:panel6_b"
            ]
        );
        assert_eq!(
            records[1].expr,
            "sum(rate(x{job=~\"erp\",instance=~\".*\"}[5m]))"
        );
        let rules = rules_yaml("d.json", &records);
        assert!(rules.contains(
            "      - record: dashboard:panel6_b\n        expr: \"y{job=~\\\"erp\\\",instance=~\\\".*\\\",q=\\\"it's\\\"}\"\n"
        ));
        let scoped = dashboard_test_yaml("d.rules.yml", &records, SCOPED).unwrap();
        assert!(scoped.contains("  - d.rules.yml\n"));
        assert!(scoped.contains(
            "      - expr: dashboard:panel3_a\n        eval_time: 10m\n        exp_samples:\n          - labels: 'dashboard:panel3_a'\n            value: 1.0\n"
        ));
        assert!(scoped.contains(
            "      - expr: absent(dashboard:panel6_b)\n        eval_time: 10m\n        exp_samples:\n          - labels: '{}'\n            value: 1\n"
        ));
        let unscoped = dashboard_test_yaml("d.rules.yml", &records, UNSCOPED).unwrap();
        assert!(
            unscoped.contains("          - labels: 'dashboard:panel6_a'\n            value: 0.5\n")
        );
        assert!(unscoped.contains("      - expr: absent(dashboard:panel6_b)\n        eval_time: 10m\n        exp_samples: []\n"));
        let mut renamed = dash.clone();
        renamed["panels"][0]["title"] = "Up".into();
        let records = dashboard_records(&renamed, &values).unwrap();
        assert!(
            dashboard_test_yaml("d.rules.yml", &records, SCOPED)
                .unwrap_err()
                .contains("\"Instances up\"")
        );
        assert!(
            dashboard_records(&dash, &values[..2])
                .unwrap_err()
                .contains("unknown variable $__rate_interval")
        );
    }

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
