//! Smoke suite: the real `erp` binary, started on port 0 in a temporary working directory,
//! spoken to over real HTTP. Covers first run, restart, refusals at start-up, graceful
//! shutdown, and PostgreSQL including an outage.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions: failing loudly is the point"
)]

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::documents::{BOUNDARY, agent, download, intervention, upload};
use support::{Server, command, get, login, send, start, succeed, terminate};

pub mod support;

fn printed_password(server: &Server) -> Option<String> {
    // The banner is written before the server listens, so it is already in the channel.
    server
        .stderr
        .try_iter()
        .find_map(|l| l.split("store it now): ").nth(1).map(ToOwned::to_owned))
}

fn admin_password_verifies(workdir: &Path, password: &str) -> bool {
    use erp_application::tx::transaction;
    use erp_domain::password::PlainPassword;
    use erp_domain::ports::{PasswordHasher as _, TransactionMode};
    let url = format!("sqlite://{}", workdir.join("data/erp.db").display());
    let db = erp_persistence::Database::connect(&url, Default::default()).unwrap();
    let admin = transaction(&db, TransactionMode::ReadOnly, |uow| {
        uow.user_by_username_norm("admin")
    })
    .unwrap()
    .unwrap();
    assert_eq!(admin.role, erp_domain::UserRole::Admin);
    erp_security::Argon2Hasher::owasp()
        .unwrap()
        .verify(&PlainPassword::new(password), &admin.password_hash)
        .unwrap()
}

#[test]
fn first_run_serves_on_sqlite_and_a_restart_reuses_database_and_keys() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path(), &[]);
    let (status, body) = get(&format!("{}/ready", server.base));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ready");
    let (_, health) = get(&format!("{}/api/v1/health", server.base));
    assert_eq!(health["checks"]["database"]["backend"], "sqlite");
    assert!(dir.path().join("data/erp.db").is_file());
    let key_file = dir.path().join("data/keys/jwt-signing-key.pem");
    let key = std::fs::read_to_string(&key_file).unwrap();
    let fernet = std::fs::read_to_string(dir.path().join("data/keys/fernet.key")).unwrap();
    let password = printed_password(&server).expect("the generated password is printed");
    assert!(erp_domain::password::failed_rules(&password).is_empty());
    // The bootstrap admin logs in over real HTTP with a form, and the token works.
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(10))
        .build();
    let login: Value = agent
        .post(&format!("{}/api/v1/auth/token", server.base))
        .send_form(&[("username", "admin"), ("password", password.as_str())])
        .unwrap()
        .into_json()
        .unwrap();
    let token = login["access_token"].as_str().unwrap();
    let me: Value = agent
        .get(&format!("{}/api/v1/users/me", server.base))
        .set("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(me["username"], "admin");
    assert_eq!(me["role"], "admin");
    assert!(terminate(&mut server).success(), "SIGTERM exits 0");

    let server = start(dir.path(), &[]);
    assert_eq!(get(&format!("{}/ready", server.base)).0, 200);
    assert_eq!(printed_password(&server), None, "printed only once");
    assert_eq!(
        std::fs::read_to_string(&key_file).unwrap(),
        key,
        "the key is reused"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("data/keys/fernet.key")).unwrap(),
        fernet
    );
    drop(server);
    assert!(admin_password_verifies(dir.path(), &password));
}

