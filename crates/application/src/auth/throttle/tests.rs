//! The login throttle: five failures lock a key for 5 minutes, then 10, with the 429's
//! wording and `retry_after`; a lock refuses without checking the password; the IP key;
//! refunds after an internal error.

use std::sync::atomic::Ordering;

use erp_domain::UserRole;
use erp_domain::audit::AuditEventType;
use erp_domain::password::PlainPassword;
use erp_domain::throttle::ThrottleScope;

use crate::AuthFailure;
use crate::auth::LoginInput;
use crate::fakes::assert::{assert_internal, assert_too_many, assert_unauthorized};
use crate::fakes::world::{PASSWORD, World, ctx};

fn attempt(w: &World, id: &str, password: &str) -> Result<crate::auth::TokenPair, crate::AppError> {
    w.app.login(LoginInput {
        identifier: id.into(),
        password: PlainPassword::new(password),
        context: ctx(),
    })
}

const WRONG: &str = "Wrong#Password1";

#[test]
fn the_fifth_failure_locks_the_account_for_five_minutes() {
    let w = World::new();
    w.user(UserRole::Technicien, "karim");
    for n in 1..=5 {
        assert_unauthorized(attempt(&w, "karim", WRONG), AuthFailure::BadCredentials);
        let locked = w
            .audit()
            .iter()
            .any(|e| e.event_type == AuditEventType::LoginBruteforce);
        assert_eq!(
            locked,
            n == 5,
            "lockout audited at failure {n} only at the 5th"
        );
    }
    assert_eq!(assert_too_many(attempt(&w, "karim", WRONG)), 300);
    w.clock.advance(chrono::Duration::seconds(299));
    assert_eq!(assert_too_many(attempt(&w, "karim", PASSWORD)), 1);
}

#[test]
fn a_locked_account_is_refused_without_a_password_check() {
    let w = World::new();
    w.user(UserRole::Technicien, "karim");
    for _ in 0..5 {
        let _ = attempt(&w, "karim", WRONG);
    }
    let checks = w.hasher.verified.load(Ordering::SeqCst);
    assert_too_many(attempt(&w, "karim", PASSWORD));
    assert_eq!(w.hasher.verified.load(Ordering::SeqCst), checks);
    let e = w.last_audit();
    assert_eq!(e.event_type, AuditEventType::LoginBruteforce);
    assert_eq!(e.details.unwrap()["scope"], "username");
}

#[test]
fn the_lock_ends_and_the_next_one_lasts_twice_as_long() {
    let w = World::new();
    w.user(UserRole::Technicien, "karim");
    for _ in 0..5 {
        let _ = attempt(&w, "karim", WRONG);
    }
    w.clock.advance(chrono::Duration::minutes(5));
    for _ in 0..5 {
        assert_unauthorized(attempt(&w, "karim", WRONG), AuthFailure::BadCredentials);
    }
    assert_eq!(assert_too_many(attempt(&w, "karim", PASSWORD)), 600);
    w.clock.advance(chrono::Duration::minutes(10));
    assert!(attempt(&w, "karim", PASSWORD).is_ok());
}

#[test]
fn failures_on_many_accounts_lock_the_ip() {
    let w = World::new();
    for n in 0..5 {
        let _ = attempt(&w, &format!("inconnu{n}"), WRONG);
    }
    w.user(UserRole::Technicien, "karim");
    assert_too_many(attempt(&w, "karim", PASSWORD));
    let e = w.last_audit();
    assert_eq!(e.details.unwrap()["scope"], "ip");
    let state =
        w.db.snapshot()
            .throttle
            .get(&(ThrottleScope::Ip.as_str(), "203.0.113.7".to_owned()))
            .cloned()
            .unwrap();
    assert_eq!(state.lockout_level, 1);
}

#[test]
fn a_successful_login_does_not_count_against_the_ip() {
    let w = World::new();
    w.user(UserRole::Technicien, "karim");
    for _ in 0..10 {
        attempt(&w, "karim", PASSWORD).unwrap();
    }
    let ip =
        w.db.snapshot()
            .throttle
            .get(&(ThrottleScope::Ip.as_str(), "203.0.113.7".to_owned()))
            .map_or(0, |s| s.failure_count);
    assert_eq!(ip, 0);
}

#[test]
fn a_hasher_failure_is_a_500_that_counts_nothing() {
    let w = World::new();
    w.user(UserRole::Technicien, "karim");
    w.hasher.fail.store(true, Ordering::SeqCst);
    for _ in 0..6 {
        assert_internal(attempt(&w, "karim", PASSWORD));
    }
    let s = w.db.snapshot();
    assert!(
        s.throttle
            .values()
            .all(|t| t.failure_count == 0 && t.locked_until.is_none())
    );
}

#[test]
fn failures_older_than_the_window_are_forgotten() {
    let w = World::new();
    w.user(UserRole::Technicien, "karim");
    for _ in 0..4 {
        let _ = attempt(&w, "karim", WRONG);
    }
    w.clock.advance(chrono::Duration::minutes(16));
    for _ in 0..4 {
        assert_unauthorized(attempt(&w, "karim", WRONG), AuthFailure::BadCredentials);
    }
    assert!(
        attempt(&w, "karim", PASSWORD).is_ok(),
        "8 failures, never 5 in 15 minutes"
    );
}

#[test]
fn lockouts_double_up_to_forty_minutes() {
    let w = World::new();
    w.user(UserRole::Technicien, "karim");
    let mut waits = Vec::new();
    for _ in 0..6 {
        for _ in 0..5 {
            let _ = attempt(&w, "karim", WRONG);
        }
        let wait = assert_too_many(attempt(&w, "karim", WRONG));
        waits.push(wait);
        w.clock.advance(chrono::Duration::seconds(wait));
    }
    assert_eq!(waits, [300, 600, 1200, 2400, 2400, 2400]);
}
