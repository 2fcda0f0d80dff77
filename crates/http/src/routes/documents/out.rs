//! DocumentOut (API.md §3.9), the response of every document route.

use erp_domain::UserId;
use erp_domain::document::Document;

use serde::Serialize;
use utoipa::ToSchema;

use crate::openapi::schema::Ts;

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
