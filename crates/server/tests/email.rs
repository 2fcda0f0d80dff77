//! E-mail delivery end to end (D8): the real `erp` binary, a real SMTP conversation with a
//! receiver started by the test on 127.0.0.1, the outbox worker with its retries, and a
//! restart in the middle.

#![expect(
    clippy::panic,
    reason = "test helpers outside #[test] functions: failing loudly is the point"
)]

use std::net::TcpListener;
use std::time::{Duration, Instant};

use serde_json::json;
use support::smtp::{self, Received};
use support::{login, send, start, terminate};

pub mod support;

const PASSWORD: &str = "Bootstrap#Admin2026";

fn env(port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("ERP_BOOTSTRAP_ADMIN_PASSWORD", PASSWORD.to_owned()),
        ("ERP__SCHEDULER__ENABLED", "false".to_owned()),
        ("ERP__EMAIL__ENABLED", "true".to_owned()),
        ("ERP__EMAIL__SMTP_HOST", "127.0.0.1".to_owned()),
        ("ERP__EMAIL__SMTP_PORT", port.to_string()),
        ("ERP__EMAIL__TLS", "none".to_owned()),
        (
            "ERP__EMAIL__FROM",
            "ERP MIF Maroc <no-reply@mif.test>".to_owned(),
        ),
        ("ERP__EMAIL__POLL_INTERVAL_SECONDS", "1".to_owned()),
        ("ERP__EMAIL__RETRY_BASE_SECONDS", "1".to_owned()),
        ("ERP__EMAIL__TIMEOUT_SECONDS", "5".to_owned()),
    ]
}

fn boot(dir: &std::path::Path, port: u16) -> support::Server {
    let vars = env(port);
    let pairs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    start(dir, &pairs)
}

fn notify(base: &str, token: &str, titre: &str, contenu: &str) {
    let (_, me) = send("GET", &format!("{base}/api/v1/users/me"), Some(token), None);
    let started = Instant::now();
    let (status, body) = send(
        "POST",
        &format!("{base}/api/v1/notifications"),
        Some(token),
        Some(
            &json!({"type": "information", "canal": "email", "titre": titre, "contenu": contenu, "user_id": me["id"]}),
        ),
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["canal"], "email");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "SMTP never runs inside the request"
    );
}

fn expect_message(rx: &std::sync::mpsc::Receiver<Received>, within: Duration) -> Received {
    rx.recv_timeout(within)
        .unwrap_or_else(|_| panic!("no e-mail arrived within {within:?}"))
}

#[test]
fn notifications_are_mailed_over_smtp_with_the_rendered_template() {
    let dir = tempfile::tempdir().unwrap();
    let (port, rx) = smtp::start();
    let server = boot(dir.path(), port);
    let token = login(&server.base, "admin", PASSWORD);
    notify(
        &server.base,
        &token,
        "Coupure planifiee",
        "Arrêt général samedi à 8h.",
    );
    let m = expect_message(&rx, Duration::from_secs(20));
    assert_eq!(m.to, vec!["admin@erp-mif.local".to_owned()]);
    assert_eq!(m.from, "no-reply@mif.test");
    assert_eq!(
        m.header("Subject").as_deref(),
        Some("[ERP MIF Maroc] Coupure planifiee")
    );
    let body = m.decoded();
    assert!(body.contains("Bonjour Administrateur,"), "{body}");
    assert!(body.contains("Arrêt général samedi à 8h."), "{body}");
    assert!(body.contains("Vous avez reçu un message."), "{body}");
    assert!(body.contains("text/html"), "an HTML alternative is sent");
    // Delivered once: the outbox row is marked sent, nothing else arrives.
    assert!(rx.recv_timeout(Duration::from_secs(3)).is_err());
    let (_, health) = send("GET", &format!("{}/health", server.base), None, None);
    assert_eq!(health["checks"]["outbox"]["pending"], 0, "{health}");
    assert_eq!(health["checks"]["outbox"]["failed"], 0);
}

#[test]
fn a_dead_mail_server_fails_nothing_and_the_message_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    // A port with nobody listening: connections are refused.
    let port = {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let mut server = boot(dir.path(), port);
    let token = login(&server.base, "admin", PASSWORD);
    notify(
        &server.base,
        &token,
        "Relance",
        "Message en attente du serveur de messagerie.",
    );
    // Let at least one attempt fail, then check the outbox holds it.
    std::thread::sleep(Duration::from_millis(2500));
    let (_, health) = send("GET", &format!("{}/health", server.base), None, None);
    assert_eq!(health["checks"]["outbox"]["pending"], 1, "{health}");
    assert!(terminate(&mut server).success());

    // The mail server comes back on that port, and the server restarts: delivered once.
    let rx = smtp::serve(TcpListener::bind(("127.0.0.1", port)).unwrap());
    let server = boot(dir.path(), port);
    let m = expect_message(&rx, Duration::from_secs(30));
    assert_eq!(
        m.header("Subject").as_deref(),
        Some("[ERP MIF Maroc] Relance")
    );
    assert!(
        m.decoded()
            .contains("Message en attente du serveur de messagerie.")
    );
    assert!(
        rx.recv_timeout(Duration::from_secs(3)).is_err(),
        "sent once"
    );
    let (_, health) = send("GET", &format!("{}/health", server.base), None, None);
    assert_eq!(health["checks"]["outbox"]["pending"], 0, "{health}");
}
