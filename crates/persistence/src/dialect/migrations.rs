//! Both migration sets, embedded in the binary, and the operations on them.

use diesel::connection::SimpleConnection as _;
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

/// The PostgreSQL advisory lock held while migrating (D15): replicas starting together on one
/// database migrate one after the other, and the later ones find nothing pending. The value is
/// the ASCII of `erp_migr`, so that it is recognisable in `pg_locks`.
pub const MIGRATION_LOCK_KEY: i64 = 0x6572_705f_6d69_6772;

/// The bookkeeping table of diesel's migration harness.
const BOOKKEEPING_TABLE: &str = "__diesel_schema_migrations";

/// Applies every pending migration; returns the versions applied.
///
/// On PostgreSQL the whole run holds a session advisory lock ([`MIGRATION_LOCK_KEY`]); a
/// process that dies while migrating releases it with its connection. On SQLite the run is one
/// `BEGIN IMMEDIATE` transaction (each migration a savepoint in it), so two processes opening
/// one file also migrate one after the other.
///
/// # Errors
/// [`MigrationError`] with the failing migration's message.
pub fn run_pending(conn: &mut Conn<'_>) -> Result<Vec<String>, MigrationError> {
    let names = |v: Vec<diesel::migration::MigrationVersion<'_>>| -> Vec<String> {
        v.iter().map(ToString::to_string).collect()
    };
    match conn {
        Conn::Sqlite(c) => c
            .immediate_transaction(|c| {
                c.run_pending_migrations(SQLITE)
                    .map(names)
                    .map_err(MigrationFailure)
            })
            .map_err(|e: MigrationFailure| err(e.0)),
        Conn::Postgres(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
                .map_err(err)?;
            let applied = c.run_pending_migrations(POSTGRES).map(names);
            let unlocked =
                c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"));
            let applied = applied.map_err(err)?;
            unlocked.map_err(err)?;
            Ok(applied)
        }
    }
}

/// A harness error carried through a diesel transaction (which needs `From<diesel::Error>`).
#[derive(Debug)]
struct MigrationFailure(Box<dyn std::error::Error + Send + Sync>);

impl From<diesel::result::Error> for MigrationFailure {
    fn from(e: diesel::result::Error) -> Self {
        Self(Box::new(e))
    }
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
        // diesel creates its bookkeeping table when asked what is applied: on a database no
        // migration has touched yet, a probe must not race the migrator's own CREATE TABLE.
        Conn::Postgres(c) => {
            if postgres_table_exists(c, BOOKKEEPING_TABLE).map_err(err)? {
                let applied = c.applied_migrations().map(|v| v.len());
                (applied, c.pending_migrations(POSTGRES).map(|v| v.len()))
            } else {
                let embedded = MigrationSource::<diesel::pg::Pg>::migrations(&POSTGRES)
                    .map_err(err)?
                    .len();
                (Ok(0), Ok(embedded))
            }
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

fn postgres_table_exists(
    conn: &mut diesel::pg::PgConnection,
    table: &str,
) -> Result<bool, diesel::result::Error> {
    use diesel::RunQueryDsl as _;
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        present: bool,
    }
    let found: Found = diesel::sql_query("SELECT to_regclass($1) IS NOT NULL AS present")
        .bind::<diesel::sql_types::Text, _>(table)
        .get_result(conn)?;
    Ok(found.present)
}
