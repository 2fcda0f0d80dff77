//! promtool on deploy/prometheus: `check config`, `check rules`, `test rules`, each first shown
//! to reject a broken sample.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::shared::dashboard_test;
use crate::checks::expect_rejection;
use crate::{run, say};

pub(super) fn promtool_command() -> Command {
    Command::new("promtool")
}

/// `promtool <args>` run in `dir`.
pub(super) fn cmd(dir: &Path, args: &[&str]) -> Command {
    let mut c = promtool_command();
    c.current_dir(dir).args(args);
    c
}

/// The `promtool` checks, or a loud SKIPPED line when it is not installed. True when they ran.
pub(super) fn promtool(
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
pub(super) fn write(dir: &Path, name: &str, text: &str) -> Result<String, String> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(name.to_owned())
}

/// Runs a command and returns its standard output, echoed; an error when it fails.
pub(super) fn output(step: &str, cmd: &mut Command) -> Result<String, String> {
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
pub(super) fn rule_count(stdout: &str) -> Result<usize, String> {
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
pub(super) const BROKEN_CONFIG: &str = "global:\n  scrape_intervall: 15s\nscrape_configs:\n  - job_name: erp\n    static_configs:\n      - targets: [\"erp:9000\"]\n";
/// An alert whose expression misses a closing parenthesis.
pub(super) const BROKEN_RULES: &str = "groups:\n  - name: broken\n    rules:\n      - alert: Broken\n        expr: sum(rate(http_requests_total{job=\"erp\"}[5m])\n        for: 5m\n";

/// A unit test of alerts.yml that must fail: ErpInstanceDown expected while the target answers.
pub(super) fn failing_alert_test(alerts_path: &str) -> String {
    format!(
        "rule_files:\n  - {}\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n      - series: 'up{{job=\"erp\",instance=\"erp:9000\"}}'\n        values: '1x10'\n    alert_rule_test:\n      - eval_time: 10m\n        alertname: ErpInstanceDown\n        exp_alerts:\n          - exp_labels:\n              severity: critical\n              job: erp\n              instance: \"erp:9000\"\n",
        json_string(alerts_path)
    )
}

/// A YAML double-quoted scalar (JSON's string syntax is a subset of YAML's).
pub(super) fn json_string(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promtool_rule_counts_are_read() {
        assert_eq!(
            rule_count("Checking alerts.yml\n  SUCCESS: 19 rules found\n\n"),
            Ok(19)
        );
        assert!(rule_count("Checking alerts.yml\n  FAILED:\n").is_err());
    }
}
