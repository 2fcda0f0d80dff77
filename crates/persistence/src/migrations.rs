//! Both migration sets, embedded in the binary, and the operations on them.

use diesel::migration::MigrationSource;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use erp_domain::ports::MigrationStatus;

use crate::dialect::Conn;

/// `migrations/sqlite/`.
pub const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
/// `migrations/postgres/`.
pub const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// A migration operation failed.
#[derive(Debug, thiserror::Error)]
#[error("migration failed: {0}")]
pub struct MigrationError(pub String);

type HarnessResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn err(e: impl std::fmt::Display) -> MigrationError {
    MigrationError(e.to_string())
}

/// Applies every pending migration; returns the versions applied.
///
/// # Errors
/// [`MigrationError`] with the failing migration's message.
pub fn run_pending(conn: &mut Conn<'_>) -> Result<Vec<String>, MigrationError> {
    let applied: HarnessResult<Vec<String>> = match conn {
        Conn::Sqlite(c) => c
            .run_pending_migrations(SQLITE)
            .map(|v| v.iter().map(ToString::to_string).collect()),
        Conn::Postgres(c) => c
            .run_pending_migrations(POSTGRES)
            .map(|v| v.iter().map(ToString::to_string).collect()),
    };
    applied.map_err(err)
}

/// Reverts every applied migration, newest first; returns the versions reverted.
///
/// # Errors
/// [`MigrationError`] with the failing migration's message.
pub fn revert_all(conn: &mut Conn<'_>) -> Result<Vec<String>, MigrationError> {
    let reverted: HarnessResult<Vec<String>> = match conn {
        Conn::Sqlite(c) => c
            .revert_all_migrations(SQLITE)
            .map(|v| v.iter().map(ToString::to_string).collect()),
        Conn::Postgres(c) => c
            .revert_all_migrations(POSTGRES)
            .map(|v| v.iter().map(ToString::to_string).collect()),
    };
    reverted.map_err(err)
}

/// Applied and pending counts, compared with the embedded set of the backend.
///
/// # Errors
/// [`MigrationError`] when the bookkeeping table cannot be read.
pub fn status(conn: &mut Conn<'_>) -> Result<MigrationStatus, MigrationError> {
    let (applied, pending): (HarnessResult<usize>, HarnessResult<usize>) = match conn {
        Conn::Sqlite(c) => {
            let applied = c.applied_migrations().map(|v| v.len());
            (applied, c.pending_migrations(SQLITE).map(|v| v.len()))
        }
        Conn::Postgres(c) => {
            let applied = c.applied_migrations().map(|v| v.len());
            (applied, c.pending_migrations(POSTGRES).map(|v| v.len()))
        }
    };
    Ok(MigrationStatus {
        applied: applied.map_err(err)?,
        pending: pending.map_err(err)?,
    })
}

/// How many migrations the binary embeds for each backend (SQLite, PostgreSQL).
///
/// # Errors
/// [`MigrationError`] if the embedded set cannot be listed (a build defect).
pub fn embedded_counts() -> Result<(usize, usize), MigrationError> {
    let sqlite = MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE)
        .map_err(err)?
        .len();
    let pg = MigrationSource::<diesel::pg::Pg>::migrations(&POSTGRES)
        .map_err(err)?
        .len();
    Ok((sqlite, pg))
}
