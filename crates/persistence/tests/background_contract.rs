//! Contract suite of the lease, notification and outbox ports (DATA.md §3.9, §3.10, §3.12)
//! on both backends: what several replicas rely on.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions: failing loudly is the point"
)]

use chrono::{Duration, TimeZone, Utc};
use erp_application::tx::transaction;
use erp_domain::enums::{CanalNotification, TypeNotification};
use erp_domain::notification::{EmailContent, NewNotification, NewOutboxMessage};
use erp_domain::password::PasswordHash;
use erp_domain::ports::{RepoError, TransactionMode};
use erp_domain::user::{Email, NewUser, UserRole, Username};
use erp_domain::{Timestamp, User};
use erp_persistence::{Database, backend_tests};

fn t(min: i64) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).single().unwrap() + Duration::minutes(min)
}

fn user(db: &Database) -> User {
    transaction(db, TransactionMode::ReadWrite, |uow| {
        uow.insert_user(&NewUser {
            username: Username::parse("username", "nadia").unwrap(),
            email: Email::parse("email", "nadia@mif.ma").unwrap(),
            full_name: None,
            password_hash: PasswordHash::from_phc("$argon2id$v=19$x"),
            role: UserRole::Responsable,
            is_active: true,
            client_id: None,
            now: t(0),
        })
    })
    .unwrap()
}

fn notification(u: &User, key: Option<&str>) -> NewNotification {
    NewNotification {
        type_notification: TypeNotification::Information,
        canal: CanalNotification::Email,
        titre: Some("Titre".into()),
        contenu: Some("Contenu".into()),
        user_id: u.id,
        intervention_id: None,
        date_envoi: t(0),
        created_by_id: None,
        dedup_key: key.map(ToOwned::to_owned),
    }
}

