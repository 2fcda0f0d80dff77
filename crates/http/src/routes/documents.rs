//! `/api/v1/documents*` and `/api/v1/interventions/{id}/documents` (API.md §3.9).
//!
//! Uploads are streamed: the file part goes chunk by chunk into the vault's encrypting sink
//! (on the blocking pool, a few hundred KiB at a time), its bytes are counted, and the request
//! is refused with 413 as soon as the limit is passed — the file is never held in memory.
//!
//! Downloads are streamed too: the use case authenticates the whole blob first (a tampered,
//! truncated or missing blob is a 500 before any byte is sent), then the response body pulls
//! the plaintext 64 KiB at a time, each chunk decrypted in its own short hop to the blocking
//! pool, so memory does not grow with the file size and a slow client holds no thread.

use actix_multipart::Multipart;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use erp_application::authz::Action;
use erp_application::documents::{UploadDocument, parse_description, too_large_message};
use erp_application::{AppError, Caller};
use erp_domain::UserId;
use erp_domain::document::{Document, DocumentFilter, DocumentId};
use erp_domain::error::{FieldViolation, ViolationCode};
use erp_domain::intervention::InterventionId;
use erp_domain::ports::{BlobSink, PlainReader};
use futures_util::StreamExt as _;
use futures_util::stream::Stream;

use serde::Serialize;
use utoipa::ToSchema;

use crate::blocking::{blocking, use_case};
use crate::dto::{DetailOut, collection};
use crate::error::{ApiError, ErrorEnvelope, Location};
use crate::extract::Authenticated;
use crate::extract::client::context_of;
use crate::extract::query::Query;
use crate::openapi::schema::Ts;
use crate::openapi::{bodies, params};
use crate::routes::ids::path_id;
use crate::routing::{Endpoint, RouteTable};
use crate::state::AppState;

const DOCUMENT_NOT_FOUND: &str = "Document non trouvé";
const INTERVENTION_NOT_FOUND: &str = "Intervention introuvable";
const TARGET_NOT_FOUND: &str = "Intervention cible introuvable";
/// What a request may carry besides the file (text parts, multipart framing).
pub const UPLOAD_OVERHEAD: u64 = 64 * 1024;
/// Plaintext handed to the encrypting sink per blocking hop.
const FLUSH_BYTES: usize = 256 * 1024;
/// Plaintext per chunk of a download's body.
const DOWNLOAD_CHUNK: usize = 64 * 1024;

/// Registers the routes. `/documents/upload` comes before `/documents/{id}` (literal first).
pub fn configure(cfg: &mut RouteTable) {
    cfg.service(
        Endpoint::new("/api/v1/documents")
            .get(list)
            .post(upload_with_query),
    )
    .service(Endpoint::new("/api/v1/documents/upload").post(upload_alias))
    .service(
        Endpoint::new("/api/v1/documents/{id}")
            .get(list_by_intervention_alias)
            .delete(delete),
    )
    .service(Endpoint::new("/api/v1/documents/{id}/meta").get(meta))
    .service(Endpoint::new("/api/v1/documents/{id}/download").get(download))
    .service(
        Endpoint::new("/api/v1/interventions/{id}/documents")
            .get(list_for_intervention)
            .post(upload_with_path),
    );
}

/// DocumentOut (API.md §3.9).
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentOut {
    /// Document id.
    pub id: i64,
    /// Intervention.
    pub intervention_id: i64,
    /// Sanitised original name.
    pub filename: String,
    /// The authenticated download URL.
    pub path: String,
    /// Size in bytes.
    pub taille: i64,
    /// Canonical MIME type.
    pub mime_type: String,
    /// Hex SHA-256 of the plaintext.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub sha256: String,
    /// Description.
    pub description: Option<String>,
    /// Uploader.
    pub uploaded_by_id: Option<i64>,
    /// Upload time.
    pub date_upload: Ts,
}

