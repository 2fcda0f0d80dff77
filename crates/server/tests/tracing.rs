//! Traces end to end (D12): the real binary exports over OTLP/HTTP to a receiver started by
//! the test; a request carrying a W3C `traceparent` yields the HTTP span (child of the remote
//! parent) and database spans in the same trace, and error bodies name that trace.

use std::time::{Duration, Instant};

use support::{login, start, terminate};

pub mod support;

const PASSWORD: &str = "Bootstrap#Admin2026";
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

#[test]
fn a_traceparent_continues_into_the_http_span_and_its_database_spans() {
    let dir = tempfile::tempdir().unwrap();
    let (port, spans) = support::otlp::start();
    let endpoint = format!("http://127.0.0.1:{port}/v1/traces");
    let mut server = start(
        dir.path(),
        &[
            ("ERP_BOOTSTRAP_ADMIN_PASSWORD", PASSWORD),
            ("ERP__SCHEDULER__ENABLED", "false"),
            ("ERP__TRACING__ENABLED", "true"),
            ("ERP__TRACING__ENDPOINT", &endpoint),
            ("OTEL_BSP_SCHEDULE_DELAY", "200"),
        ],
    );
    let token = login(&server.base, "admin", PASSWORD);
    let traceparent = format!("00-{TRACE_ID}-{PARENT_ID}-01");
    let res = ureq::get(&format!("{}/api/v1/users/me", server.base))
        .set("Authorization", &format!("Bearer {token}"))
        .set("traceparent", &traceparent)
        .call()
        .unwrap();
    assert_eq!(res.status(), 200);
    // The dashboard computes in a task of its own (shared by concurrent requests): still
    // inside the trace of the request that started it.
    let res = ureq::get(&format!("{}/api/v1/dashboard/stats", server.base))
        .set("Authorization", &format!("Bearer {token}"))
        .set("traceparent", &traceparent)
        .call()
        .unwrap();
    assert_eq!(res.status(), 200);
    // An error inside the trace: its body's trace_id is the trace's.
    let err = match ureq::get(&format!("{}/api/v1/users/999999", server.base))
        .set("Authorization", &format!("Bearer {token}"))
        .set("traceparent", &format!("00-{TRACE_ID}-{PARENT_ID}-01"))
        .call()
    {
        Err(ureq::Error::Status(404, r)) => r.into_json::<serde_json::Value>().unwrap(),
        other => panic!("expected 404: {other:?}"),
    };
    assert_eq!(err["error"]["trace_id"], TRACE_ID);
    // SIGTERM flushes whatever the batch processor still holds.
    assert!(terminate(&mut server).success());

    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        match spans.recv_timeout(Duration::from_millis(500)) {
            Ok(s) => got.push(s),
            Err(_)
                if got
                    .iter()
                    .any(|s| s.name == "db.query" && s.trace_id == TRACE_ID) =>
            {
                break;
            }
            Err(_) => {}
        }
    }
    let ours: Vec<_> = got.iter().filter(|s| s.trace_id == TRACE_ID).collect();
    let http = ours
        .iter()
        .find(|s| s.parent_span_id == PARENT_ID)
        .unwrap_or_else(|| panic!("no HTTP span under the remote parent: {got:#?}"));
    assert!(http.name.contains("/api/v1/users/"), "{http:?}");
    let use_case = ours
        .iter()
        .find(|s| s.name.starts_with("use_case GET /api/v1/users/"))
        .unwrap_or_else(|| panic!("no use-case span: {got:#?}"));
    assert_eq!(use_case.parent_span_id.len(), 16);
    assert!(
        ours.iter()
            .any(|s| s.name == "use_case GET /api/v1/dashboard/stats"),
        "the dashboard's computation is in the request's trace: {got:#?}"
    );
    let db: Vec<_> = ours.iter().filter(|s| s.name == "db.query").collect();
    assert!(
        db.iter().any(|s| s.parent_span_id == use_case.span_id),
        "the use case's statements are its children: {db:#?}"
    );
    assert!(!db.is_empty(), "{got:#?}");
    assert!(
        db.iter().any(|s| s
            .attributes
            .iter()
            .any(|(k, v)| k == "db.operation" && v == "select")),
        "{db:#?}"
    );
    // Every span of the trace descends from the HTTP span, the database ones included.
    let ids: Vec<&str> = ours.iter().map(|s| s.span_id.as_str()).collect();
    for s in &ours {
        assert!(
            s.parent_span_id == PARENT_ID || ids.contains(&s.parent_span_id.as_str()),
            "orphan span {s:?}"
        );
    }
    // No bind values travel with the spans.
    for s in &got {
        for (_, v) in &s.attributes {
            assert!(!v.contains(PASSWORD) && !v.contains(&token), "{s:?}");
        }
    }
}

/// Spans of `TRACE_ID` exported by a server with `sampling_ratio = 0` after one request that
/// carries a sampled `traceparent`.
#[expect(
    clippy::unwrap_used,
    reason = "a test helper: failing loudly is the point"
)]
fn spans_of_a_sampled_request_at_ratio_zero(parent_based: &str) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let (port, spans) = support::otlp::start();
    let endpoint = format!("http://127.0.0.1:{port}/v1/traces");
    let mut server = start(
        dir.path(),
        &[
            ("ERP__SCHEDULER__ENABLED", "false"),
            ("ERP__TRACING__ENABLED", "true"),
            ("ERP__TRACING__ENDPOINT", &endpoint),
            ("ERP__TRACING__SAMPLING_RATIO", "0"),
            ("ERP__TRACING__PARENT_BASED", parent_based),
            ("OTEL_BSP_SCHEDULE_DELAY", "200"),
        ],
    );
    let res = ureq::get(&format!("{}/api/v1/ready", server.base))
        .set("traceparent", &format!("00-{TRACE_ID}-{PARENT_ID}-01"))
        .call()
        .unwrap();
    assert_eq!(res.status(), 200);
    // SIGTERM flushes whatever the batch processor holds: what is not received by then was
    // never sampled.
    assert!(terminate(&mut server).success());
    let mut ours = 0;
    while let Ok(s) = spans.recv_timeout(Duration::from_secs(2)) {
        if s.trace_id == TRACE_ID {
            ours += 1;
        }
    }
    ours
}

#[test]
fn a_client_sampled_flag_forces_sampling_only_with_parent_based() {
    assert_eq!(
        spans_of_a_sampled_request_at_ratio_zero("false"),
        0,
        "at ratio 0 the client's sampled flag is not followed"
    );
    assert!(
        spans_of_a_sampled_request_at_ratio_zero("true") > 0,
        "with tracing.parent_based the client's flag is followed"
    );
}
