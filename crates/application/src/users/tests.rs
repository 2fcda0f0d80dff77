//! Users: the admin-only matrix, the password policy, unique keys, client accounts, the last
//! admin, the technicien link, sessions ended by role / password / activity changes, and the
//! audit trail of each change.

use erp_domain::ViolationCode;
use erp_domain::audit::AuditEventType;
use erp_domain::list::Page;
use erp_domain::password::PlainPassword;
use erp_domain::session::RevocationReason;
use erp_domain::user::{Email, FullName, UserFilter, UserRole, Username};
use erp_domain::{ClientId, UserId};

use super::{CreateUser, UpdateMe, UpdateUser};
use crate::AuthFailure;
use crate::fakes::assert::{
    assert_bad_request, assert_conflict, assert_invalid, assert_not_found, assert_role_refused,
    assert_unauthorized,
};
use crate::fakes::world::{PASSWORD, World, ctx};

const PAGE: Page = Page {
    limit: 50,
    offset: 0,
};

fn new_user(name: &str, role: UserRole) -> CreateUser {
    CreateUser {
        username: Username::parse("username", name).unwrap(),
        full_name: FullName::parse("full_name", &format!("{name} Nom")).unwrap(),
        email: Email::parse("email", &format!("{name}@exemple.ma")).unwrap(),
        role,
        password: PlainPassword::new(PASSWORD),
        is_active: true,
        client_id: None,
    }
}

fn revoked_for(w: &World, user: UserId) -> Vec<Option<RevocationReason>> {
    w.db.snapshot()
        .sessions
        .iter()
        .filter(|s| s.user_id == user)
        .map(|s| s.revoked_reason)
        .collect()
}

fn admin_actions(w: &World) -> Vec<String> {
    w.audit()
        .iter()
        .filter(|e| e.event_type == AuditEventType::AdminAction)
        .filter_map(|e| e.action.clone())
        .collect()
}

#[test]
fn only_an_admin_manages_users() {
    let w = World::new();
    let target = w.user(UserRole::Technicien, "cible");
    for role in [
        UserRole::Responsable,
        UserRole::Technicien,
        UserRole::Client,
    ] {
        let c = w.caller_named(role, &format!("x{}", role.as_str()));
        assert_role_refused(
            w.app
                .create_user(&c, new_user("nouveau", UserRole::Client), &ctx()),
        );
        assert_role_refused(w.app.list_users(&c, &UserFilter::default(), &[], PAGE));
        assert_role_refused(w.app.get_user(&c, target.id));
        assert_role_refused(
            w.app
                .update_user(&c, target.id, UpdateUser::default(), &ctx()),
        );
        assert_role_refused(w.app.deactivate_user(&c, target.id, &ctx()));
        assert_role_refused(w.app.activate_user(&c, target.id, &ctx()));
    }
    let admin = w.caller(UserRole::Admin);
    assert!(w.app.get_user(&admin, target.id).is_ok());
    assert!(w.stored_user(target.id).is_active, "nothing changed");
}

#[test]
fn a_created_user_is_stored_hashed_and_audited() {
    let w = World::new();
    let admin = w.caller(UserRole::Admin);
    let u = w
        .app
        .create_user(&admin, new_user("karim", UserRole::Responsable), &ctx())
        .unwrap();
    assert_eq!(u.role, UserRole::Responsable);
    assert_eq!(u.password_hash.as_phc(), format!("fake${PASSWORD}"));
    assert_eq!(u.client_id, None);
    let e = w.last_audit();
    assert_eq!(e.event_type, AuditEventType::AdminAction);
    assert_eq!(e.action.as_deref(), Some("create"));
    assert_eq!(e.resource, Some(format!("user:{}", u.id)));
    assert_eq!(e.details.unwrap()["role"], "responsable");
    assert_eq!(e.user_id, Some(admin.user.id));
}

#[test]
fn a_weak_password_is_refused_with_every_rule_and_audited() {
    let w = World::new();
    let admin = w.caller(UserRole::Admin);
    let mut cmd = new_user("karim", UserRole::Technicien);
    cmd.password = PlainPassword::new("abc");
    let (message, rules) = assert_invalid(
        w.app.create_user(&admin, cmd, &ctx()),
        "password",
        ViolationCode::PasswordPolicy,
    );
    assert!(message.unwrap().starts_with("Mot de passe invalide: "));
    assert!(rules.contains(&"Le mot de passe doit contenir au moins 12 caractères".into()));
    assert_eq!(w.audit_types(), [AuditEventType::PasswordPolicyViolation]);
    assert_eq!(w.db.snapshot().users.len(), 1, "nothing created");
}

