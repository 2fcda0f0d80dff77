//! Auth, users and audit through the real app factory on real databases (SQLite always,
//! PostgreSQL when configured): every behaviour of API.md §3.2, §3.3, §3.11 and its error cases.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions: failing loudly is the point"
)]

use crate::support;

use std::sync::Arc;

use actix_web::http::{Method, StatusCode};
use actix_web::test::{self, TestRequest};
use erp_domain::UserRole;
use erp_persistence::testing::{TestBackend, TestDatabase};
use serde_json::{Value, json};
use support::{Harness, PASSWORD, TestClock, harness_with, seed_user};

/// `POST /auth/refresh` with `token` as the refresh token.
async fn refresh_with(h: &Harness, token: &str) -> support::Res {
    h.json(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": token})),
    )
    .await
}

async fn login_in_every_format(h: Harness) {
    seed_user(&h.db, "amal", UserRole::Responsable, None);
    // JSON with username, JSON with e-mail (any case), form, multipart.
    let res = h.login("AMAL", PASSWORD).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.body["token_type"], "bearer");
    assert_eq!(res.body["expires_in"], 900);
    assert_eq!(res.body["refresh_token"].as_str().unwrap().len(), 43);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    assert_eq!(res.header("pragma"), Some("no-cache"));
    let res = h
        .json(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": " Amal@MIF.ma ", "password": PASSWORD})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let form = TestRequest::post()
        .uri("/api/v1/auth/token")
        .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
        .set_payload(format!(
            "grant_type=password&username=amal&password={}",
            "Maintenance%232026x"
        ));
    assert_eq!(h.call(form).await.status, StatusCode::OK);
    let boundary = "XyZ";
    let multipart = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\namal\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\n{PASSWORD}\r\n--{boundary}--\r\n"
    );
    let req = TestRequest::post()
        .uri("/api/v1/auth/login")
        .insert_header((
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        ))
        .set_payload(multipart);
    assert_eq!(h.call(req).await.status, StatusCode::OK);
}

/// Regression (found by Schemathesis): a multipart body that does not parse was a bare 400
/// "Requête invalide", while a form-urlencoded one that does not parse is 422 `invalid_json`.
async fn malformed_multipart_bodies_are_422_like_malformed_forms(h: Harness) {
    for (uri, payload) in [
        ("/api/v1/auth/token", "garbage".as_bytes().to_vec()),
        (
            "/api/v1/auth/refresh",
            b"--B\r\nContent-Disposition: form-data; name=\"\xf3\x99\xa3x\"\r\n\r\nv\r\n--B--\r\n"
                .to_vec(),
        ),
    ] {
        let req = TestRequest::post()
            .uri(uri)
            .insert_header(("Content-Type", "multipart/form-data; boundary=B"))
            .set_payload(payload);
        let res = h.call(req).await;
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{uri}: {}",
            res.body
        );
        assert_eq!(
            res.detail_codes(),
            vec![("body".to_owned(), "invalid_json".to_owned())],
            "{uri}"
        );
    }
}

