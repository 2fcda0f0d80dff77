//! Documents (D9, API.md §3.9): upload into the encrypted vault, list, read, download, delete,
//! and the key rotation behind `erp keys rotate-fernet`. The vault port hides the cipher and
//! the blob store (a directory or an S3 bucket); this module decides who may do what, and
//! keeps rows and blobs consistent: a blob is sealed (given its final name) before its row
//! commits, and removed only after the commit that deletes or replaces its row.

use erp_domain::audit::{AuditContext, AuditEventType};
use erp_domain::document::{
    Document, DocumentFilter, DocumentId, FileRefusal, MAX_DESCRIPTION_CHARS, NewDocument,
    check_file,
};
use erp_domain::error::{FieldViolation, ViolationCode};
use erp_domain::intervention::{Intervention, InterventionId};
use erp_domain::list::{Listed, Page};
use erp_domain::ports::{
    BlobSink, DocumentVault, PlainReader, SealedBlob, TransactionMode, TransactionRunner,
    UnitOfWork, VaultError,
};
use erp_domain::text::char_len;
use serde_json::json;

use crate::app::{Application, Audit, Caller, Outcome};
use crate::authz::{Action, authorize, check_assignment};
use crate::error::AppError;
use crate::tx::transaction;

mod policy;

pub use policy::{DEFAULT_MAX_UPLOAD_BYTES, DocumentPolicy};

/// 404 of every document read.
pub const DOCUMENT_NOT_FOUND: &str = "Document non trouvé";
/// 404 of an upload's intervention.
pub const TARGET_NOT_FOUND: &str = "Intervention cible introuvable";
/// Rows re-encrypted per read batch by the rotation.
const ROTATION_BATCH: i64 = 100;

/// "Fichier trop volumineux (maximum <n> octets)".
#[must_use]
pub fn too_large_message(max: u64) -> String {
    format!("Fichier trop volumineux (maximum {max} octets)")
}

/// The metadata of an upload whose content is in a [`BlobSink`].
#[derive(Debug, Clone)]
pub struct UploadDocument {
    /// The target.
    pub intervention_id: InterventionId,
    /// The part's file name, as sent.
    pub filename: String,
    /// The part's `Content-Type`, as sent.
    pub declared_type: Option<String>,
    /// Trimmed description (empty → `None`).
    pub description: Option<String>,
}

/// Checks a description (≤ 1000 characters, trimmed, empty = none).
///
/// # Errors
/// 422 `too_long` on `description`.
pub fn parse_description(raw: &str) -> Result<Option<String>, FieldViolation> {
    let t = raw.trim();
    if t.is_empty() {
        Ok(None)
    } else if char_len(t) > MAX_DESCRIPTION_CHARS {
        Err(FieldViolation::too_long(
            "description",
            MAX_DESCRIPTION_CHARS,
        ))
    } else {
        Ok(Some(t.to_owned()))
    }
}

fn not_found() -> AppError {
    AppError::NotFound(DOCUMENT_NOT_FOUND.into())
}

fn vault_failure(e: &VaultError) -> AppError {
    AppError::Internal(e.to_string())
}

fn refusal(r: FileRefusal) -> AppError {
    match r {
        FileRefusal::NoExtension => {
            AppError::Rejected("Le fichier doit avoir une extension valide".into())
        }
        FileRefusal::TypeNotAllowed => {
            AppError::UnsupportedContent("Type de fichier non autorisé".into())
        }
        FileRefusal::Empty => AppError::Invalid {
            message: Some("Le fichier est vide".into()),
            violations: vec![FieldViolation::new(
                "file",
                ViolationCode::InvalidValue,
                "Le fichier est vide",
            )],
        },
    }
}

/// The user behind the intervention's technicien profile.
fn assignee(
    uow: &mut dyn UnitOfWork,
    i: &Intervention,
) -> Result<Option<erp_domain::UserId>, AppError> {
    Ok(match i.technicien_id() {
        Some(t) => uow.technicien_by_id(t)?.map(|t| t.user.id),
        None => None,
    })
}

impl Application {
    /// The upload limits and allow-list.
    #[must_use]
    pub fn document_policy(&self) -> &DocumentPolicy {
        &self.documents
    }

    /// Replaces the upload limits and allow-list (configuration).
    #[must_use]
    pub fn with_document_policy(mut self, policy: DocumentPolicy) -> Self {
        self.documents = policy;
        self
    }

    /// The intervention an upload targets, checked for the caller: visible, and assigned to
    /// them when they are a technicien.
    fn upload_target(
        uow: &mut dyn UnitOfWork,
        caller: &Caller,
        id: InterventionId,
    ) -> Result<Intervention, AppError> {
        let i = Self::visible_intervention(uow, caller, id)
            .map_err(|_| AppError::NotFound(TARGET_NOT_FOUND.into()))?;
        let who = assignee(uow, &i)?;
        check_assignment(caller.user.role, caller.user.id, who)?;
        Ok(i)
    }

