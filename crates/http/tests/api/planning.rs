//! Preventive planning (API.md §3.7) through the real app on SQLite and PostgreSQL: CRUD and
//! its errors, rescheduling, on-demand generation, and the scheduler driven by an injected
//! clock — calendar months, missed periods, lead days, end dates, overdue notices, and two
//! schedulers racing on one database.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions: failing loudly is the point"
)]

use crate::support;

use std::sync::Arc;

use actix_web::http::StatusCode;
use chrono::{TimeZone, Utc};
use erp_application::Application;
use erp_domain::clock::Clock as _;
use serde_json::{Value, json};
use support::{Harness, World};

async fn world(h: &Harness) -> World {
    World::builder()
        .equipement("Pompe P-12", "pompe", "Atelier A")
        .build(h)
        .await
}

/// A second application over the harness's database and clock: the scheduler's entry point.
fn scheduler(h: &Harness) -> Application {
    support::application(Arc::clone(&h.db), Arc::clone(&h.clock) as _)
}

fn at(y: i32, m: u32, d: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 8, 0, 0).single().unwrap()
}

/// Moves the harness clock to `t` (forward only) and logs in again (tokens expire).
async fn set_clock(h: &Harness, w: &mut World, t: chrono::DateTime<Utc>) {
    let now = h.clock.now();
    assert!(t >= now, "the test clock only moves forward");
    h.clock.advance(t - now);
    w.resp = h.token("resp").await.0;
    w.tech = h.token("karim").await.0;
}

