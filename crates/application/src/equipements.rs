//! Équipements (API.md §3.5): create, list, read, update, delete, with the client scope.

use erp_domain::ClientId;
use erp_domain::audit::{AuditContext, AuditEventType};
use erp_domain::equipement::{
    Equipement, EquipementFields, EquipementFilter, EquipementId, EquipementSortField,
};
use erp_domain::list::{Listed, Page, SortKey};
use erp_domain::ports::{RepoError, TransactionMode, UniqueKey, UnitOfWork};
use serde_json::json;

use crate::app::{Application, Audit, Caller, Outcome};
use crate::authz::{Action, authorize, sees_client_row};
use crate::error::AppError;
use crate::tx::transaction;

const NOT_FOUND: &str = "Équipement introuvable";

fn not_found() -> AppError {
    AppError::NotFound(NOT_FOUND.into())
}

fn map_write(e: RepoError) -> AppError {
    match e {
        RepoError::Duplicate(UniqueKey::EquipementNom) => {
            AppError::conflict("Équipement déjà existant".into())
        }
        RepoError::Duplicate(UniqueKey::NumeroSerie) => {
            AppError::conflict("Numéro de série déjà utilisé".into())
        }
        RepoError::Duplicate(UniqueKey::CodeInterne) => {
            AppError::conflict("Code interne déjà utilisé".into())
        }
        RepoError::ForeignKey => AppError::NotFound("Compte client introuvable".into()),
        other => other.into(),
    }
}

fn check_client(uow: &mut dyn UnitOfWork, client: Option<ClientId>) -> Result<(), AppError> {
    match client {
        Some(id) if !uow.client_exists(id)? => {
            Err(AppError::NotFound("Compte client introuvable".into()))
        }
        _ => Ok(()),
    }
}

/// The équipement if the caller may see it (a client only their account's).
fn visible(caller: &Caller, e: Option<Equipement>) -> Result<Equipement, AppError> {
    e.filter(|e| sees_client_row(caller.user.role, caller.user.client_id, e.fields.client_id))
        .ok_or_else(not_found)
}

impl Application {
    /// `POST /equipements`.
    ///
    /// # Errors
    /// 403; 404 client account; 409 nom / numéro de série / code interne.
    pub fn create_equipement(
        &self,
        caller: &Caller,
        fields: &EquipementFields,
    ) -> Result<Equipement, AppError> {
        authorize(caller.user.role, Action::ManageEquipements)?;
        let now = self.ports.clock.now();
        transaction(self.ports.db.as_ref(), TransactionMode::ReadWrite, |uow| {
            check_client(uow, fields.client_id)?;
            uow.insert_equipement(fields, now).map_err(map_write)
        })
    }

    /// `GET /equipements`: a client sees only their account's.
    ///
    /// # Errors
    /// 403.
    pub fn list_equipements(
        &self,
        caller: &Caller,
        mut filter: EquipementFilter,
        sort: &[SortKey<EquipementSortField>],
        page: Page,
    ) -> Result<Listed<Equipement>, AppError> {
        authorize(caller.user.role, Action::ReadEquipements)?;
        if caller.user.role == erp_domain::UserRole::Client {
            filter.client_id = caller.user.client_id;
            filter.nothing = caller.user.client_id.is_none();
        }
        transaction(self.ports.db.as_ref(), TransactionMode::Autocommit, |uow| {
            Ok(uow.list_equipements(&filter, sort, page)?)
        })
    }

    /// `GET /equipements/{id}`.
    ///
    /// # Errors
    /// 403; 404 when missing or outside the client's account.
    pub fn get_equipement(
        &self,
        caller: &Caller,
        id: EquipementId,
    ) -> Result<Equipement, AppError> {
        authorize(caller.user.role, Action::ReadEquipements)?;
        transaction(self.ports.db.as_ref(), TransactionMode::ReadOnly, |uow| {
            visible(caller, uow.equipement_by_id(id)?)
        })
    }

    /// `PUT`/`PATCH /equipements/{id}`: `change` edits the current fields.
    ///
    /// # Errors
    /// 403; 404; 404 client account; 409 conflicts.
    pub fn update_equipement(
        &self,
        caller: &Caller,
        id: EquipementId,
        change: impl FnOnce(&mut EquipementFields) + Send,
    ) -> Result<Equipement, AppError> {
        authorize(caller.user.role, Action::ManageEquipements)?;
        let now = self.ports.clock.now();
        transaction(self.ports.db.as_ref(), TransactionMode::ReadWrite, |uow| {
            let mut fields = uow.equipement_by_id(id)?.ok_or_else(not_found)?.fields;
            let before_client = fields.client_id;
            change(&mut fields);
            if fields.client_id != before_client {
                check_client(uow, fields.client_id)?;
            }
            uow.update_equipement(id, &fields, now).map_err(map_write)
        })
    }

    /// `DELETE /equipements/{id}`: its plannings go with it; audited.
    ///
    /// # Errors
    /// 403; 404; 409 while interventions reference it.
    pub fn delete_equipement(
        &self,
        caller: &Caller,
        id: EquipementId,
        ctx: &AuditContext,
    ) -> Result<(), AppError> {
        authorize(caller.user.role, Action::ManageEquipements)?;
        let now = self.ports.clock.now();
        self.audited(|uow, log| {
            let e = uow.equipement_by_id(id)?.ok_or_else(not_found)?;
            if uow.equipement_has_interventions(id)? {
                return Err(AppError::conflict(
                    "Équipement utilisé par des interventions".into(),
                ));
            }
            uow.delete_equipement(id).map_err(|e| match e {
                RepoError::ForeignKey => {
                    AppError::conflict("Équipement utilisé par des interventions".into())
                }
                other => other.into(),
            })?;
            log.push(
                uow,
                Audit::new(AuditEventType::AdminAction, true, ctx, now)
                    .user(caller.user.id, caller.user.username.as_str())
                    .resource(format!("equipement:{id}"))
                    .action("delete")
                    .details(json!({"nom": e.fields.nom})),
            )?;
            Ok(Outcome::Done(()))
        })
    }
}

#[cfg(test)]
mod tests;
