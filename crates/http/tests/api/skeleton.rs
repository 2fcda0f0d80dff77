//! The HTTP skeleton through the real app factory on a real SQLite database: probes, request
//! ids, the error envelope for routing errors, security and CORS headers.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions: failing loudly is the point"
)]

use crate::support;

use actix_web::http::{Method, StatusCode};
use actix_web::test::{self, TestRequest};
use erp_persistence::testing::{TestBackend, TestDatabase};
use serde_json::Value;

macro_rules! app {
    ($db:expr) => {
        test::init_service(erp_http::app(support::state($db))).await
    };
}

fn sqlite() -> TestDatabase {
    TestDatabase::new(TestBackend::Sqlite).unwrap()
}

fn header<'a>(res: &'a actix_web::dev::ServiceResponse, name: &str) -> Option<&'a str> {
    res.headers().get(name).map(|v| v.to_str().unwrap())
}

#[actix_web::test]
async fn unknown_routes_are_404_envelopes_whose_trace_id_is_the_request_id() {
    let guard = sqlite();
    let app = app!(guard.migrated());
    let res = test::call_service(&app, TestRequest::get().uri("/nope").to_request()).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let request_id = header(&res, "x-request-id").unwrap().to_owned();
    assert_eq!(
        header(&res, "content-type"),
        Some("application/json; charset=utf-8")
    );
    let body: Value = test::read_body_json(res).await;
    assert_eq!(body["error"]["code"], "RESOURCE_NOT_FOUND");
    assert_eq!(body["error"]["message"], "Ressource introuvable");
    assert_eq!(body["error"]["details"], Value::Null);
    assert_eq!(body["error"]["trace_id"], request_id.as_str());
    assert!(
        uuid::Uuid::parse_str(&request_id).is_ok(),
        "a UUID is generated: {request_id}"
    );
}

#[actix_web::test]
async fn a_valid_request_id_is_echoed_and_an_invalid_one_replaced() {
    let guard = sqlite();
    let app = app!(guard.migrated());
    let res = test::call_service(
        &app,
        TestRequest::get()
            .uri("/nope")
            .insert_header(("X-Request-ID", "abc"))
            .to_request(),
    )
    .await;
    assert_eq!(header(&res, "x-request-id"), Some("abc"));
    let body: Value = test::read_body_json(res).await;
    assert_eq!(body["error"]["trace_id"], "abc");

    let res = test::call_service(
        &app,
        TestRequest::get()
            .uri("/live")
            .insert_header(("X-Request-ID", "not valid!"))
            .to_request(),
    )
    .await;
    let id = header(&res, "x-request-id").unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok());
}

#[actix_web::test]
async fn a_known_path_with_another_method_is_405_with_allow() {
    let guard = sqlite();
    let app = app!(guard.migrated());
    let res = test::call_service(&app, TestRequest::post().uri("/api/v1/live").to_request()).await;
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&res, "allow"), Some("GET, OPTIONS"));
    let body: Value = test::read_body_json(res).await;
    assert_eq!(body["error"]["code"], "METHOD_NOT_ALLOWED");
    assert_eq!(body["error"]["message"], "Méthode non autorisée");
}

