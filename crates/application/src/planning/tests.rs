//! Preventive planning: the role matrix, the first due date, `date_fin`, references,
//! rescheduling, deletion's audit, and generation — on demand and by the scheduler — with
//! the lead time, the missed occurrences, the de-duplication of due dates, the assignee,
//! the generated intervention and its history and notifications; the overdue scan.

use chrono::Duration;
use erp_domain::ViolationCode;
use erp_domain::audit::AuditEventType;
use erp_domain::enums::{
    ActionHistorique, FrequencePlanning, InterventionType, OrigineOccurrence, PrioriteIntervention,
    StatutIntervention, StatutPlanning, TypeNotification,
};
use erp_domain::equipement::{Equipement, EquipementId};
use erp_domain::list::Page;
use erp_domain::planning::{Planning, PlanningFilter, PlanningId};
use erp_domain::technicien::TechnicienId;
use erp_domain::{Timestamp, UserRole};

use super::{CreatePlanning, UpdatePlanning};
use crate::Caller;
use crate::fakes::StoredOccurrence;
use crate::fakes::assert::{
    assert_conflict, assert_invalid, assert_not_found, assert_role_refused,
};
use crate::fakes::ports::at;
use crate::fakes::world::{World, ctx, new_intervention};

const PAGE: Page = Page {
    limit: 50,
    offset: 0,
};

fn cmd(e: EquipementId, prochaine: Option<Timestamp>) -> CreatePlanning {
    CreatePlanning {
        equipement_id: e,
        frequence: FrequencePlanning::Mensuel,
        prochaine_date: prochaine,
        derniere_date: None,
        date_fin: None,
        statut: StatutPlanning::Actif,
        titre: None,
        commentaire: None,
        priorite: PrioriteIntervention::Programmee,
        technicien_id: None,
        duree_estimee: Some(90),
        avance_jours: 0,
    }
}

/// A responsable and an équipement.
fn setup(w: &World) -> (Caller, Equipement) {
    (
        w.caller(UserRole::Responsable),
        w.equipement("Chaudière", None),
    )
}

fn planning(w: &World, c: CreatePlanning) -> Planning {
    let n = w.db.snapshot().plannings.len();
    let resp = w.caller_named(UserRole::Responsable, &format!("planif{n}"));
    w.app.create_planning(&resp, c).unwrap()
}

fn stored(w: &World, id: PlanningId) -> Planning {
    w.db.snapshot()
        .plannings
        .into_iter()
        .find(|p| p.id == id)
        .unwrap()
}

#[test]
fn the_planning_role_matrix() {
    let w = World::new();
    let (resp, e) = setup(&w);
    let p = w.app.create_planning(&resp, cmd(e.id, None)).unwrap();
    let tech = w.caller(UserRole::Technicien);
    let client = w.caller(UserRole::Client);
    assert!(w.app.get_planning(&tech, p.id).is_ok());
    assert!(
        w.app
            .list_plannings(&tech, &PlanningFilter::default(), &[], PAGE)
            .is_ok()
    );
    assert_role_refused(w.app.get_planning(&client, p.id));
    assert_role_refused(
        w.app
            .list_plannings(&client, &PlanningFilter::default(), &[], PAGE),
    );
    for c in [&tech, &client] {
        assert_role_refused(w.app.create_planning(c, cmd(e.id, None)));
        assert_role_refused(w.app.update_planning(c, p.id, &UpdatePlanning::default()));
        assert_role_refused(w.app.reschedule_planning(c, p.id, w.clock_now()));
        assert_role_refused(w.app.delete_planning(c, p.id, &ctx()));
        assert_role_refused(w.app.generate_planning_now(c, p.id));
    }
    assert_eq!(stored(&w, p.id), p, "nothing changed");
}

#[test]
fn the_first_due_date_follows_the_series() {
    let w = World::new();
    let (resp, e) = setup(&w);
    let now = w.clock_now();
    let cases = [
        (
            "given",
            Some(at(2026, 5, 1, 8)),
            None,
            at(2026, 5, 1, 8),
            at(2026, 5, 1, 8),
        ),
        ("now + 1 period", None, None, at(2026, 4, 15, 10), now),
        (
            "after the last one",
            None,
            Some(at(2026, 1, 31, 8)),
            at(2026, 2, 28, 8),
            at(2026, 1, 31, 8),
        ),
    ];
    for (case, prochaine, derniere, expected, reference) in cases {
        let mut c = cmd(e.id, prochaine);
        c.derniere_date = derniere;
        let p = w.app.create_planning(&resp, c).unwrap();
        assert_eq!(p.fields.prochaine_date, expected, "{case}");
        assert_eq!(p.date_reference, reference, "{case}: anchor");
    }
}