/// DocumentOut of a document.
#[must_use]
pub fn document_out(d: &Document) -> DocumentOut {
    DocumentOut {
        id: d.id.get(),
        intervention_id: d.intervention_id.get(),
        filename: d.nom_fichier.clone(),
        path: format!("/api/v1/documents/{}/download", d.id),
        taille: d.taille,
        mime_type: d.mime_type.clone(),
        sha256: d.sha256.clone(),
        description: d.description.clone(),
        uploaded_by_id: d.uploaded_by_id.map(UserId::get),
        date_upload: d.date_upload.into(),
    }
}

fn document_id(raw: &str) -> Result<DocumentId, ApiError> {
    path_id("id", raw)?
        .map(DocumentId::new)
        .ok_or_else(|| ApiError::not_found(DOCUMENT_NOT_FOUND))
}

#[utoipa::path(
    get,
    path = "/api/v1/documents",
    tag = "documents",
    summary = "List documents",
    params(params::DocumentQuery, params::Page),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Documents, newest first", body = Vec<DocumentOut>, headers(("X-Total-Count" = i64, description = "Rows matching the filters, ignoring limit/offset"))),
    ),
)]
async fn list(
    req: HttpRequest,
    caller: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ListAllDocuments).await?;
    let mut q = Query::of(&req);
    let filter = DocumentFilter {
        intervention_id: q.id("intervention_id"),
        uploaded_by_id: q.id("uploaded_by_id"),
        mime_type: q.text("mime_type").map(|m| m.to_lowercase()),
    };
    let page = q.page();
    q.finish()?;
    let listed = use_case(&req, &state, move |app, _| {
        app.list_documents(&caller.0, &filter, page)
    })
    .await?;
    Ok(collection(&listed, document_out))
}

/// `GET /interventions/{id}/documents` and its alias `GET /documents/{intervention_id}`.
#[utoipa::path(
    get,
    path = "/api/v1/interventions/{id}/documents",
    tag = "documents",
    summary = "Documents of an intervention",
    params(("id" = i64, Path, description = "Intervention id"), params::Page),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Documents, newest first", body = Vec<DocumentOut>, headers(("X-Total-Count" = i64, description = "Rows matching the filters, ignoring limit/offset"))),
        (status = 404, description = "\"Intervention introuvable\"", body = ErrorEnvelope),
    ),
)]
async fn list_for_intervention(
    req: HttpRequest,
    caller: Authenticated,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ReadDocuments).await?;
    let mut q = Query::of(&req);
    let page = q.page();
    q.finish()?;
    let id = path_id("id", &id)?
        .map(InterventionId::new)
        .ok_or_else(|| ApiError::not_found(INTERVENTION_NOT_FOUND))?;
    let listed = use_case(&req, &state, move |app, _| {
        app.intervention_documents(&caller.0, id, page)
    })
    .await?;
    Ok(collection(&listed, document_out))
}

#[utoipa::path(
    get,
    path = "/api/v1/documents/{id}/meta",
    tag = "documents",
    summary = "A document's metadata",
    params(("id" = i64, Path, description = "Document id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The document", body = DocumentOut),
        (status = 404, description = "\"Document non trouvé\"", body = ErrorEnvelope),
    ),
)]
async fn meta(
    req: HttpRequest,
    caller: Authenticated,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ReadDocuments).await?;
    let id = document_id(&id)?;
    let doc = use_case(&req, &state, move |app, _| app.document_meta(&caller.0, id)).await?;
    Ok(HttpResponse::Ok().json(document_out(&doc)))
}

