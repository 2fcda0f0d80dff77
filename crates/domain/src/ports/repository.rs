//! Storage ports: repositories, the unit of work, and the transaction runner.

use crate::audit::{AuditEvent, AuditFilter, NewAuditEvent};
use crate::clock::Timestamp;
use crate::dashboard::{DashboardCounts, DashboardScope, DashboardWindows};
use crate::equipement::{
    Equipement, EquipementFields, EquipementFilter, EquipementId, EquipementSortField,
};
use crate::ids::{ClientId, SessionId, UserId};
use crate::intervention::{
    HistoryEntry, Intervention, InterventionFilter, InterventionId, InterventionSortField,
    NewHistory,
};
use crate::list::{Listed, Page, SortKey};
#[cfg(doc)]
use crate::ports::UniqueKey;
use crate::ports::{
    DocumentRepository, HousekeepingRepository, LeaseRepository, NotificationRepository,
    OutboxRepository, PlanningRepository, RepoError,
};
use crate::session::{NewRefreshToken, NewSession, RefreshTokenRecord, RevocationReason, Session};
use crate::technicien::{
    Competence, CompetenceFields, CompetenceFilter, CompetenceId, CompetenceSortField,
    NewTechnicien, SkillAssignment, Technicien, TechnicienFields, TechnicienFilter, TechnicienId,
    TechnicienSortField,
};
use crate::throttle::{ThrottleScope, ThrottleState};
use crate::user::{NewUser, User, UserFilter, UserSortField};

/// Users storage (DATA.md §2.1).
pub trait UserRepository {
    /// Inserts a user and returns it with its new id.
    ///
    /// # Errors
    /// [`RepoError::Duplicate`] with [`UniqueKey::Username`] or [`UniqueKey::Email`] when the
    /// normalised username or the e-mail is taken; [`RepoError::ForeignKey`] when `client_id`
    /// names no client account.
    fn insert_user(&mut self, user: &NewUser) -> Result<User, RepoError>;

    /// The user with this id, if any.
    ///
    /// # Errors
    /// Only storage failures.
    fn user_by_id(&mut self, id: UserId) -> Result<Option<User>, RepoError>;

    /// The user whose normalised username equals `username_norm`, if any.
    ///
    /// # Errors
    /// Only storage failures.
    fn user_by_username_norm(&mut self, username_norm: &str) -> Result<Option<User>, RepoError>;

    /// The user with this (already lowercased) e-mail, if any.
    ///
    /// # Errors
    /// Only storage failures.
    fn user_by_email(&mut self, email: &str) -> Result<Option<User>, RepoError>;

    /// How many users exist, active or not.
    ///
    /// # Errors
    /// Only storage failures.
    fn count_users(&mut self) -> Result<i64, RepoError>;

    /// Records a successful login time.
    ///
    /// # Errors
    /// [`RepoError::NotFound`] when no user has this id.
    fn set_last_login(&mut self, id: UserId, at: Timestamp) -> Result<(), RepoError>;

    /// Activates or deactivates a user.
    ///
    /// # Errors
    /// [`RepoError::NotFound`] when no user has this id.
    fn set_user_active(&mut self, id: UserId, active: bool, at: Timestamp)
    -> Result<(), RepoError>;

    /// Writes every mutable field of `user` (username, e-mail, full name, hash, role, active
    /// flag, client account, `password_changed_at`, `updated_at`).
    ///
    /// # Errors
    /// [`RepoError::NotFound`]; [`RepoError::Duplicate`] as for inserts;
    /// [`RepoError::ForeignKey`] for an unknown client account.
    fn update_user(&mut self, user: &User) -> Result<(), RepoError>;

    /// One page of users matching `filter`, sorted by `sort` then `id`, with the total count.
    ///
    /// # Errors
    /// Only storage failures.
    fn list_users(
        &mut self,
        filter: &UserFilter,
        sort: &[SortKey<UserSortField>],
        page: Page,
    ) -> Result<Listed<User>, RepoError>;

    /// Active users with role `admin`.
    ///
    /// # Errors
    /// Only storage failures.
    fn count_active_admins(&mut self) -> Result<i64, RepoError>;

