//! The business and security metric families of API.md §3.1, recorded through the `metrics`
//! facade: one function per family, so names and labels live in one place. Without an
//! installed recorder every call is a no-op.

use erp_domain::enums::{
    CanalNotification, InterventionType, StatutIntervention, TypeNotification,
};

/// `auth_attempts_total{method,result}`: `method` `password`/`refresh`, `result`
/// `success`/`failure`/`locked`.
pub fn auth_attempt(method: &'static str, result: &'static str) {
    metrics::counter!("auth_attempts_total", "method" => method, "result" => result).increment(1);
}

/// `auth_lockouts_total{scope}`.
pub fn lockout(scope: &'static str) {
    metrics::counter!("auth_lockouts_total", "scope" => scope).increment(1);
}

/// `auth_tokens_issued_total{kind}`: `access` or `refresh`.
pub fn token_issued(kind: &'static str) {
    metrics::counter!("auth_tokens_issued_total", "kind" => kind).increment(1);
}

/// `security_events_total{event_type}`: every audit event written.
pub fn security_event(event_type: &'static str) {
    metrics::counter!("security_events_total", "event_type" => event_type).increment(1);
}

/// `interventions_created_total{type}`.
pub fn intervention_created(kind: InterventionType) {
    metrics::counter!("interventions_created_total", "type" => kind.as_str()).increment(1);
}

/// `interventions_transitions_total{from_statut,to_statut}`: statut changes only.
pub fn transition(from: StatutIntervention, to: StatutIntervention) {
    if from != to {
        metrics::counter!(
            "interventions_transitions_total",
            "from_statut" => from.as_str(),
            "to_statut" => to.as_str()
        )
        .increment(1);
    }
}

/// `documents_uploaded_total{extension}`.
pub fn document_uploaded(extension: &str) {
    metrics::counter!("documents_uploaded_total", "extension" => extension.to_owned()).increment(1);
}

/// `documents_downloaded_total`.
pub fn document_downloaded() {
    metrics::counter!("documents_downloaded_total").increment(1);
}

/// `notifications_created_total{type,canal}`.
pub fn notification_created(kind: TypeNotification, canal: CanalNotification) {
    metrics::counter!(
        "notifications_created_total",
        "type" => kind.as_str(),
        "canal" => canal.as_str()
    )
    .increment(1);
}

/// `notifications_email_total{result}`: `sent`, `retry` or `failed`.
pub fn email(result: &'static str) {
    metrics::counter!("notifications_email_total", "result" => result).increment(1);
}

/// `scheduler_runs_total{job,result}`: `success`, `failure` or `skipped` (lease elsewhere).
pub fn scheduler_run(job: &str, result: &'static str) {
    metrics::counter!("scheduler_runs_total", "job" => job.to_owned(), "result" => result)
        .increment(1);
}

/// `outbox_pending`: messages waiting, sampled by the worker.
pub fn outbox_pending(pending: i64) {
    #[expect(clippy::cast_precision_loss, reason = "row counts stay far below 2^52")]
    metrics::gauge!("outbox_pending").set(pending as f64);
}

#[cfg(test)]
mod tests;