#[test]
fn only_a_client_user_may_name_a_client_account() {
    let w = World::new();
    let admin = w.caller(UserRole::Admin);
    let account = w.client_account();
    for role in [UserRole::Admin, UserRole::Responsable, UserRole::Technicien] {
        let mut cmd = new_user("karim", role);
        cmd.client_id = Some(account);
        let (_, messages) = assert_invalid(
            w.app.create_user(&admin, cmd, &ctx()),
            "client_id",
            ViolationCode::InvalidValue,
        );
        assert_eq!(messages, ["Réservé au rôle client"], "{role}");
    }
}

#[test]
fn a_client_user_gets_the_named_account_or_a_new_one() {
    let w = World::new();
    let admin = w.caller(UserRole::Admin);
    let account = w.client_account();
    let mut cmd = new_user("avec", UserRole::Client);
    cmd.client_id = Some(account);
    assert_eq!(
        w.app.create_user(&admin, cmd, &ctx()).unwrap().client_id,
        Some(account)
    );
    let before = w.db.snapshot().clients.len();
    let fresh = w
        .app
        .create_user(&admin, new_user("sans", UserRole::Client), &ctx())
        .unwrap();
    assert_eq!(w.db.snapshot().clients.len(), before + 1);
    assert!(fresh.client_id.is_some_and(|c| c != account));
    let mut cmd = new_user("perdu", UserRole::Client);
    cmd.client_id = Some(ClientId::new(999));
    assert_not_found(
        w.app.create_user(&admin, cmd, &ctx()),
        "Compte client introuvable",
    );
}

#[test]
fn e_mail_and_username_are_unique_e_mail_first() {
    let w = World::new();
    let admin = w.caller(UserRole::Admin);
    w.app
        .create_user(&admin, new_user("karim", UserRole::Technicien), &ctx())
        .unwrap();
    let cases = [
        (
            "same e-mail",
            "autre",
            "karim@exemple.ma",
            "Email déjà utilisé.",
        ),
        (
            "same username",
            "KARIM",
            "autre@exemple.ma",
            "Username déjà utilisé.",
        ),
        ("both", "karim", "karim@exemple.ma", "Email déjà utilisé."),
    ];
    for (case, name, email, message) in cases {
        let mut cmd = new_user("xyz", UserRole::Technicien);
        cmd.username = Username::parse("username", name).unwrap();
        cmd.email = Email::parse("email", email).unwrap();
        let res = w.app.create_user(&admin, cmd, &ctx());
        assert!(res.is_err(), "{case}");
        assert_conflict(res, message);
    }
}

#[test]
fn an_unknown_user_is_a_404() {
    let w = World::new();
    let admin = w.caller(UserRole::Admin);
    assert_not_found(
        w.app.get_user(&admin, UserId::new(99)),
        "Utilisateur non trouvé.",
    );
    assert_not_found(
        w.app
            .update_user(&admin, UserId::new(99), UpdateUser::default(), &ctx()),
        "Utilisateur non trouvé.",
    );
}

#[test]
fn the_last_active_admin_cannot_be_removed() {
    let w = World::new();
    let admin = w.caller(UserRole::Admin);
    let id = admin.user.id;
    let demote = UpdateUser {
        role: Some(UserRole::Responsable),
        ..UpdateUser::default()
    };
    let msg = "Impossible de retirer le dernier administrateur actif";
    assert_conflict(w.app.deactivate_user(&admin, id, &ctx()), msg);
    assert_conflict(w.app.update_user(&admin, id, demote.clone(), &ctx()), msg);
    assert!(w.stored_user(id).is_active);
    w.user(UserRole::Admin, "second");
    assert!(w.app.update_user(&admin, id, demote, &ctx()).is_ok());
    assert_eq!(w.stored_user(id).role, UserRole::Responsable);
}

