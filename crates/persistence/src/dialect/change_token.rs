//! What says "the database has not changed since": the key of the remembered list counts
//! (`counts.rs`), read differently by each backend.
//!
//! - **SQLite**: `PRAGMA data_version` of a connection of our own that never writes. It changes
//!   with every commit of every other connection — the pool's, and any other process's.
//! - **PostgreSQL**: `pg_current_snapshot()`. Two equal snapshots mean that no transaction that
//!   writes began or ended in between, in any session: another replica's writes count too.

use std::sync::Mutex;

use diesel::connection::SimpleConnection as _;
use diesel::dsl::sql;
use diesel::sql_types::{BigInt, Text};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection as _, QueryableByName, RunQueryDsl as _};

use super::Conn;

/// What the database looked like at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChangeToken {
    /// `PRAGMA data_version` of the watching connection.
    Sqlite(i64),
    /// `pg_current_snapshot()` as text (`xmin:xmax:xip,…`).
    Postgres(String),
}

#[derive(QueryableByName)]
struct DataVersion {
    #[diesel(sql_type = BigInt)]
    data_version: i64,
}

/// Reads [`ChangeToken`]s of one database.
pub(crate) struct ChangeWatcher {
    /// SQLite only: the connection whose `data_version` is the token. It only ever reads that
    /// PRAGMA, so every commit to the file is another connection's.
    sqlite: Option<Mutex<SqliteConnection>>,
}

impl ChangeWatcher {
    /// For PostgreSQL (the token is read on the caller's own connection).
    pub(crate) fn postgres() -> Self {
        Self { sqlite: None }
    }

    /// For the SQLite file at `path`, watched through a connection of its own.
    pub(crate) fn sqlite(path: &str, busy_timeout_ms: u128) -> diesel::ConnectionResult<Self> {
        let mut watcher = SqliteConnection::establish(path)?;
        watcher
            .batch_execute(&format!("PRAGMA busy_timeout = {busy_timeout_ms};"))
            .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
        Ok(Self {
            sqlite: Some(Mutex::new(watcher)),
        })
    }

    /// The database's change token, read now.
    ///
    /// # Errors
    /// Reading failed, or a SQLite connection came without its watcher.
    pub(crate) fn read(&self, conn: &mut Conn<'_>) -> diesel::QueryResult<ChangeToken> {
        match (&self.sqlite, conn) {
            (Some(watcher), _) => {
                let mut watcher = watcher
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let v: DataVersion =
                    diesel::sql_query("PRAGMA data_version").get_result(&mut *watcher)?;
                Ok(ChangeToken::Sqlite(v.data_version))
            }
            (None, Conn::Postgres(c)) => {
                let snapshot: String = diesel::select(sql::<Text>("pg_current_snapshot()::text"))
                    .get_result(&mut **c)?;
                Ok(ChangeToken::Postgres(snapshot))
            }
            (None, Conn::Sqlite(_)) => Err(diesel::result::Error::QueryBuilderError(
                "a SQLite count cache needs its watching connection".into(),
            )),
        }
    }
}
