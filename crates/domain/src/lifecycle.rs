//! The intervention state machine (D6, API.md §3.6.2): which lifecycle action applies in which
//! statut, the statut it leads to, and the history action it records.

use crate::enums::{ActionHistorique, StatutIntervention};

use StatutIntervention::{Affectee, Annulee, Archivee, Cloturee, EnAttente, EnCours, Ouverte};

/// The lifecycle actions (`POST /interventions/{id}/<action>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LifecycleAction {
    /// `affecter`: assign or re-assign a technicien.
    Affecter,
    /// `demarrer`.
    Demarrer,
    /// `suspendre`.
    Suspendre,
    /// `reprendre`.
    Reprendre,
    /// `cloturer`.
    Cloturer,
    /// `annuler`.
    Annuler,
    /// `archiver`.
    Archiver,
    /// `valider` (client validation; the statut does not change).
    Valider,
}

impl LifecycleAction {
    /// Every action.
    pub const ALL: [Self; 8] = [
        Self::Affecter,
        Self::Demarrer,
        Self::Suspendre,
        Self::Reprendre,
        Self::Cloturer,
        Self::Annuler,
        Self::Archiver,
        Self::Valider,
    ];

    /// The statut the action aims at (`statut_demande` of a refusal).
    #[must_use]
    pub const fn target(self) -> StatutIntervention {
        match self {
            Self::Affecter => Affectee,
            Self::Demarrer | Self::Reprendre => EnCours,
            Self::Suspendre => EnAttente,
            Self::Cloturer | Self::Valider => Cloturee,
            Self::Annuler => Annulee,
            Self::Archiver => Archivee,
        }
    }
}

/// The allowed target statuts of a statut (`transitions_autorisees`), in lifecycle order.
#[must_use]
pub const fn allowed_targets(current: StatutIntervention) -> &'static [StatutIntervention] {
    match current {
        Ouverte => &[Affectee, Annulee],
        Affectee => &[EnCours, Annulee],
        EnCours => &[EnAttente, Cloturee, Annulee],
        EnAttente => &[EnCours, Cloturee, Annulee],
        Cloturee => &[Archivee],
        Annulee | Archivee => &[],
    }
}

/// What an applicable action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// Statut before.
    pub from: StatutIntervention,
    /// Statut after (equal to `from` for a re-assignment or a validation).
    pub to: StatutIntervention,
    /// The history row's action.
    pub history: ActionHistorique,
}

/// Why an action does not apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransitionRefused {
    /// 409 "Transition de '<actuel>' vers '<demandé>' interdite" with the allowed targets.
    Forbidden {
        /// Current statut.
        current: StatutIntervention,
        /// The action's target.
        requested: StatutIntervention,
    },
    /// 409 "Seule une intervention clôturée peut être validée".
    NotClosed,
}

impl TransitionRefused {
    /// The French message of the refusal.
    #[must_use]
    pub fn message(self) -> String {
        match self {
            Self::Forbidden { current, requested } => {
                format!("Transition de '{current}' vers '{requested}' interdite")
            }
            Self::NotClosed => "Seule une intervention clôturée peut être validée".to_owned(),
        }
    }
}

/// Applies `action` to `current`.
///
/// # Errors
/// [`TransitionRefused`] when the action does not apply in `current`.
pub fn apply(
    current: StatutIntervention,
    action: LifecycleAction,
) -> Result<Transition, TransitionRefused> {
    let ok = |to, history| {
        Ok(Transition {
            from: current,
            to,
            history,
        })
    };
    match (action, current) {
        (LifecycleAction::Affecter, Ouverte) => ok(Affectee, ActionHistorique::Affectation),
        (LifecycleAction::Affecter, Affectee | EnCours | EnAttente) => {
            ok(current, ActionHistorique::Reaffectation)
        }
        (LifecycleAction::Demarrer, Affectee) => ok(EnCours, ActionHistorique::Demarrage),
        (LifecycleAction::Suspendre, EnCours) => ok(EnAttente, ActionHistorique::Suspension),
        (LifecycleAction::Reprendre, EnAttente) => ok(EnCours, ActionHistorique::Reprise),
        (LifecycleAction::Cloturer, EnCours | EnAttente) => ok(Cloturee, ActionHistorique::Cloture),
        (LifecycleAction::Annuler, Ouverte | Affectee | EnCours | EnAttente) => {
            ok(Annulee, ActionHistorique::Annulation)
        }
        (LifecycleAction::Archiver, Cloturee) => ok(Archivee, ActionHistorique::Archivage),
        (LifecycleAction::Valider, Cloturee | Archivee) => {
            ok(current, ActionHistorique::ValidationClient)
        }
        (LifecycleAction::Valider, _) => Err(TransitionRefused::NotClosed),
        (_, _) => Err(TransitionRefused::Forbidden {
            current,
            requested: action.target(),
        }),
    }
}

