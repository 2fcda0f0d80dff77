//! Login, refresh and logout: sessions and refresh tokens written, the same answer for an
//! unknown user and a wrong password, the inactive account, token rotation and reuse.

use erp_domain::UserRole;
use erp_domain::audit::AuditEventType;
use erp_domain::password::PlainPassword;
use erp_domain::session::RevocationReason;
use erp_domain::throttle::ThrottleScope;
use secrecy::ExposeSecret as _;
use std::sync::atomic::Ordering;

use super::LoginInput;
use crate::AuthFailure;
use crate::fakes::assert::{assert_forbidden, assert_unauthorized};
use crate::fakes::world::{PASSWORD, World, ctx};

fn login(id: &str, password: &str) -> LoginInput {
    LoginInput {
        identifier: id.into(),
        password: PlainPassword::new(password),
        context: ctx(),
    }
}

fn failure_reason(w: &World) -> String {
    let e = w.last_audit();
    assert_eq!(e.event_type, AuditEventType::LoginFailed);
    e.details.unwrap()["failure_reason"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn username_failures(w: &World, key: &str) -> i32 {
    w.db.snapshot()
        .throttle
        .get(&(ThrottleScope::Username.as_str(), key.to_owned()))
        .map_or(0, |s| s.failure_count)
}

#[test]
fn a_login_by_username_or_e_mail_opens_a_session() {
    let w = World::new();
    let u = w.user(UserRole::Technicien, "karim");
    for identifier in ["karim", " KARIM ", "Karim@ERP-MIF.local"] {
        let pair = w.app.login(login(identifier, PASSWORD)).unwrap();
        assert!(
            pair.access_token.starts_with(&format!("tok:{}:", u.id)),
            "{identifier}"
        );
        assert!(pair.refresh_token.expose_secret().starts_with("refresh-"));
        assert_eq!(pair.expires_in, 900);
    }
    let s = w.db.snapshot();
    assert_eq!(s.sessions.len(), 3);
    assert_eq!(s.refresh.len(), 3);
    assert_eq!(
        s.sessions[0].expires_at,
        w.clock_now() + chrono::Duration::days(7)
    );
    assert_eq!(w.stored_user(u.id).last_login, Some(w.clock_now()));
    let e = w.last_audit();
    assert_eq!(e.event_type, AuditEventType::LoginSuccess);
    assert_eq!(e.resource, Some(format!("user:{}", u.id)));
}

#[test]
fn a_wrong_password_and_an_unknown_user_get_the_same_answer() {
    let w = World::new();
    let u = w.user(UserRole::Admin, "karim");
    assert_unauthorized(
        w.app.login(login("karim", "Wrong#Password1")),
        AuthFailure::BadCredentials,
    );
    assert_eq!(failure_reason(&w), "bad_password");
    assert_eq!(w.last_audit().user_id, Some(u.id));
    let checks = w.hasher.verified.load(Ordering::SeqCst);
    assert_unauthorized(
        w.app.login(login("personne", PASSWORD)),
        AuthFailure::BadCredentials,
    );
    assert_eq!(failure_reason(&w), "unknown_user");
    assert_eq!(w.last_audit().user_id, None);
    assert_eq!(
        w.hasher.verified.load(Ordering::SeqCst),
        checks + 1,
        "an unknown user costs a password check too"
    );
    assert!(w.db.snapshot().sessions.is_empty());
}

#[test]
fn the_unknown_user_s_password_never_matches_the_dummy_hash() {
    let w = World::new();
    // The dummy hash is the hash of the generated secret: typing it must not log in.
    assert_unauthorized(
        w.app
            .login(login("personne", crate::fakes::ports::GENERATED)),
        AuthFailure::BadCredentials,
    );
}

#[test]
fn an_inactive_account_is_told_so_only_with_the_right_password() {
    let w = World::new();
    w.user(UserRole::Technicien, "karim");
    w.db.with(|s| s.users[0].is_active = false);
    assert_unauthorized(
        w.app.login(login("karim", "Wrong#Password1")),
        AuthFailure::BadCredentials,
    );
    assert_eq!(username_failures(&w, "karim"), 1);
    assert_forbidden(w.app.login(login("karim", PASSWORD)), "Compte désactivé");
    assert_eq!(failure_reason(&w), "inactive");
    assert_eq!(
        username_failures(&w, "karim"),
        1,
        "the right password is not a failure"
    );
    assert!(w.db.snapshot().sessions.is_empty());
}

#[test]
fn a_successful_login_clears_the_account_s_failures() {
    let w = World::new();
    w.user(UserRole::Technicien, "karim");
    for _ in 0..3 {
        let _ = w.app.login(login("karim", "Wrong#Password1"));
    }
    assert_eq!(username_failures(&w, "karim"), 3);
    w.app.login(login("karim", PASSWORD)).unwrap();
    assert_eq!(username_failures(&w, "karim"), 0);
}

#[test]
fn a_refresh_rotates_the_token() {
    let w = World::new();
    w.user(UserRole::Technicien, "karim");
    let first = w.app.login(login("karim", PASSWORD)).unwrap();
    w.clock.advance(chrono::Duration::hours(1));
    let second = w
        .app
        .refresh(first.refresh_token.expose_secret(), &ctx())
        .unwrap();
    assert_ne!(
        second.refresh_token.expose_secret(),
        first.refresh_token.expose_secret()
    );
    let s = w.db.snapshot();
    assert_eq!(s.refresh[0].0.rotated_at, Some(w.clock_now()));
    assert_eq!(s.refresh[1].0.rotated_at, None);
    assert_eq!(
        s.sessions[0].expires_at,
        w.clock_now() + chrono::Duration::days(7),
        "the session is extended"
    );
    assert_eq!(w.last_audit().event_type, AuditEventType::TokenRefreshed);
}

#[test]
fn presenting_a_rotated_token_revokes_its_session() {
    let w = World::new();
    let u = w.user(UserRole::Technicien, "karim");
    let first = w.app.login(login("karim", PASSWORD)).unwrap();
    let second = w
        .app
        .refresh(first.refresh_token.expose_secret(), &ctx())
        .unwrap();
    assert_unauthorized(
        w.app.refresh(first.refresh_token.expose_secret(), &ctx()),
        AuthFailure::InvalidRefreshToken,
    );
    assert_eq!(
        w.db.snapshot().sessions[0].revoked_reason,
        Some(RevocationReason::ReuseDetected)
    );
    let e = w.last_audit();
    assert_eq!(e.event_type, AuditEventType::TokenRevoked);
    assert_eq!(e.user_id, Some(u.id), "detected on read, with its user");
    assert_eq!(e.details.unwrap()["reason"], "reuse_detected");
    assert_unauthorized(
        w.app.refresh(second.refresh_token.expose_secret(), &ctx()),
        AuthFailure::InvalidRefreshToken,
    );
}

/// Spoils a fresh login's refresh token in one way.
type Spoil = fn(&World);

#[test]
fn every_refused_refresh_names_its_reason() {
    let cases: [(&str, Spoil); 4] = [
        ("expired", |w| w.clock.advance(chrono::Duration::days(8))),
        ("session_revoked", |w| {
            w.db.with(|s| s.sessions[0].revoked_at = Some(s.sessions[0].created_at));
        }),
        ("user_inactive", |w| {
            w.db.with(|s| s.users[0].is_active = false);
        }),
        ("revoked", |w| {
            w.db.with(|s| s.refresh[0].0.revoked_at = Some(s.refresh[0].0.created_at));
        }),
    ];
    for (reason, spoil) in cases {
        let w = World::new();
        w.user(UserRole::Technicien, "karim");
        let pair = w.app.login(login("karim", PASSWORD)).unwrap();
        spoil(&w);
        assert_unauthorized(
            w.app.refresh(pair.refresh_token.expose_secret(), &ctx()),
            AuthFailure::InvalidRefreshToken,
        );
        let e = w.last_audit();
        assert_eq!(e.event_type, AuditEventType::TokenInvalid, "{reason}");
        assert_eq!(e.details.unwrap()["reason"], reason);
        assert_eq!(w.db.snapshot().refresh.len(), 1, "{reason}: nothing issued");
    }
    let w = World::new();
    assert_unauthorized(
        w.app.refresh("inconnu", &ctx()),
        AuthFailure::InvalidRefreshToken,
    );
    assert_eq!(w.last_audit().details.unwrap()["reason"], "unknown");
}

#[test]
fn logout_revokes_the_caller_s_session_only() {
    let w = World::new();
    let me = w.caller(UserRole::Responsable);
    let other = w.session_of(me.user.clone());
    w.app.logout(&me, &ctx()).unwrap();
    let s = w.db.snapshot();
    let reason = |id| {
        s.sessions
            .iter()
            .find(|x| x.id == id)
            .and_then(|x| x.revoked_reason)
    };
    assert_eq!(reason(me.session_id), Some(RevocationReason::Logout));
    assert_eq!(reason(other.session_id), None);
    let e = w.last_audit();
    assert_eq!(e.action.as_deref(), Some("logout"));
    assert_eq!(e.resource, Some(format!("session:{}", me.session_id)));
}