#[test]
fn the_end_may_not_come_before_the_next_due_date() {
    let w = World::new();
    let (resp, e) = setup(&w);
    let mut c = cmd(e.id, Some(at(2026, 5, 1, 8)));
    c.date_fin = Some(at(2026, 4, 30, 8));
    let (_, messages) = assert_invalid(
        w.app.create_planning(&resp, c.clone()),
        "date_fin",
        ViolationCode::InvalidValue,
    );
    assert_eq!(
        messages,
        ["La date de fin doit être postérieure ou égale à la prochaine date"]
    );
    c.date_fin = Some(at(2026, 5, 1, 8));
    let p = w.app.create_planning(&resp, c).unwrap();
    assert_invalid(
        w.app.reschedule_planning(&resp, p.id, at(2026, 6, 1, 8)),
        "date_fin",
        ViolationCode::InvalidValue,
    );
    let u = UpdatePlanning {
        date_fin: Some(Some(at(2026, 4, 1, 8))),
        ..UpdatePlanning::default()
    };
    assert_invalid(
        w.app.update_planning(&resp, p.id, &u),
        "date_fin",
        ViolationCode::InvalidValue,
    );
    assert_eq!(stored(&w, p.id).fields.date_fin, Some(at(2026, 5, 1, 8)));
}

#[test]
fn the_equipement_and_the_technicien_must_exist() {
    let w = World::new();
    let (resp, e) = setup(&w);
    assert_not_found(
        w.app
            .create_planning(&resp, cmd(EquipementId::new(99), None)),
        "Équipement introuvable",
    );
    let mut c = cmd(e.id, None);
    c.technicien_id = Some(TechnicienId::new(99));
    assert_not_found(w.app.create_planning(&resp, c), "Technicien introuvable");
    let p = w.app.create_planning(&resp, cmd(e.id, None)).unwrap();
    let u = UpdatePlanning {
        technicien_id: Some(Some(TechnicienId::new(99))),
        ..UpdatePlanning::default()
    };
    assert_not_found(
        w.app.update_planning(&resp, p.id, &u),
        "Technicien introuvable",
    );
    let missing = PlanningId::new(99);
    assert_not_found(w.app.get_planning(&resp, missing), "Planning introuvable");
    assert_not_found(
        w.app
            .update_planning(&resp, missing, &UpdatePlanning::default()),
        "Planning introuvable",
    );
    assert_not_found(
        w.app.delete_planning(&resp, missing, &ctx()),
        "Planning introuvable",
    );
    assert_not_found(
        w.app.generate_planning_now(&resp, missing),
        "Planning introuvable",
    );
}

#[test]
fn an_update_of_the_next_date_moves_the_anchor() {
    let w = World::new();
    let (resp, e) = setup(&w);
    let p = w
        .app
        .create_planning(&resp, cmd(e.id, Some(at(2026, 5, 1, 8))))
        .unwrap();
    w.clock.advance(Duration::hours(1));
    let u = UpdatePlanning {
        prochaine_date: Some(at(2026, 6, 10, 8)),
        titre: Some(Some("Révision".into())),
        ..UpdatePlanning::default()
    };
    let p2 = w.app.update_planning(&resp, p.id, &u).unwrap();
    assert_eq!(p2.date_reference, at(2026, 6, 10, 8));
    assert_eq!(p2.fields.titre.as_deref(), Some("Révision"));
    assert_eq!(
        p2.fields.derniere_date, None,
        "an update does not touch derniere_date"
    );
    assert_eq!(p2.version, p.version + 1);
    assert_eq!(p2.date_modification, w.clock_now());
}

#[test]
fn a_reschedule_keeps_the_previous_date_as_the_last_one() {
    let w = World::new();
    let (resp, e) = setup(&w);
    let p = w
        .app
        .create_planning(&resp, cmd(e.id, Some(at(2026, 5, 1, 8))))
        .unwrap();
    let p2 = w
        .app
        .reschedule_planning(&resp, p.id, at(2026, 5, 20, 8))
        .unwrap();
    assert_eq!(p2.fields.derniere_date, Some(at(2026, 5, 1, 8)));
    assert_eq!(p2.fields.prochaine_date, at(2026, 5, 20, 8));
    assert_eq!(p2.date_reference, at(2026, 5, 20, 8));
}