async fn login_failures_are_indistinguishable(h: Harness) {
    seed_user(&h.db, "amal", UserRole::Responsable, None);
    let wrong = h.login("amal", "Wrong#Password1").await;
    let unknown = h.login("nobody", "Wrong#Password1").await;
    for res in [&wrong, &unknown] {
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert_eq!(res.message(), "Email ou mot de passe incorrect");
        assert_eq!(res.header("www-authenticate"), Some("Bearer"));
    }
    let res = h
        .json(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "amal", "password": "x"})),
        )
        .await;
    assert_eq!(res.message(), "Identifiants invalides");
    let res = h
        .json(
            Method::POST,
            "/api/v1/auth/token",
            None,
            Some(json!({"password": "x"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        res.detail_codes(),
        vec![("username".into(), "required".into())]
    );
    let res = h
        .json(
            Method::POST,
            "/api/v1/auth/token",
            None,
            Some(json!({"username": "amal"})),
        )
        .await;
    assert_eq!(
        res.detail_codes(),
        vec![("password".into(), "required".into())]
    );
    let res = h
        .call(
            TestRequest::post()
                .uri("/api/v1/auth/token")
                .insert_header(("Content-Type", "text/plain"))
                .set_payload("x"),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

async fn an_inactive_account_with_the_right_password_is_403(h: Harness) {
    let admin = h.admin().await;
    let user = seed_user(&h.db, "karim", UserRole::Technicien, None);
    let res = h
        .delete(&format!("/api/v1/users/{}", user.id), &admin)
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    let res = h.login("karim", PASSWORD).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(res.message(), "Compte désactivé");
    assert_eq!(
        h.login("karim", "Wrong#Password1").await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn bearer_tokens_are_checked(h: Harness) {
    seed_user(&h.db, "amal", UserRole::Responsable, None);
    let (token, _) = h.token("amal").await;
    let res = h.get("/api/v1/auth/me", &token).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body["username"], "amal");
    assert_eq!(res.body["role"], "responsable");
    assert!(res.body.get("hashed_password").is_none());
    assert!(res.body["last_login"].is_string());

    let res = h.json(Method::GET, "/api/v1/auth/me", None, None).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.message(), "Authentification requise");
    assert_eq!(res.header("www-authenticate"), Some("Bearer"));
    let res = h
        .call(
            TestRequest::get()
                .uri("/api/v1/auth/me")
                .insert_header(("Authorization", format!("Basic {token}"))),
        )
        .await;
    assert_eq!(res.message(), "Authentification requise");
    for bad in ["garbage", &format!("{token}x")] {
        let res = h.get("/api/v1/users/me", bad).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert_eq!(res.message(), "Token invalide ou expiré");
        assert_eq!(
            res.header("www-authenticate"),
            Some("Bearer error=\"invalid_token\"")
        );
    }
    // No leeway: at exp the token is dead.
    h.clock.advance(chrono::Duration::seconds(900));
    let res = h.get("/api/v1/users/me", &token).await;
    assert_eq!(res.message(), "Token invalide ou expiré");
}

async fn refresh_rotates_and_reuse_revokes_the_session(h: Harness) {
    seed_user(&h.db, "amal", UserRole::Responsable, None);
    let (access, refresh) = h.token("amal").await;
    let res = refresh_with(&h, &refresh).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let second = res.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second, refresh);
    let new_access = res.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        h.get("/api/v1/auth/me", &new_access).await.status,
        StatusCode::OK
    );

    // Presenting the rotated token again revokes the whole session.
    let res = refresh_with(&h, &refresh).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.message(), "Refresh token invalide");
    let res = refresh_with(&h, &second).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "the family is dead");
    for t in [&access, &new_access] {
        assert_eq!(
            h.get("/api/v1/auth/me", t).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let res = refresh_with(&h, "unknown").await;
    assert_eq!(res.message(), "Refresh token invalide");
    let res = h
        .json(Method::POST, "/api/v1/auth/refresh", None, Some(json!({})))
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let form = TestRequest::post()
        .uri("/api/v1/auth/refresh")
        .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
        .set_payload("refresh_token=nope");
    assert_eq!(
        h.call(form).await.status,
        StatusCode::UNAUTHORIZED,
        "form bodies are accepted"
    );
}

async fn logout_ends_the_session_at_once(h: Harness) {
    seed_user(&h.db, "amal", UserRole::Responsable, None);
    let (access, refresh) = h.token("amal").await;
    let (other_access, _) = h.token("amal").await;
    let res = h
        .call(
            TestRequest::post()
                .uri("/api/v1/auth/logout")
                .insert_header(("Authorization", format!("Bearer {access}"))),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.body["message"], "Déconnexion réussie");
    assert_eq!(
        h.get("/api/v1/auth/me", &access).await.status,
        StatusCode::UNAUTHORIZED
    );
    let res = refresh_with(&h, &refresh).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        h.get("/api/v1/auth/me", &other_access).await.status,
        StatusCode::OK,
        "only this session"
    );
}

async fn change_password_checks_then_ends_every_session(h: Harness) {
    seed_user(&h.db, "amal", UserRole::Responsable, None);
    let (access, _) = h.token("amal").await;
    let (other, _) = h.token("amal").await;
    let change =
        |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    let res = h
        .post(
            "/api/v1/auth/change-password",
            &access,
            change(PASSWORD, PASSWORD),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        res.detail_codes(),
        vec![("new_password".into(), "invalid_value".into())]
    );
    let res = h
        .post(
            "/api/v1/auth/change-password",
            &access,
            change(PASSWORD, "short"),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.message().starts_with(
            "Mot de passe invalide: Le mot de passe doit contenir au moins 12 caractères"
        ),
        "{}",
        res.message()
    );
    assert!(
        res.detail_codes()
            .iter()
            .all(|(f, c)| f == "new_password" && c == "password_policy")
    );
    let res = h
        .post(
            "/api/v1/auth/change-password",
            &access,
            change("Wrong#Password1", "Nouveau#Passe2026"),
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(res.message(), "Mot de passe actuel incorrect");
    let res = h
        .post(
            "/api/v1/auth/change-password",
            &access,
            change(PASSWORD, "Nouveau#Passe2026"),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.body["message"], "Mot de passe changé avec succès");
    for t in [&access, &other] {
        assert_eq!(
            h.get("/api/v1/auth/me", t).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        h.login("amal", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        h.login("amal", "Nouveau#Passe2026").await.status,
        StatusCode::OK
    );
}

async fn five_failures_lock_the_account_then_it_escalates(h: Harness) {
    seed_user(&h.db, "amal", UserRole::Responsable, None);
    for i in 1..=5 {
        let res = h.login("amal", "Wrong#Password1").await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let res = h.login("amal", PASSWORD).await;
    assert_eq!(
        res.status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password while locked"
    );
    assert_eq!(res.header("retry-after"), Some("300"));
    assert_eq!(res.body["error"]["details"]["retry_after"], 300);
    assert_eq!(
        res.message(),
        "Trop de tentatives échouées. Réessayez dans 300 secondes."
    );
    // The e-mail is the same account key.
    assert_eq!(
        h.login("amal@mif.ma", PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    h.clock
        .advance(chrono::Duration::minutes(5) + chrono::Duration::seconds(1));
    for _ in 0..5 {
        let _ = h.login("amal", "Wrong#Password1").await;
    }
    let res = h.login("amal", PASSWORD).await;
    assert_eq!(
        res.header("retry-after"),
        Some("600"),
        "the second lockout lasts 10 minutes"
    );
    h.clock
        .advance(chrono::Duration::minutes(10) + chrono::Duration::seconds(1));
    assert_eq!(
        h.login("amal", PASSWORD).await.status,
        StatusCode::OK,
        "success clears the account key"
    );
}

async fn users_are_administered_by_admins_only(h: Harness) {
    let admin = h.admin().await;
    let body = json!({"username": "karim", "full_name": " Karim T ", "email": "Karim@MIF.ma", "role": "technicien", "password": "Technicien#2026"});
    let res = h.post("/api/v1/users", &admin, body.clone()).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let id = res.body["id"].as_i64().unwrap();
    assert_eq!(
        res.header("location"),
        Some(format!("/api/v1/users/{id}").as_str())
    );
    assert_eq!(res.body["email"], "karim@mif.ma");
    assert_eq!(res.body["full_name"], "Karim T");
    assert_eq!(res.body["is_active"], true);
    assert_eq!(res.body["client_id"], Value::Null);
    assert_eq!(res.body["last_login"], Value::Null);

    let mut dup = body.clone();
    dup["username"] = "KARIM2".into();
    let res = h.post("/api/v1/users", &admin, dup).await;
    res.assert_error(StatusCode::CONFLICT, "Email déjà utilisé.");
    let mut dup = body.clone();
    dup["email"] = "other@mif.ma".into();
    dup["username"] = "KARIM".into();
    let res = h.post("/api/v1/users", &admin, dup).await;
    res.assert_error(StatusCode::CONFLICT, "Username déjà utilisé.");

    let res = h
        .post(
            "/api/v1/users",
            &admin,
            json!({"username": "x", "email": "bad", "role": "root", "is_active": "yes"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    res.assert_detail_codes(&[
        ("username", "too_short"),
        ("full_name", "required"),
        ("email", "invalid_format"),
        ("role", "invalid_value"),
        ("password", "required"),
        ("is_active", "invalid_type"),
    ]);
    let mut weak = body.clone();
    weak["username"] = "weak".into();
    weak["email"] = "weak@mif.ma".into();
    weak["password"] = "Password123!".into();
    let res = h.post("/api/v1/users", &admin, weak).await;
    assert_eq!(
        res.message(),
        "Mot de passe invalide: Ce mot de passe est trop courant et n'est pas autorisé"
    );
    let res = h.post("/api/v1/users", &admin, json!({"username": "cli1", "full_name": "C", "email": "c1@x.ma", "role": "technicien", "password": "Technicien#2026", "client_id": 3})).await;
    assert_eq!(
        res.detail_codes(),
        vec![("client_id".into(), "invalid_value".into())]
    );
    let res = h.post("/api/v1/users", &admin, json!({"username": "cli2", "full_name": "Client Deux", "email": "c2@x.ma", "role": "client", "password": "Technicien#2026", "client_id": 999})).await;
    res.assert_error(StatusCode::NOT_FOUND, "Compte client introuvable");
    let res = h.post("/api/v1/users", &admin, json!({"username": "cli3", "full_name": "Client Trois", "email": "c3@x.ma", "role": "client", "password": "Technicien#2026"})).await;
    assert_eq!(res.status, StatusCode::CREATED);
    assert!(
        res.body["client_id"].is_i64(),
        "a client account is created"
    );

    let res = h
        .get(
            "/api/v1/users?role=technicien,client&sort=-username&limit=1",
            &admin,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.header("x-total-count"), Some("2"));
    assert_eq!(res.body.as_array().unwrap().len(), 1);
    assert_eq!(res.body[0]["username"], "karim");
    let res = h.get("/api/v1/users?sort=nope&limit=0", &admin).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.body["error"]["details"][0]["location"], "query");

    let res = h.get(&format!("/api/v1/users/{id}/"), &admin).await;
    assert_eq!(res.status, StatusCode::OK, "trailing slash");
    let res = h.get("/api/v1/users/999", &admin).await;
    res.assert_error(StatusCode::NOT_FOUND, "Utilisateur non trouvé.");
    assert_eq!(
        h.get("/api/v1/users/0", &admin).await.status,
        StatusCode::NOT_FOUND
    );
    let res = h.get("/api/v1/users/abc", &admin).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.body["error"]["details"][0]["location"], "path");

    // A technicien is refused with the roles listed, and the refusal is audited.
    let login = h.login("karim", "Technicien#2026").await;
    let tech = login.body["access_token"].as_str().unwrap().to_owned();
    let res = h.get("/api/v1/users", &tech).await;
    res.assert_error(StatusCode::FORBIDDEN, "Accès réservé aux rôles : admin");
    let res = h.post("/api/v1/users", &tech, json!({})).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "403 before 422");
    let res = h
        .get("/api/v1/audit/events?event_type=rbac.violation", &admin)
        .await;
    assert_eq!(res.header("x-total-count"), Some("2"));
}

async fn role_change_deactivation_and_the_last_admin(h: Harness) {
    let admin = h.admin().await;
    let karim = seed_user(&h.db, "karim", UserRole::Technicien, None);
    let (karim_token, _) = h.token("karim").await;
    let res = h
        .patch(
            &format!("/api/v1/users/{}", karim.id),
            &admin,
            json!({"role": "responsable", "full_name": null}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.body["role"], "responsable");
    assert_eq!(res.body["full_name"], Value::Null);
    assert_eq!(
        h.get("/api/v1/auth/me", &karim_token).await.status,
        StatusCode::UNAUTHORIZED,
        "role change ends sessions"
    );
    let res = h
        .put(
            &format!("/api/v1/users/{}", karim.id),
            &admin,
            json!({"email": null}),
        )
        .await;
    assert_eq!(
        res.detail_codes(),
        vec![("email".into(), "invalid_value".into())]
    );

    let (karim_token, _) = h.token("karim").await;
    assert_eq!(
        h.delete(&format!("/api/v1/users/{}", karim.id), &admin)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        h.delete(&format!("/api/v1/users/{}", karim.id), &admin)
            .await
            .status,
        StatusCode::NO_CONTENT,
        "idempotent"
    );
    let res = h.get("/api/v1/auth/me", &karim_token).await;
    res.assert_error(StatusCode::UNAUTHORIZED, "Utilisateur désactivé");
    let res = h
        .patch(
            &format!("/api/v1/users/{}/activate", karim.id),
            &admin,
            None,
        )
        .await;
    assert_eq!(
        (res.status, res.body["is_active"].clone()),
        (StatusCode::OK, Value::Bool(true))
    );

    let me = h.get("/api/v1/users/me", &admin).await;
    let admin_id = me.body["id"].as_i64().unwrap();
    let res = h
        .patch(
            &format!("/api/v1/users/{admin_id}"),
            &admin,
            json!({"role": "responsable"}),
        )
        .await;
    res.assert_error(
        StatusCode::CONFLICT,
        "Impossible de retirer le dernier administrateur actif",
    );
    let res = h.delete(&format!("/api/v1/users/{admin_id}"), &admin).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
}

async fn self_service_updates(h: Harness) {
    seed_user(&h.db, "amal", UserRole::Responsable, None);
    let (token, _) = h.token("amal").await;
    let res = h
        .put(
            "/api/v1/users/update",
            &token,
            json!({"full_name": "Amal B.", "role": "admin"}),
        )
        .await;
    assert_eq!(
        res.detail_codes(),
        vec![("role".into(), "read_only".into())]
    );
    let res = h
        .put(
            "/api/v1/users/update",
            &token,
            json!({"password": "Nouveau#Passe2026"}),
        )
        .await;
    assert_eq!(
        res.detail_codes(),
        vec![("current_password".into(), "required".into())]
    );
    let res = h
        .put(
            "/api/v1/users/update",
            &token,
            json!({"password": "Nouveau#Passe2026", "current_password": "Wrong#Password1"}),
        )
        .await;
    res.assert_error(StatusCode::BAD_REQUEST, "Mot de passe actuel incorrect");
    let res = h
        .put(
            "/api/v1/users/update",
            &token,
            json!({"full_name": "  Amal B.  "}),
        )
        .await;
    assert_eq!(
        (res.status, res.body["full_name"].clone()),
        (StatusCode::OK, json!("Amal B."))
    );
    let res = h
        .put(
            "/api/v1/users/update",
            &token,
            json!({"password": "Nouveau#Passe2026", "current_password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(
        h.get("/api/v1/users/me", &token).await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn the_audit_trail_records_and_filters(h: Harness) {
    let admin = h.admin().await;
    let _ = h.login("admin", "Wrong#Password1").await;
    let res = h.get("/api/v1/audit/events", &admin).await;
    assert_eq!(res.status, StatusCode::OK);
    let events = res.body.as_array().unwrap();
    assert_eq!(events[0]["event_type"], "auth.login.failed", "newest first");
    assert_eq!(events[0]["details"]["failure_reason"], "bad_password");
    assert_eq!(events[0]["ip_address"], "127.0.0.1");
    assert!(events[0]["request_id"].is_string());
    assert!(
        events
            .iter()
            .any(|e| e["event_type"] == "auth.login.success")
    );
    let res = h
        .get(
            "/api/v1/audit/events?event_type=auth.login.success&success=true",
            &admin,
        )
        .await;
    assert_eq!(res.header("x-total-count"), Some("1"));
    let res = h.get("/api/v1/audit/events?event_type=nope", &admin).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let res = h
        .get("/api/v1/audit/events?date_min=yesterday", &admin)
        .await;
    assert_eq!(
        res.detail_codes(),
        vec![("date_min".into(), "invalid_format".into())]
    );
    let text = res.body.to_string();
    assert!(!text.contains(PASSWORD));
}

/// The application of a harness with `slots` concurrent password checks.
fn hashing_app(h: &Harness, slots: usize) -> Arc<erp_application::Application> {
    let hasher =
        erp_security::BoundedHasher::new(erp_security::Argon2Hasher::owasp().unwrap(), slots);
    Arc::new(support::application_hashing(
        Arc::clone(&h.db),
        Arc::clone(&h.clock) as _,
        support::vault(h.docs.path(), &support::FERNET_KEY),
        Arc::new(hasher),
    ))
}

fn attempt(
    app: &erp_application::Application,
    identifier: &str,
    password: &str,
    ip: &str,
) -> Result<erp_application::auth::TokenPair, erp_application::AppError> {
    app.login(erp_application::auth::LoginInput {
        identifier: identifier.into(),
        password: erp_domain::password::PlainPassword::new(password),
        context: erp_domain::audit::AuditContext {
            ip_address: Some(ip.into()),
            ..erp_domain::audit::AuditContext::default()
        },
    })
}

/// D11: 40 concurrent wrong passwords for one account, each from its own IP, with eight
/// password checks running at once, get exactly five 401s; every other attempt is a 429.
async fn concurrent_failures_lock_after_exactly_five(h: Harness) {
    seed_user(&h.db, "amal", UserRole::Responsable, None);
    let app = hashing_app(&h, 8);
    let barrier = Arc::new(std::sync::Barrier::new(40));
    let threads: Vec<_> = (0..40)
        .map(|i| {
            let app = Arc::clone(&app);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                attempt(&app, "amal", "Wrong#Password1", &format!("198.51.100.{i}"))
            })
        })
        .collect();
    let (mut unauthorized, mut locked) = (0, 0);
    for t in threads {
        match t.join().unwrap() {
            Err(erp_application::AppError::Unauthenticated(_)) => unauthorized += 1,
            Err(erp_application::AppError::LockedOut { .. }) => locked += 1,
            other => unreachable!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!((unauthorized, locked), (5, 35));
    assert!(matches!(
        attempt(&app, "amal", PASSWORD, "198.51.100.99"),
        Err(erp_application::AppError::LockedOut { .. })
    ));
}

/// A success and a right password on an inactive account are no failures: their attempts,
/// counted before the password check, are given back to the IP key.
async fn attempts_that_are_no_failures_are_not_counted(h: Harness) {
    seed_user(&h.db, "amal", UserRole::Responsable, None);
    seed_user(&h.db, "badr", UserRole::Responsable, None);
    let app = hashing_app(&h, 2);
    let ip = "203.0.113.7";
    for _ in 0..4 {
        assert!(matches!(
            attempt(&app, "inconnu", "Wrong#Password1", ip),
            Err(erp_application::AppError::Unauthenticated(_))
        ));
    }
    // The fifth attempt from this IP would lock it, were a success counted.
    assert!(attempt(&app, "badr", PASSWORD, ip).is_ok());
    assert!(attempt(&app, "badr", PASSWORD, ip).is_ok());
    assert!(matches!(
        attempt(&app, "amal", "Wrong#Password1", ip),
        Err(erp_application::AppError::Unauthenticated(_))
    ));
    assert!(
        matches!(
            attempt(&app, "badr", PASSWORD, ip),
            Err(erp_application::AppError::LockedOut { .. })
        ),
        "the fifth failure from the IP locks it"
    );
}

fn caller(user: &erp_domain::User) -> erp_application::Caller {
    erp_application::Caller {
        user: user.clone(),
        session_id: erp_domain::SessionId::new(0),
    }
}

fn is_active_admin(h: &Harness, id: erp_domain::UserId) -> bool {
    let user = erp_application::tx::transaction(
        h.db.as_ref(),
        erp_domain::ports::TransactionMode::ReadOnly,
        |uow| uow.user_by_id(id),
    )
    .unwrap()
    .unwrap();
    user.is_active && user.role == UserRole::Admin
}

/// An administrator's deactivation is never undone by the user's own concurrent profile
/// update (the user's write reads the row locked, as it is now).
async fn a_users_own_update_never_undoes_a_deactivation(h: Harness) {
    let app = hashing_app(&h, 2);
    let admin = caller(&seed_user(&h.db, "chef", UserRole::Admin, None));
    let ctx = erp_domain::audit::AuditContext::default();
    for round in 0..12 {
        let user = seed_user(&h.db, &format!("agent{round}"), UserRole::Responsable, None);
        let me = caller(&user);
        let barrier = std::sync::Barrier::new(2);
        std::thread::scope(|s| {
            s.spawn(|| {
                barrier.wait();
                app.deactivate_user(&admin, user.id, &ctx).unwrap();
            });
            s.spawn(|| {
                barrier.wait();
                let cmd = erp_application::users::UpdateMe {
                    full_name: Some(Some(
                        erp_domain::FullName::parse("full_name", "Nouveau Nom").unwrap(),
                    )),
                    password: None,
                };
                match app.update_me(&me, cmd, &ctx) {
                    Ok(_) | Err(erp_application::AppError::Unauthenticated(_)) => {}
                    Err(e) => unreachable!("round {round}: {e:?}"),
                }
            });
        });
        let after = erp_application::tx::transaction(
            h.db.as_ref(),
            erp_domain::ports::TransactionMode::ReadOnly,
            |uow| uow.user_by_id(user.id),
        )
        .unwrap()
        .unwrap();
        assert!(
            !after.is_active,
            "round {round}: the deactivation was undone"
        );
    }
}

/// Two administrators demoting each other at once: one wins, the other gets the last-admin
/// 409, and an active administrator remains.
async fn two_admins_demoting_each_other_leave_one(h: Harness) {
    let app = hashing_app(&h, 2);
    let a = seed_user(&h.db, "admina", UserRole::Admin, None);
    let b = seed_user(&h.db, "adminb", UserRole::Admin, None);
    let ctx = erp_domain::audit::AuditContext::default();
    let demote = || erp_application::users::UpdateUser {
        role: Some(UserRole::Responsable),
        ..erp_application::users::UpdateUser::default()
    };
    for round in 0..10 {
        let barrier = std::sync::Barrier::new(2);
        let (by_a, by_b) = std::thread::scope(|s| {
            let by_a = s.spawn(|| {
                barrier.wait();
                app.update_user(&caller(&a), b.id, demote(), &ctx)
            });
            let by_b = s.spawn(|| {
                barrier.wait();
                app.update_user(&caller(&b), a.id, demote(), &ctx)
            });
            (by_a.join().unwrap(), by_b.join().unwrap())
        });
        let (a_admin, b_admin) = (is_active_admin(&h, a.id), is_active_admin(&h, b.id));
        assert!(a_admin || b_admin, "round {round}: no active admin left");
        assert_eq!(
            usize::from(by_a.is_ok()) + usize::from(by_b.is_ok()),
            1,
            "round {round}: exactly one demotion wins"
        );
        let refused = if by_a.is_err() { by_a } else { by_b };
        assert!(matches!(
            refused,
            Err(erp_application::AppError::Conflict(_))
        ));
        // Put the demoted one back for the next round.
        let (admin, demoted) = if a_admin { (&a, &b) } else { (&b, &a) };
        let promote = erp_application::users::UpdateUser {
            role: Some(UserRole::Admin),
            ..erp_application::users::UpdateUser::default()
        };
        app.update_user(&caller(admin), demoted.id, promote, &ctx)
            .unwrap();
    }
}

/// The IP key of an IPv6 client is its /64 (API.md §1.7): failures from five addresses of one
/// /64 lock the whole /64, not a neighbouring one.
async fn ipv6_clients_share_their_64_lockout_key(h: Harness) {
    let app = hashing_app(&h, 2);
    for i in 1..=5 {
        // Each attempt names another unknown account, so only the IP key accumulates.
        assert!(matches!(
            attempt(
                &app,
                &format!("inconnu{i}"),
                "Wrong#Password1",
                &format!("2001:db8:1:2::{i:x}")
            ),
            Err(erp_application::AppError::Unauthenticated(_))
        ));
    }
    assert!(
        matches!(
            attempt(
                &app,
                "autre",
                "Wrong#Password1",
                "2001:db8:1:2:ffff:ffff:ffff:fffe"
            ),
            Err(erp_application::AppError::LockedOut { .. })
        ),
        "the same /64"
    );
    assert!(
        matches!(
            attempt(&app, "autre", "Wrong#Password1", "2001:db8:1:3::1"),
            Err(erp_application::AppError::Unauthenticated(_))
        ),
        "another /64"
    );
}

both! {
    ipv6_lockout_by_64 => ipv6_clients_share_their_64_lockout_key;
    deactivation_not_undone => a_users_own_update_never_undoes_a_deactivation;
    mutual_demotion => two_admins_demoting_each_other_leave_one;
    concurrent_lockout => concurrent_failures_lock_after_exactly_five;
    no_failure_no_count => attempts_that_are_no_failures_are_not_counted;
    login_works_in_every_format => login_in_every_format;
    malformed_multipart => malformed_multipart_bodies_are_422_like_malformed_forms;
    login_failures_look_the_same => login_failures_are_indistinguishable;
    inactive_accounts_are_refused => an_inactive_account_with_the_right_password_is_403;
    bearer_tokens => bearer_tokens_are_checked;
    refresh_and_reuse => refresh_rotates_and_reuse_revokes_the_session;
    logout => logout_ends_the_session_at_once;
    change_password => change_password_checks_then_ends_every_session;
    lockout => five_failures_lock_the_account_then_it_escalates;
    users_admin => users_are_administered_by_admins_only;
    role_change_and_last_admin => role_change_deactivation_and_the_last_admin;
    self_service => self_service_updates;
    audit_trail => the_audit_trail_records_and_filters;
}

#[actix_web::test]
async fn the_general_rate_limit_answers_429_with_the_envelope() {
    let h = harness_with(TestBackend::Sqlite, 3).await.unwrap();
    for _ in 0..3 {
        assert_eq!(
            h.json(Method::GET, "/api/v1/auth/me", None, None)
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
    let res = h
        .call(
            TestRequest::get()
                .uri("/api/v1/auth/me")
                .insert_header(("X-Request-ID", "rl-1"))
                .insert_header(("Origin", support::ALLOWED_ORIGIN)),
        )
        .await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.body["error"]["code"], "TOO_MANY_REQUESTS");
    assert!(
        res.message()
            .starts_with("Trop de requêtes. Réessayez dans ")
    );
    let retry: i64 = res.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(res.body["error"]["details"]["retry_after"], retry);
    assert_eq!(res.header("x-request-id"), Some("rl-1"));
    assert_eq!(
        res.header("access-control-allow-origin"),
        Some(support::ALLOWED_ORIGIN)
    );
    assert_eq!(
        h.json(Method::GET, "/live", None, None).await.status,
        StatusCode::OK,
        "probes are exempt"
    );
    assert_eq!(
        h.json(Method::GET, "/api/v1/nope", None, None).await.status,
        StatusCode::NOT_FOUND,
        "routing comes first"
    );
}

/// Two servers on one database: a logout, a lockout and a deactivation made through the first
/// are seen by the second at once.
#[actix_web::test]
async fn a_second_instance_sees_logout_lockout_and_deactivation() {
    let guard = TestDatabase::new(TestBackend::Sqlite).unwrap();
    let db_a = Arc::new(guard.migrated());
    let db_b = Arc::new(guard.connect());
    let clock = TestClock::starting_now();
    let a = Harness {
        app: actix_service::boxed::service(
            test::init_service(erp_http::app(support::state_with(
                Arc::clone(&db_a),
                Arc::clone(&clock) as _,
                10_000,
            )))
            .await,
        ),
        db: Arc::clone(&db_a),
        clock: Arc::clone(&clock),
        guard: TestDatabase::new(TestBackend::Sqlite).unwrap(),
        docs: tempfile::tempdir().unwrap(),
    };
    let b = Harness {
        app: actix_service::boxed::service(
            test::init_service(erp_http::app(support::state_with(
                db_b,
                Arc::clone(&clock) as _,
                10_000,
            )))
            .await,
        ),
        db: Arc::clone(&db_a),
        clock,
        guard: TestDatabase::new(TestBackend::Sqlite).unwrap(),
        docs: tempfile::tempdir().unwrap(),
    };
    let admin = a.admin().await;
    let karim = seed_user(&a.db, "karim", UserRole::Technicien, None);

    let (token, _) = a.token("karim").await;
    assert_eq!(
        b.json(Method::GET, "/api/v1/auth/me", Some(&token), None)
            .await
            .status,
        StatusCode::OK
    );
    a.call(
        TestRequest::post()
            .uri("/api/v1/auth/logout")
            .insert_header(("Authorization", format!("Bearer {token}"))),
    )
    .await;
    assert_eq!(
        b.json(Method::GET, "/api/v1/auth/me", Some(&token), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "logout seen by B"
    );

    for _ in 0..5 {
        let _ = a.login("karim", "Wrong#Password1").await;
    }
    assert_eq!(
        b.login("karim", PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "lockout seen by B"
    );

    a.clock
        .advance(chrono::Duration::minutes(5) + chrono::Duration::seconds(1));
    let (token, _) = b.token("karim").await;
    assert_eq!(
        a.json(
            Method::DELETE,
            &format!("/api/v1/users/{}", karim.id),
            Some(&admin),
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    let res = b
        .json(Method::GET, "/api/v1/auth/me", Some(&token), None)
        .await;
    assert_eq!(
        (res.status, res.message()),
        (StatusCode::UNAUTHORIZED, "Utilisateur désactivé"),
        "deactivation seen by B"
    );
}

/// The real hasher, counting the times its pooled memory is given back.
#[derive(Debug)]
struct Releases {
    inner: erp_security::Argon2Hasher,
    released: std::sync::atomic::AtomicUsize,
}

impl erp_domain::ports::PasswordHasher for Releases {
    fn hash(
        &self,
        p: &erp_domain::password::PlainPassword,
    ) -> Result<erp_domain::password::PasswordHash, erp_domain::ports::HashError> {
        self.inner.hash(p)
    }

    fn verify(
        &self,
        p: &erp_domain::password::PlainPassword,
        h: &erp_domain::password::PasswordHash,
    ) -> Result<bool, erp_domain::ports::HashError> {
        self.inner.verify(p, h)
    }

    fn release_memory(&self) {
        self.released
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.release_memory();
    }
}

/// A login that no other one waits behind gives the hasher's 19 MiB back; a request that does
/// not hash leaves it alone.
#[actix_web::test]
async fn a_lone_login_gives_the_hashers_memory_back() {
    let guard = TestDatabase::new(TestBackend::Sqlite).unwrap();
    let db = Arc::new(guard.migrated());
    seed_user(&db, "resp", UserRole::Responsable, None);
    let hasher = Arc::new(Releases {
        inner: erp_security::Argon2Hasher::owasp().unwrap(),
        released: std::sync::atomic::AtomicUsize::new(0),
    });
    let docs = tempfile::tempdir().unwrap();
    let app = support::application_hashing(
        Arc::clone(&db),
        Arc::new(erp_domain::SystemClock),
        support::vault(docs.path(), &support::FERNET_KEY),
        Arc::clone(&hasher) as _,
    );
    let state = erp_http::AppState::new(
        support::service(),
        support::settings(10_000),
        Arc::clone(&db) as _,
        app,
    );
    let app = test::init_service(erp_http::app(state)).await;
    let released = || hasher.released.load(std::sync::atomic::Ordering::SeqCst);
    let login = || {
        TestRequest::post()
            .uri("/api/v1/auth/token")
            .set_json(json!({"username": "resp", "password": PASSWORD}))
            .to_request()
    };
    let res = test::call_service(&app, login()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(released(), 1);
    let body: Value = test::read_body_json(res).await;
    let token = body["access_token"].as_str().unwrap().to_owned();
    let res = test::call_service(
        &app,
        TestRequest::get()
            .uri("/api/v1/auth/me")
            .insert_header(("Authorization", format!("Bearer {token}")))
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(released(), 1, "reading needs no hash");
    let res = test::call_service(&app, login()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(released(), 2);
}
