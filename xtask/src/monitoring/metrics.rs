//! The metric families dashboards and alerts may query, and the check of one expression's
//! names against them.

use super::promql::metric_names;

/// How a family's series are named in Prometheus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Counters and gauges: the family name itself.
    Plain,
    /// Histograms: `<name>_bucket`, `<name>_sum`, `<name>_count`.
    Histogram,
}

/// The metric families the server exposes at `/metrics` (API.md §3.1 and the observability
/// issue; names are contractual). The only names dashboards and alerts may query, with `up`.
pub(super) const METRICS: &[(&str, Kind)] = &[
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

pub(super) fn is_known_metric(name: &str) -> bool {
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
pub(super) const EXTERNAL_METRICS: &[&str] = &[
    "kube_pod_container_resource_limits",
    "kube_pod_container_status_last_terminated_reason",
    "kube_pod_container_status_restarts_total",
];

/// Problems with the metric names of one expression, prefixed with `context`. `external`: the
/// names of other exporters this file may also query.
pub(super) fn check_expr(context: &str, expr: &str, external: &[&str], problems: &mut Vec<String>) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
