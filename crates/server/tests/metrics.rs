//! `/metrics` on the real binary after a scripted scenario (D12, API.md §3.1): every
//! contractual family with the expected labels and counts, scraped over HTTP. One process per
//! test, so the counters start at zero.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions: failing loudly is the point"
)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{login, send, start};

pub mod support;

const PASSWORD: &str = "Bootstrap#Admin2026";
const PDF: &[u8] = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";

fn scrape(base: &str) -> String {
    let res = ureq::get(&format!("{base}/metrics")).call().unwrap();
    assert_eq!(
        res.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    res.into_string().unwrap()
}

/// The value of the sample `name{labels…}` whose labels include every given pair.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .find(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

fn expect(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    sample(text, name, labels).unwrap_or_else(|| panic!("{name} {labels:?} missing:\n{text}"))
}

fn upload(base: &str, token: &str, intervention: i64) -> (u16, Value) {
    let boundary = "erp-metrics-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"rapport.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(PDF);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    match ureq::post(&format!(
        "{base}/api/v1/interventions/{intervention}/documents"
    ))
    .set("Authorization", &format!("Bearer {token}"))
    .set(
        "Content-Type",
        &format!("multipart/form-data; boundary={boundary}"),
    )
    .send_bytes(&body)
    {
        Ok(r) => (r.status(), r.into_json().unwrap()),
        Err(ureq::Error::Status(c, r)) => (c, r.into_json().unwrap_or(Value::Null)),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn every_contractual_family_is_scraped_with_its_labels_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let (smtp_port, mails) = support::smtp::start();
    let port = smtp_port.to_string();
    let server = start(
        dir.path(),
        &[
            ("ERP_BOOTSTRAP_ADMIN_PASSWORD", PASSWORD),
            ("ERP__SCHEDULER__INTERVAL_SECONDS", "1"),
            ("ERP__RATE_LIMIT__REQUESTS_PER_MINUTE", "60"),
            ("ERP__EMAIL__ENABLED", "true"),
            ("ERP__EMAIL__SMTP_HOST", "127.0.0.1"),
            ("ERP__EMAIL__SMTP_PORT", &port),
            ("ERP__EMAIL__TLS", "none"),
            ("ERP__EMAIL__POLL_INTERVAL_SECONDS", "1"),
        ],
    );
    let base = server.base.as_str();
    let api = |p: &str| format!("{base}/api/v1{p}");

    // Scenario: logins (one failed), a technicien, an équipement, an intervention assigned,
    // started and closed, a document uploaded and downloaded.
    let admin = login(base, "admin", PASSWORD);
    let (status, _) = send(
        "POST",
        &api("/auth/token"),
        None,
        Some(&json!({"username": "admin", "password": "wrong-password-1"})),
    );
    assert_eq!(status, 401);
    let (status, tech) = send(
        "POST",
        &api("/users"),
        Some(&admin),
        Some(
            &json!({"username": "karim", "email": "karim@mif.ma", "password": "Technicien#2026x", "role": "technicien", "full_name": "Karim Tazi"}),
        ),
    );
    assert_eq!(status, 201, "{tech}");
    let (_, profile) = send(
        "POST",
        &api("/techniciens"),
        Some(&admin),
        Some(&json!({"user_id": tech["id"]})),
    );
    let (_, equipement) = send(
        "POST",
        &api("/equipements"),
        Some(&admin),
        Some(&json!({"nom": "Pompe", "type": "pompe", "localisation": "A"})),
    );
    let (status, i) = send(
        "POST",
        &api("/interventions"),
        Some(&admin),
        Some(
            &json!({"titre": "Fuite", "type": "corrective", "equipement_id": equipement["id"], "technicien_id": profile["id"]}),
        ),
    );
    assert_eq!(status, 201, "{i}");
    let id = i["id"].as_i64().unwrap();
    let karim = login(base, "karim", "Technicien#2026x");
    let (status, _) = send(
        "POST",
        &api(&format!("/interventions/{id}/demarrer")),
        Some(&karim),
        None,
    );
    assert_eq!(status, 200);
    let (status, _) = send(
        "POST",
        &api(&format!("/interventions/{id}/cloturer")),
        Some(&karim),
        Some(&json!({"rapport_intervention": "Joint remplacé"})),
    );
    assert_eq!(status, 200);
    // A path no endpoint serves, twice, once with a trailing slash.
    for path in ["/interventions/1/nowhere", "/interventions/1/nowhere/"] {
        assert_eq!(send("GET", &api(path), Some(&karim), None).0, 404);
    }
    // A trailing slash is stripped before routing: the endpoint is still named.
    assert_eq!(
        send(
            "GET",
            &api(&format!("/interventions/{id}/")),
            Some(&karim),
            None
        )
        .0,
        200
    );
    let (status, doc) = upload(base, &karim, id);
    assert_eq!(status, 201, "{doc}");
    let res = ureq::get(&api(&format!("/documents/{}/download", doc["id"])))
        .set("Authorization", &format!("Bearer {admin}"))
        .call()
        .unwrap();
    assert_eq!(res.status(), 200);
    // The assignment e-mail reaches the receiver through the outbox.
    mails.recv_timeout(Duration::from_secs(20)).unwrap();
    // Five more wrong passwords: the fifth failure from this IP locks it (one was the admin's),
    // and the next attempt is refused as locked.
    for _ in 0..5 {
        send(
            "POST",
            &api("/auth/token"),
            None,
            Some(&json!({"username": "karim", "password": "wrong-password-2"})),
        );
    }

    // Let the scheduler run and the worker record the e-mail, then scrape.
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        let text = scrape(base);
        let ready = sample(
            &text,
            "scheduler_runs_total",
            &[("job", "planning_generation"), ("result", "success")],
        )
        .is_some()
            && sample(&text, "notifications_email_total", &[("result", "sent")]).is_some();
        if ready || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(300));
    };

    let token = "/api/v1/auth/token";
    let requests = |method: &str, endpoint: &str, status: &str| {
        expect(
            &text,
            "http_requests_total",
            &[
                ("method", method),
                ("endpoint", endpoint),
                ("status_code", status),
            ],
        )
    };
    assert_eq!(requests("POST", token, "200"), 2.0);
    assert_eq!(requests("POST", token, "401"), 5.0);
    assert_eq!(
        requests("POST", "/api/v1/interventions/{id}/cloturer", "200"),
        1.0
    );
    assert_eq!(requests("GET", "/api/v1/interventions/{id}", "200"), 1.0);
    assert_eq!(requests("GET", "unmatched", "404"), 2.0);
    assert!(
        expect(
            &text,
            "http_request_duration_seconds_count",
            &[("method", "POST"), ("endpoint", token)]
        ) >= 7.0
    );
    expect(
        &text,
        "http_request_duration_seconds_bucket",
        &[("endpoint", token), ("le", "0.005")],
    );
    expect(
        &text,
        "http_requests_in_progress",
        &[("method", "GET"), ("endpoint", "/metrics")],
    );
    expect(&text, "db_pool_connections", &[("state", "idle")]);
    expect(&text, "db_pool_connections", &[("state", "in_use")]);
    assert!(
        expect(
            &text,
            "db_query_duration_seconds_count",
            &[("operation", "select")]
        ) > 10.0
    );
    expect(
        &text,
        "db_query_duration_seconds_count",
        &[("operation", "insert")],
    );
    assert_eq!(
        expect(
            &text,
            "auth_attempts_total",
            &[("method", "password"), ("result", "success")]
        ),
        2.0
    );
    assert_eq!(
        expect(
            &text,
            "auth_attempts_total",
            &[("method", "password"), ("result", "failure")]
        ),
        5.0
    );
    assert_eq!(
        expect(&text, "auth_lockouts_total", &[("scope", "ip")]),
        1.0
    );
    assert_eq!(
        expect(
            &text,
            "auth_attempts_total",
            &[("method", "password"), ("result", "locked")]
        ),
        1.0
    );
    assert_eq!(
        expect(&text, "auth_tokens_issued_total", &[("kind", "access")]),
        2.0
    );
    assert_eq!(
        expect(
            &text,
            "security_events_total",
            &[("event_type", "auth.login.failed")]
        ),
        5.0
    );
    assert_eq!(
        expect(
            &text,
            "interventions_created_total",
            &[("type", "corrective")]
        ),
        1.0
    );
    for (from, to) in [
        ("ouverte", "affectee"),
        ("affectee", "en_cours"),
        ("en_cours", "cloturee"),
    ] {
        assert_eq!(
            expect(
                &text,
                "interventions_transitions_total",
                &[("from_statut", from), ("to_statut", to)]
            ),
            1.0,
            "{from}→{to}"
        );
    }
    assert_eq!(
        expect(
            &text,
            "interventions_current",
            &[("statut", "cloturee"), ("type", "corrective")]
        ),
        1.0
    );
    assert_eq!(
        expect(
            &text,
            "interventions_current",
            &[("statut", "ouverte"), ("type", "preventive")]
        ),
        0.0
    );
    assert_eq!(
        expect(&text, "documents_uploaded_total", &[("extension", "pdf")]),
        1.0
    );
    assert_eq!(expect(&text, "documents_downloaded_total", &[]), 1.0);
    assert_eq!(
        expect(
            &text,
            "notifications_created_total",
            &[("type", "affectation"), ("canal", "email")]
        ),
        1.0
    );
    assert_eq!(
        expect(
            &text,
            "notifications_created_total",
            &[("type", "cloture"), ("canal", "email")]
        ),
        1.0
    );
    assert!(expect(&text, "notifications_email_total", &[("result", "sent")]) >= 1.0);
    assert!(
        expect(
            &text,
            "scheduler_runs_total",
            &[("job", "planning_generation"), ("result", "success")]
        ) >= 1.0
    );
    assert_eq!(
        expect(
            &text,
            "app_info",
            &[("service", "erp-mif-maroc"), ("environment", "development")]
        ),
        1.0
    );
    assert_eq!(expect(&text, "app_ready", &[]), 1.0);
    assert!(expect(&text, "process_resident_memory_bytes", &[]) > 1_000_000.0);
    assert!(expect(&text, "process_open_fds", &[]) > 0.0);
    expect(&text, "process_cpu_seconds_total", &[]);

    // Over the general limit: 429s are counted.
    let mut limited = false;
    for _ in 0..80 {
        if send("GET", &api("/users/me"), Some(&admin), None).0 == 429 {
            limited = true;
            break;
        }
    }
    assert!(limited);
    assert!(expect(&scrape(base), "rate_limit_rejections_total", &[]) >= 1.0);

    // The logs of the whole scenario: JSON lines that never carry a secret, a token or a
    // document's content.
    let logs = server.logs.lock().unwrap().clone();
    assert!(logs.len() > 20, "{logs:?}");
    for line in &logs {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        assert!(
            v["timestamp"].is_string() && v["level"].is_string(),
            "{line}"
        );
        for secret in [
            PASSWORD,
            "Technicien#2026x",
            "wrong-password-1",
            "wrong-password-2",
            admin.as_str(),
            karim.as_str(),
            "%PDF-1.7",
            "Joint remplacé",
        ] {
            assert!(
                !line.contains(secret),
                "a log line leaks {secret:?}: {line}"
            );
        }
    }
    let access: Vec<&String> = logs
        .iter()
        .filter(|l| l.contains("\"request completed\""))
        .collect();
    assert!(
        access.iter().any(|l| l.contains("\"status_code\":201")),
        "access lines carry the status"
    );
    for field in [
        "request_id",
        "method",
        "path",
        "duration_ms",
        "target",
        "message",
    ] {
        assert!(
            access.iter().all(|l| l.contains(&format!("\"{field}\":"))),
            "{field}"
        );
    }
    assert!(
        access.iter().any(|l| l.contains("\"user_id\":")),
        "authenticated requests name their user"
    );
}

#[test]
fn with_metrics_off_nothing_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[("ERP__METRICS__ENABLED", "false")]);
    let (status, body) = send("GET", &format!("{}/metrics", server.base), None, None);
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "RESOURCE_NOT_FOUND");
    assert_eq!(
        send("GET", &format!("{}/live", server.base), None, None).0,
        200
    );
}
