//! `/api/v1/documents*` and `/api/v1/interventions/{id}/documents` (API.md §3.9).
//!
//! Uploads are streamed (`upload`): the file part goes chunk by chunk into the vault's encrypting sink
//! (on the blocking pool, a few hundred KiB at a time), its bytes are counted, and the request
//! is refused with 413 as soon as the limit is passed — the file is never held in memory.
//!
//! Downloads are streamed too: the use case authenticates the whole blob first (a tampered,
//! truncated or missing blob is a 500 before any byte is sent), then the response body pulls
//! the plaintext 64 KiB at a time, each chunk decrypted in its own short hop to the blocking
//! pool, so memory does not grow with the file size and a slow client holds no thread.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use erp_application::authz::Action;
use erp_domain::document::{DocumentFilter, DocumentId, MAX_DESCRIPTION_CHARS};
use erp_domain::intervention::InterventionId;
use erp_domain::ports::PlainReader;
use erp_domain::value::Texte;
use futures_util::stream::Stream;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};

use crate::blocking::use_case;
use crate::dto::{DetailOut, collection};
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::Authenticated;
use crate::extract::query::Query;
use crate::extract::wire::{WireField, describe, inline};
use crate::openapi::params;
use crate::routes::ids::path_id;
use crate::routing::{Endpoint, RouteTable};
use crate::state::AppState;

mod out;
mod upload;

use out::{DocumentOut, document_out};
use upload::upload;

/// The multipart form of a document upload (API.md §3.9). The upload reads its parts itself
/// (`upload.rs`: a stream, not a field map); this type describes them with the same value types
/// and bounds (`erp_domain::document::MAX_DESCRIPTION_CHARS`).
#[derive(Debug)]
pub struct UploadForm;

impl utoipa::PartialSchema for UploadForm {
    fn schema() -> RefOr<Schema> {
        let file = inline(
            Type::String,
            "The file (exactly one part named `file`).",
            false,
        )
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)));
        let description = <Option<Texte<0, { MAX_DESCRIPTION_CHARS }>> as WireField>::field_schema(
            "Description.",
        );
        let intervention_id = <Option<InterventionId> as WireField>::field_schema(
            "Used when the query has none; both different → 422.",
        );
        RefOr::T(Schema::Object(
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .description(Some(describe(&[
                    "The multipart form of a document upload (API.md §3.9).",
                ])))
                .required("file")
                .property("description", description)
                .property("file", file)
                .property("intervention_id", intervention_id)
                .build(),
        ))
    }
}

impl utoipa::ToSchema for UploadForm {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("UploadForm")
    }
}

const DOCUMENT_NOT_FOUND: &str = "Document non trouvé";
const INTERVENTION_NOT_FOUND: &str = "Intervention introuvable";
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
    request_body(description = "multipart/form-data with one `file` part", content((UploadForm = "multipart/form-data"))),
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
    request_body(description = "multipart/form-data with one `file` part", content((UploadForm = "multipart/form-data"))),
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
    request_body(description = "multipart/form-data with one `file` part", content((UploadForm = "multipart/form-data"))),
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
}