#[test]
fn a_signing_key_change_between_starts_is_audited_once() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("ERP_BOOTSTRAP_ADMIN_PASSWORD", "Smoke#Admin2026")];
    let key_events = |base: &str| {
        let token = login(base, "admin", "Smoke#Admin2026");
        let (status, body) = send(
            "GET",
            &format!("{base}/api/v1/audit/events?event_type=system.key.rotation"),
            Some(&token),
            None,
        );
        assert_eq!(status, 200, "{body}");
        body.as_array().unwrap().clone()
    };
    let server = start(dir.path(), &env);
    let first = key_events(&server.base);
    assert_eq!(first.len(), 1, "the first key is recorded: {first:?}");
    assert_eq!(first[0]["resource"], "signing_key");
    assert_eq!(first[0]["action"], "signing-key-initial");
    let kid = first[0]["details"]["kid"].as_str().unwrap().to_owned();
    drop(server);

    let server = start(dir.path(), &env);
    assert_eq!(key_events(&server.base).len(), 1, "same key: nothing new");
    drop(server);

    // The operator replaces the key: the next start records the change.
    std::fs::remove_file(dir.path().join("data/keys/jwt-signing-key.pem")).unwrap();
    let server = start(dir.path(), &env);
    let events = key_events(&server.base);
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0]["action"], "signing-key-change");
    assert_eq!(events[0]["details"]["previous_kid"], kid.as_str());
    assert_ne!(events[0]["details"]["kid"], kid.as_str());
}

#[test]
fn the_bootstrap_password_can_be_provided_and_must_follow_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    let weak = command(dir.path(), &[("ERP_BOOTSTRAP_ADMIN_PASSWORD", "admin")])
        .output()
        .unwrap();
    assert!(!weak.status.success());
    let stderr = String::from_utf8_lossy(&weak.stderr);
    assert!(stderr.contains("Mot de passe invalide"), "{stderr}");

    let server = start(
        dir.path(),
        &[("ERP_BOOTSTRAP_ADMIN_PASSWORD", "Maintenance#2026x")],
    );
    assert_eq!(
        printed_password(&server),
        None,
        "a provided password is never printed"
    );
    drop(server);
    assert!(admin_password_verifies(dir.path(), "Maintenance#2026x"));
}

#[test]
fn an_unknown_database_scheme_is_a_one_line_error_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(dir.path(), &[("ERP__DATABASE__URL", "mysql://x")])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("supported schemes are sqlite://, postgres://, postgresql://"),
        "{stderr}"
    );
    assert!(!dir.path().join("data").exists());
}

#[test]
fn production_refuses_to_start_without_provided_keys() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(dir.path(), &[("ERP__ENVIRONMENT", "production")])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("security.jwt_private_key_file"), "{stderr}");
    assert!(
        !dir.path().join("data").exists(),
        "no development key is generated"
    );
}

#[test]
fn unknown_configuration_keys_are_refused_and_check_config_redacts_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(dir.path(), &[("ERP__SERVER__PROT", "1")])
        .arg("check-config")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let out = command(
        dir.path(),
        &[("ERP__DATABASE__URL", "postgres://erp:hunter2@db/erp")],
    )
    .arg("check-config")
    .output()
    .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("configuration OK"));
    assert!(!stdout.contains("hunter2"), "{stdout}");
}

#[test]
fn sigterm_drains_then_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path(), &[("ERP__SERVER__DRAIN_SECONDS", "2")]);
    assert_eq!(get(&format!("{}/ready", server.base)).0, 200);
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    std::thread::sleep(Duration::from_millis(300));
    let (status, body) = get(&format!("{}/ready", server.base));
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        body["error"]["details"]["checks"]["server"]["status"],
        "draining"
    );
    assert_eq!(
        get(&format!("{}/live", server.base)).0,
        200,
        "still alive while draining"
    );
    assert!(terminate(&mut server).success());
}

#[test]
fn the_healthcheck_command_probes_live() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[]);
    let port = server.base.rsplit(':').next().unwrap().to_owned();
    let ok = command(dir.path(), &[("ERP__SERVER__PORT", &port)])
        .arg("healthcheck")
        .status()
        .unwrap();
    assert!(ok.success());
    drop(server);
    let down = command(dir.path(), &[("ERP__SERVER__PORT", &port)])
        .arg("healthcheck")
        .status()
        .unwrap();
    assert!(!down.success());
}

/// A TCP relay that can cut every connection, standing in for a PostgreSQL outage.
struct Outage {
    port: u16,
    down: Arc<AtomicBool>,
}

