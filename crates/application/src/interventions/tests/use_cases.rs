//! Interventions: the role matrix of each action, the client scope, creation (references,
//! assignability, initial statut, history, notification), the lifecycle through the domain's
//! state machine with its 403 / 404 / 409s, history rows, stale versions, and `…/statut`.

use erp_domain::UserRole;
use erp_domain::ViolationCode;
use erp_domain::audit::AuditEventType;
use erp_domain::enums::{
    ActionHistorique, InterventionType, PrioriteIntervention, StatutIntervention, TypeNotification,
};
use erp_domain::equipement::{Equipement, EquipementId};
use erp_domain::intervention::command::{Cloture, Command};
use erp_domain::intervention::{Intervention, InterventionFilter, InterventionId};
use erp_domain::list::Page;
use erp_domain::technicien::TechnicienId;

use crate::error::Conflict;
use crate::fakes::assert::{
    assert_conflict, assert_forbidden, assert_invalid, assert_not_found, assert_role_refused,
};
use crate::fakes::world::{World, ctx};
use crate::fakes::world::{int, text};
use crate::interventions::{ActionRequest, CreateIntervention, StatutChange};
use crate::{AppError, Caller};

const PAGE: Page = Page {
    limit: 50,
    offset: 0,
};

pub(super) fn create(e: EquipementId, t: Option<TechnicienId>) -> CreateIntervention {
    CreateIntervention {
        titre: "Fuite d'huile".into(),
        description: None,
        type_intervention: InterventionType::Corrective,
        priorite: PrioriteIntervention::Haute,
        urgence: true,
        date_limite: None,
        equipement_id: e,
        technicien_id: t,
        duree_estimee: Some(60),
        cout_estime: None,
    }
}

pub(super) fn cloture() -> Command {
    Command::Cloturer(Cloture {
        rapport_intervention: text("Joint remplacé"),
        travaux_realises: None,
        recommandations: None,
        duree_reelle: Some(int(45)),
        temps_deplacement: None,
        cout_reel: None,
        cout_pieces: None,
        cout_main_oeuvre: None,
    })
}

/// Everyone involved in one intervention of a client account.
pub(super) struct Scene {
    pub(super) w: World,
    pub(super) admin: Caller,
    pub(super) resp: Caller,
    pub(super) client: Caller,
    pub(super) tech: Caller,
    pub(super) t: TechnicienId,
    pub(super) e: Equipement,
}

pub(super) fn scene() -> Scene {
    let w = World::new();
    let admin = w.caller(UserRole::Admin);
    let resp = w.caller(UserRole::Responsable);
    let client = w.caller(UserRole::Client);
    let (t, tech) = w.technicien("tech");
    let e = w.equipement("Pompe", client.user.client_id);
    Scene {
        w,
        admin,
        resp,
        client,
        tech,
        t,
        e,
    }
}

impl Scene {
    pub(super) fn act(
        &self,
        who: &Caller,
        id: InterventionId,
        command: Command,
    ) -> Result<Intervention, AppError> {
        self.w
            .app
            .act_on_intervention(who, id, &ActionRequest::of(command), &ctx())
    }

    pub(super) fn opened(&self) -> Intervention {
        self.w
            .app
            .create_intervention(&self.resp, create(self.e.id, None))
            .unwrap()
    }

    pub(super) fn assigned(&self) -> Intervention {
        self.w
            .app
            .create_intervention(&self.resp, create(self.e.id, Some(self.t)))
            .unwrap()
    }

    pub(super) fn history(
        &self,
        id: InterventionId,
    ) -> Vec<(
        ActionHistorique,
        Option<StatutIntervention>,
        StatutIntervention,
    )> {
        self.w
            .db
            .snapshot()
            .history
            .iter()
            .filter(|h| h.intervention_id == id)
            .map(|h| (h.action, h.from_statut, h.to_statut))
            .collect()
    }
}

