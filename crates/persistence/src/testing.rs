//! Test support: a fresh, migrated database per test on either backend, always cleaned up.
//!
//! SQLite tests get a file in a temporary directory. PostgreSQL tests get a newly created
//! database on the server named by `ERP_TEST_POSTGRES_URL`, dropped when the guard is dropped —
//! also when the test panics. Without that variable PostgreSQL tests print that they were
//! skipped (outside the test harness's capture); under `CI=true` they fail instead, so that CI
//! can never pass without running them.

use std::io::Write as _;

use diesel::pg::PgConnection;
use diesel::{Connection as _, RunQueryDsl as _};

use crate::database::{Database, DatabaseOptions};

/// Environment variable naming the PostgreSQL server used by tests.
pub const POSTGRES_URL_VAR: &str = "ERP_TEST_POSTGRES_URL";

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    /// A temporary SQLite file.
    Sqlite,
    /// A fresh PostgreSQL database.
    Postgres,
}

/// A fresh database that disappears with this guard.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<PgCleanup>,
}

#[derive(Debug)]
struct PgCleanup {
    admin_url: String,
    name: String,
}

impl TestDatabase {
    /// A new empty database on `backend`; `None` when PostgreSQL is not configured (after
    /// printing that the test was skipped).
    ///
    /// # Panics
    /// When the database cannot be created, or PostgreSQL is not configured under `CI=true`.
    #[must_use]
    #[expect(
        clippy::expect_used,
        reason = "test support: failing loudly is the point"
    )]
    #[expect(clippy::panic, reason = "test support: failing loudly is the point")]
    pub fn new(backend: TestBackend) -> Option<Self> {
        match backend {
            TestBackend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}", dir.path().join("erp-test.db").display());
                Some(Self {
                    url,
                    _dir: Some(dir),
                    postgres: None,
                })
            }
            TestBackend::Postgres => {
                let Some(admin_url) = std::env::var(POSTGRES_URL_VAR)
                    .ok()
                    .filter(|u| !u.is_empty())
                else {
                    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
                        panic!(
                            "{POSTGRES_URL_VAR} must be set in CI: the PostgreSQL suite may not be skipped"
                        );
                    }
                    let test = std::thread::current().name().unwrap_or("?").to_owned();
                    // Written to the process's stderr directly, not captured by libtest.
                    let _ = writeln!(std::io::stderr(), "SKIPPED (no {POSTGRES_URL_VAR}): {test}");
                    return None;
                };
                let name = format!("erp_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = PgConnection::establish(&admin_url)
                    .unwrap_or_else(|e| panic!("cannot connect to {POSTGRES_URL_VAR}: {e}"));
                diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
                    .execute(&mut admin)
                    .expect("CREATE DATABASE");
                let url = replace_database(&admin_url, &name);
                Some(Self {
                    url,
                    _dir: None,
                    postgres: Some(PgCleanup { admin_url, name }),
                })
            }
        }
    }

    /// The URL of this database.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A pool on this database, not migrated.
    ///
    /// # Panics
    /// When the database cannot be opened.
    #[must_use]
    #[expect(clippy::expect_used, reason = "test support")]
    pub fn connect(&self) -> Database {
        Database::connect(
            &self.url,
            DatabaseOptions {
                max_connections: 4,
                ..DatabaseOptions::default()
            },
        )
        .expect("open test database")
    }

    /// A pool on this database with every migration applied.
    ///
    /// # Panics
    /// When the database cannot be opened or migrated.
    #[must_use]
    #[expect(clippy::expect_used, reason = "test support")]
    pub fn migrated(&self) -> Database {
        let db = self.connect();
        db.migrate().expect("migrate test database");
        db
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(pg) = &self.postgres {
            // FORCE ends the connections a pool of the test may still hold.
            let dropped = PgConnection::establish(&pg.admin_url)
                .map_err(|e| e.to_string())
                .and_then(|mut c| {
                    diesel::sql_query(format!(
                        "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                        pg.name
                    ))
                    .execute(&mut c)
                    .map_err(|e| e.to_string())
                });
            if let Err(e) = dropped {
                let _ = writeln!(
                    std::io::stderr(),
                    "warning: could not drop test database {}: {e}",
                    pg.name
                );
            }
        }
    }
}

/// Replaces the database name of a PostgreSQL URL, keeping credentials, host and parameters.
#[must_use]
pub fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Declares each test once and runs it on SQLite and on PostgreSQL:
///
/// ```text
/// backend_tests! {
///     fn inserts_a_user(db: &Database) { … }
/// }
/// ```
/// generates `sqlite::inserts_a_user` and `postgres::inserts_a_user`.
#[macro_export]
macro_rules! backend_tests {
    ($(fn $name:ident($db:ident : &Database) $body:block)*) => {
        mod sqlite {
            use super::*;
            $(
                #[test]
                fn $name() {
                    let guard = $crate::testing::TestDatabase::new($crate::testing::TestBackend::Sqlite)
                        .expect("SQLite is always available");
                    let $db: &$crate::Database = &guard.migrated();
                    $body
                }
            )*
        }
        mod postgres {
            use super::*;
            $(
                #[test]
                fn $name() {
                    let Some(guard) = $crate::testing::TestDatabase::new($crate::testing::TestBackend::Postgres) else {
                        return;
                    };
                    let $db: &$crate::Database = &guard.migrated();
                    $body
                }
            )*
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_is_replaced_keeping_the_rest() {
        assert_eq!(
            replace_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            replace_database("postgres://u:p@h/test?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            replace_database("postgresql://h:5432", "x"),
            "postgresql://h:5432/x"
        );
    }
}