#[test]
fn a_role_change_ends_the_sessions_and_is_audited() {
    let w = World::new();
    let admin = w.caller(UserRole::Admin);
    let target = w.caller_named(UserRole::Responsable, "resp");
    let cmd = UpdateUser {
        role: Some(UserRole::Technicien),
        ..UpdateUser::default()
    };
    w.app
        .update_user(&admin, target.user.id, cmd, &ctx())
        .unwrap();
    assert_eq!(
        revoked_for(&w, target.user.id),
        [Some(RevocationReason::RoleChanged)]
    );
    assert_eq!(admin_actions(&w), ["role_change"]);
    let e = w
        .audit()
        .into_iter()
        .find(|e| e.action.as_deref() == Some("role_change"))
        .unwrap();
    assert_eq!(
        e.details.unwrap(),
        serde_json::json!({"from": "responsable", "to": "technicien"})
    );
}

#[test]
fn a_password_reset_checks_the_policy_and_ends_the_sessions() {
    let w = World::new();
    let admin = w.caller(UserRole::Admin);
    let target = w.caller_named(UserRole::Technicien, "tech");
    let weak = UpdateUser {
        password: Some(PlainPassword::new("password")),
        ..UpdateUser::default()
    };
    assert_invalid(
        w.app.update_user(&admin, target.user.id, weak, &ctx()),
        "password",
        ViolationCode::PasswordPolicy,
    );
    let reset = UpdateUser {
        password: Some(PlainPassword::new("Nouveau#Secret42")),
        ..UpdateUser::default()
    };
    w.clock.advance(chrono::Duration::hours(1));
    w.app
        .update_user(&admin, target.user.id, reset, &ctx())
        .unwrap();
    let stored = w.stored_user(target.user.id);
    assert_eq!(stored.password_hash.as_phc(), "fake$Nouveau#Secret42");
    assert_eq!(stored.password_changed_at, w.clock_now());
    assert_eq!(
        revoked_for(&w, target.user.id),
        [Some(RevocationReason::PasswordChanged)]
    );
    assert!(
        w.audit()
            .iter()
            .any(|e| e.event_type == AuditEventType::PasswordChanged
                && e.action.as_deref() == Some("reset"))
    );
    assert_eq!(admin_actions(&w), ["password_reset"]);
}

#[test]
fn deactivation_ends_the_sessions_and_both_ways_are_idempotent() {
    let w = World::new();
    let admin = w.caller(UserRole::Admin);
    let target = w.caller_named(UserRole::Client, "client");
    w.app
        .deactivate_user(&admin, target.user.id, &ctx())
        .unwrap();
    assert!(!w.stored_user(target.user.id).is_active);
    assert_eq!(
        revoked_for(&w, target.user.id),
        [Some(RevocationReason::UserDeactivated)]
    );
    w.app
        .deactivate_user(&admin, target.user.id, &ctx())
        .unwrap();
    let u = w.app.activate_user(&admin, target.user.id, &ctx()).unwrap();
    assert!(u.is_active);
    w.app.activate_user(&admin, target.user.id, &ctx()).unwrap();
    assert_eq!(
        admin_actions(&w),
        ["deactivate", "update", "activate", "update"]
    );
}

#[test]
fn a_technicien_with_a_profile_keeps_the_role() {
    let w = World::new();
    let admin = w.caller(UserRole::Admin);
    let (_, tech) = w.technicien("tech");
    let cmd = UpdateUser {
        role: Some(UserRole::Responsable),
        ..UpdateUser::default()
    };
    assert_conflict(
        w.app.update_user(&admin, tech.user.id, cmd.clone(), &ctx()),
        "Utilisateur lié à une fiche technicien : rôle non modifiable",
    );
    let plain = w.user(UserRole::Technicien, "sansfiche");
    assert!(w.app.update_user(&admin, plain.id, cmd, &ctx()).is_ok());
}

#[test]
fn updates_keep_the_client_account_rules() {
    let w = World::new();
    let admin = w.caller(UserRole::Admin);
    let resp = w.user(UserRole::Responsable, "resp");
    let account = w.client_account();
    let cmd = UpdateUser {
        client_id: Some(Some(account)),
        ..UpdateUser::default()
    };
    assert_invalid(
        w.app.update_user(&admin, resp.id, cmd, &ctx()),
        "client_id",
        ViolationCode::InvalidValue,
    );
    let to_client = UpdateUser {
        role: Some(UserRole::Client),
        ..UpdateUser::default()
    };
    let u = w
        .app
        .update_user(&admin, resp.id, to_client, &ctx())
        .unwrap();
    assert!(u.client_id.is_some(), "a new account");
    let back = UpdateUser {
        role: Some(UserRole::Responsable),
        ..UpdateUser::default()
    };
    let u = w.app.update_user(&admin, resp.id, back, &ctx()).unwrap();
    assert_eq!(
        u.client_id, None,
        "leaving the client role drops the account"
    );
}

