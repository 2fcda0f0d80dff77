//! What each lifecycle action does to an intervention (API.md §3.6.2–3.6.5): the state machine
//! of [`crate::lifecycle`] decides whether it applies; [`Intervention::apply`] then changes the
//! fields the action owns and gives the history row to write.

use super::{Intervention, NewHistory};
use crate::clock::Timestamp;
use crate::ids::UserId;
use crate::lifecycle::{self, LifecycleAction, TransitionRefused};
use crate::technicien::TechnicienId;
use crate::value::{Centimes, Description, Message, Minutes, Motif, Rapport, Satisfaction};

/// The closure report of `cloturer`: the report is required; the other fields, when given,
/// replace what the intervention holds. Each carries its bound (`crate::value`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cloture {
    /// 1–10 000 characters.
    pub rapport_intervention: Rapport,
    /// ≤ 10 000 characters.
    pub travaux_realises: Option<Description>,
    /// ≤ 10 000 characters.
    pub recommandations: Option<Description>,
    /// Minutes.
    pub duree_reelle: Option<Minutes>,
    /// Minutes.
    pub temps_deplacement: Option<Minutes>,
    /// Centimes.
    pub cout_reel: Option<Centimes>,
    /// Centimes.
    pub cout_pieces: Option<Centimes>,
    /// Centimes.
    pub cout_main_oeuvre: Option<Centimes>,
}

/// A lifecycle action with the payload it needs: a command cannot lack it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Assign, or re-assign to another technicien.
    Affecter {
        /// The technicien (its existence and activity are checked by the caller).
        technicien: TechnicienId,
    },
    /// Start the work.
    Demarrer,
    /// Suspend it.
    Suspendre,
    /// Resume it.
    Reprendre,
    /// Close with a report.
    Cloturer(Cloture),
    /// Cancel, with a reason.
    Annuler {
        /// 1–1 000 characters; also the history row's remark.
        raison: Motif,
    },
    /// Archive a closed intervention.
    Archiver,
    /// The client's validation of a closed intervention.
    Valider {
        /// 1–5.
        satisfaction: Option<Satisfaction>,
        /// ≤ 2 000 characters; also the history row's remark.
        commentaire: Option<Message>,
    },
}

impl Command {
    /// The action of the state machine.
    #[must_use]
    pub const fn action(&self) -> LifecycleAction {
        match self {
            Self::Affecter { .. } => LifecycleAction::Affecter,
            Self::Demarrer => LifecycleAction::Demarrer,
            Self::Suspendre => LifecycleAction::Suspendre,
            Self::Reprendre => LifecycleAction::Reprendre,
            Self::Cloturer(_) => LifecycleAction::Cloturer,
            Self::Annuler { .. } => LifecycleAction::Annuler,
            Self::Archiver => LifecycleAction::Archiver,
            Self::Valider { .. } => LifecycleAction::Valider,
        }
    }
}

/// Why a command does not apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleError {
    /// The state machine refuses the action in the current statut.
    Refused(TransitionRefused),
    /// `affecter` to the technicien already assigned.
    AlreadyAssigned,
    /// `valider` twice.
    AlreadyValidated,
}

impl LifecycleError {
    /// The French message of the refusal (API.md §3.6).
    #[must_use]
    pub fn message(self) -> String {
        match self {
            Self::Refused(r) => r.message(),
            Self::AlreadyAssigned => "Ce technicien est déjà affecté à l'intervention".to_owned(),
            Self::AlreadyValidated => "Intervention déjà validée par le client".to_owned(),
        }
    }
}

