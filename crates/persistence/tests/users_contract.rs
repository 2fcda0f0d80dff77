//! Contract suite of the users and clients ports: the same tests on SQLite and PostgreSQL,
//! checking the sentences of the ports' `# Errors` sections.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions: failing loudly is the point"
)]

use chrono::{TimeZone, Utc};
use erp_application::tx::transaction;
use erp_domain::password::PasswordHash;
use erp_domain::ports::{NewClient, RepoError, TransactionMode, TransactionRunner, UniqueKey};
use erp_domain::user::{Email, FullName, NewUser, UserRole, Username};
use erp_domain::{ClientId, Timestamp, UserId};
use erp_persistence::{Database, backend_tests};

fn at(secs: i64, micros: u32) -> Timestamp {
    Utc.timestamp_opt(secs, micros * 1_000).single().unwrap()
}

fn new_user(username: &str, email: &str, role: UserRole) -> NewUser {
    NewUser {
        username: Username::parse("username", username).unwrap(),
        email: Email::parse("email", email).unwrap(),
        full_name: Some(FullName::parse("full_name", "Amal Benali").unwrap()),
        password_hash: PasswordHash::from_phc("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"),
        role,
        is_active: true,
        client_id: None,
        now: at(1_760_000_000, 123_456),
    }
}

fn insert(db: &Database, user: &NewUser) -> Result<erp_domain::User, RepoError> {
    transaction(db, TransactionMode::ReadWrite, |uow| uow.insert_user(user))
}

