//! Techniciens and compétences (API.md §3.4).

use std::collections::HashSet;

use erp_domain::audit::{AuditContext, AuditEventType};
use erp_domain::list::{Listed, Page, SortKey};
use erp_domain::ports::{RepoError, TransactionMode, UniqueKey, UnitOfWork};
use erp_domain::technicien::{
    Competence, CompetenceFields, CompetenceFilter, CompetenceId, CompetenceSortField,
    NewTechnicien, SkillAssignment, Technicien, TechnicienFields, TechnicienFilter, TechnicienId,
    TechnicienSortField,
};
use erp_domain::{FieldViolation, UserId, UserRole, ViolationCode};
use serde_json::json;

use crate::app::{Application, Audit, Caller, Outcome};
use crate::authz::{Action, authorize};
use crate::error::AppError;
use crate::tx::transaction;

const TECHNICIEN_NOT_FOUND: &str = "Technicien introuvable";
const COMPETENCE_NOT_FOUND: &str = "Compétence introuvable";
const COMPETENCES_MISSING: &str = "Une ou plusieurs compétences sont introuvables";

fn map_write(e: RepoError) -> AppError {
    match e {
        RepoError::Duplicate(UniqueKey::CompetenceNom) => {
            AppError::conflict("Compétence déjà existante".into())
        }
        RepoError::Duplicate(UniqueKey::NumeroBadge) => {
            AppError::conflict("Numéro de badge déjà utilisé".into())
        }
        RepoError::Duplicate(UniqueKey::TechnicienUser) => {
            AppError::conflict("Un technicien existe déjà pour cet utilisateur".into())
        }
        RepoError::ForeignKey => AppError::NotFound(COMPETENCES_MISSING.into()),
        other => other.into(),
    }
}

/// Checks that a skill set names distinct, existing compétences.
fn check_skills(
    uow: &mut dyn UnitOfWork,
    skills: &[SkillAssignment],
    field: &str,
) -> Result<(), AppError> {
    let ids: Vec<CompetenceId> = skills.iter().map(|s| s.competence_id).collect();
    let distinct: HashSet<CompetenceId> = ids.iter().copied().collect();
    if distinct.len() != ids.len() {
        return Err(AppError::Invalid {
            message: None,
            violations: vec![FieldViolation::new(
                field,
                ViolationCode::InvalidValue,
                "Compétences en double",
            )],
        });
    }
    if uow.count_competences(&ids)? != ids.len() {
        return Err(AppError::NotFound(COMPETENCES_MISSING.into()));
    }
    Ok(())
}

/// A skill set given on create or update, with the field it came from.
#[derive(Debug, Clone)]
pub struct SkillSet {
    /// `competences` or `competences_ids`.
    pub field: &'static str,
    /// The skills.
    pub skills: Vec<SkillAssignment>,
}

impl Application {
    /// `POST /techniciens`.
    ///
    /// # Errors
    /// 403; 404 user; 404 compétences; 400 not a technicien; 409 profile exists / badge.
    pub fn create_technicien(
        &self,
        caller: &Caller,
        user_id: UserId,
        fields: TechnicienFields,
        skills: Option<&SkillSet>,
    ) -> Result<Technicien, AppError> {
        authorize(caller.user.role, Action::ManageTechniciens)?;
        let now = self.ports.clock.now();
        transaction(self.ports.db.as_ref(), TransactionMode::ReadWrite, |uow| {
            let user = uow
                .user_by_id(user_id)?
                .ok_or_else(|| AppError::NotFound("Utilisateur lié introuvable".into()))?;
            if let Some(set) = skills {
                check_skills(uow, &set.skills, set.field)?;
            }
            if user.role != UserRole::Technicien {
                return Err(AppError::Rejected(
                    "L'utilisateur n\u{2019}est pas un technicien".into(),
                ));
            }
            if uow.technicien_id_of_user(user_id)?.is_some() {
                return Err(AppError::conflict(
                    "Un technicien existe déjà pour cet utilisateur".into(),
                ));
            }
            let id = uow
                .insert_technicien(&NewTechnicien { user_id, fields }, now)
                .map_err(map_write)?;
            if let Some(set) = skills {
                uow.replace_skills(id, &set.skills, now)
                    .map_err(map_write)?;
            }
            uow.technicien_by_id(id)?
                .ok_or_else(|| AppError::Internal("technicien vanished".into()))
        })
    }

    /// `GET /techniciens`.
    ///
    /// # Errors
    /// 403.
    pub fn list_techniciens(
        &self,
        caller: &Caller,
        filter: &TechnicienFilter,
        sort: &[SortKey<TechnicienSortField>],
        page: Page,
    ) -> Result<Listed<Technicien>, AppError> {
        authorize(caller.user.role, Action::ReadTechniciens)?;
        transaction(self.ports.db.as_ref(), TransactionMode::Autocommit, |uow| {
            Ok(uow.list_techniciens(filter, sort, page)?)
        })
    }

    /// `GET /techniciens/{id}`.
    ///
    /// # Errors
    /// 403; 404.
    pub fn get_technicien(
        &self,
        caller: &Caller,
        id: TechnicienId,
    ) -> Result<Technicien, AppError> {
        authorize(caller.user.role, Action::ReadTechniciens)?;
        transaction(self.ports.db.as_ref(), TransactionMode::ReadOnly, |uow| {
            uow.technicien_by_id(id)?
                .ok_or_else(|| AppError::NotFound(TECHNICIEN_NOT_FOUND.into()))
        })
    }

