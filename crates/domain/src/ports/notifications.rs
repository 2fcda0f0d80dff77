//! Ports of notifications (DATA.md §3.9), their e-mail outbox (§3.10) and the mail sender.

use crate::clock::Timestamp;
use crate::list::{Listed, Page, SortKey};
use crate::notification::{
    NewNotification, NewOutboxMessage, Notification, NotificationFilter, NotificationId,
    NotificationSortField, OutboxMessage, OutboxStats,
};
use crate::ports::RepoError;

/// In-app notifications.
pub trait NotificationRepository {
    /// Inserts a notification; `None` when its `dedup_key` is already taken (the event
    /// occurrence already notified that recipient). Never fails on that duplicate.
    ///
    /// # Errors
    /// [`RepoError::ForeignKey`] for an unknown user or intervention.
    fn insert_notification(
        &mut self,
        n: &NewNotification,
    ) -> Result<Option<Notification>, RepoError>;

    /// The notification with this id, if any.
    ///
    /// # Errors
    /// Only storage failures.
    fn notification_by_id(&mut self, id: NotificationId)
    -> Result<Option<Notification>, RepoError>;

    /// One page of notifications, sorted by `sort` then `id`, with the total count.
    ///
    /// # Errors
    /// Only storage failures.
    fn list_notifications(
        &mut self,
        filter: &NotificationFilter,
        sort: &[SortKey<NotificationSortField>],
        page: Page,
    ) -> Result<Listed<Notification>, RepoError>;

    /// Sets `lue` and `read_at = at` unless it is already read.
    ///
    /// # Errors
    /// [`RepoError::NotFound`].
    fn mark_notification_read(
        &mut self,
        id: NotificationId,
        at: Timestamp,
    ) -> Result<(), RepoError>;

    /// Deletes a notification (and its outbox row).
    ///
    /// # Errors
    /// [`RepoError::NotFound`].
    fn delete_notification(&mut self, id: NotificationId) -> Result<(), RepoError>;
}

/// The e-mail outbox: rows are enqueued with their notification and delivered by workers.
pub trait OutboxRepository {
    /// Queues an e-mail, due at once.
    ///
    /// # Errors
    /// [`RepoError::ForeignKey`] for an unknown notification.
    fn enqueue_email(&mut self, message: &NewOutboxMessage) -> Result<(), RepoError>;

    /// Ids of rows waiting for an attempt at `now` and not claimed by a live worker.
    ///
    /// # Errors
    /// Only storage failures.
    fn due_outbox_ids(&mut self, now: Timestamp, limit: i64) -> Result<Vec<i64>, RepoError>;

    /// Claims a due row for `worker` until `until`; `None` when another worker claimed it
    /// first or it is no longer due.
    ///
    /// # Errors
    /// Only storage failures.
    fn claim_outbox(
        &mut self,
        id: i64,
        worker: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Option<OutboxMessage>, RepoError>;

    /// Records a delivery: `envoye`, `sent_at`, lease released.
    ///
    /// # Errors
    /// Only storage failures.
    fn outbox_sent(&mut self, id: i64, now: Timestamp) -> Result<(), RepoError>;

    /// Records a failed attempt: `attempts`, `last_error`, and either the next attempt time
    /// or, when `next_attempt_at` is `None`, the final `echec`.
    ///
    /// # Errors
    /// Only storage failures.
    fn outbox_failed(
        &mut self,
        id: i64,
        attempts: i32,
        error: &str,
        next_attempt_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<(), RepoError>;

    /// Pending and failed counts.
    ///
    /// # Errors
    /// Only storage failures.
    fn outbox_stats(&mut self) -> Result<OutboxStats, RepoError>;
}

/// An e-mail to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail<'a> {
    /// Recipient address.
    pub to: &'a str,
    /// Subject.
    pub subject: &'a str,
    /// Plain text.
    pub text: &'a str,
    /// HTML alternative.
    pub html: Option<&'a str>,
}

/// Why an e-mail was not sent. The message never carries credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MailError(pub String);

/// Sends e-mail (SMTP in production). Slow and external: called only by the outbox worker,
/// never while an HTTP request waits.
pub trait MailSender: Send + Sync + std::fmt::Debug {
    /// Hands one message to the mail server.
    ///
    /// # Errors
    /// [`MailError`] when the server cannot be reached or refuses the message.
    fn send(&self, email: &OutgoingEmail<'_>) -> Result<(), MailError>;
}