    /// The checks of an upload that come before its body is read: role, intervention, and a
    /// technicien's assignment (a refusal there is audited).
    ///
    /// # Errors
    /// 403 role; 404 "Intervention cible introuvable"; 403 not assigned.
    pub fn check_upload_target(
        &self,
        caller: &Caller,
        id: InterventionId,
        ctx: &AuditContext,
    ) -> Result<(), AppError> {
        authorize(caller.user.role, Action::UploadDocuments)?;
        let result = transaction(self.ports.db.as_ref(), TransactionMode::ReadOnly, |uow| {
            Self::upload_target(uow, caller, id).map(|_| ())
        });
        if let Err(e @ AppError::Forbidden { .. }) = &result {
            self.record_denial(caller, e, ctx);
        }
        result
    }

    /// A new blob for an upload's content.
    ///
    /// # Errors
    /// 500 when the blob store cannot be written.
    pub fn start_upload(&self) -> Result<Box<dyn BlobSink>, AppError> {
        self.ports.documents.create().map_err(|e| vault_failure(&e))
    }

    /// Finishes an upload whose content is in `sink`: checks the file, seals the blob, then
    /// inserts the row (re-checking the target) with its `doc.uploaded` audit. The blob is
    /// removed again if the row cannot be written.
    ///
    /// # Errors
    /// 403; 400 no extension; 415 type; 422 empty; 404 / 403 target; 500 storage.
    pub fn finish_upload(
        &self,
        caller: &Caller,
        cmd: UploadDocument,
        sink: Box<dyn BlobSink>,
        ctx: &AuditContext,
    ) -> Result<Document, AppError> {
        authorize(caller.user.role, Action::UploadDocuments)?;
        let UploadDocument {
            intervention_id,
            filename,
            declared_type,
            description,
        } = cmd;
        let accepted = check_file(
            &self.documents.allow,
            &filename,
            declared_type.as_deref(),
            sink.size(),
            sink.head(),
        )
        .map_err(refusal)?;
        let sealed = sink.seal().map_err(|e| vault_failure(&e))?;
        let now = self.ports.clock.now();
        let taille = i64::try_from(sealed.taille)
            .map_err(|_| AppError::Internal("document size overflows i64".into()))?;
        let result = self.audited(|uow, log| {
            Self::upload_target(uow, caller, intervention_id)?;
            let doc = uow.insert_document(&NewDocument {
                intervention_id,
                nom_fichier: accepted.nom_fichier,
                extension: accepted.extension,
                mime_type: accepted.mime_type.to_owned(),
                taille,
                sha256: sealed.sha256.clone(),
                nom_stockage: sealed.nom_stockage.clone(),
                cle_id: sealed.cle_id.clone(),
                description,
                uploaded_by_id: Some(caller.user.id),
                date_upload: now,
            })?;
            log.push(
                uow,
                Audit::new(AuditEventType::DocUploaded, true, ctx, now)
                    .user(caller.user.id, caller.user.username.as_str())
                    .resource(format!("document:{}", doc.id))
                    .action("upload")
                    .details(json!({
                        "intervention_id": doc.intervention_id.get(),
                        "filename": doc.nom_fichier,
                        "mime_type": doc.mime_type,
                        "taille": doc.taille,
                        "sha256": doc.sha256,
                    })),
            )?;
            Ok(Outcome::Done(doc))
        });
        match &result {
            Ok(doc) => crate::telemetry::document_uploaded(&doc.extension),
            Err(_) => self.discard_blob(&sealed.nom_stockage),
        }
        result
    }

    fn discard_blob(&self, nom_stockage: &str) {
        if let Err(e) = self.ports.documents.delete(nom_stockage) {
            tracing::warn!(blob = nom_stockage, error = %e, "could not remove a document blob; housekeeping will");
        }
    }

    /// The document if the caller may read its intervention.
    fn readable_document(
        uow: &mut dyn UnitOfWork,
        caller: &Caller,
        id: DocumentId,
    ) -> Result<Document, AppError> {
        let doc = uow.document_by_id(id)?.ok_or_else(not_found)?;
        Self::visible_intervention(uow, caller, doc.intervention_id).map_err(|_| not_found())?;
        Ok(doc)
    }

    /// `GET /documents` (admin, responsable): newest first.
    ///
    /// # Errors
    /// 403.
    pub fn list_documents(
        &self,
        caller: &Caller,
        filter: &DocumentFilter,
        page: Page,
    ) -> Result<Listed<Document>, AppError> {
        authorize(caller.user.role, Action::ListAllDocuments)?;
        transaction(self.ports.db.as_ref(), TransactionMode::Autocommit, |uow| {
            Ok(uow.list_documents(filter, page)?)
        })
    }

