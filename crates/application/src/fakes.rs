//! In-memory fakes of the storage ports for unit tests: one store with transactional
//! semantics (work runs on a copy kept only on commit).

use std::collections::HashMap;
use std::sync::Mutex;

use erp_domain::audit::{AuditEvent, AuditFilter, NewAuditEvent};
use erp_domain::clock::Timestamp;
use erp_domain::equipement::{
    Equipement, EquipementFields, EquipementFilter, EquipementId, EquipementSortField,
};
use erp_domain::intervention::{
    HistoryEntry, Intervention, InterventionFilter, InterventionId, InterventionSortField,
    NewHistory,
};
use erp_domain::list::{Listed, Page, SortKey};
use erp_domain::ports::{
    AuditRepository, ClientRepository, NewClient, RepoError, Rollback, SessionRepository,
    ThrottleRepository, TransactionMode, TransactionRunner, UniqueKey, UnitOfWork, UserRepository,
};
use erp_domain::ports::{
    CompetenceRepository, EquipementRepository, InterventionRepository, TechnicienRepository,
};
use erp_domain::session::{
    NewRefreshToken, NewSession, RefreshTokenRecord, RevocationReason, Session,
};
use erp_domain::technicien::{
    Competence, CompetenceFields, CompetenceFilter, CompetenceId, CompetenceSortField,
    NewTechnicien, SkillAssignment, Technicien, TechnicienFields, TechnicienFilter, TechnicienId,
    TechnicienSortField,
};
use erp_domain::throttle::{ThrottleScope, ThrottleState};
use erp_domain::user::{NewUser, UserFilter, UserRole, UserSortField};
use erp_domain::{AuditEventId, ClientId, SessionId, User, UserId};

mod background;

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
}

fn next_id(len: usize) -> i64 {
    i64::try_from(len).unwrap_or(i64::MAX - 1) + 1
}

impl UserRepository for Store {
    fn insert_user(&mut self, u: &NewUser) -> Result<User, RepoError> {
        if self.users.iter().any(|x| x.email == u.email) {
            return Err(RepoError::Duplicate(UniqueKey::Email));
        }
        if self
            .users
            .iter()
            .any(|x| x.username.normalized() == u.username.normalized())
        {
            return Err(RepoError::Duplicate(UniqueKey::Username));
        }
        let user = User {
            id: UserId::new(next_id(self.users.len())),
            username: u.username.clone(),
            email: u.email.clone(),
            full_name: u.full_name.clone(),
            password_hash: u.password_hash.clone(),
            role: u.role,
            is_active: u.is_active,
            client_id: u.client_id,
            last_login: None,
            password_changed_at: u.now,
            created_at: u.now,
            updated_at: u.now,
        };
        self.users.push(user.clone());
        Ok(user)
    }
    fn user_by_id(&mut self, id: UserId) -> Result<Option<User>, RepoError> {
        Ok(self.users.iter().find(|u| u.id == id).cloned())
    }
    fn user_by_username_norm(&mut self, n: &str) -> Result<Option<User>, RepoError> {
        Ok(self
            .users
            .iter()
            .find(|u| u.username.normalized() == n)
            .cloned())
    }
    fn user_by_email(&mut self, e: &str) -> Result<Option<User>, RepoError> {
        Ok(self.users.iter().find(|u| u.email.as_str() == e).cloned())
    }
    fn count_users(&mut self) -> Result<i64, RepoError> {
        Ok(next_id(self.users.len()) - 1)
    }
    fn set_last_login(&mut self, id: UserId, at: Timestamp) -> Result<(), RepoError> {
        let u = self
            .users
            .iter_mut()
            .find(|u| u.id == id)
            .ok_or(RepoError::NotFound)?;
        u.last_login = Some(at);
        Ok(())
    }
    fn set_user_active(
        &mut self,
        id: UserId,
        active: bool,
        at: Timestamp,
    ) -> Result<(), RepoError> {
        let u = self
            .users
            .iter_mut()
            .find(|u| u.id == id)
            .ok_or(RepoError::NotFound)?;
        u.is_active = active;
        u.updated_at = at;
        Ok(())
    }
    fn update_user(&mut self, user: &User) -> Result<(), RepoError> {
        let u = self
            .users
            .iter_mut()
            .find(|u| u.id == user.id)
            .ok_or(RepoError::NotFound)?;
        *u = user.clone();
        Ok(())
    }
    fn list_users(
        &mut self,
        f: &UserFilter,
        _: &[SortKey<UserSortField>],
        page: Page,
    ) -> Result<Listed<User>, RepoError> {
        let all: Vec<User> = self
            .users
            .iter()
            .filter(|u| f.roles.is_empty() || f.roles.contains(&u.role))
            .filter(|u| f.is_active.is_none_or(|a| u.is_active == a))
            .cloned()
            .collect();
        let total = next_id(all.len()) - 1;
        let skip = usize::try_from(page.offset).unwrap_or(0);
        let take = usize::try_from(page.limit).unwrap_or(0);
        Ok(Listed {
            items: all.into_iter().skip(skip).take(take).collect(),
            total,
        })
    }
    fn count_active_admins(&mut self) -> Result<i64, RepoError> {
        Ok(next_id(
            self.users
                .iter()
                .filter(|u| u.is_active && u.role == UserRole::Admin)
                .count(),
        ) - 1)
    }
    fn user_by_id_for_update(&mut self, id: UserId) -> Result<Option<User>, RepoError> {
        self.user_by_id(id)
    }
    fn lock_user_administration(&mut self) -> Result<(), RepoError> {
        Ok(())
    }
}