backend_tests! {
    fn inserts_and_reads_back_a_user_with_every_field(db: &Database) {
        let created = insert(db, &new_user("Amal.B", "Amal@MIF.ma", UserRole::Responsable)).unwrap();
        assert!(created.id.get() > 0);
        assert_eq!(created.username.as_str(), "Amal.B");
        assert_eq!(created.email.as_str(), "amal@mif.ma");
        assert_eq!(created.role, UserRole::Responsable);
        assert_eq!(created.created_at, at(1_760_000_000, 123_456), "microseconds survive the round trip");
        assert_eq!(created.password_changed_at, created.created_at);
        assert_eq!(created.last_login, None);

        let by_id = transaction(db, TransactionMode::ReadOnly, |uow| uow.user_by_id(created.id)).unwrap();
        assert_eq!(by_id.as_ref(), Some(&created));
        let by_name = transaction(db, TransactionMode::ReadOnly, |uow| uow.user_by_username_norm("amal.b")).unwrap();
        assert_eq!(by_name.map(|u| u.id), Some(created.id));
        let by_email = transaction(db, TransactionMode::ReadOnly, |uow| uow.user_by_email("amal@mif.ma")).unwrap();
        assert_eq!(by_email.map(|u| u.id), Some(created.id));
        let missing = transaction(db, TransactionMode::ReadOnly, |uow| uow.user_by_id(UserId::new(9_999))).unwrap();
        assert_eq!(missing, None);
    }

    fn reads_of_a_read_only_unit_agree_and_autocommit_reads_do_not_have_to(db: &Database) {
        let looked_up = |mode: TransactionMode, name: &'static str, email: &'static str| {
            transaction(db, mode, |uow| {
                let before = uow.user_by_username_norm(name)?;
                // Another connection commits in between.
                insert(db, &new_user(name, email, UserRole::Admin)).unwrap();
                let after = uow.user_by_username_norm(name)?;
                Ok::<_, RepoError>((before.is_some(), after.is_some()))
            })
            .unwrap()
        };
        assert_eq!(
            looked_up(TransactionMode::ReadOnly, "snap", "snap@mif.ma"),
            (false, false),
            "one snapshot for the whole unit (PostgreSQL: REPEATABLE READ)"
        );
        assert_eq!(
            looked_up(TransactionMode::Autocommit, "auto", "auto@mif.ma"),
            (false, true),
            "each statement its own snapshot"
        );
    }

    fn usernames_are_unique_without_regard_to_case(db: &Database) {
        insert(db, &new_user("amal", "a@mif.ma", UserRole::Admin)).unwrap();
        let err = insert(db, &new_user("AMAL", "b@mif.ma", UserRole::Admin)).unwrap_err();
        assert_eq!(err, RepoError::Duplicate(UniqueKey::Username));
    }

    fn emails_are_unique(db: &Database) {
        insert(db, &new_user("amal", "a@mif.ma", UserRole::Admin)).unwrap();
        let err = insert(db, &new_user("other", "A@MIF.MA", UserRole::Admin)).unwrap_err();
        assert_eq!(err, RepoError::Duplicate(UniqueKey::Email));
    }

    fn ids_are_never_reused(db: &Database) {
        let first = insert(db, &new_user("first", "f@mif.ma", UserRole::Admin)).unwrap();
        // A rolled-back insert consumes its id, and later ids keep growing.
        let rolled_back: Result<(), RepoError> = transaction(db, TransactionMode::ReadWrite, |uow| {
            uow.insert_user(&new_user("second", "s@mif.ma", UserRole::Admin))?;
            Err(RepoError::Other("abort".into()))
        });
        assert!(rolled_back.is_err());
        let third = insert(db, &new_user("third", "t@mif.ma", UserRole::Admin)).unwrap();
        assert!(third.id > first.id);
        let count = transaction(db, TransactionMode::ReadOnly, |uow| uow.count_users()).unwrap();
        assert_eq!(count, 2, "the rolled-back user is not stored");
    }

    fn a_client_user_must_reference_an_existing_client_account(db: &Database) {
        let mut user = new_user("client1", "c@client.ma", UserRole::Client);
        user.client_id = Some(ClientId::new(4242));
        assert_eq!(insert(db, &user).unwrap_err(), RepoError::ForeignKey);

        let client = transaction(db, TransactionMode::ReadWrite, |uow| {
            uow.insert_client(&NewClient { nom_entreprise: "OCP".into(), email: None, now: at(1_760_000_000, 0) })
        })
        .unwrap();
        assert!(transaction(db, TransactionMode::ReadOnly, |uow| uow.client_exists(client)).unwrap());
        user.client_id = Some(client);
        assert_eq!(insert(db, &user).unwrap().client_id, Some(client));
    }

    fn only_client_users_may_have_a_client_account(db: &Database) {
        let client = transaction(db, TransactionMode::ReadWrite, |uow| {
            uow.insert_client(&NewClient { nom_entreprise: "OCP".into(), email: None, now: at(1_760_000_000, 0) })
        })
        .unwrap();
        let mut user = new_user("tech1", "t@mif.ma", UserRole::Technicien);
        user.client_id = Some(client);
        assert_eq!(insert(db, &user).unwrap_err(), RepoError::Check);
    }

    fn updates_report_missing_rows(db: &Database) {
        let user = insert(db, &new_user("amal", "a@mif.ma", UserRole::Admin)).unwrap();
        let later = at(1_760_000_100, 5);
        transaction(db, TransactionMode::ReadWrite, |uow| {
            uow.set_last_login(user.id, later)?;
            uow.set_user_active(user.id, false, later)
        })
        .unwrap();
        let reread = transaction(db, TransactionMode::ReadOnly, |uow| uow.user_by_id(user.id)).unwrap().unwrap();
        assert_eq!(reread.last_login, Some(later));
        assert!(!reread.is_active);
        assert_eq!(reread.updated_at, later);
        let missing = transaction(db, TransactionMode::ReadWrite, |uow| uow.set_last_login(UserId::new(777), later));
        assert_eq!(missing, Err(RepoError::NotFound));
        let missing = transaction(db, TransactionMode::ReadWrite, |uow| uow.set_user_active(UserId::new(777), true, later));
        assert_eq!(missing, Err(RepoError::NotFound));
    }

    fn a_failed_unit_of_work_leaves_nothing_behind(db: &Database) {
        let result: Result<(), RepoError> = transaction(db, TransactionMode::ReadWrite, |uow| {
            uow.insert_user(&new_user("ghost", "g@mif.ma", UserRole::Admin))?;
            uow.insert_user(&new_user("GHOST", "g2@mif.ma", UserRole::Admin))?;
            Ok(())
        });
        assert_eq!(result, Err(RepoError::Duplicate(UniqueKey::Username)));
        let count = transaction(db, TransactionMode::ReadOnly, |uow| uow.count_users()).unwrap();
        assert_eq!(count, 0);
    }

    fn read_only_transactions_refuse_writes(db: &Database) {
        let result = transaction(db, TransactionMode::ReadOnly, |uow| {
            uow.insert_user(&new_user("amal", "a@mif.ma", UserRole::Admin))
        });
        if db.backend() == erp_domain::ports::DatabaseBackend::Postgres {
            assert!(result.is_err(), "PostgreSQL enforces READ ONLY");
        }
        // On SQLite a deferred transaction may write; the mode only chooses the lock strategy.
        let _ = result;
    }

    fn migrations_go_down_and_up_again(db: &Database) {
        let status = |db: &Database| {
            use erp_domain::ports::DatabaseProbe as _;
            db.migration_status(std::time::Duration::from_secs(5)).unwrap()
        };
        let s = status(db);
        assert!(s.applied >= 1);
        assert_eq!(s.pending, 0);
        insert(db, &new_user("amal", "a@mif.ma", UserRole::Admin)).unwrap();

        let reverted = db.revert_all_migrations().unwrap();
        assert_eq!(reverted.len(), s.applied);
        let down = status(db);
        assert_eq!((down.applied, down.pending), (0, s.applied));

        let applied = db.migrate().unwrap();
        assert_eq!(applied.len(), s.applied);
        assert_eq!(status(db).pending, 0);
        let count = transaction(db, TransactionMode::ReadOnly, |uow| uow.count_users()).unwrap();
        assert_eq!(count, 0, "down migrations really dropped the tables");
    }

    fn the_probe_answers_quickly(db: &Database) {
        use erp_domain::ports::DatabaseProbe as _;
        let latency = db.ping(std::time::Duration::from_secs(2)).unwrap();
        assert!(latency < std::time::Duration::from_secs(2));
    }
}

