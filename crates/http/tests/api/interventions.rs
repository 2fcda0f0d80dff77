//! Interventions (API.md §3.6) through the real app on SQLite and PostgreSQL: creation, reads,
//! edits with optimistic concurrency, every lifecycle action, `PATCH …/statut`, history, scopes.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions: failing loudly is the point"
)]

use crate::support;

use actix_web::http::{Method, StatusCode};
use actix_web::test::TestRequest;
use erp_domain::UserRole;
use serde_json::{Value, json};
use support::{Harness, World, seed_user};

async fn world(h: &Harness) -> World {
    World::builder()
        .samir(true)
        .equipement("Pompe", "pompe", "A")
        .client_equipement("Chaudière client", "chaudiere", "B")
        .build(h)
        .await
}

/// A creation body on the world's equipment, with `extra`'s fields on top.
fn intervention_body(w: &World, extra: Value) -> Value {
    let mut body =
        json!({"titre": "Fuite", "type": "corrective", "equipement_id": w.equipement_id()});
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    body
}

async fn create(h: &Harness, w: &World, extra: Value) -> Value {
    let body = intervention_body(w, extra);
    let res = h.post("/api/v1/interventions", &w.resp, body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    res.body
}

async fn post(
    h: &Harness,
    token: &str,
    id: i64,
    action: &str,
    body: Option<Value>,
) -> support::Res {
    h.post(&format!("/api/v1/interventions/{id}/{action}"), token, body)
        .await
}

async fn creation_and_its_errors(h: Harness) {
    let w = world(&h).await;
    let i = create(
        &h,
        &w,
        json!({"priorite": "Haute", "date_limite": "2020-01-01", "cout_estime": 1500}),
    )
    .await;
    assert_eq!(i["statut"], "ouverte");
    assert_eq!(i["priorite"], "haute");
    assert_eq!(i["version"], 1);
    assert_eq!(i["en_retard"], true, "past due date while active");
    assert_eq!(i["contrat_id"], Value::Null);
    assert!(i["created_by_id"].is_i64());
    let assigned = create(&h, &w, json!({"type_intervention": "preventive", "type": null, "technicien_id": w.technicien_id, "statut": "affectee"})).await;
    assert_eq!(assigned["statut"], "affectee");
    assert!(assigned["date_affectation"].is_string());
    let res = h
        .get(
            &format!("/api/v1/interventions/{}/historique", assigned["id"]),
            &w.resp,
        )
        .await;
    let actions = res.strs("action");
    assert_eq!(actions, vec!["creation", "affectation"]);
    assert_eq!(res.body[0]["remarque"], "Création de l\u{2019}intervention");
    assert_eq!(res.body[0]["from_statut"], Value::Null);
    assert_eq!(res.body[1]["technicien_id"], w.technicien_id);
    assert_eq!(res.body[1]["user"]["username"], "resp");

    let base = json!({"titre": "x", "type": "corrective", "equipement_id": w.equipement_id()});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    for (body, status, message) in [
        (
            with("technicien_id", json!(999)),
            StatusCode::NOT_FOUND,
            "Technicien assigné introuvable",
        ),
        (
            with("equipement_id", json!(999)),
            StatusCode::NOT_FOUND,
            "Équipement cible introuvable",
        ),
    ] {
        let res = h.post("/api/v1/interventions", &w.resp, body).await;
        assert_eq!((res.status, res.message()), (status, message));
    }
    let mut both_missing = with("technicien_id", json!(999));
    both_missing["equipement_id"] = json!(998);
    let res = h.post("/api/v1/interventions", &w.resp, both_missing).await;
    assert_eq!(
        res.message(),
        "Technicien assigné introuvable",
        "checked before the équipement"
    );
    let res = h.post("/api/v1/interventions", &w.resp, json!({"type": "corrective", "type_intervention": "preventive", "statut": "cloturee", "priorite": "x", "duree_estimee": -5, "date_limite": "demain"})).await;
    res.assert_detail_codes(&[
        ("titre", "required"),
        ("type", "conflicting_fields"),
        ("equipement_id", "required"),
        ("statut", "invalid_value"),
        ("priorite", "invalid_value"),
        ("duree_estimee", "out_of_range"),
        ("date_limite", "invalid_format"),
    ]);
    let res = h.post("/api/v1/interventions", &w.tech, base.clone()).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    // An inactive technicien cannot be assigned.
    let res = h
        .patch(
            &format!("/api/v1/techniciens/{}", w.other_technicien_id()),
            &w.admin,
            json!({"is_active": false}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let res = h
        .post(
            "/api/v1/interventions",
            &w.resp,
            with("technicien_id", json!(w.other_technicien_id())),
        )
        .await;
    res.assert_error(
        StatusCode::CONFLICT,
        "Technicien inactif : affectation impossible",
    );
}

async fn the_whole_lifecycle(h: Harness) {
    let w = world(&h).await;
    let id = create(&h, &w, json!({})).await["id"].as_i64().unwrap();
    let res = post(&h, &w.tech, id, "demarrer", None).await;
    assert_eq!(
        res.status,
        StatusCode::FORBIDDEN,
        "not assigned yet: 403 before 409"
    );
    assert_eq!(res.message(), "Intervention non affectée à ce technicien");
    let res = post(&h, &w.resp, id, "demarrer", None).await;
    assert_eq!(
        res.status,
        StatusCode::FORBIDDEN,
        "responsables do not work on interventions"
    );

    let res = post(
        &h,
        &w.resp,
        id,
        "affecter",
        Some(json!({"technicien_id": w.technicien_id, "remarque": "urgent"})),
    )
    .await;
    assert_eq!(
        (
            res.status,
            res.body["statut"].clone(),
            res.body["version"].clone()
        ),
        (StatusCode::OK, json!("affectee"), json!(2))
    );
    assert_eq!(res.header("etag"), Some("\"2\""));
    let res = post(
        &h,
        &w.resp,
        id,
        "affecter",
        Some(json!({"technicien_id": w.technicien_id})),
    )
    .await;
    res.assert_error(
        StatusCode::CONFLICT,
        "Ce technicien est déjà affecté à l'intervention",
    );
    let res = post(&h, &w.resp, id, "affecter", Some(json!({}))).await;
    assert_eq!(
        res.detail_codes(),
        vec![("technicien_id".into(), "required".into())]
    );

    let res = post(&h, w.other_tech(), id, "demarrer", None).await;
    assert_eq!(
        res.status,
        StatusCode::FORBIDDEN,
        "someone else's intervention"
    );
    let res = post(&h, &w.tech, id, "reprendre", None).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(
        res.message(),
        "Transition de 'affectee' vers 'en_cours' interdite"
    );
    assert_eq!(
        res.body["error"]["details"]["transitions_autorisees"],
        json!(["en_cours", "annulee"])
    );
    let res = post(&h, &w.tech, id, "demarrer", Some(json!({"version": 1}))).await;
    res.assert_error(
        StatusCode::CONFLICT,
        "L'intervention a été modifiée entre-temps (version actuelle : 2)",
    );
    assert_eq!(res.body["error"]["details"]["version_actuelle"], 2);
    let req = TestRequest::post()
        .uri(&format!("/api/v1/interventions/{id}/demarrer"))
        .insert_header(("Authorization", format!("Bearer {}", w.tech)))
        .insert_header(("If-Match", "W/\"2\""));
    let res = h.call(req).await;
    assert_eq!(
        (res.status, res.body["statut"].clone()),
        (StatusCode::OK, json!("en_cours")),
        "{}",
        res.body
    );
    let started = res.body["date_debut_travaux"].clone();
    let req = TestRequest::post()
        .uri(&format!("/api/v1/interventions/{id}/suspendre"))
        .insert_header(("Authorization", format!("Bearer {}", w.tech)))
        .insert_header(("If-Match", "nope"));
    assert_eq!(h.call(req).await.message(), "En-tête If-Match invalide");
    let req = TestRequest::post()
        .uri(&format!("/api/v1/interventions/{id}/suspendre"))
        .insert_header(("Authorization", format!("Bearer {}", w.tech)))
        .insert_header(("If-Match", "\"3\""))
        .set_json(json!({"version": 4}));
    assert_eq!(
        h.call(req).await.message(),
        "En-tête If-Match et champ version contradictoires"
    );

    assert_eq!(
        post(&h, &w.tech, id, "suspendre", None).await.body["statut"],
        "en_attente"
    );
    let res = post(&h, &w.tech, id, "demarrer", None).await;
    assert_eq!(
        res.message(),
        "Transition de 'en_attente' vers 'en_cours' interdite",
        "demarrer does not resume"
    );
    let res = post(&h, &w.tech, id, "reprendre", None).await;
    assert_eq!(
        (
            res.body["statut"].clone(),
            res.body["date_debut_travaux"].clone()
        ),
        (json!("en_cours"), started),
        "the first start is kept"
    );
    let res = post(&h, &w.tech, id, "cloturer", Some(json!({}))).await;
    assert_eq!(
        res.detail_codes(),
        vec![("rapport_intervention".into(), "required".into())]
    );
    let res = post(
        &h,
        &w.client,
        id,
        "valider",
        Some(json!({"satisfaction_client": 5})),
    )
    .await;
    assert_eq!(
        res.status,
        StatusCode::NOT_FOUND,
        "not the client's account"
    );
    let res = post(
        &h,
        &w.admin,
        id,
        "valider",
        Some(json!({"satisfaction_client": 5})),
    )
    .await;
    res.assert_error(
        StatusCode::CONFLICT,
        "Seule une intervention clôturée peut être validée",
    );
    let res = post(
        &h,
        &w.tech,
        id,
        "cloturer",
        Some(
            json!({"rapport_intervention": "Joint changé", "duree_reelle": 90, "cout_reel": 12000}),
        ),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.body["statut"], "cloturee");
    assert_eq!(res.body["duree_reelle"], 90);
    assert!(res.body["date_cloture"].is_string() && res.body["date_fin_travaux"].is_string());
    let res = h
        .patch(
            &format!("/api/v1/interventions/{id}"),
            &w.resp,
            json!({"titre": "x"}),
        )
        .await;
    res.assert_error(
        StatusCode::CONFLICT,
        "Intervention non modifiable dans le statut 'cloturee'",
    );
    let res = post(
        &h,
        &w.admin,
        id,
        "valider",
        Some(json!({"satisfaction_client": 6})),
    )
    .await;
    assert_eq!(
        res.detail_codes(),
        vec![("satisfaction_client".into(), "out_of_range".into())]
    );
    let res = post(
        &h,
        &w.admin,
        id,
        "valider",
        Some(json!({"satisfaction_client": 4, "commentaire_client": "Bien"})),
    )
    .await;
    assert_eq!(
        (
            res.status,
            res.body["validation_client"].clone(),
            res.body["satisfaction_client"].clone()
        ),
        (StatusCode::OK, json!(true), json!(4))
    );
    let res = post(
        &h,
        &w.admin,
        id,
        "valider",
        Some(json!({"satisfaction_client": 4})),
    )
    .await;
    assert_eq!(res.message(), "Intervention déjà validée par le client");
    assert_eq!(
        post(&h, &w.resp, id, "archiver", None).await.body["statut"],
        "archivee"
    );
    let res = post(
        &h,
        &w.resp,
        id,
        "annuler",
        Some(json!({"raison": "trop tard"})),
    )
    .await;
    assert_eq!(
        res.body["error"]["details"]["transitions_autorisees"],
        json!([])
    );

    let res = h
        .get(&format!("/api/v1/interventions/{id}/historique"), &w.tech)
        .await;
    let actions = res.strs("action");
    assert_eq!(
        actions,
        vec![
            "creation",
            "affectation",
            "demarrage",
            "suspension",
            "reprise",
            "cloture",
            "validation_client",
            "archivage"
        ]
    );
    assert_eq!(res.header("x-total-count"), Some("8"));
    assert_eq!(res.body[6]["from_statut"], res.body[6]["to_statut"]);
}

async fn cancel_reassign_edit_and_statut(h: Harness) {
    let w = world(&h).await;
    let id = create(&h, &w, json!({"technicien_id": w.technicien_id})).await["id"]
        .as_i64()
        .unwrap();
    let res = post(
        &h,
        &w.resp,
        id,
        "affecter",
        Some(json!({"technicien_id": w.other_technicien_id()})),
    )
    .await;
    assert_eq!(
        (res.status, res.body["technicien_id"].clone()),
        (StatusCode::OK, json!(w.other_technicien_id()))
    );
    let res = post(&h, &w.resp, id, "annuler", Some(json!({"raison": " "}))).await;
    assert_eq!(
        res.detail_codes(),
        vec![("raison".into(), "required".into())]
    );

    let res = h
        .patch(
            &format!("/api/v1/interventions/{id}"),
            &w.resp,
            json!({"statut": "cloturee", "technicien_id": 1}),
        )
        .await;
    let codes = res.detail_codes();
    assert!(
        codes.contains(&("statut".into(), "read_only".into()))
            && codes.contains(&("technicien_id".into(), "read_only".into()))
    );
    let res = h.patch(&format!("/api/v1/interventions/{id}"), &w.resp, json!({"titre": "Nouvelle", "description": null, "equipement_id": w.client_equipement_id(), "version": 2})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(
        (res.body["titre"].clone(), res.body["version"].clone()),
        (json!("Nouvelle"), json!(3))
    );
    assert!(
        res.body["client_id"].is_i64(),
        "client_id re-derived from the new équipement"
    );
    let res = h
        .put(
            &format!("/api/v1/interventions/{id}"),
            &w.resp,
            json!({"titre": "x", "version": 2}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    let res = h
        .put(
            &format!("/api/v1/interventions/{id}"),
            &w.resp,
            json!({"equipement_id": 999}),
        )
        .await;
    assert_eq!(res.message(), "Équipement cible introuvable");

    // The client of the new équipement now sees it.
    assert_eq!(
        h.get(&format!("/api/v1/interventions/{id}"), &w.client)
            .await
            .status,
        StatusCode::OK
    );

    // PATCH …/statut maps targets onto actions.
    let statut = |target: &str| format!("/api/v1/interventions/{id}/statut?statut={target}");
    let res = h.patch(&statut("en_cours"), &w.tech, None).await;
    assert_eq!(
        res.status,
        StatusCode::FORBIDDEN,
        "karim is no longer assigned"
    );
    let (samir, _) = h.token("samir").await;
    let res = h.patch(&statut("en_cours"), &samir, None).await;
    assert_eq!(
        (res.status, res.body["statut"].clone()),
        (StatusCode::OK, json!("en_cours")),
        "{}",
        res.body
    );
    let res = h.patch(&statut("en_cours"), &samir, None).await;
    assert_eq!(
        res.message(),
        "Transition de 'en_cours' vers 'en_cours' interdite"
    );
    let res = h.patch(&statut("ouverte"), &samir, None).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    let res = h.patch(&statut("cloturee"), &samir, None).await;
    assert_eq!(
        res.body["error"]["details"][0]["message"],
        "Un rapport est obligatoire pour clôturer"
    );
    let res = h.patch(&statut("annulee"), &w.resp, None).await;
    assert_eq!(
        res.body["error"]["details"][0]["message"],
        "Un motif est obligatoire pour annuler"
    );
    let res = h
        .patch(
            &format!("{}&remarque=Pi%C3%A8ce%20indisponible", statut("annulee")),
            &w.resp,
            None,
        )
        .await;
    assert_eq!(
        (
            res.status,
            res.body["statut"].clone(),
            res.body["motif_annulation"].clone()
        ),
        (
            StatusCode::OK,
            json!("annulee"),
            json!("Pièce indisponible")
        )
    );
    let res = h.patch(&statut("fermee"), &w.resp, None).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// Regression (found by Schemathesis): every sort key became ORDER BY terms nested one level
/// deeper in the diesel query, whose building doubled in cost per term: 20 keys took seconds,
/// 40 would never answer. A repeated field is now dropped (it cannot change the order).
async fn long_sort_parameters_answer_at_once_and_keep_the_first_occurrence(h: Harness) {
    let w = world(&h).await;
    let a = create(&h, &w, json!({"titre": "b"})).await["id"]
        .as_i64()
        .unwrap();
    let b = create(&h, &w, json!({"titre": "a"})).await["id"]
        .as_i64()
        .unwrap();
    let c = create(&h, &w, json!({"titre": "c"})).await["id"]
        .as_i64()
        .unwrap();
    // 26 one-term keys: about 30 s to build before the fix (each key doubled the cost), a few
    // milliseconds after it. A query being built cannot be cancelled, so the length is chosen
    // for the old code to fail in finite time.
    let keys = ["titre", "-id", "updated_at", "-date_creation"];
    let long: Vec<&str> = keys.iter().copied().cycle().take(26).collect();
    let uri = format!("/api/v1/interventions?sort={}", long.join(","));
    let res = actix_web::rt::time::timeout(
        std::time::Duration::from_secs(5),
        h.json(Method::GET, &uri, Some(&w.resp), None),
    )
    .await;
    assert!(res.is_ok(), "a 26-key sort answers at once");
    let res = res.unwrap();
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let ids = res.ids();
    assert_eq!(ids, vec![b, a, c], "by titre");
}

async fn lists_filters_and_scopes(h: Harness) {
    let w = world(&h).await;
    let a = create(
        &h,
        &w,
        json!({"titre": "Alpha 50%", "priorite": "urgente", "date_limite": "2001-01-01"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let b = create(&h, &w, json!({"titre": "beta", "priorite": "basse", "type": "preventive", "technicien_id": w.technicien_id})).await["id"].as_i64().unwrap();
    let c = h.post("/api/v1/interventions", &w.resp, json!({"titre": "Gamma", "type": "diagnostic", "equipement_id": w.client_equipement_id(), "urgence": true}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let res = h.get("/api/v1/interventions", &w.resp).await;
    assert_eq!(res.ids(), vec![c, b, a], "default -date_creation, then id");
    assert_eq!(res.header("x-total-count"), Some("3"));
    let res = h
        .get("/api/v1/filters/interventions?sort=priorite", &w.resp)
        .await;
    assert_eq!(res.ids(), vec![a, c, b], "declared priority order");
    let res = h.get("/api/v1/interventions?sort=titre", &w.resp).await;
    assert_eq!(res.ids(), vec![a, b, c], "case-insensitive titles");
    for (query, expected) in [
        ("statut=affectee", vec![b]),
        ("statut=ouverte,affectee&type=corrective", vec![a]),
        ("urgence=true", vec![c]),
        ("en_retard=true", vec![a]),
        ("en_retard=false", vec![c, b]),
        (&format!("technicien_id={}", w.technicien_id), vec![b]),
        ("technicien_id=0", vec![]),
        (
            &format!("equipement_id={}", w.client_equipement_id()),
            vec![c],
        ),
        ("search=50%25", vec![a]),
        ("date_limite_max=2001-01-01", vec![a]),
        ("date_creation_min=2000-01-01&limit=1", vec![c]),
        ("limit=1&offset=1", vec![b]),
        ("limit=2&offset=1", vec![b, a]),
        ("sort=titre&limit=2&offset=2", vec![c]),
        ("limit=1&offset=3", vec![]),
    ] {
        let res = h
            .get(&format!("/api/v1/interventions?{query}"), &w.resp)
            .await;
        assert_eq!(res.ids(), expected, "{query}");
    }
    for bad in [
        "statut=fermee",
        "urgence=peut-etre",
        "date_creation_min=hier",
        "sort=couleur",
        "limit=500",
    ] {
        let res = h
            .get(&format!("/api/v1/interventions?{bad}"), &w.resp)
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let res = h
        .get(
            &format!("/api/v1/equipements/{}/interventions", w.equipement_id()),
            &w.resp,
        )
        .await;
    assert_eq!(res.ids(), vec![b, a]);
    assert_eq!(
        h.get("/api/v1/equipements/999/interventions", &w.resp)
            .await
            .message(),
        "Équipement introuvable"
    );

    // Clients see only their account's interventions; others are 404.
    let res = h
        .get("/api/v1/interventions?client_id=999", &w.client)
        .await;
    assert_eq!(res.ids(), vec![c]);
    assert_eq!(
        h.get(&format!("/api/v1/interventions/{a}"), &w.client)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        h.get(&format!("/api/v1/interventions/{a}/historique"), &w.client)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let res = h
        .get(&format!("/api/v1/interventions/{c}"), &w.client)
        .await;
    assert_eq!(res.header("etag"), Some("\"1\""));
    // Techniciens read everything.
    assert_eq!(
        h.get("/api/v1/interventions", &w.tech)
            .await
            .header("x-total-count"),
        Some("3")
    );
    assert_eq!(
        h.get("/api/v1/interventions/abc", &w.tech).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        h.get("/api/v1/interventions/999", &w.tech).await.message(),
        "Intervention introuvable"
    );
}

/// 50 concurrent requests per step: exactly one wins each step, the others get a 409, and the
/// history has one row per successful transition.
async fn concurrent_transitions_have_one_winner_per_step(h: Harness) {
    let w = world(&h).await;
    let id = create(&h, &w, json!({"technicien_id": w.technicien_id})).await["id"]
        .as_i64()
        .unwrap();
    for (action, body) in [
        ("demarrer", None),
        ("suspendre", None),
        ("reprendre", None),
        ("cloturer", Some(json!({"rapport_intervention": "fait"}))),
    ] {
        let calls = (0..50).map(|_| {
            let mut req = TestRequest::post()
                .uri(&format!("/api/v1/interventions/{id}/{action}"))
                .insert_header(("Authorization", format!("Bearer {}", w.tech)));
            if let Some(b) = &body {
                req = req.set_json(b.clone());
            }
            h.call(req)
        });
        let results = futures_util::future::join_all(calls).await;
        let ok = results
            .iter()
            .filter(|r| r.status == StatusCode::OK)
            .count();
        let conflicts = results
            .iter()
            .filter(|r| r.status == StatusCode::CONFLICT)
            .count();
        assert_eq!(
            (ok, conflicts),
            (1, 49),
            "{action}: {:?}",
            results.iter().map(|r| r.status).collect::<Vec<_>>()
        );
    }
    let res = h.get(&format!("/api/v1/interventions/{id}"), &w.resp).await;
    assert_eq!(
        (res.body["statut"].clone(), res.body["version"].clone()),
        (json!("cloturee"), json!(5)),
        "created at version 1, then four actions"
    );
    let res = h
        .get(&format!("/api/v1/interventions/{id}/historique"), &w.resp)
        .await;
    let actions = res.strs("action");
    assert_eq!(
        actions,
        vec![
            "creation",
            "affectation",
            "demarrage",
            "suspension",
            "reprise",
            "cloture"
        ]
    );
}

async fn the_dashboard_counts_by_scope(h: Harness) {
    let w = world(&h).await;
    let empty = h.get("/api/v1/dashboard/stats", &w.resp).await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.body);
    assert_eq!(empty.body["taux_resolution"], 0.0);
    assert_eq!(
        empty.body["evolution_mensuelle"].as_array().unwrap().len(),
        6
    );
    let a = create(
        &h,
        &w,
        json!({"priorite": "urgente", "date_limite": "2001-01-01"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let b = create(&h, &w, json!({"technicien_id": w.technicien_id})).await["id"]
        .as_i64()
        .unwrap();
    h.post(
        "/api/v1/interventions",
        &w.resp,
        json!({"titre": "c", "type": "corrective", "equipement_id": w.client_equipement_id()}),
    )
    .await;
    post(&h, &w.tech, b, "demarrer", None).await;
    post(
        &h,
        &w.tech,
        b,
        "cloturer",
        Some(json!({"rapport_intervention": "ok"})),
    )
    .await;
    let _ = a;

    let res = h.get("/api/v1/dashboard/stats", &w.resp).await;
    let d = &res.body;
    assert_eq!(d["portee"], "global");
    assert_eq!(d["interventions"]["total"], 3);
    assert_eq!(d["interventions"]["ouverte"], 2);
    assert_eq!(d["interventions"]["cloturee"], 1);
    assert_eq!(d["interventions"]["archivee"], 0);
    assert_eq!(d["interventions"]["terminees"], 1);
    assert_eq!(d["interventions"]["en_retard"], 1);
    assert_eq!(d["interventions"]["total_mensuel"], 3);
    assert_eq!(d["interventions"]["terminees_mensuel"], 1);
    assert_eq!(d["taux_resolution"], 33.3);
    assert_eq!(d["priorites"]["urgente"], 1);
    assert_eq!(d["priorites"]["normale"], 2);
    assert_eq!(d["equipements"]["total"], 2);
    assert_eq!(d["equipements"]["operationnel"], 2);
    let months = d["evolution_mensuelle"].as_array().unwrap();
    assert_eq!(months[5]["total"], 3, "the current month is last");
    assert_eq!(
        months[5]["periode"],
        erp_domain::Clock::now(&erp_domain::SystemClock)
            .format("%Y-%m")
            .to_string()
    );
    assert_eq!(
        months[5]["month"],
        erp_domain::Clock::now(&erp_domain::SystemClock)
            .format("%b")
            .to_string()
    );
    assert_eq!(d["utilisateurs"]["total"], 5);

    let res = h.get("/api/v1/dashboard/stats", &w.tech).await;
    assert_eq!(
        (
            res.body["portee"].clone(),
            res.body["interventions"]["total"].clone()
        ),
        (json!("technicien"), json!(1))
    );
    assert_eq!(res.body["taux_resolution"], 100.0);
    assert_eq!(
        res.body["equipements"]["total"], 2,
        "techniciens count every équipement"
    );
    let res = h.get("/api/v1/dashboard/stats", &w.client).await;
    assert_eq!(
        (
            res.body["portee"].clone(),
            res.body["interventions"]["total"].clone()
        ),
        (json!("client"), json!(1))
    );
    assert_eq!(res.body["equipements"]["total"], 1);
    assert_eq!(
        h.json(Method::GET, "/api/v1/dashboard/stats", None, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    // Concurrent requests share computations only within one audience (crate::coalesce):
    // interleaved, every caller still gets its own scope's numbers.
    let callers = [
        (&w.resp, "global", 3),
        (&w.admin, "global", 3),
        (&w.tech, "technicien", 1),
        (&w.client, "client", 1),
    ];
    let h = &h;
    let answers = futures_util::future::join_all((0..4).flat_map(|_| {
        callers.iter().map(|&(token, portee, total)| async move {
            let res = h.get("/api/v1/dashboard/stats", token).await;
            (
                (
                    res.body["portee"].clone(),
                    res.body["interventions"]["total"].clone(),
                ),
                (json!(portee), json!(total)),
            )
        })
    }))
    .await;
    for (got, expected) in answers {
        assert_eq!(got, expected);
    }
    // A dashboard asked for after a write counts it.
    create(h, &w, json!({})).await;
    let (global, tech) = futures_util::future::join(
        h.json(Method::GET, "/api/v1/dashboard/stats", Some(&w.resp), None),
        h.json(Method::GET, "/api/v1/dashboard/stats", Some(&w.tech), None),
    )
    .await;
    assert_eq!(global.body["interventions"]["total"], 4);
    assert_eq!(tech.body["interventions"]["total"], 1);
}

/// `X-Total-Count` is remembered while nothing changes (counts.rs) and follows every change:
/// this replica's creations and lifecycle actions, and another replica's writes.
async fn totals_follow_every_change(h: Harness) {
    let w = world(&h).await;
    let open = "/api/v1/interventions?statut=ouverte&priorite=normale,haute";
    let total = |res: &support::Res| res.header("x-total-count").map(str::to_owned);
    let list = async |uri: &str| {
        let res = h.get(uri, &w.resp).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        res
    };
    let a = create(&h, &w, json!({})).await["id"].as_i64().unwrap();
    create(&h, &w, json!({"priorite": "haute"})).await;
    create(&h, &w, json!({"priorite": "basse"})).await;

    let before = h.db.count_cache_stats();
    assert_eq!(total(&list(open).await).as_deref(), Some("2"));
    let res = list(open).await;
    assert_eq!(total(&res).as_deref(), Some("2"));
    assert_eq!(res.body.as_array().unwrap().len(), 2);
    let after = h.db.count_cache_stats();
    assert_eq!(
        (after.misses - before.misses, after.hits - before.hits),
        (1, 1),
        "the second identical list is answered from memory"
    );

    // A creation on this replica.
    create(&h, &w, json!({"priorite": "haute"})).await;
    assert_eq!(total(&list(open).await).as_deref(), Some("3"));
    // A lifecycle action: `a` leaves `ouverte`.
    let res = post(
        &h,
        &w.resp,
        a,
        "affecter",
        Some(json!({"technicien_id": w.technicien_id})),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(total(&list(open).await).as_deref(), Some("2"));
    assert_eq!(
        total(&list("/api/v1/interventions?statut=affectee").await).as_deref(),
        Some("1")
    );

    // Another replica (its own pool on the same database) writes; this one's totals follow.
    let replica = h.replica().await;
    let on_replica = async |uri: &str, token: &str, body: Option<Value>| {
        let req = support::json_request(Method::POST, uri, Some(token), body);
        support::call_app(&replica, req).await
    };
    for (priorite, expected) in [("normale", "3"), ("haute", "4")] {
        let body = intervention_body(&w, json!({"priorite": priorite}));
        let res = on_replica("/api/v1/interventions", &w.resp, Some(body)).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        assert_eq!(total(&list(open).await).as_deref(), Some(expected));
    }
    let res = on_replica(
        &format!("/api/v1/interventions/{a}/demarrer"),
        &w.tech,
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(
        total(&list("/api/v1/interventions?statut=affectee").await).as_deref(),
        Some("0")
    );

    // A filter on the clock is counted every time: its answer moves with time, not writes.
    let late = "/api/v1/interventions?en_retard=true";
    let before = h.db.count_cache_stats();
    list(late).await;
    list(late).await;
    let after = h.db.count_cache_stats();
    assert_eq!(
        (after.misses - before.misses, after.hits - before.hits),
        (2, 0)
    );
}

/// The reads check the token, its session and the role inside their use case's own blocking
/// call (`Bearer::run`); the contract's order (API.md §1.5) still holds: 401 before the input's
/// 422 or 404, a revoked session or a deactivated user refused on the very next read.
async fn reads_check_the_caller_before_their_input(h: Harness) {
    let w = world(&h).await;
    let id = create(&h, &w, json!({})).await["id"].as_i64().unwrap();
    let reads = [
        format!("/api/v1/interventions/{id}"),
        format!("/api/v1/interventions/{id}/historique"),
        "/api/v1/interventions".to_owned(),
        "/api/v1/filters/interventions".to_owned(),
        format!("/api/v1/equipements/{}/interventions", w.equipement_id()),
    ];
    let bad = [
        (
            "/api/v1/interventions/abc",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        ("/api/v1/interventions/999999", StatusCode::NOT_FOUND),
        (
            "/api/v1/interventions/abc/historique",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/v1/interventions/999999/historique",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/interventions?limit=0",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/v1/equipements/abc/interventions",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/v1/equipements/999999/interventions",
            StatusCode::NOT_FOUND,
        ),
    ];
    seed_user(&h.db, "leila", UserRole::Responsable, None);
    let (leila, _) = h.token("leila").await;
    for uri in &reads {
        let res = h.get(uri, &leila).await;
        assert_eq!(res.status, StatusCode::OK, "{uri}: {}", res.body);
    }
    for (uri, status) in bad {
        let res = h.get(uri, &leila).await;
        assert_eq!(res.status, status, "{uri}: {}", res.body);
    }
    let everything: Vec<&str> = reads
        .iter()
        .map(String::as_str)
        .chain(bad.iter().map(|(uri, _)| *uri))
        .collect();
    let refused = |res: &support::Res, uri: &str| {
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{uri}: {}", res.body);
        assert!(res.header("www-authenticate").is_some(), "{uri}");
    };
    for uri in &everything {
        refused(&h.json(Method::GET, uri, None, None).await, uri);
        refused(&h.get(uri, "not-a-jwt").await, uri);
    }
    // Logged out: the token still verifies, its session no longer exists.
    let res = h.post("/api/v1/auth/logout", &leila, None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    for uri in &everything {
        let res = h.get(uri, &leila).await;
        refused(&res, uri);
        assert_eq!(res.message(), "Token invalide ou expiré", "{uri}");
    }
    // A deactivated user: refused with its own message, whatever the input.
    let (karim, _) = h.token("karim").await;
    let karim_id = h.get("/api/v1/auth/me", &karim).await.body["id"]
        .as_i64()
        .unwrap();
    let res = h
        .put(
            &format!("/api/v1/users/{karim_id}"),
            &w.admin,
            json!({"is_active": false}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    for uri in ["/api/v1/interventions/abc", "/api/v1/interventions"] {
        let res = h.get(uri, &karim).await;
        refused(&res, uri);
        assert_eq!(res.message(), "Utilisateur désactivé", "{uri}");
    }
}

/// An unknown enum value in a query parameter is `invalid_value`, a missing one `required`
/// (API.md §1.5, §3.6.5): `PATCH …/statut?statut=fini` answered `required`. Every enum filter
/// of the lists is checked the same way, alone and inside a comma-separated list.
async fn unknown_enum_values_in_queries_are_invalid_not_missing(h: Harness) {
    let w = world(&h).await;
    let id = create(&h, &w, json!({})).await["id"].as_i64().unwrap();
    let statut = |query: &str| format!("/api/v1/interventions/{id}/statut{query}");
    for (query, expected) in [
        ("?statut=fini", vec![("statut", "invalid_value")]),
        ("?statut=%20FINI%20", vec![("statut", "invalid_value")]),
        ("", vec![("statut", "required")]),
        ("?statut=", vec![("statut", "required")]),
        ("?statut=%20", vec![("statut", "required")]),
        (
            "?statut=affectee&technicien_id=abc",
            vec![("technicien_id", "invalid_type")],
        ),
        ("?statut=affectee", vec![("technicien_id", "required")]),
        (
            "?statut=fini&technicien_id=abc",
            vec![
                ("statut", "invalid_value"),
                ("technicien_id", "invalid_type"),
            ],
        ),
    ] {
        let res = h.patch(&statut(query), &w.admin, None).await;
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {}",
            res.body
        );
        let expected: Vec<(String, String)> = expected
            .into_iter()
            .map(|(f, c)| (f.to_owned(), c.to_owned()))
            .collect();
        assert_eq!(res.detail_codes(), expected, "{query}");
        assert_eq!(
            res.body["error"]["details"][0]["location"], "query",
            "{query}"
        );
    }
    let res = h
        .patch(
            &statut("?statut=%20Affectee%20&technicien_id=1"),
            &w.admin,
            None,
        )
        .await;
    assert_ne!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a known value, trimmed and in any case: {}",
        res.body
    );

    let equipement = w.equipement_id();
    let lists = [
        ("/api/v1/interventions", "statut"),
        ("/api/v1/interventions", "priorite"),
        ("/api/v1/interventions", "type"),
        ("/api/v1/filters/interventions", "statut"),
        (
            &format!("/api/v1/equipements/{equipement}/interventions"),
            "priorite",
        ),
        ("/api/v1/equipements", "statut"),
        ("/api/v1/equipements", "criticite"),
        ("/api/v1/users", "role"),
        ("/api/v1/techniciens", "disponibilite"),
        ("/api/v1/techniciens", "niveau_technicien"),
        ("/api/v1/planning", "statut"),
        ("/api/v1/planning", "frequence"),
        ("/api/v1/notifications", "type"),
        ("/api/v1/notifications", "canal"),
        ("/api/v1/notifications/me", "type"),
        ("/api/v1/audit/events", "event_type"),
    ];
    for (path, name) in lists {
        for value in ["fini", "fini,autre"] {
            let uri = format!("{path}?{name}={value}");
            let res = h.get(&uri, &w.admin).await;
            assert_eq!(
                res.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{uri}: {}",
                res.body
            );
            assert_eq!(
                res.detail_codes(),
                vec![(name.to_owned(), "invalid_value".to_owned())],
                "{uri}"
            );
            assert_eq!(
                res.body["error"]["details"][0]["location"], "query",
                "{uri}"
            );
        }
    }
}

both! {
    reads_check_the_caller => reads_check_the_caller_before_their_input;
    totals => totals_follow_every_change;
    dashboard => the_dashboard_counts_by_scope;
    concurrency => concurrent_transitions_have_one_winner_per_step;
    creation => creation_and_its_errors;
    lifecycle => the_whole_lifecycle;
    cancel_reassign_edit_statut => cancel_reassign_edit_and_statut;
    lists => lists_filters_and_scopes;
    long_sort => long_sort_parameters_answer_at_once_and_keep_the_first_occurrence;
    unknown_enum_values => unknown_enum_values_in_queries_are_invalid_not_missing;
}
