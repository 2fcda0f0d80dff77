//! D15 proven with real replicas: three `erp` processes, each on its own loopback port, share one
//! fresh PostgreSQL database and the real Redis, as replicas behind a load balancer do. Every
//! request says which client it comes from through `X-Forwarded-For` (the replicas trust
//! `127.0.0.0/8` as their proxy), so the scenarios of one suite never share a budget.
//!
//! Shown here: replicas started at the same instant on an empty database all come up with one
//! bootstrap admin; the general rate limit is one budget across replicas, and survives a Redis
//! outage; the login lockout counts exactly across replicas; a session ended through one replica
//! is ended on the others at once; one due planning yields one intervention with three
//! schedulers running; documents live in one S3 bucket (a real S3-compatible server, moto):
//! uploaded through one replica, read through another, deleted through the third, re-encrypted
//! by `erp keys rotate-fernet` while all three serve, and an upload cut by a SIGKILL leaves
//! nothing behind.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions: failing loudly is the point"
)]

pub mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use erp_persistence::testing::{TestBackend, TestDatabase};
use erp_redis::testing::{RedisServer, shared_redis_url, unique_prefix};
use serde_json::{Value, json};
use support::Server;
use support::documents::{download, intervention, upload};

const ADMIN_PASSWORD: &str = "Replicas#Admin2026";
const REPLICAS: usize = 3;

/// Three replicas on one database, one Redis and one key set.
struct Cluster {
    replicas: Vec<Server>,
    /// What every replica was started with.
    env: Vec<(String, String)>,
    dirs: Vec<tempfile::TempDir>,
    _db: TestDatabase,
}

impl Cluster {
    fn base(&self, i: usize) -> &str {
        &self.replicas[i % self.replicas.len()].base
    }

    /// Restarts the replicas one after the other (a rolling update) with `changes` applied.
    fn roll(&mut self, changes: &[(&str, &str)]) {
        for (k, v) in changes {
            self.env.retain(|(key, _)| key != k);
            self.env.push(((*k).to_owned(), (*v).to_owned()));
        }
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        for i in 0..self.replicas.len() {
            let next = support::start(self.dirs[i].path(), &env);
            let mut old = std::mem::replace(&mut self.replicas[i], next);
            assert!(support::terminate(&mut old).success());
        }
    }

    /// An anonymous `GET` of `path` through replica `i` from `client`.
    fn get(&self, i: usize, path: &str, client: &str) -> (u16, Option<String>, Value) {
        call(
            "GET",
            &format!("{}{path}", self.base(i)),
            client,
            None,
            None,
        )
    }

    /// A command of the binary (`erp keys rotate-fernet`…) with the replicas' settings.
    fn command(&self) -> std::process::Command {
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        support::command(self.dirs[REPLICAS].path(), &env)
    }
}

/// The settings of documents in the test's S3 bucket.
fn s3_env(s3: &erp_storage::testing::TestS3, dir: &Path) -> Vec<(String, String)> {
    let (id_file, secret_file) = (dir.join("s3-id"), dir.join("s3-secret"));
    std::fs::write(&id_file, "testing\n").unwrap();
    std::fs::write(&secret_file, "testing\n").unwrap();
    vec![
        ("ERP__DOCUMENTS__BACKEND".into(), "s3".into()),
        ("ERP__DOCUMENTS__S3__ENDPOINT".into(), s3.endpoint()),
        (
            "ERP__DOCUMENTS__S3__BUCKET".into(),
            erp_storage::testing::TEST_BUCKET.into(),
        ),
        ("ERP__DOCUMENTS__S3__PREFIX".into(), "replicas".into()),
        (
            "AWS_ACCESS_KEY_ID_FILE".into(),
            id_file.display().to_string(),
        ),
        (
            "AWS_SECRET_ACCESS_KEY_FILE".into(),
            secret_file.display().to_string(),
        ),
    ]
}

/// Keys shared by every replica: one signing key and one Fernet ring, as a Secret gives them.
fn shared_keys(dir: &Path) -> (PathBuf, String) {
    support::succeed(support::command(dir, &[]).args(["keys", "generate", "--out", "keys"]));
    let fernet = std::fs::read_to_string(dir.join("keys/fernet.key")).unwrap();
    (
        dir.join("keys/jwt-signing-key.pem"),
        fernet.trim().to_owned(),
    )
}

