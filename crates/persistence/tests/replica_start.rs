//! Replicas that start together on one empty database (D15): they all migrate successfully (the
//! PostgreSQL run holds an advisory lock, the SQLite run one immediate transaction, so the
//! later ones wait and then find nothing pending; without the lock two of three failed with
//! `duplicate key value violates unique constraint "pg_class_relname_nsp_index"`), and the
//! bootstrap admin is created exactly once, none of them failing.

#![expect(clippy::unwrap_used, reason = "test code: failing loudly is the point")]

use std::sync::Barrier;

use erp_persistence::Database;

use erp_domain::ports::DatabaseProbe as _;
use erp_persistence::testing::{TestBackend, TestDatabase};

/// Runs `start` on every replica at the same instant (one thread each, behind a barrier).
fn race<T: Send>(replicas: &[Database], start: impl Fn(&Database) -> T + Sync) -> Vec<T> {
    let barrier = Barrier::new(replicas.len());
    std::thread::scope(|s| {
        let runs: Vec<_> = replicas
            .iter()
            .map(|db| {
                let (barrier, start) = (&barrier, &start);
                s.spawn(move || {
                    barrier.wait();
                    start(db)
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    })
}

fn concurrent_start_migrates_once(backend: TestBackend) {
    let Some(guard) = TestDatabase::new(backend) else {
        return;
    };
    // Three "replicas": each its own pool, as three processes would have.
    let replicas: Vec<_> = (0..3).map(|_| guard.connect()).collect();
    let before = replicas[0]
        .migration_status(std::time::Duration::from_secs(5))
        .unwrap();
    assert_eq!(before.applied, 0, "a fresh database");
    assert!(before.pending > 0);
    let applied: Vec<usize> = race(&replicas, |db| db.migrate().map(|v| v.len()).unwrap());
    assert_eq!(
        applied.iter().sum::<usize>(),
        before.pending,
        "every migration applied exactly once in all: {applied:?}"
    );
    let after = replicas[2]
        .migration_status(std::time::Duration::from_secs(5))
        .unwrap();
    assert_eq!((after.applied, after.pending), (before.pending, 0));
}

#[test]
fn sqlite_replicas_starting_together_all_migrate() {
    concurrent_start_migrates_once(TestBackend::Sqlite);
}

#[test]
fn postgres_replicas_starting_together_all_migrate() {
    concurrent_start_migrates_once(TestBackend::Postgres);
}

#[derive(Debug)]
struct PlainHasher;

impl erp_domain::ports::PasswordHasher for PlainHasher {
    fn hash(
        &self,
        p: &erp_domain::password::PlainPassword,
    ) -> Result<erp_domain::password::PasswordHash, erp_domain::ports::HashError> {
        Ok(erp_domain::password::PasswordHash::from_phc(format!(
            "plain${}",
            p.expose()
        )))
    }
    fn verify(
        &self,
        p: &erp_domain::password::PlainPassword,
        h: &erp_domain::password::PasswordHash,
    ) -> Result<bool, erp_domain::ports::HashError> {
        Ok(h.as_phc() == format!("plain${}", p.expose()))
    }
}

#[derive(Debug)]
struct NoSecrets;

impl erp_domain::ports::SecretGenerator for NoSecrets {
    fn strong_password(&self) -> erp_domain::password::PlainPassword {
        erp_domain::password::PlainPassword::new("Generated#Pass2026")
    }
}

fn the_bootstrap_admin_is_created_once(backend: TestBackend) {
    use erp_application::bootstrap::{
        BootstrapAdmin, BootstrapDeps, BootstrapOutcome, ensure_bootstrap_admin,
    };
    // Repeated on fresh databases: the window between the count and the insert is short.
    for round in 0..4 {
        let Some(guard) = TestDatabase::new(backend) else {
            return;
        };
        let replicas: Vec<_> = (0..4).map(|_| guard.connect()).collect();
        replicas[0].migrate().unwrap();
        let outcomes: Vec<BootstrapOutcome> = race(&replicas, |db| {
            ensure_bootstrap_admin(
                BootstrapDeps {
                    db,
                    hasher: &PlainHasher,
                    secrets: &NoSecrets,
                    clock: &erp_domain::SystemClock,
                },
                BootstrapAdmin {
                    username: "admin".into(),
                    email: "admin@erp-mif.local".into(),
                    password: None,
                },
            )
            .unwrap()
        });
        let created = outcomes
            .iter()
            .filter(|o| matches!(o, BootstrapOutcome::Created { .. }))
            .count();
        assert_eq!(created, 1, "round {round}: {outcomes:?}");
        let users = erp_application::tx::transaction(
            &replicas[1],
            erp_domain::ports::TransactionMode::ReadOnly,
            |uow| uow.count_users(),
        )
        .unwrap();
        assert_eq!(users, 1);
    }
}

#[test]
fn sqlite_replicas_create_one_bootstrap_admin() {
    the_bootstrap_admin_is_created_once(TestBackend::Sqlite);
}

#[test]
fn postgres_replicas_create_one_bootstrap_admin() {
    the_bootstrap_admin_is_created_once(TestBackend::Postgres);
}
