//! Connections: one r2d2 pool per backend, each backend's session settings (SQLite's PRAGMAs,
//! PostgreSQL's idle check and broken-connection detection), and each backend's transaction
//! flavours. [`crate::Database`] holds a `Pools` and never matches on the backend.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection as _;
use diesel::pg::PgConnection;
use diesel::r2d2::{
    ConnectionManager, CustomizeConnection, ManageConnection, Pool, PoolError, PooledConnection,
    R2D2Connection as _,
};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection as _, RunQueryDsl as _};
use erp_domain::ports::{DatabaseBackend, RepoError, Rollback, TransactionMode};

use super::Conn;
use crate::instrument::QueryInstrumentation;

/// The pool settings both backends share.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PoolSettings {
    /// Largest number of pooled connections.
    pub(crate) max_connections: u32,
    /// How long a checkout waits for a free connection.
    pub(crate) acquire_timeout: Duration,
}

/// The connection pool of one backend.
pub(crate) enum Pools {
    /// SQLite.
    Sqlite(Pool<ConnectionManager<SqliteConnection>>),
    /// PostgreSQL.
    Postgres(Pool<PgManager>),
}

/// A pooled connection of either backend, checked out for one unit of work.
pub enum PooledConn {
    /// SQLite.
    Sqlite(PooledConnection<ConnectionManager<SqliteConnection>>),
    /// PostgreSQL.
    Postgres(PooledConnection<PgManager>),
}

impl std::fmt::Debug for PooledConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Sqlite(_) => "PooledConn::Sqlite",
            Self::Postgres(_) => "PooledConn::Postgres",
        })
    }
}

impl PooledConn {
    /// Borrows the connection as the backend-neutral [`Conn`].
    pub fn as_conn(&mut self) -> Conn<'_> {
        match self {
            Self::Sqlite(c) => Conn::Sqlite(c),
            Self::Postgres(c) => Conn::Postgres(&mut c.conn),
        }
    }

    /// Refreshes the planner's statistics: a sampled `ANALYZE` on SQLite (which has none until
    /// asked), `ANALYZE` on PostgreSQL.
    pub(crate) fn analyze(&mut self) -> diesel::QueryResult<()> {
        match self {
            Self::Sqlite(c) => c.batch_execute("PRAGMA analysis_limit = 200000; ANALYZE;"),
            Self::Postgres(c) => c.conn.batch_execute("ANALYZE"),
        }
    }

    /// `SELECT 1`.
    pub(crate) fn ping(&mut self) -> diesel::QueryResult<()> {
        let select_one = diesel::sql_query("SELECT 1");
        match self {
            Self::Sqlite(c) => select_one.execute(&mut **c).map(drop),
            Self::Postgres(c) => select_one.execute(&mut c.conn).map(drop),
        }
    }

    /// Runs `work` in a transaction of `mode`; a [`Rollback`] from `work` rolls back and is
    /// not an error.
    ///
    /// - SQLite: a read-write transaction is `BEGIN IMMEDIATE` (a deferred transaction that
    ///   upgrades later can fail with `SQLITE_BUSY` regardless of `busy_timeout`), taken after
    ///   `sqlite_writer`, the process's queue of writers; a read-only one is a plain `BEGIN`.
    /// - PostgreSQL: read-only is `READ ONLY, REPEATABLE READ` (one snapshot for the list and
    ///   its count); a connection lost on the way is marked broken, so that the pool discards
    ///   it on return.
    ///
    /// # Errors
    /// The transaction or one of `work`'s statements failed.
    pub(crate) fn run_transaction(
        &mut self,
        mode: TransactionMode,
        sqlite_writer: &Mutex<()>,
        work: &mut dyn FnMut(Conn<'_>) -> Result<(), Rollback>,
    ) -> diesel::QueryResult<()> {
        let result: Result<(), TxError> = match self {
            Self::Sqlite(pooled) => {
                let c: &mut SqliteConnection = pooled;
                let mut body = |c: &mut SqliteConnection| {
                    work(Conn::Sqlite(c)).map_err(|Rollback| TxError::Rollback)
                };
                match mode {
                    TransactionMode::ReadWrite => {
                        // A poisoned lock only means a writer panicked: the database is fine.
                        let _turn = sqlite_writer
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        c.immediate_transaction(body)
                    }
                    TransactionMode::ReadOnly => c.transaction(body),
                    TransactionMode::Autocommit => body(c),
                }
            }
            Self::Postgres(pooled) => {
                let c: &mut PgConnection = &mut pooled.conn;
                let mut body = |c: &mut PgConnection| {
                    work(Conn::Postgres(c)).map_err(|Rollback| TxError::Rollback)
                };
                let result = match mode {
                    TransactionMode::ReadWrite => c.transaction(body),
                    TransactionMode::ReadOnly => c
                        .build_transaction()
                        .read_only()
                        .repeatable_read()
                        .run(body),
                    TransactionMode::Autocommit => body(c),
                };
                // A connection lost mid-way goes back to the pool only to be discarded. A
                // server-side termination first shows as an unclassified error, and a unit of
                // work's own errors arrive as a rollback: after any failure a ping tells a
                // lost connection from a refused statement (failures only, so it is cheap).
                let lost = match &result {
                    Ok(()) => false,
                    Err(TxError::Diesel(e)) if is_connection_lost(e) => true,
                    Err(_) => c.ping().is_err(),
                };
                if lost {
                    pooled.broken = true;
                }
                result
            }
        };
        match result {
            Ok(()) | Err(TxError::Rollback) => Ok(()),
            Err(TxError::Diesel(e)) => Err(e),
        }
    }
}