    /// `PUT`/`PATCH /techniciens/{id}`: `change` edits the fields; `skills`, when given,
    /// replace the whole set.
    ///
    /// # Errors
    /// 403; 404; 404 compétences; 409 badge.
    pub fn update_technicien(
        &self,
        caller: &Caller,
        id: TechnicienId,
        change: impl FnOnce(&mut TechnicienFields) + Send,
        skills: Option<&SkillSet>,
    ) -> Result<Technicien, AppError> {
        authorize(caller.user.role, Action::ManageTechniciens)?;
        let now = self.ports.clock.now();
        transaction(self.ports.db.as_ref(), TransactionMode::ReadWrite, |uow| {
            let mut fields = uow
                .technicien_by_id(id)?
                .ok_or_else(|| AppError::NotFound(TECHNICIEN_NOT_FOUND.into()))?
                .fields;
            if let Some(set) = skills {
                check_skills(uow, &set.skills, set.field)?;
            }
            change(&mut fields);
            uow.update_technicien(id, &fields, now).map_err(map_write)?;
            if let Some(set) = skills {
                uow.replace_skills(id, &set.skills, now)
                    .map_err(map_write)?;
            }
            uow.technicien_by_id(id)?
                .ok_or_else(|| AppError::Internal("technicien vanished".into()))
        })
    }

    /// `DELETE /techniciens/{id}`; audited.
    ///
    /// # Errors
    /// 403; 404; 409 while assigned to active interventions.
    pub fn delete_technicien(
        &self,
        caller: &Caller,
        id: TechnicienId,
        ctx: &AuditContext,
    ) -> Result<(), AppError> {
        authorize(caller.user.role, Action::ManageTechniciens)?;
        let now = self.ports.clock.now();
        self.audited(|uow, log| {
            uow.technicien_by_id(id)?
                .ok_or_else(|| AppError::NotFound(TECHNICIEN_NOT_FOUND.into()))?;
            if uow.technicien_has_active_interventions(id)? {
                return Err(AppError::conflict(
                    "Technicien affecté à des interventions en cours".into(),
                ));
            }
            uow.delete_technicien(id)?;
            log.push(
                uow,
                Audit::new(AuditEventType::AdminAction, true, ctx, now)
                    .user(caller.user.id, caller.user.username.as_str())
                    .resource(format!("technicien:{id}"))
                    .action("delete"),
            )?;
            Ok(Outcome::Done(()))
        })
    }

    /// `POST /techniciens/competences`.
    ///
    /// # Errors
    /// 403; 409 "Compétence déjà existante".
    pub fn create_competence(
        &self,
        caller: &Caller,
        fields: &CompetenceFields,
    ) -> Result<Competence, AppError> {
        authorize(caller.user.role, Action::ManageTechniciens)?;
        let now = self.ports.clock.now();
        transaction(self.ports.db.as_ref(), TransactionMode::ReadWrite, |uow| {
            uow.insert_competence(fields, now).map_err(map_write)
        })
    }

    /// `GET /techniciens/competences`.
    ///
    /// # Errors
    /// 403.
    pub fn list_competences(
        &self,
        caller: &Caller,
        filter: &CompetenceFilter,
        sort: &[SortKey<CompetenceSortField>],
        page: Page,
    ) -> Result<Listed<Competence>, AppError> {
        authorize(caller.user.role, Action::ReadTechniciens)?;
        transaction(self.ports.db.as_ref(), TransactionMode::Autocommit, |uow| {
            Ok(uow.list_competences(filter, sort, page)?)
        })
    }

    /// `GET /techniciens/competences/{id}`.
    ///
    /// # Errors
    /// 403; 404.
    pub fn get_competence(
        &self,
        caller: &Caller,
        id: CompetenceId,
    ) -> Result<Competence, AppError> {
        authorize(caller.user.role, Action::ReadTechniciens)?;
        transaction(self.ports.db.as_ref(), TransactionMode::ReadOnly, |uow| {
            uow.competence_by_id(id)?
                .ok_or_else(|| AppError::NotFound(COMPETENCE_NOT_FOUND.into()))
        })
    }

    /// `PUT`/`PATCH /techniciens/competences/{id}`.
    ///
    /// # Errors
    /// 403; 404; 409.
    pub fn update_competence(
        &self,
        caller: &Caller,
        id: CompetenceId,
        change: impl FnOnce(&mut CompetenceFields) + Send,
    ) -> Result<Competence, AppError> {
        authorize(caller.user.role, Action::ManageTechniciens)?;
        let now = self.ports.clock.now();
        transaction(self.ports.db.as_ref(), TransactionMode::ReadWrite, |uow| {
            let mut fields = uow
                .competence_by_id(id)?
                .ok_or_else(|| AppError::NotFound(COMPETENCE_NOT_FOUND.into()))?
                .fields;
            change(&mut fields);
            uow.update_competence(id, &fields, now).map_err(map_write)
        })
    }

    /// `DELETE /techniciens/competences/{id}`: removed from every technicien; audited.
    ///
    /// # Errors
    /// 403; 404.
    pub fn delete_competence(
        &self,
        caller: &Caller,
        id: CompetenceId,
        ctx: &AuditContext,
    ) -> Result<(), AppError> {
        authorize(caller.user.role, Action::ManageTechniciens)?;
        let now = self.ports.clock.now();
        self.audited(|uow, log| {
            let c = uow
                .competence_by_id(id)?
                .ok_or_else(|| AppError::NotFound(COMPETENCE_NOT_FOUND.into()))?;
            uow.delete_competence(id)?;
            log.push(
                uow,
                Audit::new(AuditEventType::AdminAction, true, ctx, now)
                    .user(caller.user.id, caller.user.username.as_str())
                    .resource(format!("competence:{id}"))
                    .action("delete")
                    .details(json!({"nom": c.fields.nom})),
            )?;
            Ok(Outcome::Done(()))
        })
    }
}

#[cfg(test)]
mod tests;
