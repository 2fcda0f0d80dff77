//! What operators deploy with, on the real binary: the admin listener (`server.admin_port`),
//! secrets read from `*_FILE` variables, and `seed-demo` refusing production.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions: failing loudly is the point"
)]

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{command, get, login, send, start, succeed};

pub mod support;

const PASSWORD: &str = "Bootstrap#Admin2026";

/// (status, body as text, content type) of a GET.
fn get_text(url: &str) -> (u16, String, String) {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(10))
        .build();
    let res = match agent.get(url).call() {
        Ok(res) | Err(ureq::Error::Status(_, res)) => res,
        Err(e) => panic!("{url}: {e}"),
    };
    let status = res.status();
    let content_type = res.header("content-type").unwrap_or_default().to_owned();
    (status, res.into_string().unwrap(), content_type)
}

/// The address the admin listener logged.
fn admin_base(server: &support::Server) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found = server.logs.lock().unwrap().iter().find_map(|line| {
            let v: Value = serde_json::from_str(line).ok()?;
            v["message"]
                .as_str()?
                .starts_with("admin listener")
                .then(|| v["address"].as_str().map(ToOwned::to_owned))?
        });
        if let Some(address) = found {
            return format!("http://{address}");
        }
        assert!(Instant::now() < deadline, "no admin listener logged");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_admin_port_serves_metrics_and_health_and_the_api_port_no_longer_does() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(
        dir.path(),
        &[
            ("ERP_BOOTSTRAP_ADMIN_PASSWORD", PASSWORD),
            ("ERP__SERVER__ADMIN_PORT", "0"),
        ],
    );
    let admin = admin_base(&server);
    assert_ne!(admin, server.base);
    // Some API traffic for the metrics to show.
    let token = login(&server.base, "admin", PASSWORD);
    assert_eq!(
        send(
            "GET",
            &format!("{}/api/v1/users/me", server.base),
            Some(&token),
            None
        )
        .0,
        200
    );

    let (status, body, content_type) = get_text(&format!("{admin}/metrics"));
    assert_eq!(status, 200, "{body}");
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    assert!(
        body.contains("http_requests_total{") && body.contains("/api/v1/users/me"),
        "the admin port shows the API port's traffic: {body}"
    );
    for path in ["/health", "/health/detailed"] {
        let (status, body) = get(&format!("{admin}{path}"));
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body["checks"]["database"]["status"], "healthy", "{body}");
    }
    for path in ["/live", "/ready"] {
        assert_eq!(
            get(&format!("{admin}{path}")).0,
            200,
            "{path} on the admin port"
        );
    }
    // The admin port serves nothing of the API.
    let (status, body) = send(
        "GET",
        &format!("{admin}/api/v1/users/me"),
        Some(&token),
        None,
    );
    assert_eq!(status, 404, "{body}");
    assert_eq!(get(&format!("{admin}/api/v1/metrics")).0, 404);

    // The API port: 404 envelopes for the operational endpoints, probes still answered.
    for path in [
        "/metrics",
        "/health",
        "/health/detailed",
        "/api/v1/metrics",
        "/api/v1/health",
        "/api/v1/health/detailed",
    ] {
        let (status, body) = get(&format!("{}{path}", server.base));
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(
            body["error"]["code"], "RESOURCE_NOT_FOUND",
            "{path}: {body}"
        );
    }
    for path in ["/live", "/ready", "/api/v1/live", "/api/v1/ready"] {
        assert_eq!(get(&format!("{}{path}", server.base)).0, 200, "{path}");
    }
}

#[test]
fn without_an_admin_port_everything_stays_on_the_api_port() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[]);
    assert!(
        !server
            .logs
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("admin listener")),
        "no second listener by default"
    );
    assert_eq!(get_text(&format!("{}/metrics", server.base)).0, 200);
    assert_eq!(get(&format!("{}/api/v1/health", server.base)).0, 200);
}

