//! `GET /audit/events` (API.md §3.11).

use erp_domain::audit::{AuditEvent, AuditFilter};
use erp_domain::list::{Listed, Page};
use erp_domain::ports::TransactionMode;

use crate::app::{Application, Caller};
use crate::authz::{Action, authorize};
use crate::error::AppError;
use crate::tx::transaction;

impl Application {
    /// One page of the audit trail, newest first.
    ///
    /// # Errors
    /// 403 for anyone but an admin.
    pub fn list_audit(
        &self,
        caller: &Caller,
        filter: &AuditFilter,
        page: Page,
    ) -> Result<Listed<AuditEvent>, AppError> {
        authorize(caller.user.role, Action::ReadAudit)?;
        transaction(self.ports.db.as_ref(), TransactionMode::Autocommit, |uow| {
            Ok(uow.list_audit(filter, page)?)
        })
    }
}

#[cfg(test)]
mod tests;
