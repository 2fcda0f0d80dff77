//! Interventions (API.md §3.6): create, read, edit, and every lifecycle action through the one
//! state machine of the domain, with optimistic concurrency and one history row per action.

use erp_domain::audit::AuditContext;
use erp_domain::enums::{
    ActionHistorique, InterventionType, PrioriteIntervention, StatutIntervention,
};
use erp_domain::equipement::EquipementId;
use erp_domain::error::{FieldViolation, ViolationCode};
use erp_domain::intervention::command::{Cloture, Command, LifecycleError};
use erp_domain::intervention::{
    HistoryEntry, Intervention, InterventionEdit, InterventionFilter, InterventionId,
    InterventionSortField, NewHistory, NewIntervention, Origin,
};
use erp_domain::lifecycle::{self, LifecycleAction, TransitionRefused, allowed_targets};
use erp_domain::list::{Listed, Page, SortKey};
use erp_domain::ports::{TransactionMode, UnitOfWork};
use erp_domain::technicien::TechnicienId;
use erp_domain::value::{Motif, Rapport};
use erp_domain::{Timestamp, UserRole};

use crate::app::{Application, Caller};
use crate::authz::{Action, authorize, check_assignment, sees_client_row};
use crate::error::{AppError, Conflict};
use crate::notify;
use crate::telemetry;
use crate::tx::transaction;

const NOT_FOUND: &str = "Intervention introuvable";
/// How often a lost version race is re-evaluated before giving up.
const RETRIES: usize = 8;

fn not_found() -> AppError {
    AppError::NotFound(NOT_FOUND.into())
}

/// `POST /interventions`.
#[derive(Debug, Clone)]
pub struct CreateIntervention {
    /// 1–255.
    pub titre: String,
    /// ≤ 10 000.
    pub description: Option<String>,
    /// Type.
    pub type_intervention: InterventionType,
    /// Default `normale`.
    pub priorite: PrioriteIntervention,
    /// Default false.
    pub urgence: bool,
    /// Due date.
    pub date_limite: Option<Timestamp>,
    /// The équipement.
    pub equipement_id: EquipementId,
    /// Assign at once.
    pub technicien_id: Option<TechnicienId>,
    /// Minutes.
    pub duree_estimee: Option<i32>,
    /// Centimes.
    pub cout_estime: Option<i64>,
}

/// One lifecycle action as requested (`POST /interventions/{id}/<action>`): the command with its
/// payload, the expected version (body `version` or `If-Match`) and the history remark.
#[derive(Debug, Clone)]
pub struct ActionRequest {
    /// The command.
    pub command: Command,
    /// Expected version.
    pub expected_version: Option<i32>,
    /// Remark for the history row (≤ 1 000).
    pub remarque: Option<String>,
}

impl ActionRequest {
    /// A command with no expected version and no remark.
    #[must_use]
    pub const fn of(command: Command) -> Self {
        Self {
            command,
            expected_version: None,
            remarque: None,
        }
    }
}

/// `PATCH /interventions/{id}/statut?statut=…&remarque=…&technicien_id=…` (API.md §3.6.5): the
/// action is the one leading from the current statut to `target`; the remark is also the
/// closure report of `cloturee` and the reason of `annulee`.
#[derive(Debug, Clone)]
pub struct StatutChange {
    /// The target statut.
    pub target: StatutIntervention,
    /// Remark, report or reason.
    pub remarque: Option<String>,
    /// The technicien of `affectee`.
    pub technicien_id: Option<TechnicienId>,
}

impl StatutChange {
    /// The command of `action` with this change's payload.
    ///
    /// # Errors
    /// 422 when the payload the action needs is missing.
    fn command(&self, action: LifecycleAction) -> Result<Command, AppError> {
        let invalid = |v: FieldViolation| AppError::Invalid {
            message: None,
            violations: vec![v],
        };
        let missing = |field: &str, message: &str| {
            invalid(FieldViolation::new(field, ViolationCode::Required, message))
        };
        Ok(match action {
            LifecycleAction::Affecter => Command::Affecter {
                technicien: self
                    .technicien_id
                    .ok_or_else(|| invalid(FieldViolation::required("technicien_id")))?,
            },
            LifecycleAction::Demarrer => Command::Demarrer,
            LifecycleAction::Suspendre => Command::Suspendre,
            LifecycleAction::Reprendre => Command::Reprendre,
            LifecycleAction::Cloturer => Command::Cloturer(Cloture {
                rapport_intervention: Rapport::parse(
                    "remarque",
                    self.remarque.as_deref().ok_or_else(|| {
                        missing("remarque", "Un rapport est obligatoire pour clôturer")
                    })?,
                )?,
                travaux_realises: None,
                recommandations: None,
                duree_reelle: None,
                temps_deplacement: None,
                cout_reel: None,
                cout_pieces: None,
                cout_main_oeuvre: None,
            }),
            LifecycleAction::Annuler => Command::Annuler {
                raison: Motif::parse(
                    "remarque",
                    self.remarque.as_deref().ok_or_else(|| {
                        missing("remarque", "Un motif est obligatoire pour annuler")
                    })?,
                )?,
            },
            LifecycleAction::Archiver => Command::Archiver,
            LifecycleAction::Valider => Command::Valider {
                satisfaction: None,
                commentaire: None,
            },
        })
    }
}

