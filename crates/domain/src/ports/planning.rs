//! Storage ports of preventive planning (DATA.md §3.7–3.8) and of background-job leases
//! (§3.12).

use crate::clock::Timestamp;
use crate::enums::OrigineOccurrence;
use crate::intervention::{Intervention, InterventionId};
use crate::list::{Listed, Page, SortKey};
use crate::planning::{Planning, PlanningFields, PlanningFilter, PlanningId, PlanningSortField};
use crate::ports::RepoError;

/// Plannings and their recorded occurrences.
pub trait PlanningRepository {
    /// Inserts a planning (version 1) and returns it with its id.
    ///
    /// # Errors
    /// [`RepoError::ForeignKey`] when the équipement or the technicien does not exist.
    fn insert_planning(
        &mut self,
        fields: &PlanningFields,
        date_reference: Timestamp,
        now: Timestamp,
    ) -> Result<Planning, RepoError>;

    /// The planning with this id, if any.
    ///
    /// # Errors
    /// Only storage failures.
    fn planning_by_id(&mut self, id: PlanningId) -> Result<Option<Planning>, RepoError>;

    /// Writes every field of `planning` (its `version` already incremented) if the stored
    /// version is still `expected`; `false` when another writer got there first.
    ///
    /// # Errors
    /// [`RepoError::ForeignKey`] for an unknown équipement or technicien.
    fn update_planning_if_version(
        &mut self,
        planning: &Planning,
        expected: i32,
    ) -> Result<bool, RepoError>;

    /// Deletes a planning; its generated interventions keep existing (`planning_id` → null).
    ///
    /// # Errors
    /// [`RepoError::NotFound`].
    fn delete_planning(&mut self, id: PlanningId) -> Result<(), RepoError>;

    /// One page of plannings, sorted by `sort` then `id`, with the total count.
    ///
    /// # Errors
    /// Only storage failures.
    fn list_plannings(
        &mut self,
        filter: &PlanningFilter,
        sort: &[SortKey<PlanningSortField>],
        page: Page,
    ) -> Result<Listed<Planning>, RepoError>;

    /// Active plannings whose `prochaine_date` is at most `horizon` (the caller adds the
    /// largest lead time and applies the exact due rule), oldest due date first.
    ///
    /// # Errors
    /// Only storage failures.
    fn active_plannings_due_before(
        &mut self,
        horizon: Timestamp,
        limit: i64,
    ) -> Result<Vec<Planning>, RepoError>;

    /// Sets `termine` on active plannings whose `prochaine_date` is after their `date_fin`;
    /// returns how many.
    ///
    /// # Errors
    /// Only storage failures.
    fn terminate_finished_plannings(&mut self, now: Timestamp) -> Result<usize, RepoError>;

    /// Records the occurrence `(planning, due)` unless it already is (a concurrent replica or
    /// an earlier run): `true` when this call recorded it. Never fails on the duplicate, so the
    /// surrounding transaction stays usable on PostgreSQL.
    ///
    /// # Errors
    /// [`RepoError::ForeignKey`] for an unknown planning.
    fn record_occurrence(
        &mut self,
        planning: PlanningId,
        due: Timestamp,
        origine: OrigineOccurrence,
        now: Timestamp,
    ) -> Result<bool, RepoError>;

    /// Links a recorded occurrence to the intervention generated for it.
    ///
    /// # Errors
    /// [`RepoError::NotFound`] when the occurrence is not recorded.
    fn link_occurrence(
        &mut self,
        planning: PlanningId,
        due: Timestamp,
        intervention: InterventionId,
    ) -> Result<(), RepoError>;

    /// Active interventions past their `date_limite` at `now` whose lateness has not been
    /// notified since that date was set, oldest deadline first.
    ///
    /// # Errors
    /// Only storage failures.
    fn overdue_unnotified(
        &mut self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<Intervention>, RepoError>;

    /// Marks an intervention's lateness as notified at `at`.
    ///
    /// # Errors
    /// [`RepoError::NotFound`].
    fn mark_overdue_notified(&mut self, id: InterventionId, at: Timestamp)
    -> Result<(), RepoError>;
}

/// The state of one background job's lease (`/health`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobStatus {
    /// Job name.
    pub job: String,
    /// Last start, if any.
    pub last_run_at: Option<Timestamp>,
    /// Last successful end, if any.
    pub last_success_at: Option<Timestamp>,
    /// The error category of the last run, if it failed.
    pub last_error: Option<String>,
    /// When the last failed run ended.
    pub last_error_at: Option<Timestamp>,
}

/// Leadership of background jobs among replicas.
pub trait LeaseRepository {
    /// Takes or renews the lease of `job` for `holder` until `until`, if it is free, expired or
    /// already held by `holder`; records `last_run_at = now`. `true` when the caller holds it.
    ///
    /// # Errors
    /// Only storage failures.
    fn acquire_lease(
        &mut self,
        job: &str,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool, RepoError>;

    /// Records the end of a run: success clears `last_error` and sets `last_success_at`; a
    /// failure records its category in `last_error` and `now` in `last_error_at`.
    ///
    /// # Errors
    /// Only storage failures.
    fn finish_job(
        &mut self,
        job: &str,
        now: Timestamp,
        error: Option<&str>,
    ) -> Result<(), RepoError>;

    /// The status of a job, if it is known.
    ///
    /// # Errors
    /// Only storage failures.
    fn job_status(&mut self, job: &str) -> Result<Option<JobStatus>, RepoError>;
}
