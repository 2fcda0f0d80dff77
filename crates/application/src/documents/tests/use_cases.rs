//! Documents: who uploads, lists, reads and deletes; the upload's target (visible, assigned
//! to a technicien); the file checks' 400 / 415 / 422; rows and blobs kept consistent; the
//! audit of uploads, downloads and deletions; the key rotation.

use erp_domain::audit::AuditEventType;
use erp_domain::document::{Document, DocumentFilter};
use erp_domain::intervention::{Intervention, InterventionId};
use erp_domain::list::Page;
use erp_domain::{DocumentId, UserRole};

use crate::documents::{RotationDeps, RotationReport, UploadDocument, rotate_document_keys};
use crate::fakes::assert::{
    assert_bad_request, assert_forbidden, assert_internal, assert_invalid, assert_not_found,
    assert_role_refused, assert_unsupported,
};
use crate::fakes::ports::CURRENT_KEY;
use crate::fakes::world::{World, ctx};
use crate::{AppError, Caller};

const PAGE: Page = Page {
    limit: 50,
    offset: 0,
};
const PDF: &[u8] = b"%PDF-1.7 rapport";

fn upload(
    w: &World,
    caller: &Caller,
    i: InterventionId,
    name: &str,
    bytes: &[u8],
) -> Result<Document, AppError> {
    let mut sink = w.app.start_upload().unwrap();
    sink.write(bytes).unwrap();
    w.app.finish_upload(
        caller,
        UploadDocument {
            intervention_id: i,
            filename: name.into(),
            declared_type: None,
            description: Some("Photo".into()),
        },
        sink,
        &ctx(),
    )
}

/// An intervention of a client account, assigned to a technicien: (intervention, its
/// client, its technicien).
fn scene(w: &World) -> (Intervention, Caller, Caller) {
    let client = w.caller(UserRole::Client);
    let (t, tech) = w.technicien("tech");
    let e = w.equipement("Pompe", client.user.client_id);
    (w.intervention(&e, Some(t)), client, tech)
}

#[test]
fn the_document_role_matrix() {
    let w = World::new();
    let (i, client, tech) = scene(&w);
    assert_role_refused(w.app.check_upload_target(&client, i.id(), &ctx()));
    assert_role_refused(upload(&w, &client, i.id(), "a.pdf", PDF));
    for c in [&client, &tech] {
        assert_role_refused(w.app.list_documents(c, &DocumentFilter::default(), PAGE));
        assert_role_refused(w.app.delete_document(c, DocumentId::new(1), &ctx()));
    }
    let resp = w.caller(UserRole::Responsable);
    assert!(w.app.check_upload_target(&resp, i.id(), &ctx()).is_ok());
    assert!(w.app.check_upload_target(&tech, i.id(), &ctx()).is_ok());
    assert!(
        w.app
            .list_documents(&resp, &DocumentFilter::default(), PAGE)
            .is_ok()
    );
    assert!(w.app.intervention_documents(&client, i.id(), PAGE).is_ok());
}

#[test]
fn the_upload_target_must_exist_and_be_the_technicien_s_own() {
    let w = World::new();
    let (i, _, _) = scene(&w);
    let admin = w.caller(UserRole::Admin);
    assert_not_found(
        w.app
            .check_upload_target(&admin, InterventionId::new(99), &ctx()),
        "Intervention cible introuvable",
    );
    let (_, stranger) = w.technicien("autre");
    assert_forbidden(
        w.app.check_upload_target(&stranger, i.id(), &ctx()),
        "Intervention non affectée à ce technicien",
    );
    let e = w.last_audit();
    assert_eq!(e.event_type, AuditEventType::RbacViolation);
    assert_eq!(e.user_id, Some(stranger.user.id));
    assert_forbidden(
        upload(&w, &stranger, i.id(), "a.pdf", PDF),
        "Intervention non affectée à ce technicien",
    );
    assert!(w.db.snapshot().documents.is_empty());
    assert!(
        w.vault.with(|v| v.blobs.is_empty()),
        "the sealed blob is removed again"
    );
}

#[test]
fn an_upload_stores_the_row_the_blob_and_an_audit() {
    let w = World::new();
    let (i, _, tech) = scene(&w);
    let doc = upload(&w, &tech, i.id(), "C:\\photos\\rapport.pdf", PDF).unwrap();
    assert_eq!(doc.nom_fichier, "rapport.pdf");
    assert_eq!(doc.extension, "pdf");
    assert_eq!(doc.mime_type, "application/pdf");
    assert_eq!(doc.taille, 16);
    assert_eq!(doc.cle_id, CURRENT_KEY);
    assert_eq!(doc.uploaded_by_id, Some(tech.user.id));
    assert_eq!(doc.description.as_deref(), Some("Photo"));
    assert!(w.vault.with(|v| v.blobs.contains_key(&doc.nom_stockage)));
    let e = w.last_audit();
    assert_eq!(e.event_type, AuditEventType::DocUploaded);
    assert_eq!(e.resource, Some(format!("document:{}", doc.id)));
    let d = e.details.unwrap();
    assert_eq!(d["filename"], "rapport.pdf");
    assert_eq!(d["taille"], 16);
    assert_eq!(d["intervention_id"], i.id().get());
}