    /// The user with this id, locked for the rest of the read-write transaction (PostgreSQL
    /// `FOR UPDATE`; SQLite write transactions run one at a time), so that a read-modify-write
    /// of the row cannot undo a concurrent one.
    ///
    /// # Errors
    /// Only storage failures.
    fn user_by_id_for_update(&mut self, id: UserId) -> Result<Option<User>, RepoError>;

    /// Serialises, until the transaction ends, every change that could alter who is an active
    /// administrator (PostgreSQL: a transaction advisory lock; SQLite write transactions run
    /// one at a time): two administrators demoting each other at once cannot both pass the
    /// last-administrator check.
    ///
    /// # Errors
    /// Only storage failures.
    fn lock_user_administration(&mut self) -> Result<(), RepoError>;
}

/// Sessions and refresh tokens (DATA.md §2.3–2.4).
pub trait SessionRepository {
    /// Opens a session.
    ///
    /// # Errors
    /// [`RepoError::ForeignKey`] for an unknown user.
    fn insert_session(&mut self, session: &NewSession) -> Result<Session, RepoError>;

    /// The session and its user, in one read (every authenticated request does it).
    ///
    /// # Errors
    /// Only storage failures.
    fn session_with_user(&mut self, id: SessionId) -> Result<Option<(Session, User)>, RepoError>;

    /// Revokes one session unless already revoked; returns whether it changed.
    ///
    /// # Errors
    /// Only storage failures.
    fn revoke_session(
        &mut self,
        id: SessionId,
        reason: RevocationReason,
        at: Timestamp,
    ) -> Result<bool, RepoError>;

    /// Revokes every active session of a user; returns how many.
    ///
    /// # Errors
    /// Only storage failures.
    fn revoke_user_sessions(
        &mut self,
        user: UserId,
        reason: RevocationReason,
        at: Timestamp,
    ) -> Result<usize, RepoError>;

    /// Records a refresh: `last_seen_at` and the new `expires_at`.
    ///
    /// # Errors
    /// [`RepoError::NotFound`] for an unknown session.
    fn touch_session(
        &mut self,
        id: SessionId,
        at: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), RepoError>;

    /// Stores a refresh token's hash; returns its row id.
    ///
    /// # Errors
    /// [`RepoError::Duplicate`] if the hash exists (a 256-bit collision: never in practice).
    fn insert_refresh_token(&mut self, token: &NewRefreshToken) -> Result<i64, RepoError>;

    /// The refresh token with this hash, if any.
    ///
    /// # Errors
    /// Only storage failures.
    fn refresh_token_by_hash(
        &mut self,
        token_hash: &str,
    ) -> Result<Option<RefreshTokenRecord>, RepoError>;

    /// Marks a token rotated if it is not yet: `UPDATE … WHERE id = ? AND rotated_at IS NULL`.
    /// Returns `false` when another request rotated it first (a reuse).
    ///
    /// # Errors
    /// Only storage failures.
    fn mark_refresh_token_rotated(
        &mut self,
        id: i64,
        at: Timestamp,
        replaced_by: i64,
    ) -> Result<bool, RepoError>;
}

/// Login throttling state (DATA.md §2.5).
pub trait ThrottleRepository {
    /// The state of a key. With `for_update` (read-write transactions only) the row is locked
    /// for the rest of the transaction where the backend can (PostgreSQL `FOR UPDATE`; SQLite
    /// write transactions are serialised anyway).
    ///
    /// # Errors
    /// Only storage failures.
    fn throttle_state(
        &mut self,
        scope: ThrottleScope,
        key: &str,
        for_update: bool,
    ) -> Result<Option<ThrottleState>, RepoError>;

    /// The state of a key (empty when it has none), locked for the rest of the read-write
    /// transaction: on PostgreSQL a missing row is inserted first and then read `FOR UPDATE`,
    /// so two first attempts on one key cannot both start from nothing; SQLite write
    /// transactions run one at a time.
    ///
    /// # Errors
    /// Only storage failures.
    fn lock_throttle_state(
        &mut self,
        scope: ThrottleScope,
        key: &str,
        at: Timestamp,
    ) -> Result<ThrottleState, RepoError>;

