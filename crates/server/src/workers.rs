//! Background workers of the server (D7, D8): the scheduler (preventive generation and the
//! overdue scan, each under a database lease) and the e-mail outbox worker. They run on the
//! server's runtime, do their database and SMTP work on blocking threads, and stop with it.

use std::sync::Arc;
use std::time::Duration;

use erp_application::Application;
use erp_application::jobs::{HOUSEKEEPING, OVERDUE_SCAN, PLANNING_GENERATION, Retention};
use erp_domain::ports::MailSender;

use crate::config::Settings;

/// Messages per outbox poll.
const OUTBOX_BATCH: i64 = 50;

/// A name unique to this process among replicas: lease holder and outbox claimer.
#[must_use]
pub fn instance_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "erp".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{host}-{}-{nanos:08x}", std::process::id())
}

/// Runs `work` on the blocking pool every `period` (a late tick waits, never bursts), for as
/// long as the server's runtime lives.
fn every(period: Duration, name: &'static str, work: impl Fn() + Send + Sync + 'static) {
    let work = Arc::new(work);
    actix_web::rt::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let work = Arc::clone(&work);
            if let Err(e) = tokio::task::spawn_blocking(move || work()).await {
                tracing::error!(worker = name, error = %e, "background run panicked");
            }
        }
    });
}

/// Spawns the workers the configuration enables. Call inside the server's runtime.
pub fn spawn(settings: &Settings, app: &Application, mailer: Option<Arc<dyn MailSender>>) {
    let me = instance_id();
    if settings.scheduler.enabled {
        let period = Duration::from_secs(settings.scheduler.interval_seconds);
        let ttl = chrono::Duration::from_std(period * 2).unwrap_or(chrono::Duration::minutes(2));
        tracing::info!(interval_seconds = period.as_secs(), instance = %me, "scheduler started");
        let (scheduler_app, holder) = (app.clone(), me.clone());
        every(period, "scheduler", move || {
            scheduler_run(&scheduler_app, &holder, ttl);
        });

        let retention = Retention {
            audit_days: settings.housekeeping.audit_retention_days,
        };
        let (housekeeping_app, holder) = (app.clone(), me.clone());
        every(
            Duration::from_secs(settings.housekeeping.interval_seconds),
            "housekeeping",
            move || housekeeping_run(&housekeeping_app, &holder, retention),
        );
    }
    if let Some(mailer) = mailer {
        let period = Duration::from_secs(settings.email.poll_interval_seconds);
        tracing::info!(poll_seconds = period.as_secs(), instance = %me, "e-mail outbox worker started");
        let app = app.clone();
        every(period, "outbox", move || {
            match app.deliver_outbox(mailer.as_ref(), &me, OUTBOX_BATCH) {
                Ok(r) if r.sent + r.retried + r.failed > 0 => tracing::info!(
                    sent = r.sent,
                    retried = r.retried,
                    failed = r.failed,
                    "outbox delivery run"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "outbox delivery run failed"),
            }
        });
    }
}

/// One housekeeping run under its lease.
fn housekeeping_run(app: &Application, holder: &str, retention: Retention) {
    match app.run_leased(HOUSEKEEPING, holder, chrono::Duration::minutes(30), |a| {
        a.run_housekeeping(retention)
    }) {
        Ok(Some(r)) => tracing::info!(
            sessions = r.sessions,
            throttle = r.throttle,
            outbox = r.outbox,
            audit = r.audit,
            blobs = r.blobs,
            "housekeeping run"
        ),
        Ok(None) => {}
        Err(e) => tracing::warn!(job = HOUSEKEEPING, error = %e, "housekeeping failed"),
    }
}

/// One scheduler tick: each job under its lease.
fn scheduler_run(app: &Application, holder: &str, ttl: chrono::Duration) {
    match app.run_leased(
        PLANNING_GENERATION,
        holder,
        ttl,
        Application::run_planning_generation,
    ) {
        Ok(Some(r)) if r.generated + r.terminated > 0 => {
            tracing::info!(
                generated = r.generated,
                terminated = r.terminated,
                "preventive generation run"
            );
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(job = PLANNING_GENERATION, error = %e, "scheduler job failed"),
    }
    match app.run_leased(OVERDUE_SCAN, holder, ttl, Application::run_overdue_scan) {
        Ok(Some(n)) if n > 0 => tracing::info!(interventions = n, "overdue notifications sent"),
        Ok(_) => {}
        Err(e) => tracing::warn!(job = OVERDUE_SCAN, error = %e, "scheduler job failed"),
    }
}
