//! Techniciens and compétences: the role matrix, the linked user (exists, is a technicien,
//! has no profile yet), skill sets (distinct, existing), the badge, active assignments
//! blocking deletion, and the audit of deletions.

use erp_domain::ViolationCode;
use erp_domain::audit::AuditEventType;
use erp_domain::enums::NiveauCompetence;
use erp_domain::list::Page;
use erp_domain::technicien::{
    CompetenceFields, CompetenceFilter, CompetenceId, SkillAssignment, TechnicienFields,
    TechnicienFilter, TechnicienId,
};
use erp_domain::{UserId, UserRole};

use super::SkillSet;
use crate::fakes::assert::{
    assert_bad_request, assert_conflict, assert_invalid, assert_not_found, assert_role_refused,
};
use crate::fakes::world::text;
use crate::fakes::world::{World, ctx};

const PAGE: Page = Page {
    limit: 50,
    offset: 0,
};

fn skills(ids: &[CompetenceId]) -> SkillSet {
    SkillSet {
        field: "competences",
        skills: ids
            .iter()
            .map(|id| SkillAssignment {
                competence_id: *id,
                niveau: NiveauCompetence::Expert,
                date_validation: None,
                validee_par: None,
            })
            .collect(),
    }
}

fn badge(b: &str) -> TechnicienFields {
    TechnicienFields {
        numero_badge: Some(b.into()),
        ..TechnicienFields::default()
    }
}

#[test]
fn the_role_matrix_of_techniciens_and_competences() {
    let w = World::new();
    let (t, _) = w.technicien("tech");
    let c = w.competence("Soudure");
    let user = w.user(UserRole::Technicien, "libre");
    let client = w.caller(UserRole::Client);
    assert_role_refused(
        w.app
            .list_techniciens(&client, &TechnicienFilter::default(), &[], PAGE),
    );
    assert_role_refused(w.app.get_technicien(&client, t));
    assert_role_refused(
        w.app
            .list_competences(&client, &CompetenceFilter::default(), &[], PAGE),
    );
    assert_role_refused(w.app.get_competence(&client, c.id));
    let tech = w.caller_named(UserRole::Technicien, "lecteur");
    assert!(w.app.get_technicien(&tech, t).is_ok());
    assert!(w.app.get_competence(&tech, c.id).is_ok());
    for caller in [client, tech] {
        assert_role_refused(w.app.create_technicien(
            &caller,
            user.id,
            TechnicienFields::default(),
            None,
        ));
        assert_role_refused(w.app.update_technicien(&caller, t, |_| {}, None));
        assert_role_refused(w.app.delete_technicien(&caller, t, &ctx()));
        assert_role_refused(
            w.app
                .create_competence(&caller, &CompetenceFields::default()),
        );
        assert_role_refused(w.app.update_competence(&caller, c.id, |_| {}));
        assert_role_refused(w.app.delete_competence(&caller, c.id, &ctx()));
    }
}

#[test]
fn a_profile_needs_an_existing_technicien_user_without_one() {
    let w = World::new();
    let resp = w.caller(UserRole::Responsable);
    assert_not_found(
        w.app
            .create_technicien(&resp, UserId::new(99), TechnicienFields::default(), None),
        "Utilisateur lié introuvable",
    );
    let client = w.user(UserRole::Client, "client");
    assert_bad_request(
        w.app
            .create_technicien(&resp, client.id, TechnicienFields::default(), None),
        "L'utilisateur n\u{2019}est pas un technicien",
    );
    let (_, tech) = w.technicien("tech");
    assert_conflict(
        w.app
            .create_technicien(&resp, tech.user.id, TechnicienFields::default(), None),
        "Un technicien existe déjà pour cet utilisateur",
    );
    let free = w.user(UserRole::Technicien, "libre");
    let t = w
        .app
        .create_technicien(&resp, free.id, TechnicienFields::default(), None)
        .unwrap();
    assert_eq!(t.user.id, free.id);
}

#[test]
fn skill_sets_are_distinct_and_existing() {
    let w = World::new();
    let resp = w.caller(UserRole::Responsable);
    let a = w.competence("Soudure");
    let b = w.competence("Électricité");
    let user = w.user(UserRole::Technicien, "libre");
    let (_, messages) = assert_invalid(
        w.app.create_technicien(
            &resp,
            user.id,
            TechnicienFields::default(),
            Some(&skills(&[a.id, a.id])),
        ),
        "competences",
        ViolationCode::InvalidValue,
    );
    assert_eq!(messages, ["Compétences en double"]);
    assert_not_found(
        w.app.create_technicien(
            &resp,
            user.id,
            TechnicienFields::default(),
            Some(&skills(&[a.id, CompetenceId::new(99)])),
        ),
        "Une ou plusieurs compétences sont introuvables",
    );
    assert!(w.db.snapshot().techniciens.is_empty(), "nothing created");
    let t = w
        .app
        .create_technicien(
            &resp,
            user.id,
            TechnicienFields::default(),
            Some(&skills(&[b.id, a.id])),
        )
        .unwrap();
    assert_eq!(t.competences.len(), 2);
    let t = w
        .app
        .update_technicien(&resp, t.id, |_| {}, Some(&skills(&[a.id])))
        .unwrap();
    assert_eq!(
        t.competences
            .iter()
            .map(|s| s.competence_id)
            .collect::<Vec<_>>(),
        [a.id]
    );
    let kept = w
        .app
        .update_technicien(&resp, t.id, |f| f.equipe = Some("Nuit".into()), None)
        .unwrap();
    assert_eq!(kept.competences.len(), 1, "no skill set: skills kept");
    assert_eq!(kept.fields.equipe.as_deref(), Some("Nuit"));
}