    /// Inserts or replaces the state of a key.
    ///
    /// # Errors
    /// Only storage failures.
    fn save_throttle_state(
        &mut self,
        scope: ThrottleScope,
        key: &str,
        state: &ThrottleState,
        at: Timestamp,
    ) -> Result<(), RepoError>;

    /// Forgets a key (successful login).
    ///
    /// # Errors
    /// Only storage failures.
    fn clear_throttle(&mut self, scope: ThrottleScope, key: &str) -> Result<(), RepoError>;
}

/// The append-only audit trail (DATA.md §2.7).
pub trait AuditRepository {
    /// Appends an event.
    ///
    /// # Errors
    /// Only storage failures.
    fn append_audit(&mut self, event: &NewAuditEvent) -> Result<(), RepoError>;

    /// One page of events, newest first (`occurred_at`, `id` descending), with the total.
    ///
    /// # Errors
    /// Only storage failures.
    fn list_audit(
        &mut self,
        filter: &AuditFilter,
        page: Page,
    ) -> Result<Listed<AuditEvent>, RepoError>;
}

/// A client account to insert (DATA.md §2.2).
#[derive(Debug, Clone)]
pub struct NewClient {
    /// Company name, ≤ 255 characters.
    pub nom_entreprise: String,
    /// Contact address.
    pub email: Option<String>,
    /// Creation time.
    pub now: Timestamp,
}

/// Client accounts storage (DATA.md §2.2).
pub trait ClientRepository {
    /// Inserts a client account and returns its id.
    ///
    /// # Errors
    /// Only storage failures.
    fn insert_client(&mut self, client: &NewClient) -> Result<ClientId, RepoError>;

    /// Whether a client account with this id exists.
    ///
    /// # Errors
    /// Only storage failures.
    fn client_exists(&mut self, id: ClientId) -> Result<bool, RepoError>;
}

/// Équipements storage (DATA.md §3.4).
pub trait EquipementRepository {
    /// Inserts an équipement.
    ///
    /// # Errors
    /// [`RepoError::Duplicate`] with [`UniqueKey::EquipementNom`], [`UniqueKey::NumeroSerie`]
    /// or [`UniqueKey::CodeInterne`]; [`RepoError::ForeignKey`] for an unknown client account.
    fn insert_equipement(
        &mut self,
        fields: &EquipementFields,
        now: Timestamp,
    ) -> Result<Equipement, RepoError>;

    /// The équipement with this id, if any.
    ///
    /// # Errors
    /// Only storage failures.
    fn equipement_by_id(&mut self, id: EquipementId) -> Result<Option<Equipement>, RepoError>;

    /// Rewrites every field.
    ///
    /// # Errors
    /// As [`Self::insert_equipement`], plus [`RepoError::NotFound`].
    fn update_equipement(
        &mut self,
        id: EquipementId,
        fields: &EquipementFields,
        now: Timestamp,
    ) -> Result<Equipement, RepoError>;

    /// Deletes an équipement (its plannings go with it).
    ///
    /// # Errors
    /// [`RepoError::NotFound`]; [`RepoError::ForeignKey`] while interventions reference it.
    fn delete_equipement(&mut self, id: EquipementId) -> Result<(), RepoError>;

    /// Whether any intervention references it.
    ///
    /// # Errors
    /// Only storage failures.
    fn equipement_has_interventions(&mut self, id: EquipementId) -> Result<bool, RepoError>;

    /// One page of équipements, sorted by `sort` then `id`, with the total.
    ///
    /// # Errors
    /// Only storage failures.
    fn list_equipements(
        &mut self,
        filter: &EquipementFilter,
        sort: &[SortKey<EquipementSortField>],
        page: Page,
    ) -> Result<Listed<Equipement>, RepoError>;
}

/// Compétences storage (DATA.md §3.2).
pub trait CompetenceRepository {
    /// Inserts a compétence.
    ///
    /// # Errors
    /// [`RepoError::Duplicate`] with [`UniqueKey::CompetenceNom`].
    fn insert_competence(
        &mut self,
        fields: &CompetenceFields,
        now: Timestamp,
    ) -> Result<Competence, RepoError>;

    /// The compétence with this id, if any.
    ///
    /// # Errors
    /// Only storage failures.
    fn competence_by_id(&mut self, id: CompetenceId) -> Result<Option<Competence>, RepoError>;

