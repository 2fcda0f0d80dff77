//! The pooled database: URL parsing, r2d2 pools for both backends, SQLite PRAGMAs, and the
//! [`TransactionRunner`] and [`DatabaseProbe`] ports.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection as _;
use diesel::pg::PgConnection;
use diesel::r2d2::{
    ConnectionManager, CustomizeConnection, ManageConnection, Pool, PooledConnection,
    R2D2Connection as _,
};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection as _, RunQueryDsl as _};
use erp_domain::ports::{
    DatabaseBackend, DatabaseProbe, MigrationStatus, ProbeError, RepoError, Rollback,
    TransactionMode, TransactionRunner, UnitOfWork,
};

use crate::counts::{CountCache, CountCacheStats};
use crate::dialect::Conn;
use crate::instrument::QueryInstrumentation;
use crate::migrations::{self, MigrationError};
use crate::repos::DieselUnitOfWork;

/// The URL schemes the server understands, for error messages.
pub const SUPPORTED_SCHEMES: &str = "sqlite://, postgres://, postgresql://";

/// Pool and connection settings.
#[derive(Debug, Clone)]
pub struct DatabaseOptions {
    /// Largest number of pooled connections.
    pub max_connections: u32,
    /// How long a request waits for a free connection.
    pub acquire_timeout: Duration,
    /// SQLite `busy_timeout`: how long a writer waits for the lock.
    pub sqlite_busy_timeout: Duration,
    /// SQLite page cache of each pooled connection, in KiB (`PRAGMA cache_size = -N`). Every
    /// connection has its own, so the pool holds up to `max_connections` times this; the file's
    /// pages stay in the operating system's cache either way.
    pub sqlite_cache_kib: u32,
    /// PostgreSQL `connect_timeout` used when the URL does not set one.
    pub connect_timeout: Duration,
}

impl Default for DatabaseOptions {
    fn default() -> Self {
        Self {
            max_connections: 6,
            acquire_timeout: Duration::from_secs(5),
            sqlite_busy_timeout: Duration::from_secs(5),
            sqlite_cache_kib: SQLITE_CACHE_KIB,
            connect_timeout: Duration::from_secs(3),
        }
    }
}

/// The default SQLite page cache per connection, in KiB. SQLite's own default (2 000 KiB) held
/// 7 × 2 MiB under load, about 12 MB of the server's resident memory, for no measurable gain
/// over 512 KiB: one client's page of 50 took 0.63 ms and the dashboard 13–14 ms with either
/// (100 000 interventions, docs/benchmarks.md).
pub const SQLITE_CACHE_KIB: u32 = 512;

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The URL's scheme is not one of [`SUPPORTED_SCHEMES`].
    #[error(
        "unsupported database URL scheme '{scheme}': supported schemes are {SUPPORTED_SCHEMES}"
    )]
    UnsupportedScheme {
        /// What was found before `:` (or the whole URL when it has no scheme).
        scheme: String,
    },
    /// A `sqlite://` URL without a path.
    #[error("the sqlite:// URL must name a database file, e.g. sqlite://./data/erp.db")]
    MissingSqlitePath,
    /// The SQLite file's directory could not be created.
    #[error("cannot create the database directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The pool could not open a first connection.
    #[error("cannot connect to the {backend} database: {message}")]
    Connect {
        /// Backend name.
        backend: &'static str,
        /// Driver message (never contains the password: URLs are not echoed).
        message: String,
    },
}

/// A parsed database location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL.
    Postgres(String),
}

