//! Notifications (API.md §3.8) through the real app on SQLite and PostgreSQL: the lifecycle
//! events that create them (each once), the caller's list and read receipts, and the admin's
//! hand-written notifications, lists and deletes, with their errors.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions: failing loudly is the point"
)]

use crate::support;

use actix_web::http::{Method, StatusCode};
use erp_domain::UserRole;
use serde_json::{Value, json};
use support::{Harness, World, seed_user};

async fn world(h: &Harness) -> World {
    World::builder()
        .resp2()
        .client_equipement("Compresseur", "compresseur", "B")
        .build(h)
        .await
}

async fn mine(h: &Harness, token: &str, query: &str) -> Vec<Value> {
    let res = h
        .get(&format!("/api/v1/notifications/me{query}"), token)
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    res.body.as_array().unwrap().clone()
}

async fn lifecycle_events_notify_once(h: Harness) {
    let w = world(&h).await;
    let res = h.post("/api/v1/interventions", &w.resp, json!({"titre": "Vibration", "type": "corrective", "equipement_id": w.client_equipement_id()}))
        .await;
    let id = res.body["id"].as_i64().unwrap();
    assert!(
        mine(&h, &w.tech, "").await.is_empty(),
        "creation alone notifies nobody"
    );

    let res = h
        .post(
            &format!("/api/v1/interventions/{id}/affecter"),
            &w.resp,
            json!({"technicien_id": w.technicien_id}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let got = mine(&h, &w.tech, "").await;
    assert_eq!(got.len(), 1);
    let n = &got[0];
    assert_eq!(n["type"], "affectation");
    assert_eq!(n["canal"], "log");
    assert_eq!(n["titre"], "Nouvelle intervention assignée");
    assert_eq!(
        n["contenu"],
        format!("Une nouvelle intervention vous a été assignée : Vibration (#{id}).")
    );
    assert_eq!(n["user_id"], w.tech_user);
    assert_eq!(n["intervention_id"], id);
    assert_eq!(n["lue"], false);
    assert_eq!(n["read_at"], Value::Null);

    // A failed action (409) notifies nobody.
    let res = h
        .post(
            &format!("/api/v1/interventions/{id}/affecter"),
            &w.resp,
            json!({"technicien_id": w.technicien_id}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(mine(&h, &w.tech, "").await.len(), 1);

    for action in ["demarrer"] {
        let res = h
            .post(
                &format!("/api/v1/interventions/{id}/{action}"),
                &w.tech,
                None,
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    }
    let res = h
        .post(
            &format!("/api/v1/interventions/{id}/cloturer"),
            &w.tech,
            json!({"rapport_intervention": "Roulement changé"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    // Closure: the creator (an active responsable) and the account's client users; not the
    // other responsable.
    let resp = mine(&h, &w.resp, "").await;
    assert_eq!(resp.len(), 1);
    assert_eq!(resp[0]["type"], "cloture");
    assert_eq!(resp[0]["titre"], "Intervention clôturée");
    assert_eq!(
        resp[0]["contenu"],
        format!("L'intervention Vibration (#{id}) a été clôturée.")
    );
    let client = mine(&h, &w.client, "").await;
    assert_eq!(client.len(), 1);
    assert_eq!(client[0]["user_id"], w.client_user);
    let other = h.token("resp2").await.0;
    assert!(mine(&h, &other, "").await.is_empty());

    // Created assigned: the technicien is notified at creation.
    let res = h.post("/api/v1/interventions", &w.resp, json!({"titre": "Fuite", "type": "corrective", "equipement_id": w.client_equipement_id(), "technicien_id": w.technicien_id}))
        .await;
    assert_eq!(res.status, StatusCode::CREATED);
    assert_eq!(mine(&h, &w.tech, "?type=affectation").await.len(), 2);
}

async fn reading_and_admin_management(h: Harness) {
    let w = world(&h).await;
    // Admin writes by hand.
    let res = h.post("/api/v1/notifications", &w.admin, json!({"type": "information", "canal": "EMAIL", "titre": "  Coupure  ", "contenu": "Coupure électrique samedi", "user_id": w.tech_user}))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    assert_eq!(
        res.header("location"),
        None,
        "no Location for notifications"
    );
    assert_eq!(res.body["canal"], "email");
    assert_eq!(res.body["titre"], "Coupure");
    let first = res.body["id"].as_i64().unwrap();
    h.clock.advance(chrono::Duration::seconds(1));
    let res = h
        .post(
            "/api/v1/notifications",
            &w.admin,
            json!({"type": "rappel", "canal": "push", "user_id": w.tech_user}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let second = res.body["id"].as_i64().unwrap();

    // Errors of POST.
    for (body, field) in [
        (json!({"canal": "log", "user_id": w.tech_user}), "type"),
        (
            json!({"type": "urgent", "canal": "log", "user_id": w.tech_user}),
            "type",
        ),
        (
            json!({"type": "information", "user_id": w.tech_user}),
            "canal",
        ),
        (
            json!({"type": "information", "canal": "fax", "user_id": w.tech_user}),
            "canal",
        ),
        (json!({"type": "information", "canal": "log"}), "user_id"),
        (
            json!({"type": "information", "canal": "log", "user_id": w.tech_user, "titre": "x".repeat(256)}),
            "titre",
        ),
        (
            json!({"type": "information", "canal": "log", "user_id": w.tech_user, "contenu": "x".repeat(2001)}),
            "contenu",
        ),
    ] {
        let res = h
            .post("/api/v1/notifications", &w.admin, body.clone())
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(
            res.detail_codes().iter().any(|(f, _)| f == field),
            "{body}: {}",
            res.body
        );
    }
    let res = h
        .post(
            "/api/v1/notifications",
            &w.admin,
            json!({"type": "information", "canal": "log", "user_id": 9999}),
        )
        .await;
    res.assert_error(StatusCode::NOT_FOUND, "Utilisateur cible introuvable");
    let res = h.post("/api/v1/notifications", &w.admin, json!({"type": "information", "canal": "log", "user_id": w.tech_user, "intervention_id": 9999}))
        .await;
    res.assert_error(StatusCode::NOT_FOUND, "Intervention introuvable");
    let res = h
        .post(
            "/api/v1/notifications",
            &w.resp,
            json!({"type": "information", "canal": "log", "user_id": w.tech_user}),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);

    // The recipient's list: newest first, `lue` and `type` filters, both paths.
    let got = mine(&h, &w.tech, "").await;
    assert_eq!(
        got.iter()
            .map(|n| n["id"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![second, first]
    );
    let res = h
        .get("/api/v1/notifications/user/me?type=information", &w.tech)
        .await;
    assert_eq!(res.body.as_array().unwrap().len(), 1);
    let res = h.get("/api/v1/notifications/me?lue=maybe", &w.tech).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(mine(&h, &w.resp, "").await.is_empty());

    // Read receipts: persisted, idempotent, someone else's is 404.
    let res = h
        .put(
            &format!("/api/v1/notifications/{first}/read"),
            &w.resp,
            None,
        )
        .await;
    res.assert_error(StatusCode::NOT_FOUND, "Notification non trouvée");
    let res = h
        .put(
            &format!("/api/v1/notifications/{first}/read"),
            &w.tech,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(
        res.body,
        json!({"message": "Notification marquée comme lue"})
    );
    let read = mine(&h, &w.tech, "?lue=true").await;
    assert_eq!(read.len(), 1);
    let read_at = read[0]["read_at"].clone();
    assert!(read_at.is_string());
    h.clock.advance(chrono::Duration::seconds(5));
    let res = h
        .patch(
            &format!("/api/v1/notifications/{first}/read"),
            &w.tech,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(
        mine(&h, &w.tech, "?lue=true").await[0]["read_at"],
        read_at,
        "first read time kept"
    );
    assert_eq!(mine(&h, &w.tech, "?lue=false").await.len(), 1);
    let res = h
        .put(
            &format!("/api/v1/notifications/{second}/read"),
            &w.admin,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "an admin may mark anyone's");
    let res = h
        .put("/api/v1/notifications/9999/read", &w.tech, None)
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    // Admin lists.
    let res = h
        .get(
            &format!(
                "/api/v1/notifications?user_id={}&canal=email,push",
                w.tech_user
            ),
            &w.admin,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.header("x-total-count"), Some("2"));
    let res = h
        .get("/api/v1/notifications?type=information&sort=id", &w.admin)
        .await;
    assert_eq!(res.body.as_array().unwrap().len(), 1);
    let res = h.get("/api/v1/notifications?canal=fax", &w.admin).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let res = h.get("/api/v1/notifications", &w.resp).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = h
        .get(
            &format!("/api/v1/notifications/user/{}", w.tech_user),
            &w.admin,
        )
        .await;
    assert_eq!(res.body.as_array().unwrap().len(), 2);
    let res = h.get("/api/v1/notifications/user/9999", &w.admin).await;
    res.assert_error(StatusCode::NOT_FOUND, "Utilisateur non trouvé.");
    let res = h
        .get(
            &format!("/api/v1/notifications/user/{}", w.tech_user),
            &w.client,
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);

    // Delete.
    let res = h
        .delete(&format!("/api/v1/notifications/{first}"), &w.tech)
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = h
        .delete(&format!("/api/v1/notifications/{first}"), &w.admin)
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body, json!({"detail": "Notification supprimée"}));
    let res = h
        .delete(&format!("/api/v1/notifications/{first}"), &w.admin)
        .await;
    res.assert_error(StatusCode::NOT_FOUND, "Notification non trouvée");
    assert_eq!(mine(&h, &w.tech, "").await.len(), 1);

    // Manual notifications and deletions are administrative actions in the audit trail.
    let res = h
        .get(
            "/api/v1/audit/events?event_type=admin.action&limit=200",
            &w.admin,
        )
        .await;
    let facts: Vec<(String, String)> = res
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["resource"]
                .as_str()
                .is_some_and(|r| r.starts_with("notification:"))
        })
        .map(|e| {
            (
                e["resource"].as_str().unwrap().to_owned(),
                e["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        facts.contains(&(format!("notification:{first}"), "create".to_owned())),
        "{facts:?}"
    );
    assert!(
        facts.contains(&(format!("notification:{second}"), "create".to_owned())),
        "{facts:?}"
    );
    assert!(
        facts.contains(&(format!("notification:{first}"), "delete".to_owned())),
        "{facts:?}"
    );
    assert_eq!(
        facts.len(),
        3,
        "refused requests leave no admin action: {facts:?}"
    );
}

async fn health_reports_the_outbox(h: Harness) {
    use erp_application::tx::transaction;
    use erp_domain::notification::{EmailContent, NewNotification, NewOutboxMessage};
    use erp_domain::ports::{RepoError, TransactionMode};
    let res = h.json(Method::GET, "/health", None, None).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body["status"], "ok");
    assert_eq!(
        res.body["checks"]["outbox"],
        json!({"status": "healthy", "pending": 0, "failed": 0})
    );
    assert_eq!(res.body["checks"]["scheduler"]["enabled"], false);
    let user = seed_user(&h.db, "nadia", UserRole::Responsable, None);
    let now = erp_domain::Clock::now(h.clock.as_ref());
    transaction(h.db.as_ref(), TransactionMode::ReadWrite, |uow| {
        let n = uow
            .insert_notification(&NewNotification {
                type_notification: erp_domain::enums::TypeNotification::Information,
                canal: erp_domain::enums::CanalNotification::Email,
                titre: None,
                contenu: None,
                user_id: user.id,
                intervention_id: None,
                date_envoi: now,
                created_by_id: None,
                dedup_key: None,
            })?
            .unwrap();
        uow.enqueue_email(&NewOutboxMessage {
            notification_id: n.id,
            destinataire: "nadia@mif.ma".into(),
            email: EmailContent {
                subject: "S".into(),
                text: "T".into(),
                html: String::new(),
            },
            at: now,
        })
    })
    .unwrap();
    let res = h.json(Method::GET, "/health", None, None).await;
    assert_eq!(res.body["status"], "ok", "a fresh pending e-mail is normal");
    assert_eq!(res.body["checks"]["outbox"]["pending"], 1);
    // The message gives up: the outbox turns to warning and the service to degraded.
    transaction(h.db.as_ref(), TransactionMode::ReadWrite, |uow| {
        let id = uow.due_outbox_ids(now, 1)?[0];
        uow.outbox_failed(id, 10, "refused", None, now)?;
        Ok::<_, RepoError>(())
    })
    .unwrap();
    let res = h.json(Method::GET, "/api/v1/health", None, None).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body["status"], "degraded");
    assert_eq!(
        res.body["checks"]["outbox"],
        json!({"status": "warning", "pending": 0, "failed": 1})
    );
}

both! {
    events => lifecycle_events_notify_once;
    reading => reading_and_admin_management;
    health => health_reports_the_outbox;
}