    /// Rewrites every field.
    ///
    /// # Errors
    /// As inserts, plus [`RepoError::NotFound`].
    fn update_competence(
        &mut self,
        id: CompetenceId,
        fields: &CompetenceFields,
        now: Timestamp,
    ) -> Result<Competence, RepoError>;

    /// Deletes a compétence and its links to techniciens.
    ///
    /// # Errors
    /// [`RepoError::NotFound`].
    fn delete_competence(&mut self, id: CompetenceId) -> Result<(), RepoError>;

    /// How many of `ids` exist.
    ///
    /// # Errors
    /// Only storage failures.
    fn count_competences(&mut self, ids: &[CompetenceId]) -> Result<usize, RepoError>;

    /// One page of compétences.
    ///
    /// # Errors
    /// Only storage failures.
    fn list_competences(
        &mut self,
        filter: &CompetenceFilter,
        sort: &[SortKey<CompetenceSortField>],
        page: Page,
    ) -> Result<Listed<Competence>, RepoError>;
}

/// Techniciens storage (DATA.md §3.1, §3.3).
pub trait TechnicienRepository {
    /// Inserts a profile.
    ///
    /// # Errors
    /// [`RepoError::Duplicate`] with [`UniqueKey::TechnicienUser`] or [`UniqueKey::NumeroBadge`].
    fn insert_technicien(
        &mut self,
        new: &NewTechnicien,
        now: Timestamp,
    ) -> Result<TechnicienId, RepoError>;

    /// The profile with its user and skills.
    ///
    /// # Errors
    /// Only storage failures.
    fn technicien_by_id(&mut self, id: TechnicienId) -> Result<Option<Technicien>, RepoError>;

    /// The profile of a user, if any.
    ///
    /// # Errors
    /// Only storage failures.
    fn technicien_id_of_user(&mut self, user: UserId) -> Result<Option<TechnicienId>, RepoError>;

    /// Rewrites the profile's fields.
    ///
    /// # Errors
    /// [`RepoError::NotFound`]; [`RepoError::Duplicate`] with [`UniqueKey::NumeroBadge`].
    fn update_technicien(
        &mut self,
        id: TechnicienId,
        fields: &TechnicienFields,
        now: Timestamp,
    ) -> Result<(), RepoError>;

    /// Replaces the skill set; existing pairs keep their `date_acquisition`.
    ///
    /// # Errors
    /// [`RepoError::ForeignKey`] for an unknown compétence.
    fn replace_skills(
        &mut self,
        id: TechnicienId,
        skills: &[SkillAssignment],
        now: Timestamp,
    ) -> Result<(), RepoError>;

    /// Deletes a profile (its skill links go with it).
    ///
    /// # Errors
    /// [`RepoError::NotFound`].
    fn delete_technicien(&mut self, id: TechnicienId) -> Result<(), RepoError>;

    /// Whether an `affectee`/`en_cours`/`en_attente` intervention is assigned to it.
    ///
    /// # Errors
    /// Only storage failures.
    fn technicien_has_active_interventions(&mut self, id: TechnicienId) -> Result<bool, RepoError>;

    /// One page of techniciens with users and skills.
    ///
    /// # Errors
    /// Only storage failures.
    fn list_techniciens(
        &mut self,
        filter: &TechnicienFilter,
        sort: &[SortKey<TechnicienSortField>],
        page: Page,
    ) -> Result<Listed<Technicien>, RepoError>;
}

/// Interventions and their history (DATA.md §3.5–3.6).
pub trait InterventionRepository {
    /// Inserts an intervention (its `id` is ignored) and returns it with its id.
    ///
    /// # Errors
    /// [`RepoError::ForeignKey`] for an unknown équipement or technicien.
    fn insert_intervention(&mut self, i: &Intervention) -> Result<Intervention, RepoError>;

    /// The intervention with this id, if any.
    ///
    /// # Errors
    /// Only storage failures.
    fn intervention_by_id(&mut self, id: InterventionId)
    -> Result<Option<Intervention>, RepoError>;

