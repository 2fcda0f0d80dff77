//! `POST /documents`, `/documents/upload` and `/interventions/{id}/documents`: the multipart
//! body streamed chunk by chunk into the vault's encrypting sink (on the blocking pool, a few
//! hundred KiB at a time), its bytes counted and the request refused with 413 as soon as the
//! limit is passed (API.md §3.9).

use actix_multipart::Multipart;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use erp_application::authz::Action;
use erp_application::documents::{UploadDocument, parse_description, too_large_message};
use erp_application::{AppError, Caller};
use erp_domain::error::{FieldViolation, ViolationCode};
use erp_domain::intervention::InterventionId;
use erp_domain::ports::BlobSink;
use futures_util::StreamExt as _;

use crate::blocking::{blocking, use_case};
use crate::error::{ApiError, Location};
use crate::extract::Authenticated;
use crate::extract::client::context_of;
use crate::extract::query::Query;
use crate::routes::ids::path_id;
use crate::state::AppState;

use super::out::document_out;

const TARGET_NOT_FOUND: &str = "Intervention cible introuvable";
/// What a request may carry besides the file (text parts, multipart framing).
pub const UPLOAD_OVERHEAD: u64 = 64 * 1024;
/// Plaintext handed to the encrypting sink per blocking hop.
const FLUSH_BYTES: usize = 256 * 1024;

fn is_multipart(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|e| e.trim().eq_ignore_ascii_case("multipart/form-data"))
}

fn declared_len(req: &HttpRequest) -> Option<u64> {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

fn too_large(max: u64) -> ApiError {
    ApiError::status(StatusCode::PAYLOAD_TOO_LARGE).with_message(too_large_message(max))
}

fn broken(e: &impl std::fmt::Display) -> ApiError {
    ApiError::status(StatusCode::BAD_REQUEST).with_internal(e.to_string())
}

/// An intervention id read from the query or a form part: `Err` = 422, `Ok(None)` = an
/// integer ≤ 0 (names nothing: 404).
fn parse_target(raw: &str) -> Result<Option<i64>, ()> {
    let t = raw.trim();
    let digits = t.strip_prefix('-').unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(());
    }
    Ok(t.parse::<i64>().ok().filter(|v| *v > 0))
}

fn invalid_id(location: Location) -> ApiError {
    ApiError::validation(
        location,
        &[FieldViolation::new(
            "intervention_id",
            ViolationCode::InvalidType,
            "Type invalide",
        )],
        None,
    )
}

/// The upload state machine: the target once known and checked, the file being streamed.
struct Upload {
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    max: u64,
    /// The id from the path or the query (`Some(None)` = ≤ 0).
    fixed: Option<Option<i64>>,
    /// The id from a form part.
    form: Option<Result<Option<i64>, ()>>,
    checked: Option<InterventionId>,
}

impl Upload {
    /// 404 / 403 for the target, once per request.
    async fn check(&mut self, id: Option<i64>) -> Result<(), ApiError> {
        let id = id
            .map(InterventionId::new)
            .ok_or_else(|| ApiError::not_found(TARGET_NOT_FOUND))?;
        if self.checked == Some(id) {
            return Ok(());
        }
        let caller = self.caller.clone();
        use_case(&self.req, &self.state, move |app, ctx| {
            app.check_upload_target(&caller, id, ctx)
        })
        .await?;
        self.checked = Some(id);
        Ok(())
    }

    /// The known target, checked (path or query first, else an earlier form part).
    async fn check_known(&mut self) -> Result<(), ApiError> {
        match (self.fixed, self.form) {
            (Some(id), _) | (None, Some(Ok(id))) => self.check(id).await,
            (None, Some(Err(()))) => Err(invalid_id(Location::Form)),
            (None, None) => Ok(()),
        }
    }
}

/// Hands buffered plaintext to the sink on the blocking pool, creating the sink first.
async fn flush(
    state: &web::Data<AppState>,
    sink: Option<Box<dyn BlobSink>>,
    buf: web::Bytes,
) -> Result<Box<dyn BlobSink>, ApiError> {
    let app = state.app().clone();
    blocking(move || {
        let mut sink = match sink {
            Some(s) => s,
            None => app.start_upload()?,
        };
        if !buf.is_empty() {
            sink.write(&buf)
                .map_err(|e| AppError::Internal(e.to_string()))?;
        }
        Ok(sink)
    })
    .await
}

/// Drops an unsealed sink (which removes its partial blob) off the async threads.
async fn discard(sink: Option<Box<dyn BlobSink>>) {
    if let Some(s) = sink {
        let _ = web::block(move || drop(s)).await;
    }
}

