//! Preventive planning (D7, API.md §3.7): CRUD, rescheduling, and the generation of due
//! occurrences — by the background scheduler and on demand — exactly once per planning and
//! due date, even with several replicas.

use erp_domain::audit::{AuditContext, AuditEventType};
use erp_domain::enums::{
    FrequencePlanning, InterventionType, OrigineOccurrence, PrioriteIntervention, StatutPlanning,
};
use erp_domain::equipement::EquipementId;
use erp_domain::error::FieldViolation;
use erp_domain::intervention::{Intervention, NewIntervention, Origin};
use erp_domain::list::{Listed, Page, SortKey};
use erp_domain::notification::DomainEvent;
use erp_domain::planning::{
    Planning, PlanningFields, PlanningFilter, PlanningId, PlanningSortField,
};
use erp_domain::ports::{RepoError, TransactionMode, UnitOfWork};
use erp_domain::technicien::TechnicienId;
use erp_domain::{Timestamp, UserId};

use crate::app::{Application, Audit, Caller, Outcome};
use crate::authz::{Action, authorize};
use crate::error::AppError;
use crate::notify;
use crate::tx::transaction;

const NOT_FOUND: &str = "Planning introuvable";
/// Most occurrences one planning generates in one scheduler run (a lead time longer than the
/// period makes several due at once).
const MAX_PER_RUN: usize = 50;
/// Most plannings examined per scheduler run.
const BATCH: i64 = 1_000;

fn not_found() -> AppError {
    AppError::NotFound(NOT_FOUND.into())
}

/// `POST /planning`.
#[derive(Debug, Clone)]
pub struct CreatePlanning {
    /// The équipement.
    pub equipement_id: EquipementId,
    /// The period.
    pub frequence: FrequencePlanning,
    /// Default: `derniere_date` + 1 period, else now + 1 period.
    pub prochaine_date: Option<Timestamp>,
    /// Previous due date.
    pub derniere_date: Option<Timestamp>,
    /// No occurrence after it.
    pub date_fin: Option<Timestamp>,
    /// `actif` or `suspendu`.
    pub statut: StatutPlanning,
    /// ≤ 255.
    pub titre: Option<String>,
    /// ≤ 1000.
    pub commentaire: Option<String>,
    /// Of generated interventions.
    pub priorite: PrioriteIntervention,
    /// Default assignee.
    pub technicien_id: Option<TechnicienId>,
    /// Minutes.
    pub duree_estimee: Option<i32>,
    /// 0–365.
    pub avance_jours: i32,
}

/// `PUT`/`PATCH /planning/{id}`: `None` leaves a field alone; `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct UpdatePlanning {
    /// New équipement.
    pub equipement_id: Option<EquipementId>,
    /// New period.
    pub frequence: Option<FrequencePlanning>,
    /// New next due date (also the new anchor).
    pub prochaine_date: Option<Timestamp>,
    /// Previous due date.
    pub derniere_date: Option<Option<Timestamp>>,
    /// End.
    pub date_fin: Option<Option<Timestamp>>,
    /// `actif`, `suspendu` or `termine`.
    pub statut: Option<StatutPlanning>,
    /// Title.
    pub titre: Option<Option<String>>,
    /// Comment.
    pub commentaire: Option<Option<String>>,
    /// Priority.
    pub priorite: Option<PrioriteIntervention>,
    /// Default assignee.
    pub technicien_id: Option<Option<TechnicienId>>,
    /// Minutes.
    pub duree_estimee: Option<Option<i32>>,
    /// 0–365.
    pub avance_jours: Option<i32>,
}

/// What one generation attempt did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Generation {
    /// The occurrence was generated.
    Created(Box<(Planning, Intervention)>),
    /// The occurrence had been generated before: the planning was only advanced.
    AlreadyRecorded,
    /// Not due (or not active) any more.
    NotDue,
    /// Another writer (replica, user edit) changed the planning first; nothing was written.
    LostRace,
}

/// The figures of one scheduler run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GenerationReport {
    /// Interventions generated.
    pub generated: usize,
    /// Plannings set to `termine`.
    pub terminated: usize,
}

fn check_end(fields: &PlanningFields) -> Result<(), AppError> {
    if fields
        .date_fin
        .is_some_and(|fin| fin < fields.prochaine_date)
    {
        return Err(AppError::Invalid {
            message: None,
            violations: vec![FieldViolation::new(
                "date_fin",
                erp_domain::ViolationCode::InvalidValue,
                "La date de fin doit être postérieure ou égale à la prochaine date",
            )],
        });
    }
    Ok(())
}

