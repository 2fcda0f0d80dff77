//! Intervention edits (`PUT`/`PATCH`): admins and responsables only, never in a final
//! statut, with the version checked and the client account re-derived from the équipement.

use erp_domain::equipement::EquipementId;
use erp_domain::intervention::InterventionEdit;
use erp_domain::intervention::command::Command;

use super::use_cases::{cloture, scene};
use crate::error::Conflict;
use crate::fakes::assert::{assert_conflict, assert_not_found, assert_role_refused};
use crate::fakes::world::text;

#[test]
fn an_edit_is_for_admins_and_responsables() {
    let s = scene();
    let i = s.opened();
    for c in [&s.tech, &s.client] {
        assert_role_refused(
            s.w.app
                .update_intervention(c, i.id(), None, None, &titled("Autre")),
        );
    }
    let edited =
        s.w.app
            .update_intervention(&s.admin, i.id(), Some(i.version()), None, &titled("Autre"))
            .unwrap();
    assert_eq!(edited.titre(), "Autre");
    assert_eq!(edited.version(), i.version() + 1);
    assert_eq!(s.history(i.id()).len(), 1, "an edit writes no history row");
}

#[test]
fn a_final_intervention_is_not_edited() {
    let s = scene();
    let cases = [
        ("annulee", vec![Command::Annuler { raison: text("x") }]),
        ("cloturee", vec![Command::Demarrer, cloture()]),
        (
            "archivee",
            vec![Command::Demarrer, cloture(), Command::Archiver],
        ),
    ];
    for (statut, commands) in cases {
        let i = s.assigned();
        for c in commands {
            s.act(&s.admin, i.id(), c).unwrap();
        }
        assert_conflict(
            s.w.app.update_intervention(
                &s.resp,
                i.id(),
                None,
                None,
                &InterventionEdit {
                    urgence: Some(false),
                    ..InterventionEdit::default()
                },
            ),
            &format!("Intervention non modifiable dans le statut '{statut}'"),
        );
    }
}

#[test]
fn an_edit_checks_the_version_and_moves_the_client_with_the_equipement() {
    let s = scene();
    let i = s.opened();
    let conflict = assert_conflict(
        s.w.app.update_intervention(
            &s.resp,
            i.id(),
            Some(i.version() + 1),
            None,
            &InterventionEdit::default(),
        ),
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
    assert_not_found(
        s.w.app.update_intervention(
            &s.resp,
            i.id(),
            None,
            Some(EquipementId::new(99)),
            &InterventionEdit::default(),
        ),
        "Équipement cible introuvable",
    );
    let shared = s.w.equipement("Partagé", None);
    let moved =
        s.w.app
            .update_intervention(
                &s.resp,
                i.id(),
                None,
                Some(shared.id),
                &InterventionEdit::default(),
            )
            .unwrap();
    assert_eq!(moved.equipement_id(), shared.id);
    assert_eq!(
        moved.client_id(),
        None,
        "re-derived from the new équipement"
    );
    assert_not_found(
        s.w.app.get_intervention(&s.client, i.id()),
        "Intervention introuvable",
    );
}

fn titled(titre: &str) -> InterventionEdit {
    InterventionEdit {
        titre: Some(titre.into()),
        ..InterventionEdit::default()
    }
}