    /// Writes `i` (whose `version` is the new one) only if the stored version is
    /// `expected_version`; returns whether it did (`false` = a concurrent change won).
    ///
    /// # Errors
    /// Only storage failures.
    fn update_intervention_if_version(
        &mut self,
        i: &Intervention,
        expected_version: i32,
    ) -> Result<bool, RepoError>;

    /// Appends a history row.
    ///
    /// # Errors
    /// Only storage failures.
    fn insert_history(&mut self, row: &NewHistory) -> Result<(), RepoError>;

    /// The history of an intervention, oldest first (`horodatage`, `id`).
    ///
    /// # Errors
    /// Only storage failures.
    fn list_history(
        &mut self,
        id: InterventionId,
        page: Page,
    ) -> Result<Listed<HistoryEntry>, RepoError>;

    /// One page of interventions.
    ///
    /// # Errors
    /// Only storage failures.
    fn list_interventions(
        &mut self,
        filter: &InterventionFilter,
        sort: &[SortKey<InterventionSortField>],
        page: Page,
    ) -> Result<Listed<Intervention>, RepoError>;

    /// How many interventions exist per (statut, type) (`interventions_current`).
    ///
    /// # Errors
    /// Only storage failures.
    fn count_by_statut_and_type(
        &mut self,
    ) -> Result<
        Vec<(
            crate::enums::StatutIntervention,
            crate::enums::InterventionType,
            i64,
        )>,
        RepoError,
    >;
}

/// The dashboard's aggregate reads (API.md §3.10).
pub trait DashboardRepository {
    /// Every count of the dashboard for a scope.
    ///
    /// # Errors
    /// Only storage failures.
    fn dashboard_counts(
        &mut self,
        scope: DashboardScope,
        windows: &DashboardWindows,
    ) -> Result<DashboardCounts, RepoError>;
}

/// Every repository, inside one open transaction.
pub trait UnitOfWork:
    UserRepository
    + ClientRepository
    + SessionRepository
    + ThrottleRepository
    + AuditRepository
    + EquipementRepository
    + CompetenceRepository
    + TechnicienRepository
    + InterventionRepository
    + DashboardRepository
    + PlanningRepository
    + LeaseRepository
    + NotificationRepository
    + OutboxRepository
    + HousekeepingRepository
    + DocumentRepository
{
}

impl<T> UnitOfWork for T where
    T: UserRepository
        + ClientRepository
        + SessionRepository
        + ThrottleRepository
        + AuditRepository
        + EquipementRepository
        + CompetenceRepository
        + TechnicienRepository
        + InterventionRepository
        + DashboardRepository
        + PlanningRepository
        + LeaseRepository
        + NotificationRepository
        + OutboxRepository
        + HousekeepingRepository
        + DocumentRepository
{
}

/// Whether a unit of work may write, and whether its reads must see one snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionMode {
    /// Reads only, all from one snapshot (PostgreSQL: `REPEATABLE READ READ ONLY`; SQLite: a
    /// read transaction on the WAL): for reads that must agree with each other.
    ReadOnly,
    /// Reads that need no common snapshot: each statement runs on its own, without
    /// `BEGIN`/`COMMIT` (a statement is its own snapshot on both backends), which saves two
    /// round trips to PostgreSQL. For the per-request session check, a read by id, and a page
    /// of a list with its total — which may then straddle a commit landing between the two
    /// statements, as it would under PostgreSQL's default `READ COMMITTED`.
    Autocommit,
    /// Reads and writes; on SQLite the write lock is taken at `BEGIN`.
    ReadWrite,
}

/// Returned by a unit of work to roll its transaction back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rollback;

/// Runs units of work in database transactions.
pub trait TransactionRunner: Send + Sync + std::fmt::Debug {
    /// Takes one pooled connection, opens one transaction, runs `work`, and commits when it
    /// returns `Ok` or rolls back when it returns `Err(Rollback)`.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`] when no connection can be had; a storage error of the commit;
    /// `Ok(())` is returned after a requested rollback (the caller knows why it rolled back).
    fn run_in_transaction(
        &self,
        mode: TransactionMode,
        work: &mut dyn FnMut(&mut dyn UnitOfWork) -> Result<(), Rollback>,
    ) -> Result<(), RepoError>;
}