fn check_references(
    uow: &mut dyn UnitOfWork,
    equipement: Option<EquipementId>,
    technicien: Option<TechnicienId>,
) -> Result<(), AppError> {
    if let Some(e) = equipement {
        uow.equipement_by_id(e)?
            .ok_or_else(|| AppError::NotFound("Équipement introuvable".into()))?;
    }
    if let Some(t) = technicien {
        uow.technicien_by_id(t)?
            .ok_or_else(|| AppError::NotFound("Technicien introuvable".into()))?;
    }
    Ok(())
}

impl Application {
    /// `POST /planning`.
    ///
    /// # Errors
    /// 403; 422 (`date_fin` before `prochaine_date`); 404 équipement / technicien.
    pub fn create_planning(
        &self,
        caller: &Caller,
        cmd: CreatePlanning,
    ) -> Result<Planning, AppError> {
        authorize(caller.user.role, Action::ManagePlanning)?;
        let now = self.ports.clock.now();
        // The anchor is an occurrence of the series: the given next date, else the previous
        // one (so 31 Jan as `derniere_date` gives 28 Feb, then 31 Mar), else now.
        let reference = cmd.prochaine_date.or(cmd.derniere_date).unwrap_or(now);
        let prochaine = match cmd.prochaine_date {
            Some(p) => p,
            None => cmd
                .frequence
                .occurrence(reference, 1)
                .ok_or_else(|| AppError::Internal("next occurrence out of range".into()))?,
        };
        let fields = PlanningFields {
            equipement_id: cmd.equipement_id,
            frequence: cmd.frequence,
            prochaine_date: prochaine,
            derniere_date: cmd.derniere_date,
            date_fin: cmd.date_fin,
            statut: cmd.statut,
            titre: cmd.titre,
            commentaire: cmd.commentaire,
            priorite: cmd.priorite,
            technicien_id: cmd.technicien_id,
            duree_estimee: cmd.duree_estimee,
            avance_jours: cmd.avance_jours,
        };
        check_end(&fields)?;
        transaction(self.ports.db.as_ref(), TransactionMode::ReadWrite, |uow| {
            check_references(uow, Some(fields.equipement_id), fields.technicien_id)?;
            Ok(uow.insert_planning(&fields, reference, now)?)
        })
    }

    /// `GET /planning/{id}`.
    ///
    /// # Errors
    /// 403; 404.
    pub fn get_planning(&self, caller: &Caller, id: PlanningId) -> Result<Planning, AppError> {
        authorize(caller.user.role, Action::ReadPlanning)?;
        transaction(self.ports.db.as_ref(), TransactionMode::ReadOnly, |uow| {
            uow.planning_by_id(id)?.ok_or_else(not_found)
        })
    }

    /// `GET /planning`.
    ///
    /// # Errors
    /// 403.
    pub fn list_plannings(
        &self,
        caller: &Caller,
        filter: &PlanningFilter,
        sort: &[SortKey<PlanningSortField>],
        page: Page,
    ) -> Result<Listed<Planning>, AppError> {
        authorize(caller.user.role, Action::ReadPlanning)?;
        transaction(self.ports.db.as_ref(), TransactionMode::Autocommit, |uow| {
            Ok(uow.list_plannings(filter, sort, page)?)
        })
    }

    /// Reads, changes and writes a planning, re-reading when the scheduler got in between.
    fn rewrite_planning(
        &self,
        id: PlanningId,
        change: impl Fn(&mut dyn UnitOfWork, &mut Planning) -> Result<(), AppError>,
    ) -> Result<Planning, AppError> {
        let now = self.ports.clock.now();
        transaction(self.ports.db.as_ref(), TransactionMode::ReadWrite, |uow| {
            for _ in 0..8 {
                let mut p = uow.planning_by_id(id)?.ok_or_else(not_found)?;
                let read = p.version;
                change(uow, &mut p)?;
                check_end(&p.fields)?;
                p.version = read + 1;
                p.date_modification = now;
                if uow.update_planning_if_version(&p, read)? {
                    return Ok(p);
                }
            }
            Err(AppError::Unavailable(
                "planning kept changing concurrently".into(),
            ))
        })
    }