backend_tests! {
    fn a_lease_has_one_holder_until_it_expires(db: &Database) {
        let acquire = |who: &str, now: Timestamp| {
            transaction(db, TransactionMode::ReadWrite, |uow| uow.acquire_lease("overdue_scan", who, now, now + Duration::minutes(2))).unwrap()
        };
        assert!(acquire("a", t(0)));
        assert!(!acquire("b", t(1)), "held by a");
        assert!(acquire("a", t(1)), "the holder renews");
        assert!(acquire("b", t(4)), "expired: b takes over");
        assert!(!acquire("a", t(5)));
        transaction(db, TransactionMode::ReadWrite, |uow| uow.finish_job("overdue_scan", t(5), Some("boom"))).unwrap();
        let s = transaction(db, TransactionMode::ReadOnly, |uow| uow.job_status("overdue_scan")).unwrap().unwrap();
        assert_eq!((s.last_run_at, s.last_success_at, s.last_error.as_deref()), (Some(t(4)), None, Some("boom")));
        transaction(db, TransactionMode::ReadWrite, |uow| uow.finish_job("overdue_scan", t(6), None)).unwrap();
        let s = transaction(db, TransactionMode::ReadOnly, |uow| uow.job_status("overdue_scan")).unwrap().unwrap();
        assert_eq!((s.last_success_at, s.last_error), (Some(t(6)), None));
        assert!(transaction(db, TransactionMode::ReadOnly, |uow| uow.job_status("nope")).unwrap().is_none());
    }

    fn a_dedup_key_stores_one_notification_and_keeps_the_transaction_usable(db: &Database) {
        let u = user(db);
        let (first, second, after) = transaction(db, TransactionMode::ReadWrite, |uow| {
            let first = uow.insert_notification(&notification(&u, Some("rappel:1:1:t")))?;
            let second = uow.insert_notification(&notification(&u, Some("rappel:1:1:t")))?;
            // Still usable after the ignored duplicate (PostgreSQL aborts on a raised error).
            let after = uow.insert_notification(&notification(&u, None))?;
            Ok::<_, RepoError>((first, second, after))
        })
        .unwrap();
        assert!(first.is_some());
        assert!(second.is_none());
        assert!(after.is_some());
        let n = after.unwrap();
        transaction(db, TransactionMode::ReadWrite, |uow| uow.mark_notification_read(n.id, t(3))).unwrap();
        transaction(db, TransactionMode::ReadWrite, |uow| uow.mark_notification_read(n.id, t(9))).unwrap();
        let read = transaction(db, TransactionMode::ReadOnly, |uow| uow.notification_by_id(n.id)).unwrap().unwrap();
        assert_eq!((read.lue, read.read_at), (true, Some(t(3))));
        let missing = transaction(db, TransactionMode::ReadWrite, |uow| uow.mark_notification_read(erp_domain::NotificationId::new(999), t(3)));
        assert_eq!(missing, Err(RepoError::NotFound));
    }

    fn an_outbox_message_is_claimed_by_one_worker_and_retried_later(db: &Database) {
        let u = user(db);
        transaction(db, TransactionMode::ReadWrite, |uow| {
            let n = uow.insert_notification(&notification(&u, None))?.unwrap();
            uow.enqueue_email(&NewOutboxMessage {
                notification_id: n.id,
                destinataire: "nadia@mif.ma".into(),
                email: EmailContent { subject: "S".into(), text: "T".into(), html: "<p>H</p>".into() },
                at: t(0),
            })
        })
        .unwrap();
        let due = transaction(db, TransactionMode::ReadOnly, |uow| uow.due_outbox_ids(t(0), 10)).unwrap();
        assert_eq!(due.len(), 1);
        let id = due[0];
        let claim = |who: &str, now: Timestamp| {
            transaction(db, TransactionMode::ReadWrite, |uow| uow.claim_outbox(id, who, now, now + Duration::minutes(2))).unwrap()
        };
        let m = claim("w1", t(0)).unwrap();
        assert_eq!((m.destinataire.as_str(), m.sujet.as_str(), m.attempts), ("nadia@mif.ma", "S", 0));
        assert!(claim("w2", t(1)).is_none(), "claimed by w1");
        assert!(transaction(db, TransactionMode::ReadOnly, |uow| uow.due_outbox_ids(t(1), 10)).unwrap().is_empty());
        // w1 fails: retry in a minute.
        transaction(db, TransactionMode::ReadWrite, |uow| uow.outbox_failed(id, 1, "connection refused", Some(t(2)), t(1))).unwrap();
        assert!(claim("w2", t(1)).is_none(), "not due yet");
        let stats = transaction(db, TransactionMode::ReadOnly, |uow| uow.outbox_stats()).unwrap();
        assert_eq!((stats.pending, stats.failed, stats.oldest_pending), (1, 0, Some(t(0))));
        let m = claim("w2", t(2)).unwrap();
        assert_eq!(m.attempts, 1);
        transaction(db, TransactionMode::ReadWrite, |uow| uow.outbox_sent(id, t(2))).unwrap();
        assert!(claim("w3", t(10)).is_none(), "sent messages are never claimed again");
        let stats = transaction(db, TransactionMode::ReadOnly, |uow| uow.outbox_stats()).unwrap();
        assert_eq!((stats.pending, stats.failed), (0, 0));
    }

    fn a_crashed_worker_s_claim_expires(db: &Database) {
        let u = user(db);
        transaction(db, TransactionMode::ReadWrite, |uow| {
            let n = uow.insert_notification(&notification(&u, None))?.unwrap();
            uow.enqueue_email(&NewOutboxMessage {
                notification_id: n.id,
                destinataire: "nadia@mif.ma".into(),
                email: EmailContent { subject: "S".into(), text: "T".into(), html: String::new() },
                at: t(0),
            })
        })
        .unwrap();
        let id = transaction(db, TransactionMode::ReadOnly, |uow| uow.due_outbox_ids(t(0), 10)).unwrap()[0];
        let claimed = transaction(db, TransactionMode::ReadWrite, |uow| uow.claim_outbox(id, "w1", t(0), t(2))).unwrap();
        assert!(claimed.is_some());
        // w1 dies without recording anything; after its claim ends another worker takes it.
        let retaken = transaction(db, TransactionMode::ReadWrite, |uow| uow.claim_outbox(id, "w2", t(3), t(5))).unwrap();
        assert!(retaken.is_some());
        // Given up after the last attempt.
        transaction(db, TransactionMode::ReadWrite, |uow| uow.outbox_failed(id, 10, "refused", None, t(3))).unwrap();
        let stats = transaction(db, TransactionMode::ReadOnly, |uow| uow.outbox_stats()).unwrap();
        assert_eq!((stats.pending, stats.failed), (0, 1));
    }
}
