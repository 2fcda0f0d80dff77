//! Équipements: the role matrix, the client scope (list, read), the client account check,
//! the unique keys' 409s, deletion refused while interventions reference it, and its audit.

use erp_domain::audit::AuditEventType;
use erp_domain::equipement::{EquipementFilter, EquipementId};
use erp_domain::list::Page;
use erp_domain::{ClientId, UserRole};

use crate::fakes::assert::{assert_conflict, assert_not_found, assert_role_refused};
use crate::fakes::world::{World, ctx, equipement_fields};

const PAGE: Page = Page {
    limit: 50,
    offset: 0,
};

#[test]
fn only_admins_and_responsables_write_equipements() {
    let w = World::new();
    let e = w.equipement("Pompe A", None);
    for role in [UserRole::Technicien, UserRole::Client] {
        let c = w.caller(role);
        assert_role_refused(w.app.create_equipement(&c, &equipement_fields("B", None)));
        assert_role_refused(w.app.update_equipement(&c, e.id, |f| f.nom = "X".into()));
        assert_role_refused(w.app.delete_equipement(&c, e.id, &ctx()));
    }
    for role in [UserRole::Admin, UserRole::Responsable] {
        let c = w.caller(role);
        let created = w
            .app
            .create_equipement(&c, &equipement_fields(&format!("Neuf {role}"), None))
            .unwrap();
        assert!(
            w.app
                .update_equipement(&c, created.id, |f| f.zone = Some("Z".into()))
                .is_ok()
        );
    }
    assert_eq!(w.db.snapshot().equipements[0].fields.nom, "Pompe A");
}

#[test]
fn a_client_sees_only_their_account_s_equipements() {
    let w = World::new();
    let client = w.caller(UserRole::Client);
    let mine = w.equipement("Mienne", client.user.client_id);
    let theirs = w.equipement("Autre", Some(w.client_account()));
    let shared = w.equipement("Sans compte", None);
    assert!(w.app.get_equipement(&client, mine.id).is_ok());
    for id in [theirs.id, shared.id, EquipementId::new(99)] {
        assert_not_found(w.app.get_equipement(&client, id), "Équipement introuvable");
    }
    let listed = w
        .app
        .list_equipements(&client, EquipementFilter::default(), &[], PAGE)
        .unwrap();
    assert_eq!(
        listed.items.iter().map(|e| e.id).collect::<Vec<_>>(),
        [mine.id]
    );
    let tech = w.caller(UserRole::Technicien);
    assert!(
        w.app.get_equipement(&tech, theirs.id).is_ok(),
        "other roles see every row"
    );
}

#[test]
fn a_client_without_an_account_sees_nothing_even_with_a_filter() {
    let w = World::new();
    let client = w.caller(UserRole::Client);
    w.db.with(|s| s.users[0].client_id = None);
    let client = w.stored_user(client.user.id);
    let client = crate::Caller {
        user: client,
        session_id: erp_domain::SessionId::new(1),
    };
    w.equipement("Sans compte", None);
    let other = w.client_account();
    w.equipement("Autre", Some(other));
    let filter = EquipementFilter {
        client_id: Some(other),
        ..EquipementFilter::default()
    };
    let listed = w.app.list_equipements(&client, filter, &[], PAGE).unwrap();
    assert_eq!(listed.total, 0);
}

#[test]
fn the_client_account_must_exist() {
    let w = World::new();
    let admin = w.caller(UserRole::Admin);
    let missing = Some(ClientId::new(404));
    assert_not_found(
        w.app
            .create_equipement(&admin, &equipement_fields("A", missing)),
        "Compte client introuvable",
    );
    let e = w.equipement("B", None);
    assert_not_found(
        w.app
            .update_equipement(&admin, e.id, |f| f.client_id = missing),
        "Compte client introuvable",
    );
    assert_not_found(
        w.app
            .update_equipement(&admin, EquipementId::new(99), |_| {}),
        "Équipement introuvable",
    );
}

#[test]
fn unique_keys_answer_their_own_409() {
    let w = World::new();
    let admin = w.caller(UserRole::Admin);
    let mut first = equipement_fields("Compresseur", None);
    first.numero_serie = Some("SN-1".into());
    first.code_interne = Some("CI-1".into());
    w.app.create_equipement(&admin, &first).unwrap();
    let cases = [
        ("nom", "compresseur", None, None, "Équipement déjà existant"),
        (
            "série",
            "Autre1",
            Some("SN-1"),
            None,
            "Numéro de série déjà utilisé",
        ),
        (
            "code",
            "Autre2",
            None,
            Some("CI-1"),
            "Code interne déjà utilisé",
        ),
    ];
    for (case, nom, serie, code, message) in cases {
        let mut f = equipement_fields(nom, None);
        f.numero_serie = serie.map(Into::into);
        f.code_interne = code.map(Into::into);
        let res = w.app.create_equipement(&admin, &f);
        assert!(res.is_err(), "{case}");
        assert_conflict(res, message);
    }
}

#[test]
fn an_equipement_in_use_is_not_deleted() {
    let w = World::new();
    let admin = w.caller(UserRole::Admin);
    let e = w.equipement("Pompe", None);
    w.db.with(|s| s.equipements_in_use.push(e.id));
    assert_conflict(
        w.app.delete_equipement(&admin, e.id, &ctx()),
        "Équipement utilisé par des interventions",
    );
    assert_eq!(w.db.snapshot().equipements.len(), 1);
    assert!(w.audit().is_empty());
}

#[test]
fn a_deletion_is_audited_with_the_name() {
    let w = World::new();
    let admin = w.caller(UserRole::Responsable);
    let e = w.equipement("Pompe", None);
    w.app.delete_equipement(&admin, e.id, &ctx()).unwrap();
    assert!(w.db.snapshot().equipements.is_empty());
    let a = w.last_audit();
    assert_eq!(a.event_type, AuditEventType::AdminAction);
    assert_eq!(a.resource, Some(format!("equipement:{}", e.id)));
    assert_eq!(a.action.as_deref(), Some("delete"));
    assert_eq!(a.details.unwrap()["nom"], "Pompe");
    assert_not_found(
        w.app.delete_equipement(&admin, e.id, &ctx()),
        "Équipement introuvable",
    );
}

#[test]
fn an_equipement_with_an_intervention_is_kept() {
    let w = World::new();
    let admin = w.caller(UserRole::Admin);
    let e = w.equipement("Pompe", None);
    w.intervention(&e, None);
    assert_conflict(
        w.app.delete_equipement(&admin, e.id, &ctx()),
        "Équipement utilisé par des interventions",
    );
}

#[test]
fn an_update_keeps_the_other_fields_and_may_move_to_an_existing_account() {
    let w = World::new();
    let admin = w.caller(UserRole::Admin);
    let e = w.equipement("Pompe", None);
    let account = w.client_account();
    w.clock.advance(chrono::Duration::hours(1));
    let u = w
        .app
        .update_equipement(&admin, e.id, |f| f.client_id = Some(account))
        .unwrap();
    assert_eq!(u.fields.client_id, Some(account));
    assert_eq!(u.fields.nom, "Pompe");
    assert_eq!(u.updated_at, w.clock_now());
    assert_eq!(u.created_at, e.created_at);
}