#[actix_web::test]
async fn probes_answer_at_the_root_and_under_api_v1_with_an_optional_trailing_slash() {
    let guard = sqlite();
    let app = app!(guard.migrated());
    for uri in ["/live", "/live/", "/api/v1/live", "/api/v1/live/"] {
        let res = test::call_service(&app, TestRequest::get().uri(uri).to_request()).await;
        assert_eq!(res.status(), StatusCode::OK, "{uri}");
        let body: Value = test::read_body_json(res).await;
        assert_eq!(body["status"], "alive");
        assert_eq!(body["service"], "erp-mif-maroc");
        assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
    }
    for uri in ["/ready", "/api/v1/ready/"] {
        let res = test::call_service(&app, TestRequest::get().uri(uri).to_request()).await;
        assert_eq!(res.status(), StatusCode::OK, "{uri}");
        let body: Value = test::read_body_json(res).await;
        assert_eq!(body["status"], "ready");
        assert_eq!(body["checks"]["database"]["status"], "healthy");
        assert_eq!(
            body["checks"]["database"]["message"],
            "Connexion à la base de données réussie"
        );
        assert_eq!(body["checks"]["migrations"]["message"], "Migrations à jour");
    }
    for uri in ["/health", "/health/detailed", "/api/v1/health"] {
        let res = test::call_service(&app, TestRequest::get().uri(uri).to_request()).await;
        assert_eq!(res.status(), StatusCode::OK, "{uri}");
        let body: Value = test::read_body_json(res).await;
        assert_eq!(body["status"], "ok");
        assert_eq!(body["version"], "0.1.0-test");
        assert_eq!(body["environment"], "test");
        assert!(body["uptime_seconds"].is_u64());
        assert_eq!(body["checks"]["database"]["backend"], "sqlite");
        assert!(body["checks"]["database"]["latency_ms"].is_f64());
        assert_eq!(body["checks"]["migrations"]["pending"], 0);
        assert!(body["checks"]["migrations"]["applied"].as_u64().unwrap() >= 1);
    }
    let res = test::call_service(&app, TestRequest::get().uri("/").to_request()).await;
    let body: Value = test::read_body_json(res).await;
    assert_eq!(body["message"], "Bienvenue sur l'API ERP MIF Maroc");
    assert_eq!(body["openapi"], "/openapi.json");
}

