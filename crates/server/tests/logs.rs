//! The JSON log lines of the real binary (D12): a line written inside a request names that
//! request (its `span` is the request's, with the id the client sent), whatever the log level,
//! and the spans only OpenTelemetry needs never reach the lines.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions: failing loudly is the point"
)]

use std::time::{Duration, Instant};

use serde_json::Value;
use support::{login, start};

const PASSWORD: &str = "Bootstrap#Admin2026";

pub mod support;

/// Wrong logins, each with its own `X-Request-ID`, until the lockout answers 429.
fn lock_out(base: &str) -> Vec<String> {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(10))
        .build();
    let mut ids = Vec::new();
    for i in 0..40 {
        let id = format!("logs-test-{i}");
        ids.push(id.clone());
        let status = match agent
            .post(&format!("{base}/api/v1/auth/token"))
            .set("X-Request-ID", &id)
            .send_json(serde_json::json!({"username": "nobody", "password": "wrong-password"}))
        {
            Ok(res) => res.status(),
            Err(ureq::Error::Status(code, _)) => code,
            Err(e) => panic!("{e}"),
        };
        if status == 429 {
            return ids;
        }
        assert_eq!(status, 401);
    }
    panic!("no lockout after 40 wrong logins");
}

/// The parsed log lines whose message is `message`, waiting up to 10 s for the first when
/// `wait`.
fn lines(server: &support::Server, message: &str, wait: bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found: Vec<Value> = server
            .logs
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["message"] == message)
            .collect();
        if !wait || !found.is_empty() || Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_warning_inside_a_request_names_the_request_at_every_log_level() {
    // `erp_server=info` keeps the "server listening" line the harness waits for.
    for level in ["info", "warn,erp_server=info"] {
        let dir = tempfile::tempdir().unwrap();
        let server = start(
            dir.path(),
            &[
                ("ERP__LOG__LEVEL", level),
                ("ERP_BOOTSTRAP_ADMIN_PASSWORD", PASSWORD),
            ],
        );
        // A read refused by its use case (404) still names its caller in the access line.
        let admin = login(&server.base, "admin", PASSWORD);
        let status = match ureq::get(&format!("{}/api/v1/interventions/999999", server.base))
            .set("Authorization", &format!("Bearer {admin}"))
            .set("X-Request-ID", "logs-test-read")
            .call()
        {
            Ok(res) => res.status(),
            Err(ureq::Error::Status(code, _)) => code,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(status, 404);
        // Before the lockout below, which also locks this address.
        let ids = lock_out(&server.base);

        // The last request's warning: every line of the earlier ones was read before it.
        assert!(!lines(&server, "login refused: key locked", true).is_empty());
        let warnings = lines(&server, "login key locked", false);
        assert!(!warnings.is_empty(), "{level}: no lockout warning");
        for w in &warnings {
            assert_eq!(w["level"], "WARN");
            let span = &w["span"];
            assert_eq!(span["name"], "request", "{level}: {w}");
            assert_eq!(span["method"], "POST", "{level}: {w}");
            assert_eq!(span["path"], "/api/v1/auth/token", "{level}: {w}");
            let id = span["request_id"].as_str().unwrap_or_default();
            assert!(ids.iter().any(|i| i == id), "{level}: {w}");
        }

        let access = lines(&server, "request completed", level == "info");
        if level == "info" {
            // The access line of the request that logged the warning carries the same id.
            let id = &warnings[0]["span"]["request_id"];
            assert!(
                access.iter().any(|a| &a["request_id"] == id),
                "no access line for {id}"
            );
            let read = access
                .iter()
                .find(|a| a["request_id"] == "logs-test-read")
                .unwrap_or_else(|| panic!("no access line for the read: {access:?}"));
            assert_eq!(read["status_code"], 404);
            assert!(read["user_id"].as_i64().is_some_and(|id| id > 0), "{read}");
        } else {
            assert!(access.is_empty(), "access lines are info: {access:?}");
        }

        // No line shows a span other than the request's (the HTTP root span, the use-case
        // and statement spans are for OpenTelemetry only).
        for line in server.logs.lock().unwrap().iter() {
            let v: Value = serde_json::from_str(line).unwrap();
            if !v["span"].is_null() {
                assert_eq!(v["span"]["name"], "request", "{line}");
            }
            assert!(!line.contains("otel.name"), "{line}");
        }
    }
}
