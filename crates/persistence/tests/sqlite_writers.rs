//! SQLite writers of one process take turns in the process, not in SQLite's busy handler: with
//! a busy timeout far shorter than the writers' transactions, every concurrent write still
//! succeeds (without the in-process queue, most would fail with "database is locked").

#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions: failing loudly is the point"
)]

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use erp_application::tx::transaction;
use erp_domain::password::PasswordHash;
use erp_domain::ports::{RepoError, TransactionMode};
use erp_domain::user::{Email, NewUser, UserRole, Username};
use erp_persistence::testing::{TestBackend, TestDatabase};
use erp_persistence::{Database, DatabaseOptions};

fn new_user(n: usize) -> NewUser {
    NewUser {
        username: Username::parse("username", &format!("writer{n}")).unwrap(),
        email: Email::parse("email", &format!("writer{n}@mif.ma")).unwrap(),
        full_name: None,
        password_hash: PasswordHash::from_phc("$argon2id$v=19$x"),
        role: UserRole::Technicien,
        is_active: true,
        client_id: None,
        now: Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).single().unwrap(),
    }
}

#[test]
fn concurrent_writers_never_see_a_locked_database() {
    let guard = TestDatabase::new(TestBackend::Sqlite).unwrap();
    // Migrated through a first pool, closed before the writers open theirs.
    drop(guard.migrated());
    let db = Arc::new(
        Database::connect(
            guard.url(),
            DatabaseOptions {
                max_connections: 8,
                sqlite_busy_timeout: Duration::from_millis(1),
                ..DatabaseOptions::default()
            },
        )
        .unwrap(),
    );
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let db = Arc::clone(&db);
            std::thread::spawn(move || {
                (0..10)
                    .map(|i| {
                        transaction(db.as_ref(), TransactionMode::ReadWrite, |uow| {
                            uow.insert_user(&new_user(w * 100 + i))?;
                            // Hold the write lock far longer than the busy timeout.
                            std::thread::sleep(Duration::from_millis(5));
                            Ok::<_, RepoError>(())
                        })
                    })
                    .filter(Result::is_err)
                    .count()
            })
        })
        .collect();
    let failed: usize = writers.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(failed, 0, "writes failed on a locked database");
    let users = transaction(db.as_ref(), TransactionMode::ReadOnly, |uow| {
        uow.count_users()
    })
    .unwrap();
    assert_eq!(users, 80);
}
