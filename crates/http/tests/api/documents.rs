//! Documents (API.md §3.9) through the real app on SQLite and PostgreSQL: every upload check in
//! contract order, the three upload paths, encrypted storage on disk, download headers, lists,
//! deletion, client visibility, the key ring and `rotate-fernet`'s re-encryption; tampered,
//! truncated and missing blobs (no plaintext byte, a 500 envelope and a log line); and the same
//! on the S3 blob store (a real moto server, see `erp_storage::testing`).

#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions: failing loudly is the point"
)]

use crate::support;

use actix_web::http::{Method, StatusCode};
use actix_web::test::TestRequest;
use erp_application::documents::{DocumentPolicy, RotationDeps, rotate_document_keys};
use erp_domain::ports::{BlobStore, DocumentVault as _};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use support::world::create;
use support::{App, Harness, Res, World};

const BOUNDARY: &str = "----erp-test-boundary-7MA4YWxkTrZu0gW";
const PDF: &[u8] = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";

/// The shared world plus the two interventions the documents hang on.
struct DocWorld {
    world: World,
    /// Assigned to `tech`, on the client's équipement.
    intervention: i64,
    /// Not assigned, not the client's.
    other_intervention: i64,
}

impl std::ops::Deref for DocWorld {
    type Target = World;

    fn deref(&self) -> &World {
        &self.world
    }
}

async fn world(h: &Harness) -> DocWorld {
    let world = World::builder()
        .samir(false)
        .client2()
        .client_equipement("Chaudière", "chaudiere", "B")
        .equipement("Pompe", "pompe", "A")
        .build(h)
        .await;
    let intervention = create(
        h,
        &world.admin,
        "/api/v1/interventions",
        json!({"titre": "Fuite", "type": "corrective", "equipement_id": world.client_equipement_id(), "technicien_id": world.technicien_id}),
    )
    .await;
    let other_intervention = create(
        h,
        &world.admin,
        "/api/v1/interventions",
        json!({"titre": "Bruit", "type": "diagnostic", "equipement_id": world.equipement_id()}),
    )
    .await;
    DocWorld {
        world,
        intervention,
        other_intervention,
    }
}

/// One multipart part.
struct Part<'a> {
    name: &'a str,
    filename: Option<&'a str>,
    content_type: Option<&'a str>,
    data: &'a [u8],
}

fn file<'a>(filename: &'a str, content_type: Option<&'a str>, data: &'a [u8]) -> Part<'a> {
    Part {
        name: "file",
        filename: Some(filename),
        content_type,
        data,
    }
}

fn text<'a>(name: &'a str, value: &'a str) -> Part<'a> {
    Part {
        name,
        filename: None,
        content_type: None,
        data: value.as_bytes(),
    }
}