/// `PATCH /interventions/{id}/statut`: the action a target statut means from `current`
/// (API.md §3.6.5).
///
/// # Errors
/// [`TransitionRefused::Forbidden`] when no action leads there (the current statut and
/// `ouverte` included).
pub fn action_for_target(
    current: StatutIntervention,
    target: StatutIntervention,
) -> Result<LifecycleAction, TransitionRefused> {
    let action = match (target, current) {
        (Affectee, Ouverte) => Some(LifecycleAction::Affecter),
        (EnCours, Affectee) => Some(LifecycleAction::Demarrer),
        (EnCours, EnAttente) => Some(LifecycleAction::Reprendre),
        (EnAttente, EnCours) => Some(LifecycleAction::Suspendre),
        (Cloturee, EnCours | EnAttente) => Some(LifecycleAction::Cloturer),
        (Annulee, Ouverte | Affectee | EnCours | EnAttente) => Some(LifecycleAction::Annuler),
        (Archivee, Cloturee) => Some(LifecycleAction::Archiver),
        _ => None,
    };
    action.ok_or(TransitionRefused::Forbidden {
        current,
        requested: target,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use LifecycleAction::{
        Affecter, Annuler, Archiver, Cloturer, Demarrer, Reprendre, Suspendre, Valider,
    };

    /// Every (statut, action) pair: `Some((to, history))` when it applies.
    #[expect(clippy::type_complexity, reason = "the table is the test")]
    const TABLE: [(
        StatutIntervention,
        [Option<(StatutIntervention, ActionHistorique)>; 8],
    ); 7] = {
        use ActionHistorique as H;
        [
            (
                Ouverte,
                [
                    Some((Affectee, H::Affectation)),
                    None,
                    None,
                    None,
                    None,
                    Some((Annulee, H::Annulation)),
                    None,
                    None,
                ],
            ),
            (
                Affectee,
                [
                    Some((Affectee, H::Reaffectation)),
                    Some((EnCours, H::Demarrage)),
                    None,
                    None,
                    None,
                    Some((Annulee, H::Annulation)),
                    None,
                    None,
                ],
            ),
            (
                EnCours,
                [
                    Some((EnCours, H::Reaffectation)),
                    None,
                    Some((EnAttente, H::Suspension)),
                    None,
                    Some((Cloturee, H::Cloture)),
                    Some((Annulee, H::Annulation)),
                    None,
                    None,
                ],
            ),
            (
                EnAttente,
                [
                    Some((EnAttente, H::Reaffectation)),
                    None,
                    None,
                    Some((EnCours, H::Reprise)),
                    Some((Cloturee, H::Cloture)),
                    Some((Annulee, H::Annulation)),
                    None,
                    None,
                ],
            ),
            (
                Cloturee,
                [
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    Some((Archivee, H::Archivage)),
                    Some((Cloturee, H::ValidationClient)),
                ],
            ),
            (Annulee, [None, None, None, None, None, None, None, None]),
            (
                Archivee,
                [
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    Some((Archivee, H::ValidationClient)),
                ],
            ),
        ]
    };

    #[test]
    fn every_statut_and_action_pair_follows_the_table() {
        let actions = [
            Affecter, Demarrer, Suspendre, Reprendre, Cloturer, Annuler, Archiver, Valider,
        ];
        for (statut, row) in TABLE {
            for (action, expected) in actions.into_iter().zip(row) {
                let got = apply(statut, action);
                match expected {
                    Some((to, history)) => assert_eq!(
                        got,
                        Ok(Transition {
                            from: statut,
                            to,
                            history
                        }),
                        "{statut} {action:?}"
                    ),
                    None if action == Valider => assert_eq!(
                        got,
                        Err(TransitionRefused::NotClosed),
                        "{statut} {action:?}"
                    ),
                    None => assert_eq!(
                        got,
                        Err(TransitionRefused::Forbidden {
                            current: statut,
                            requested: action.target()
                        }),
                        "{statut} {action:?}"
                    ),
                }
            }
        }
    }

    #[test]
    fn allowed_targets_match_the_contract_and_the_table() {
        assert_eq!(allowed_targets(Ouverte), &[Affectee, Annulee]);
        assert_eq!(allowed_targets(Affectee), &[EnCours, Annulee]);
        assert_eq!(allowed_targets(EnCours), &[EnAttente, Cloturee, Annulee]);
        assert_eq!(allowed_targets(EnAttente), &[EnCours, Cloturee, Annulee]);
        assert_eq!(allowed_targets(Cloturee), &[Archivee]);
        assert!(allowed_targets(Annulee).is_empty());
        assert!(allowed_targets(Archivee).is_empty());
        // Every statut-changing transition of the table is an allowed target, and vice versa.
        for statut in StatutIntervention::ALL {
            let mut reached: Vec<StatutIntervention> = LifecycleAction::ALL
                .iter()
                .filter_map(|a| apply(*statut, *a).ok())
                .map(|t| t.to)
                .filter(|to| to != statut)
                .collect();
            reached.sort();
            let mut allowed = allowed_targets(*statut).to_vec();
            allowed.sort();
            assert_eq!(reached, allowed, "{statut}");
        }
    }

    #[test]
    fn a_target_statut_maps_onto_the_action_that_reaches_it() {
        for current in StatutIntervention::ALL {
            for target in StatutIntervention::ALL {
                match action_for_target(*current, *target) {
                    Ok(action) => assert_eq!(
                        apply(*current, action).map(|t| t.to),
                        Ok(*target),
                        "{current} -> {target}"
                    ),
                    Err(e) => {
                        assert_eq!(
                            e,
                            TransitionRefused::Forbidden {
                                current: *current,
                                requested: *target
                            }
                        );
                        assert!(
                            !allowed_targets(*current).contains(target),
                            "{current} -> {target} is allowed but not mapped"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn refusals_are_worded_as_the_contract_says() {
        let refused = apply(EnAttente, Demarrer).unwrap_err();
        assert_eq!(
            refused.message(),
            "Transition de 'en_attente' vers 'en_cours' interdite"
        );
        assert_eq!(
            apply(Ouverte, Valider).unwrap_err().message(),
            "Seule une intervention clôturée peut être validée"
        );
    }
}