#[test]
fn a_badge_is_unique() {
    let w = World::new();
    let resp = w.caller(UserRole::Responsable);
    let u1 = w.user(UserRole::Technicien, "tech1");
    let u2 = w.user(UserRole::Technicien, "tech2");
    w.app
        .create_technicien(&resp, u1.id, badge("B-1"), None)
        .unwrap();
    assert_conflict(
        w.app.create_technicien(&resp, u2.id, badge("B-1"), None),
        "Numéro de badge déjà utilisé",
    );
    let t2 = w
        .app
        .create_technicien(&resp, u2.id, badge("B-2"), None)
        .unwrap();
    assert_conflict(
        w.app
            .update_technicien(&resp, t2.id, |f| f.numero_badge = Some("B-1".into()), None),
        "Numéro de badge déjà utilisé",
    );
}

#[test]
fn unknown_techniciens_and_competences_are_404s() {
    let w = World::new();
    let admin = w.caller(UserRole::Admin);
    let t = TechnicienId::new(99);
    let c = CompetenceId::new(99);
    assert_not_found(w.app.get_technicien(&admin, t), "Technicien introuvable");
    assert_not_found(
        w.app.update_technicien(&admin, t, |_| {}, None),
        "Technicien introuvable",
    );
    assert_not_found(
        w.app.delete_technicien(&admin, t, &ctx()),
        "Technicien introuvable",
    );
    assert_not_found(w.app.get_competence(&admin, c), "Compétence introuvable");
    assert_not_found(
        w.app.update_competence(&admin, c, |_| {}),
        "Compétence introuvable",
    );
    assert_not_found(
        w.app.delete_competence(&admin, c, &ctx()),
        "Compétence introuvable",
    );
}

#[test]
fn a_competence_name_is_unique() {
    let w = World::new();
    let admin = w.caller(UserRole::Admin);
    let fields = CompetenceFields {
        nom: "Soudure".into(),
        ..CompetenceFields::default()
    };
    w.app.create_competence(&admin, &fields).unwrap();
    assert_conflict(
        w.app.create_competence(&admin, &fields),
        "Compétence déjà existante",
    );
    let other = w.competence("Hydraulique");
    assert_conflict(
        w.app
            .update_competence(&admin, other.id, |f| f.nom = "SOUDURE".into()),
        "Compétence déjà existante",
    );
}

#[test]
fn deleting_a_competence_removes_it_from_techniciens_and_is_audited() {
    let w = World::new();
    let admin = w.caller(UserRole::Admin);
    let c = w.competence("Soudure");
    let user = w.user(UserRole::Technicien, "tech");
    let t = w
        .app
        .create_technicien(
            &admin,
            user.id,
            TechnicienFields::default(),
            Some(&skills(&[c.id])),
        )
        .unwrap();
    w.app.delete_competence(&admin, c.id, &ctx()).unwrap();
    assert!(
        w.app
            .get_technicien(&admin, t.id)
            .unwrap()
            .competences
            .is_empty()
    );
    let e = w.last_audit();
    assert_eq!(e.event_type, AuditEventType::AdminAction);
    assert_eq!(e.resource, Some(format!("competence:{}", c.id)));
    assert_eq!(e.details.unwrap()["nom"], "Soudure");
}

#[test]
fn a_technicien_without_active_work_is_deleted_and_audited() {
    let w = World::new();
    let admin = w.caller(UserRole::Admin);
    let (t, _) = w.technicien("tech");
    w.app.delete_technicien(&admin, t, &ctx()).unwrap();
    assert!(w.db.snapshot().techniciens.is_empty());
    let e = w.last_audit();
    assert_eq!(e.resource, Some(format!("technicien:{t}")));
    assert_eq!(e.action.as_deref(), Some("delete"));
}

#[test]
fn a_technicien_with_active_work_is_kept() {
    let w = World::new();
    let admin = w.caller(UserRole::Admin);
    let (t, _) = w.technicien("tech");
    let e = w.equipement("Pompe", None);
    let i = w.intervention(&e, Some(t));
    assert_conflict(
        w.app.delete_technicien(&admin, t, &ctx()),
        "Technicien affecté à des interventions en cours",
    );
    assert_eq!(w.db.snapshot().techniciens.len(), 1);
    w.app
        .act_on_intervention(
            &admin,
            i.id(),
            &crate::interventions::ActionRequest::of(
                erp_domain::intervention::command::Command::Annuler {
                    raison: text("Doublon"),
                },
            ),
            &ctx(),
        )
        .unwrap();
    assert!(
        w.app.delete_technicien(&admin, t, &ctx()).is_ok(),
        "no active work left"
    );
}