#[test]
fn refused_files_leave_nothing_behind() {
    let w = World::new();
    let (i, _, tech) = scene(&w);
    assert_bad_request(
        upload(&w, &tech, i.id(), "rapport", PDF),
        "Le fichier doit avoir une extension valide",
    );
    assert_unsupported(
        upload(&w, &tech, i.id(), "virus.exe", b"MZ\x90\x00"),
        "Type de fichier non autorisé",
    );
    assert_unsupported(
        upload(&w, &tech, i.id(), "faux.pdf", b"GIF89a"),
        "Type de fichier non autorisé",
    );
    let (message, _) = assert_invalid(
        upload(&w, &tech, i.id(), "vide.pdf", b""),
        "file",
        erp_domain::ViolationCode::InvalidValue,
    );
    assert_eq!(message.as_deref(), Some("Le fichier est vide"));
    assert!(w.db.snapshot().documents.is_empty());
    assert!(w.vault.with(|v| v.blobs.is_empty()));
}

#[test]
fn a_client_reads_only_their_account_s_documents() {
    let w = World::new();
    let (i, client, tech) = scene(&w);
    let doc = upload(&w, &tech, i.id(), "a.pdf", PDF).unwrap();
    assert_eq!(w.app.document_meta(&client, doc.id).unwrap().id, doc.id);
    assert_eq!(
        w.app
            .intervention_documents(&client, i.id(), PAGE)
            .unwrap()
            .total,
        1
    );
    let other = w.caller_named(UserRole::Client, "autreclient");
    assert_not_found(w.app.document_meta(&other, doc.id), "Document non trouvé");
    assert_not_found(
        w.app
            .download_document(&other, doc.id, &ctx())
            .map(|(d, _)| d),
        "Document non trouvé",
    );
    assert_not_found(
        w.app.intervention_documents(&other, i.id(), PAGE),
        "Intervention introuvable",
    );
    assert_not_found(
        w.app.document_meta(&client, DocumentId::new(99)),
        "Document non trouvé",
    );
}

#[test]
fn a_download_hands_out_the_plaintext_and_is_audited() {
    let w = World::new();
    let (i, client, tech) = scene(&w);
    let doc = upload(&w, &tech, i.id(), "a.pdf", PDF).unwrap();
    let (meta, mut reader) = w.app.download_document(&client, doc.id, &ctx()).unwrap();
    assert_eq!(meta.id, doc.id);
    let mut buf = vec![0; 64];
    let n = reader.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], PDF);
    let e = w.last_audit();
    assert_eq!(e.event_type, AuditEventType::DocAccessed);
    assert_eq!(e.user_id, Some(client.user.id));
}

#[test]
fn a_missing_blob_is_a_500() {
    let w = World::new();
    let (i, client, tech) = scene(&w);
    let doc = upload(&w, &tech, i.id(), "a.pdf", PDF).unwrap();
    w.vault.with(|v| v.blobs.clear());
    assert_internal(
        w.app
            .download_document(&client, doc.id, &ctx())
            .map(|(d, _)| d),
    );
    assert_ne!(w.last_audit().event_type, AuditEventType::DocAccessed);
}

#[test]
fn a_deletion_removes_the_row_then_the_blob() {
    let w = World::new();
    let (i, _, tech) = scene(&w);
    let doc = upload(&w, &tech, i.id(), "a.pdf", PDF).unwrap();
    let resp = w.caller(UserRole::Responsable);
    w.app.delete_document(&resp, doc.id, &ctx()).unwrap();
    assert!(w.db.snapshot().documents.is_empty());
    assert!(w.vault.with(|v| v.blobs.is_empty()));
    let e = w.last_audit();
    assert_eq!(e.event_type, AuditEventType::DocDeleted);
    assert_eq!(e.details.unwrap()["filename"], "a.pdf");
    assert_not_found(
        w.app.delete_document(&resp, doc.id, &ctx()),
        "Document non trouvé",
    );
}

#[test]
fn the_rotation_re_encrypts_old_documents_and_counts_failures() {
    let w = World::new();
    let (i, _, tech) = scene(&w);
    let fresh = upload(&w, &tech, i.id(), "neuf.pdf", PDF).unwrap();
    let old = w.document_row(i.id(), "old.enc");
    let broken = w.document_row(i.id(), "broken.enc");
    w.vault.with(|v| {
        v.blobs
            .insert("old.enc".into(), (b"abc".to_vec(), "key-1".into()));
        v.blobs
            .insert("broken.enc".into(), (b"abc".to_vec(), "key-1".into()));
        v.broken.push("broken.enc".into());
    });
    let mut seen = 0;
    let report = rotate_document_keys(
        RotationDeps {
            db: w.db.as_ref(),
            vault: &w.vault,
            clock: w.clock.as_ref(),
        },
        &mut |_| seen += 1,
    )
    .unwrap();
    assert_eq!(
        report,
        RotationReport {
            examined: 2,
            reencrypted: 1,
            skipped: 0,
            failed: 1
        }
    );
    assert_eq!(seen, 2);
    let docs = w.db.snapshot().documents;
    let row = |id| docs.iter().find(|d| d.id == id).unwrap().clone();
    assert_eq!(row(old.id).cle_id, CURRENT_KEY);
    assert_ne!(row(old.id).nom_stockage, "old.enc");
    assert!(
        !w.vault.with(|v| v.blobs.contains_key("old.enc")),
        "old blob removed"
    );
    assert_eq!(row(broken.id).cle_id, "key-1");
    assert_eq!(row(fresh.id), fresh);
    let e = w.last_audit();
    assert_eq!(e.event_type, AuditEventType::KeyRotation);
    assert!(!e.success);
    assert_eq!(e.details.unwrap()["reencrypted"], 1);
}