impl DatabaseUrl {
    /// Parses a URL by its scheme.
    ///
    /// # Errors
    /// [`ConnectError::UnsupportedScheme`] or [`ConnectError::MissingSqlitePath`].
    pub fn parse(url: &str) -> Result<Self, ConnectError> {
        let url = url.trim();
        let (scheme, rest) = url.split_once(':').unwrap_or((url, ""));
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => {
                let path = rest.strip_prefix("//").unwrap_or(rest);
                if path.is_empty() || path == ":memory:" {
                    return Err(ConnectError::MissingSqlitePath);
                }
                Ok(Self::Sqlite(PathBuf::from(path)))
            }
            "postgres" | "postgresql" => Ok(Self::Postgres(url.to_owned())),
            _ => Err(ConnectError::UnsupportedScheme {
                scheme: scheme.to_owned(),
            }),
        }
    }
}

enum Pools {
    Sqlite(Pool<ConnectionManager<SqliteConnection>>),
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
/// fails while in use is discarded on return ([`Database::run_in_transaction`]).
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

/// The application database: a connection pool on one backend.
pub struct Database {
    pools: Pools,
    options: DatabaseOptions,
    /// SQLite writers wait here, each woken as soon as the previous one is done, not on the
    /// database lock: a writer that finds that lock taken sleeps in SQLite's busy handler with
    /// growing back-offs (up to 100 ms) and may be overtaken again and again — 32 concurrent
    /// creations had a p99 of 330 ms that way (docs/benchmarks.md). One process writes a
    /// SQLite file (D1).
    sqlite_writer: std::sync::Mutex<()>,
    /// Exact list counts, remembered while the database has not changed (`counts.rs`).
    counts: CountCache,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend().as_str())
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Opens a pool for `url` and checks that one connection can be made. Does not migrate.
    ///
    /// # Errors
    /// [`ConnectError`] naming what is wrong; an unknown scheme never creates a file.
    pub fn connect(url: &str, options: DatabaseOptions) -> Result<Self, ConnectError> {
        let (pools, counts) = match DatabaseUrl::parse(url)? {
            DatabaseUrl::Sqlite(path) => {
                let pool = sqlite_pool(&path, &options)?;
                // After the pool: it has created the file and switched it to WAL.
                let counts = CountCache::sqlite(
                    &path.to_string_lossy(),
                    options.sqlite_busy_timeout.as_millis(),
                )
                .map_err(|e| ConnectError::Connect {
                    backend: "sqlite",
                    message: e.to_string(),
                })?;
                (Pools::Sqlite(pool), counts)
            }
            DatabaseUrl::Postgres(url) => (
                Pools::Postgres(postgres_pool(&url, &options)?),
                CountCache::postgres(),
            ),
        };
        Ok(Self {
            pools,
            options,
            sqlite_writer: std::sync::Mutex::new(()),
            counts,
        })
    }

    /// The backend in use.
    #[must_use]
    pub fn backend(&self) -> DatabaseBackend {
        match self.pools {
            Pools::Sqlite(_) => DatabaseBackend::Sqlite,
            Pools::Postgres(_) => DatabaseBackend::Postgres,
        }
    }

    /// Checks out a connection, waiting at most `timeout`.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`] when none is available in time.
    pub fn checkout(&self, timeout: Duration) -> Result<PooledConn, RepoError> {
        let unavailable = |e: diesel::r2d2::PoolError| RepoError::Unavailable(e.to_string());
        Ok(match &self.pools {
            Pools::Sqlite(p) => PooledConn::Sqlite(p.get_timeout(timeout).map_err(unavailable)?),
            Pools::Postgres(p) => PooledConn::Postgres(postgres_checkout(p, timeout)?),
        })
    }

    /// Applies pending migrations; returns the versions applied.
    ///
    /// # Errors
    /// [`MigrationError`] when no connection can be had or a migration fails.
    pub fn migrate(&self) -> Result<Vec<String>, MigrationError> {
        let mut conn = self
            .checkout(self.options.acquire_timeout)
            .map_err(|e| MigrationError(e.to_string()))?;
        migrations::run_pending(&mut conn.as_conn())
    }