#[derive(Debug)]
enum TxError {
    Rollback,
    Diesel(diesel::result::Error),
}

impl From<diesel::result::Error> for TxError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Diesel(e)
    }
}

impl Pools {
    /// The backend of this pool.
    pub(crate) fn backend(&self) -> DatabaseBackend {
        match self {
            Self::Sqlite(_) => DatabaseBackend::Sqlite,
            Self::Postgres(_) => DatabaseBackend::Postgres,
        }
    }

    /// Checks out a connection, waiting at most `timeout`.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`] when none is available in time.
    pub(crate) fn checkout(&self, timeout: Duration) -> Result<PooledConn, RepoError> {
        let unavailable = |e: PoolError| RepoError::Unavailable(e.to_string());
        Ok(match self {
            Self::Sqlite(p) => PooledConn::Sqlite(p.get_timeout(timeout).map_err(unavailable)?),
            Self::Postgres(p) => PooledConn::Postgres(postgres_checkout(p, timeout)?),
        })
    }

    /// The pool's r2d2 state.
    pub(crate) fn state(&self) -> diesel::r2d2::State {
        match self {
            Self::Sqlite(p) => p.state(),
            Self::Postgres(p) => p.state(),
        }
    }

    /// A pool of SQLite connections to the file at `path` (created if missing), each set up
    /// with the PRAGMAs of D1.
    ///
    /// # Errors
    /// The pool could not open its first connection.
    pub(crate) fn sqlite(
        path: &str,
        settings: PoolSettings,
        busy_timeout: Duration,
        cache_kib: u32,
    ) -> Result<Self, PoolError> {
        let manager = ConnectionManager::<SqliteConnection>::new(path);
        Pool::builder()
            .max_size(settings.max_connections.max(1))
            .min_idle(Some(1))
            .connection_timeout(settings.acquire_timeout)
            .test_on_check_out(false)
            .connection_customizer(Box::new(SqlitePragmas {
                busy_timeout,
                cache_kib,
            }))
            .build(manager)
            .map(Self::Sqlite)
    }

    /// A pool of PostgreSQL connections to `url`, with libpq's `connect_timeout` added when the
    /// URL does not set it.
    ///
    /// # Errors
    /// The pool could not open its first connection.
    pub(crate) fn postgres(
        url: &str,
        settings: PoolSettings,
        connect_timeout: Duration,
    ) -> Result<Self, PoolError> {
        let url = with_connect_timeout(url, connect_timeout);
        let manager = PgManager {
            inner: ConnectionManager::<PgConnection>::new(url),
        };
        Pool::builder()
            .max_size(settings.max_connections.max(1))
            .min_idle(Some(1))
            .connection_timeout(settings.acquire_timeout)
            .test_on_check_out(false)
            .connection_customizer(Box::new(PgInstrumentation))
            .build(manager)
            .map(Self::Postgres)
    }
}

