//! Fakes of the identity ports: users, client accounts, sessions, login throttle, audit.

use erp_domain::audit::{AuditEvent, AuditFilter, NewAuditEvent};
use erp_domain::clock::Timestamp;
use erp_domain::list::{Listed, Page, SortKey};
use erp_domain::ports::{
    AuditRepository, ClientRepository, NewClient, RepoError, SessionRepository, ThrottleRepository,
    UniqueKey, UserRepository,
};
use erp_domain::session::{
    NewRefreshToken, NewSession, RefreshTokenRecord, RevocationReason, Session,
};
use erp_domain::throttle::{ThrottleScope, ThrottleState};
use erp_domain::user::{NewUser, UserFilter, UserRole, UserSortField};
use erp_domain::{AuditEventId, ClientId, SessionId, User, UserId};

use super::{Store, next_id};

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
            .filter(|u| f.client_id.is_none_or(|c| u.client_id == Some(c)))
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
