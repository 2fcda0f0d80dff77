//! Domain events → notifications (API.md §3.8): the recipients of each event, one
//! notification per event occurrence and recipient (the `dedup_key` makes a replayed event a
//! no-op), and the e-mail queued in the same transaction when e-mail delivery is on.

use erp_domain::enums::{ActionHistorique, CanalNotification};
use erp_domain::intervention::Intervention;
use erp_domain::list::Page;
use erp_domain::notification::{
    DomainEvent, NewNotification, NewOutboxMessage, Notification, render_email,
};
use erp_domain::ports::UnitOfWork;
use erp_domain::user::{UserFilter, UserRole};
use erp_domain::{ClientId, Timestamp, User};

use crate::app::NotificationConfig;
use crate::error::AppError;

/// More recipients than any plant has responsables or client users.
const RECIPIENTS_PAGE: Page = Page {
    limit: 10_000,
    offset: 0,
};

fn active_users(
    uow: &mut dyn UnitOfWork,
    role: UserRole,
    client: Option<ClientId>,
) -> Result<Vec<User>, AppError> {
    let filter = UserFilter {
        roles: vec![role],
        is_active: Some(true),
        client_id: client,
        search: None,
    };
    Ok(uow.list_users(&filter, &[], RECIPIENTS_PAGE)?.items)
}

fn assignee(uow: &mut dyn UnitOfWork, i: &Intervention) -> Result<Option<User>, AppError> {
    Ok(match i.technicien_id() {
        Some(t) => uow
            .technicien_by_id(t)?
            .map(|t| t.user)
            .filter(|u| u.is_active),
        None => None,
    })
}

/// Who an event notifies (API.md §3.8), without duplicates.
fn recipients(
    uow: &mut dyn UnitOfWork,
    event: &DomainEvent,
    i: &Intervention,
) -> Result<Vec<User>, AppError> {
    let mut out = Vec::new();
    match event {
        DomainEvent::Assigned { .. } => out.extend(assignee(uow, i)?),
        DomainEvent::Closed { .. } => {
            let creator = match i.created_by_id() {
                Some(u) => uow.user_by_id(u)?.filter(|u| {
                    u.is_active && matches!(u.role, UserRole::Admin | UserRole::Responsable)
                }),
                None => None,
            };
            match creator {
                Some(c) => out.push(c),
                None => out.extend(active_users(uow, UserRole::Responsable, None)?),
            }
            if let Some(client) = i.client_id() {
                out.extend(active_users(uow, UserRole::Client, Some(client))?);
            }
        }
        DomainEvent::Overdue { .. } => {
            out.extend(assignee(uow, i)?);
            out.extend(active_users(uow, UserRole::Responsable, None)?);
        }
        DomainEvent::Generated { .. } => match assignee(uow, i)? {
            Some(t) => out.push(t),
            None => out.extend(active_users(uow, UserRole::Responsable, None)?),
        },
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|u| seen.insert(u.id));
    Ok(out)
}

/// Stores a notification and, when it goes by e-mail, its outbox message; `None` when the
/// de-duplication key says it already exists.
pub(crate) fn deliver(
    uow: &mut dyn UnitOfWork,
    config: &NotificationConfig,
    n: &NewNotification,
    recipient: &User,
) -> Result<Option<Notification>, AppError> {
    let Some(stored) = uow.insert_notification(n)? else {
        return Ok(None);
    };
    crate::telemetry::notification_created(n.type_notification, n.canal);
    if config.email_enabled && n.canal == CanalNotification::Email {
        let name = recipient.full_name.as_ref().map_or_else(
            || recipient.username.as_str().to_owned(),
            |f| f.as_str().to_owned(),
        );
        uow.enqueue_email(&NewOutboxMessage {
            notification_id: stored.id,
            destinataire: recipient.email.as_str().to_owned(),
            email: render_email(n, &name),
            at: n.date_envoi,
        })?;
    }
    tracing::debug!(
        notification_id = stored.id.get(),
        r#type = n.type_notification.as_str(),
        canal = n.canal.as_str(),
        "notification created"
    );
    Ok(Some(stored))
}

/// The channel of domain-event notifications.
pub(crate) const fn event_channel(config: &NotificationConfig) -> CanalNotification {
    if config.email_enabled {
        CanalNotification::Email
    } else {
        CanalNotification::Log
    }
}

/// Emits `event` about `i` inside the caller's transaction; returns how many notifications it
/// created (0 when replayed).
pub(crate) fn emit(
    uow: &mut dyn UnitOfWork,
    config: &NotificationConfig,
    event: &DomainEvent,
    i: &Intervention,
    now: Timestamp,
) -> Result<usize, AppError> {
    let canal = event_channel(config);
    let mut created = 0;
    for user in recipients(uow, event, i)? {
        let n = event.notification(user.id, canal, now);
        if deliver(uow, config, &n, &user)?.is_some() {
            created += 1;
        }
    }
    Ok(created)
}

/// The event of a lifecycle step, from its history action: (re-)assignment and closure notify.
pub(crate) fn lifecycle_event(action: ActionHistorique, i: &Intervention) -> Option<DomainEvent> {
    match action {
        ActionHistorique::Affectation | ActionHistorique::Reaffectation => {
            Some(DomainEvent::Assigned {
                intervention: i.id(),
                titre: i.titre().to_owned(),
                at: i.date_affectation()?,
            })
        }
        ActionHistorique::Cloture => Some(DomainEvent::Closed {
            intervention: i.id(),
            titre: i.titre().to_owned(),
            at: i.date_cloture()?,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
