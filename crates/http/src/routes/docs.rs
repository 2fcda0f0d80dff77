//! `/openapi.json` (root and `/api/v1`) and the `/docs` viewer (API.md §3.1). The viewer is
//! Swagger UI, vendored under `crates/http/assets/swagger-ui` and embedded in the binary; it
//! can be switched off by configuration (`docs.enabled`), the document cannot.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};

use crate::error::{ApiError, ErrorEnvelope};
use crate::routing::{Endpoint, RouteTable};
use crate::state::AppState;

/// The policy of the `/docs` page: scripts and styles from this origin only (no inline
/// script: the initializer is a file); Swagger UI sets inline `style` attributes and uses
/// `data:` images, and fetches `/openapi.json` and "try it out" calls from this origin.
pub const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// One embedded file of the viewer.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

/// The viewer's files, served at `/docs/<name>`.
const ASSETS: [Asset; 3] = [
    Asset {
        name: "swagger-ui-bundle.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/swagger-ui/swagger-ui-bundle.js"),
    },
    Asset {
        name: "swagger-ui.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../assets/swagger-ui/swagger-ui.css"),
    },
    Asset {
        name: "docs-init.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/swagger-ui/docs-init.js"),
    },
];

const INDEX: &str = include_str!("../../assets/swagger-ui/index.html");

/// The OpenAPI document `/openapi.json` serves, put in the app's data by the app factory
/// (`crate::app`): the document describes every route, this one included, so this module only
/// serves what it is given.
#[derive(Debug, Clone, Copy)]
pub struct OpenApiJson(pub fn() -> &'static str);

/// `/openapi.json` under `prefix` (`""` or `/api/v1`).
#[must_use]
pub fn openapi_endpoint(prefix: &str) -> Endpoint {
    Endpoint::new(format!("{prefix}/openapi.json")).get(openapi)
}

/// Registers `/docs` and its files (root only, API.md §1.1).
pub fn configure(cfg: &mut RouteTable) {
    cfg.service(Endpoint::new("/docs").get(docs))
        .service(Endpoint::new("/docs/{file}").get(asset));
}

/// The OpenAPI document of this API.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "probes",
    summary = "This OpenAPI 3.1 document",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object)),
)]
async fn openapi(document: web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(header::ContentType::json())
        .body((document.0)())
}

fn enabled(state: &AppState) -> Result<(), ApiError> {
    if state.http().docs_enabled {
        Ok(())
    } else {
        Err(ApiError::status(StatusCode::NOT_FOUND))
    }
}

/// The interactive viewer.
#[utoipa::path(
    get,
    path = "/docs",
    tag = "probes",
    summary = "Interactive documentation (Swagger UI) of /openapi.json",
    responses(
        (status = 200, description = "The viewer page", content_type = "text/html; charset=utf-8", body = String),
        (status = 404, description = "Disabled by configuration (`docs.enabled = false`)", body = ErrorEnvelope),
    ),
)]
async fn docs(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    enabled(&state)?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DOCS_CSP),
        ))
        .body(INDEX))
}

/// A file of the viewer.
#[utoipa::path(
    get,
    path = "/docs/{file}",
    tag = "probes",
    summary = "A script or stylesheet of the viewer",
    params(("file" = String, Path, description = "`swagger-ui-bundle.js`, `swagger-ui.css` or `docs-init.js`")),
    responses(
        (status = 200, description = "The file", content(
            (String = "text/javascript; charset=utf-8"),
            (String = "text/css; charset=utf-8"),
        )),
        (status = 404, description = "Unknown file, or the viewer is disabled by configuration", body = ErrorEnvelope),
    ),
)]
async fn asset(
    state: web::Data<AppState>,
    file: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    enabled(&state)?;
    let asset = ASSETS
        .iter()
        .find(|a| a.name == file.as_str())
        .ok_or_else(|| ApiError::status(StatusCode::NOT_FOUND))?;
    Ok(HttpResponse::Ok()
        .content_type(asset.content_type)
        // The files change only with the binary; a day of caching spares 2 MB per visit.
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(asset.bytes))
}