#[utoipa::path(
    get,
    path = "/api/v1/documents/{id}/download",
    tag = "documents",
    summary = "Download a document",
    params(("id" = i64, Path, description = "Document id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The decrypted file; Content-Type is its MIME type (one media type per allowed file type is added by `openapi::download_types`)", headers(("Content-Disposition" = String, description = "attachment with the file name"), ("ETag" = String, description = "\"<sha256>\""))),
        (status = 404, description = "\"Document non trouvé\"", body = ErrorEnvelope),
        (status = 500, description = "The stored blob is missing, cannot be decrypted or fails its SHA-256 check", body = ErrorEnvelope),
    ),
)]
async fn download(
    req: HttpRequest,
    caller: Authenticated,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ReadDocuments).await?;
    let id = document_id(&id)?;
    let (doc, plaintext) = use_case(&req, &state, move |app, ctx| {
        app.download_document(&caller.0, id, ctx)
    })
    .await?;
    let content_type = header::HeaderValue::from_str(&doc.mime_type)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let disposition = header::HeaderValue::from_str(&content_disposition(&doc.nom_fichier))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CONTENT_DISPOSITION, disposition))
        .insert_header((header::ETAG, format!("\"{}\"", doc.sha256)))
        .no_chunking(plaintext.size())
        .streaming(stream_plaintext(plaintext)))
}

/// The plaintext as a body stream, pulled by the connection: each chunk of up to
/// [`DOWNLOAD_CHUNK`] bytes is decrypted in its own hop to the blocking pool, so a slow client
/// holds no thread (the pool is sized for the database and hashing) and at most one chunk per
/// download is in memory. A failure in the middle (the storage broke, or its bytes changed after
/// the check) is logged and ends the body with an error, so the connection is cut short of its
/// Content-Length.
fn stream_plaintext(
    plaintext: Box<dyn PlainReader>,
) -> impl Stream<Item = Result<web::Bytes, std::io::Error>> {
    let span = tracing::Span::current();
    futures_util::stream::unfold(Some(plaintext), move |reader| {
        let span = span.clone();
        async move {
            let mut reader = reader?;
            let read = web::block(move || {
                let _entered = span.entered();
                let mut chunk = web::BytesMut::zeroed(DOWNLOAD_CHUNK);
                let read = reader.read(&mut chunk).map(|n| {
                    chunk.truncate(n);
                    chunk.freeze()
                });
                (reader, read)
            })
            .await;
            match read {
                Ok((_, Ok(chunk))) if chunk.is_empty() => None,
                Ok((reader, Ok(chunk))) => Some((Ok(chunk), Some(reader))),
                Ok((_, Err(e))) => {
                    tracing::error!(error = %e, "document download cut short");
                    Some((Err(std::io::Error::other(e.to_string())), None))
                }
                Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
            }
        }
    })
}

/// `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded>`.
#[must_use]
pub fn content_disposition(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::with_capacity(name.len() * 3);
    for b in name.bytes() {
        // RFC 8187 attr-char.
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[utoipa::path(
    delete,
    path = "/api/v1/documents/{id}",
    tag = "documents",
    summary = "Delete a document",
    params(("id" = i64, Path, description = "Document id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "\"Document supprimé\"", body = DetailOut),
        (status = 404, description = "\"Document non trouvé\"", body = ErrorEnvelope),
    ),
)]
async fn delete(
    req: HttpRequest,
    caller: Authenticated,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::DeleteDocuments).await?;
    let id = document_id(&id)?;
    use_case(&req, &state, move |app, ctx| {
        app.delete_document(&caller.0, id, ctx)
    })
    .await?;
    Ok(HttpResponse::Ok().json(DetailOut {
        detail: "Document supprimé",
    }))
}

#[utoipa::path(
    post,
    path = "/api/v1/documents",
    tag = "documents",
    summary = "Upload a document",
    params(params::UploadQuery),
    request_body(description = "multipart/form-data with one `file` part", content((bodies::UploadForm = "multipart/form-data"))),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Stored", body = DocumentOut, headers(("Location" = String, description = "URL of the new resource"))),
        (status = 400, description = "\"Le fichier doit avoir une extension valide\"", body = ErrorEnvelope),
        (status = 403, description = "Role not allowed, or \"Intervention non affectée à ce technicien\"", body = ErrorEnvelope),
        (status = 404, description = "\"Intervention cible introuvable\"", body = ErrorEnvelope),
        (status = 413, description = "\"Fichier trop volumineux (maximum <n> octets)\"", body = ErrorEnvelope),
        (status = 415, description = "Not multipart, or \"Type de fichier non autorisé\"", body = ErrorEnvelope),
    ),
)]
async fn upload_with_query(
    req: HttpRequest,
    caller: Authenticated,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    upload(req, caller, payload, state, None).await
}