/// The role-matrix action behind a lifecycle action.
#[must_use]
pub const fn action_of(action: LifecycleAction) -> Action {
    match action {
        LifecycleAction::Affecter | LifecycleAction::Annuler | LifecycleAction::Archiver => {
            Action::DispatchInterventions
        }
        LifecycleAction::Demarrer
        | LifecycleAction::Suspendre
        | LifecycleAction::Reprendre
        | LifecycleAction::Cloturer => Action::WorkOnInterventions,
        LifecycleAction::Valider => Action::ValidateInterventions,
    }
}

/// The role-matrix action of `PATCH …/statut` towards `target` (API.md §2: roles depend on
/// the target only).
#[must_use]
pub const fn statut_action(target: StatutIntervention) -> Action {
    match target {
        StatutIntervention::Affectee
        | StatutIntervention::Annulee
        | StatutIntervention::Archivee => Action::DispatchInterventions,
        StatutIntervention::EnCours
        | StatutIntervention::EnAttente
        | StatutIntervention::Cloturee => Action::WorkOnInterventions,
        StatutIntervention::Ouverte => Action::ReopenIntervention,
    }
}

/// `interventions_created_total`, and the assignment of one created assigned.
pub(crate) fn record_creation(i: &Intervention) {
    telemetry::intervention_created(i.type_intervention());
    if i.statut() == StatutIntervention::Affectee {
        telemetry::transition(StatutIntervention::Ouverte, StatutIntervention::Affectee);
    }
}

fn stale(current: i32) -> AppError {
    AppError::Conflict(Conflict::StaleVersion { current })
}

fn rejected(e: LifecycleError) -> AppError {
    match e {
        LifecycleError::Refused(r) => refused(r),
        LifecycleError::AlreadyAssigned | LifecycleError::AlreadyValidated => {
            AppError::conflict(e.message())
        }
    }
}

fn refused(r: TransitionRefused) -> AppError {
    match r {
        TransitionRefused::Forbidden { current, requested } => {
            AppError::Conflict(Conflict::Transition {
                current,
                requested,
                allowed: allowed_targets(current).to_vec(),
            })
        }
        TransitionRefused::NotClosed => AppError::conflict(r.message()),
    }
}

impl Application {
    pub(crate) fn visible_intervention(
        uow: &mut dyn UnitOfWork,
        caller: &Caller,
        id: InterventionId,
    ) -> Result<Intervention, AppError> {
        uow.intervention_by_id(id)?
            .filter(|i| sees_client_row(caller.user.role, caller.user.client_id, i.client_id()))
            .ok_or_else(not_found)
    }

    /// Checks that a technicien exists and can be assigned.
    pub(crate) fn assignable(uow: &mut dyn UnitOfWork, id: TechnicienId) -> Result<(), AppError> {
        let t = uow
            .technicien_by_id(id)?
            .ok_or_else(|| AppError::NotFound("Technicien assigné introuvable".into()))?;
        if !t.fields.is_active || !t.user.is_active {
            return Err(AppError::conflict(
                "Technicien inactif : affectation impossible".into(),
            ));
        }
        Ok(())
    }