fn body(parts: &[Part<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        out.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", p.name);
        if let Some(f) = p.filename {
            disposition.push_str(&format!("; filename=\"{f}\""));
        }
        out.extend_from_slice(disposition.as_bytes());
        out.extend_from_slice(b"\r\n");
        if let Some(ct) = p.content_type {
            out.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(p.data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

fn upload_request(uri: &str, token: Option<&str>, parts: &[Part<'_>]) -> TestRequest {
    let mut req = TestRequest::default()
        .method(Method::POST)
        .uri(uri)
        .insert_header((
            "Content-Type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        ))
        .set_payload(body(parts));
    if let Some(t) = token {
        req = req.insert_header(("Authorization", format!("Bearer {t}")));
    }
    req
}

async fn upload(h: &Harness, uri: &str, token: &str, parts: &[Part<'_>]) -> Res {
    h.call(upload_request(uri, Some(token), parts)).await
}

async fn get(h: &Harness, uri: &str, token: &str) -> Res {
    h.get(uri, token).await
}

/// A raw GET (the body is not JSON).
async fn download(
    app: &App,
    uri: &str,
    token: &str,
) -> (StatusCode, actix_web::http::header::HeaderMap, Vec<u8>) {
    use actix_web::dev::Service as _;
    let res = app
        .call(
            TestRequest::get()
                .uri(uri)
                .insert_header(("Authorization", format!("Bearer {token}")))
                .peer_addr("127.0.0.1:5555".parse().unwrap())
                .to_request(),
        )
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = actix_web::test::read_body(res).await.to_vec();
    (status, headers, bytes)
}

fn blobs(h: &Harness) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(h.docs.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(data))
}

async fn upload_checks_follow_the_contract_order(h: Harness) {
    let w = world(&h).await;
    let uri = format!("/api/v1/documents?intervention_id={}", w.intervention);
    let pdf = [file("rapport.pdf", Some("application/pdf"), PDF)];

    // 401, then 403 by role.
    let res = h.call(upload_request(&uri, None, &pdf)).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let res = upload(&h, &uri, &w.client, &pdf).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(
        res.message(),
        "Accès réservé aux rôles : admin, responsable, technicien"
    );
    // 415: not multipart.
    let res = h.post(&uri, &w.resp, json!({"file": "x"})).await;
    assert_eq!(res.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(res.body["error"]["code"], "UNSUPPORTED_MEDIA_TYPE");
    // 422: intervention id missing or not an integer.
    let res = upload(&h, "/api/v1/documents", &w.resp, &pdf).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        res.detail_codes(),
        vec![("intervention_id".into(), "required".into())]
    );
    let res = upload(&h, "/api/v1/documents?intervention_id=abc", &w.resp, &pdf).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        res.detail_codes(),
        vec![("intervention_id".into(), "invalid_type".into())]
    );
    let res = upload(&h, "/api/v1/interventions/abc/documents", &w.resp, &pdf).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let res = upload(
        &h,
        &uri,
        &w.resp,
        &[
            file("rapport.pdf", None, PDF),
            text("intervention_id", &w.other_intervention.to_string()),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        res.detail_codes(),
        vec![("intervention_id".into(), "conflicting_fields".into())]
    );
    // 404 target, before the file is looked at.
    for bad in [
        "/api/v1/documents?intervention_id=999999",
        "/api/v1/documents/upload?intervention_id=0",
        "/api/v1/interventions/999999/documents",
    ] {
        let res = upload(&h, bad, &w.resp, &[file("x.exe", None, b"MZ")]).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{bad}");
        assert_eq!(res.message(), "Intervention cible introuvable");
    }
    // 403: a technicien on an intervention not assigned to them (audited).
    let res = upload(&h, &uri, w.other_tech(), &pdf).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(res.message(), "Intervention non affectée à ce technicien");
    let res = get(
        &h,
        "/api/v1/audit/events?event_type=rbac.violation",
        &w.admin,
    )
    .await;
    assert!(
        res.body
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["details"]["reason"] == "Intervention non affectée à ce technicien")
    );
    // 422 file missing, description too long.
    let res = upload(&h, &uri, &w.resp, &[text("description", "sans fichier")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.detail_codes(), vec![("file".into(), "required".into())]);
    assert_eq!(res.body["error"]["details"][0]["location"], "form");
    let long = "d".repeat(1001);
    let res = upload(
        &h,
        &uri,
        &w.resp,
        &[file("a.pdf", None, PDF), text("description", &long)],
    )
    .await;
    assert_eq!(
        res.detail_codes(),
        vec![("description".into(), "too_long".into())]
    );
    // 400 no extension.
    for name in ["rapport", ".pdf", "rapport."] {
        let res = upload(&h, &uri, &w.resp, &[file(name, None, PDF)]).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{name}");
        assert_eq!(res.message(), "Le fichier doit avoir une extension valide");
    }
    // 415: extension, declared type, signature.
    let refused: [(&str, Option<&str>, &[u8]); 4] = [
        ("virus.exe", None, b"MZ\x90\x00"),
        ("rapport.pdf", Some("image/png"), PDF),
        ("rapport.pdf", Some("application/pdf"), b"not a pdf at all"),
        ("photo.png", None, b"GIF89a......"),
    ];
    for (name, ct, data) in refused {
        let res = upload(&h, &uri, &w.resp, &[file(name, ct, data)]).await;
        assert_eq!(
            res.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{name} {ct:?}"
        );
        assert_eq!(res.message(), "Type de fichier non autorisé");
    }
    // 422 empty.
    let res = upload(
        &h,
        &uri,
        &w.resp,
        &[file("notes.txt", Some("text/plain"), b"")],
    )
    .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.message(), "Le fichier est vide");
    // No refused upload left anything on disk.
    assert!(blobs(&h).is_empty(), "{:?}", blobs(&h));
}

async fn the_size_limit_is_413_as_soon_as_it_is_passed(h: Harness) {
    let w = world(&h).await;
    let policy = DocumentPolicy {
        max_upload_bytes: 1000,
        ..DocumentPolicy::default()
    };
    let app = support::app_over(
        &h.db,
        &h.clock,
        10_000,
        support::vault(h.docs.path(), &support::FERNET_KEY),
        policy,
    )
    .await;
    let call = |req: TestRequest| {
        use actix_web::dev::Service as _;
        let req = req
            .peer_addr("127.0.0.1:5555".parse().unwrap())
            .to_request();
        let fut = app.call(req);
        async move {
            let res = fut.await.unwrap();
            let status = res.status();
            let body: Value = serde_json::from_slice(&actix_web::test::read_body(res).await)
                .unwrap_or(Value::Null);
            (status, body)
        }
    };
    let uri = format!("/api/v1/documents?intervention_id={}", w.intervention);
    let big = vec![b'a'; 1001];
    // Over the limit: 413 even for a type that would be refused afterwards (order of §3.9).
    let (status, body) = call(upload_request(
        &uri,
        Some(&w.resp),
        &[file("big.exe", None, &big)],
    ))
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"]["code"], "PAYLOAD_TOO_LARGE");
    assert_eq!(
        body["error"]["message"],
        "Fichier trop volumineux (maximum 1000 octets)"
    );
    // A declared length far over the request limit is refused before reading.
    let huge = vec![b'a'; 70_000];
    let (status, _) = call(upload_request(
        &uri,
        Some(&w.resp),
        &[file("big.txt", None, &huge)],
    ))
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // But 404 and 403 come first.
    let (status, _) = call(upload_request(
        "/api/v1/documents?intervention_id=424242",
        Some(&w.resp),
        &[file("big.txt", None, &big)],
    ))
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(upload_request(
        &uri,
        Some(w.other_tech()),
        &[file("big.txt", None, &big)],
    ))
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Exactly the limit is accepted.
    let exact = vec![b'a'; 1000];
    let (status, body) = call(upload_request(
        &uri,
        Some(&w.resp),
        &[file("ok.txt", None, &exact)],
    ))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["taille"], 1000);
    assert_eq!(blobs(&h).len(), 1, "only the accepted file is stored");
}

async fn upload_download_list_and_delete(h: Harness) {
    let w = world(&h).await;
    // Three paths, three roles.
    let res = upload(
        &h,
        &format!("/api/v1/documents?intervention_id={}", w.intervention),
        &w.resp,
        &[
            text("description", "  Rapport de visite  "),
            file(
                "C:\\tmp\\../Rapport été <final>.pdf",
                Some("application/pdf"),
                PDF,
            ),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let id = res.body["id"].as_i64().unwrap();
    assert_eq!(
        res.header("location"),
        Some(format!("/api/v1/documents/{id}/meta").as_str())
    );
    let d = &res.body;
    assert_eq!(d["intervention_id"], w.intervention);
    assert_eq!(d["filename"], "Rapport été final.pdf");
    assert_eq!(d["path"], format!("/api/v1/documents/{id}/download"));
    assert_eq!(d["taille"], PDF.len());
    assert_eq!(d["mime_type"], "application/pdf");
    assert_eq!(d["sha256"], sha256_hex(PDF));
    assert_eq!(d["description"], "Rapport de visite");
    assert!(d["uploaded_by_id"].is_i64());
    assert!(d["date_upload"].as_str().unwrap().ends_with('Z'));
    let png = b"\x89PNG\r\n\x1A\n\x00\x00\x00\rIHDR-image";
    let res = upload(
        &h,
        &format!("/api/v1/interventions/{}/documents", w.intervention),
        &w.tech,
        &[file("photo.PNG", Some("image/png"), png)],
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    assert_eq!(res.body["description"], Value::Null);
    let tech_id = res.body["uploaded_by_id"].as_i64().unwrap();
    let csv = "date;mesure\n2026-01-01;4,2\n".repeat(20_000);
    let res = upload(
        &h,
        "/api/v1/documents/upload",
        &w.admin,
        &[
            text("intervention_id", &w.other_intervention.to_string()),
            file(
                "mesures.csv",
                Some("application/vnd.ms-excel"),
                csv.as_bytes(),
            ),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    assert_eq!(res.body["mime_type"], "text/csv");
    let csv_id = res.body["id"].as_i64().unwrap();

    // On disk: three random names, none holding its plaintext.
    let files = blobs(&h);
    assert_eq!(files.len(), 3);
    for f in &files {
        let name = f.file_name().unwrap().to_str().unwrap();
        assert!(erp_domain::document::is_blob_name(name), "{name}");
        let raw = std::fs::read(f).unwrap();
        for plain in [PDF, &png[..], csv.as_bytes()] {
            assert!(
                !raw.windows(16).any(|win| win == &plain[..16]),
                "plaintext on disk in {name}"
            );
        }
    }

    // Download: exact bytes and the contract's headers; audited.
    let (status, headers, bytes) = download(
        &h.app,
        &format!("/api/v1/documents/{id}/download"),
        &w.client,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, PDF);
    let header = |n: &str| headers.get(n).unwrap().to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "application/pdf");
    // Content-Length is written by the HTTP codec (checked against the real binary in the
    // server's smoke suite); in-process the body is sized.
    assert_eq!(
        header("content-disposition"),
        "attachment; filename=\"Rapport _t_ final.pdf\"; filename*=UTF-8''Rapport%20%C3%A9t%C3%A9%20final.pdf"
    );
    assert_eq!(header("etag"), format!("\"{}\"", sha256_hex(PDF)));
    let (status, _, bytes) = download(
        &h.app,
        &format!("/api/v1/documents/{csv_id}/download"),
        &w.tech,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, csv.as_bytes());
    let res = get(
        &h,
        "/api/v1/audit/events?event_type=doc.uploaded,doc.accessed",
        &w.admin,
    )
    .await;
    assert_eq!(res.header("x-total-count"), Some("5"), "{}", res.body);

    // Meta and lists.
    let res = get(&h, &format!("/api/v1/documents/{id}/meta"), &w.tech).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body["filename"], "Rapport été final.pdf");
    let res = get(&h, "/api/v1/documents", &w.resp).await;
    assert_eq!(res.header("x-total-count"), Some("3"));
    let ids = res.ids();
    assert_eq!(ids[0], csv_id, "newest first");
    for (query, total) in [
        (format!("intervention_id={}", w.intervention), "2"),
        (format!("uploaded_by_id={tech_id}"), "1"),
        ("mime_type=TEXT/CSV".to_owned(), "1"),
        ("intervention_id=0".to_owned(), "0"),
        ("limit=1".to_owned(), "3"),
    ] {
        let res = get(&h, &format!("/api/v1/documents?{query}"), &w.resp).await;
        assert_eq!(res.header("x-total-count"), Some(total), "{query}");
    }
    assert_eq!(
        get(&h, "/api/v1/documents?limit=0", &w.resp).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        get(&h, "/api/v1/documents", &w.tech).await.status,
        StatusCode::FORBIDDEN
    );
    for uri in [
        format!("/api/v1/interventions/{}/documents", w.intervention),
        format!("/api/v1/documents/{}", w.intervention),
    ] {
        let res = get(&h, &uri, &w.tech).await;
        assert_eq!(res.status, StatusCode::OK, "{uri}");
        assert_eq!(res.header("x-total-count"), Some("2"));
    }
    for uri in [
        "/api/v1/interventions/999999/documents",
        "/api/v1/documents/999999",
    ] {
        let res = get(&h, uri, &w.resp).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(res.message(), "Intervention introuvable");
    }
    let res = get(&h, "/api/v1/documents/999999/meta", &w.resp).await;
    assert_eq!(res.message(), "Document non trouvé");
    assert_eq!(
        get(&h, "/api/v1/documents/abc/meta", &w.resp).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let res = get(&h, "/api/v1/documents/upload", &w.resp).await;
    assert_eq!(
        res.status,
        StatusCode::METHOD_NOT_ALLOWED,
        "literal segment wins"
    );

    // Delete: roles, row, blob after commit, audit.
    let res = h.delete(&format!("/api/v1/documents/{id}"), &w.tech).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = h.delete(&format!("/api/v1/documents/{id}"), &w.resp).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body, json!({"detail": "Document supprimé"}));
    assert_eq!(blobs(&h).len(), 2, "the blob goes with its row");
    assert_eq!(
        get(&h, &format!("/api/v1/documents/{id}/meta"), &w.resp)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let (status, _, _) =
        download(&h.app, &format!("/api/v1/documents/{id}/download"), &w.resp).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let res = h.delete(&format!("/api/v1/documents/{id}"), &w.resp).await;
    assert_eq!(res.message(), "Document non trouvé");
    let res = get(&h, "/api/v1/audit/events?event_type=doc.deleted", &w.admin).await;
    assert_eq!(res.header("x-total-count"), Some("1"));
}

async fn clients_see_only_their_account(h: Harness) {
    let w = world(&h).await;
    let res = upload(
        &h,
        &format!("/api/v1/documents?intervention_id={}", w.intervention),
        &w.resp,
        &[file("a.txt", None, b"note client")],
    )
    .await;
    let mine = res.body["id"].as_i64().unwrap();
    let res = upload(
        &h,
        &format!("/api/v1/documents?intervention_id={}", w.other_intervention),
        &w.resp,
        &[file("b.txt", None, b"note interne")],
    )
    .await;
    let theirs = res.body["id"].as_i64().unwrap();
    // Own account: list, meta, download.
    let res = get(
        &h,
        &format!("/api/v1/interventions/{}/documents", w.intervention),
        &w.client,
    )
    .await;
    assert_eq!(res.header("x-total-count"), Some("1"));
    assert_eq!(
        get(&h, &format!("/api/v1/documents/{mine}/meta"), &w.client)
            .await
            .status,
        StatusCode::OK
    );
    // Another account's documents behave as nonexistent.
    for (token, doc, intervention) in [
        (w.client.as_str(), theirs, w.other_intervention),
        (w.other_client(), mine, w.intervention),
    ] {
        let res = get(&h, &format!("/api/v1/documents/{doc}/meta"), token).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        assert_eq!(res.message(), "Document non trouvé");
        let (status, _, bytes) =
            download(&h.app, &format!("/api/v1/documents/{doc}/download"), token).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(!bytes.windows(4).any(|w| w == b"note"));
        let res = get(
            &h,
            &format!("/api/v1/interventions/{intervention}/documents"),
            token,
        )
        .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        assert_eq!(res.message(), "Intervention introuvable");
    }
    assert_eq!(
        get(&h, "/api/v1/documents", &w.client).await.status,
        StatusCode::FORBIDDEN
    );
    let res = h
        .delete(&format!("/api/v1/documents/{mine}"), &w.client)
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
}

async fn broken_blobs_are_500_without_details(h: Harness) {
    let w = world(&h).await;
    let res = upload(
        &h,
        &format!("/api/v1/documents?intervention_id={}", w.intervention),
        &w.resp,
        &[file("a.txt", None, b"contenu")],
    )
    .await;
    let id = res.body["id"].as_i64().unwrap();
    let path = blobs(&h).pop().unwrap();
    std::fs::write(&path, b"gAAAAAB-not-a-token").unwrap();
    let (status, _, bytes) =
        download(&h.app, &format!("/api/v1/documents/{id}/download"), &w.resp).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["error"]["code"], "INTERNAL_SERVER_ERROR");
    assert!(!body.to_string().contains(".enc"));
    std::fs::remove_file(&path).unwrap();
    let (status, _, _) =
        download(&h.app, &format!("/api/v1/documents/{id}/download"), &w.resp).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
}

async fn old_keys_decrypt_and_rotation_moves_everything_to_the_newest(h: Harness) {
    let w = world(&h).await;
    let uri = format!("/api/v1/documents?intervention_id={}", w.intervention);
    let mut ids = Vec::new();
    for (name, data) in [("a.txt", &b"premier document"[..]), ("b.pdf", PDF)] {
        let res = upload(&h, &uri, &w.resp, &[file(name, None, data)]).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        ids.push(res.body["id"].as_i64().unwrap());
    }
    let old_key = support::FERNET_KEY.clone();
    let new_key =
        secrecy::ExposeSecret::expose_secret(&erp_security::keys::generate_fernet_key()).to_owned();
    let ring = format!("{new_key},{old_key}");
    let vault = support::vault(h.docs.path(), &ring);
    let old_id = support::vault(h.docs.path(), &old_key).current_key_id();
    assert_ne!(vault.current_key_id(), old_id);
    // A new first key: old documents still download, new ones use the new key.
    let app = support::app_over(
        &h.db,
        &h.clock,
        10_000,
        Arc::clone(&vault),
        DocumentPolicy::default(),
    )
    .await;
    let (status, _, bytes) = download(
        &app,
        &format!("/api/v1/documents/{}/download", ids[1]),
        &w.resp,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, PDF);
    let keys_of = |h: &Harness| -> Vec<String> {
        erp_application::tx::transaction(
            h.db.as_ref(),
            erp_domain::ports::TransactionMode::ReadOnly,
            |uow| uow.list_documents(&Default::default(), erp_domain::list::Page::default()),
        )
        .unwrap()
        .items
        .into_iter()
        .map(|d| d.cle_id)
        .collect()
    };
    assert_eq!(keys_of(&h), vec![old_id.clone(), old_id.clone()]);
    // Rotation: every row and blob under the newest key; the old blobs are gone.
    let before = blobs(&h);
    let deps = RotationDeps {
        db: h.db.as_ref(),
        vault: vault.as_ref(),
        clock: &erp_domain::SystemClock,
    };
    let mut calls = 0;
    let report = rotate_document_keys(deps, &mut |_| calls += 1).unwrap();
    assert_eq!(
        (report.examined, report.reencrypted, report.failed),
        (2, 2, 0)
    );
    assert_eq!(calls, 2);
    assert_eq!(
        keys_of(&h),
        vec![vault.current_key_id(), vault.current_key_id()]
    );
    let after = blobs(&h);
    assert_eq!(after.len(), 2);
    assert!(
        after.iter().all(|f| !before.contains(f)),
        "new blob names, old blobs removed"
    );
    // Only the new key is needed now; a re-run is a no-op.
    let only_new = support::vault(h.docs.path(), &new_key);
    let app = support::app_over(&h.db, &h.clock, 10_000, only_new, DocumentPolicy::default()).await;
    for (id, data) in ids.iter().zip([&b"premier document"[..], PDF]) {
        let (status, _, bytes) =
            download(&app, &format!("/api/v1/documents/{id}/download"), &w.resp).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(bytes, data);
    }
    let report = rotate_document_keys(deps, &mut |_| {}).unwrap();
    assert_eq!(report, Default::default());
    assert_eq!(blobs(&h), after);
    let res = get(
        &h,
        "/api/v1/audit/events?event_type=system.key.rotation",
        &w.admin,
    )
    .await;
    assert_eq!(res.header("x-total-count"), Some("2"));
}

async fn housekeeping_removes_only_orphan_blobs(h: Harness) {
    let w = world(&h).await;
    let res = upload(
        &h,
        &format!("/api/v1/interventions/{}/documents", w.intervention),
        &w.tech,
        &[file("rapport.pdf", Some("application/pdf"), PDF)],
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let id = res.body["id"].as_i64().unwrap();
    let kept = blobs(&h);
    assert_eq!(kept.len(), 1);
    let dir = h.docs.path();
    let orphan = dir.join("0123456789abcdef0123456789abcdef.enc");
    let partial = dir.join("fedcba9876543210fedcba9876543210.enc.part");
    let fresh = dir.join("00000000000000000000000000000000.enc");
    let foreign = dir.join("README.txt");
    for p in [&orphan, &partial, &fresh, &foreign] {
        std::fs::write(p, b"x").unwrap();
    }
    // Everything but `fresh` is two hours old, the referenced blob included.
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    for p in kept.iter().chain([&orphan, &partial, &foreign]) {
        std::fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    let app = support::application_with(
        Arc::clone(&h.db),
        Arc::clone(&h.clock) as _,
        support::vault(dir, &support::FERNET_KEY),
    );
    let report = app
        .run_housekeeping(erp_application::jobs::Retention { audit_days: 0 })
        .unwrap();
    assert_eq!(report.blobs, 2, "the orphan and the half-written blob");
    assert!(!orphan.exists() && !partial.exists());
    assert!(
        fresh.exists(),
        "younger than an hour: maybe an upload about to commit"
    );
    assert!(foreign.exists(), "not a blob name: never touched");
    assert!(kept[0].exists(), "a blob its row names stays");
    let (status, _, bytes) =
        download(&h.app, &format!("/api/v1/documents/{id}/download"), &w.tech).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, PDF);
}

/// Log lines written on this thread while the guard lives.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let logs = self.clone();
        tracing::subscriber::set_default(
            tracing_subscriber::fmt()
                .with_ansi(false)
                .with_writer(move || logs.clone())
                .finish(),
        )
    }
    fn take(&self) -> String {
        String::from_utf8_lossy(&std::mem::take(&mut *self.0.lock().unwrap())).into_owned()
    }
}

/// Runs blocking storage calls on a thread of their own (the S3 store may not be called from
/// the test's async runtime, exactly as the server calls it only from blocking threads).
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join().unwrap())
}

fn raw_blob(store: &dyn BlobStore, name: &str) -> Vec<u8> {
    off_runtime(|| read_blob(store, name))
}

fn read_blob(store: &dyn BlobStore, name: &str) -> Vec<u8> {
    let mut reader = store.open(name).unwrap();
    let mut out = Vec::new();
    let mut buf = vec![0_u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&buf[..n]);
    }
}

fn put_raw(store: &dyn BlobStore, name: &str, bytes: &[u8]) {
    off_runtime(|| {
        let mut w = store.create(name).unwrap();
        w.write(bytes).unwrap();
        w.commit().unwrap();
    });
}

fn blob_names(store: &dyn BlobStore) -> Vec<String> {
    off_runtime(|| store.older_than(std::time::Duration::ZERO).unwrap())
}

/// The only blob of the store.
fn only_blob(store: &dyn BlobStore) -> String {
    let mut names = blob_names(store);
    assert_eq!(names.len(), 1, "{names:?}");
    names.pop().unwrap()
}

/// Several 64 KiB chunks of text, each line marked as confidential.
fn confidential_text() -> Vec<u8> {
    (0..6000)
        .map(|i| format!("ligne confidentielle {i:05} du rapport\n"))
        .collect::<String>()
        .into_bytes()
}

/// Any byte of the blob changed (header, first, middle, last ciphertext, HMAC, last), the blob
/// truncated or missing: a 500 envelope without a byte of plaintext, and a log line.
async fn tampered_blobs_send_no_plaintext(h: &Harness, store: &dyn BlobStore) {
    let w = world(h).await;
    let data = confidential_text();
    let res = upload(
        h,
        &format!("/api/v1/documents?intervention_id={}", w.intervention),
        &w.resp,
        &[file("rapport.txt", None, &data)],
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let uri = format!("/api/v1/documents/{}/download", res.body["id"]);
    let (status, headers, bytes) = download(&h.app, &uri, &w.resp).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers.get("content-length").unwrap().to_str().unwrap(),
        data.len().to_string()
    );
    assert!(bytes == data, "downloaded bytes differ");
    let name = only_blob(store);
    let original = raw_blob(store, &name);
    let len = original.len();
    let logs = Logs::default();
    let _capture = logs.capture();
    let refused = |bytes: &[u8], logs: &Logs, what: &str| {
        let body: Value = serde_json::from_slice(bytes).unwrap_or_default();
        assert_eq!(body["error"]["code"], "INTERNAL_SERVER_ERROR", "{what}");
        let text = String::from_utf8_lossy(bytes);
        assert!(
            !text.contains("confidentielle") && !text.contains(".enc"),
            "{what}"
        );
        let lines = logs.take();
        assert!(
            lines.contains("request failed") && lines.contains("status=500"),
            "{what}: no log line in {lines:?}"
        );
    };
    for (what, at) in [
        ("version byte", 0),
        ("timestamp", 6),
        ("IV", 20),
        ("first ciphertext", 36),
        ("middle", len / 2),
        ("last ciphertext", len - 50),
        ("HMAC", len - 20),
        ("last byte", len - 1),
    ] {
        let mut bytes = original.clone();
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        put_raw(store, &name, &bytes);
        let (status, _, body) = download(&h.app, &uri, &w.resp).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{what}");
        refused(&body, &logs, what);
    }
    for cut in [len / 2, len - 1] {
        put_raw(store, &name, &original[..cut]);
        let (status, _, body) = download(&h.app, &uri, &w.resp).await;
        assert_eq!(
            status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "truncated at {cut}"
        );
        refused(&body, &logs, "truncated");
    }
    put_raw(store, &name, &original);
    let (status, _, bytes) = download(&h.app, &uri, &w.resp).await;
    assert_eq!(status, StatusCode::OK);
    assert!(bytes == data, "restored blob downloads again");
    off_runtime(|| store.delete(&name).unwrap());
    let (status, _, body) = download(&h.app, &uri, &w.resp).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    refused(&body, &logs, "missing");
}

async fn tampered_blobs_on_the_filesystem(h: Harness) {
    let store = erp_storage::FsBlobStore::new(h.docs.path()).unwrap();
    tampered_blobs_send_no_plaintext(&h, &store).await;
}

/// The S3 blob store behind the app: one moto server and a fresh database per test.
mod s3 {
    use super::*;
    use erp_storage::S3BlobStore;
    use erp_storage::testing::TestS3;

    async fn harness(key: &str) -> Option<(Harness, Arc<S3BlobStore>, TestS3)> {
        let server = TestS3::start()?;
        let store = Arc::new(S3BlobStore::new(&server.settings(Some("documents"))).unwrap());
        let vault = support::vault_over(Arc::clone(&store) as _, key);
        let h = support::harness_over(
            erp_persistence::testing::TestBackend::Sqlite,
            10_000,
            tempfile::tempdir().unwrap(),
            vault,
        )
        .await?;
        Some((h, store, server))
    }

    #[actix_web::test]
    async fn tampered_blobs_send_no_plaintext_on_s3() {
        let Some((h, store, _server)) = harness(&support::FERNET_KEY).await else {
            return;
        };
        tampered_blobs_send_no_plaintext(&h, store.as_ref()).await;
    }

    #[actix_web::test]
    async fn upload_download_rotate_and_delete_on_s3() {
        let old_key = support::FERNET_KEY.clone();
        let Some((h, store, _server)) = harness(&old_key).await else {
            return;
        };
        let w = world(&h).await;
        // Larger than one multipart part once encrypted.
        let data: Vec<u8> = "relevé de vibration 4,2 mm/s\n"
            .repeat(230_000)
            .into_bytes();
        assert!(data.len() > 6 * 1024 * 1024);
        let res = upload(
            &h,
            &format!("/api/v1/documents?intervention_id={}", w.intervention),
            &w.resp,
            &[file("mesures.txt", None, &data)],
        )
        .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        assert_eq!(res.body["sha256"], sha256_hex(&data));
        let id = res.body["id"].as_i64().unwrap();
        let uri = format!("/api/v1/documents/{id}/download");
        let (status, headers, bytes) = download(&h.app, &uri, &w.tech).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            headers.get("etag").unwrap().to_str().unwrap(),
            format!("\"{}\"", sha256_hex(&data))
        );
        assert!(bytes == data, "downloaded bytes differ");
        let before = only_blob(store.as_ref());
        assert!(
            !raw_blob(store.as_ref(), &before)
                .windows(20)
                .any(|w| w == &data[..20])
        );

        // rotate-fernet on S3: a new blob under the new key, the old one gone.
        let new_key =
            secrecy::ExposeSecret::expose_secret(&erp_security::keys::generate_fernet_key())
                .to_owned();
        let ring = support::vault_over(Arc::clone(&store) as _, &format!("{new_key},{old_key}"));
        let deps = RotationDeps {
            db: h.db.as_ref(),
            vault: ring.as_ref(),
            clock: h.clock.as_ref(),
        };
        let report = off_runtime(|| rotate_document_keys(deps, &mut |_| {}).unwrap());
        assert_eq!((report.reencrypted, report.failed), (1, 0));
        let after = only_blob(store.as_ref());
        assert_ne!(after, before);
        let only_new = support::app_over(
            &h.db,
            &h.clock,
            10_000,
            support::vault_over(Arc::clone(&store) as _, &new_key),
            DocumentPolicy::default(),
        )
        .await;
        let (status, _, bytes) = download(&only_new, &uri, &w.tech).await;
        assert_eq!(status, StatusCode::OK);
        assert!(bytes == data, "re-encrypted bytes differ");

        let res = h.delete(&format!("/api/v1/documents/{id}"), &w.admin).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        assert!(blob_names(store.as_ref()).is_empty());
        let (status, _, _) = download(&only_new, &uri, &w.tech).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

both! {
    tampering => tampered_blobs_on_the_filesystem;
    upload_order => upload_checks_follow_the_contract_order;
    size_limit => the_size_limit_is_413_as_soon_as_it_is_passed;
    lifecycle => upload_download_list_and_delete;
    client_scope => clients_see_only_their_account;
    broken_blobs => broken_blobs_are_500_without_details;
    key_rotation => old_keys_decrypt_and_rotation_moves_everything_to_the_newest;
    housekeeping => housekeeping_removes_only_orphan_blobs;
}