    /// Reverts every migration (tests and `erp migrate --revert-all`).
    ///
    /// # Errors
    /// [`MigrationError`] when no connection can be had or a down migration fails.
    pub fn revert_all_migrations(&self) -> Result<Vec<String>, MigrationError> {
        let mut conn = self
            .checkout(self.options.acquire_timeout)
            .map_err(|e| MigrationError(e.to_string()))?;
        migrations::revert_all(&mut conn.as_conn())
    }

    /// Refreshes the query planner's statistics: a sampled `ANALYZE` on SQLite (which has none
    /// until asked, and then sorts whole result sets instead of walking the date index — see
    /// `docs/query-plans.md`), `ANALYZE` on PostgreSQL (autovacuum also does it in steady state).
    ///
    /// # Errors
    /// [`RepoError`] when no connection can be had or the statement fails.
    pub fn optimize(&self) -> Result<(), RepoError> {
        let mut conn = self.checkout(self.options.acquire_timeout)?;
        let ran = match &mut conn {
            PooledConn::Sqlite(c) => c.batch_execute("PRAGMA analysis_limit = 200000; ANALYZE;"),
            PooledConn::Postgres(c) => c.conn.batch_execute("ANALYZE"),
        };
        ran.map_err(crate::errors::map)
    }

    /// How often the interventions lists' counts were served from memory, and how often they
    /// were counted (see `counts.rs`).
    #[must_use]
    pub fn count_cache_stats(&self) -> CountCacheStats {
        self.counts.stats()
    }

    /// Idle and in-use connection counts of the pool.
    #[must_use]
    pub fn pool_state(&self) -> (u32, u32) {
        let state = match &self.pools {
            Pools::Sqlite(p) => p.state(),
            Pools::Postgres(p) => p.state(),
        };
        (
            state.idle_connections,
            state.connections - state.idle_connections,
        )
    }
}

fn sqlite_pool(
    path: &Path,
    options: &DatabaseOptions,
) -> Result<Pool<ConnectionManager<SqliteConnection>>, ConnectError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| ConnectError::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
    }
    let manager = ConnectionManager::<SqliteConnection>::new(path.to_string_lossy());
    Pool::builder()
        .max_size(options.max_connections.max(1))
        .min_idle(Some(1))
        .connection_timeout(options.acquire_timeout)
        .test_on_check_out(false)
        .connection_customizer(Box::new(SqlitePragmas {
            busy_timeout: options.sqlite_busy_timeout,
            cache_kib: options.sqlite_cache_kib,
        }))
        .build(manager)
        .map_err(|e| ConnectError::Connect {
            backend: "sqlite",
            message: e.to_string(),
        })
}

