//! In-memory fakes of the ports for unit tests: one store with transactional semantics (work
//! runs on a copy kept only on commit), its repositories split by aggregate in `fakes/`, the
//! other ports (hasher, tokens, clock, vault) in `fakes/ports.rs`, a ready [`world::World`]
//! and the shared assertions of `fakes/assert.rs`.

use std::collections::HashMap;
use std::sync::Mutex;

use erp_domain::audit::NewAuditEvent;
use erp_domain::clock::Timestamp;
use erp_domain::dashboard::{DashboardCounts, DashboardScope};
use erp_domain::document::Document;
use erp_domain::enums::OrigineOccurrence;
use erp_domain::equipement::{Equipement, EquipementId};
use erp_domain::intervention::{Intervention, InterventionId, NewHistory};
use erp_domain::notification::{EmailContent, Notification, NotificationId};
use erp_domain::planning::{Planning, PlanningId};
use erp_domain::ports::{
    JobStatus, PurgeCutoffs, PurgeReport, RepoError, Rollback, TransactionMode, TransactionRunner,
    UnitOfWork,
};
use erp_domain::session::{RefreshTokenRecord, Session};
use erp_domain::technicien::{Competence, SkillAssignment, TechnicienFields, TechnicienId};
use erp_domain::throttle::ThrottleState;
use erp_domain::{ClientId, User, UserId};

pub mod assert;
mod background;
mod catalog;
mod identity;
pub mod ports;
mod work;

/// Reads of an intervention the tests share (kept in one place).
pub mod work_ids {
    pub use super::work::id_of;
}
pub mod world;

/// A technicien profile as stored (the user and the skills' names are joined on read).
#[derive(Debug, Clone)]
pub struct StoredTechnicien {
    pub id: TechnicienId,
    pub user_id: UserId,
    pub fields: TechnicienFields,
    pub skills: Vec<SkillAssignment>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A stored notification with what the list does not show.
#[derive(Debug, Clone)]
pub struct StoredNotification {
    pub notification: Notification,
    pub dedup_key: Option<String>,
    pub created_by_id: Option<UserId>,
}

/// One outbox row.
#[derive(Debug, Clone)]
pub struct StoredOutbox {
    pub id: i64,
    pub notification_id: NotificationId,
    pub destinataire: String,
    pub email: EmailContent,
    pub created_at: Timestamp,
    pub next_attempt_at: Option<Timestamp>,
    pub attempts: i32,
    pub statut: &'static str,
    pub claimed_by: Option<String>,
    pub claimed_until: Option<Timestamp>,
    pub sent_at: Option<Timestamp>,
    pub last_error: Option<String>,
}

/// One recorded occurrence of a planning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOccurrence {
    pub planning: PlanningId,
    pub due: Timestamp,
    pub origine: OrigineOccurrence,
    pub intervention: Option<InterventionId>,
}

/// One job lease.
#[derive(Debug, Clone)]
pub struct StoredLease {
    pub holder: String,
    pub until: Timestamp,
    pub status: JobStatus,
}

/// Everything the fake stores.
#[derive(Debug, Clone, Default)]
pub struct Store {
    pub users: Vec<User>,
    pub clients: Vec<ClientId>,
    pub sessions: Vec<Session>,
    pub refresh: Vec<(RefreshTokenRecord, String)>,
    pub throttle: HashMap<(&'static str, String), ThrottleState>,
    pub audit: Vec<NewAuditEvent>,
    pub equipements: Vec<Equipement>,
    /// Équipements some intervention references (beyond those of `interventions`).
    pub equipements_in_use: Vec<EquipementId>,
    pub competences: Vec<Competence>,
    pub techniciens: Vec<StoredTechnicien>,
    pub next_technicien: i64,
    pub interventions: Vec<Intervention>,
    pub history: Vec<NewHistory>,
    pub dashboard: DashboardCounts,
    pub dashboard_scopes: Vec<DashboardScope>,
    pub documents: Vec<Document>,
    pub next_document: i64,
    pub plannings: Vec<Planning>,
    pub next_planning: i64,
    pub occurrences: Vec<StoredOccurrence>,
    pub overdue_notified: Vec<InterventionId>,
    pub leases: HashMap<String, StoredLease>,
    pub notifications: Vec<StoredNotification>,
    pub outbox: Vec<StoredOutbox>,
    pub purges: Vec<PurgeCutoffs>,
    pub purge_report: PurgeReport,
}

/// The fake database.
#[derive(Debug, Default)]
pub struct FakeDb {
    pub store: Mutex<Store>,
}

impl FakeDb {
    /// A copy of the committed state.
    pub fn snapshot(&self) -> Store {
        self.store.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Changes the committed state directly (test set-up).
    pub fn with<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        let mut guard = self
            .store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }
}

/// The id after `len` rows (ids start at 1).
fn next_id(len: usize) -> i64 {
    i64::try_from(len).unwrap_or(i64::MAX - 1) + 1
}

/// A count as the repositories return it.
fn count(len: usize) -> i64 {
    next_id(len) - 1
}

/// One page of `items`.
fn page_of<T>(items: Vec<T>, page: erp_domain::list::Page) -> erp_domain::list::Listed<T> {
    let total = count(items.len());
    let skip = usize::try_from(page.offset).unwrap_or(0);
    let take = usize::try_from(page.limit).unwrap_or(0);
    erp_domain::list::Listed {
        items: items.into_iter().skip(skip).take(take).collect(),
        total,
    }
}

impl TransactionRunner for FakeDb {
    fn run_in_transaction(
        &self,
        _: TransactionMode,
        work: &mut dyn FnMut(&mut dyn UnitOfWork) -> Result<(), Rollback>,
    ) -> Result<(), RepoError> {
        let mut guard = self
            .store
            .lock()
            .map_err(|_| RepoError::Other("poisoned".into()))?;
        let mut copy = guard.clone();
        if work(&mut copy).is_ok() {
            *guard = copy;
        }
        Ok(())
    }
}
