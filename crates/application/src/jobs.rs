//! Background jobs under a lease (DATA.md §3.12): a replica runs a job only while it holds the
//! job's lease; the lease avoids duplicated work, the unique keys guarantee correctness.

use chrono::Duration;
use erp_domain::ports::{JobStatus, TransactionMode};

use crate::app::Application;
use crate::error::AppError;
use crate::tx::transaction;

/// Generation of due preventive interventions.
pub const PLANNING_GENERATION: &str = "planning_generation";
/// `retard` notifications of overdue interventions.
pub const OVERDUE_SCAN: &str = "overdue_scan";

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
            return Ok(None);
        }
        let result = work(self);
        let error = result.as_ref().err().map(ToString::to_string);
        let end = self.ports.clock.now();
        transaction(self.ports.db.as_ref(), TransactionMode::ReadWrite, |uow| {
            Ok::<_, AppError>(uow.finish_job(job, end, error.as_deref())?)
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