/// Starts the replicas together (none waits for another) on a fresh PostgreSQL database.
fn cluster(redis_url: &str, extra: &[(&str, &str)]) -> Option<Cluster> {
    cluster_with(redis_url, extra, None)
}

/// [`cluster`], with documents in an S3 bucket when one is given.
fn cluster_with(
    redis_url: &str,
    extra: &[(&str, &str)],
    s3: Option<&erp_storage::testing::TestS3>,
) -> Option<Cluster> {
    let db = TestDatabase::new(TestBackend::Postgres)?;
    let shared = tempfile::tempdir().unwrap();
    let (signing_key, fernet) = shared_keys(shared.path());
    let documents = shared.path().join("documents");
    let prefix = unique_prefix();
    let mut env: Vec<(String, String)> = vec![
        ("ERP__DATABASE__URL".into(), db.url().to_owned()),
        (
            "ERP__SECURITY__JWT_PRIVATE_KEY_FILE".into(),
            signing_key.display().to_string(),
        ),
        ("FERNET_KEYS".into(), fernet),
        ("ERP_BOOTSTRAP_ADMIN_PASSWORD".into(), ADMIN_PASSWORD.into()),
        ("ERP__RATE_LIMIT__REDIS_URL".into(), redis_url.to_owned()),
        ("ERP__RATE_LIMIT__REDIS_PREFIX".into(), prefix),
        (
            "ERP__RATE_LIMIT__TRUSTED_PROXIES".into(),
            r#"["127.0.0.0/8"]"#.into(),
        ),
        (
            "ERP__DOCUMENTS__STORAGE_DIR".into(),
            documents.display().to_string(),
        ),
    ];
    if let Some(s3) = s3 {
        env.retain(|(key, _)| key != "ERP__DOCUMENTS__STORAGE_DIR");
        env.extend(s3_env(s3, shared.path()));
    }
    for (k, v) in extra {
        env.retain(|(key, _)| key != k);
        env.push(((*k).to_owned(), (*v).to_owned()));
    }
    let dirs: Vec<tempfile::TempDir> = (0..REPLICAS)
        .map(|_| tempfile::tempdir().unwrap())
        .collect();
    let replicas = std::thread::scope(|s| {
        let starts: Vec<_> = dirs
            .iter()
            .map(|dir| {
                let env = &env;
                s.spawn(move || {
                    let env: Vec<(&str, &str)> =
                        env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                    support::start(dir.path(), &env)
                })
            })
            .collect();
        starts
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    });
    let mut dirs = dirs;
    dirs.push(shared);
    Some(Cluster {
        replicas,
        env,
        dirs,
        _db: db,
    })
}

/// A request from `client` (its address in `X-Forwarded-For`): status, `Retry-After`, body.
fn call(
    method: &str,
    url: &str,
    client: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, Option<String>, Value) {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build();
    let mut req = agent.request(method, url).set("X-Forwarded-For", client);
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    let res = match body {
        Some(b) => req.send_json(b.clone()),
        None => req.call(),
    };
    let read = |res: ureq::Response| {
        let retry = res.header("retry-after").map(str::to_owned);
        (res.status(), retry, res.into_json().unwrap_or(Value::Null))
    };
    match res {
        Ok(res) => read(res),
        Err(ureq::Error::Status(_, res)) => read(res),
        Err(e) => panic!("{url}: {e}"),
    }
}

fn login(base: &str, client: &str, username: &str, password: &str) -> (u16, Value) {
    let (status, _, body) = call(
        "POST",
        &format!("{base}/api/v1/auth/token"),
        client,
        None,
        Some(&json!({"username": username, "password": password})),
    );
    (status, body)
}