#[test]
fn each_action_has_its_roles() {
    use UserRole::{Admin as A, Client as C, Responsable as R, Technicien as T};
    let cases: [(&str, Command, &[UserRole]); 8] = [
        (
            "affecter",
            Command::Affecter {
                technicien: TechnicienId::new(1),
            },
            &[A, R],
        ),
        ("annuler", Command::Annuler { raison: text("x") }, &[A, R]),
        ("archiver", Command::Archiver, &[A, R]),
        ("demarrer", Command::Demarrer, &[A, T]),
        ("suspendre", Command::Suspendre, &[A, T]),
        ("reprendre", Command::Reprendre, &[A, T]),
        ("cloturer", cloture(), &[A, T]),
        (
            "valider",
            Command::Valider {
                satisfaction: None,
                commentaire: None,
            },
            &[A, C],
        ),
    ];
    let s = scene();
    let i = s.opened();
    for (name, command, allowed) in cases {
        for (role, caller) in [(A, &s.admin), (R, &s.resp), (T, &s.tech), (C, &s.client)] {
            let res = s.act(caller, i.id(), command.clone());
            let refused = matches!(&res, Err(AppError::Forbidden { required_roles, .. }) if !required_roles.is_empty());
            assert_eq!(
                refused,
                !allowed.contains(&role),
                "{name} by {role}: {res:?}"
            );
        }
    }
    for c in [&s.tech, &s.client] {
        assert_role_refused(s.w.app.create_intervention(c, create(s.e.id, None)));
    }
}

#[test]
fn a_creation_opens_the_intervention_with_its_history() {
    let s = scene();
    let i = s.opened();
    assert_eq!(i.statut(), StatutIntervention::Ouverte);
    assert_eq!(
        i.client_id(),
        s.client.user.client_id,
        "copied from the équipement"
    );
    assert_eq!(i.created_by_id(), Some(s.resp.user.id));
    assert_eq!(i.version(), 1);
    assert_eq!(i.date_creation(), s.w.clock_now());
    assert_eq!(
        s.history(i.id()),
        [(
            ActionHistorique::Creation,
            None,
            StatutIntervention::Ouverte
        )]
    );
    let h = &s.w.db.snapshot().history[0];
    assert_eq!(
        h.remarque.as_deref(),
        Some("Création de l\u{2019}intervention")
    );
    assert_eq!(h.user_id, Some(s.resp.user.id));
    assert!(s.w.db.snapshot().notifications.is_empty());
}

#[test]
fn a_creation_with_a_technicien_assigns_and_notifies_at_once() {
    let s = scene();
    let i = s.assigned();
    assert_eq!(i.statut(), StatutIntervention::Affectee);
    assert_eq!(i.date_affectation(), Some(s.w.clock_now()));
    assert_eq!(
        s.history(i.id()),
        [
            (
                ActionHistorique::Creation,
                None,
                StatutIntervention::Ouverte
            ),
            (
                ActionHistorique::Affectation,
                Some(StatutIntervention::Ouverte),
                StatutIntervention::Affectee
            ),
        ]
    );
    let n = &s.w.db.snapshot().notifications[0].notification;
    assert_eq!(
        (n.user_id, n.type_notification),
        (s.tech.user.id, TypeNotification::Affectation)
    );
}

#[test]
fn a_creation_checks_the_technicien_first_then_the_equipement() {
    let s = scene();
    let missing_t = Some(TechnicienId::new(99));
    let missing_e = EquipementId::new(99);
    assert_not_found(
        s.w.app
            .create_intervention(&s.resp, create(missing_e, missing_t)),
        "Technicien assigné introuvable",
    );
    assert_not_found(
        s.w.app
            .create_intervention(&s.resp, create(missing_e, None)),
        "Équipement cible introuvable",
    );
    s.w.db.with(|st| st.techniciens[0].fields.is_active = false);
    assert_conflict(
        s.w.app
            .create_intervention(&s.resp, create(s.e.id, Some(s.t))),
        "Technicien inactif : affectation impossible",
    );
    s.w.db.with(|st| {
        st.techniciens[0].fields.is_active = true;
        let user = st.techniciens[0].user_id;
        st.users
            .iter_mut()
            .filter(|u| u.id == user)
            .for_each(|u| u.is_active = false);
    });
    assert_conflict(
        s.w.app
            .create_intervention(&s.resp, create(s.e.id, Some(s.t))),
        "Technicien inactif : affectation impossible",
    );
    assert!(s.w.db.snapshot().interventions.is_empty());
}

