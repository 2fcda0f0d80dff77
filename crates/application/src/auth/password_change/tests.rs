//! Password change: different from the current one, the policy (audited), the current
//! password under the login throttle, every session ended, a deactivated account refused.

use erp_domain::UserRole;
use erp_domain::ViolationCode;
use erp_domain::audit::AuditEventType;
use erp_domain::password::PlainPassword;
use erp_domain::session::RevocationReason;
use erp_domain::throttle::ThrottleScope;

use crate::AuthFailure;
use crate::fakes::assert::{
    assert_bad_request, assert_invalid, assert_too_many, assert_unauthorized,
};
use crate::fakes::world::{PASSWORD, World, ctx};

const NEW: &str = "Nouveau#Secret42";

fn change(w: &World, c: &crate::Caller, current: &str, new: &str) -> Result<(), crate::AppError> {
    w.app.change_password(
        c,
        &PlainPassword::new(current),
        &PlainPassword::new(new),
        &ctx(),
    )
}

#[test]
fn the_new_password_must_differ_from_the_current_one() {
    let w = World::new();
    let me = w.caller(UserRole::Technicien);
    let (_, messages) = assert_invalid(
        change(&w, &me, PASSWORD, PASSWORD),
        "new_password",
        ViolationCode::InvalidValue,
    );
    assert_eq!(
        messages,
        ["Le nouveau mot de passe doit être différent de l'actuel"]
    );
}

#[test]
fn the_new_password_follows_the_policy() {
    let w = World::new();
    let me = w.caller(UserRole::Technicien);
    let cases = [
        (
            "court#A1",
            "Le mot de passe doit contenir au moins 12 caractères",
        ),
        (
            "sansmajuscule#2026",
            "Le mot de passe doit contenir au moins une lettre majuscule",
        ),
        (
            "SANSMINUSCULE#2026",
            "Le mot de passe doit contenir au moins une lettre minuscule",
        ),
        (
            "SansChiffre#abcd",
            "Le mot de passe doit contenir au moins un chiffre",
        ),
        (
            "SansSymbole2026x",
            "Le mot de passe doit contenir au moins un caractère spécial",
        ),
    ];
    for (new, rule) in cases {
        let (message, rules) = assert_invalid(
            change(&w, &me, PASSWORD, new),
            "new_password",
            ViolationCode::PasswordPolicy,
        );
        assert_eq!(rules, [rule], "{new}");
        assert_eq!(message.unwrap(), format!("Mot de passe invalide: {rule}"));
    }
    let e = w.last_audit();
    assert_eq!(e.event_type, AuditEventType::PasswordPolicyViolation);
    assert_eq!(e.user_id, Some(me.user.id));
}

#[test]
fn a_wrong_current_password_is_a_400_counted_as_a_failure() {
    let w = World::new();
    let me = w.caller(UserRole::Technicien);
    assert_bad_request(
        change(&w, &me, "Wrong#Password1", NEW),
        "Mot de passe actuel incorrect",
    );
    let e = w.last_audit();
    assert_eq!(e.event_type, AuditEventType::LoginFailed);
    assert_eq!(e.action.as_deref(), Some("change_password"));
    let failures = w.db.snapshot().throttle
        [&(ThrottleScope::Username.as_str(), "technicien".to_owned())]
        .failure_count;
    assert_eq!(failures, 1);
    assert_eq!(
        w.stored_user(me.user.id).password_hash.as_phc(),
        format!("fake${PASSWORD}")
    );
}

#[test]
fn five_wrong_current_passwords_lock_the_change() {
    let w = World::new();
    let me = w.caller(UserRole::Technicien);
    for _ in 0..5 {
        assert_bad_request(
            change(&w, &me, "Wrong#Password1", NEW),
            "Mot de passe actuel incorrect",
        );
    }
    assert_eq!(assert_too_many(change(&w, &me, PASSWORD, NEW)), 300);
}

#[test]
fn a_change_stores_the_hash_and_ends_every_session() {
    let w = World::new();
    let me = w.caller(UserRole::Technicien);
    w.session_of(me.user.clone());
    w.clock.advance(chrono::Duration::hours(2));
    change(&w, &me, PASSWORD, NEW).unwrap();
    let u = w.stored_user(me.user.id);
    assert_eq!(u.password_hash.as_phc(), format!("fake${NEW}"));
    assert_eq!(u.password_changed_at, w.clock_now());
    let s = w.db.snapshot();
    assert!(
        s.sessions
            .iter()
            .all(|x| x.revoked_reason == Some(RevocationReason::PasswordChanged))
    );
    let types = w.audit_types();
    assert_eq!(
        types[types.len() - 2..],
        [
            AuditEventType::TokenRevoked,
            AuditEventType::PasswordChanged
        ]
    );
    let revoke = &w.audit()[types.len() - 2];
    assert_eq!(revoke.details.as_ref().unwrap()["sessions"], 2);
}

#[test]
fn a_deactivated_account_cannot_change_its_password() {
    let w = World::new();
    let me = w.caller(UserRole::Technicien);
    w.db.with(|s| s.users[0].is_active = false);
    assert_unauthorized(change(&w, &me, PASSWORD, NEW), AuthFailure::UserDeactivated);
    assert_eq!(
        w.stored_user(me.user.id).password_hash.as_phc(),
        format!("fake${PASSWORD}")
    );
}
