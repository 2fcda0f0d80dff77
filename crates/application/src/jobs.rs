//! Background jobs under a lease (DATA.md §3.12): a replica runs a job only while it holds the
//! job's lease; the lease avoids duplicated work, the unique keys guarantee correctness.

use chrono::Duration;
use erp_domain::ports::{JobStatus, TransactionMode};

use crate::app::Application;
use crate::error::AppError;
use crate::telemetry;
use crate::tx::transaction;

/// `last_error` of a job that failed on the database (`/health`).
pub const ERROR_DATABASE: &str = "database";
/// `last_error` of a job that failed otherwise (`/health`).
pub const ERROR_INTERNAL: &str = "internal";

fn category_of(error: &AppError) -> &'static str {
    match error {
        AppError::Unavailable(_) => ERROR_DATABASE,
        AppError::Internal(m) if m.starts_with("storage failure") => ERROR_DATABASE,
        _ => ERROR_INTERNAL,
    }
}

/// The category of a recorded `last_error` (rows written before categories were recorded
/// hold a message: `internal`).
#[must_use]
pub fn error_category(recorded: &str) -> &'static str {
    if recorded == ERROR_DATABASE {
        ERROR_DATABASE
    } else {
        ERROR_INTERNAL
    }
}

/// Generation of due preventive interventions.
pub const PLANNING_GENERATION: &str = "planning_generation";
/// `retard` notifications of overdue interventions.
pub const OVERDUE_SCAN: &str = "overdue_scan";
/// Purges of DATA.md §4.2.
pub const HOUSEKEEPING: &str = "housekeeping";

impl Application {
    /// Runs `work` if this replica (`holder`) gets the lease of `job` for `ttl`, and records
    /// its outcome. `Ok(None)` when another replica holds the lease.
    ///
    /// # Errors
    /// Storage failures of the lease itself; the job's own error is recorded and returned.
    pub fn run_leased<T>(
        &self,
        job: &str,
        holder: &str,
        ttl: Duration,
        work: impl FnOnce(&Self) -> Result<T, AppError>,
    ) -> Result<Option<T>, AppError> {
        let now = self.ports.clock.now();
        let held = transaction(self.ports.db.as_ref(), TransactionMode::ReadWrite, |uow| {
            Ok::<_, AppError>(uow.acquire_lease(job, holder, now, now + ttl)?)
        })?;
        if !held {
            telemetry::scheduler_run(job, "skipped");
            return Ok(None);
        }
        let result = work(self);
        telemetry::scheduler_run(job, if result.is_ok() { "success" } else { "failure" });
        // The lease row, read by the public `/health`, keeps only the category; the error
        // itself (a driver message, a path) goes to the log.
        let error = result.as_ref().err().map(|e| {
            tracing::error!(job, error = %e, "background job failed");
            category_of(e)
        });
        let end = self.ports.clock.now();
        transaction(self.ports.db.as_ref(), TransactionMode::ReadWrite, |uow| {
            Ok::<_, AppError>(uow.finish_job(job, end, error)?)
        })?;
        result.map(Some)
    }

    /// The recorded status of a job (`/health`).
    ///
    /// # Errors
    /// Storage failures.
    pub fn job_status(&self, job: &str) -> Result<Option<JobStatus>, AppError> {
        transaction(self.ports.db.as_ref(), TransactionMode::ReadOnly, |uow| {
            Ok(uow.job_status(job)?)
        })
    }
}

/// How long a blob may exist without its row before housekeeping removes it: longer than
/// any upload or key rotation takes between writing a blob and committing its row.
const ORPHAN_BLOB_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Retention of the housekeeping job (DATA.md §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Audit events kept this many days; 0 keeps them forever.
    pub audit_days: i64,
}

impl Application {
    /// One housekeeping run: expired sessions, stale throttle rows and sent e-mails go after
    /// their delay, audit events after the retention, and blobs no row names after an hour.
    ///
    /// # Errors
    /// Storage or file-system failures.
    pub fn run_housekeeping(
        &self,
        retention: Retention,
    ) -> Result<erp_domain::ports::PurgeReport, AppError> {
        let now = self.ports.clock.now();
        let cutoffs = erp_domain::ports::PurgeCutoffs {
            now,
            sessions_before: now - Duration::days(30),
            throttle_before: now - Duration::hours(24),
            outbox_sent_before: now - Duration::days(30),
            audit_before: (retention.audit_days > 0)
                .then(|| now - Duration::days(retention.audit_days)),
        };
        let mut report = transaction(self.ports.db.as_ref(), TransactionMode::ReadWrite, |uow| {
            Ok::<_, AppError>(uow.purge(&cutoffs)?)
        })?;
        let vault = self.ports.documents.as_ref();
        let candidates = vault
            .blobs_older_than(ORPHAN_BLOB_AGE)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let referenced = transaction(self.ports.db.as_ref(), TransactionMode::ReadOnly, |uow| {
            Ok::<_, AppError>(uow.referenced_blobs(&candidates)?)
        })?;
        for name in candidates.iter().filter(|n| !referenced.contains(*n)) {
            vault
                .remove_stale(name)
                .map_err(|e| AppError::Internal(e.to_string()))?;
            report.blobs += 1;
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests;
