//! The e-mail outbox worker's use case (D8, DATA.md §3.10): claim due messages, send each
//! outside any transaction, record the result with exponential back-off.

use chrono::Duration;
use erp_domain::notification::OutboxStats;
use erp_domain::ports::{MailSender, OutgoingEmail, TransactionMode};

use crate::app::Application;
use crate::error::AppError;
use crate::telemetry;
use crate::tx::transaction;

/// How long a claim protects a message from other workers.
const CLAIM: i64 = 120;

/// The figures of one delivery run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeliveryReport {
    /// Messages handed to the mail server.
    pub sent: usize,
    /// Failed attempts that will be retried.
    pub retried: usize,
    /// Messages given up (`echec`).
    pub failed: usize,
}

impl Application {
    /// Delivers up to `batch` due messages as `worker`.
    ///
    /// # Errors
    /// Storage failures (a mail failure is recorded on its message, not returned).
    pub fn deliver_outbox(
        &self,
        mailer: &dyn MailSender,
        worker: &str,
        batch: i64,
    ) -> Result<DeliveryReport, AppError> {
        let db = self.ports.db.as_ref();
        let due = transaction(db, TransactionMode::ReadOnly, |uow| {
            Ok::<_, AppError>(uow.due_outbox_ids(self.ports.clock.now(), batch)?)
        })?;
        let mut report = DeliveryReport::default();
        for id in due {
            let now = self.ports.clock.now();
            let claimed = transaction(db, TransactionMode::ReadWrite, |uow| {
                Ok::<_, AppError>(uow.claim_outbox(
                    id,
                    worker,
                    now,
                    now + Duration::seconds(CLAIM),
                )?)
            })?;
            let Some(m) = claimed else { continue };
            let sent = mailer.send(&OutgoingEmail {
                to: &m.destinataire,
                subject: &m.sujet,
                text: &m.corps_texte,
                html: m.corps_html.as_deref(),
            });
            let now = self.ports.clock.now();
            match sent {
                Ok(()) => {
                    transaction(db, TransactionMode::ReadWrite, |uow| {
                        Ok::<_, AppError>(uow.outbox_sent(m.id, now)?)
                    })?;
                    report.sent += 1;
                    telemetry::email("sent");
                    tracing::info!(outbox_id = m.id, "e-mail sent");
                }
                Err(e) => {
                    let attempts = m.attempts + 1;
                    let policy = self.notifications.retry;
                    let next = (!policy.exhausted(attempts)).then(|| now + policy.delay(attempts));
                    transaction(db, TransactionMode::ReadWrite, |uow| {
                        Ok::<_, AppError>(uow.outbox_failed(m.id, attempts, &e.0, next, now)?)
                    })?;
                    if next.is_some() {
                        report.retried += 1;
                        telemetry::email("retry");
                    } else {
                        report.failed += 1;
                        telemetry::email("failed");
                    }
                    tracing::warn!(outbox_id = m.id, attempts, error = %e, gave_up = next.is_none(), "e-mail not sent");
                }
            }
        }
        Ok(report)
    }

    /// Pending and failed counts (`/health`).
    ///
    /// # Errors
    /// Storage failures.
    pub fn outbox_stats(&self) -> Result<OutboxStats, AppError> {
        let stats = transaction(self.ports.db.as_ref(), TransactionMode::ReadOnly, |uow| {
            Ok::<_, AppError>(uow.outbox_stats()?)
        })?;
        telemetry::outbox_pending(stats.pending);
        Ok(stats)
    }
}

#[cfg(test)]
mod tests;