    /// `POST /interventions`.
    ///
    /// # Errors
    /// 403; 404 technicien (checked first) / équipement; 409 inactive technicien.
    pub fn create_intervention(
        &self,
        caller: &Caller,
        cmd: CreateIntervention,
    ) -> Result<Intervention, AppError> {
        authorize(caller.user.role, Action::EditInterventions)?;
        let now = self.ports.clock.now();
        let created = transaction(self.ports.db.as_ref(), TransactionMode::ReadWrite, |uow| {
            if let Some(t) = cmd.technicien_id {
                uow.technicien_by_id(t)?
                    .ok_or_else(|| AppError::NotFound("Technicien assigné introuvable".into()))?;
            }
            let equipement = uow
                .equipement_by_id(cmd.equipement_id)?
                .ok_or_else(|| AppError::NotFound("Équipement cible introuvable".into()))?;
            if let Some(t) = cmd.technicien_id {
                Self::assignable(uow, t)?;
            }
            let draft = Intervention::open(
                NewIntervention {
                    titre: cmd.titre,
                    description: cmd.description,
                    type_intervention: cmd.type_intervention,
                    priorite: cmd.priorite,
                    urgence: cmd.urgence,
                    date_limite: cmd.date_limite,
                    equipement_id: equipement.id,
                    client_id: equipement.fields.client_id,
                    technicien_id: cmd.technicien_id,
                    duree_estimee: cmd.duree_estimee,
                    cout_estime: cmd.cout_estime,
                    planning_id: None,
                    created_by_id: Some(caller.user.id),
                },
                now,
            );
            let created = uow.insert_intervention(&draft)?;
            self.record_opening(uow, &created, Origin::Creation, now)?;
            Ok::<_, AppError>(created)
        })?;
        record_creation(&created);
        Ok(created)
    }

    /// The opening history rows of a stored intervention (creation or generation, then the
    /// assignment when created assigned) and the notification of that assignment.
    pub(crate) fn record_opening(
        &self,
        uow: &mut dyn UnitOfWork,
        created: &Intervention,
        origin: Origin,
        now: Timestamp,
    ) -> Result<(), AppError> {
        for row in created.opening_history(origin) {
            uow.insert_history(&row)?;
        }
        if created.technicien_id().is_some()
            && let Some(event) = notify::lifecycle_event(ActionHistorique::Affectation, created)
        {
            notify::emit(uow, &self.notifications, &event, created, now)?;
        }
        Ok(())
    }

    /// `GET /interventions/{id}` (client: own account only).
    ///
    /// # Errors
    /// 403; 404.
    pub fn get_intervention(
        &self,
        caller: &Caller,
        id: InterventionId,
    ) -> Result<Intervention, AppError> {
        authorize(caller.user.role, Action::ReadInterventions)?;
        transaction(self.ports.db.as_ref(), TransactionMode::Autocommit, |uow| {
            Self::visible_intervention(uow, caller, id)
        })
    }

    /// `GET /interventions` and its aliases; a client sees only their account's.
    ///
    /// # Errors
    /// 403.
    pub fn list_interventions(
        &self,
        caller: &Caller,
        mut filter: InterventionFilter,
        sort: &[SortKey<InterventionSortField>],
        page: Page,
    ) -> Result<Listed<Intervention>, AppError> {
        authorize(caller.user.role, Action::ReadInterventions)?;
        if caller.user.role == UserRole::Client {
            filter.client_id = caller.user.client_id.map(erp_domain::ClientId::get);
            filter.nothing = caller.user.client_id.is_none();
        }
        filter.now = Some(self.ports.clock.now());
        transaction(self.ports.db.as_ref(), TransactionMode::Autocommit, |uow| {
            Ok(uow.list_interventions(&filter, sort, page)?)
        })
    }

    /// `GET /equipements/{id}/interventions`.
    ///
    /// # Errors
    /// 403; 404 "Équipement introuvable".
    pub fn list_equipement_interventions(
        &self,
        caller: &Caller,
        equipement: EquipementId,
        mut filter: InterventionFilter,
        sort: &[SortKey<InterventionSortField>],
        page: Page,
    ) -> Result<Listed<Intervention>, AppError> {
        self.get_equipement(caller, equipement)?;
        filter.equipement_id = Some(equipement.get());
        self.list_interventions(caller, filter, sort, page)
    }

    /// `GET /interventions/{id}/historique`, oldest first.
    ///
    /// # Errors
    /// 403; 404.
    pub fn intervention_history(
        &self,
        caller: &Caller,
        id: InterventionId,
        page: Page,
    ) -> Result<Listed<HistoryEntry>, AppError> {
        authorize(caller.user.role, Action::ReadInterventions)?;
        transaction(self.ports.db.as_ref(), TransactionMode::ReadOnly, |uow| {
            Self::visible_intervention(uow, caller, id)?;
            Ok(uow.list_history(id, page)?)
        })
    }