impl Outage {
    fn relay_to(target: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let down = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&down);
        let target = target.to_owned();
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                if flag.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(upstream) = TcpStream::connect(&target) else {
                    continue;
                };
                pipe(
                    client.try_clone().unwrap(),
                    upstream.try_clone().unwrap(),
                    Arc::clone(&flag),
                );
                pipe(upstream, client, Arc::clone(&flag));
            }
        });
        Self { port, down }
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream, down: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        from.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let mut buf = [0_u8; 16 * 1024];
        loop {
            if down.load(Ordering::SeqCst) {
                let _ = from.shutdown(std::net::Shutdown::Both);
                let _ = to.shutdown(std::net::Shutdown::Both);
                return;
            }
            match from.read(&mut buf) {
                Ok(0) => {
                    let _ = to.shutdown(std::net::Shutdown::Both);
                    return;
                }
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => return,
            }
        }
    });
}

#[test]
fn postgres_serves_the_same_and_readiness_follows_an_outage() {
    use erp_persistence::testing::{TestBackend, TestDatabase};
    let Some(pg) = TestDatabase::new(TestBackend::Postgres) else {
        return;
    };
    let url = pg.url().to_owned();
    let host_port = url
        .split('@')
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let outage = Outage::relay_to(&host_port);
    let relayed = url.replacen(&host_port, &format!("127.0.0.1:{}", outage.port), 1);

    let dir = tempfile::tempdir().unwrap();
    let server = start(
        dir.path(),
        &[
            ("ERP__DATABASE__URL", &relayed),
            ("ERP__DATABASE__CONNECT_TIMEOUT_SECONDS", "1"),
        ],
    );
    let (status, body) = get(&format!("{}/ready", server.base));
    assert_eq!(status, 200, "{body}");
    let (_, health) = get(&format!("{}/health", server.base));
    assert_eq!(health["checks"]["database"]["backend"], "postgres");
    assert!(
        printed_password(&server).is_some(),
        "the bootstrap admin is created on PostgreSQL too"
    );

    outage.down.store(true, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let (status, body) = get(&format!("{}/ready", server.base));
    assert_eq!(status, 503, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "answered in {:?}",
        started.elapsed()
    );
    assert_eq!(
        body["error"]["details"]["checks"]["database"]["status"],
        "unhealthy"
    );
    assert_eq!(
        body["error"]["details"]["checks"]["database"]["message"],
        "Échec de connexion à la base de données"
    );
    let (status, _) = get(&format!("{}/live", server.base));
    assert_eq!(status, 200, "/live never touches the database");

    outage.down.store(false, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _) = get(&format!("{}/ready", server.base));
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "/ready did not recover without a restart"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(server);
}

#[test]
fn keys_generate_writes_owner_only_key_files_the_server_accepts() {
    let dir = tempfile::tempdir().unwrap();
    succeed(command(dir.path(), &[]).args(["keys", "generate", "--out", "secrets"]));
    for name in ["jwt-signing-key.pem", "jwt-public-key.pem", "fernet.key"] {
        let path = dir.path().join("secrets").join(name);
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
    let again = command(dir.path(), &[])
        .args(["keys", "generate", "--out", "secrets"])
        .output()
        .unwrap();
    assert!(!again.status.success(), "never overwrites");

    // Production starts with these keys and no development key is generated.
    let fernet = std::fs::read_to_string(dir.path().join("secrets/fernet.key")).unwrap();
    let server = start(
        dir.path(),
        &[
            ("ERP__ENVIRONMENT", "production"),
            ("ERP__SERVER__HOST", "127.0.0.1"),
            (
                "ERP__SECURITY__JWT_PRIVATE_KEY_FILE",
                "secrets/jwt-signing-key.pem",
            ),
            ("FERNET_KEYS", fernet.trim()),
            ("ERP_BOOTSTRAP_ADMIN_PASSWORD", "Maintenance#2026x"),
        ],
    );
    assert_eq!(get(&format!("{}/ready", server.base)).0, 200);
    assert!(!dir.path().join("data/keys").exists());
}

#[test]
fn seed_demo_is_idempotent_and_its_accounts_work() {
    let dir = tempfile::tempdir().unwrap();
    let first = succeed(command(dir.path(), &[]).arg("seed-demo"));
    let out = String::from_utf8_lossy(&first.stdout);
    assert!(
        out.contains(
            "created 11 users, 8 techniciens, 20 équipements, 200 interventions, 6 plannings"
        ),
        "{out}"
    );
    let second = command(dir.path(), &[]).arg("seed-demo").output().unwrap();
    assert!(String::from_utf8_lossy(&second.stdout).contains("already loaded; nothing changed"));

    let server = start(dir.path(), &[]);
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(10))
        .build();
    let login: Value = agent
        .post(&format!("{}/api/v1/auth/token", server.base))
        .send_json(
            serde_json::json!({"username": "demo.responsable", "password": "Demo#Responsable2026"}),
        )
        .unwrap()
        .into_json()
        .unwrap();
    let token = login["access_token"].as_str().unwrap();
    let stats: Value = agent
        .get(&format!("{}/api/v1/dashboard/stats", server.base))
        .set("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    // 200 corrective and diagnostic work orders, plus one preventive intervention generated
    // by the scheduler for each of the five active plannings.
    assert_eq!(stats["interventions"]["total"], 205);
    let preventive: Value = agent
        .get(&format!(
            "{}/api/v1/interventions?planning_id=1",
            server.base
        ))
        .set("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(preventive.as_array().unwrap().len(), 1);
    let reminders: Value = agent
        .get(&format!(
            "{}/api/v1/notifications/me?type=cloture",
            server.base
        ))
        .set("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert!(
        !reminders.as_array().unwrap().is_empty(),
        "the responsable who created closed interventions was notified"
    );
    for statut in [
        "ouverte",
        "affectee",
        "en_cours",
        "en_attente",
        "cloturee",
        "annulee",
        "archivee",
    ] {
        assert!(
            stats["interventions"][statut].as_i64().unwrap() > 0,
            "{statut}"
        );
    }
    assert_eq!(stats["equipements"]["total"], 20);
    let months: Vec<i64> = stats["evolution_mensuelle"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["total"].as_i64().unwrap())
        .collect();
    assert!(
        months.iter().filter(|n| **n > 0).count() >= 5,
        "spread over the months: {months:?}"
    );
}

/// The demo interventions of one seeding, in creation order: (titre, statut, priorité,
/// équipement, technicien, creation time relative to the first one).
fn seeded_interventions(workdir: &Path) -> Vec<(String, String, String, i64, Option<i64>, i64)> {
    use erp_application::tx::transaction;
    use erp_domain::list::{Page, SortDir, SortKey};
    use erp_domain::ports::TransactionMode;
    let url = format!("sqlite://{}", workdir.join("data/erp.db").display());
    let db = erp_persistence::Database::connect(&url, Default::default()).unwrap();
    let sort = [SortKey {
        field: erp_domain::intervention::InterventionSortField::DateCreation,
        dir: SortDir::Asc,
    }];
    let listed = transaction(&db, TransactionMode::ReadOnly, |uow| {
        uow.list_interventions(
            &Default::default(),
            &sort,
            Page {
                limit: 200,
                offset: 0,
            },
        )
    })
    .unwrap();
    let first = listed.items[0].date_creation();
    listed
        .items
        .iter()
        .filter(|i| i.planning_id().is_none())
        .map(|i| {
            (
                i.titre().to_owned(),
                i.statut().as_str().to_owned(),
                i.priorite().as_str().to_owned(),
                i.equipement_id().get(),
                i.technicien_id().map(|t| t.get()),
                (i.date_creation() - first).num_seconds(),
            )
        })
        .collect()
}

#[test]
fn seeding_on_several_threads_gives_the_same_data_in_the_same_order() {
    let seed = |connections: &str| {
        let dir = tempfile::tempdir().unwrap();
        succeed(
            command(
                dir.path(),
                &[("ERP__DATABASE__MAX_CONNECTIONS", connections)],
            )
            .args(["seed-demo", "--interventions", "60"]),
        );
        seeded_interventions(dir.path())
    };
    let alone = seed("1");
    let together = seed("4");
    assert_eq!(alone.len(), 60);
    // Each thread stamps its writes with its own clock: creation order is the numbering.
    let numbers: Vec<String> = together.iter().map(|i| i.0.clone()).collect();
    let expected: Vec<String> = alone.iter().map(|i| i.0.clone()).collect();
    assert!(
        expected
            .iter()
            .enumerate()
            .all(|(n, t)| t.ends_with(&format!("#{:03}", n + 1))),
        "{expected:?}"
    );
    assert_eq!(numbers, expected);
    assert_eq!(together, alone);
}

// ---------------------------------------------------------------------------------------------
// Documents (D9): real uploads and downloads, memory under an oversized upload, key rotation.

const ADMIN_PASSWORD: &str = "Maintenance#2026x";
fn admin_token(base: &str) -> String {
    let login: Value = agent()
        .post(&format!("{base}/api/v1/auth/token"))
        .send_json(serde_json::json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .unwrap()
        .into_json()
        .unwrap();
    login["access_token"].as_str().unwrap().to_owned()
}

/// `VmRSS` and `VmHWM` (peak) of a process, in KiB.
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap()
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Streams a `size`-byte file as a chunked multipart upload (no Content-Length, so the server
/// must count) and returns the status line and body of the answer. The client stops sending
/// as soon as the server answers or stops reading.
fn chunked_upload(addr: &str, token: &str, intervention: i64, size: usize) -> (String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let head = format!(
        "POST /api/v1/documents?intervention_id={intervention} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let chunk = |w: &mut TcpStream, data: &[u8]| -> std::io::Result<()> {
            w.write_all(format!("{:x}\r\n", data.len()).as_bytes())?;
            w.write_all(data)?;
            w.write_all(b"\r\n")
        };
        let preamble = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"huge.txt\"\r\nContent-Type: text/plain\r\n\r\n"
        );
        let block = vec![b'x'; 64 * 1024];
        let mut sent = 0_usize;
        let result = (|| {
            chunk(&mut writer, preamble.as_bytes())?;
            while sent < size {
                let n = block.len().min(size - sent);
                chunk(&mut writer, &block[..n])?;
                sent += n;
            }
            chunk(&mut writer, format!("\r\n--{BOUNDARY}--\r\n").as_bytes())?;
            writer.write_all(b"0\r\n\r\n")
        })();
        (sent, result.is_ok())
    });
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let (sent, completed) = sender.join().unwrap();
    assert!(
        !completed || sent == size,
        "the sender either finished or was cut off"
    );
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.lines().next().unwrap_or_default().to_owned();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn blob_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// A server with the bootstrap admin's password and a fresh Fernet key, plus `extra`.
fn documents_server(dir: &Path, extra: &[(&str, &str)]) -> Server {
    let key = erp_security::keys::generate_fernet_key();
    let mut env = vec![
        ("ERP_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("FERNET_KEYS", secrecy::ExposeSecret::expose_secret(&key)),
    ];
    env.extend_from_slice(extra);
    start(dir, &env)
}

#[test]
fn documents_round_trip_and_a_100_mb_upload_is_refused_without_memory_growth() {
    let dir = tempfile::tempdir().unwrap();
    let server = documents_server(
        dir.path(),
        &[
            ("ERP__DOCUMENTS__MAX_UPLOAD_BYTES", "20971520"),
            ("ERP__SERVER__WORKERS", "2"),
        ],
    );
    let base = server.base.clone();
    let token = admin_token(&base);
    let intervention = intervention(&base, &token);
    let pdf = b"%PDF-1.4\nsmoke test document\n%%EOF\n";
    let doc = upload(&base, &token, intervention, "rapport.pdf", pdf);
    let (status, length, bytes) = download(&base, &token, doc["id"].as_i64().unwrap());
    assert_eq!(status, 200);
    assert_eq!(bytes, pdf);
    assert_eq!(
        length,
        Some(pdf.len().to_string()),
        "Content-Length over the wire"
    );
    let docs_dir = dir.path().join("data/documents");
    assert_eq!(blob_names(&docs_dir).len(), 1);

    // Warm up the upload path once (allocator arenas, thread pools) with a file near the limit.
    let warm = vec![b'w'; 19 * 1024 * 1024];
    upload(&base, &token, intervention, "warm.txt", &warm);
    drop(warm);
    let pid = server.child.id();
    let (rss_before, peak_before) = memory_kib(pid);
    let addr = base.trim_start_matches("http://").to_owned();
    let started = Instant::now();
    let (status, body) = chunked_upload(&addr, &token, intervention, 100 * 1024 * 1024);
    let elapsed = started.elapsed();
    let (rss_after, peak_after) = memory_kib(pid);
    assert!(status.contains(" 413 "), "{status} {body}");
    assert!(
        body.contains("Fichier trop volumineux (maximum 20971520 octets)"),
        "{body}"
    );
    eprintln!(
        "documents memory: 100 MB chunked upload against a 20 MB limit refused in {:.2} s; \
         VmRSS {rss_before} → {rss_after} KiB ({:+} KiB), VmHWM {peak_before} → {peak_after} KiB ({:+} KiB)",
        elapsed.as_secs_f64(),
        rss_after.cast_signed() - rss_before.cast_signed(),
        peak_after.cast_signed() - peak_before.cast_signed(),
    );
    assert!(
        peak_after.saturating_sub(peak_before) < 8 * 1024,
        "peak RSS grew by {} KiB",
        peak_after - peak_before
    );
    // The refused upload left nothing behind.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        blob_names(&docs_dir).len(),
        2,
        "{:?}",
        blob_names(&docs_dir)
    );
}

#[test]
fn downloads_that_clients_do_not_read_hold_no_thread_of_the_blocking_pool() {
    let dir = tempfile::tempdir().unwrap();
    let server = documents_server(
        dir.path(),
        &[
            ("ERP__SERVER__WORKERS", "1"),
            ("ERP__SERVER__BLOCKING_THREADS", "1"),
            ("ERP__SECURITY__PASSWORD_HASH_CONCURRENCY", "1"),
        ],
    );
    let base = server.base.clone();
    let token = admin_token(&base);
    let intervention = intervention(&base, &token);
    let big = vec![b'x'; 9 * 1024 * 1024];
    let id = upload(&base, &token, intervention, "gros.txt", &big)["id"]
        .as_i64()
        .unwrap();
    drop(big);
    // Three downloads whose clients read nothing: far more than the socket buffers hold.
    let addr = base.trim_start_matches("http://").to_owned();
    let stalled: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut s = TcpStream::connect(&addr).unwrap();
            write!(
                s,
                "GET /api/v1/documents/{id}/download HTTP/1.1\r\nHost: {addr}\r\n\
                 Authorization: Bearer {token}\r\n\r\n"
            )
            .unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    // The only blocking thread is free for everyone else.
    let started = Instant::now();
    let me = agent()
        .get(&format!("{base}/api/v1/users/me"))
        .set("Authorization", &format!("Bearer {token}"))
        .timeout(Duration::from_secs(10))
        .call();
    assert_eq!(me.map(|r| r.status()).ok(), Some(200));
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(stalled);
}

#[test]
fn keys_rotate_fernet_reencrypts_every_document_while_the_server_serves() {
    let dir = tempfile::tempdir().unwrap();
    let old = erp_security::keys::generate_fernet_key();
    let new = erp_security::keys::generate_fernet_key();
    let (old, new) = (
        secrecy::ExposeSecret::expose_secret(&old).to_owned(),
        secrecy::ExposeSecret::expose_secret(&new).to_owned(),
    );
    let env = |keys: &str| {
        vec![
            ("ERP_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD.to_owned()),
            ("FERNET_KEYS", keys.to_owned()),
        ]
    };
    let run = |keys: &str, args: &[&str]| {
        let vars = env(keys);
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        command(dir.path(), &vars).args(args).output().unwrap()
    };
    let serve = |keys: &str| {
        let vars = env(keys);
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        start(dir.path(), &vars)
    };
    let files: [(&str, &[u8]); 2] = [("a.txt", b"premier"), ("b.pdf", b"%PDF-1.4 second")];
    let mut ids = Vec::new();
    {
        let mut server = serve(&old);
        let token = admin_token(&server.base);
        let intervention = intervention(&server.base, &token);
        for (name, data) in files {
            ids.push(
                upload(&server.base, &token, intervention, name, data)["id"]
                    .as_i64()
                    .unwrap(),
            );
        }
        assert!(terminate(&mut server).success());
    }
    // The new key goes first; the server keeps serving while the rotation runs.
    let server = serve(&format!("{new},{old}"));
    let token = admin_token(&server.base);
    let out = run(&format!("{new},{old}"), &["keys", "rotate-fernet"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("rotate-fernet: 2 document(s) under an older key, 2 re-encrypted, 0 skipped (changed meanwhile), 0 failed"),
        "{stdout}"
    );
    for (id, (_, data)) in ids.iter().zip(files) {
        let (status, _, bytes) = download(&server.base, &token, *id);
        assert_eq!((status, bytes.as_slice()), (200, data));
    }
    let new_id = erp_security::keys::FernetKeyRing::parse(&new)
        .unwrap()
        .key_ids()[0]
        .clone();
    let url = format!("sqlite://{}", dir.path().join("data/erp.db").display());
    let db = erp_persistence::Database::connect(&url, Default::default()).unwrap();
    let rows = erp_application::tx::transaction(
        &db,
        erp_domain::ports::TransactionMode::ReadOnly,
        |uow| uow.list_documents(&Default::default(), erp_domain::list::Page::default()),
    )
    .unwrap();
    assert!(rows.items.iter().all(|d| d.cle_id == new_id));
    let blobs = blob_names(&dir.path().join("data/documents"));
    assert_eq!(blobs.len(), 2, "old blobs removed: {blobs:?}");
    for d in &rows.items {
        assert!(blobs.contains(&d.nom_stockage));
    }
    // A re-run is a no-op; the old key is no longer needed.
    let again = run(&format!("{new},{old}"), &["keys", "rotate-fernet"]);
    assert!(
        String::from_utf8_lossy(&again.stdout)
            .contains("rotate-fernet: 0 document(s) under an older key, 0 re-encrypted")
    );
    drop(server);
    let server = serve(&new);
    let token = admin_token(&server.base);
    for (id, (_, data)) in ids.iter().zip(files) {
        let (status, _, bytes) = download(&server.base, &token, *id);
        assert_eq!((status, bytes.as_slice()), (200, data));
    }
}

#[test]
fn without_migrate_on_start_the_server_waits_for_a_migration_job() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("ERP__DATABASE__MIGRATE_ON_START", "false"),
        ("ERP_BOOTSTRAP_ADMIN_PASSWORD", "Bootstrap#Admin2026"),
    ];
    let server = start(dir.path(), &env);
    let (status, body) = get(&format!("{}/ready", server.base));
    assert_eq!(status, 503, "{body}");
    let migrations = &body["error"]["details"]["checks"]["migrations"];
    assert_eq!(migrations["status"], "unhealthy", "{body}");
    let message = migrations["message"].as_str().unwrap();
    let pending: usize = message
        .strip_prefix("Migrations en attente : ")
        .unwrap_or_else(|| panic!("{message}"))
        .parse()
        .unwrap();
    assert!(pending > 0);
    // The migration job (`erp migrate`), run beside the serving replica.
    succeed(command(dir.path(), &env).arg("migrate"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !server
        .logs
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.contains("migrations applied by another process: initialised"))
    {
        assert!(
            Instant::now() < deadline,
            "the server never initialised after the migrations"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(get(&format!("{}/ready", server.base)).0, 200);
    login(&server.base, "admin", "Bootstrap#Admin2026");
}

#[test]
fn documents_live_in_s3_with_credentials_from_files_and_rotate_there() {
    use erp_domain::ports::BlobStore as _;
    let Some(s3) = erp_storage::testing::TestS3::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (id_file, secret_file) = (dir.path().join("s3-id"), dir.path().join("s3-secret"));
    std::fs::write(&id_file, "testing\n").unwrap();
    std::fs::write(&secret_file, "testing\n").unwrap();
    let old =
        secrecy::ExposeSecret::expose_secret(&erp_security::keys::generate_fernet_key()).to_owned();
    let new =
        secrecy::ExposeSecret::expose_secret(&erp_security::keys::generate_fernet_key()).to_owned();
    let endpoint = s3.endpoint();
    let env = |keys: &str| {
        vec![
            ("ERP_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD.to_owned()),
            ("FERNET_KEYS", keys.to_owned()),
            ("ERP__DOCUMENTS__BACKEND", "s3".to_owned()),
            ("ERP__DOCUMENTS__S3__ENDPOINT", endpoint.clone()),
            (
                "ERP__DOCUMENTS__S3__BUCKET",
                erp_storage::testing::TEST_BUCKET.to_owned(),
            ),
            ("ERP__DOCUMENTS__S3__PREFIX", "erp/documents".to_owned()),
            ("AWS_ACCESS_KEY_ID_FILE", id_file.display().to_string()),
            (
                "AWS_SECRET_ACCESS_KEY_FILE",
                secret_file.display().to_string(),
            ),
        ]
    };
    let vars = env(&old);
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut server = start(dir.path(), &vars);
    let token = admin_token(&server.base);
    let intervention = intervention(&server.base, &token);
    let pdf = b"%PDF-1.4\ndocument in the bucket\n%%EOF\n";
    let kept = upload(&server.base, &token, intervention, "rapport.pdf", pdf)["id"]
        .as_i64()
        .unwrap();
    let gone = upload(
        &server.base,
        &token,
        intervention,
        "brouillon.txt",
        b"a supprimer",
    )["id"]
        .as_i64()
        .unwrap();
    let (status, length, bytes) = download(&server.base, &token, kept);
    assert_eq!((status, bytes.as_slice()), (200, &pdf[..]));
    assert_eq!(length, Some(pdf.len().to_string()));
    let (status, _) = send(
        "DELETE",
        &format!("{}/api/v1/documents/{gone}", server.base),
        Some(&token),
        None,
    );
    assert_eq!(status, 200);
    let bucket = erp_storage::S3BlobStore::new(&s3.settings(Some("erp/documents"))).unwrap();
    let blobs = bucket.older_than(Duration::ZERO).unwrap();
    assert_eq!(blobs.len(), 1, "{blobs:?}");
    assert!(
        !dir.path().join("data/documents").exists(),
        "nothing on the node's disk"
    );
    assert!(terminate(&mut server).success());

    // rotate-fernet on the bucket while a server with the new ring serves.
    let ring = format!("{new},{old}");
    let vars = env(&ring);
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = start(dir.path(), &vars);
    let out = succeed(command(dir.path(), &vars).args(["keys", "rotate-fernet"]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("1 re-encrypted, 0 skipped (changed meanwhile), 0 failed"),
        "{stdout}"
    );
    let rotated = bucket.older_than(Duration::ZERO).unwrap();
    assert_eq!(rotated.len(), 1, "{rotated:?}");
    assert_ne!(rotated, blobs, "a new blob replaced the old one");
    let (status, _, bytes) = download(&server.base, &admin_token(&server.base), kept);
    assert_eq!((status, bytes.as_slice()), (200, &pdf[..]));
    drop(server);

    // A bucket that cannot be reached stops the start-up with one line naming it.
    let out = command(dir.path(), &vars)
        .env("ERP__DOCUMENTS__S3__BUCKET", "no-such-bucket")
        .args(["serve"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("s3://no-such-bucket/erp/documents"),
        "{stderr}"
    );
}