/// An integer pragma of a pooled SQLite connection of `db` (`sql` selects it as `v`).
fn sqlite_pragma(db: &Database, sql: &str) -> i64 {
    use diesel::RunQueryDsl as _;
    #[derive(diesel::QueryableByName)]
    struct Int {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        v: i64,
    }
    let mut pooled = db.checkout(std::time::Duration::from_secs(2)).unwrap();
    let erp_persistence::database::PooledConn::Sqlite(c) = &mut pooled else {
        panic!("sqlite")
    };
    let got: Int = diesel::sql_query(sql).get_result(&mut **c).unwrap();
    got.v
}

#[test]
fn sqlite_connections_have_the_pragmas_of_d1() {
    use diesel::RunQueryDsl as _;
    #[derive(diesel::QueryableByName)]
    struct Str {
        #[diesel(sql_type = diesel::sql_types::Text)]
        journal_mode: String,
    }
    let guard =
        erp_persistence::testing::TestDatabase::new(erp_persistence::testing::TestBackend::Sqlite)
            .unwrap();
    let db = guard.connect();
    let pragma = |sql| sqlite_pragma(&db, sql);
    assert_eq!(
        pragma("SELECT foreign_keys AS v FROM pragma_foreign_keys"),
        1
    );
    assert_eq!(
        pragma("SELECT timeout AS v FROM pragma_busy_timeout"),
        5_000
    );
    assert_eq!(
        pragma("SELECT synchronous AS v FROM pragma_synchronous"),
        1,
        "NORMAL"
    );
    assert_eq!(
        pragma("SELECT cache_size AS v FROM pragma_cache_size"),
        -i64::from(erp_persistence::database::SQLITE_CACHE_KIB),
        "a negative cache_size is in KiB"
    );
    let mut pooled = db.checkout(std::time::Duration::from_secs(2)).unwrap();
    let erp_persistence::database::PooledConn::Sqlite(c) = &mut pooled else {
        panic!("sqlite")
    };
    let wal: Str = diesel::sql_query("PRAGMA journal_mode")
        .get_result(&mut **c)
        .unwrap();
    assert_eq!(wal.journal_mode, "wal");
}

#[test]
fn the_sqlite_page_cache_is_sized_as_configured() {
    let guard =
        erp_persistence::testing::TestDatabase::new(erp_persistence::testing::TestBackend::Sqlite)
            .unwrap();
    let db = Database::connect(
        guard.url(),
        erp_persistence::database::DatabaseOptions {
            sqlite_cache_kib: 3_000,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        sqlite_pragma(&db, "SELECT cache_size AS v FROM pragma_cache_size"),
        -3_000
    );
}

#[test]
fn an_unknown_scheme_creates_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("erp.db");
    let err = Database::connect(&format!("mysql://{}", target.display()), Default::default())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("supported schemes are sqlite://, postgres://, postgresql://")
    );
    assert!(!target.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn the_transaction_runner_is_object_safe() {
    fn takes(_: &dyn TransactionRunner) {}
    let guard =
        erp_persistence::testing::TestDatabase::new(erp_persistence::testing::TestBackend::Sqlite)
            .unwrap();
    takes(&guard.migrated());
}
