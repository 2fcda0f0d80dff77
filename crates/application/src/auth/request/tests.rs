//! Request authentication: the bearer token, then the session and user as stored now; the
//! role check and the audit of every refusal.

use erp_domain::audit::AuditEventType;
use erp_domain::{SessionId, UserRole};

use crate::AuthFailure;
use crate::authz::Action;
use crate::error::AppError;
use crate::fakes::assert::{assert_role_refused, assert_unauthorized};
use crate::fakes::ports::access_token;
use crate::fakes::world::{World, ctx};

#[test]
fn a_valid_token_gives_the_user_as_stored_now() {
    let w = World::new();
    let me = w.caller(UserRole::Technicien);
    w.db.with(|s| s.users[0].role = UserRole::Responsable);
    let caller = w
        .app
        .authenticate(&access_token(me.user.id, me.session_id), &ctx())
        .unwrap();
    assert_eq!(caller.user.role, UserRole::Responsable, "the current role");
    assert_eq!(caller.session_id, me.session_id);
}

#[test]
fn every_bad_token_is_the_same_401_with_its_reason_audited() {
    let w = World::new();
    let me = w.caller(UserRole::Technicien);
    let other = w.caller_named(UserRole::Technicien, "autre");
    let cases = [
        ("malformed", "pas-un-jeton".to_owned()),
        (
            "unknown session",
            access_token(me.user.id, SessionId::new(99)),
        ),
        (
            "session of another user",
            access_token(me.user.id, other.session_id),
        ),
    ];
    for (reason, token) in cases {
        assert_unauthorized(
            w.app.authenticate(&token, &ctx()),
            AuthFailure::InvalidToken,
        );
        let e = w.last_audit();
        assert_eq!(e.event_type, AuditEventType::TokenInvalid, "{reason}");
        assert_eq!(e.details.unwrap()["reason"], reason);
    }
}

#[test]
fn a_revoked_or_expired_session_is_refused() {
    let w = World::new();
    let me = w.caller(UserRole::Technicien);
    let token = access_token(me.user.id, me.session_id);
    w.clock.advance(chrono::Duration::days(8));
    assert_unauthorized(
        w.app.authenticate(&token, &ctx()),
        AuthFailure::InvalidToken,
    );
    let w = World::new();
    let me = w.caller(UserRole::Technicien);
    w.app.logout(&me, &ctx()).unwrap();
    assert_unauthorized(
        w.app
            .authenticate(&access_token(me.user.id, me.session_id), &ctx()),
        AuthFailure::InvalidToken,
    );
}

#[test]
fn a_deactivated_user_is_told_so() {
    let w = World::new();
    let me = w.caller(UserRole::Technicien);
    w.db.with(|s| s.users[0].is_active = false);
    assert_unauthorized(
        w.app
            .authenticate(&access_token(me.user.id, me.session_id), &ctx()),
        AuthFailure::UserDeactivated,
    );
    let e = w.last_audit();
    assert_eq!(e.details.unwrap()["reason"], "user_deactivated");
    assert_eq!(e.user_id, Some(me.user.id));
}

#[test]
fn a_role_refusal_is_audited_with_the_required_roles() {
    let w = World::new();
    let me = w.caller(UserRole::Client);
    assert!(
        w.app
            .authorize_request(&me, Action::ReadDashboard, &ctx())
            .is_ok()
    );
    assert!(w.audit().is_empty());
    assert_role_refused(
        w.app
            .authorize_request(&me, Action::ManageEquipements, &ctx()),
    );
    let e = w.last_audit();
    assert_eq!(e.event_type, AuditEventType::RbacViolation);
    assert_eq!(e.user_id, Some(me.user.id));
    assert_eq!(
        e.details.unwrap(),
        serde_json::json!({"required_roles": ["admin", "responsable"]})
    );
}

#[test]
fn an_ownership_refusal_is_audited_with_its_reason_and_other_errors_are_not() {
    let w = World::new();
    let me = w.caller(UserRole::Technicien);
    let ownership = AppError::Forbidden {
        message: "Intervention non affectée à ce technicien".into(),
        required_roles: Vec::new(),
    };
    w.app.record_denial(&me, &ownership, &ctx());
    assert_eq!(
        w.last_audit().details.unwrap(),
        serde_json::json!({"reason": "Intervention non affectée à ce technicien"})
    );
    w.app
        .record_denial(&me, &AppError::NotFound("x".into()), &ctx());
    assert_eq!(w.audit().len(), 1);
}

#[test]
fn a_rate_limit_is_audited_with_its_limit() {
    let w = World::new();
    w.app.record_rate_limited(&ctx(), 120);
    let e = w.last_audit();
    assert_eq!(e.event_type, AuditEventType::RateLimitExceeded);
    assert_eq!(e.details.unwrap()["limit_per_minute"], 120);
    assert_eq!(e.context.ip_address.as_deref(), Some("203.0.113.7"));
}