    /// Reads, checks and writes an intervention, re-evaluating on a lost version race.
    fn rewrite(
        &self,
        caller: &Caller,
        id: InterventionId,
        mut step: impl FnMut(
            &mut dyn UnitOfWork,
            &mut Intervention,
        ) -> Result<Option<NewHistory>, AppError>,
    ) -> Result<Intervention, AppError> {
        let now = self.ports.clock.now();
        let mut moved = None;
        let result = transaction(self.ports.db.as_ref(), TransactionMode::ReadWrite, |uow| {
            for _ in 0..RETRIES {
                let mut current = Self::visible_intervention(uow, caller, id)?;
                let read_version = current.version();
                let history = step(uow, &mut current)?;
                current.record_write(read_version, now);
                if uow.update_intervention_if_version(&current, read_version)? {
                    if let Some(h) = history {
                        moved = h.from_statut.map(|from| (from, h.to_statut));
                        uow.insert_history(&h)?;
                        if let Some(event) = notify::lifecycle_event(h.action, &current) {
                            notify::emit(uow, &self.notifications, &event, &current, now)?;
                        }
                    }
                    return Ok(current);
                }
            }
            Err(AppError::Unavailable(
                "intervention kept changing concurrently".into(),
            ))
        });
        if let (Ok(_), Some((from, to))) = (&result, moved) {
            telemetry::transition(from, to);
        }
        result
    }

    /// `PUT`/`PATCH /interventions/{id}`: applies `edit`; a new `equipement` re-derives the
    /// client account.
    ///
    /// # Errors
    /// 403; 404; 404 équipement; 409 stale version; 409 final statut.
    pub fn update_intervention(
        &self,
        caller: &Caller,
        id: InterventionId,
        expected_version: Option<i32>,
        equipement: Option<EquipementId>,
        edit: &InterventionEdit,
    ) -> Result<Intervention, AppError> {
        authorize(caller.user.role, Action::EditInterventions)?;
        self.rewrite(caller, id, |uow, i| {
            let target = match equipement {
                Some(e) => {
                    let eq = uow
                        .equipement_by_id(e)?
                        .ok_or_else(|| AppError::NotFound("Équipement cible introuvable".into()))?;
                    Some((eq.id, eq.fields.client_id))
                }
                None => None,
            };
            if expected_version.is_some_and(|v| v != i.version()) {
                return Err(stale(i.version()));
            }
            i.edit(edit, target)
                .map_err(|e| AppError::conflict(e.message()))?;
            Ok(None)
        })
    }

    /// `PATCH /interventions/{id}/statut`: the target is mapped onto its action; roles depend
    /// on the target only, and a technicien not assigned gets 403 before any 409.
    ///
    /// # Errors
    /// As [`Self::act_on_intervention`].
    pub fn change_statut(
        &self,
        caller: &Caller,
        id: InterventionId,
        change: StatutChange,
        ctx: &AuditContext,
    ) -> Result<Intervention, AppError> {
        let target = change.target;
        let role_action = statut_action(target);
        authorize(caller.user.role, role_action)?;
        let current = transaction(self.ports.db.as_ref(), TransactionMode::ReadOnly, |uow| {
            let i = Self::visible_intervention(uow, caller, id)?;
            if role_action == Action::WorkOnInterventions {
                let assignee = match i.technicien_id() {
                    Some(t) => uow.technicien_by_id(t)?.map(|t| t.user.id),
                    None => None,
                };
                check_assignment(caller.user.role, caller.user.id, assignee)?;
            }
            Ok::<_, AppError>(i.statut())
        });
        let current = self.audit_if_denied(caller, current, ctx)?;
        let action = lifecycle::action_for_target(current, target).map_err(refused)?;
        let request = ActionRequest {
            command: change.command(action)?,
            expected_version: None,
            remarque: change.remarque,
        };
        self.act_on_intervention(caller, id, &request, ctx)
    }

    /// Writes the `rbac.violation` of an ownership refusal.
    fn audit_if_denied<T>(
        &self,
        caller: &Caller,
        result: Result<T, AppError>,
        ctx: &AuditContext,
    ) -> Result<T, AppError> {
        if let Err(e @ AppError::Forbidden { .. }) = &result {
            self.record_denial(caller, e, ctx);
        }
        result
    }