async fn create(h: &Harness, token: &str, body: Value) -> Value {
    let res = h.post("/api/v1/planning", token, body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let id = res.body["id"].as_i64().unwrap();
    assert_eq!(
        res.header("location"),
        Some(format!("/api/v1/planning/{id}").as_str())
    );
    res.body
}

async fn generated_for(h: &Harness, w: &World, pid: &Value) -> Vec<Value> {
    let pid = pid.as_i64().unwrap();
    let res = h
        .get(
            &format!("/api/v1/interventions?planning_id={pid}&sort=id"),
            &w.resp,
        )
        .await;
    res.body.as_array().unwrap().clone()
}

async fn crud_and_its_errors(h: Harness) {
    let w = world(&h).await;
    let p = create(
        &h,
        &w.resp,
        json!({"equipement_id": w.equipement_id(), "frequence": " Mensuel ", "prochaine_date": "2027-01-31T08:00:00Z",
               "titre": "Graissage", "priorite": "haute", "avance_jours": 3, "duree_estimee": 45}),
    )
    .await;
    assert_eq!(p["frequence"], "mensuelle");
    assert_eq!(p["statut"], "actif");
    assert_eq!(p["is_active"], true);
    assert_eq!(p["prochaine_date"], "2027-01-31T08:00:00Z");
    assert_eq!(p["derniere_date"], Value::Null);
    assert_eq!(p["priorite"], "haute");
    assert_eq!(p["avance_jours"], 3);
    assert_eq!(p["duree_estimee"], 45);
    let id = p["id"].as_i64().unwrap();

    // Defaults: next date = previous + 1 period (calendar month, clamped).
    let q = create(
        &h,
        &w.admin,
        json!({"equipement_id": w.equipement_id(), "frequence": "trimestrielle", "derniere_date": "2026-11-30T08:00:00Z", "statut": "suspendu"}),
    )
    .await;
    assert_eq!(q["prochaine_date"], "2027-02-28T08:00:00Z");
    assert_eq!(q["statut"], "suspendu");
    assert_eq!(q["is_active"], false);
    assert_eq!(q["priorite"], "normale");

    // Errors of POST.
    for (body, field, code) in [
        (
            json!({"equipement_id": w.equipement_id(), "frequence": "bimensuel"}),
            "frequence",
            "invalid_value",
        ),
        (json!({"frequence": "mensuel"}), "equipement_id", "required"),
        (
            json!({"equipement_id": w.equipement_id()}),
            "frequence",
            "required",
        ),
        (
            json!({"equipement_id": w.equipement_id(), "frequence": "mensuel", "statut": "en_retard"}),
            "statut",
            "invalid_value",
        ),
        (
            json!({"equipement_id": w.equipement_id(), "frequence": "mensuel", "avance_jours": 366}),
            "avance_jours",
            "out_of_range",
        ),
        (
            json!({"equipement_id": w.equipement_id(), "frequence": "mensuel", "prochaine_date": "demain"}),
            "prochaine_date",
            "invalid_format",
        ),
        (
            json!({"equipement_id": w.equipement_id(), "frequence": "mensuel", "prochaine_date": "2027-03-01", "date_fin": "2027-02-01"}),
            "date_fin",
            "invalid_value",
        ),
    ] {
        let res = h.post("/api/v1/planning", &w.resp, body.clone()).await;
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            res.body
        );
        assert!(
            res.detail_codes().contains(&(field.into(), code.into())),
            "{body}: {}",
            res.body
        );
    }
    let res = h
        .post(
            "/api/v1/planning",
            &w.resp,
            json!({"equipement_id": w.equipement_id(), "frequence": "x"}),
        )
        .await;
    assert_eq!(
        res.body["error"]["details"][0]["message"],
        "Fréquence invalide"
    );
    let res = h
        .post(
            "/api/v1/planning",
            &w.resp,
            json!({"equipement_id": 9999, "frequence": "annuel"}),
        )
        .await;
    res.assert_error(StatusCode::NOT_FOUND, "Équipement introuvable");
    let res = h.post("/api/v1/planning", &w.resp, json!({"equipement_id": w.equipement_id(), "frequence": "annuel", "technicien_id": 9999}))
        .await;
    res.assert_error(StatusCode::NOT_FOUND, "Technicien introuvable");

    // Roles: technicien reads, cannot write; client has no access.
    let res = h.get(&format!("/api/v1/planning/{id}"), &w.tech).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body["titre"], "Graissage");
    let res = h
        .post(
            "/api/v1/planning",
            &w.tech,
            json!({"equipement_id": w.equipement_id(), "frequence": "annuel"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = h.get("/api/v1/planning", &w.client).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = h.get("/api/v1/planning/9999", &w.resp).await;
    res.assert_error(StatusCode::NOT_FOUND, "Planning introuvable");
    let res = h.get("/api/v1/planning/abc", &w.resp).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Lists: either label form, statut, sort, dates.
    let res = h
        .get("/api/v1/planning?frequence=mensuel,trimestriel", &w.resp)
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.body.as_array().unwrap().len(), 2);
    assert_eq!(res.header("x-total-count"), Some("2"));
    assert_eq!(res.body[0]["id"], id, "default order: prochaine_date");
    let res = h
        .get("/api/v1/planning?frequence=mensuelle&statut=actif", &w.resp)
        .await;
    assert_eq!(res.body.as_array().unwrap().len(), 1);
    let res = h
        .get("/api/v1/planning?sort=-prochaine_date", &w.resp)
        .await;
    assert_eq!(res.body[0]["id"], q["id"]);
    let res = h
        .get("/api/v1/planning?prochaine_date_min=2027-02-01", &w.resp)
        .await;
    assert_eq!(res.body.as_array().unwrap().len(), 1);
    for bad in [
        "frequence=hourly",
        "statut=x",
        "sort=nom",
        "equipement_id=a",
        "prochaine_date_max=x",
    ] {
        let res = h.get(&format!("/api/v1/planning?{bad}"), &w.resp).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }

    // Update: partial, termine allowed, en_retard refused, a new date is the new anchor.
    let res = h.patch(&format!("/api/v1/planning/{id}"), &w.resp, json!({"titre": "Graissage paliers", "technicien_id": w.technicien_id, "commentaire": null}))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.body["titre"], "Graissage paliers");
    assert_eq!(res.body["technicien_id"], w.technicien_id);
    assert_eq!(res.body["frequence"], "mensuelle");
    let res = h
        .put(
            &format!("/api/v1/planning/{id}"),
            &w.resp,
            json!({"statut": "en_retard"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let res = h
        .put(
            &format!("/api/v1/planning/{id}"),
            &w.resp,
            json!({"frequence": "hourly"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let res = h
        .put(
            &format!("/api/v1/planning/{id}"),
            &w.resp,
            json!({"equipement_id": 9999}),
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let res = h
        .put("/api/v1/planning/9999", &w.resp, json!({"titre": "x"}))
        .await;
    res.assert_error(StatusCode::NOT_FOUND, "Planning introuvable");

    // Rescheduling: query or body (query wins).
    let res = h
        .patch(
            &format!("/api/v1/planning/{id}/dates?nouvelle_date=2027-02-10T08:00:00Z"),
            &w.resp,
            json!({"nouvelle_date": "2030-01-01"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.body["prochaine_date"], "2027-02-10T08:00:00Z");
    assert_eq!(res.body["derniere_date"], "2027-01-31T08:00:00Z");
    let res = h
        .patch(
            &format!("/api/v1/planning/{id}/dates"),
            &w.resp,
            json!({"nouvelle_date": "2027-02-12T08:00:00Z"}),
        )
        .await;
    assert_eq!(res.body["prochaine_date"], "2027-02-12T08:00:00Z");
    let res = h
        .patch(&format!("/api/v1/planning/{id}/dates"), &w.resp, None)
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        res.detail_codes(),
        vec![("nouvelle_date".to_owned(), "required".to_owned())]
    );
    let res = h
        .patch(
            &format!("/api/v1/planning/{id}/dates?nouvelle_date=x"),
            &w.resp,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let res = h
        .patch(
            "/api/v1/planning/9999/dates?nouvelle_date=2027-01-01",
            &w.resp,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    // Generation then delete: the intervention stays, unlinked.
    let res = h
        .post(&format!("/api/v1/planning/{id}/generer"), &w.resp, None)
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let intervention = res.body["intervention"]["id"].as_i64().unwrap();
    let res = h.delete(&format!("/api/v1/planning/{id}"), &w.tech).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = h.delete(&format!("/api/v1/planning/{id}"), &w.resp).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    let res = h.delete(&format!("/api/v1/planning/{id}"), &w.resp).await;
    res.assert_error(StatusCode::NOT_FOUND, "Planning introuvable");
    let res = h
        .get(
            "/api/v1/audit/events?event_type=admin.action&limit=200",
            &w.admin,
        )
        .await;
    let deletions = res
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"] == format!("planning:{id}") && e["action"] == "delete")
        .count();
    assert_eq!(deletions, 1, "{}", res.body);
    let res = h
        .get(&format!("/api/v1/interventions/{intervention}"), &w.resp)
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body["planning_id"], Value::Null);
}

async fn generation_on_demand(h: Harness) {
    let w = world(&h).await;
    let p = create(
        &h,
        &w.resp,
        json!({"equipement_id": w.equipement_id(), "frequence": "mensuel", "prochaine_date": "2027-01-31T08:00:00Z", "technicien_id": w.technicien_id}),
    )
    .await;
    let id = p["id"].as_i64().unwrap();
    let res = h
        .post(&format!("/api/v1/planning/{id}/generer"), &w.resp, None)
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let i = &res.body["intervention"];
    let iid = i["id"].as_i64().unwrap();
    assert_eq!(
        res.header("location"),
        Some(format!("/api/v1/interventions/{iid}").as_str())
    );
    assert_eq!(i["titre"], "Maintenance préventive - Pompe P-12");
    assert_eq!(
        i["description"],
        format!("Intervention générée automatiquement depuis le planning #{id}")
    );
    assert_eq!(i["type"], "preventive");
    assert_eq!(
        i["statut"], "affectee",
        "the planning's technicien is assigned at once"
    );
    assert_eq!(i["technicien_id"], w.technicien_id);
    assert_eq!(i["planning_id"], id);
    assert_eq!(i["urgence"], false);
    assert!(i["created_by_id"].is_i64());
    let planning = &res.body["planning"];
    assert_eq!(planning["derniere_date"], "2027-01-31T08:00:00Z");
    assert_eq!(planning["prochaine_date"], "2027-02-28T08:00:00Z");
    assert_eq!(i["date_limite"], "2027-02-28T08:00:00Z");
    let res = h
        .get(&format!("/api/v1/interventions/{iid}/historique"), &w.resp)
        .await;
    let actions = res.strs("action");
    assert_eq!(actions, vec!["generation", "affectation"]);
    assert_eq!(
        res.body[0]["remarque"],
        "Intervention générée manuellement depuis le planning"
    );
    assert_eq!(res.body[0]["from_statut"], Value::Null);
    // The technicien got the assignment and the reminder.
    let res = h.get("/api/v1/notifications/me", &w.tech).await;
    let mut kinds = res.strs("type");
    kinds.sort_unstable();
    assert_eq!(kinds, vec!["affectation", "rappel"], "{}", res.body);
    let rappel = res
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["type"] == "rappel")
        .unwrap();
    assert_eq!(rappel["titre"], "Maintenance préventive à venir");
    assert_eq!(
        rappel["contenu"],
        format!(
            "L'intervention préventive Maintenance préventive - Pompe P-12 (#{iid}) est prévue pour le 31/01/2027."
        )
    );
    assert_eq!(
        rappel["canal"], "log",
        "e-mail delivery is off in this harness"
    );

    // Moving the date back to an occurrence already generated: 409, nothing changes.
    let res = h
        .patch(
            &format!("/api/v1/planning/{id}/dates?nouvelle_date=2027-01-31T08:00:00Z"),
            &w.resp,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let res = h
        .post(&format!("/api/v1/planning/{id}/generer"), &w.resp, None)
        .await;
    res.assert_error(
        StatusCode::CONFLICT,
        "Intervention déjà générée pour cette échéance",
    );
    let res = h.get(&format!("/api/v1/planning/{id}"), &w.resp).await;
    assert_eq!(
        res.body["prochaine_date"], "2027-01-31T08:00:00Z",
        "the refused generation changed nothing"
    );
    let res = h
        .get(&format!("/api/v1/interventions?planning_id={id}"), &w.resp)
        .await;
    assert_eq!(res.body.as_array().unwrap().len(), 1);

    // Suspended: 409. Roles: technicien 403. Unknown: 404.
    let res = h
        .patch(
            &format!("/api/v1/planning/{id}"),
            &w.resp,
            json!({"statut": "suspendu"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let res = h
        .post(&format!("/api/v1/planning/{id}/generer"), &w.resp, None)
        .await;
    res.assert_error(
        StatusCode::CONFLICT,
        "Planning suspendu ou terminé : génération impossible",
    );
    let res = h
        .post(&format!("/api/v1/planning/{id}/generer"), &w.tech, None)
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = h.post("/api/v1/planning/9999/generer", &w.resp, None).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}

async fn the_scheduler_follows_the_calendar(h: Harness) {
    let mut w = world(&h).await;
    let monthly = create(
        &h,
        &w.resp,
        json!({"equipement_id": w.equipement_id(), "frequence": "mensuelle", "prochaine_date": "2027-01-31T08:00:00Z"}),
    )
    .await;
    let id = monthly["id"].as_i64().unwrap();
    let early = create(
        &h,
        &w.resp,
        json!({"equipement_id": w.equipement_id(), "frequence": "annuelle", "prochaine_date": "2027-02-10T08:00:00Z", "avance_jours": 10, "titre": "Révision annuelle"}),
    )
    .await;
    let suspended = create(
        &h,
        &w.resp,
        json!({"equipement_id": w.equipement_id(), "frequence": "journalier", "prochaine_date": "2027-01-01T08:00:00Z", "statut": "suspendu"}),
    )
    .await;
    let ending = create(
        &h,
        &w.resp,
        json!({"equipement_id": w.equipement_id(), "frequence": "hebdomadaire", "prochaine_date": "2027-01-25T08:00:00Z", "date_fin": "2027-01-31T00:00:00Z"}),
    )
    .await;
    let app = scheduler(&h);
    // Before anything is due: nothing.
    set_clock(&h, &mut w, at(2027, 1, 20)).await;
    let r = app.run_planning_generation().unwrap();
    assert_eq!((r.generated, r.terminated), (0, 0));

    // 31 Jan: the monthly one and the weekly one (25 Jan) are due; the annual one is due 10
    // days ahead of 10 Feb; the suspended one never.
    set_clock(&h, &mut w, at(2027, 1, 31)).await;
    let r = app.run_planning_generation().unwrap();
    assert_eq!(r.generated, 3, "{r:?}");
    let res = h.get(&format!("/api/v1/planning/{id}"), &w.resp).await;
    assert_eq!(
        res.body["prochaine_date"], "2027-02-28T08:00:00Z",
        "31 Jan + 1 month = last day of February"
    );
    assert_eq!(res.body["derniere_date"], "2027-01-31T08:00:00Z");
    let done = generated_for(&h, &w, &monthly["id"]).await;
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["statut"], "ouverte");
    assert_eq!(
        done[0]["created_by_id"],
        Value::Null,
        "the scheduler is nobody"
    );
    assert_eq!(done[0]["date_limite"], "2027-02-28T08:00:00Z");
    let res = h
        .get(
            &format!("/api/v1/interventions/{}/historique", done[0]["id"]),
            &w.resp,
        )
        .await;
    assert_eq!(res.body[0]["action"], "generation");
    assert_eq!(res.body[0]["user_id"], Value::Null);
    assert_eq!(res.body[0]["user"], Value::Null);
    assert_eq!(
        res.body[0]["remarque"],
        "Intervention générée par le scheduler depuis le planning"
    );
    assert_eq!(
        generated_for(&h, &w, &early["id"]).await[0]["titre"],
        "Révision annuelle"
    );
    assert!(generated_for(&h, &w, &suspended["id"]).await.is_empty());
    let weekly = h
        .get(&format!("/api/v1/planning/{}", ending["id"]), &w.resp)
        .await;
    assert_eq!(weekly.body["prochaine_date"], "2027-02-01T08:00:00Z");
    assert_eq!(
        weekly.body["statut"], "termine",
        "the next date is past date_fin"
    );

    // Running again at the same time generates nothing (idempotent).
    assert_eq!(app.run_planning_generation().unwrap().generated, 0);

    // Without a technicien, the reminder goes to every active responsable.
    let res = h.get("/api/v1/notifications/me?type=rappel", &w.resp).await;
    assert_eq!(res.body.as_array().unwrap().len(), 3, "{}", res.body);

    // 28 Feb, then 31 Mar: no drift.
    set_clock(&h, &mut w, at(2027, 2, 28)).await;
    app.run_planning_generation().unwrap();
    let res = h.get(&format!("/api/v1/planning/{id}"), &w.resp).await;
    assert_eq!(res.body["prochaine_date"], "2027-03-31T08:00:00Z");

    // The server was down from April to mid-July: one intervention for the oldest missed
    // occurrence, and the next date is the first one after now (documented policy).
    set_clock(&h, &mut w, at(2027, 7, 15)).await;
    app.run_planning_generation().unwrap();
    let res = h.get(&format!("/api/v1/planning/{id}"), &w.resp).await;
    assert_eq!(res.body["derniere_date"], "2027-03-31T08:00:00Z");
    assert_eq!(res.body["prochaine_date"], "2027-07-31T08:00:00Z");
    assert_eq!(generated_for(&h, &w, &monthly["id"]).await.len(), 3);

    // Overdue: the generated interventions' due dates passed while they are still open.
    let late = app.run_overdue_scan().unwrap();
    assert!(late >= 2, "{late}");
    let res = h.get("/api/v1/notifications/me?type=retard", &w.resp).await;
    let first = res.body.as_array().unwrap().len();
    assert!(first >= 2, "{}", res.body);
    assert!(
        res.body[0]["contenu"]
            .as_str()
            .unwrap()
            .contains("a dépassé sa date limite")
    );
    assert_eq!(
        app.run_overdue_scan().unwrap(),
        0,
        "each deadline is notified once"
    );
    let res = h.get("/api/v1/notifications/me?type=retard", &w.resp).await;
    assert_eq!(res.body.as_array().unwrap().len(), first);
}

async fn two_schedulers_generate_each_occurrence_once(h: Harness) {
    let mut w = world(&h).await;
    let mut ids = Vec::new();
    for k in 0..6 {
        let p = create(
            &h,
            &w.resp,
            json!({"equipement_id": w.equipement_id(), "frequence": "hebdomadaire", "prochaine_date": format!("2027-01-0{}T08:00:00Z", k + 1), "avance_jours": 14}),
        )
        .await;
        ids.push(p["id"].as_i64().unwrap());
    }
    set_clock(&h, &mut w, at(2027, 1, 1)).await;
    // Four schedulers (two would do; four make the race likelier), started together.
    let barrier = Arc::new(std::sync::Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let app = scheduler(&h);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                app.run_planning_generation().unwrap().generated
            })
        })
        .collect();
    let total: usize = handles.into_iter().map(|t| t.join().unwrap()).sum();
    // With a 14-day lead on 1 Jan, every occurrence up to 15 Jan is due: three for the planning
    // starting 1 Jan (1, 8, 15), two for the others (D and D + 7).
    let res = h
        .get("/api/v1/interventions?type=preventive&limit=200", &w.resp)
        .await;
    let rows = res.body.as_array().unwrap();
    assert_eq!(rows.len(), total, "reported and stored counts agree");
    let mut seen = std::collections::HashSet::new();
    for r in rows {
        let key = (
            r["planning_id"].as_i64().unwrap(),
            r["date_limite"].as_str().unwrap().to_owned(),
        );
        assert!(
            seen.insert(key.clone()),
            "occurrence generated twice: {key:?}"
        );
    }
    for (k, id) in ids.into_iter().enumerate() {
        let per_planning = rows.iter().filter(|r| r["planning_id"] == id).count();
        assert_eq!(per_planning, if k == 0 { 3 } else { 2 }, "planning {id}");
    }
    assert_eq!(total, 3 + 5 * 2);
}

both! {
    crud => crud_and_its_errors;
    generer => generation_on_demand;
    calendar => the_scheduler_follows_the_calendar;
    race => two_schedulers_generate_each_occurrence_once;
}