#[test]
fn a_client_reads_only_their_account_s_interventions() {
    let s = scene();
    let mine = s.opened();
    let other_e = s.w.equipement("Autre", Some(s.w.client_account()));
    let theirs =
        s.w.app
            .create_intervention(&s.resp, create(other_e.id, None))
            .unwrap();
    assert!(s.w.app.get_intervention(&s.client, mine.id()).is_ok());
    assert!(
        s.w.app
            .intervention_history(&s.client, mine.id(), PAGE)
            .is_ok()
    );
    assert_not_found(
        s.w.app.get_intervention(&s.client, theirs.id()),
        "Intervention introuvable",
    );
    assert_not_found(
        s.w.app.intervention_history(&s.client, theirs.id(), PAGE),
        "Intervention introuvable",
    );
    let listed =
        s.w.app
            .list_interventions(&s.client, InterventionFilter::default(), &[], PAGE)
            .unwrap();
    assert_eq!(
        listed.items.iter().map(|i| i.id()).collect::<Vec<_>>(),
        [mine.id()]
    );
    assert_eq!(
        s.w.app
            .list_interventions(&s.tech, InterventionFilter::default(), &[], PAGE)
            .unwrap()
            .total,
        2
    );
    assert_not_found(
        s.w.app.list_equipement_interventions(
            &s.client,
            other_e.id,
            InterventionFilter::default(),
            &[],
            PAGE,
        ),
        "Équipement introuvable",
    );
    let on_mine = s
        .w
        .app
        .list_equipement_interventions(&s.client, s.e.id, InterventionFilter::default(), &[], PAGE)
        .unwrap();
    assert_eq!(on_mine.total, 1);
    assert_not_found(
        s.act(
            &s.client,
            theirs.id(),
            Command::Valider {
                satisfaction: None,
                commentaire: None,
            },
        ),
        "Intervention introuvable",
    );
}

#[test]
fn the_whole_lifecycle_writes_one_history_row_per_action() {
    let s = scene();
    let i = s.opened();
    let steps: [(&Caller, Command, StatutIntervention, ActionHistorique); 7] = [
        (
            &s.resp,
            Command::Affecter { technicien: s.t },
            StatutIntervention::Affectee,
            ActionHistorique::Affectation,
        ),
        (
            &s.tech,
            Command::Demarrer,
            StatutIntervention::EnCours,
            ActionHistorique::Demarrage,
        ),
        (
            &s.tech,
            Command::Suspendre,
            StatutIntervention::EnAttente,
            ActionHistorique::Suspension,
        ),
        (
            &s.tech,
            Command::Reprendre,
            StatutIntervention::EnCours,
            ActionHistorique::Reprise,
        ),
        (
            &s.tech,
            cloture(),
            StatutIntervention::Cloturee,
            ActionHistorique::Cloture,
        ),
        (
            &s.client,
            Command::Valider {
                satisfaction: Some(int(5)),
                commentaire: None,
            },
            StatutIntervention::Cloturee,
            ActionHistorique::ValidationClient,
        ),
        (
            &s.resp,
            Command::Archiver,
            StatutIntervention::Archivee,
            ActionHistorique::Archivage,
        ),
    ];
    let mut from = StatutIntervention::Ouverte;
    for (n, (who, command, to, action)) in steps.into_iter().enumerate() {
        s.w.clock.advance(chrono::Duration::hours(1));
        let after = s.act(who, i.id(), command).unwrap();
        assert_eq!(after.statut(), to, "step {n}");
        assert_eq!(
            after.version(),
            i.version() + 1 + i32::try_from(n).unwrap(),
            "step {n}"
        );
        assert_eq!(after.updated_at(), s.w.clock_now());
        let last = s.history(i.id()).pop().unwrap();
        assert_eq!(last, (action, Some(from), to), "step {n}");
        from = to;
    }
    let done = s.w.app.get_intervention(&s.admin, i.id()).unwrap();
    assert!(done.validation_client());
    assert_eq!(done.satisfaction_client(), Some(5));
    assert_eq!(done.rapport_intervention(), Some("Joint remplacé"));
    assert!(done.date_cloture().is_some() && done.date_archivage().is_some());
}