fn token(base: &str, client: &str, username: &str, password: &str) -> String {
    let (status, body) = login(base, client, username, password);
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// Waits for the next window when less than `margin` seconds are left in this one, so that a
/// scenario counting one window's budget is not cut by the minute's end.
fn fresh_window(margin: i64) {
    let second = erp_domain::Clock::now(&erp_domain::SystemClock)
        .timestamp()
        .rem_euclid(60);
    if 60 - second < margin {
        std::thread::sleep(Duration::from_secs(u64::try_from(61 - second).unwrap()));
    }
}

#[test]
fn replicas_started_together_on_an_empty_database_all_come_up_with_one_admin() {
    let Some(redis) = shared_redis_url() else {
        return;
    };
    let Some(cluster) = cluster(&redis, &[]) else {
        return;
    };
    for i in 0..REPLICAS {
        let (status, body) = support::get(&format!("{}/ready", cluster.base(i)));
        assert_eq!(status, 200, "replica {i}: {body}");
        assert_eq!(body["checks"]["migrations"]["message"], "Migrations à jour");
    }
    let admin = token(cluster.base(0), "198.51.100.1", "admin", ADMIN_PASSWORD);
    let (status, _, users) = call(
        "GET",
        &format!("{}/api/v1/users", cluster.base(1)),
        "198.51.100.1",
        Some(&admin),
        None,
    );
    assert_eq!(status, 200, "{users}");
    assert_eq!(
        users.as_array().unwrap().len(),
        1,
        "one bootstrap admin: {users}"
    );
    let (_, _, health) = cluster.get(2, "/health", "198.51.100.1");
    assert_eq!(health["checks"]["redis"]["status"], "healthy", "{health}");
}

#[test]
fn the_rate_limit_is_one_budget_across_replicas() {
    let Some(redis) = shared_redis_url() else {
        return;
    };
    let Some(cluster) = cluster(&redis, &[("ERP__RATE_LIMIT__REQUESTS_PER_MINUTE", "30")]) else {
        return;
    };
    fresh_window(20);
    let client = "203.0.113.30";
    let statuses: Vec<u16> = (0..30)
        .map(|i| cluster.get(i, "/api/v1/auth/me", client).0)
        .collect();
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    for i in 0..REPLICAS {
        let (status, retry, body) = cluster.get(i, "/api/v1/auth/me", client);
        assert_eq!(status, 429, "replica {i}: {body}");
        assert!(retry.is_some());
    }
    // Another client still has its whole budget, on every replica.
    for i in 0..REPLICAS {
        let (status, _, _) = cluster.get(i, "/api/v1/auth/me", "203.0.113.31");
        assert_eq!(status, 401);
    }
}

#[test]
fn the_lockout_counts_exactly_across_replicas() {
    let Some(redis) = shared_redis_url() else {
        return;
    };
    let Some(cluster) = cluster(&redis, &[("ERP__SECURITY__PASSWORD_HASH_CONCURRENCY", "8")])
    else {
        return;
    };
    let admin = token(cluster.base(0), "198.51.100.2", "admin", ADMIN_PASSWORD);
    for name in ["amina", "youssef"] {
        let (status, _, body) = call(
            "POST",
            &format!("{}/api/v1/users", cluster.base(0)),
            "198.51.100.2",
            Some(&admin),
            Some(&json!({"username": name, "email": format!("{name}@mif.ma"),
                "password": "Maintenance#2026x", "role": "responsable", "full_name": name})),
        );
        assert_eq!(status, 201, "{body}");
    }
    // Five failures spread over the replicas lock the account on all of them.
    for i in 0..5 {
        let (status, _) = login(
            cluster.base(i),
            &format!("192.0.2.{i}"),
            "amina",
            "Wrong#Pass2026",
        );
        assert_eq!(status, 401, "failure {i}");
    }
    for i in 0..REPLICAS {
        let (status, _) = login(cluster.base(i), "192.0.2.100", "amina", "Maintenance#2026x");
        assert_eq!(status, 429, "locked on replica {i}");
    }
    // 40 concurrent failures, each from its own address, over the three replicas: exactly five
    // are checked (401), every other one is refused (429).
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let attempts: Vec<_> = (0..40)
            .map(|i| {
                let base = cluster.base(i).to_owned();
                s.spawn(move || {
                    login(&base, &format!("192.0.3.{i}"), "youssef", "Wrong#Pass2026").0
                })
            })
            .collect();
        attempts.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let unauthorized = statuses.iter().filter(|s| **s == 401).count();
    let locked = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((unauthorized, locked), (5, 35), "{statuses:?}");
}

#[test]
fn a_session_ended_through_one_replica_is_ended_on_the_others_at_once() {
    let Some(redis) = shared_redis_url() else {
        return;
    };
    let Some(cluster) = cluster(&redis, &[]) else {
        return;
    };
    let client = "198.51.100.3";
    let me = |i: usize, token: &str| {
        call(
            "GET",
            &format!("{}/api/v1/auth/me", cluster.base(i)),
            client,
            Some(token),
            None,
        )
        .0
    };
    // Logout through A.
    let session = token(cluster.base(0), client, "admin", ADMIN_PASSWORD);
    assert!((0..REPLICAS).all(|i| me(i, &session) == 200));
    let (status, _, _) = call(
        "POST",
        &format!("{}/api/v1/auth/logout", cluster.base(0)),
        client,
        Some(&session),
        None,
    );
    assert_eq!(status, 200);
    assert_eq!((me(1, &session), me(2, &session)), (401, 401), "logout");

    // A password change through B.
    let admin = token(cluster.base(1), client, "admin", ADMIN_PASSWORD);
    let (status, _, body) = call(
        "POST",
        &format!("{}/api/v1/users", cluster.base(1)),
        client,
        Some(&admin),
        Some(&json!({"username": "karim", "email": "karim@mif.ma",
            "password": "Maintenance#2026x", "role": "technicien", "full_name": "Karim"})),
    );
    assert_eq!(status, 201, "{body}");
    let karim = body["id"].as_i64().unwrap();
    let before = token(cluster.base(2), client, "karim", "Maintenance#2026x");
    let (status, _, body) = call(
        "POST",
        &format!("{}/api/v1/auth/change-password", cluster.base(1)),
        client,
        Some(&before),
        Some(
            &json!({"current_password": "Maintenance#2026x", "new_password": "Nouveau#Passe2026"}),
        ),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (me(0, &before), me(2, &before)),
        (401, 401),
        "password change"
    );

    // A deactivation through C.
    let after = token(cluster.base(0), client, "karim", "Nouveau#Passe2026");
    assert_eq!(me(1, &after), 200);
    let (status, _, body) = call(
        "DELETE",
        &format!("{}/api/v1/users/{karim}", cluster.base(2)),
        client,
        Some(&admin),
        None,
    );
    assert_eq!(status, 204, "{body}");
    assert_eq!((me(0, &after), me(1, &after)), (401, 401), "deactivation");
}

#[test]
fn one_due_planning_yields_one_intervention_with_three_schedulers() {
    let Some(redis) = shared_redis_url() else {
        return;
    };
    let Some(cluster) = cluster(&redis, &[("ERP__SCHEDULER__INTERVAL_SECONDS", "1")]) else {
        return;
    };
    let client = "198.51.100.4";
    let admin = token(cluster.base(0), client, "admin", ADMIN_PASSWORD);
    let (status, _, equipement) = call(
        "POST",
        &format!("{}/api/v1/equipements", cluster.base(0)),
        client,
        Some(&admin),
        Some(&json!({"nom": "Compresseur C1", "type": "compresseur", "localisation": "Atelier"})),
    );
    assert_eq!(status, 201, "{equipement}");
    let due = (erp_domain::Clock::now(&erp_domain::SystemClock) - chrono::Duration::hours(1))
        .to_rfc3339();
    let (status, _, planning) = call(
        "POST",
        &format!("{}/api/v1/planning", cluster.base(1)),
        client,
        Some(&admin),
        Some(
            &json!({"equipement_id": equipement["id"], "frequence": "journalier",
            "prochaine_date": due, "titre": "Graissage"}),
        ),
    );
    assert_eq!(status, 201, "{planning}");
    let id = planning["id"].as_i64().unwrap();
    let list = || {
        call(
            "GET",
            &format!("{}/api/v1/interventions?type=preventive", cluster.base(2)),
            client,
            Some(&admin),
            None,
        )
        .2
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while list().as_array().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "nothing generated in 30 s");
        std::thread::sleep(Duration::from_millis(200));
    }
    // Several more scheduler ticks on every replica.
    std::thread::sleep(Duration::from_secs(4));
    let generated: Vec<Value> = list()
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["planning_id"] == id)
        .cloned()
        .collect();
    assert_eq!(generated.len(), 1, "{generated:?}");
}