    /// `PUT`/`PATCH /planning/{id}`.
    ///
    /// # Errors
    /// 403; 404; 422; 404 équipement / technicien.
    pub fn update_planning(
        &self,
        caller: &Caller,
        id: PlanningId,
        u: &UpdatePlanning,
    ) -> Result<Planning, AppError> {
        authorize(caller.user.role, Action::ManagePlanning)?;
        self.rewrite_planning(id, |uow, p| {
            check_references(uow, u.equipement_id, u.technicien_id.flatten())?;
            let f = &mut p.fields;
            if let Some(v) = u.equipement_id {
                f.equipement_id = v;
            }
            if let Some(v) = u.frequence {
                f.frequence = v;
            }
            if let Some(v) = u.derniere_date {
                f.derniere_date = v;
            }
            if let Some(v) = u.date_fin {
                f.date_fin = v;
            }
            if let Some(v) = u.statut {
                f.statut = v;
            }
            if let Some(v) = u.titre.clone() {
                f.titre = v;
            }
            if let Some(v) = u.commentaire.clone() {
                f.commentaire = v;
            }
            if let Some(v) = u.priorite {
                f.priorite = v;
            }
            if let Some(v) = u.technicien_id {
                f.technicien_id = v;
            }
            if let Some(v) = u.duree_estimee {
                f.duree_estimee = v;
            }
            if let Some(v) = u.avance_jours {
                f.avance_jours = v;
            }
            if let Some(v) = u.prochaine_date {
                f.prochaine_date = v;
                p.date_reference = v;
            }
            Ok(())
        })
    }

    /// `PATCH /planning/{id}/dates`: the previous next date becomes `derniere_date`.
    ///
    /// # Errors
    /// 403; 404; 422 when the new date is after `date_fin`.
    pub fn reschedule_planning(
        &self,
        caller: &Caller,
        id: PlanningId,
        nouvelle_date: Timestamp,
    ) -> Result<Planning, AppError> {
        authorize(caller.user.role, Action::ManagePlanning)?;
        self.rewrite_planning(id, |_, p| {
            p.reschedule(nouvelle_date);
            Ok(())
        })
    }

    /// `DELETE /planning/{id}`: generated interventions remain.
    ///
    /// # Errors
    /// 403; 404.
    pub fn delete_planning(
        &self,
        caller: &Caller,
        id: PlanningId,
        ctx: &AuditContext,
    ) -> Result<(), AppError> {
        authorize(caller.user.role, Action::ManagePlanning)?;
        let now = self.ports.clock.now();
        self.audited(|uow, log| {
            let p = uow.planning_by_id(id)?.ok_or_else(not_found)?;
            uow.delete_planning(id).map_err(|e| match e {
                RepoError::NotFound => not_found(),
                other => other.into(),
            })?;
            log.push(
                uow,
                Audit::new(AuditEventType::AdminAction, true, ctx, now)
                    .user(caller.user.id, caller.user.username.as_str())
                    .resource(format!("planning:{id}"))
                    .action("delete")
                    .details(serde_json::json!({
                        "equipement_id": p.fields.equipement_id.get(),
                        "frequence": p.fields.frequence.as_str(),
                    })),
            )?;
            Ok(Outcome::Done(()))
        })
    }

    /// `POST /planning/{id}/generer`: generates now the occurrence due at `prochaine_date`.
    ///
    /// # Errors
    /// 403; 404; 409 not active; 409 already generated (nothing changes).
    pub fn generate_planning_now(
        &self,
        caller: &Caller,
        id: PlanningId,
    ) -> Result<(Planning, Intervention), AppError> {
        authorize(caller.user.role, Action::ManagePlanning)?;
        for _ in 0..8 {
            match self.generate(id, OrigineOccurrence::Manuel, Some(caller.user.id))? {
                Generation::Created(done) => {
                    crate::interventions::record_creation(&done.1);
                    return Ok(*done);
                }
                Generation::LostRace => {}
                Generation::AlreadyRecorded | Generation::NotDue => {
                    return Err(AppError::Internal(
                        "manual generation did not generate".into(),
                    ));
                }
            }
        }
        Err(AppError::Unavailable(
            "planning kept changing concurrently".into(),
        ))
    }

    /// One scheduler run: ends finished plannings, then generates every due occurrence.
    ///
    /// # Errors
    /// Storage failures (a planning that fails alone is logged and skipped).
    pub fn run_planning_generation(&self) -> Result<GenerationReport, AppError> {
        let now = self.ports.clock.now();
        let mut report = GenerationReport::default();
        let candidates = transaction(self.ports.db.as_ref(), TransactionMode::ReadWrite, |uow| {
            report.terminated = uow.terminate_finished_plannings(now)?;
            // The longest lead time is 365 days: anything later cannot be due.
            let horizon = now + chrono::Duration::days(366);
            Ok::<_, AppError>(uow.active_plannings_due_before(horizon, BATCH)?)
        })?;
        for p in candidates.into_iter().filter(|p| p.is_due(now)) {
            for _ in 0..MAX_PER_RUN {
                match self.generate(p.id, OrigineOccurrence::Scheduler, None) {
                    Ok(Generation::Created(done)) => {
                        crate::interventions::record_creation(&done.1);
                        report.generated += 1;
                    }
                    Ok(Generation::AlreadyRecorded | Generation::LostRace) => {}
                    Ok(Generation::NotDue) => break,
                    Err(e) => {
                        tracing::warn!(planning_id = p.id.get(), error = %e, "planning generation failed");
                        break;
                    }
                }
            }
        }
        Ok(report)
    }