#[test]
fn a_closure_notifies_the_creator_and_the_client() {
    let s = scene();
    let i = s.assigned();
    s.act(&s.tech, i.id(), Command::Demarrer).unwrap();
    s.act(&s.tech, i.id(), cloture()).unwrap();
    let mut closure: Vec<_> =
        s.w.db
            .snapshot()
            .notifications
            .iter()
            .map(|n| &n.notification)
            .filter(|n| n.type_notification == TypeNotification::Cloture)
            .map(|n| n.user_id)
            .collect();
    closure.sort();
    assert_eq!(closure, [s.resp.user.id, s.client.user.id]);
}

#[test]
fn a_technicien_works_only_on_their_own_interventions() {
    let s = scene();
    let i = s.assigned();
    let (_, other) = s.w.technicien("autre");
    for command in [
        Command::Demarrer,
        Command::Suspendre,
        Command::Reprendre,
        cloture(),
    ] {
        assert_forbidden(
            s.act(&other, i.id(), command),
            "Intervention non affectée à ce technicien",
        );
    }
    let e = s.w.last_audit();
    assert_eq!(e.event_type, AuditEventType::RbacViolation);
    assert_eq!(e.user_id, Some(other.user.id));
    let unassigned = s.opened();
    assert_forbidden(
        s.act(&s.tech, unassigned.id(), Command::Demarrer),
        "Intervention non affectée à ce technicien",
    );
    assert_eq!(
        s.w.app
            .get_intervention(&s.admin, i.id())
            .unwrap()
            .version(),
        i.version()
    );
}

#[test]
fn a_refused_transition_is_a_409_listing_the_allowed_targets() {
    let s = scene();
    let i = s.opened();
    let conflict = assert_conflict(
        s.act(&s.admin, i.id(), Command::Demarrer),
        "Transition de 'ouverte' vers 'en_cours' interdite",
    );
    assert_eq!(
        conflict,
        Conflict::Transition {
            current: StatutIntervention::Ouverte,
            requested: StatutIntervention::EnCours,
            allowed: vec![StatutIntervention::Affectee, StatutIntervention::Annulee],
        }
    );
    assert_conflict(
        s.act(
            &s.client,
            i.id(),
            Command::Valider {
                satisfaction: None,
                commentaire: None,
            },
        ),
        "Seule une intervention clôturée peut être validée",
    );
    assert_eq!(s.history(i.id()).len(), 1, "nothing written");
}

#[test]
fn a_stale_version_is_a_409_with_the_current_one() {
    let s = scene();
    let i = s.assigned();
    let request = ActionRequest {
        command: Command::Demarrer,
        expected_version: Some(i.version() + 3),
        remarque: None,
    };
    let conflict = assert_conflict(
        s.w.app
            .act_on_intervention(&s.tech, i.id(), &request, &ctx()),
        &format!(
            "L'intervention a été modifiée entre-temps (version actuelle : {})",
            i.version()
        ),
    );
    assert_eq!(
        conflict,
        Conflict::StaleVersion {
            current: i.version()
        }
    );
    let fresh = ActionRequest {
        expected_version: Some(i.version()),
        ..request
    };
    assert!(
        s.w.app
            .act_on_intervention(&s.tech, i.id(), &fresh, &ctx())
            .is_ok()
    );
}

#[test]
fn an_assignment_needs_an_existing_active_other_technicien() {
    let s = scene();
    let i = s.opened();
    assert_not_found(
        s.act(
            &s.resp,
            i.id(),
            Command::Affecter {
                technicien: TechnicienId::new(99),
            },
        ),
        "Technicien assigné introuvable",
    );
    let (t2, _) = s.w.technicien("second");
    s.w.db.with(|st| st.techniciens[1].fields.is_active = false);
    assert_conflict(
        s.act(&s.resp, i.id(), Command::Affecter { technicien: t2 }),
        "Technicien inactif : affectation impossible",
    );
    assert_eq!(s.history(i.id()).len(), 1, "rolled back");
    s.act(&s.resp, i.id(), Command::Affecter { technicien: s.t })
        .unwrap();
    assert_conflict(
        s.act(&s.resp, i.id(), Command::Affecter { technicien: s.t }),
        "Ce technicien est déjà affecté à l'intervention",
    );
    s.w.db.with(|st| st.techniciens[1].fields.is_active = true);
    let again = s
        .act(&s.resp, i.id(), Command::Affecter { technicien: t2 })
        .unwrap();
    assert_eq!(again.technicien_id(), Some(t2));
    assert_eq!(
        s.history(i.id()).last().unwrap().0,
        ActionHistorique::Reaffectation
    );
}

