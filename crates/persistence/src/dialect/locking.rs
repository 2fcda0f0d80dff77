//! Locks: PostgreSQL's row locks and transaction advisory locks. SQLite has neither and needs
//! neither: its write transactions start with `BEGIN IMMEDIATE`, so they already run one at a
//! time (`database.rs`), and a read inside one sees no concurrent writer.

use diesel::pg::{Pg, PgConnection};
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::query_dsl::methods::ExecuteDsl;
use diesel::sql_types::BigInt;
use diesel::sqlite::Sqlite;
use diesel::{QueryResult, RunQueryDsl};

use super::Conn;

/// Whether a read locks the rows it returns until the transaction ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RowLock {
    /// A plain read.
    None,
    /// `SELECT … FOR UPDATE` on PostgreSQL (against a concurrent read-modify-write of the same
    /// row); a plain read on SQLite.
    ForUpdate,
}

/// A `SELECT` with its [`RowLock`]: the same SQL as diesel's `.for_update()` on PostgreSQL
/// (` FOR UPDATE` after the statement), nothing added on SQLite.
#[derive(Debug, Clone)]
pub(crate) struct Locked<Q> {
    query: Q,
    lock: RowLock,
}

/// `.locked(lock)` on any query.
pub(crate) trait Lockable: Sized {
    fn locked(self, lock: RowLock) -> Locked<Self> {
        Locked { query: self, lock }
    }
}

impl<Q: Query> Lockable for Q {}

impl<Q: Query> Query for Locked<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, C> RunQueryDsl<C> for Locked<Q> {}

/// Never a static id: the lock is a run-time choice, so the SQL text is the cache key.
impl<Q> QueryId for Locked<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: QueryFragment<Sqlite>> QueryFragment<Sqlite> for Locked<Q> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        self.query.walk_ast(out)
    }
}

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Locked<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.query.walk_ast(out.reborrow())?;
        if self.lock == RowLock::ForUpdate {
            out.push_sql(" FOR UPDATE");
        }
        Ok(())
    }
}

/// Runs `insert` — an `INSERT … ON CONFLICT DO NOTHING` of the row a following
/// [`RowLock::ForUpdate`] read is about to lock — on PostgreSQL only, so that even a first
/// attempt finds a row to lock (a missing row cannot be locked, and two transactions would
/// both read "none"). SQLite needs no row: its write transaction already excludes every other
/// writer.
///
/// # Errors
/// The insert failed.
pub(crate) fn ensure_row_to_lock<I>(conn: &mut Conn<'_>, insert: I) -> QueryResult<()>
where
    I: RunQueryDsl<PgConnection> + ExecuteDsl<PgConnection>,
{
    if let Conn::Postgres(c) = conn {
        insert.execute(&mut **c)?;
    }
    Ok(())
}

/// Holds the transaction advisory lock `key` until the transaction ends
/// (`pg_advisory_xact_lock`): transactions taking the same key run one after the other. A
/// no-op on SQLite, whose write transactions already do.
///
/// # Errors
/// Taking the lock failed.
pub(crate) fn transaction_advisory_lock(conn: &mut Conn<'_>, key: i64) -> QueryResult<()> {
    if let Conn::Postgres(c) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<BigInt, _>(key)
            .execute(&mut **c)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use diesel::pg::Pg;
    use diesel::prelude::*;
    use diesel::sqlite::Sqlite;

    use super::{Lockable as _, RowLock};
    use crate::schema::users;

    fn pg(lock: RowLock) -> String {
        diesel::debug_query::<Pg, _>(&users::table.find(7_i64).locked(lock)).to_string()
    }

    fn sqlite(lock: RowLock) -> String {
        diesel::debug_query::<Sqlite, _>(&users::table.find(7_i64).locked(lock)).to_string()
    }

    #[test]
    fn a_row_lock_is_for_update_on_postgres_and_nothing_on_sqlite() {
        let locked = pg(RowLock::ForUpdate);
        assert!(
            locked.contains(r#"WHERE ("users"."id" = $1) FOR UPDATE"#),
            "{locked}"
        );
        assert_eq!(locked.replace(" FOR UPDATE", ""), pg(RowLock::None));
        assert!(!sqlite(RowLock::ForUpdate).contains("FOR UPDATE"));
        assert_eq!(sqlite(RowLock::ForUpdate), sqlite(RowLock::None));
    }

    #[test]
    fn the_lock_is_the_same_sql_as_diesels_for_update() {
        let diesels =
            diesel::debug_query::<Pg, _>(&users::table.find(7_i64).for_update()).to_string();
        assert_eq!(pg(RowLock::ForUpdate), diesels);
    }
}
