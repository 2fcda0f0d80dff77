//! Bodies of the auth endpoints (API.md §1.2): JSON, `application/x-www-form-urlencoded` or
//! `multipart/form-data`, 64 KiB at most, read into one map of fields.

use actix_multipart::Multipart;
use actix_web::dev::Payload;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, web};
use futures_util::StreamExt as _;
use serde_json::{Map, Value};

use crate::error::{ApiError, Location};
use crate::extract::json::{is_json, read_limited};

/// The limit of auth bodies.
pub const AUTH_BODY_LIMIT: usize = 64 * 1024;

fn essence(req: &HttpRequest) -> Option<String> {
    let ct = req.headers().get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(
        ct.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase(),
    )
}

/// Reads the body as fields. Form values are strings; JSON values keep their type.
/// `optional`: an absent body is an empty map (else 422 `required`).
///
/// # Errors
/// 415 another type, 413 over 64 KiB, 422 invalid JSON, a malformed form or multipart body,
/// or an absent body.
pub async fn read_auth_fields(
    req: &HttpRequest,
    mut payload: Payload,
    optional: bool,
) -> Result<(Map<String, Value>, Location), ApiError> {
    let ty = essence(req);
    match ty.as_deref() {
        Some("multipart/form-data") => {
            return read_multipart(req, payload)
                .await
                .map(|m| (m, Location::Form));
        }
        Some("application/x-www-form-urlencoded") => {
            let body = read_limited(req, &mut payload, AUTH_BODY_LIMIT).await?;
            let pairs: Vec<(String, String)> =
                web::Query::<Vec<(String, String)>>::from_query(&String::from_utf8_lossy(&body))
                    .map_err(|_| ApiError::invalid_json("Formulaire invalide"))?
                    .into_inner();
            if pairs.is_empty() && !optional {
                return Err(ApiError::validation(
                    Location::Form,
                    &[erp_domain::FieldViolation::required("body")],
                    None,
                ));
            }
            return Ok((
                pairs
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect(),
                Location::Form,
            ));
        }
        _ => {}
    }
    if is_json(req) == Some(false) {
        return Err(ApiError::status(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    }
    let body = read_limited(req, &mut payload, AUTH_BODY_LIMIT).await?;
    if body.iter().all(u8::is_ascii_whitespace) {
        if optional {
            return Ok((Map::new(), Location::Body));
        }
        return Err(ApiError::validation(
            Location::Body,
            &[erp_domain::FieldViolation::required("body")],
            None,
        ));
    }
    if ty.is_none() {
        return Err(ApiError::status(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    }
    match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(map)) => Ok((map, Location::Body)),
        Ok(_) => Err(ApiError::invalid_json("Le corps doit être un objet JSON")),
        Err(_) => Err(ApiError::invalid_json("JSON invalide")),
    }
}

async fn read_multipart(
    req: &HttpRequest,
    payload: Payload,
) -> Result<Map<String, Value>, ApiError> {
    let mut multipart = Multipart::new(req.headers(), payload);
    let mut fields = Map::new();
    let mut total = 0_usize;
    // A body that is not valid multipart is malformed input, like a form-urlencoded body
    // that does not parse: 422 `invalid_json` (API.md §1.2), not a bare 400.
    let malformed = |e: actix_multipart::MultipartError| {
        ApiError::invalid_json("Formulaire invalide").with_internal(e.to_string())
    };
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(malformed)?;
        let name = field.name().unwrap_or_default().to_owned();
        let mut value = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(malformed)?;
            total += chunk.len();
            if total > AUTH_BODY_LIMIT {
                return Err(ApiError::status(StatusCode::PAYLOAD_TOO_LARGE));
            }
            value.extend_from_slice(&chunk);
        }
        if !name.is_empty() {
            fields.insert(
                name,
                Value::String(String::from_utf8_lossy(&value).into_owned()),
            );
        }
    }
    Ok(fields)
}