impl ClientRepository for Store {
    fn insert_client(&mut self, _: &NewClient) -> Result<ClientId, RepoError> {
        let id = ClientId::new(next_id(self.clients.len()));
        self.clients.push(id);
        Ok(id)
    }
    fn client_exists(&mut self, id: ClientId) -> Result<bool, RepoError> {
        Ok(self.clients.contains(&id))
    }
}

impl SessionRepository for Store {
    fn insert_session(&mut self, s: &NewSession) -> Result<Session, RepoError> {
        let session = Session {
            id: SessionId::new(next_id(self.sessions.len())),
            user_id: s.user_id,
            created_at: s.now,
            last_seen_at: s.now,
            expires_at: s.expires_at,
            revoked_at: None,
            revoked_reason: None,
        };
        self.sessions.push(session.clone());
        Ok(session)
    }
    fn session_with_user(&mut self, id: SessionId) -> Result<Option<(Session, User)>, RepoError> {
        let Some(s) = self.sessions.iter().find(|s| s.id == id).cloned() else {
            return Ok(None);
        };
        Ok(self
            .users
            .iter()
            .find(|u| u.id == s.user_id)
            .cloned()
            .map(|u| (s, u)))
    }
    fn revoke_session(
        &mut self,
        id: SessionId,
        reason: RevocationReason,
        at: Timestamp,
    ) -> Result<bool, RepoError> {
        match self
            .sessions
            .iter_mut()
            .find(|s| s.id == id && s.revoked_at.is_none())
        {
            Some(s) => {
                s.revoked_at = Some(at);
                s.revoked_reason = Some(reason);
                Ok(true)
            }
            None => Ok(false),
        }
    }
    fn revoke_user_sessions(
        &mut self,
        user: UserId,
        reason: RevocationReason,
        at: Timestamp,
    ) -> Result<usize, RepoError> {
        let mut n = 0;
        for s in self
            .sessions
            .iter_mut()
            .filter(|s| s.user_id == user && s.revoked_at.is_none())
        {
            s.revoked_at = Some(at);
            s.revoked_reason = Some(reason);
            n += 1;
        }
        Ok(n)
    }
    fn touch_session(
        &mut self,
        id: SessionId,
        at: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), RepoError> {
        let s = self
            .sessions
            .iter_mut()
            .find(|s| s.id == id)
            .ok_or(RepoError::NotFound)?;
        s.last_seen_at = at;
        s.expires_at = expires_at;
        Ok(())
    }
    fn insert_refresh_token(&mut self, t: &NewRefreshToken) -> Result<i64, RepoError> {
        if self.refresh.iter().any(|(_, h)| *h == t.token_hash) {
            return Err(RepoError::Duplicate(UniqueKey::Other));
        }
        let id = next_id(self.refresh.len());
        let record = RefreshTokenRecord {
            id,
            session_id: t.session_id,
            created_at: t.now,
            expires_at: t.expires_at,
            rotated_at: None,
            revoked_at: None,
        };
        self.refresh.push((record, t.token_hash.clone()));
        Ok(id)
    }
    fn refresh_token_by_hash(
        &mut self,
        hash: &str,
    ) -> Result<Option<RefreshTokenRecord>, RepoError> {
        Ok(self
            .refresh
            .iter()
            .find(|(_, h)| h == hash)
            .map(|(r, _)| r.clone()))
    }
    fn mark_refresh_token_rotated(
        &mut self,
        id: i64,
        at: Timestamp,
        _: i64,
    ) -> Result<bool, RepoError> {
        match self
            .refresh
            .iter_mut()
            .find(|(r, _)| r.id == id && r.rotated_at.is_none())
        {
            Some((r, _)) => {
                r.rotated_at = Some(at);
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

impl ThrottleRepository for Store {
    fn throttle_state(
        &mut self,
        scope: ThrottleScope,
        key: &str,
        _: bool,
    ) -> Result<Option<ThrottleState>, RepoError> {
        Ok(self
            .throttle
            .get(&(scope.as_str(), key.to_owned()))
            .cloned())
    }
    fn lock_throttle_state(
        &mut self,
        scope: ThrottleScope,
        key: &str,
        _: Timestamp,
    ) -> Result<ThrottleState, RepoError> {
        Ok(self.throttle_state(scope, key, true)?.unwrap_or_default())
    }
    fn save_throttle_state(
        &mut self,
        scope: ThrottleScope,
        key: &str,
        state: &ThrottleState,
        _: Timestamp,
    ) -> Result<(), RepoError> {
        self.throttle
            .insert((scope.as_str(), key.to_owned()), state.clone());
        Ok(())
    }
    fn clear_throttle(&mut self, scope: ThrottleScope, key: &str) -> Result<(), RepoError> {
        self.throttle.remove(&(scope.as_str(), key.to_owned()));
        Ok(())
    }
}

impl AuditRepository for Store {
    fn append_audit(&mut self, e: &NewAuditEvent) -> Result<(), RepoError> {
        self.audit.push(e.clone());
        Ok(())
    }
    fn list_audit(&mut self, _: &AuditFilter, page: Page) -> Result<Listed<AuditEvent>, RepoError> {
        let items: Vec<AuditEvent> = self
            .audit
            .iter()
            .enumerate()
            .rev()
            .map(|(i, e)| AuditEvent {
                id: AuditEventId::new(next_id(i)),
                event: e.clone(),
            })
            .take(usize::try_from(page.limit).unwrap_or(0))
            .collect();
        Ok(Listed {
            total: next_id(self.audit.len()) - 1,
            items,
        })
    }
}

impl EquipementRepository for Store {
    fn insert_equipement(
        &mut self,
        f: &EquipementFields,
        now: Timestamp,
    ) -> Result<Equipement, RepoError> {
        let e = Equipement {
            id: EquipementId::new(next_id(self.equipements.len())),
            fields: f.clone(),
            created_at: now,
            updated_at: now,
        };
        self.equipements.push(e.clone());
        Ok(e)
    }
    fn equipement_by_id(&mut self, id: EquipementId) -> Result<Option<Equipement>, RepoError> {
        Ok(self.equipements.iter().find(|e| e.id == id).cloned())
    }
    fn update_equipement(
        &mut self,
        id: EquipementId,
        f: &EquipementFields,
        now: Timestamp,
    ) -> Result<Equipement, RepoError> {
        let e = self
            .equipements
            .iter_mut()
            .find(|e| e.id == id)
            .ok_or(RepoError::NotFound)?;
        e.fields = f.clone();
        e.updated_at = now;
        Ok(e.clone())
    }
    fn delete_equipement(&mut self, id: EquipementId) -> Result<(), RepoError> {
        let before = self.equipements.len();
        self.equipements.retain(|e| e.id != id);
        if self.equipements.len() == before {
            Err(RepoError::NotFound)
        } else {
            Ok(())
        }
    }
    fn equipement_has_interventions(&mut self, _: EquipementId) -> Result<bool, RepoError> {
        Ok(false)
    }
    fn list_equipements(
        &mut self,
        _: &EquipementFilter,
        _: &[SortKey<EquipementSortField>],
        _: Page,
    ) -> Result<Listed<Equipement>, RepoError> {
        Ok(Listed {
            total: next_id(self.equipements.len()) - 1,
            items: self.equipements.clone(),
        })
    }
}

fn unsupported<T>() -> Result<T, RepoError> {
    Err(RepoError::Other(
        "not supported by the in-memory fake".into(),
    ))
}

impl CompetenceRepository for Store {
    fn insert_competence(
        &mut self,
        _: &CompetenceFields,
        _: Timestamp,
    ) -> Result<Competence, RepoError> {
        unsupported()
    }
    fn competence_by_id(&mut self, _: CompetenceId) -> Result<Option<Competence>, RepoError> {
        unsupported()
    }
    fn update_competence(
        &mut self,
        _: CompetenceId,
        _: &CompetenceFields,
        _: Timestamp,
    ) -> Result<Competence, RepoError> {
        unsupported()
    }
    fn delete_competence(&mut self, _: CompetenceId) -> Result<(), RepoError> {
        unsupported()
    }
    fn count_competences(&mut self, _: &[CompetenceId]) -> Result<usize, RepoError> {
        unsupported()
    }
    fn list_competences(
        &mut self,
        _: &CompetenceFilter,
        _: &[SortKey<CompetenceSortField>],
        _: Page,
    ) -> Result<Listed<Competence>, RepoError> {
        unsupported()
    }
}

impl TechnicienRepository for Store {
    fn insert_technicien(
        &mut self,
        _: &NewTechnicien,
        _: Timestamp,
    ) -> Result<TechnicienId, RepoError> {
        unsupported()
    }
    fn technicien_by_id(&mut self, _: TechnicienId) -> Result<Option<Technicien>, RepoError> {
        unsupported()
    }
    fn technicien_id_of_user(&mut self, _: UserId) -> Result<Option<TechnicienId>, RepoError> {
        Ok(None)
    }
    fn update_technicien(
        &mut self,
        _: TechnicienId,
        _: &TechnicienFields,
        _: Timestamp,
    ) -> Result<(), RepoError> {
        unsupported()
    }
    fn replace_skills(
        &mut self,
        _: TechnicienId,
        _: &[SkillAssignment],
        _: Timestamp,
    ) -> Result<(), RepoError> {
        unsupported()
    }
    fn delete_technicien(&mut self, _: TechnicienId) -> Result<(), RepoError> {
        unsupported()
    }
    fn technicien_has_active_interventions(&mut self, _: TechnicienId) -> Result<bool, RepoError> {
        unsupported()
    }
    fn list_techniciens(
        &mut self,
        _: &TechnicienFilter,
        _: &[SortKey<TechnicienSortField>],
        _: Page,
    ) -> Result<Listed<Technicien>, RepoError> {
        unsupported()
    }
}

impl InterventionRepository for Store {
    fn insert_intervention(&mut self, _: &Intervention) -> Result<Intervention, RepoError> {
        unsupported()
    }
    fn intervention_by_id(&mut self, _: InterventionId) -> Result<Option<Intervention>, RepoError> {
        unsupported()
    }
    fn update_intervention_if_version(
        &mut self,
        _: &Intervention,
        _: i32,
    ) -> Result<bool, RepoError> {
        unsupported()
    }
    fn insert_history(&mut self, _: &NewHistory) -> Result<(), RepoError> {
        unsupported()
    }
    fn list_history(
        &mut self,
        _: InterventionId,
        _: Page,
    ) -> Result<Listed<HistoryEntry>, RepoError> {
        unsupported()
    }
    fn list_interventions(
        &mut self,
        _: &InterventionFilter,
        _: &[SortKey<InterventionSortField>],
        _: Page,
    ) -> Result<Listed<Intervention>, RepoError> {
        unsupported()
    }
    fn count_by_statut_and_type(
        &mut self,
    ) -> Result<
        Vec<(
            erp_domain::enums::StatutIntervention,
            erp_domain::enums::InterventionType,
            i64,
        )>,
        RepoError,
    > {
        unsupported()
    }
}

impl erp_domain::ports::DashboardRepository for Store {
    fn dashboard_counts(
        &mut self,
        _: erp_domain::dashboard::DashboardScope,
        _: &erp_domain::dashboard::DashboardWindows,
    ) -> Result<erp_domain::dashboard::DashboardCounts, RepoError> {
        unsupported()
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

impl erp_domain::ports::DocumentRepository for Store {
    fn insert_document(
        &mut self,
        _: &erp_domain::document::NewDocument,
    ) -> Result<erp_domain::document::Document, RepoError> {
        unsupported()
    }
    fn document_by_id(
        &mut self,
        _: erp_domain::DocumentId,
    ) -> Result<Option<erp_domain::document::Document>, RepoError> {
        unsupported()
    }
    fn list_documents(
        &mut self,
        _: &erp_domain::document::DocumentFilter,
        _: Page,
    ) -> Result<Listed<erp_domain::document::Document>, RepoError> {
        unsupported()
    }
    fn delete_document(&mut self, _: erp_domain::DocumentId) -> Result<(), RepoError> {
        unsupported()
    }
    fn documents_not_under_key(
        &mut self,
        _: &str,
        _: erp_domain::DocumentId,
        _: i64,
    ) -> Result<Vec<erp_domain::document::Document>, RepoError> {
        unsupported()
    }
    fn replace_document_blob(
        &mut self,
        _: erp_domain::DocumentId,
        _: &str,
        _: &str,
        _: &str,
    ) -> Result<bool, RepoError> {
        unsupported()
    }
}