#[test]
fn a_deletion_is_audited_and_leaves_generated_interventions() {
    let w = World::new();
    let (resp, e) = setup(&w);
    let p = w
        .app
        .create_planning(&resp, cmd(e.id, Some(w.clock_now())))
        .unwrap();
    w.app.generate_planning_now(&resp, p.id).unwrap();
    w.app.delete_planning(&resp, p.id, &ctx()).unwrap();
    assert!(w.db.snapshot().plannings.is_empty());
    assert_eq!(w.db.snapshot().interventions.len(), 1);
    let a = w.last_audit();
    assert_eq!(a.event_type, AuditEventType::AdminAction);
    assert_eq!(a.resource, Some(format!("planning:{}", p.id)));
    assert_eq!(
        a.details.unwrap(),
        serde_json::json!({"equipement_id": e.id.get(), "frequence": "mensuel"})
    );
}

#[test]
fn a_manual_generation_opens_a_preventive_intervention_and_advances_the_planning() {
    let w = World::new();
    let (resp, e) = setup(&w);
    let due = at(2026, 4, 2, 8);
    let p = w.app.create_planning(&resp, cmd(e.id, Some(due))).unwrap();
    let (p2, i) = w.app.generate_planning_now(&resp, p.id).unwrap();
    assert_eq!(i.type_intervention(), InterventionType::Preventive);
    assert_eq!(i.statut(), StatutIntervention::Ouverte);
    assert_eq!(i.titre(), "Maintenance préventive - Chaudière");
    assert_eq!(i.priorite(), PrioriteIntervention::Programmee);
    assert_eq!(
        i.date_limite(),
        Some(at(2026, 5, 2, 8)),
        "the due date is the planning's new next date (API.md §3.7)"
    );
    assert_eq!(i.planning_id(), Some(p.id.get()));
    assert_eq!(i.created_by_id(), Some(resp.user.id));
    assert_eq!(i.duree_estimee(), Some(90));
    assert_eq!(p2.fields.derniere_date, Some(due));
    assert_eq!(p2.fields.prochaine_date, at(2026, 5, 2, 8));
    let s = w.db.snapshot();
    assert_eq!(
        s.occurrences,
        [StoredOccurrence {
            planning: p.id,
            due,
            origine: OrigineOccurrence::Manuel,
            intervention: Some(i.id()),
        }]
    );
    let h = &s.history[0];
    assert_eq!(h.action, ActionHistorique::Generation);
    assert_eq!(
        h.remarque.as_deref(),
        Some("Intervention générée manuellement depuis le planning")
    );
}

#[test]
fn only_an_active_planning_generates_on_demand() {
    let w = World::new();
    let (resp, e) = setup(&w);
    for statut in [StatutPlanning::Suspendu, StatutPlanning::Termine] {
        let mut c = cmd(e.id, None);
        c.statut = statut;
        let p = w.app.create_planning(&resp, c).unwrap();
        assert_conflict(
            w.app.generate_planning_now(&resp, p.id),
            "Planning suspendu ou terminé : génération impossible",
        );
    }
    assert!(w.db.snapshot().interventions.is_empty());
}

#[test]
fn a_due_date_is_generated_once() {
    let w = World::new();
    let (resp, e) = setup(&w);
    let due = at(2026, 4, 2, 8);
    let p = w.app.create_planning(&resp, cmd(e.id, Some(due))).unwrap();
    w.db.with(|s| {
        s.occurrences.push(StoredOccurrence {
            planning: p.id,
            due,
            origine: OrigineOccurrence::Scheduler,
            intervention: None,
        });
    });
    assert_conflict(
        w.app.generate_planning_now(&resp, p.id),
        "Intervention déjà générée pour cette échéance",
    );
    assert_eq!(stored(&w, p.id), p, "nothing changes");
    w.clock.set(due);
    let report = w.app.run_planning_generation().unwrap();
    assert_eq!(report.generated, 0);
    assert!(w.db.snapshot().interventions.is_empty());
    assert_eq!(
        stored(&w, p.id).fields.prochaine_date,
        at(2026, 5, 2, 8),
        "the scheduler only advances past a recorded date"
    );
}

#[test]
fn the_scheduler_generates_within_the_lead_time() {
    let cases = [
        ("due today", 0, 0, true),
        ("past due", -3, 0, true),
        ("tomorrow, no lead", 1, 0, false),
        ("in 5 days, 7 days ahead", 5, 7, true),
        ("in 10 days, 7 days ahead", 10, 7, false),
    ];
    for (case, in_days, avance, generated) in cases {
        let w = World::new();
        let e = w.equipement("Pompe", None);
        let mut c = cmd(e.id, Some(w.clock_now() + Duration::days(in_days)));
        c.avance_jours = avance;
        planning(&w, c);
        let report = w.app.run_planning_generation().unwrap();
        assert_eq!(report.generated, usize::from(generated), "{case}");
        assert_eq!(
            w.db.snapshot().interventions.len(),
            usize::from(generated),
            "{case}"
        );
    }
}