    /// `GET /interventions/{id}/documents` and `GET /documents/{intervention_id}`.
    ///
    /// # Errors
    /// 403; 404 "Intervention introuvable" (also outside a client's account).
    pub fn intervention_documents(
        &self,
        caller: &Caller,
        id: InterventionId,
        page: Page,
    ) -> Result<Listed<Document>, AppError> {
        authorize(caller.user.role, Action::ReadDocuments)?;
        transaction(self.ports.db.as_ref(), TransactionMode::ReadOnly, |uow| {
            Self::visible_intervention(uow, caller, id)?;
            let filter = DocumentFilter {
                intervention_id: Some(id.get()),
                ..DocumentFilter::default()
            };
            Ok(uow.list_documents(&filter, page)?)
        })
    }

    /// `GET /documents/{id}/meta`.
    ///
    /// # Errors
    /// 403; 404 "Document non trouvé".
    pub fn document_meta(&self, caller: &Caller, id: DocumentId) -> Result<Document, AppError> {
        authorize(caller.user.role, Action::ReadDocuments)?;
        transaction(self.ports.db.as_ref(), TransactionMode::ReadOnly, |uow| {
            Self::readable_document(uow, caller, id)
        })
    }

    /// `GET /documents/{id}/download`: a reader of the plaintext, handed out only once the
    /// whole blob was authenticated and checked against its SHA-256 (the caller streams it
    /// afterwards, in bounded memory), and a `doc.accessed` audit. A blob replaced by a
    /// concurrent key rotation is followed.
    ///
    /// # Errors
    /// 403; 404; 500 when the blob is missing, undecryptable (tampered, truncated) or corrupt.
    pub fn download_document(
        &self,
        caller: &Caller,
        id: DocumentId,
        ctx: &AuditContext,
    ) -> Result<(Document, Box<dyn PlainReader>), AppError> {
        authorize(caller.user.role, Action::ReadDocuments)?;
        let read = || {
            transaction(self.ports.db.as_ref(), TransactionMode::ReadOnly, |uow| {
                Self::readable_document(uow, caller, id)
            })
        };
        let mut doc = read()?;
        let plaintext = match self.ports.documents.open(&doc.nom_stockage, &doc.sha256) {
            Ok(reader) => reader,
            Err(VaultError::Missing(_)) => {
                let again = read()?;
                if again.nom_stockage == doc.nom_stockage {
                    return Err(AppError::Internal(format!(
                        "document {id}: blob {} missing",
                        doc.nom_stockage
                    )));
                }
                doc = again;
                self.ports
                    .documents
                    .open(&doc.nom_stockage, &doc.sha256)
                    .map_err(|e| vault_failure(&e))?
            }
            Err(e) => return Err(vault_failure(&e)),
        };
        let now = self.ports.clock.now();
        self.audited(|uow, log| {
            log.push(
                uow,
                Audit::new(AuditEventType::DocAccessed, true, ctx, now)
                    .user(caller.user.id, caller.user.username.as_str())
                    .resource(format!("document:{id}"))
                    .action("download")
                    .details(json!({"intervention_id": doc.intervention_id.get()})),
            )?;
            Ok(Outcome::Done(()))
        })?;
        crate::telemetry::document_downloaded();
        Ok((doc, plaintext))
    }

    /// `DELETE /documents/{id}`: the row and its audit in one transaction, the blob after.
    ///
    /// # Errors
    /// 403; 404.
    pub fn delete_document(
        &self,
        caller: &Caller,
        id: DocumentId,
        ctx: &AuditContext,
    ) -> Result<(), AppError> {
        authorize(caller.user.role, Action::DeleteDocuments)?;
        let now = self.ports.clock.now();
        let doc = self.audited(|uow, log| {
            let doc = uow.document_by_id(id)?.ok_or_else(not_found)?;
            uow.delete_document(id)?;
            log.push(
                uow,
                Audit::new(AuditEventType::DocDeleted, true, ctx, now)
                    .user(caller.user.id, caller.user.username.as_str())
                    .resource(format!("document:{id}"))
                    .action("delete")
                    .details(json!({
                        "intervention_id": doc.intervention_id.get(),
                        "filename": doc.nom_fichier,
                    })),
            )?;
            Ok(Outcome::Done(doc))
        })?;
        self.discard_blob(&doc.nom_stockage);
        Ok(())
    }
}