    /// One lifecycle action (`POST /interventions/{id}/<action>` and `PATCH …/statut`).
    ///
    /// # Errors
    /// 403 role / not assigned; 404; 404 technicien; 409 stale version; 409 transition and the
    /// action's own rules.
    pub fn act_on_intervention(
        &self,
        caller: &Caller,
        id: InterventionId,
        request: &ActionRequest,
        ctx: &AuditContext,
    ) -> Result<Intervention, AppError> {
        let action = request.command.action();
        authorize(caller.user.role, action_of(action))?;
        let now = self.ports.clock.now();
        let result = self.rewrite(caller, id, |uow, i| {
            if matches!(
                action,
                LifecycleAction::Demarrer
                    | LifecycleAction::Suspendre
                    | LifecycleAction::Reprendre
                    | LifecycleAction::Cloturer
            ) {
                let assignee = match i.technicien_id() {
                    Some(t) => uow.technicien_by_id(t)?.map(|t| t.user.id),
                    None => None,
                };
                check_assignment(caller.user.role, caller.user.id, assignee)?;
            }
            if let Command::Affecter { technicien } = &request.command {
                uow.technicien_by_id(*technicien)?
                    .ok_or_else(|| AppError::NotFound("Technicien assigné introuvable".into()))?;
            }
            if request.expected_version.is_some_and(|v| v != i.version()) {
                return Err(stale(i.version()));
            }
            let history = i
                .apply(
                    request.command.clone(),
                    Some(caller.user.id),
                    request.remarque.clone(),
                    now,
                )
                .map_err(rejected)?;
            // The domain has checked the transition and the re-assignment; the technicien's
            // activity needs the store (the whole write is rolled back if it fails).
            if let Command::Affecter { technicien } = &request.command {
                Self::assignable(uow, *technicien)?;
            }
            Ok(Some(history))
        });
        self.audit_if_denied(caller, result, ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    mod edits;
    mod use_cases;

    fn change(remarque: Option<&str>, technicien: Option<i64>) -> StatutChange {
        StatutChange {
            target: StatutIntervention::Ouverte,
            remarque: remarque.map(ToOwned::to_owned),
            technicien_id: technicien.map(TechnicienId::new),
        }
    }

    fn missing(e: &AppError) -> Option<(&str, &str)> {
        match e {
            AppError::Invalid { violations, .. } => violations
                .first()
                .map(|v| (v.field.as_str(), v.message.as_str())),
            _ => None,
        }
    }

    #[test]
    fn a_statut_change_carries_the_payload_each_action_needs() -> Result<(), AppError> {
        let full = change(Some("Fait"), Some(4));
        assert_eq!(
            full.command(LifecycleAction::Affecter)?,
            Command::Affecter {
                technicien: TechnicienId::new(4)
            }
        );
        match full.command(LifecycleAction::Cloturer)? {
            Command::Cloturer(c) => assert_eq!(c.rapport_intervention.as_str(), "Fait"),
            other => return Err(AppError::Internal(format!("{other:?}"))),
        }
        assert_eq!(
            full.command(LifecycleAction::Annuler)?,
            Command::Annuler {
                raison: Motif::parse("raison", "Fait")?
            }
        );
        for (action, command) in [
            (LifecycleAction::Demarrer, Command::Demarrer),
            (LifecycleAction::Suspendre, Command::Suspendre),
            (LifecycleAction::Reprendre, Command::Reprendre),
            (LifecycleAction::Archiver, Command::Archiver),
        ] {
            assert_eq!(change(None, None).command(action)?, command);
        }
        Ok(())
    }

    #[test]
    fn a_missing_payload_is_a_validation_error_naming_the_field() {
        let bare = change(None, None);
        let e = bare.command(LifecycleAction::Affecter).unwrap_err();
        assert_eq!(missing(&e).map(|m| m.0), Some("technicien_id"));
        let e = bare.command(LifecycleAction::Cloturer).unwrap_err();
        assert_eq!(
            missing(&e),
            Some(("remarque", "Un rapport est obligatoire pour clôturer"))
        );
        let e = bare.command(LifecycleAction::Annuler).unwrap_err();
        assert_eq!(
            missing(&e),
            Some(("remarque", "Un motif est obligatoire pour annuler"))
        );
    }

    #[test]
    fn domain_refusals_become_conflicts_with_the_contract_s_details() {
        let e = rejected(LifecycleError::Refused(TransitionRefused::Forbidden {
            current: StatutIntervention::Cloturee,
            requested: StatutIntervention::EnCours,
        }));
        assert_eq!(
            e,
            AppError::Conflict(Conflict::Transition {
                current: StatutIntervention::Cloturee,
                requested: StatutIntervention::EnCours,
                allowed: vec![StatutIntervention::Archivee],
            })
        );
        assert_eq!(
            e.to_string(),
            "conflict: Transition de 'cloturee' vers 'en_cours' interdite"
        );
        assert_eq!(
            rejected(LifecycleError::AlreadyAssigned),
            AppError::conflict("Ce technicien est déjà affecté à l'intervention".into())
        );
        assert_eq!(
            rejected(LifecycleError::AlreadyValidated),
            AppError::conflict("Intervention déjà validée par le client".into())
        );
    }
}
