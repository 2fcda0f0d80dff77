//! The pooled database: URL parsing, options, and the [`TransactionRunner`] and
//! [`DatabaseProbe`] ports. The pools, each backend's session settings and transaction
//! flavours are in [`crate::dialect::pool`].

use std::path::PathBuf;
use std::time::{Duration, Instant};

use erp_domain::ports::{
    DatabaseBackend, DatabaseProbe, MigrationStatus, ProbeError, RepoError, Rollback,
    TransactionMode, TransactionRunner, UnitOfWork,
};

use crate::counts::{CountCache, CountCacheStats};
pub use crate::dialect::pool::{PgManager, PgPooled, PooledConn};
use crate::dialect::pool::{PoolSettings, Pools};
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
        let settings = PoolSettings {
            max_connections: options.max_connections,
            acquire_timeout: options.acquire_timeout,
        };
        let (pools, counts) = match DatabaseUrl::parse(url)? {
            DatabaseUrl::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| ConnectError::CreateDir {
                        path: dir.to_owned(),
                        source,
                    })?;
                }
                let path = path.to_string_lossy();
                let connect_error = |message: String| ConnectError::Connect {
                    backend: "sqlite",
                    message,
                };
                let pools = Pools::sqlite(
                    &path,
                    settings,
                    options.sqlite_busy_timeout,
                    options.sqlite_cache_kib,
                )
                .map_err(|e| connect_error(e.to_string()))?;
                // After the pool: it has created the file and switched it to WAL.
                let counts = CountCache::sqlite(&path, options.sqlite_busy_timeout.as_millis())
                    .map_err(|e| connect_error(e.to_string()))?;
                (pools, counts)
            }
            DatabaseUrl::Postgres(url) => (
                Pools::postgres(&url, settings, options.connect_timeout).map_err(|e| {
                    ConnectError::Connect {
                        backend: "postgres",
                        message: e.to_string(),
                    }
                })?,
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
        self.pools.backend()
    }

    /// Checks out a connection, waiting at most `timeout`.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`] when none is available in time.
    pub fn checkout(&self, timeout: Duration) -> Result<PooledConn, RepoError> {
        self.pools.checkout(timeout)
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
        conn.analyze().map_err(crate::errors::map)
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
        let state = self.pools.state();
        (
            state.idle_connections,
            state.connections - state.idle_connections,
        )
    }
}

impl TransactionRunner for Database {
    fn run_in_transaction(
        &self,
        mode: TransactionMode,
        work: &mut dyn FnMut(&mut dyn UnitOfWork) -> Result<(), Rollback>,
    ) -> Result<(), RepoError> {
        let mut pooled = self.checkout(self.options.acquire_timeout)?;
        pooled
            .run_transaction(mode, &self.sqlite_writer, &mut |conn| {
                work(&mut DieselUnitOfWork::new(conn, &self.counts))
            })
            .map_err(crate::errors::map)
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
        pooled.ping().map_err(|e| ProbeError(e.to_string()))?;
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
}
