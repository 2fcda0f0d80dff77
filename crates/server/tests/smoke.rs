//! Smoke suite: the real `erp` binary, started on port 0 in a temporary working directory,
//! spoken to over real HTTP. Covers first run, restart, refusals at start-up, graceful
//! shutdown, and PostgreSQL including an outage.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
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
use support::{Server, command, get, start, terminate};

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
    let out = command(dir.path(), &[])
        .args(["keys", "generate", "--out", "secrets"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    let first = command(dir.path(), &[]).arg("seed-demo").output().unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let out = String::from_utf8_lossy(&first.stdout);
    assert!(
        out.contains("created 11 users, 8 techniciens, 20 équipements, 200 interventions"),
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
    assert_eq!(stats["interventions"]["total"], 200);
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