impl Intervention {
    /// Applies `command` by `actor` at `now`: the statut moves as the state machine says, the
    /// action's own fields change, and the history row to write is returned. `remarque` is the
    /// caller's remark, replaced by the reason of `annuler` and the comment of `valider`.
    /// `version` and `updated_at` are left to the store (they change with any write).
    ///
    /// # Errors
    /// [`LifecycleError`]; the intervention is then unchanged.
    pub fn apply(
        &mut self,
        command: Command,
        actor: Option<UserId>,
        remarque: Option<String>,
        now: Timestamp,
    ) -> Result<NewHistory, LifecycleError> {
        let transition = lifecycle::apply(self.record.statut, command.action())
            .map_err(LifecycleError::Refused)?;
        let mut history = NewHistory {
            intervention_id: self.record.id,
            action: transition.history,
            from_statut: Some(transition.from),
            to_statut: transition.to,
            remarque,
            technicien_id: None,
            user_id: actor,
            horodatage: now,
        };
        match command {
            Command::Affecter { technicien } => {
                if self.record.technicien_id == Some(technicien) {
                    return Err(LifecycleError::AlreadyAssigned);
                }
                self.record.technicien_id = Some(technicien);
                self.record.date_affectation = Some(now);
                history.technicien_id = Some(technicien);
            }
            Command::Demarrer => {
                self.record.date_debut_travaux.get_or_insert(now);
            }
            Command::Suspendre | Command::Reprendre => {}
            Command::Cloturer(r) => {
                let rec = &mut self.record;
                rec.rapport_intervention = Some(r.rapport_intervention.into_inner());
                if let Some(t) = r.travaux_realises {
                    rec.travaux_realises = Some(t.into_inner());
                }
                if let Some(t) = r.recommandations {
                    rec.recommandations = Some(t.into_inner());
                }
                rec.duree_reelle = r.duree_reelle.map(Minutes::to_i32).or(rec.duree_reelle);
                rec.temps_deplacement = r
                    .temps_deplacement
                    .map(Minutes::to_i32)
                    .or(rec.temps_deplacement);
                rec.cout_reel = r.cout_reel.map(Centimes::get).or(rec.cout_reel);
                rec.cout_pieces = r.cout_pieces.map(Centimes::get).or(rec.cout_pieces);
                rec.cout_main_oeuvre = r
                    .cout_main_oeuvre
                    .map(Centimes::get)
                    .or(rec.cout_main_oeuvre);
                rec.date_fin_travaux = Some(now);
                rec.date_cloture = Some(now);
            }
            Command::Annuler { raison } => {
                let raison = raison.into_inner();
                self.record.motif_annulation = Some(raison.clone());
                self.record.date_annulation = Some(now);
                history.remarque = Some(raison);
            }
            Command::Archiver => {
                self.record.date_archivage = Some(now);
            }
            Command::Valider {
                satisfaction,
                commentaire,
            } => {
                if self.record.validation_client {
                    return Err(LifecycleError::AlreadyValidated);
                }
                let commentaire = commentaire.map(Message::into_inner);
                self.record.validation_client = true;
                self.record.date_validation_client = Some(now);
                self.record.satisfaction_client = satisfaction.map(Satisfaction::to_i32);
                self.record.commentaire_client.clone_from(&commentaire);
                history.remarque = commentaire;
            }
        }
        self.record.statut = transition.to;
        Ok(history)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enums::{
        ActionHistorique, InterventionType, PrioriteIntervention, StatutIntervention,
    };
    use crate::equipement::EquipementId;
    use crate::intervention::{NewIntervention, Origin};
    use crate::value::{Entier, Texte};

    use StatutIntervention::{Affectee, Annulee, Archivee, Cloturee, EnCours, Ouverte};

    fn at(seconds: i64) -> Timestamp {
        chrono::DateTime::from_timestamp(1_750_000_000 + seconds, 0).unwrap_or_default()
    }

    const ADMIN: Option<UserId> = Some(UserId::new(1));

    fn new(technicien: Option<i64>) -> NewIntervention {
        NewIntervention {
            titre: "Fuite".into(),
            description: None,
            type_intervention: InterventionType::Corrective,
            priorite: PrioriteIntervention::Normale,
            urgence: false,
            date_limite: None,
            equipement_id: EquipementId::new(3),
            client_id: None,
            technicien_id: technicien.map(TechnicienId::new),
            duree_estimee: Some(60),
            cout_estime: None,
            planning_id: None,
            created_by_id: ADMIN,
        }
    }

    fn text<const MIN: usize, const MAX: usize>(s: &str) -> Texte<MIN, MAX> {
        Texte::parse("test", s).unwrap()
    }

    fn int<const MIN: i64, const MAX: i64>(v: i64) -> Entier<MIN, MAX> {
        Entier::new("test", v).unwrap()
    }

    fn report() -> Cloture {
        Cloture {
            rapport_intervention: text("Joint changé"),
            travaux_realises: None,
            recommandations: Some(text("Surveiller")),
            duree_reelle: Some(int(45)),
            temps_deplacement: None,
            cout_reel: Some(int(12_000)),
            cout_pieces: None,
            cout_main_oeuvre: None,
        }
    }

    #[test]
    fn opening_starts_ouverte_or_affectee_with_its_history() {
        let mut i = Intervention::open(new(None), at(0));
        assert_eq!(
            (i.statut(), i.version(), i.date_affectation()),
            (Ouverte, 1, None)
        );
        i = i.stored_as(crate::ids::InterventionId::new(7));
        let rows = i.opening_history(Origin::Creation);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].action, ActionHistorique::Creation);
        assert_eq!((rows[0].from_statut, rows[0].to_statut), (None, Ouverte));