fn write(path: &Path, content: &str) -> String {
    std::fs::write(path, content).unwrap();
    path.display().to_string()
}

#[test]
fn secrets_come_from_the_files_their_file_variables_name() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("from-file.db");
    let url_file = write(
        &dir.path().join("database-url"),
        &format!("sqlite://{}\n", db.display()),
    );
    let password_file = write(&dir.path().join("admin-password"), &format!("{PASSWORD}\n"));
    let server = start(
        dir.path(),
        &[
            ("ERP__DATABASE__URL_FILE", &url_file),
            ("ERP_BOOTSTRAP_ADMIN_PASSWORD_FILE", &password_file),
        ],
    );
    assert!(db.is_file(), "the database of the URL read from the file");
    assert!(
        !dir.path().join("data/erp.db").exists(),
        "not the default database"
    );
    // The password is the file's content without its line end.
    login(&server.base, "admin", PASSWORD);
}

#[test]
fn a_secret_and_its_file_together_or_an_unreadable_file_stop_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let url_file = write(&dir.path().join("database-url"), "sqlite://./x.db\n");
    let missing = dir.path().join("missing").display().to_string();
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[
                ("ERP__DATABASE__URL", "sqlite://./y.db"),
                ("ERP__DATABASE__URL_FILE", &url_file),
            ],
            "invalid configuration: database.url: set ERP__DATABASE__URL or ERP__DATABASE__URL_FILE, not both",
        ),
        (
            &[("ERP__RATE_LIMIT__REDIS_URL_FILE", &missing)],
            "invalid configuration: rate_limit.redis_url: ERP__RATE_LIMIT__REDIS_URL_FILE (",
        ),
        (
            &[("FERNET_KEYS", "k"), ("FERNET_KEYS_FILE", &url_file)],
            "invalid configuration: FERNET_KEYS: set FERNET_KEYS or FERNET_KEYS_FILE, not both",
        ),
        (
            &[("ERP__EMAIL__PASSWORD_FILE", &missing)],
            "invalid configuration: email.password: ERP__EMAIL__PASSWORD_FILE (",
        ),
    ];
    for (env, message) in cases {
        for subcommand in ["check-config", "serve"] {
            let out = command(dir.path(), env).arg(subcommand).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{subcommand} {env:?}");
            assert!(stderr.contains(message), "{subcommand} {env:?}: {stderr}");
            assert!(
                !stderr.contains("sqlite://./x.db"),
                "no secret in the message"
            );
        }
    }
    assert!(!dir.path().join("data").exists(), "nothing started");
}

/// Production settings with real keys (`erp keys generate`), under `dir`.
fn production(dir: &Path) -> Vec<(&'static str, String)> {
    succeed(command(dir, &[]).args(["keys", "generate", "--out", "keys"]));
    let fernet = std::fs::read_to_string(dir.join("keys/fernet.key")).unwrap();
    vec![
        ("ERP__ENVIRONMENT", "production".to_owned()),
        ("ERP__DATA_DIR", dir.join("data").display().to_string()),
        (
            "ERP__SECURITY__JWT_PRIVATE_KEY_FILE",
            dir.join("keys/jwt-signing-key.pem").display().to_string(),
        ),
        ("FERNET_KEYS", fernet.trim().to_owned()),
        ("ERP_BOOTSTRAP_ADMIN_PASSWORD", PASSWORD.to_owned()),
    ]
}

#[test]
fn seed_demo_refuses_production_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let env = production(dir.path());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = command(dir.path(), &env)
        .args(["seed-demo", "--interventions", "5"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("erp: error: seed-demo refuses the production environment")
            && stderr.contains("--allow-production"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("data").exists(),
        "nothing written: not even the database file"
    );

    let out = succeed(command(dir.path(), &env).args([
        "seed-demo",
        "--interventions",
        "5",
        "--allow-production",
    ]));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("5 interventions"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(dir.path().join("data/erp.db").is_file());
}
