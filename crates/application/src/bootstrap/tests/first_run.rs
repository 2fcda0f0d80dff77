//! More of the first run: a generated password is held to the policy, the identity is
//! validated per field, and a key that comes back is recorded again.

use erp_domain::ViolationCode;
use erp_domain::password::PlainPassword;

use super::{admin, deps};
use crate::bootstrap::{
    BootstrapDeps, BootstrapOutcome, ensure_bootstrap_admin, record_signing_key,
};
use crate::fakes::FakeDb;
use crate::fakes::assert::assert_invalid;
use erp_domain::ports::SecretGenerator;

/// A generator whose password breaks the policy.
#[derive(Debug)]
struct WeakSecrets;

impl SecretGenerator for WeakSecrets {
    fn strong_password(&self) -> PlainPassword {
        PlainPassword::new("faible")
    }
}

#[test]
fn a_generated_password_is_held_to_the_policy_too() {
    let db = FakeDb::default();
    let weak = BootstrapDeps {
        secrets: &WeakSecrets,
        ..deps(&db)
    };
    assert_invalid(
        ensure_bootstrap_admin(weak, admin(None)),
        "password",
        ViolationCode::PasswordPolicy,
    );
    assert!(db.snapshot().users.is_empty());
}

#[test]
fn the_identity_is_checked_field_by_field() {
    let cases = [
        (
            "username",
            "a",
            "admin@erp-mif.local",
            ViolationCode::TooShort,
        ),
        (
            "email",
            "admin",
            "pas-un-email",
            ViolationCode::InvalidFormat,
        ),
    ];
    for (field, username, email, code) in cases {
        let db = FakeDb::default();
        let mut a = admin(None);
        a.username = username.into();
        a.email = email.into();
        assert_invalid(ensure_bootstrap_admin(deps(&db), a), field, code);
        assert!(db.snapshot().users.is_empty(), "{field}");
    }
}

#[test]
fn the_bootstrap_admin_is_the_first_user() {
    let db = FakeDb::default();
    let BootstrapOutcome::Created { id, .. } =
        ensure_bootstrap_admin(deps(&db), admin(None)).unwrap()
    else {
        panic!("created")
    };
    let u = &db.snapshot().users[0];
    assert_eq!(u.id, id);
    assert_eq!(u.username.as_str(), "admin");
    assert_eq!(
        u.full_name.as_ref().map(|f| f.as_str()),
        Some("Administrateur")
    );
    assert_eq!(u.client_id, None);
}

#[test]
fn a_key_that_comes_back_is_recorded_again() {
    let db = FakeDb::default();
    let clock = deps(&db).clock;
    for kid in ["aaaa", "bbbb", "aaaa"] {
        assert!(
            record_signing_key(&db, clock, "RS256", kid).unwrap(),
            "{kid}"
        );
    }
    assert_eq!(db.snapshot().audit.len(), 3);
}

#[test]
fn a_database_with_any_user_gets_no_bootstrap_admin() {
    let db = FakeDb::default();
    ensure_bootstrap_admin(deps(&db), admin(None)).unwrap();
    let mut other = admin(None);
    other.username = "root".into();
    other.email = "root@erp-mif.local".into();
    assert!(matches!(
        ensure_bootstrap_admin(deps(&db), other).unwrap(),
        BootstrapOutcome::AlreadyInitialised
    ));
    assert_eq!(db.snapshot().users.len(), 1);
}