#[test]
fn a_client_validates_once() {
    let s = scene();
    let i = s.assigned();
    s.act(&s.tech, i.id(), Command::Demarrer).unwrap();
    s.act(&s.tech, i.id(), cloture()).unwrap();
    let valider = || Command::Valider {
        satisfaction: Some(int(4)),
        commentaire: Some(text("Merci")),
    };
    s.act(&s.client, i.id(), valider()).unwrap();
    assert_conflict(
        s.act(&s.client, i.id(), valider()),
        "Intervention déjà validée par le client",
    );
}

#[test]
fn a_cancellation_keeps_its_reason() {
    let s = scene();
    let i = s.opened();
    let done = s
        .act(
            &s.resp,
            i.id(),
            Command::Annuler {
                raison: text("Doublon"),
            },
        )
        .unwrap();
    assert_eq!(done.statut(), StatutIntervention::Annulee);
    assert_eq!(done.motif_annulation(), Some("Doublon"));
    assert_eq!(
        s.w.db
            .snapshot()
            .history
            .last()
            .unwrap()
            .remarque
            .as_deref(),
        Some("Doublon")
    );
}

#[test]
fn a_statut_change_maps_onto_its_action() {
    let s = scene();
    let i = s.opened();
    let to = |target, remarque: Option<&str>, technicien| StatutChange {
        target,
        remarque: remarque.map(Into::into),
        technicien_id: technicien,
    };
    let i2 =
        s.w.app
            .change_statut(
                &s.resp,
                i.id(),
                to(StatutIntervention::Affectee, None, Some(s.t)),
                &ctx(),
            )
            .unwrap();
    assert_eq!(i2.statut(), StatutIntervention::Affectee);
    s.w.app
        .change_statut(
            &s.tech,
            i.id(),
            to(StatutIntervention::EnCours, Some("Go"), None),
            &ctx(),
        )
        .unwrap();
    let (_, messages) = assert_invalid(
        s.w.app.change_statut(
            &s.tech,
            i.id(),
            to(StatutIntervention::Cloturee, None, None),
            &ctx(),
        ),
        "remarque",
        ViolationCode::Required,
    );
    assert_eq!(messages, ["Un rapport est obligatoire pour clôturer"]);
    let closed =
        s.w.app
            .change_statut(
                &s.tech,
                i.id(),
                to(StatutIntervention::Cloturee, Some("Fait"), None),
                &ctx(),
            )
            .unwrap();
    assert_eq!(closed.rapport_intervention(), Some("Fait"));
    assert_eq!(
        s.w.db
            .snapshot()
            .history
            .last()
            .unwrap()
            .remarque
            .as_deref(),
        Some("Fait")
    );
}

#[test]
fn a_statut_change_checks_roles_then_ownership_then_the_transition() {
    let s = scene();
    let i = s.assigned();
    let reopen = StatutChange {
        target: StatutIntervention::Ouverte,
        remarque: None,
        technicien_id: None,
    };
    assert_role_refused(
        s.w.app
            .change_statut(&s.client, i.id(), reopen.clone(), &ctx()),
    );
    for c in [&s.admin, &s.resp, &s.tech] {
        assert_conflict(
            s.w.app.change_statut(c, i.id(), reopen.clone(), &ctx()),
            "Transition de 'affectee' vers 'ouverte' interdite",
        );
    }
    let (_, other) = s.w.technicien("autre");
    let archive_like = StatutChange {
        target: StatutIntervention::Cloturee,
        remarque: Some("x".into()),
        technicien_id: None,
    };
    assert_forbidden(
        s.w.app.change_statut(&other, i.id(), archive_like, &ctx()),
        "Intervention non affectée à ce technicien",
    );
    assert_eq!(s.w.last_audit().event_type, AuditEventType::RbacViolation);
    assert_not_found(
        s.w.app
            .change_statut(&s.admin, InterventionId::new(99), reopen, &ctx()),
        "Intervention introuvable",
    );
}
