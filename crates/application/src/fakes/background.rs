//! Fakes of the planning, lease, notification and outbox ports: the unit tests of the
//! application do not reach them (the HTTP and contract suites run them on real databases).

use erp_domain::clock::Timestamp;
use erp_domain::enums::OrigineOccurrence;
use erp_domain::intervention::{Intervention, InterventionId};
use erp_domain::list::{Listed, Page, SortKey};
use erp_domain::notification::{
    NewNotification, NewOutboxMessage, Notification, NotificationFilter, NotificationId,
    NotificationSortField, OutboxMessage, OutboxStats,
};
use erp_domain::planning::{
    Planning, PlanningFields, PlanningFilter, PlanningId, PlanningSortField,
};
use erp_domain::ports::{
    JobStatus, LeaseRepository, NotificationRepository, OutboxRepository, PlanningRepository,
    RepoError,
};

use super::{Store, unsupported};

impl PlanningRepository for Store {
    fn insert_planning(
        &mut self,
        _: &PlanningFields,
        _: Timestamp,
        _: Timestamp,
    ) -> Result<Planning, RepoError> {
        unsupported()
    }
    fn planning_by_id(&mut self, _: PlanningId) -> Result<Option<Planning>, RepoError> {
        unsupported()
    }
    fn update_planning_if_version(&mut self, _: &Planning, _: i32) -> Result<bool, RepoError> {
        unsupported()
    }
    fn delete_planning(&mut self, _: PlanningId) -> Result<(), RepoError> {
        unsupported()
    }
    fn list_plannings(
        &mut self,
        _: &PlanningFilter,
        _: &[SortKey<PlanningSortField>],
        _: Page,
    ) -> Result<Listed<Planning>, RepoError> {
        unsupported()
    }
    fn active_plannings_due_before(
        &mut self,
        _: Timestamp,
        _: i64,
    ) -> Result<Vec<Planning>, RepoError> {
        unsupported()
    }
    fn terminate_finished_plannings(&mut self, _: Timestamp) -> Result<usize, RepoError> {
        unsupported()
    }
    fn record_occurrence(
        &mut self,
        _: PlanningId,
        _: Timestamp,
        _: OrigineOccurrence,
        _: Timestamp,
    ) -> Result<bool, RepoError> {
        unsupported()
    }
    fn link_occurrence(
        &mut self,
        _: PlanningId,
        _: Timestamp,
        _: InterventionId,
    ) -> Result<(), RepoError> {
        unsupported()
    }
    fn overdue_unnotified(&mut self, _: Timestamp, _: i64) -> Result<Vec<Intervention>, RepoError> {
        unsupported()
    }
    fn mark_overdue_notified(&mut self, _: InterventionId, _: Timestamp) -> Result<(), RepoError> {
        unsupported()
    }
}

impl LeaseRepository for Store {
    fn acquire_lease(
        &mut self,
        _: &str,
        _: &str,
        _: Timestamp,
        _: Timestamp,
    ) -> Result<bool, RepoError> {
        unsupported()
    }
    fn finish_job(&mut self, _: &str, _: Timestamp, _: Option<&str>) -> Result<(), RepoError> {
        unsupported()
    }
    fn job_status(&mut self, _: &str) -> Result<Option<JobStatus>, RepoError> {
        unsupported()
    }
}

impl NotificationRepository for Store {
    fn insert_notification(
        &mut self,
        _: &NewNotification,
    ) -> Result<Option<Notification>, RepoError> {
        unsupported()
    }
    fn notification_by_id(&mut self, _: NotificationId) -> Result<Option<Notification>, RepoError> {
        unsupported()
    }
    fn list_notifications(
        &mut self,
        _: &NotificationFilter,
        _: &[SortKey<NotificationSortField>],
        _: Page,
    ) -> Result<Listed<Notification>, RepoError> {
        unsupported()
    }
    fn mark_notification_read(&mut self, _: NotificationId, _: Timestamp) -> Result<(), RepoError> {
        unsupported()
    }
    fn delete_notification(&mut self, _: NotificationId) -> Result<(), RepoError> {
        unsupported()
    }
}

impl OutboxRepository for Store {
    fn enqueue_email(&mut self, _: &NewOutboxMessage) -> Result<(), RepoError> {
        unsupported()
    }
    fn due_outbox_ids(&mut self, _: Timestamp, _: i64) -> Result<Vec<i64>, RepoError> {
        unsupported()
    }
    fn claim_outbox(
        &mut self,
        _: i64,
        _: &str,
        _: Timestamp,
        _: Timestamp,
    ) -> Result<Option<OutboxMessage>, RepoError> {
        unsupported()
    }
    fn outbox_sent(&mut self, _: i64, _: Timestamp) -> Result<(), RepoError> {
        unsupported()
    }
    fn outbox_failed(
        &mut self,
        _: i64,
        _: i32,
        _: &str,
        _: Option<Timestamp>,
        _: Timestamp,
    ) -> Result<(), RepoError> {
        unsupported()
    }
    fn outbox_stats(&mut self) -> Result<OutboxStats, RepoError> {
        unsupported()
    }
}

impl erp_domain::ports::HousekeepingRepository for Store {
    fn purge(
        &mut self,
        _: &erp_domain::ports::PurgeCutoffs,
    ) -> Result<erp_domain::ports::PurgeReport, RepoError> {
        unsupported()
    }
    fn referenced_blobs(
        &mut self,
        _: &[String],
    ) -> Result<std::collections::HashSet<String>, RepoError> {
        unsupported()
    }
}