/// A PostgreSQL connection from the pool, checked first when it sat idle (see
/// [`PG_IDLE_CHECK`]): a dead one is discarded and the next one tried, so that a restarted
/// PostgreSQL is picked up again without restarting us.
fn postgres_checkout(
    pool: &Pool<PgManager>,
    timeout: Duration,
) -> Result<PooledConnection<PgManager>, RepoError> {
    let unavailable = |e: diesel::r2d2::PoolError| RepoError::Unavailable(e.to_string());
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

fn postgres_pool(url: &str, options: &DatabaseOptions) -> Result<Pool<PgManager>, ConnectError> {
    let url = with_connect_timeout(url, options.connect_timeout);
    let manager = PgManager {
        inner: ConnectionManager::<PgConnection>::new(url),
    };
    Pool::builder()
        .max_size(options.max_connections.max(1))
        .min_idle(Some(1))
        .connection_timeout(options.acquire_timeout)
        .test_on_check_out(false)
        .connection_customizer(Box::new(PgInstrumentation))
        .build(manager)
        .map_err(|e| ConnectError::Connect {
            backend: "postgres",
            message: e.to_string(),
        })
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

impl TransactionRunner for Database {
    fn run_in_transaction(
        &self,
        mode: TransactionMode,
        work: &mut dyn FnMut(&mut dyn UnitOfWork) -> Result<(), Rollback>,
    ) -> Result<(), RepoError> {
        let mut pooled = self.checkout(self.options.acquire_timeout)?;
        let result: Result<(), TxError> = match &mut pooled {
            PooledConn::Sqlite(pooled) => {
                let c: &mut SqliteConnection = pooled;
                let mut body = |c: &mut SqliteConnection| {
                    work(&mut DieselUnitOfWork::new(Conn::Sqlite(c), &self.counts))
                        .map_err(|Rollback| TxError::Rollback)
                };
                match mode {
                    // BEGIN IMMEDIATE takes the write lock up front: a deferred transaction
                    // that upgrades later can fail with SQLITE_BUSY regardless of busy_timeout.
                    TransactionMode::ReadWrite => {
                        // A poisoned lock only means a writer panicked: the database is fine.
                        let _turn = self
                            .sqlite_writer
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        c.immediate_transaction(body)
                    }
                    TransactionMode::ReadOnly => c.transaction(body),
                    TransactionMode::Autocommit => body(c),
                }
            }
            PooledConn::Postgres(pooled) => {
                let c: &mut PgConnection = &mut pooled.conn;
                let mut body = |c: &mut PgConnection| {
                    work(&mut DieselUnitOfWork::new(Conn::Postgres(c), &self.counts))
                        .map_err(|Rollback| TxError::Rollback)
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
            Err(TxError::Diesel(e)) => Err(crate::errors::map(e)),
        }
    }
}

impl DatabaseProbe for Database {
    fn backend(&self) -> DatabaseBackend {
        Self::backend(self)
    }

    fn pool_connections(&self) -> (u32, u32) {
        self.pool_state()
    }

    fn ping(&self, timeout: Duration) -> Result<Duration, ProbeError> {
        let started = Instant::now();
        let mut pooled = self
            .checkout(timeout)
            .map_err(|e| ProbeError(e.to_string()))?;
        let ran = match &mut pooled {
            PooledConn::Sqlite(c) => diesel::sql_query("SELECT 1").execute(&mut **c),
            PooledConn::Postgres(c) => diesel::sql_query("SELECT 1").execute(&mut c.conn),
        };
        ran.map_err(|e| ProbeError(e.to_string()))?;
        Ok(started.elapsed())
    }

    fn migration_status(&self, timeout: Duration) -> Result<MigrationStatus, ProbeError> {
        let mut pooled = self
            .checkout(timeout)
            .map_err(|e| ProbeError(e.to_string()))?;
        migrations::status(&mut pooled.as_conn()).map_err(|e| ProbeError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_parsed_by_scheme() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://./data/erp.db").unwrap(),
            DatabaseUrl::Sqlite("./data/erp.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///tmp/x.db").unwrap(),
            DatabaseUrl::Sqlite("/tmp/x.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:erp.db").unwrap(),
            DatabaseUrl::Sqlite("erp.db".into())
        );
        assert!(matches!(
            DatabaseUrl::parse("postgres://u@h/db").unwrap(),
            DatabaseUrl::Postgres(_)
        ));
        assert!(matches!(
            DatabaseUrl::parse("postgresql://u@h/db").unwrap(),
            DatabaseUrl::Postgres(_)
        ));
    }

    #[test]
    fn unknown_schemes_and_empty_paths_are_refused_with_the_supported_list() {
        let e = DatabaseUrl::parse("mysql://x").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unsupported database URL scheme 'mysql': supported schemes are sqlite://, postgres://, postgresql://"
        );
        assert!(matches!(
            DatabaseUrl::parse("./erp.db"),
            Err(ConnectError::UnsupportedScheme { .. })
        ));
        assert!(matches!(
            DatabaseUrl::parse("sqlite://"),
            Err(ConnectError::MissingSqlitePath)
        ));
        assert!(matches!(
            DatabaseUrl::parse("sqlite::memory:"),
            Err(ConnectError::MissingSqlitePath)
        ));
    }

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
