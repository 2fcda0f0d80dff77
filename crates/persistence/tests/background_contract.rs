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
        transaction(db, TransactionMode::ReadWrite, |uow| uow.finish_job("overdue_scan", t(5), Some("database"))).unwrap();
        let s = transaction(db, TransactionMode::ReadOnly, |uow| uow.job_status("overdue_scan")).unwrap().unwrap();
        assert_eq!((s.last_run_at, s.last_success_at, s.last_error.as_deref(), s.last_error_at), (Some(t(4)), None, Some("database"), Some(t(5))));
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

    fn housekeeping_purges_only_what_has_served_its_purpose(db: &Database) {
        use erp_domain::audit::{AuditContext, AuditEventType, NewAuditEvent};
        use erp_domain::ports::PurgeCutoffs;
        use erp_domain::session::NewSession;
        use erp_domain::throttle::{ThrottleScope, ThrottleState};
        let u = user(db);
        let day = |d: i64| t(0) + Duration::days(d);
        transaction(db, TransactionMode::ReadWrite, |uow| {
            // Sessions: one expired long ago, one revoked long ago, one alive.
            for (created, expires) in [(0, 7), (0, 400), (395, 402)] {
                let s = uow.insert_session(&NewSession { user_id: u.id, now: day(created), expires_at: day(expires), user_agent: None, ip_address: None })?;
                if expires == 400 {
                    uow.revoke_session(s.id, erp_domain::session::RevocationReason::Logout, day(1))?;
                }
            }
            // Throttle: an old failure, a recent one, an old one still locked.
            let state = |last: i64, locked: Option<i64>| ThrottleState { failure_count: 1, window_started_at: Some(day(last)), lockout_level: 0, locked_until: locked.map(day), last_failure_at: Some(day(last)) };
            uow.save_throttle_state(ThrottleScope::Username, "old", &state(1, None), day(1))?;
            uow.save_throttle_state(ThrottleScope::Username, "recent", &state(399, None), day(399))?;
            uow.save_throttle_state(ThrottleScope::Ip, "10.0.0.1", &state(1, Some(500)), day(1))?;
            // Audit: one old, one recent.
            for d in [1, 399] {
                uow.append_audit(&NewAuditEvent { occurred_at: day(d), event_type: AuditEventType::LoginSuccess, success: true, user_id: Some(u.id), username: None, context: AuditContext::default(), resource: None, action: None, details: None })?;
            }
            // Outbox: one sent long ago, one sent recently, one pending.
            for (sent, k) in [(Some(1), "a"), (Some(399), "b"), (None, "c")] {
                let n = uow.insert_notification(&notification(&u, Some(k)))?.unwrap();
                uow.enqueue_email(&NewOutboxMessage { notification_id: n.id, destinataire: "nadia@mif.ma".into(), email: EmailContent { subject: "S".into(), text: "T".into(), html: String::new() }, at: day(0) })?;
                if let Some(d) = sent {
                    let id = uow.due_outbox_ids(day(0), 10)?.into_iter().max().unwrap();
                    uow.outbox_sent(id, day(d))?;
                }
            }
            Ok::<_, RepoError>(())
        })
        .unwrap();
        let now = day(400);
        let cutoffs = PurgeCutoffs { now, sessions_before: now - Duration::days(30), throttle_before: now - Duration::hours(24), outbox_sent_before: now - Duration::days(30), audit_before: Some(now - Duration::days(365)) };
        let r = transaction(db, TransactionMode::ReadWrite, |uow| uow.purge(&cutoffs)).unwrap();
        assert_eq!((r.sessions, r.throttle, r.outbox, r.audit), (2, 1, 1, 1), "{r:?}");
        let again = transaction(db, TransactionMode::ReadWrite, |uow| uow.purge(&PurgeCutoffs { audit_before: None, ..cutoffs })).unwrap();
        assert_eq!((again.sessions, again.throttle, again.outbox, again.audit), (0, 0, 0, 0));
        let stats = transaction(db, TransactionMode::ReadOnly, |uow| uow.outbox_stats()).unwrap();
        assert_eq!(stats.pending, 1, "pending e-mail kept");
        let referenced = transaction(db, TransactionMode::ReadOnly, |uow| uow.referenced_blobs(&["0123456789abcdef0123456789abcdef.enc".to_owned()])).unwrap();
        assert!(referenced.is_empty());
    }
}
