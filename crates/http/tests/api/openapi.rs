//! The OpenAPI document against the app: the same operations both ways, served at
//! `/openapi.json` (root and `/api/v1`), and the `/docs` viewer with its own CSP, switched off
//! by configuration.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions: failing loudly is the point"
)]

use crate::support;

use std::collections::BTreeSet;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use erp_persistence::testing::{TestBackend, TestDatabase};
use serde_json::Value;

const STRICT_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

fn sqlite() -> TestDatabase {
    TestDatabase::new(TestBackend::Sqlite).unwrap()
}

fn state(db: erp_persistence::Database, docs_enabled: bool) -> erp_http::AppState {
    let db = Arc::new(db);
    let mut settings = support::settings(10_000);
    settings.docs_enabled = docs_enabled;
    let app = support::application(Arc::clone(&db), Arc::new(erp_domain::SystemClock));
    erp_http::AppState::new(support::service(), settings, db, app)
}

/// `(method, path)` of every operation of the document.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|k| ["get", "post", "put", "patch", "delete"].contains(&k.as_str()))
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect()
}

fn served() -> BTreeSet<(String, String)> {
    erp_http::routes::route_table()
        .operations()
        .into_iter()
        .map(|o| (o.method.to_string(), o.path))
        .collect()
}

#[test]
fn the_document_describes_exactly_the_routes_the_app_serves() {
    let doc: Value = serde_json::from_str(erp_http::openapi::document_json()).unwrap();
    let documented = documented(&doc);
    let served = served();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let not_served: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "served but not in the document: {undocumented:?}"
    );
    assert!(
        not_served.is_empty(),
        "in the document but not served: {not_served:?}"
    );
    // API.md §1.1: the probes, /metrics and /openapi.json at the root and under /api/v1.
    for path in [
        "/live",
        "/ready",
        "/health",
        "/health/detailed",
        "/metrics",
        "/openapi.json",
    ] {
        for prefix in ["", "/api/v1"] {
            assert!(
                served.contains(&("GET".into(), format!("{prefix}{path}"))),
                "GET {prefix}{path}"
            );
        }
    }
    // 72 logical endpoints (API.md §2) plus the viewer's files, counted per method here.
    assert_eq!(served.len(), 92, "{served:#?}");
}

#[test]
fn every_operation_has_a_unique_id_and_every_secured_one_a_401() {
    let doc: Value = serde_json::from_str(erp_http::openapi::document_json()).unwrap();
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap().to_owned();
            assert!(ids.insert(id.clone()), "duplicate operationId {id}");
            if op.get("security").is_some() {
                assert!(
                    op["responses"].get("401").is_some(),
                    "{method} {path} lacks its 401"
                );
            }
        }
    }
    assert!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer",
        "{}",
        doc["components"]["securitySchemes"]
    );
}

#[test]
fn sort_keys_and_download_types_come_from_the_domain() {
    let doc: Value = serde_json::from_str(erp_http::openapi::document_json()).unwrap();
    let users = &doc["paths"]["/api/v1/users"]["get"]["parameters"];
    let sort = users
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "sort")
        .unwrap();
    let key = "-?(id|username|created_at|last_login)";
    assert_eq!(
        sort["schema"]["pattern"],
        format!("^{key}(,{key})*$"),
        "{sort}"
    );
    // A download answers with the document's canonical type: every allowed one is listed.
    let content =
        &doc["paths"]["/api/v1/documents/{id}/download"]["get"]["responses"]["200"]["content"];
    for file_type in erp_domain::document::DEFAULT_FILE_TYPES {
        assert!(
            content.get(file_type.canonical).is_some(),
            "{} missing: {content}",
            file_type.canonical
        );
    }
}

#[actix_web::test]
async fn the_document_is_served_at_the_root_and_under_api_v1() {
    let guard = sqlite();
    let app = test::init_service(erp_http::app(state(guard.migrated(), true))).await;
    for uri in ["/openapi.json", "/api/v1/openapi.json"] {
        let res = test::call_service(&app, TestRequest::get().uri(uri).to_request()).await;
        assert_eq!(res.status(), StatusCode::OK, "{uri}");
        assert!(
            res.headers()
                .get("content-type")
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{uri}"
        );
        assert_eq!(
            res.headers().get("content-security-policy").unwrap(),
            STRICT_CSP
        );
        let doc: Value = test::read_body_json(res).await;
        assert!(
            doc["openapi"].as_str().unwrap().starts_with("3.1."),
            "{}",
            doc["openapi"]
        );
        assert_eq!(documented(&doc), served(), "{uri}");
    }
}

#[actix_web::test]
async fn the_viewer_is_served_with_its_own_policy_and_embedded_files() {
    let guard = sqlite();
    let app = test::init_service(erp_http::app(state(guard.migrated(), true))).await;
    let res = test::call_service(&app, TestRequest::get().uri("/docs").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers().get("content-type").unwrap(),
        "text/html; charset=utf-8"
    );
    let csp = res
        .headers()
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(csp, erp_http::routes::docs::DOCS_CSP);
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert!(
        !csp.split(';')
            .find(|d| d.trim().starts_with("script-src"))
            .unwrap()
            .contains("unsafe"),
        "scripts stay strict: {csp}"
    );
    let html = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
    assert!(!html.contains("<script>"), "no inline script");
    for (file, content_type, marker) in [
        (
            "swagger-ui-bundle.js",
            "text/javascript; charset=utf-8",
            "SwaggerUIBundle",
        ),
        ("swagger-ui.css", "text/css; charset=utf-8", ".swagger-ui"),
        (
            "docs-init.js",
            "text/javascript; charset=utf-8",
            "/openapi.json",
        ),
    ] {
        assert!(html.contains(&format!("/docs/{file}")), "{file} linked");
        let res = test::call_service(
            &app,
            TestRequest::get()
                .uri(&format!("/docs/{file}"))
                .to_request(),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK, "{file}");
        assert_eq!(res.headers().get("content-type").unwrap(), content_type);
        let body = test::read_body(res).await;
        assert!(
            String::from_utf8_lossy(&body).contains(marker),
            "{file} is the real file"
        );
    }
    let res = test::call_service(
        &app,
        TestRequest::get().uri("/docs/../Cargo.toml").to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // Every other response keeps the strict policy.
    for uri in ["/", "/live", "/docs/nope.js", "/api/v1/users"] {
        let res = test::call_service(&app, TestRequest::get().uri(uri).to_request()).await;
        assert_eq!(
            res.headers().get("content-security-policy").unwrap(),
            STRICT_CSP,
            "{uri}"
        );
    }
}

#[actix_web::test]
async fn the_viewer_and_its_files_are_404_when_disabled_but_the_document_stays() {
    let guard = sqlite();
    let app = test::init_service(erp_http::app(state(guard.migrated(), false))).await;
    for uri in ["/docs", "/docs/swagger-ui-bundle.js", "/docs/docs-init.js"] {
        let res = test::call_service(&app, TestRequest::get().uri(uri).to_request()).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{uri}");
        let body: Value = test::read_body_json(res).await;
        assert_eq!(body["error"]["code"], "RESOURCE_NOT_FOUND");
    }
    let res = test::call_service(&app, TestRequest::get().uri("/openapi.json").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
}