/// What a key rotation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RotationReport {
    /// Rows found under an older key.
    pub examined: usize,
    /// Re-encrypted under the newest key.
    pub reencrypted: usize,
    /// Changed or deleted concurrently: left alone.
    pub skipped: usize,
    /// Could not be re-encrypted (missing, undecryptable or corrupt blob); logged.
    pub failed: usize,
}

/// What the rotation needs: storage, the vault and the clock (for its audit event).
#[derive(Debug, Clone, Copy)]
pub struct RotationDeps<'a> {
    /// Storage.
    pub db: &'a dyn TransactionRunner,
    /// The vault, whose first key is the target.
    pub vault: &'a dyn DocumentVault,
    /// Time.
    pub clock: &'a dyn erp_domain::Clock,
}

/// `erp keys rotate-fernet`: re-encrypts every document whose `cle_id` is not the newest
/// key's. Per document: a new blob is written under a new name, the row is switched to it only
/// if it still names the old blob, and the old blob is removed after that commit. Readers keep
/// working throughout; an interruption leaves at most one orphan blob (housekeeping removes
/// it), and a re-run picks up the rows still under an old key. `progress` is called after each
/// document.
///
/// # Errors
/// Storage failures (per-document vault failures are counted in [`RotationReport::failed`]).
pub fn rotate_document_keys(
    deps: RotationDeps<'_>,
    progress: &mut dyn FnMut(&RotationReport),
) -> Result<RotationReport, AppError> {
    let target = deps.vault.current_key_id();
    let mut report = RotationReport::default();
    let mut after = DocumentId::new(0);
    loop {
        let batch = transaction(deps.db, TransactionMode::ReadOnly, |uow| {
            Ok::<_, AppError>(uow.documents_not_under_key(&target, after, ROTATION_BATCH)?)
        })?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        for doc in batch {
            report.examined += 1;
            match rotate_one(deps, &doc) {
                Ok(true) => report.reencrypted += 1,
                Ok(false) => report.skipped += 1,
                Err(e) => {
                    tracing::error!(document = doc.id.get(), error = %e, "document not re-encrypted");
                    report.failed += 1;
                }
            }
            progress(&report);
        }
    }
    let now = deps.clock.now();
    transaction(deps.db, TransactionMode::ReadWrite, |uow| {
        let audit = Audit::new(
            AuditEventType::KeyRotation,
            report.failed == 0,
            &AuditContext::default(),
            now,
        )
        .resource("documents".into())
        .action("rotate-fernet")
        .details(json!({
            "cle_id": target,
            "examined": report.examined,
            "reencrypted": report.reencrypted,
            "skipped": report.skipped,
            "failed": report.failed,
        }));
        Ok::<_, AppError>(uow.append_audit(&audit.event)?)
    })?;
    Ok(report)
}

fn rotate_one(deps: RotationDeps<'_>, doc: &Document) -> Result<bool, AppError> {
    let sealed: SealedBlob = deps
        .vault
        .reencrypt(&doc.nom_stockage, &doc.sha256)
        .map_err(|e| vault_failure(&e))?;
    let switched = transaction(deps.db, TransactionMode::ReadWrite, |uow| {
        Ok::<_, AppError>(uow.replace_document_blob(
            doc.id,
            &doc.nom_stockage,
            &sealed.nom_stockage,
            &sealed.cle_id,
        )?)
    });
    let stale = if matches!(switched, Ok(true)) {
        &doc.nom_stockage
    } else {
        &sealed.nom_stockage
    };
    if let Err(e) = deps.vault.delete(stale) {
        tracing::warn!(blob = %stale, error = %e, "could not remove a document blob; housekeeping will");
    }
    switched
}

#[cfg(test)]
mod tests {
    use super::*;

    mod use_cases;

    #[test]
    fn descriptions_are_trimmed_and_bounded() {
        assert_eq!(parse_description("  "), Ok(None));
        assert_eq!(parse_description(" note "), Ok(Some("note".into())));
        assert!(parse_description(&"é".repeat(1000)).is_ok());
        assert_eq!(
            parse_description(&"é".repeat(1001)).unwrap_err().code,
            ViolationCode::TooLong
        );
    }

    #[test]
    fn refusals_map_to_their_contract_errors() {
        assert_eq!(
            refusal(FileRefusal::NoExtension),
            AppError::Rejected("Le fichier doit avoir une extension valide".into())
        );
        assert_eq!(
            refusal(FileRefusal::TypeNotAllowed),
            AppError::UnsupportedContent("Type de fichier non autorisé".into())
        );
        assert!(matches!(
            refusal(FileRefusal::Empty),
            AppError::Invalid { message: Some(m), .. } if m == "Le fichier est vide"
        ));
        assert_eq!(
            too_large_message(10_485_760),
            "Fichier trop volumineux (maximum 10485760 octets)"
        );
    }
}
