//! Notifications (D8, API.md §3.8): written by hand by an admin, read by their recipient, and
//! listed or deleted by an admin. Domain-event notifications come from [`crate::notify`].

use erp_domain::audit::{AuditContext, AuditEventType};
use erp_domain::enums::{CanalNotification, TypeNotification};
use erp_domain::intervention::InterventionId;
use erp_domain::list::{Listed, Page, SortDir, SortKey};
use erp_domain::notification::{
    NewNotification, Notification, NotificationFilter, NotificationId, NotificationSortField,
};
use erp_domain::ports::{RepoError, TransactionMode};
use erp_domain::{UserId, UserRole};
use serde_json::json;

use crate::app::{Application, Audit, Caller, Outcome};
use crate::authz::{Action, authorize};
use crate::error::AppError;
use crate::notify;
use crate::tx::transaction;

const NOT_FOUND: &str = "Notification non trouvée";

/// `POST /notifications`.
#[derive(Debug, Clone)]
pub struct CreateNotification {
    /// Type.
    pub type_notification: TypeNotification,
    /// Channel.
    pub canal: CanalNotification,
    /// ≤ 255.
    pub titre: Option<String>,
    /// ≤ 2000.
    pub contenu: Option<String>,
    /// Recipient.
    pub user_id: UserId,
    /// The intervention it is about.
    pub intervention_id: Option<InterventionId>,
}

/// The newest first: the fixed order of the per-user lists.
const NEWEST_FIRST: [SortKey<NotificationSortField>; 1] = [SortKey {
    field: NotificationSortField::DateEnvoi,
    dir: SortDir::Desc,
}];

impl Application {
    /// `POST /notifications` (admin): stored, and queued for e-mail when `canal` is `email`
    /// and e-mail delivery is on.
    ///
    /// # Errors
    /// 403; 404 "Utilisateur cible introuvable"; 404 "Intervention introuvable".
    pub fn create_notification(
        &self,
        caller: &Caller,
        cmd: CreateNotification,
        ctx: &AuditContext,
    ) -> Result<Notification, AppError> {
        authorize(caller.user.role, Action::ManageNotifications)?;
        let now = self.ports.clock.now();
        self.audited(|uow, log| {
            let recipient = uow
                .user_by_id(cmd.user_id)?
                .ok_or_else(|| AppError::NotFound("Utilisateur cible introuvable".into()))?;
            if let Some(i) = cmd.intervention_id {
                uow.intervention_by_id(i)?
                    .ok_or_else(|| AppError::NotFound("Intervention introuvable".into()))?;
            }
            let n = NewNotification {
                type_notification: cmd.type_notification,
                canal: cmd.canal,
                titre: cmd.titre,
                contenu: cmd.contenu,
                user_id: recipient.id,
                intervention_id: cmd.intervention_id,
                date_envoi: now,
                created_by_id: Some(caller.user.id),
                dedup_key: None,
            };
            let stored = notify::deliver(uow, &self.notifications, &n, &recipient)?
                .ok_or_else(|| AppError::Internal("notification without key not stored".into()))?;
            log.push(
                uow,
                Audit::new(AuditEventType::AdminAction, true, ctx, now)
                    .user(caller.user.id, caller.user.username.as_str())
                    .resource(format!("notification:{}", stored.id))
                    .action("create")
                    .details(json!({
                        "user_id": stored.user_id.get(),
                        "type": stored.type_notification.as_str(),
                        "canal": stored.canal.as_str(),
                    })),
            )?;
            Ok(Outcome::Done(stored))
        })
    }

    /// `GET /notifications` (admin).
    ///
    /// # Errors
    /// 403.
    pub fn list_notifications(
        &self,
        caller: &Caller,
        filter: &NotificationFilter,
        sort: &[SortKey<NotificationSortField>],
        page: Page,
    ) -> Result<Listed<Notification>, AppError> {
        authorize(caller.user.role, Action::ManageNotifications)?;
        transaction(self.ports.db.as_ref(), TransactionMode::Autocommit, |uow| {
            Ok(uow.list_notifications(filter, sort, page)?)
        })
    }

    /// `GET /notifications/me`: the caller's, newest first.
    ///
    /// # Errors
    /// 403 (never, every role has it).
    pub fn my_notifications(
        &self,
        caller: &Caller,
        mut filter: NotificationFilter,
        page: Page,
    ) -> Result<Listed<Notification>, AppError> {
        authorize(caller.user.role, Action::OwnNotifications)?;
        filter.user_id = Some(caller.user.id.get());
        transaction(self.ports.db.as_ref(), TransactionMode::Autocommit, |uow| {
            Ok(uow.list_notifications(&filter, &NEWEST_FIRST, page)?)
        })
    }

    /// `GET /notifications/user/{user_id}` (admin), newest first.
    ///
    /// # Errors
    /// 403; 404 "Utilisateur non trouvé.".
    pub fn user_notifications(
        &self,
        caller: &Caller,
        user: UserId,
        mut filter: NotificationFilter,
        page: Page,
    ) -> Result<Listed<Notification>, AppError> {
        authorize(caller.user.role, Action::ManageNotifications)?;
        filter.user_id = Some(user.get());
        transaction(self.ports.db.as_ref(), TransactionMode::ReadOnly, |uow| {
            uow.user_by_id(user)?
                .ok_or_else(|| AppError::NotFound("Utilisateur non trouvé.".into()))?;
            Ok(uow.list_notifications(&filter, &NEWEST_FIRST, page)?)
        })
    }

    /// `PUT·PATCH /notifications/{id}/read`: the caller's own (an admin may mark anyone's).
    /// Marking twice keeps the first `read_at`.
    ///
    /// # Errors
    /// 404 "Notification non trouvée" when missing or someone else's.
    pub fn mark_notification_read(
        &self,
        caller: &Caller,
        id: NotificationId,
    ) -> Result<Notification, AppError> {
        authorize(caller.user.role, Action::OwnNotifications)?;
        let now = self.ports.clock.now();
        transaction(self.ports.db.as_ref(), TransactionMode::ReadWrite, |uow| {
            let n = uow
                .notification_by_id(id)?
                .filter(|n| n.user_id == caller.user.id || caller.user.role == UserRole::Admin)
                .ok_or_else(|| AppError::NotFound(NOT_FOUND.into()))?;
            uow.mark_notification_read(n.id, now)?;
            uow.notification_by_id(id)?
                .ok_or_else(|| AppError::NotFound(NOT_FOUND.into()))
        })
    }

    /// `DELETE /notifications/{id}` (admin).
    ///
    /// # Errors
    /// 403; 404 "Notification non trouvée".
    pub fn delete_notification(
        &self,
        caller: &Caller,
        id: NotificationId,
        ctx: &AuditContext,
    ) -> Result<(), AppError> {
        authorize(caller.user.role, Action::ManageNotifications)?;
        let now = self.ports.clock.now();
        self.audited(|uow, log| {
            uow.delete_notification(id).map_err(|e| match e {
                RepoError::NotFound => AppError::NotFound(NOT_FOUND.into()),
                other => other.into(),
            })?;
            log.push(
                uow,
                Audit::new(AuditEventType::AdminAction, true, ctx, now)
                    .user(caller.user.id, caller.user.username.as_str())
                    .resource(format!("notification:{id}"))
                    .action("delete"),
            )?;
            Ok(Outcome::Done(()))
        })
    }
}

#[cfg(test)]
mod tests;
