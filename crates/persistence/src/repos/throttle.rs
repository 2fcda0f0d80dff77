//! `login_throttle` adapter (DATA.md §2.5).

use diesel::prelude::*;
use diesel::upsert::excluded;
use erp_domain::clock::Timestamp;
use erp_domain::ports::{RepoError, ThrottleRepository};
use erp_domain::throttle::{ThrottleScope, ThrottleState};

use super::DieselUnitOfWork;
use crate::dialect::locking::{Lockable as _, RowLock, ensure_row_to_lock};
use crate::errors::map;
use crate::schema::login_throttle;
use crate::time::{DbTime, from_db, to_db};
use crate::with_conn;

#[derive(Queryable, Selectable)]
#[diesel(table_name = login_throttle)]
struct ThrottleRow {
    failure_count: i32,
    window_started_at: Option<DbTime>,
    lockout_level: i32,
    locked_until: Option<DbTime>,
    last_failure_at: Option<DbTime>,
}

impl ThrottleRepository for DieselUnitOfWork<'_> {
    fn throttle_state(
        &mut self,
        scope: ThrottleScope,
        key: &str,
        for_update: bool,
    ) -> Result<Option<ThrottleState>, RepoError> {
        // PostgreSQL locks the row against a concurrent login's read-modify-write (dialect).
        let lock = if for_update {
            RowLock::ForUpdate
        } else {
            RowLock::None
        };
        let row = with_conn!(&mut self.conn, c => login_throttle::table
            .filter(login_throttle::scope.eq(scope.as_str()))
            .filter(login_throttle::key.eq(key))
            .select(ThrottleRow::as_select())
            .locked(lock)
            .get_result(c)
            .optional())
        .map_err(map)?;
        Ok(row.map(|r| ThrottleState {
            failure_count: r.failure_count,
            window_started_at: r.window_started_at.map(from_db),
            lockout_level: r.lockout_level,
            locked_until: r.locked_until.map(from_db),
            last_failure_at: r.last_failure_at.map(from_db),
        }))
    }

    fn lock_throttle_state(
        &mut self,
        scope: ThrottleScope,
        key: &str,
        at: Timestamp,
    ) -> Result<ThrottleState, RepoError> {
        ensure_row_to_lock(
            &mut self.conn,
            diesel::insert_into(login_throttle::table)
                .values((
                    login_throttle::scope.eq(scope.as_str()),
                    login_throttle::key.eq(key),
                    login_throttle::failure_count.eq(0),
                    login_throttle::lockout_level.eq(0),
                    login_throttle::updated_at.eq(to_db(at)),
                ))
                .on_conflict((login_throttle::scope, login_throttle::key))
                .do_nothing(),
        )
        .map_err(map)?;
        Ok(self.throttle_state(scope, key, true)?.unwrap_or_default())
    }

    fn save_throttle_state(
        &mut self,
        scope: ThrottleScope,
        key: &str,
        state: &ThrottleState,
        at: Timestamp,
    ) -> Result<(), RepoError> {
        let values = (
            login_throttle::scope.eq(scope.as_str()),
            login_throttle::key.eq(key),
            login_throttle::failure_count.eq(state.failure_count),
            login_throttle::window_started_at.eq(state.window_started_at.map(to_db)),
            login_throttle::lockout_level.eq(state.lockout_level),
            login_throttle::locked_until.eq(state.locked_until.map(to_db)),
            login_throttle::last_failure_at.eq(state.last_failure_at.map(to_db)),
            login_throttle::updated_at.eq(to_db(at)),
        );
        with_conn!(&mut self.conn, c => diesel::insert_into(login_throttle::table)
            .values(values)
            .on_conflict((login_throttle::scope, login_throttle::key))
            .do_update()
            .set((
                login_throttle::failure_count.eq(excluded(login_throttle::failure_count)),
                login_throttle::window_started_at.eq(excluded(login_throttle::window_started_at)),
                login_throttle::lockout_level.eq(excluded(login_throttle::lockout_level)),
                login_throttle::locked_until.eq(excluded(login_throttle::locked_until)),
                login_throttle::last_failure_at.eq(excluded(login_throttle::last_failure_at)),
                login_throttle::updated_at.eq(excluded(login_throttle::updated_at)),
            ))
            .execute(c))
        .map_err(map)?;
        Ok(())
    }

    fn clear_throttle(&mut self, scope: ThrottleScope, key: &str) -> Result<(), RepoError> {
        with_conn!(&mut self.conn, c => diesel::delete(
                login_throttle::table
                    .filter(login_throttle::scope.eq(scope.as_str()))
                    .filter(login_throttle::key.eq(key)),
            )
            .execute(c))
        .map_err(map)?;
        Ok(())
    }
}
