//! `JsonObject`: a JSON request body checked in the order of API.md §1.2 and §1.5 —
//! 415 wrong content type, 413 too large, 422 absent, 422 `invalid_json` (syntax or not an
//! object). Field-level parsing happens on the returned map, so that every field error of a
//! request is reported together.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use erp_domain::error::FieldViolation;
use futures_util::StreamExt as _;
use serde_json::{Map, Value};

use crate::error::{ApiError, Location};

/// 1 MiB, the contract's limit for JSON bodies.
pub const DEFAULT_JSON_LIMIT: usize = 1024 * 1024;

/// The JSON body limit, registered as app data (falls back to [`DEFAULT_JSON_LIMIT`]).
#[derive(Debug, Clone, Copy)]
pub struct JsonLimit(pub usize);

/// A request body that is a JSON object.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonObject(pub Map<String, Value>);

/// `Some(true)` for `application/json` (any parameters), `Some(false)` for another type,
/// `None` without `Content-Type`.
#[must_use]
pub fn is_json(req: &HttpRequest) -> Option<bool> {
    let ct = req.headers().get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = ct.split(';').next().unwrap_or_default().trim();
    Some(essence.eq_ignore_ascii_case("application/json"))
}

impl FromRequest for JsonObject {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move { read_json_object(&req, payload).await.map(Self) })
    }
}

/// Reads the body of `req` as a JSON object, in the checks order of the contract. Handlers call
/// it after authorization, so that 401/403 come before 415/413/422.
///
/// # Errors
/// 415 not JSON, 413 over the limit, 422 absent body or `invalid_json`.
pub async fn read_json_object(
    req: &HttpRequest,
    mut payload: Payload,
) -> Result<Map<String, Value>, ApiError> {
    let limit = req
        .app_data::<JsonLimit>()
        .or_else(|| req.app_data::<web::Data<JsonLimit>>().map(|d| d.get_ref()))
        .map_or(DEFAULT_JSON_LIMIT, |l| l.0);
    let content_type = is_json(req);
    if content_type == Some(false) {
        return Err(ApiError::status(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ));
    }
    let body = read_limited(req, &mut payload, limit).await?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::validation(
            Location::Body,
            &[FieldViolation::required("body")],
            None,
        ));
    }
    if content_type.is_none() {
        return Err(ApiError::status(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ));
    }
    parse_object(&body)
}

/// Like [`read_json_object`] for endpoints whose fields are all optional: an absent or empty
/// body (without `Content-Type`) is an empty object.
///
/// # Errors
/// As [`read_json_object`], except for the absent body.
pub async fn read_optional_json_object(
    req: &HttpRequest,
    mut payload: Payload,
) -> Result<Map<String, Value>, ApiError> {
    let limit = req
        .app_data::<JsonLimit>()
        .map_or(DEFAULT_JSON_LIMIT, |l| l.0);
    if is_json(req) == Some(false) && declared_len(req).is_some_and(|n| n > 0) {
        return Err(ApiError::status(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ));
    }
    let body = read_limited(req, &mut payload, limit).await?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    if is_json(req) != Some(true) {
        return Err(ApiError::status(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ));
    }
    parse_object(&body)
}

fn parse_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::invalid_json("Le corps doit être un objet JSON")),
        Err(_) => Err(ApiError::invalid_json("JSON invalide")),
    }
}

/// Reads a body of at most `limit` bytes (the caller checks its type first); 413 as soon as
/// the limit is passed.
///
/// # Errors
/// 413, or 400 when the connection breaks.
pub async fn read_limited(
    req: &HttpRequest,
    payload: &mut Payload,
    limit: usize,
) -> Result<web::BytesMut, ApiError> {
    let too_large = || ApiError::status(actix_web::http::StatusCode::PAYLOAD_TOO_LARGE);
    if declared_len(req).is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::status(actix_web::http::StatusCode::BAD_REQUEST).with_internal(e.to_string())
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn declared_len(req: &HttpRequest) -> Option<usize> {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
}

#[cfg(test)]
mod tests {
    use actix_web::http::StatusCode;
    use actix_web::middleware::from_fn;
    use actix_web::test::{self, TestRequest};
    use actix_web::{App, HttpResponse, web};
    use serde_json::Value;

    use super::*;
    use crate::middleware::request_context;

    async fn echo(body: JsonObject) -> HttpResponse {
        HttpResponse::Ok().json(Value::Object(body.0))
    }

    async fn call(req: TestRequest) -> (StatusCode, Value) {
        let app = test::init_service(
            App::new()
                .app_data(JsonLimit(64))
                .route("/echo", web::post().to(echo))
                .wrap(from_fn(request_context)),
        )
        .await;
        let res = test::call_service(
            &app,
            req.uri("/echo")
                .method(actix_web::http::Method::POST)
                .to_request(),
        )
        .await;
        let status = res.status();
        (status, test::read_body_json(res).await)
    }

    fn json(body: &'static str) -> TestRequest {
        TestRequest::default()
            .insert_header(("Content-Type", "application/json; charset=utf-8"))
            .set_payload(body)
    }

    #[actix_web::test]
    async fn an_object_is_accepted_with_any_charset() {
        let (status, body) = call(json(r#"{"a": 1}"#)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["a"], 1);
    }

    #[actix_web::test]
    async fn malformed_json_is_422_invalid_json() {
        let (status, body) = call(json(r#"{"a": "#)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"]["code"], "VALIDATION_ERROR");
        assert_eq!(body["error"]["details"][0]["code"], "invalid_json");
        assert_eq!(body["error"]["details"][0]["field"], "body");
        assert_eq!(body["error"]["details"][0]["location"], "body");
    }

    #[actix_web::test]
    async fn json_that_is_not_an_object_is_422_invalid_json() {
        for payload in ["[1, 2]", "\"text\"", "42", "null"] {
            let req = TestRequest::default()
                .insert_header(("Content-Type", "application/json"))
                .set_payload(payload);
            let (status, body) = call(req).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{payload}");
            assert_eq!(body["error"]["details"][0]["code"], "invalid_json");
        }
    }

    #[actix_web::test]
    async fn an_oversized_body_is_413() {
        let big = format!(r#"{{"a": "{}"}}"#, "x".repeat(100));
        let req = TestRequest::default()
            .insert_header(("Content-Type", "application/json"))
            .set_payload(big);
        let (status, body) = call(req).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(body["error"]["code"], "PAYLOAD_TOO_LARGE");
        assert_eq!(body["error"]["message"], "Corps de requête trop volumineux");
    }

    #[actix_web::test]
    async fn another_content_type_is_415() {
        let req = TestRequest::default()
            .insert_header(("Content-Type", "text/plain"))
            .set_payload("{}");
        let (status, body) = call(req).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(body["error"]["code"], "UNSUPPORTED_MEDIA_TYPE");
        assert_eq!(body["error"]["message"], "Type de contenu non supporté");
        let req = TestRequest::default().set_payload("{}");
        assert_eq!(
            call(req).await.0,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "a body without a type"
        );
    }

    #[actix_web::test]
    async fn an_absent_body_is_422_required() {
        let (status, body) = call(TestRequest::default()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"]["details"][0]["code"], "required");
        assert_eq!(body["error"]["details"][0]["field"], "body");
    }
}