#[utoipa::path(
    post,
    path = "/api/v1/documents/upload",
    tag = "documents",
    summary = "Upload a document (alias of POST /documents)",
    params(params::UploadQuery),
    request_body(description = "multipart/form-data with one `file` part", content((bodies::UploadForm = "multipart/form-data"))),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Stored", body = DocumentOut, headers(("Location" = String, description = "URL of the new resource"))),
        (status = 400, description = "\"Le fichier doit avoir une extension valide\"", body = ErrorEnvelope),
        (status = 403, description = "Role not allowed, or \"Intervention non affectée à ce technicien\"", body = ErrorEnvelope),
        (status = 404, description = "\"Intervention cible introuvable\"", body = ErrorEnvelope),
        (status = 413, description = "\"Fichier trop volumineux (maximum <n> octets)\"", body = ErrorEnvelope),
        (status = 415, description = "Not multipart, or \"Type de fichier non autorisé\"", body = ErrorEnvelope),
    ),
)]
async fn upload_alias(
    req: HttpRequest,
    caller: Authenticated,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    upload(req, caller, payload, state, None).await
}

#[utoipa::path(
    get,
    path = "/api/v1/documents/{id}",
    tag = "documents",
    summary = "Documents of an intervention (alias; the id is an intervention id)",
    params(("id" = i64, Path, description = "Intervention id"), params::Page),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Documents, newest first", body = Vec<DocumentOut>, headers(("X-Total-Count" = i64, description = "Rows matching the filters, ignoring limit/offset"))),
        (status = 404, description = "\"Intervention introuvable\"", body = ErrorEnvelope),
    ),
)]
async fn list_by_intervention_alias(
    req: HttpRequest,
    caller: Authenticated,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    list_for_intervention(req, caller, id, state).await
}

#[utoipa::path(
    post,
    path = "/api/v1/interventions/{id}/documents",
    tag = "documents",
    summary = "Upload a document to an intervention",
    params(("id" = i64, Path, description = "Intervention id")),
    request_body(description = "multipart/form-data with one `file` part", content((bodies::UploadForm = "multipart/form-data"))),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Stored", body = DocumentOut, headers(("Location" = String, description = "URL of the new resource"))),
        (status = 400, description = "\"Le fichier doit avoir une extension valide\"", body = ErrorEnvelope),
        (status = 403, description = "Role not allowed, or \"Intervention non affectée à ce technicien\"", body = ErrorEnvelope),
        (status = 404, description = "\"Intervention cible introuvable\"", body = ErrorEnvelope),
        (status = 413, description = "\"Fichier trop volumineux (maximum <n> octets)\"", body = ErrorEnvelope),
        (status = 415, description = "Not multipart, or \"Type de fichier non autorisé\"", body = ErrorEnvelope),
    ),
)]
async fn upload_with_path(
    req: HttpRequest,
    caller: Authenticated,
    id: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    upload(req, caller, payload, state, Some(id.into_inner())).await
}

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

async fn upload(
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
            AppError::Validation {
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
    fn content_disposition_has_an_ascii_fallback_and_the_utf8_name() {
        assert_eq!(
            content_disposition("rapport été 2025.pdf"),
            "attachment; filename=\"rapport _t_ 2025.pdf\"; filename*=UTF-8''rapport%20%C3%A9t%C3%A9%202025.pdf"
        );
        assert_eq!(
            content_disposition("a.txt"),
            "attachment; filename=\"a.txt\"; filename*=UTF-8''a.txt"
        );
    }

    #[test]
    fn target_ids_are_decimal_integers() {
        assert_eq!(parse_target(" 12 "), Ok(Some(12)));
        assert_eq!(parse_target("0"), Ok(None));
        assert_eq!(parse_target("-4"), Ok(None));
        assert_eq!(parse_target("abc"), Err(()));
        assert_eq!(parse_target(""), Err(()));
    }
}