    /// Generates the occurrence at the planning's `prochaine_date` in one transaction
    /// (DATA.md §3.8): the planning advance is a version-conditional update done first, so a
    /// concurrent replica's attempt writes nothing; the occurrence row's unique key makes a
    /// repeated due date a no-op.
    fn generate(
        &self,
        id: PlanningId,
        origine: OrigineOccurrence,
        by: Option<UserId>,
    ) -> Result<Generation, AppError> {
        let now = self.ports.clock.now();
        transaction(self.ports.db.as_ref(), TransactionMode::ReadWrite, |uow| {
            let mut p = uow.planning_by_id(id)?.ok_or_else(not_found)?;
            match origine {
                OrigineOccurrence::Manuel if p.fields.statut != StatutPlanning::Actif => {
                    return Err(AppError::conflict(
                        "Planning suspendu ou terminé : génération impossible".into(),
                    ));
                }
                OrigineOccurrence::Scheduler if !p.is_due(now) => return Ok(Generation::NotDue),
                _ => {}
            }
            let due = p.fields.prochaine_date;
            let read = p.version;
            p.advance(due, now);
            p.version = read + 1;
            p.date_modification = now;
            if !uow.update_planning_if_version(&p, read)? {
                return Ok(Generation::LostRace);
            }
            if !uow.record_occurrence(id, due, origine, now)? {
                return match origine {
                    OrigineOccurrence::Manuel => Err(AppError::conflict(
                        "Intervention déjà générée pour cette échéance".into(),
                    )),
                    OrigineOccurrence::Scheduler => Ok(Generation::AlreadyRecorded),
                };
            }
            let intervention = self.generate_intervention(uow, &p, due, origine, by, now)?;
            uow.link_occurrence(id, due, intervention.id())?;
            Ok(Generation::Created(Box::new((p, intervention))))
        })
    }

    fn generate_intervention(
        &self,
        uow: &mut dyn UnitOfWork,
        p: &Planning,
        due: Timestamp,
        origine: OrigineOccurrence,
        by: Option<UserId>,
        now: Timestamp,
    ) -> Result<Intervention, AppError> {
        let equipement = uow
            .equipement_by_id(p.fields.equipement_id)?
            .ok_or_else(|| AppError::Internal("planning without équipement".into()))?;
        let technicien = match p.fields.technicien_id {
            Some(t) if Self::assignable(uow, t).is_ok() => Some(t),
            _ => None,
        };
        let titre = p
            .fields
            .titre
            .clone()
            .unwrap_or_else(|| format!("Maintenance préventive - {}", equipement.fields.nom));
        let draft = Intervention::open(
            NewIntervention {
                titre,
                description: Some(format!(
                    "Intervention générée automatiquement depuis le planning #{}",
                    p.id
                )),
                type_intervention: InterventionType::Preventive,
                priorite: p.fields.priorite,
                urgence: false,
                date_limite: Some(p.fields.prochaine_date),
                equipement_id: equipement.id,
                client_id: equipement.fields.client_id,
                technicien_id: technicien,
                duree_estimee: p.fields.duree_estimee,
                cout_estime: None,
                planning_id: Some(p.id.get()),
                created_by_id: by,
            },
            now,
        );
        let created = uow.insert_intervention(&draft)?;
        let origin = match origine {
            OrigineOccurrence::Scheduler => Origin::GeneratedByScheduler,
            OrigineOccurrence::Manuel => Origin::GeneratedManually,
        };
        self.record_opening(uow, &created, origin, now)?;
        let event = DomainEvent::Generated {
            intervention: created.id(),
            titre: created.titre().to_owned(),
            at: created.date_creation(),
            due,
        };
        notify::emit(uow, &self.notifications, &event, &created, now)?;
        Ok(created)
    }

    /// One overdue scan: every active intervention past its due date whose lateness was not
    /// yet notified gets its `retard` notifications. Returns how many interventions.
    ///
    /// # Errors
    /// Storage failures.
    pub fn run_overdue_scan(&self) -> Result<usize, AppError> {
        let now = self.ports.clock.now();
        transaction(self.ports.db.as_ref(), TransactionMode::ReadWrite, |uow| {
            let late = uow.overdue_unnotified(now, 500)?;
            for i in &late {
                let Some(date_limite) = i.date_limite() else {
                    continue;
                };
                let event = DomainEvent::Overdue {
                    intervention: i.id(),
                    titre: i.titre().to_owned(),
                    date_limite,
                };
                notify::emit(uow, &self.notifications, &event, i, now)?;
                uow.mark_overdue_notified(i.id(), now)?;
            }
            Ok(late.len())
        })
    }
}

#[cfg(test)]
mod tests;
