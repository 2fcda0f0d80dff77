//! Équipements (API.md §3.5) through the real app on SQLite and PostgreSQL.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions: failing loudly is the point"
)]

use crate::support;

use actix_web::http::{Method, StatusCode};
use erp_domain::UserRole;
use serde_json::{Value, json};
use support::{Harness, seed_user};

fn pompe() -> Value {
    json!({
        "nom": " Pompe P-101 ",
        "type_equipement": "pompe",
        "localisation": "Atelier Nord",
        "numero_serie": "SN-001",
        "code_interne": "EQ-001",
        "criticite": "Critique",
        "frequence_entretien": "mensuelle",
        "puissance": 7.5,
        "cout_acquisition": 1_250_000,
        "date_acquisition": "2024-03-01",
        "contrat_id": 99
    })
}

async fn crud_and_its_errors(h: Harness) {
    let admin = h.admin().await;
    let res = h.post("/api/v1/equipements", &admin, pompe()).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let id = res.body["id"].as_i64().unwrap();
    assert_eq!(
        res.header("location"),
        Some(format!("/api/v1/equipements/{id}").as_str())
    );
    let b = &res.body;
    assert_eq!(b["nom"], "Pompe P-101");
    assert_eq!(b["type"], "pompe");
    assert_eq!(b["statut"], "operationnel");
    assert_eq!(b["criticite"], "critique");
    assert_eq!(b["frequence_entretien"], "30");
    assert_eq!(b["frequence_entretien_jours"], 30);
    assert_eq!(b["date_acquisition"], "2024-03-01T00:00:00Z");
    assert_eq!(b["contrat_id"], Value::Null);
    assert_eq!(b["marque"], Value::Null);

    for (field, value, message) in [
        ("nom", json!("POMPE p-101"), "Équipement déjà existant"),
        (
            "numero_serie",
            json!("SN-001"),
            "Numéro de série déjà utilisé",
        ),
        ("code_interne", json!("EQ-001"), "Code interne déjà utilisé"),
    ] {
        let mut body = json!({"nom": "Autre", "type": "pompe", "localisation": "X"});
        body[field] = value;
        let res = h.post("/api/v1/equipements", &admin, body).await;
        assert_eq!(
            (res.status, res.message()),
            (StatusCode::CONFLICT, message),
            "{field}"
        );
    }
    let res = h
        .post(
            "/api/v1/equipements",
            &admin,
            json!({"nom": "C", "type": "t", "localisation": "l", "client_id": 999}),
        )
        .await;
    res.assert_error(StatusCode::NOT_FOUND, "Compte client introuvable");

    let bad = json!({"type": "a", "type_equipement": "b", "statut": "cassé", "frequence_entretien": "souvent", "puissance": -1, "duree_garantie_mois": 1.5, "date_acquisition": "hier"});
    let res = h.post("/api/v1/equipements", &admin, bad).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    res.assert_detail_codes(&[
        ("type", "conflicting_fields"),
        ("statut", "invalid_value"),
        ("frequence_entretien", "invalid_value"),
        ("puissance", "out_of_range"),
        ("duree_garantie_mois", "invalid_type"),
        ("date_acquisition", "invalid_format"),
        ("nom", "required"),
        ("localisation", "required"),
    ]);
    let freq = res.body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["field"] == "frequence_entretien")
        .unwrap()
        .clone();
    assert_eq!(freq["message"], "Fréquence d'entretien invalide");

    let res = h
        .patch(
            &format!("/api/v1/equipements/{id}"),
            &admin,
            json!({"statut": "panne", "numero_serie": null, "frequence_entretien": 90}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.body["statut"], "panne");
    assert_eq!(res.body["numero_serie"], Value::Null);
    assert_eq!(res.body["frequence_entretien"], "90");
    assert_eq!(
        res.body["nom"], "Pompe P-101",
        "absent fields are unchanged"
    );
    let res = h
        .put(
            &format!("/api/v1/equipements/{id}"),
            &admin,
            json!({"nom": null}),
        )
        .await;
    assert_eq!(
        res.detail_codes(),
        vec![("nom".into(), "invalid_value".into())]
    );
    let res = h
        .put(
            "/api/v1/equipements/4242",
            &admin,
            json!({"statut": "panne"}),
        )
        .await;
    res.assert_error(StatusCode::NOT_FOUND, "Équipement introuvable");

    let res = h.get(&format!("/api/v1/equipements/{id}"), &admin).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(
        h.get("/api/v1/equipements/x", &admin).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        h.get("/api/v1/equipements/0", &admin).await.status,
        StatusCode::NOT_FOUND
    );

    let res = h.delete(&format!("/api/v1/equipements/{id}"), &admin).await;
    assert_eq!(
        (res.status, res.body["detail"].clone()),
        (StatusCode::OK, json!("Équipement supprimé avec succès."))
    );
    assert_eq!(
        h.delete(&format!("/api/v1/equipements/{id}"), &admin)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let res = h
        .get("/api/v1/audit/events?event_type=admin.action", &admin)
        .await;
    assert_eq!(res.body[0]["resource"], format!("equipement:{id}"));
}

async fn lists_filter_sort_and_scope(h: Harness) {
    let admin = h.admin().await;
    let mut ids = Vec::new();
    for (nom, statut, criticite, localisation) in [
        ("Compresseur", "maintenance", "important", "Atelier Sud"),
        (
            "armoire électrique",
            "operationnel",
            "critique",
            "Salle 50% B",
        ),
        ("Ventilateur", "panne", "non_critique", "Atelier Nord"),
    ] {
        let body = json!({"nom": nom, "type": "Machine", "localisation": localisation, "statut": statut, "criticite": criticite});
        let res = h.post("/api/v1/equipements", &admin, body).await;
        ids.push(res.body["id"].as_i64().unwrap());
    }
    let names = |res: &support::Res| -> Vec<String> {
        res.body
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["nom"].as_str().unwrap().to_owned())
            .collect()
    };
    let res = h.get("/api/v1/equipements?sort=nom", &admin).await;
    assert_eq!(
        names(&res),
        vec!["armoire électrique", "Compresseur", "Ventilateur"]
    );
    assert_eq!(res.header("x-total-count"), Some("3"));
    let res = h.get("/api/v1/equipements?sort=-criticite", &admin).await;
    assert_eq!(
        names(&res),
        vec!["Ventilateur", "Compresseur", "armoire électrique"],
        "declared order, reversed"
    );
    let res = h
        .get(
            "/api/v1/equipements?statut=panne,maintenance&sort=statut",
            &admin,
        )
        .await;
    assert_eq!(names(&res), vec!["Compresseur", "Ventilateur"]);
    let res = h
        .get(
            "/api/v1/equipements?localisation=atelier&type=MACHINE",
            &admin,
        )
        .await;
    assert_eq!(res.header("x-total-count"), Some("2"));
    let res = h.get("/api/v1/equipements?search=50%25", &admin).await;
    assert_eq!(names(&res), vec!["armoire électrique"]);
    let res = h.get("/api/v1/equipements?limit=1&offset=1", &admin).await;
    assert_eq!(
        (
            res.body.as_array().unwrap().len(),
            res.header("x-total-count")
        ),
        (1, Some("3"))
    );
    let res = h.get("/api/v1/equipements?criticite=tres", &admin).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);

    // A client sees only their account's équipements; others are 404.
    let client = seed_user(&h.db, "client1", UserRole::Client, None);
    let res = h
        .patch(
            &format!("/api/v1/equipements/{}", ids[0]),
            &admin,
            json!({"client_id": client.client_id.unwrap().get()}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let (client_token, _) = h.token("client1").await;
    let res = h
        .get("/api/v1/equipements?client_id=424242", &client_token)
        .await;
    assert_eq!(
        names(&res),
        vec!["Compresseur"],
        "client_id is forced to the caller's"
    );
    assert_eq!(
        h.get(&format!("/api/v1/equipements/{}", ids[1]), &client_token)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        h.get(&format!("/api/v1/equipements/{}", ids[0]), &client_token)
            .await
            .status,
        StatusCode::OK
    );

    // Roles: a technicien reads but does not write; a client does not write either.
    seed_user(&h.db, "tech1", UserRole::Technicien, None);
    let (tech, _) = h.token("tech1").await;
    assert_eq!(
        h.get("/api/v1/equipements", &tech).await.status,
        StatusCode::OK
    );
    let res = h.post("/api/v1/equipements", &tech, pompe()).await;
    res.assert_error(
        StatusCode::FORBIDDEN,
        "Accès réservé aux rôles : admin, responsable",
    );
    assert_eq!(
        h.delete(&format!("/api/v1/equipements/{}", ids[0]), &client_token)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        h.json(Method::GET, "/api/v1/equipements", None, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

both! {
    crud => crud_and_its_errors;
    lists => lists_filter_sort_and_scope;
}