/// The PRAGMAs of D1, run on every new SQLite connection.
#[derive(Debug, Clone, Copy)]
struct SqlitePragmas {
    busy_timeout: Duration,
    cache_kib: u32,
}

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.set_instrumentation(QueryInstrumentation::new("sqlite"));
        // busy_timeout first, so that switching to WAL waits for a concurrent opener.
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
             PRAGMA foreign_keys = ON; PRAGMA cache_size = -{};",
            self.busy_timeout.as_millis(),
            self.cache_kib
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Instruments every new PostgreSQL connection.
#[derive(Debug, Clone, Copy)]
struct PgInstrumentation;

impl CustomizeConnection<PgPooled, diesel::r2d2::Error> for PgInstrumentation {
    fn on_acquire(&self, conn: &mut PgPooled) -> Result<(), diesel::r2d2::Error> {
        conn.conn
            .set_instrumentation(QueryInstrumentation::new("postgresql"));
        Ok(())
    }
}

/// A pooled PostgreSQL connection and what the pool needs to know about its health.
#[expect(
    missing_debug_implementations,
    reason = "PgConnection has no Debug; nothing here is worth printing"
)]
pub struct PgPooled {
    conn: PgConnection,
    last_used: Instant,
    broken: bool,
}

/// A connection that sat idle this long is checked (`SELECT 1`) before it is handed out: it
/// may have died with a restarted server. One in steady use is not — a check on every
/// checkout was one more round trip per unit of work (docs/benchmarks.md). A connection that
/// fails while in use is discarded on return ([`PooledConn::run_transaction`]).
const PG_IDLE_CHECK: Duration = Duration::from_secs(1);

/// diesel's PostgreSQL manager, with connections that remember when they were last used and
/// whether they failed at the connection level.
#[expect(
    missing_debug_implementations,
    reason = "diesel's ConnectionManager has no Debug"
)]
pub struct PgManager {
    inner: ConnectionManager<PgConnection>,
}

impl ManageConnection for PgManager {
    type Connection = PgPooled;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<PgPooled, Self::Error> {
        Ok(PgPooled {
            conn: self.inner.connect()?,
            last_used: Instant::now(),
            broken: false,
        })
    }

    fn is_valid(&self, c: &mut PgPooled) -> Result<(), Self::Error> {
        c.conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, c: &mut PgPooled) -> bool {
        c.broken || self.inner.has_broken(&mut c.conn)
    }
}

/// Whether an error means the connection itself is gone (not a failed statement).
fn is_connection_lost(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    matches!(
        e,
        Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _
        ) | Error::BrokenTransactionManager
    )
}

/// A PostgreSQL connection from the pool, checked first when it sat idle (see
/// [`PG_IDLE_CHECK`]): a dead one is discarded and the next one tried, so that a restarted
/// PostgreSQL is picked up again without restarting us.
fn postgres_checkout(
    pool: &Pool<PgManager>,
    timeout: Duration,
) -> Result<PooledConnection<PgManager>, RepoError> {
    let unavailable = |e: PoolError| RepoError::Unavailable(e.to_string());
    // Every pooled connection may be dead; one more attempt opens a new one.
    for _ in 0..=pool.max_size() {
        let mut c = pool.get_timeout(timeout).map_err(unavailable)?;
        if c.last_used.elapsed() >= PG_IDLE_CHECK && c.conn.ping().is_err() {
            c.broken = true;
            continue;
        }
        c.last_used = Instant::now();
        return Ok(c);
    }
    Err(RepoError::Unavailable(
        "no live PostgreSQL connection could be had".into(),
    ))
}

/// Adds libpq's `connect_timeout` to a URL that does not set it, so that an unreachable
/// server fails fast instead of blocking a worker.
fn with_connect_timeout(url: &str, timeout: Duration) -> String {
    if url.contains("connect_timeout=") {
        return url.to_owned();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}connect_timeout={}", timeout.as_secs().max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_timeout_is_added_once() {
        let t = Duration::from_secs(3);
        assert_eq!(
            with_connect_timeout("postgres://h/db", t),
            "postgres://h/db?connect_timeout=3"
        );
        assert_eq!(
            with_connect_timeout("postgres://h/db?sslmode=disable", t),
            "postgres://h/db?sslmode=disable&connect_timeout=3"
        );
        assert_eq!(
            with_connect_timeout("postgres://h/db?connect_timeout=9", t),
            "postgres://h/db?connect_timeout=9"
        );
    }
}
