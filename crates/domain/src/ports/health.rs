//! The database probe behind `/ready` and `/health`.

use std::time::Duration;

/// The storage engine in use (D1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseBackend {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl DatabaseBackend {
    /// The name shown by `/health`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// Applied versus embedded migrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MigrationStatus {
    /// Migrations recorded as applied.
    pub applied: usize,
    /// Embedded migrations not applied yet.
    pub pending: usize,
}

/// The probe could not reach the database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("database probe failed: {0}")]
pub struct ProbeError(pub String);

/// Checks that the database answers and that its schema is current.
pub trait DatabaseProbe: Send + Sync + std::fmt::Debug {
    /// The backend, known without any I/O.
    fn backend(&self) -> DatabaseBackend;

    /// Runs a trivial query within `timeout` and returns how long it took.
    ///
    /// # Errors
    /// [`ProbeError`] when no connection is obtained in time or the query fails.
    fn ping(&self, timeout: Duration) -> Result<Duration, ProbeError>;

    /// Compares the applied migrations with the embedded ones.
    ///
    /// # Errors
    /// [`ProbeError`] when the database cannot be read.
    fn migration_status(&self, timeout: Duration) -> Result<MigrationStatus, ProbeError>;

    /// Idle and in-use connections of the pool, without I/O (`db_pool_connections`).
    fn pool_connections(&self) -> (u32, u32);
}