        let mut i = Intervention::open(new(Some(4)), at(0));
        assert_eq!((i.statut(), i.date_affectation()), (Affectee, Some(at(0))));
        i = i.stored_as(crate::ids::InterventionId::new(8));
        let rows = i.opening_history(Origin::GeneratedByScheduler);
        let actions: Vec<_> = rows.iter().map(|r| r.action).collect();
        assert_eq!(
            actions,
            [ActionHistorique::Generation, ActionHistorique::Affectation]
        );
        assert_eq!(rows[1].technicien_id, Some(TechnicienId::new(4)));
        assert_eq!(
            (rows[1].from_statut, rows[1].to_statut),
            (Some(Ouverte), Affectee)
        );
        assert!(rows.iter().all(|r| r.intervention_id.get() == 8));
    }

    #[test]
    fn the_whole_lifecycle_sets_each_action_s_fields() -> Result<(), LifecycleError> {
        let mut i = Intervention::open(new(None), at(0));
        let h = i.apply(
            Command::Affecter {
                technicien: TechnicienId::new(4),
            },
            ADMIN,
            Some("urgent".into()),
            at(10),
        )?;
        assert_eq!(
            (h.action, h.remarque.as_deref()),
            (ActionHistorique::Affectation, Some("urgent"))
        );
        assert_eq!((i.statut(), i.date_affectation()), (Affectee, Some(at(10))));
        i.apply(Command::Demarrer, ADMIN, None, at(20))?;
        i.apply(Command::Suspendre, ADMIN, None, at(30))?;
        i.apply(Command::Reprendre, ADMIN, None, at(40))?;
        assert_eq!(
            (i.statut(), i.date_debut_travaux()),
            (EnCours, Some(at(20))),
            "a resumption keeps the first start"
        );
        let h = i.apply(Command::Cloturer(report()), ADMIN, None, at(50))?;
        assert_eq!((h.from_statut, h.to_statut), (Some(EnCours), Cloturee));
        assert_eq!(i.rapport_intervention(), Some("Joint changé"));
        assert_eq!((i.duree_reelle(), i.cout_reel()), (Some(45), Some(12_000)));
        assert_eq!(
            (i.date_fin_travaux(), i.date_cloture()),
            (Some(at(50)), Some(at(50)))
        );
        let h = i.apply(
            Command::Valider {
                satisfaction: Some(int(5)),
                commentaire: Some(text("Parfait")),
            },
            ADMIN,
            Some("ignored".into()),
            at(60),
        )?;
        assert_eq!(
            (h.to_statut, h.remarque.as_deref()),
            (Cloturee, Some("Parfait"))
        );
        assert!(i.validation_client());
        assert_eq!(
            i.apply(
                Command::Valider {
                    satisfaction: None,
                    commentaire: None
                },
                ADMIN,
                None,
                at(61)
            ),
            Err(LifecycleError::AlreadyValidated)
        );
        i.apply(Command::Archiver, ADMIN, None, at(70))?;
        assert_eq!((i.statut(), i.date_archivage()), (Archivee, Some(at(70))));
        Ok(())
    }

    #[test]
    fn a_refused_command_changes_nothing() {
        let mut i = Intervention::open(new(Some(4)), at(0));
        let before = i.clone();
        assert_eq!(
            i.apply(Command::Cloturer(report()), ADMIN, None, at(5)),
            Err(LifecycleError::Refused(TransitionRefused::Forbidden {
                current: Affectee,
                requested: Cloturee
            }))
        );
        assert_eq!(
            i.apply(
                Command::Affecter {
                    technicien: TechnicienId::new(4)
                },
                ADMIN,
                None,
                at(5)
            ),
            Err(LifecycleError::AlreadyAssigned)
        );
        assert_eq!(i, before);
    }

    #[test]
    fn cancelling_records_the_reason_as_the_remark() -> Result<(), LifecycleError> {
        let mut i = Intervention::open(new(None), at(0));
        i.record.travaux_realises = Some("déjà fait".into());
        let h = i.apply(
            Command::Annuler {
                raison: text("Doublon"),
            },
            ADMIN,
            Some("ignored".into()),
            at(9),
        )?;
        assert_eq!(h.remarque.as_deref(), Some("Doublon"));
        assert_eq!(
            (i.statut(), i.motif_annulation(), i.date_annulation()),
            (Annulee, Some("Doublon"), Some(at(9)))
        );
        Ok(())
    }

    #[test]
    fn closing_keeps_the_fields_the_report_leaves_out() -> Result<(), LifecycleError> {
        let mut i = Intervention::open(new(Some(4)), at(0));
        i.apply(Command::Demarrer, ADMIN, None, at(1))?;
        i.record.travaux_realises = Some("avant".into());
        i.record.cout_pieces = Some(500);
        i.apply(Command::Cloturer(report()), ADMIN, None, at(2))?;
        assert_eq!(i.travaux_realises(), Some("avant"));
        assert_eq!(i.cout_pieces(), Some(500));
        assert_eq!(i.recommandations(), Some("Surveiller"));
        Ok(())
    }

    #[test]
    fn an_edit_changes_only_what_it_names_and_never_a_final_intervention()
    -> Result<(), LifecycleError> {
        use crate::intervention::{InterventionEdit, NotEditable};
        let mut i = Intervention::open(new(None), at(0));
        let edit = InterventionEdit {
            titre: Some("Nouveau titre".into()),
            description: Some(None),
            cout_estime: Some(Some(1_200)),
            ..InterventionEdit::default()
        };
        let moved = (EquipementId::new(9), Some(crate::ids::ClientId::new(3)));
        assert_eq!(i.edit(&edit, Some(moved)), Ok(()));
        assert_eq!(
            (i.titre(), i.description(), i.cout_estime(), i.priorite()),
            (
                "Nouveau titre",
                None,
                Some(1_200),
                PrioriteIntervention::Normale
            )
        );
        assert_eq!((i.equipement_id(), i.client_id()), moved);

        i.apply(
            Command::Annuler {
                raison: text("Doublon"),
            },
            ADMIN,
            None,
            at(1),
        )?;
        let before = i.clone();
        assert_eq!(i.edit(&edit, None), Err(NotEditable(Annulee)));
        assert_eq!(i, before);
        assert_eq!(
            NotEditable(Annulee).message(),
            "Intervention non modifiable dans le statut 'annulee'"
        );
        Ok(())
    }

    #[test]
    fn a_write_moves_the_version_on_from_the_one_read() {
        let mut i = Intervention::open(new(None), at(0));
        i.record_write(4, at(5));
        assert_eq!((i.version(), i.updated_at()), (5, at(5)));
    }
}