#[test]
fn a_lost_redis_fails_no_request_and_the_shared_limit_returns_with_it() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let Some(cluster) = cluster(
        &redis.url(),
        &[("ERP__RATE_LIMIT__REQUESTS_PER_MINUTE", "9")],
    ) else {
        return;
    };
    fresh_window(25);
    let get = |i: usize, client: &str| cluster.get(i, "/api/v1/auth/me", client).0;
    for i in 0..9 {
        assert_eq!(get(i, "203.0.113.90"), 401);
    }
    assert_eq!(get(0, "203.0.113.90"), 429, "the shared budget is spent");
    redis.stop();
    for i in 0..REPLICAS {
        assert_eq!(
            get(i, "203.0.113.90"),
            401,
            "served by replica {i} without Redis"
        );
        let (status, _, health) = cluster.get(i, "/health", "203.0.113.90");
        assert_eq!(status, 200);
        assert_eq!(health["checks"]["redis"]["status"], "warning", "{health}");
        let (ready, _, _) = cluster.get(i, "/ready", "203.0.113.90");
        assert_eq!(ready, 200, "/ready does not depend on Redis");
    }
    assert!(redis.restart());
    // Once every replica's client has reconnected and its one-second pause is over, the budget
    // is shared again: a new client gets nine requests in all, then 429 everywhere.
    let deadline = Instant::now() + Duration::from_secs(15);
    for i in 0..REPLICAS {
        while cluster.get(i, "/health", "203.0.113.91").2["checks"]["redis"]["status"] != "healthy"
        {
            assert!(Instant::now() < deadline, "replica {i} never reconnected");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    std::thread::sleep(Duration::from_millis(1_100));
    fresh_window(15);
    for i in 0..9 {
        assert_eq!(get(i, "203.0.113.92"), 401, "request {i}");
    }
    for i in 0..REPLICAS {
        assert_eq!(get(i, "203.0.113.92"), 429, "shared again on replica {i}");
    }
}

/// The blobs in the bucket, under the replicas' prefix.
fn blobs(s3: &erp_storage::testing::TestS3) -> Vec<String> {
    use erp_domain::ports::BlobStore as _;
    erp_storage::S3BlobStore::new(&s3.settings(Some("replicas")))
        .unwrap()
        .older_than(Duration::ZERO)
        .unwrap()
}

#[test]
fn documents_are_shared_through_the_bucket_and_rotated_while_every_replica_serves() {
    let Some(redis) = shared_redis_url() else {
        return;
    };
    let Some(s3) = erp_storage::testing::TestS3::start() else {
        return;
    };
    let old_key =
        secrecy::ExposeSecret::expose_secret(&erp_security::keys::generate_fernet_key()).to_owned();
    let Some(mut cluster) = cluster_with(
        &redis,
        &[
            ("FERNET_KEYS", &old_key),
            ("ERP__RATE_LIMIT__REQUESTS_PER_MINUTE", "100000"),
        ],
        Some(&s3),
    ) else {
        return;
    };
    let admin = token(cluster.base(0), "198.51.100.5", "admin", ADMIN_PASSWORD);
    let target = intervention(cluster.base(0), &admin);
    // Uploaded through A, read byte for byte through B, deleted through C.
    let pdf: Vec<u8> = b"%PDF-1.4\n"
        .iter()
        .copied()
        .chain((0..300_000u32).map(|i| (i % 251) as u8))
        .collect();
    let doc = upload(cluster.base(0), &admin, target, "plan.pdf", &pdf)["id"]
        .as_i64()
        .unwrap();
    let (status, _, bytes) = download(cluster.base(1), &admin, doc);
    assert_eq!(status, 200);
    assert!(bytes == pdf, "byte-identical through another replica");
    let scratch = upload(cluster.base(0), &admin, target, "note.txt", b"a supprimer")["id"]
        .as_i64()
        .unwrap();
    let (status, _, _) = call(
        "DELETE",
        &format!("{}/api/v1/documents/{scratch}", cluster.base(2)),
        "198.51.100.5",
        Some(&admin),
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(download(cluster.base(0), &admin, scratch).0, 404);
    let mut expected: Vec<(i64, Vec<u8>)> = vec![(doc, pdf)];
    for i in 0..6u8 {
        let text = vec![b'a' + i; 1000 + usize::from(i)];
        let id = upload(
            cluster.base(usize::from(i)),
            &admin,
            target,
            "releve.txt",
            &text,
        )["id"]
            .as_i64()
            .unwrap();
        expected.push((id, text));
    }
    assert_eq!(blobs(&s3).len(), expected.len(), "one blob per document");

    // The operator's rotation: every replica learns the new key (rolling update), then the
    // rotation runs while all three serve reads and uploads.
    let new_key =
        secrecy::ExposeSecret::expose_secret(&erp_security::keys::generate_fernet_key()).to_owned();
    cluster.roll(&[("FERNET_KEYS", &format!("{new_key},{old_key}"))]);
    let admin = token(cluster.base(1), "198.51.100.5", "admin", ADMIN_PASSWORD);
    let done = std::sync::atomic::AtomicBool::new(false);
    let bases: Vec<String> = (0..REPLICAS).map(|i| cluster.base(i).to_owned()).collect();
    let base = |i: usize| bases[i % REPLICAS].as_str();
    let (rotation, during) = std::thread::scope(|s| {
        let traffic = s.spawn(|| {
            let mut uploaded = Vec::new();
            let mut round = 0usize;
            while !done.load(std::sync::atomic::Ordering::SeqCst) || round < 3 {
                for (id, data) in &expected {
                    let (status, _, bytes) = download(base(round), &admin, *id);
                    assert_eq!(status, 200, "document {id} during the rotation");
                    assert!(&bytes == data, "document {id} intact during the rotation");
                }
                let text = format!("pendant la rotation {round}").into_bytes();
                let id = upload(base(round + 1), &admin, target, "r.txt", &text)["id"]
                    .as_i64()
                    .unwrap();
                uploaded.push((id, text));
                round += 1;
            }
            uploaded
        });
        let out = cluster
            .command()
            .args(["keys", "rotate-fernet"])
            .output()
            .unwrap();
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        (out, traffic.join().unwrap())
    });
    assert!(
        rotation.status.success(),
        "{}",
        String::from_utf8_lossy(&rotation.stderr)
    );
    let summary = String::from_utf8_lossy(&rotation.stdout);
    assert!(
        summary.contains(&format!(
            "{} re-encrypted, 0 skipped (changed meanwhile), 0 failed",
            expected.len()
        )),
        "every document written under the old key, none lost: {summary}"
    );
    expected.extend(during);
    for (i, (id, data)) in expected.iter().enumerate() {
        let (status, _, bytes) = download(cluster.base(i), &admin, *id);
        assert_eq!(status, 200, "document {id} after the rotation");
        assert!(&bytes == data, "document {id} intact after the rotation");
    }
    // Nothing left under the old key: a second rotation has nothing to do.
    let again = cluster
        .command()
        .args(["keys", "rotate-fernet"])
        .output()
        .unwrap();
    let again = String::from_utf8_lossy(&again.stdout);
    assert!(again.contains("0 re-encrypted"), "{again}");
}

#[test]
fn an_upload_cut_by_a_sigkill_leaves_no_document_and_no_blob() {
    use std::io::Write as _;
    let Some(redis) = shared_redis_url() else {
        return;
    };
    let Some(s3) = erp_storage::testing::TestS3::start() else {
        return;
    };
    let Some(mut cluster) = cluster_with(&redis, &[], Some(&s3)) else {
        return;
    };
    let admin = token(cluster.base(0), "198.51.100.6", "admin", ADMIN_PASSWORD);
    let target = intervention(cluster.base(1), &admin);
    // Half of a 6 MiB upload reaches replica A, then A is killed.
    let head = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"gros.pdf\"\r\n\r\n%PDF-1.4\n",
        b = support::documents::BOUNDARY
    );
    let total = head.len() + 6 * 1024 * 1024;
    let address = cluster.base(0).trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    write!(
        stream,
        "POST /api/v1/documents?intervention_id={target} HTTP/1.1\r\nHost: {address}\r\n\
         Authorization: Bearer {admin}\r\n\
         Content-Type: multipart/form-data; boundary={b}\r\nContent-Length: {total}\r\n\r\n{head}",
        b = support::documents::BOUNDARY
    )
    .unwrap();
    stream.write_all(&vec![7u8; 3 * 1024 * 1024]).unwrap();
    stream.flush().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    cluster.replicas[0].child.kill().unwrap();
    cluster.replicas[0].child.wait().unwrap();
    drop(stream);
    // Through the survivors: no document, and nothing in the bucket (the ciphertext reaches
    // the bucket only when the upload is complete).
    for i in 1..REPLICAS {
        let (status, _, list) = call(
            "GET",
            &format!(
                "{}/api/v1/documents?intervention_id={target}",
                cluster.base(i)
            ),
            "198.51.100.6",
            Some(&admin),
            None,
        );
        assert_eq!(status, 200, "{list}");
        assert_eq!(list.as_array().unwrap().len(), 0, "{list}");
    }
    assert_eq!(blobs(&s3), Vec::<String>::new());
}