#[test]
fn missed_occurrences_are_skipped_to_the_next_future_one() {
    let w = World::new();
    let e = w.equipement("Pompe", None);
    let p = planning(&w, cmd(e.id, Some(at(2025, 12, 15, 10))));
    let report = w.app.run_planning_generation().unwrap();
    assert_eq!(report.generated, 1, "only the oldest missed occurrence");
    let after = stored(&w, p.id);
    assert_eq!(after.fields.derniere_date, Some(at(2025, 12, 15, 10)));
    assert_eq!(after.fields.prochaine_date, at(2026, 4, 15, 10));
    assert_eq!(w.app.run_planning_generation().unwrap().generated, 0);
}

#[test]
fn plannings_past_their_end_are_terminated_and_suspended_ones_wait() {
    let w = World::new();
    let e = w.equipement("Pompe", None);
    let mut ending = cmd(e.id, Some(at(2026, 3, 1, 10)));
    ending.date_fin = Some(at(2026, 3, 1, 10));
    let ending = planning(&w, ending);
    let mut paused = cmd(e.id, Some(at(2026, 3, 1, 10)));
    paused.statut = StatutPlanning::Suspendu;
    let paused = planning(&w, paused);
    let report = w.app.run_planning_generation().unwrap();
    assert_eq!(report.generated, 1);
    assert_eq!(stored(&w, ending.id).fields.statut, StatutPlanning::Termine);
    assert_eq!(stored(&w, paused.id), paused);
    w.clock.advance(Duration::days(60));
    assert_eq!(w.app.run_planning_generation().unwrap().generated, 0);
}

#[test]
fn the_default_assignee_is_used_only_while_assignable() {
    let w = World::new();
    let e = w.equipement("Pompe", None);
    let (t, tech) = w.technicien("tech");
    let resp = w.user(UserRole::Responsable, "resp");
    let mut c = cmd(e.id, Some(w.clock_now()));
    c.technicien_id = Some(t);
    c.titre = Some("Graissage".into());
    let p = planning(&w, c);
    w.app.run_planning_generation().unwrap();
    let s = w.db.snapshot();
    let i = &s.interventions[0];
    assert_eq!(i.statut(), StatutIntervention::Affectee);
    assert_eq!(i.technicien_id(), Some(t));
    assert_eq!(i.titre(), "Graissage");
    assert_eq!(i.created_by_id(), None, "the scheduler");
    assert_eq!(
        s.history.iter().map(|h| h.action).collect::<Vec<_>>(),
        [ActionHistorique::Generation, ActionHistorique::Affectation]
    );
    let sent: Vec<_> = s
        .notifications
        .iter()
        .map(|n| (n.notification.user_id, n.notification.type_notification))
        .collect();
    assert_eq!(
        sent,
        [
            (tech.user.id, TypeNotification::Affectation),
            (tech.user.id, TypeNotification::Rappel)
        ]
    );
    w.db.with(|s| s.techniciens[0].fields.is_active = false);
    w.clock.set(stored(&w, p.id).fields.prochaine_date);
    w.app.run_planning_generation().unwrap();
    let s = w.db.snapshot();
    let i = &s.interventions[1];
    assert_eq!(
        i.statut(),
        StatutIntervention::Ouverte,
        "inactive technicien: unassigned"
    );
    let reminded: Vec<_> = s
        .notifications
        .iter()
        .map(|n| &n.notification)
        .filter(|n| n.intervention_id == Some(i.id()))
        .map(|n| n.user_id)
        .collect();
    assert!(
        reminded.contains(&resp.id),
        "unassigned: the responsables are reminded"
    );
    assert!(!reminded.contains(&tech.user.id));
}

#[test]
fn the_overdue_scan_notifies_each_lateness_once() {
    let w = World::new();
    let e = w.equipement("Pompe", None);
    let (t, tech) = w.technicien("tech");
    let resp = w.user(UserRole::Responsable, "resp");
    let mut late = new_intervention(&e, Some(t));
    late.date_limite = Some(w.clock_now() - Duration::hours(1));
    w.store_intervention(late);
    let mut on_time = new_intervention(&e, Some(t));
    on_time.date_limite = Some(w.clock_now() + Duration::hours(1));
    w.store_intervention(on_time);
    assert_eq!(w.app.run_overdue_scan().unwrap(), 1);
    let mut to: Vec<_> =
        w.db.snapshot()
            .notifications
            .iter()
            .map(|n| {
                assert_eq!(n.notification.type_notification, TypeNotification::Retard);
                n.notification.user_id
            })
            .collect();
    to.sort();
    assert_eq!(to, [tech.user.id, resp.id]);
    assert_eq!(w.app.run_overdue_scan().unwrap(), 0, "already notified");
}