#[test]
fn an_update_may_not_take_another_user_s_e_mail() {
    let w = World::new();
    let admin = w.caller(UserRole::Admin);
    let a = w.user(UserRole::Technicien, "alpha");
    w.user(UserRole::Technicien, "beta");
    let cmd = UpdateUser {
        email: Some(Email::parse("email", "beta@erp-mif.local").unwrap()),
        ..UpdateUser::default()
    };
    assert_conflict(
        w.app.update_user(&admin, a.id, cmd, &ctx()),
        "Email déjà utilisé.",
    );
    let same = UpdateUser {
        email: Some(Email::parse("email", "alpha@erp-mif.local").unwrap()),
        ..UpdateUser::default()
    };
    assert!(
        w.app.update_user(&admin, a.id, same, &ctx()).is_ok(),
        "its own"
    );
}

#[test]
fn self_service_changes_the_name_and_the_password_with_the_current_one() {
    let w = World::new();
    let me = w.caller_named(UserRole::Technicien, "moi");
    let name = UpdateMe {
        full_name: Some(Some(FullName::parse("full_name", "Nouveau Nom").unwrap())),
        password: None,
    };
    let u = w.app.update_me(&me, name, &ctx()).unwrap();
    assert_eq!(u.full_name.unwrap().as_str(), "Nouveau Nom");
    let wrong = UpdateMe {
        full_name: None,
        password: Some((
            PlainPassword::new("Nouveau#Secret42"),
            PlainPassword::new("faux"),
        )),
    };
    assert_bad_request(
        w.app.update_me(&me, wrong, &ctx()),
        "Mot de passe actuel incorrect",
    );
    assert_eq!(revoked_for(&w, me.user.id), [None]);
    let right = UpdateMe {
        full_name: None,
        password: Some((
            PlainPassword::new("Nouveau#Secret42"),
            PlainPassword::new(PASSWORD),
        )),
    };
    w.app.update_me(&me, right, &ctx()).unwrap();
    assert_eq!(
        w.stored_user(me.user.id).password_hash.as_phc(),
        "fake$Nouveau#Secret42"
    );
    assert_eq!(
        revoked_for(&w, me.user.id),
        [Some(RevocationReason::PasswordChanged)]
    );
}

#[test]
fn self_service_refuses_a_deactivated_account() {
    let w = World::new();
    let me = w.caller_named(UserRole::Client, "moi");
    w.db.with(|s| s.users.iter_mut().for_each(|u| u.is_active = false));
    assert_unauthorized(
        w.app.update_me(&me, UpdateMe::default(), &ctx()),
        AuthFailure::UserDeactivated,
    );
}

#[test]
fn the_user_list_is_the_store_s_page() {
    let w = World::new();
    let admin = w.caller(UserRole::Admin);
    w.user(UserRole::Technicien, "tech1");
    w.user(UserRole::Technicien, "tech2");
    let filter = UserFilter {
        roles: vec![UserRole::Technicien],
        ..UserFilter::default()
    };
    let page = w.app.list_users(&admin, &filter, &[], PAGE).unwrap();
    assert_eq!(page.total, 2);
}

#[test]
fn self_service_without_a_password_checks_no_password() {
    let w = World::new();
    let me = w.caller_named(UserRole::Technicien, "moi");
    w.app.update_me(&me, UpdateMe::default(), &ctx()).unwrap();
    assert!(w.db.snapshot().throttle.is_empty(), "no attempt counted");
    assert_eq!(revoked_for(&w, me.user.id), [None], "sessions kept");
}

#[test]
fn a_new_username_must_be_free() {
    let w = World::new();
    let admin = w.caller(UserRole::Admin);
    let a = w.user(UserRole::Technicien, "alpha");
    w.user(UserRole::Technicien, "beta");
    let cmd = UpdateUser {
        username: Some(Username::parse("username", "Beta").unwrap()),
        ..UpdateUser::default()
    };
    assert_conflict(
        w.app.update_user(&admin, a.id, cmd, &ctx()),
        "Username déjà utilisé.",
    );
    assert_eq!(w.stored_user(a.id).username.as_str(), "alpha");
}