#[actix_web::test]
async fn a_database_with_pending_migrations_is_not_ready() {
    let guard = sqlite();
    let app = app!(guard.connect());
    let res = test::call_service(&app, TestRequest::get().uri("/ready").to_request()).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(header(&res, "retry-after"), Some("5"));
    let body: Value = test::read_body_json(res).await;
    assert_eq!(body["error"]["code"], "SERVICE_UNAVAILABLE");
    assert_eq!(body["error"]["message"], "Service non prêt");
    assert_eq!(body["error"]["details"]["status"], "not_ready");
    assert_eq!(
        body["error"]["details"]["checks"]["database"]["status"],
        "healthy"
    );
    assert_eq!(
        body["error"]["details"]["checks"]["migrations"]["status"],
        "unhealthy"
    );
    assert!(
        body["error"]["details"]["checks"]["migrations"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Migrations en attente : ")
    );

    let res = test::call_service(&app, TestRequest::get().uri("/health").to_request()).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = test::read_body_json(res).await;
    assert_eq!(body["error"]["message"], "Service en échec");
    assert_eq!(body["error"]["details"]["status"], "unhealthy");
}

#[actix_web::test]
async fn a_draining_server_is_not_ready_but_alive() {
    let guard = sqlite();
    let state = support::state(guard.migrated());
    state.start_draining();
    let app = test::init_service(erp_http::app(state)).await;
    let res = test::call_service(&app, TestRequest::get().uri("/ready").to_request()).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = test::read_body_json(res).await;
    assert_eq!(
        body["error"]["details"]["checks"]["server"]["status"],
        "draining"
    );
    let res = test::call_service(&app, TestRequest::get().uri("/live").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[actix_web::test]
async fn json_successes_declare_the_utf8_charset_like_errors() {
    let guard = sqlite();
    let app = app!(guard.migrated());
    for uri in ["/", "/live", "/api/v1/live", "/ready"] {
        let res = test::call_service(&app, TestRequest::get().uri(uri).to_request()).await;
        assert!(res.status().is_success(), "{uri}: {}", res.status());
        assert_eq!(
            header(&res, "content-type"),
            Some("application/json; charset=utf-8"),
            "{uri}"
        );
    }
    let res = test::call_service(&app, TestRequest::get().uri("/metrics").to_request()).await;
    assert_ne!(
        header(&res, "content-type"),
        Some("application/json; charset=utf-8"),
        "only JSON bodies are rewritten"
    );
}

#[actix_web::test]
async fn every_response_carries_the_security_headers() {
    let guard = sqlite();
    let app = app!(guard.migrated());
    for uri in ["/live", "/api/v1/live", "/nope"] {
        let res = test::call_service(&app, TestRequest::get().uri(uri).to_request()).await;
        assert_eq!(header(&res, "x-content-type-options"), Some("nosniff"));
        assert_eq!(header(&res, "x-frame-options"), Some("DENY"));
        assert_eq!(header(&res, "referrer-policy"), Some("no-referrer"));
        assert_eq!(
            header(&res, "content-security-policy"),
            Some("default-src 'none'; frame-ancestors 'none'")
        );
        assert_eq!(
            header(&res, "permissions-policy"),
            Some("geolocation=(), microphone=(), camera=()")
        );
        assert!(header(&res, "x-response-time").unwrap().ends_with("ms"));
        assert_eq!(
            header(&res, "strict-transport-security"),
            None,
            "HSTS is off unless configured"
        );
        let no_store = header(&res, "cache-control") == Some("no-store");
        assert_eq!(no_store, uri.starts_with("/api/v1"), "{uri}");
    }
}

#[actix_web::test]
async fn cors_headers_go_to_allowed_origins_only_even_on_errors() {
    let guard = sqlite();
    let app = app!(guard.migrated());
    let res = test::call_service(
        &app,
        TestRequest::get()
            .uri("/nope")
            .insert_header(("Origin", support::ALLOWED_ORIGIN))
            .to_request(),
    )
    .await;
    assert_eq!(
        header(&res, "access-control-allow-origin"),
        Some(support::ALLOWED_ORIGIN)
    );
    assert_eq!(
        header(&res, "access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(header(&res, "vary"), Some("Origin"));
    assert!(
        header(&res, "access-control-expose-headers")
            .unwrap()
            .contains("X-Request-ID")
    );

    let res = test::call_service(
        &app,
        TestRequest::get()
            .uri("/live")
            .insert_header(("Origin", "https://evil.example"))
            .to_request(),
    )
    .await;
    assert_eq!(header(&res, "access-control-allow-origin"), None);
}

#[actix_web::test]
async fn preflights_are_answered_on_known_paths_only() {
    let guard = sqlite();
    let app = app!(guard.migrated());
    let preflight = |uri: &str, origin: &str| {
        TestRequest::default()
            .method(Method::OPTIONS)
            .uri(uri)
            .insert_header(("Origin", origin.to_owned()))
            .insert_header(("Access-Control-Request-Method", "GET"))
            .insert_header(("X-Request-ID", "pre-1"))
            .to_request()
    };
    let res = test::call_service(&app, preflight("/api/v1/health", support::ALLOWED_ORIGIN)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        header(&res, "access-control-allow-origin"),
        Some(support::ALLOWED_ORIGIN)
    );
    assert_eq!(
        header(&res, "access-control-allow-methods"),
        Some("GET, POST, PUT, PATCH, DELETE, OPTIONS")
    );
    assert!(
        header(&res, "access-control-allow-headers")
            .unwrap()
            .contains("If-Match")
    );
    assert_eq!(header(&res, "access-control-max-age"), Some("600"));
    assert_eq!(header(&res, "x-request-id"), Some("pre-1"));

    let res = test::call_service(&app, preflight("/api/v1/health", "https://evil.example")).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(header(&res, "access-control-allow-origin"), None);
    let body: Value = test::read_body_json(res).await;
    assert_eq!(body["error"]["message"], "Origine non autorisée");

    let res = test::call_service(&app, preflight("/api/v1/nope", support::ALLOWED_ORIGIN)).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn a_failed_job_shows_its_error_category_and_time_never_its_message() {
    let guard = sqlite();
    let state = support::state(guard.migrated());
    let outcome = state.app().run_leased(
        erp_application::jobs::PLANNING_GENERATION,
        "replica-a",
        chrono::Duration::minutes(1),
        |_| -> Result<(), _> {
            Err(erp_application::AppError::Internal(
                "could not open /var/lib/erp/secret.db: permission denied".into(),
            ))
        },
    );
    assert!(outcome.is_err());
    let app = test::init_service(erp_http::app(state)).await;
    let res = test::call_service(&app, TestRequest::get().uri("/health").to_request()).await;
    let body: Value = test::read_body_json(res).await;
    let scheduler = &body["checks"]["scheduler"];
    assert_eq!(scheduler["last_error"], "internal", "{body}");
    assert!(
        scheduler["last_error_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{body}"
    );
    assert!(!body.to_string().contains("secret.db"), "{body}");
    assert!(
        body["checks"]["redis"].is_null(),
        "no Redis configured: {body}"
    );
}
