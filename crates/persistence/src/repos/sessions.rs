//! `auth_sessions` and `refresh_tokens` adapter (DATA.md §2.3–2.4).

use diesel::prelude::*;
use erp_domain::clock::Timestamp;
use erp_domain::ports::{RepoError, SessionRepository};
use erp_domain::session::{
    NewRefreshToken, NewSession, RefreshTokenRecord, RevocationReason, Session,
};
use erp_domain::{SessionId, User, UserId};

use super::DieselUnitOfWork;
use super::users::UserRow;
use crate::errors::map;
use crate::schema::{auth_sessions, refresh_tokens, users};
use crate::time::{DbTime, from_db, to_db};
use crate::with_conn;

#[derive(Queryable, Selectable)]
#[diesel(table_name = auth_sessions)]
struct SessionRow {
    id: i64,
    user_id: i64,
    created_at: DbTime,
    last_seen_at: DbTime,
    expires_at: DbTime,
    revoked_at: Option<DbTime>,
    revoked_reason: Option<String>,
}

impl SessionRow {
    fn into_domain(self) -> Result<Session, RepoError> {
        let revoked_reason = match self.revoked_reason.as_deref() {
            Some(r) => Some(r.parse::<RevocationReason>().map_err(|_| {
                RepoError::Other(format!(
                    "auth_sessions row {}: invalid revoked_reason",
                    self.id
                ))
            })?),
            None => None,
        };
        Ok(Session {
            id: SessionId::new(self.id),
            user_id: UserId::new(self.user_id),
            created_at: from_db(self.created_at),
            last_seen_at: from_db(self.last_seen_at),
            expires_at: from_db(self.expires_at),
            revoked_at: self.revoked_at.map(from_db),
            revoked_reason,
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
struct RefreshRow {
    id: i64,
    session_id: i64,
    created_at: DbTime,
    expires_at: DbTime,
    rotated_at: Option<DbTime>,
    revoked_at: Option<DbTime>,
}

impl SessionRepository for DieselUnitOfWork<'_> {
    fn insert_session(&mut self, s: &NewSession) -> Result<Session, RepoError> {
        let now = to_db(s.now);
        let values = (
            auth_sessions::user_id.eq(s.user_id.get()),
            auth_sessions::created_at.eq(now),
            auth_sessions::last_seen_at.eq(now),
            auth_sessions::expires_at.eq(to_db(s.expires_at)),
            auth_sessions::user_agent.eq(s.user_agent.as_deref()),
            auth_sessions::ip_address.eq(s.ip_address.as_deref()),
        );
        let row: SessionRow =
            with_conn!(&mut self.conn, c => diesel::insert_into(auth_sessions::table)
            .values(values)
            .returning(SessionRow::as_returning())
            .get_result(c))
            .map_err(map)?;
        row.into_domain()
    }

    fn session_with_user(&mut self, id: SessionId) -> Result<Option<(Session, User)>, RepoError> {
        let row: Option<(SessionRow, UserRow)> =
            with_conn!(&mut self.conn, c => auth_sessions::table
            .inner_join(users::table)
            .filter(auth_sessions::id.eq(id.get()))
            .select((SessionRow::as_select(), UserRow::as_select()))
            .get_result(c)
            .optional())
            .map_err(map)?;
        row.map(|(s, u)| Ok((s.into_domain()?, u.into_domain()?)))
            .transpose()
    }

    fn revoke_session(
        &mut self,
        id: SessionId,
        reason: RevocationReason,
        at: Timestamp,
    ) -> Result<bool, RepoError> {
        let at = to_db(at);
        let n = with_conn!(&mut self.conn, c => diesel::update(
                auth_sessions::table.filter(auth_sessions::id.eq(id.get())).filter(auth_sessions::revoked_at.is_null()),
            )
            .set((auth_sessions::revoked_at.eq(Some(at)), auth_sessions::revoked_reason.eq(Some(reason.as_str()))))
            .execute(c))
        .map_err(map)?;
        Ok(n > 0)
    }

    fn revoke_user_sessions(
        &mut self,
        user: UserId,
        reason: RevocationReason,
        at: Timestamp,
    ) -> Result<usize, RepoError> {
        let at = to_db(at);
        with_conn!(&mut self.conn, c => diesel::update(
                auth_sessions::table
                    .filter(auth_sessions::user_id.eq(user.get()))
                    .filter(auth_sessions::revoked_at.is_null()),
            )
            .set((auth_sessions::revoked_at.eq(Some(at)), auth_sessions::revoked_reason.eq(Some(reason.as_str()))))
            .execute(c))
        .map_err(map)
    }

    fn touch_session(
        &mut self,
        id: SessionId,
        at: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), RepoError> {
        let (at, expires_at) = (to_db(at), to_db(expires_at));
        let n = with_conn!(&mut self.conn, c => diesel::update(auth_sessions::table.find(id.get()))
            .set((auth_sessions::last_seen_at.eq(at), auth_sessions::expires_at.eq(expires_at)))
            .execute(c))
        .map_err(map)?;
        if n == 0 {
            Err(RepoError::NotFound)
        } else {
            Ok(())
        }
    }

    fn insert_refresh_token(&mut self, t: &NewRefreshToken) -> Result<i64, RepoError> {
        let values = (
            refresh_tokens::session_id.eq(t.session_id.get()),
            refresh_tokens::token_hash.eq(&t.token_hash),
            refresh_tokens::created_at.eq(to_db(t.now)),
            refresh_tokens::expires_at.eq(to_db(t.expires_at)),
            refresh_tokens::user_agent.eq(t.user_agent.as_deref()),
            refresh_tokens::ip_address.eq(t.ip_address.as_deref()),
        );
        with_conn!(&mut self.conn, c => diesel::insert_into(refresh_tokens::table)
            .values(values)
            .returning(refresh_tokens::id)
            .get_result(c))
        .map_err(map)
    }

    fn refresh_token_by_hash(
        &mut self,
        token_hash: &str,
    ) -> Result<Option<RefreshTokenRecord>, RepoError> {
        let row: Option<RefreshRow> = with_conn!(&mut self.conn, c => refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(token_hash))
            .select(RefreshRow::as_select())
            .get_result(c)
            .optional())
        .map_err(map)?;
        Ok(row.map(|r| RefreshTokenRecord {
            id: r.id,
            session_id: SessionId::new(r.session_id),
            created_at: from_db(r.created_at),
            expires_at: from_db(r.expires_at),
            rotated_at: r.rotated_at.map(from_db),
            revoked_at: r.revoked_at.map(from_db),
        }))
    }

    fn mark_refresh_token_rotated(
        &mut self,
        id: i64,
        at: Timestamp,
        replaced_by: i64,
    ) -> Result<bool, RepoError> {
        let at = to_db(at);
        let n = with_conn!(&mut self.conn, c => diesel::update(
                refresh_tokens::table.filter(refresh_tokens::id.eq(id)).filter(refresh_tokens::rotated_at.is_null()),
            )
            .set((refresh_tokens::rotated_at.eq(Some(at)), refresh_tokens::replaced_by_id.eq(Some(replaced_by))))
            .execute(c))
        .map_err(map)?;
        Ok(n > 0)
    }
}
