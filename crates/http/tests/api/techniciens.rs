//! Techniciens and compétences (API.md §3.4) through the real app on SQLite and PostgreSQL.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions: failing loudly is the point"
)]

use crate::support;

use actix_web::http::StatusCode;
use erp_domain::UserRole;
use serde_json::{Value, json};
use support::{Harness, seed_user};

async fn competence(h: &Harness, token: &str, nom: &str) -> i64 {
    let res = h
        .post(
            "/api/v1/techniciens/competences",
            token,
            json!({"nom": nom, "domaine": "Électricité"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    res.body["id"].as_i64().unwrap()
}

async fn competences_crud(h: Harness) {
    let admin = h.admin().await;
    let res = h
        .post(
            "/api/v1/techniciens/competences",
            &admin,
            json!({"nom": "  Soudure TIG ", "duree_validite_mois": 24}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let id = res.body["id"].as_i64().unwrap();
    assert_eq!(res.body["nom"], "Soudure TIG");
    assert_eq!(res.body["domaine"], "general");
    assert_eq!(res.body["niveau_requis_minimum"], "intermediaire");
    assert_eq!(res.body["necessite_certification"], false);
    let res = h
        .post(
            "/api/v1/techniciens/competences",
            &admin,
            json!({"nom": "soudure tig"}),
        )
        .await;
    res.assert_error(StatusCode::CONFLICT, "Compétence déjà existante");
    let res = h
        .post(
            "/api/v1/techniciens/competences",
            &admin,
            json!({"nom": " ", "duree_validite_mois": 0, "niveau_requis_minimum": "guru"}),
        )
        .await;
    let codes = res.detail_codes();
    assert!(
        codes.contains(&("nom".into(), "required".into())),
        "{codes:?}"
    );
    assert!(codes.contains(&("duree_validite_mois".into(), "out_of_range".into())));
    assert!(codes.contains(&("niveau_requis_minimum".into(), "invalid_value".into())));
    competence(&h, &admin, "Hydraulique").await;
    let res = h
        .get("/api/v1/techniciens/competences?sort=-nom", &admin)
        .await;
    let noms = res.strs("nom");
    assert_eq!(noms, vec!["Soudure TIG", "Hydraulique"]);
    let res = h
        .get(
            "/api/v1/techniciens/competences?domaine=%C3%89LECTRICIT%C3%89",
            &admin,
        )
        .await;
    assert_eq!(res.header("x-total-count"), Some("1"));
    let res = h
        .patch(
            &format!("/api/v1/techniciens/competences/{id}"),
            &admin,
            json!({"nom": "HYDRAULIQUE"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    let res = h
        .patch(
            &format!("/api/v1/techniciens/competences/{id}"),
            &admin,
            json!({"description": "Acier", "duree_validite_mois": null}),
        )
        .await;
    assert_eq!(
        (res.status, res.body["duree_validite_mois"].clone()),
        (StatusCode::OK, Value::Null)
    );
    assert_eq!(
        h.get("/api/v1/techniciens/competences/999", &admin)
            .await
            .message(),
        "Compétence introuvable"
    );
    assert_eq!(
        h.delete(&format!("/api/v1/techniciens/competences/{id}"), &admin)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        h.get(&format!("/api/v1/techniciens/competences/{id}"), &admin)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

async fn techniciens_crud_and_rules(h: Harness) {
    let admin = h.admin().await;
    let soudure = competence(&h, &admin, "Soudure").await;
    let elec = competence(&h, &admin, "Automatisme").await;
    let karim = seed_user(&h.db, "karim", UserRole::Technicien, None);
    let resp = seed_user(&h.db, "resp1", UserRole::Responsable, None);

    let body = json!({
        "user_id": karim.id.get(), "equipe": "Nord", "numero_badge": "B-1", "disponibilite": "Occupe",
        "notes_rh": "confidentiel", "competences": [{"competence_id": soudure, "niveau": "expert", "validee_par": "Chef"}, {"competence_id": elec}]
    });
    let res = h.post("/api/v1/techniciens", &admin, body.clone()).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let id = res.body["id"].as_i64().unwrap();
    let b = &res.body;
    assert_eq!(b["user"]["username"], "karim");
    assert_eq!(b["disponibilite"], "occupe");
    assert_eq!(b["niveau_technicien"], "intermediaire");
    assert_eq!(b["rayon_deplacement_km"], 50);
    assert_eq!(b["horaires_travail"], "08:00-17:00");
    assert_eq!(b["notes_rh"], "confidentiel");
    let skills: Vec<(&str, &str)> = b["competences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["nom"].as_str().unwrap(), c["niveau"].as_str().unwrap()))
        .collect();
    assert_eq!(
        skills,
        vec![("Automatisme", "intermediaire"), ("Soudure", "expert")],
        "sorted by nom"
    );

    let res = h.post("/api/v1/techniciens", &admin, body.clone()).await;
    res.assert_error(
        StatusCode::CONFLICT,
        "Un technicien existe déjà pour cet utilisateur",
    );
    let res = h
        .post(
            "/api/v1/techniciens",
            &admin,
            json!({"user_id": resp.id.get()}),
        )
        .await;
    assert_eq!(
        (res.status, res.message()),
        (
            StatusCode::BAD_REQUEST,
            "L\u{2019}utilisateur n\u{2019}est pas un technicien"
                .replacen('\u{2019}', "'", 1)
                .as_str()
        )
    );
    let res = h
        .post("/api/v1/techniciens", &admin, json!({"user_id": 999}))
        .await;
    res.assert_error(StatusCode::NOT_FOUND, "Utilisateur lié introuvable");
    let other = seed_user(&h.db, "samir", UserRole::Technicien, None);
    let res = h
        .post(
            "/api/v1/techniciens",
            &admin,
            json!({"user_id": other.id.get(), "numero_badge": "B-1"}),
        )
        .await;
    res.assert_error(StatusCode::CONFLICT, "Numéro de badge déjà utilisé");
    let res = h
        .post(
            "/api/v1/techniciens",
            &admin,
            json!({"user_id": other.id.get(), "competences_ids": [999]}),
        )
        .await;
    res.assert_error(
        StatusCode::NOT_FOUND,
        "Une ou plusieurs compétences sont introuvables",
    );
    let res = h
        .post(
            "/api/v1/techniciens",
            &admin,
            json!({"user_id": other.id.get(), "competences_ids": [soudure], "competences": []}),
        )
        .await;
    assert_eq!(
        res.detail_codes(),
        vec![("competences".into(), "conflicting_fields".into())]
    );
    let res = h.post("/api/v1/techniciens", &admin, json!({"user_id": other.id.get(), "disponibilite": "vacances", "rayon_deplacement_km": -1, "competences": [{"niveau": "guru"}]})).await;
    res.assert_detail_codes(&[
        ("disponibilite", "invalid_value"),
        ("rayon_deplacement_km", "out_of_range"),
        ("competences[0].niveau", "invalid_value"),
        ("competences[0].competence_id", "required"),
    ]);
    let res = h
        .post(
            "/api/v1/techniciens",
            &admin,
            json!({"user_id": other.id.get(), "competences_ids": [soudure, soudure]}),
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "duplicate ids"
    );

    // Update: skills replaced; existing pairs keep their acquisition date; user_id read-only.
    let acquired = b["competences"][1]["date_acquisition"].clone();
    let res = h
        .patch(
            &format!("/api/v1/techniciens/{id}"),
            &admin,
            json!({"competences_ids": [soudure], "equipe": null}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.body["competences"].as_array().unwrap().len(), 1);
    assert_eq!(res.body["competences"][0]["date_acquisition"], acquired);
    assert_eq!(res.body["equipe"], Value::Null);
    let res = h
        .patch(
            &format!("/api/v1/techniciens/{id}"),
            &admin,
            json!({"user_id": 3}),
        )
        .await;
    assert_eq!(
        res.detail_codes(),
        vec![("user_id".into(), "read_only".into())]
    );

    // A technicien reads techniciens without HR notes; cannot write.
    let (tech, _) = h.token("karim").await;
    let res = h.get(&format!("/api/v1/techniciens/{id}"), &tech).await;
    assert_eq!(
        (res.status, res.body["notes_rh"].clone()),
        (StatusCode::OK, Value::Null)
    );
    assert_eq!(
        h.delete(&format!("/api/v1/techniciens/{id}"), &tech)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    seed_user(&h.db, "client9", UserRole::Client, None);
    let (client, _) = h.token("client9").await;
    assert_eq!(
        h.get("/api/v1/techniciens", &client).await.status,
        StatusCode::FORBIDDEN
    );

    // Filters.
    let res = h.get(&format!("/api/v1/techniciens?competence_id={soudure}&disponibilite=occupe,conge&search=KARIM"), &admin).await;
    assert_eq!(res.header("x-total-count"), Some("1"));
    let res = h
        .get("/api/v1/techniciens?competence=automatisme", &admin)
        .await;
    assert_eq!(res.header("x-total-count"), Some("0"));
    assert_eq!(
        h.get("/api/v1/techniciens?disponibilite=partout", &admin)
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // The user's role cannot leave technicien while the profile exists.
    let res = h
        .patch(
            &format!("/api/v1/users/{}", karim.id),
            &admin,
            json!({"role": "responsable"}),
        )
        .await;
    res.assert_error(
        StatusCode::CONFLICT,
        "Utilisateur lié à une fiche technicien : rôle non modifiable",
    );

    assert_eq!(
        h.delete(&format!("/api/v1/techniciens/{id}"), &admin)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let res = h.get(&format!("/api/v1/techniciens/{id}"), &admin).await;
    res.assert_error(StatusCode::NOT_FOUND, "Technicien introuvable");
}

both! {
    competences => competences_crud;
    techniciens => techniciens_crud_and_rules;
}
