//! Everything that differs between SQLite and PostgreSQL, each difference named by what it is
//! (issue 22, docs/decisions.md "Persistence: one dialect module"). Repositories never match on
//! the backend: they write a query once, run it through [`with_conn!`](crate::with_conn), and call the functions
//! here where the two engines need different SQL or none at all.
//!
//! - [`Conn`] and [`with_conn!`](crate::with_conn): one borrowed connection of either backend, and the one macro
//!   that compiles a diesel expression once per backend.
//! - `locking`: `SELECT … FOR UPDATE` and transaction advisory locks (PostgreSQL only; SQLite
//!   write transactions already run one at a time).
//! - `planner`: SQLite's `likelihood()` hints.
//! - `change_token`: what says "the database has not changed" (the count cache's key).
//! - `paging`: `LIMIT` written into the SQL on SQLite, bound on PostgreSQL.
//! - `time`: timestamps as SQLite stores them (text) and as PostgreSQL does.
//! - `errors`: both engines' constraint and busy errors mapped to [`erp_domain::ports::RepoError`].
//! - [`migrations`]: the two migration sets, the migration lock and transaction.
//! - [`pool`]: the pools, each backend's session settings and transaction flavours.

pub(crate) mod change_token;
pub(crate) mod errors;
pub(crate) mod locking;
pub mod migrations;
pub(crate) mod paging;
pub(crate) mod planner;
pub mod pool;
pub(crate) mod time;

use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;

/// A connection inside an open transaction, on either backend.
pub enum Conn<'a> {
    /// Embedded SQLite.
    Sqlite(&'a mut SqliteConnection),
    /// PostgreSQL.
    Postgres(&'a mut PgConnection),
}

impl std::fmt::Debug for Conn<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Sqlite(_) => "Conn::Sqlite",
            Self::Postgres(_) => "Conn::Postgres",
        })
    }
}

/// Evaluates `$body` with `$c` bound to the concrete connection of `$conn` (a `&mut Conn`).
/// The body is type-checked for each backend, so it may use anything both support.
///
/// The one macro of the crate's queries, kept because the type system forces it: a diesel
/// query is a different type on each backend (`RunQueryDsl<SqliteConnection>` and
/// `RunQueryDsl<PgConnection>` are checked separately, down to each bind's `ToSql`), and Rust
/// has no generic closures, so "this expression, for either connection type" cannot be a
/// function argument. A function generic over the connection would need the whole query's
/// `LoadQuery`/`ExecuteDsl` bounds spelled out for every call site. The parts of queries that
/// can be functions (filters, sort keys, column sets) are ordinary generic functions in the
/// repositories; this macro only picks the connection.
#[macro_export]
macro_rules! with_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::dialect::Conn::Sqlite(inner) => {
                let $c: &mut ::diesel::sqlite::SqliteConnection = &mut **inner;
                $body
            }
            $crate::dialect::Conn::Postgres(inner) => {
                let $c: &mut ::diesel::pg::PgConnection = &mut **inner;
                $body
            }
        }
    };
}
