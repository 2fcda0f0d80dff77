//! The outbox worker: due messages are claimed, sent, and a failure is retried with the
//! policy's back-off until it gives up; the health figures.

use std::sync::Mutex;

use erp_domain::UserRole;
use erp_domain::enums::{CanalNotification, TypeNotification};
use erp_domain::ports::{MailError, MailSender, OutgoingEmail};

use super::DeliveryReport;
use crate::fakes::world::{World, ctx};
use crate::notifications::CreateNotification;

/// Records what it sends; fails while `fail` is set.
#[derive(Debug, Default)]
struct Mailer {
    sent: Mutex<Vec<String>>,
    fail: bool,
}

impl MailSender for Mailer {
    fn send(&self, email: &OutgoingEmail<'_>) -> Result<(), MailError> {
        if self.fail {
            return Err(MailError("smtp down".into()));
        }
        self.sent.lock().unwrap().push(email.to.to_owned());
        Ok(())
    }
}

fn queue(w: &World, n: usize) {
    let admin = w.caller_named(UserRole::Admin, "admin-outbox");
    for i in 0..n {
        let to = w.user(UserRole::Technicien, &format!("dest{i}"));
        w.app
            .create_notification(
                &admin,
                CreateNotification {
                    type_notification: TypeNotification::Information,
                    canal: CanalNotification::Email,
                    titre: Some("T".into()),
                    contenu: None,
                    user_id: to.id,
                    intervention_id: None,
                },
                &ctx(),
            )
            .unwrap();
    }
}

#[test]
fn due_messages_are_sent_once_within_the_batch() {
    let w = World::with_email();
    queue(&w, 3);
    let mailer = Mailer::default();
    let report = w.app.deliver_outbox(&mailer, "w1", 2).unwrap();
    assert_eq!(
        report,
        DeliveryReport {
            sent: 2,
            retried: 0,
            failed: 0
        }
    );
    let report = w.app.deliver_outbox(&mailer, "w1", 10).unwrap();
    assert_eq!(report.sent, 1);
    assert_eq!(
        w.app.deliver_outbox(&mailer, "w1", 10).unwrap(),
        DeliveryReport::default()
    );
    assert_eq!(mailer.sent.lock().unwrap().len(), 3);
    assert!(w.db.snapshot().outbox.iter().all(|o| o.statut == "envoye"));
}

#[test]
fn a_failure_is_retried_after_a_doubling_delay() {
    let w = World::with_email();
    queue(&w, 1);
    let failing = Mailer {
        fail: true,
        ..Mailer::default()
    };
    let start = w.clock_now();
    let report = w.app.deliver_outbox(&failing, "w1", 10).unwrap();
    assert_eq!(report.retried, 1);
    let o = w.db.snapshot().outbox[0].clone();
    assert_eq!(o.attempts, 1);
    assert_eq!(
        o.next_attempt_at,
        Some(start + chrono::Duration::minutes(1))
    );
    assert_eq!(o.last_error.as_deref(), Some("smtp down"));
    assert_eq!(
        w.app.deliver_outbox(&failing, "w1", 10).unwrap(),
        DeliveryReport::default(),
        "not due yet"
    );
    w.clock.advance(chrono::Duration::minutes(1));
    w.app.deliver_outbox(&failing, "w1", 10).unwrap();
    let o = w.db.snapshot().outbox[0].clone();
    assert_eq!(o.attempts, 2);
    assert_eq!(
        o.next_attempt_at,
        Some(w.clock_now() + chrono::Duration::minutes(2))
    );
}

#[test]
fn the_tenth_failure_gives_up() {
    let w = World::with_email();
    queue(&w, 1);
    let failing = Mailer {
        fail: true,
        ..Mailer::default()
    };
    let mut last = DeliveryReport::default();
    for _ in 0..10 {
        last = w.app.deliver_outbox(&failing, "w1", 10).unwrap();
        w.clock.advance(chrono::Duration::hours(1));
    }
    assert_eq!(
        last,
        DeliveryReport {
            sent: 0,
            retried: 0,
            failed: 1
        }
    );
    let o = w.db.snapshot().outbox[0].clone();
    assert_eq!(o.statut, "echec");
    assert_eq!(o.attempts, 10);
    let stats = w.app.outbox_stats().unwrap();
    assert_eq!((stats.pending, stats.failed), (0, 1));
}

#[test]
fn a_message_claimed_by_another_worker_is_skipped() {
    let w = World::with_email();
    queue(&w, 1);
    let until = w.clock_now() + chrono::Duration::minutes(2);
    w.db.with(|s| s.outbox[0].claimed_until = Some(until));
    let mailer = Mailer::default();
    assert_eq!(w.app.deliver_outbox(&mailer, "w2", 10).unwrap().sent, 0);
    w.clock.advance(chrono::Duration::minutes(2));
    assert_eq!(w.app.deliver_outbox(&mailer, "w2", 10).unwrap().sent, 1);
}

#[test]
fn the_stats_count_pending_messages_with_the_oldest() {
    let w = World::with_email();
    let first = w.clock_now();
    queue(&w, 1);
    w.clock.advance(chrono::Duration::minutes(5));
    let stats = w.app.outbox_stats().unwrap();
    assert_eq!(stats.pending, 1);
    assert_eq!(stats.oldest_pending, Some(first));
}