pub(super) async fn upload(
    req: HttpRequest,
    caller: Authenticated,
    payload: web::Payload,
    state: web::Data<AppState>,
    path: Option<String>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::UploadDocuments).await?;
    if !is_multipart(&req) {
        return Err(ApiError::status(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    }
    let max = state.app().document_policy().max_upload_bytes;
    let fixed = match &path {
        Some(raw) => Some(path_id("id", raw)?),
        None => {
            let q = Query::of(&req);
            match q.raw("intervention_id") {
                Some(raw) => Some(parse_target(raw).map_err(|()| invalid_id(Location::Query))?),
                None => None,
            }
        }
    };
    let mut up = Upload {
        req: req.clone(),
        state: state.clone(),
        caller: caller.0,
        max,
        fixed,
        form: None,
        checked: None,
    };
    up.check_known().await?;
    if up.checked.is_some() && declared_len(&req).is_some_and(|n| n > max + UPLOAD_OVERHEAD) {
        return Err(too_large(max));
    }
    let mut sink: Option<Box<dyn BlobSink>> = None;
    let result = receive(&mut up, payload, &mut sink).await;
    match result {
        Ok(meta) => finish(up, meta, sink).await,
        Err(e) => {
            discard(sink).await;
            Err(e)
        }
    }
}

/// What the body said besides the file content.
struct Received {
    file: Option<(String, Option<String>)>,
    extra_file: bool,
    description: Option<String>,
}

async fn receive(
    up: &mut Upload,
    payload: web::Payload,
    sink: &mut Option<Box<dyn BlobSink>>,
) -> Result<Received, ApiError> {
    let mut multipart = Multipart::new(up.req.headers(), payload.into_inner());
    let mut got = Received {
        file: None,
        extra_file: false,
        description: None,
    };
    let mut overhead = 0_u64;
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(|e| broken(&e))?;
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" && got.file.is_none() {
            up.check_known().await?;
            let disposition = field.content_disposition();
            let filename = disposition
                .and_then(|d| d.get_filename().map(ToOwned::to_owned))
                .or_else(|| {
                    disposition
                        .and_then(|d| d.get_filename_ext())
                        .map(|v| String::from_utf8_lossy(&v.value).into_owned())
                })
                .unwrap_or_default();
            let declared = field.content_type().map(ToString::to_string);
            got.file = Some((filename, declared));
            let mut size = 0_u64;
            let mut buf = web::BytesMut::new();
            while let Some(chunk) = field.next().await {
                let chunk = chunk.map_err(|e| broken(&e))?;
                size += chunk.len() as u64;
                if size > up.max {
                    return Err(too_large(up.max));
                }
                buf.extend_from_slice(&chunk);
                if buf.len() >= FLUSH_BYTES {
                    *sink = Some(flush(&up.state, sink.take(), buf.split().freeze()).await?);
                }
            }
            *sink = Some(flush(&up.state, sink.take(), buf.freeze()).await?);
            continue;
        }
        let mut value = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| broken(&e))?;
            overhead += chunk.len() as u64;
            if overhead > UPLOAD_OVERHEAD {
                return Err(too_large(up.max));
            }
            if name != "file" {
                value.extend_from_slice(&chunk);
            }
        }
        let text = String::from_utf8_lossy(&value).into_owned();
        match name.as_str() {
            "file" => got.extra_file = true,
            "description" => got.description = Some(text),
            "intervention_id" => {
                up.form = Some(parse_target(&text));
                if up.fixed.is_none() && got.file.is_none() {
                    up.check_known().await?;
                }
            }
            _ => {}
        }
    }
    Ok(got)
}

async fn finish(
    mut up: Upload,
    got: Received,
    sink: Option<Box<dyn BlobSink>>,
) -> Result<HttpResponse, ApiError> {
    // 422 input (the target id and the description), then the target, then the file.
    let mut violations = Vec::new();
    let target = match (up.fixed, up.form) {
        (Some(a), Some(Ok(b))) if a != b => {
            violations.push(FieldViolation::new(
                "intervention_id",
                ViolationCode::ConflictingFields,
                "Champs incompatibles : intervention_id (requête), intervention_id (formulaire)",
            ));
            None
        }
        (Some(id), _) | (None, Some(Ok(id))) => Some(id),
        (None, Some(Err(()))) => {
            violations.push(FieldViolation::new(
                "intervention_id",
                ViolationCode::InvalidType,
                "Type invalide",
            ));
            None
        }
        (None, None) => {
            violations.push(FieldViolation::required("intervention_id"));
            None
        }
    };
    let description = match got.description.as_deref().map(parse_description) {
        Some(Ok(d)) => d,
        Some(Err(v)) => {
            violations.push(v);
            None
        }
        None => None,
    };
    if got.extra_file {
        violations.push(FieldViolation::new(
            "file",
            ViolationCode::InvalidValue,
            "Un seul fichier est accepté",
        ));
    }
    if !violations.is_empty() {
        discard(sink).await;
        return Err(ApiError::validation(Location::Form, &violations, None));
    }
    if let Err(e) = up.check(target.flatten()).await {
        discard(sink).await;
        return Err(e);
    }
    let (Some((filename, declared_type)), Some(sink)) = (got.file, sink) else {
        return Err(ApiError::validation(
            Location::Form,
            &[FieldViolation::required("file")],
            None,
        ));
    };
    let Some(intervention_id) = up.checked else {
        return Err(ApiError::internal("upload target not checked"));
    };
    let cmd = UploadDocument {
        intervention_id,
        filename,
        declared_type,
        description,
    };
    let ctx = context_of(&up.req);
    let app = up.state.app().clone();
    let caller = up.caller;
    let doc = web::block(move || app.finish_upload(&caller, cmd, sink, &ctx))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(|e| match e {
            AppError::Invalid {
                message,
                violations,
            } => ApiError::validation(Location::Form, &violations, message),
            other => ApiError::from(other),
        })?;
    let mut res = HttpResponse::Created().json(document_out(&doc));
    if let Ok(location) =
        header::HeaderValue::from_str(&format!("/api/v1/documents/{}/meta", doc.id))
    {
        res.headers_mut().insert(header::LOCATION, location);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_ids_are_decimal_integers() {
        assert_eq!(parse_target(" 12 "), Ok(Some(12)));
        assert_eq!(parse_target("0"), Ok(None));
        assert_eq!(parse_target("-4"), Ok(None));
        assert_eq!(parse_target("abc"), Err(()));
        assert_eq!(parse_target(""), Err(()));
    }
}
