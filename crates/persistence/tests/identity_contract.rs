//! Contract suite of the session, throttle, audit and user-listing ports, on both backends.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions: failing loudly is the point"
)]

use chrono::{Duration, TimeZone, Utc};
use erp_application::tx::transaction;
use erp_domain::audit::{AuditContext, AuditEventType, AuditFilter, NewAuditEvent};
use erp_domain::list::{Page, SortDir, SortKey};
use erp_domain::password::PasswordHash;
use erp_domain::ports::{RepoError, TransactionMode, UniqueKey};
use erp_domain::session::{NewRefreshToken, NewSession, RevocationReason};
use erp_domain::throttle::{ThrottleScope, ThrottleState};
use erp_domain::user::{Email, FullName, NewUser, UserFilter, UserRole, UserSortField, Username};
use erp_domain::{SessionId, Timestamp, User, UserId};
use erp_persistence::{Database, backend_tests};

fn t(min: i64) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).single().unwrap() + Duration::minutes(min)
}

fn user(db: &Database, name: &str, role: UserRole, at: Timestamp) -> User {
    transaction(db, TransactionMode::ReadWrite, |uow| {
        uow.insert_user(&NewUser {
            username: Username::parse("username", name).unwrap(),
            email: Email::parse("email", &format!("{name}@mif.ma")).unwrap(),
            full_name: Some(FullName::parse("full_name", &format!("Nom {name}")).unwrap()),
            password_hash: PasswordHash::from_phc("$argon2id$v=19$x"),
            role,
            is_active: true,
            client_id: None,
            now: at,
        })
    })
    .unwrap()
}

fn open_session(db: &Database, u: &User) -> SessionId {
    transaction(db, TransactionMode::ReadWrite, |uow| {
        uow.insert_session(&NewSession {
            user_id: u.id,
            now: t(0),
            expires_at: t(60 * 24 * 7),
            user_agent: Some("tests".into()),
            ip_address: Some("127.0.0.1".into()),
        })
    })
    .unwrap()
    .id
}

backend_tests! {
    fn sessions_are_read_with_their_user_and_revoked_once(db: &Database) {
        let u = user(db, "amal", UserRole::Admin, t(0));
        let sid = open_session(db, &u);
        let (s, owner) = transaction(db, TransactionMode::ReadOnly, |uow| uow.session_with_user(sid)).unwrap().unwrap();
        assert_eq!(owner.id, u.id);
        assert!(s.is_active(t(1)));
        assert!(!s.is_active(t(60 * 24 * 8)), "expired");
        let first = transaction(db, TransactionMode::ReadWrite, |uow| uow.revoke_session(sid, RevocationReason::Logout, t(2))).unwrap();
        let second = transaction(db, TransactionMode::ReadWrite, |uow| uow.revoke_session(sid, RevocationReason::Logout, t(3))).unwrap();
        assert!(first && !second);
        let (s, _) = transaction(db, TransactionMode::ReadOnly, |uow| uow.session_with_user(sid)).unwrap().unwrap();
        assert_eq!(s.revoked_at, Some(t(2)));
        assert_eq!(s.revoked_reason, Some(RevocationReason::Logout));
        assert!(!s.is_active(t(4)));
        let missing = transaction(db, TransactionMode::ReadOnly, |uow| uow.session_with_user(SessionId::new(999))).unwrap();
        assert!(missing.is_none());
    }

    fn all_sessions_of_a_user_are_revoked_together(db: &Database) {
        let u = user(db, "amal", UserRole::Admin, t(0));
        let other = user(db, "karim", UserRole::Admin, t(0));
        let (a, b, c) = (open_session(db, &u), open_session(db, &u), open_session(db, &other));
        let n = transaction(db, TransactionMode::ReadWrite, |uow| uow.revoke_user_sessions(u.id, RevocationReason::PasswordChanged, t(5))).unwrap();
        assert_eq!(n, 2);
        for (sid, revoked) in [(a, true), (b, true), (c, false)] {
            let (s, _) = transaction(db, TransactionMode::ReadOnly, |uow| uow.session_with_user(sid)).unwrap().unwrap();
            assert_eq!(s.revoked_at.is_some(), revoked);
        }
    }

    fn a_refresh_token_is_rotated_exactly_once(db: &Database) {
        let u = user(db, "amal", UserRole::Admin, t(0));
        let sid = open_session(db, &u);
        let token = |hash: &str| NewRefreshToken {
            session_id: sid, token_hash: hash.into(), now: t(0), expires_at: t(100), user_agent: None, ip_address: None,
        };
        let first = transaction(db, TransactionMode::ReadWrite, |uow| uow.insert_refresh_token(&token("h1"))).unwrap();
        let dup = transaction(db, TransactionMode::ReadWrite, |uow| uow.insert_refresh_token(&token("h1")));
        assert!(matches!(dup, Err(RepoError::Duplicate(UniqueKey::Other))));
        let second = transaction(db, TransactionMode::ReadWrite, |uow| uow.insert_refresh_token(&token("h2"))).unwrap();
        let found = transaction(db, TransactionMode::ReadOnly, |uow| uow.refresh_token_by_hash("h1")).unwrap().unwrap();
        assert_eq!((found.id, found.session_id, found.rotated_at), (first, sid, None));
        let won = transaction(db, TransactionMode::ReadWrite, |uow| uow.mark_refresh_token_rotated(first, t(1), second)).unwrap();
        let lost = transaction(db, TransactionMode::ReadWrite, |uow| uow.mark_refresh_token_rotated(first, t(2), second)).unwrap();
        assert!(won && !lost);
        let found = transaction(db, TransactionMode::ReadOnly, |uow| uow.refresh_token_by_hash("h1")).unwrap().unwrap();
        assert_eq!(found.rotated_at, Some(t(1)));
        assert!(transaction(db, TransactionMode::ReadOnly, |uow| uow.refresh_token_by_hash("nope")).unwrap().is_none());
    }

    fn throttle_state_is_upserted_and_cleared(db: &Database) {
        let none = transaction(db, TransactionMode::ReadWrite, |uow| uow.throttle_state(ThrottleScope::Username, "amal", true)).unwrap();
        assert!(none.is_none());
        let mut state = ThrottleState::default();
        state.record_failure(t(0));
        transaction(db, TransactionMode::ReadWrite, |uow| uow.save_throttle_state(ThrottleScope::Username, "amal", &state, t(0))).unwrap();
        state.record_failure(t(1));
        transaction(db, TransactionMode::ReadWrite, |uow| uow.save_throttle_state(ThrottleScope::Username, "amal", &state, t(1))).unwrap();
        let read = transaction(db, TransactionMode::ReadWrite, |uow| uow.throttle_state(ThrottleScope::Username, "amal", true)).unwrap();
        assert_eq!(read, Some(state));
        let ip = transaction(db, TransactionMode::ReadWrite, |uow| uow.throttle_state(ThrottleScope::Ip, "amal", false)).unwrap();
        assert!(ip.is_none(), "scopes are independent");
        transaction(db, TransactionMode::ReadWrite, |uow| uow.clear_throttle(ThrottleScope::Username, "amal")).unwrap();
        assert!(transaction(db, TransactionMode::ReadWrite, |uow| uow.throttle_state(ThrottleScope::Username, "amal", true)).unwrap().is_none());
    }

    fn audit_events_are_appended_and_filtered_newest_first(db: &Database) {
        let u = user(db, "amal", UserRole::Admin, t(0));
        let event = |minute: i64, event_type: AuditEventType, success: bool| NewAuditEvent {
            occurred_at: t(minute),
            event_type,
            success,
            user_id: Some(u.id),
            username: Some("amal".into()),
            context: AuditContext { request_id: Some(format!("req-{minute}")), ip_address: Some("10.0.0.1".into()), user_agent: None },
            resource: Some(format!("user:{}", u.id)),
            action: Some("login".into()),
            details: Some(serde_json::json!({"failure_reason": "bad_password"})),
        };
        transaction(db, TransactionMode::ReadWrite, |uow| {
            uow.append_audit(&event(1, AuditEventType::LoginFailed, false))?;
            uow.append_audit(&event(2, AuditEventType::LoginSuccess, true))?;
            uow.append_audit(&event(3, AuditEventType::LoginFailed, false))
        })
        .unwrap();
        let all = transaction(db, TransactionMode::ReadOnly, |uow| uow.list_audit(&AuditFilter::default(), Page::default())).unwrap();
        assert_eq!(all.total, 3);
        let minutes: Vec<Timestamp> = all.items.iter().map(|e| e.event.occurred_at).collect();
        assert_eq!(minutes, vec![t(3), t(2), t(1)]);
        assert_eq!(all.items[0].event, event(3, AuditEventType::LoginFailed, false), "every field round-trips");

        let failed = AuditFilter { event_types: vec![AuditEventType::LoginFailed], success: Some(false), date_max: Some(t(2)), ..AuditFilter::default() };
        let listed = transaction(db, TransactionMode::ReadOnly, |uow| uow.list_audit(&failed, Page::default())).unwrap();
        assert_eq!(listed.total, 1);
        assert_eq!(listed.items[0].event.occurred_at, t(1));
        let by_request = AuditFilter { request_id: Some("req-2".into()), ..AuditFilter::default() };
        let listed = transaction(db, TransactionMode::ReadOnly, |uow| uow.list_audit(&by_request, Page { limit: 1, offset: 0 })).unwrap();
        assert_eq!((listed.total, listed.items.len()), (1, 1));
        let paged = transaction(db, TransactionMode::ReadOnly, |uow| uow.list_audit(&AuditFilter::default(), Page { limit: 2, offset: 2 })).unwrap();
        assert_eq!((paged.total, paged.items.len()), (3, 1));
    }

    fn users_are_filtered_sorted_and_paged(db: &Database) {
        let a = user(db, "Zoe", UserRole::Technicien, t(3));
        let b = user(db, "amal", UserRole::Admin, t(1));
        let mut c = user(db, "karim_50", UserRole::Technicien, t(2));
        c.full_name = Some(FullName::parse("full_name", "Taux 50% atteint").unwrap());
        transaction(db, TransactionMode::ReadWrite, |uow| uow.update_user(&c)).unwrap();
        transaction(db, TransactionMode::ReadWrite, |uow| uow.set_last_login(c.id, t(10))).unwrap();
        let ids = |filter: &UserFilter, sort: &[SortKey<UserSortField>], page: Page| -> (Vec<UserId>, i64) {
            let listed = transaction(db, TransactionMode::ReadOnly, |uow| uow.list_users(filter, sort, page)).unwrap();
            (listed.items.iter().map(|u| u.id).collect(), listed.total)
        };
        let all = UserFilter::default();
        assert_eq!(ids(&all, &[], Page::default()), (vec![a.id, b.id, c.id], 3));
        let by_name = [SortKey { field: UserSortField::Username, dir: SortDir::Asc }];
        assert_eq!(ids(&all, &by_name, Page::default()).0, vec![b.id, c.id, a.id], "case-insensitive order");
        let last_login_desc = [SortKey { field: UserSortField::LastLogin, dir: SortDir::Desc }];
        assert_eq!(ids(&all, &last_login_desc, Page::default()).0, vec![c.id, b.id, a.id], "nulls last, then id desc");
        let techs = UserFilter { roles: vec![UserRole::Technicien], ..UserFilter::default() };
        assert_eq!(ids(&techs, &[], Page::default()), (vec![a.id, c.id], 2));
        let literal = UserFilter { search: Some(" 50% ".into()), ..UserFilter::default() };
        let no_match = UserFilter { search: Some("5%0".into()), ..UserFilter::default() };
        assert_eq!(ids(&no_match, &[], Page::default()).1, 0);
        assert_eq!(ids(&literal, &[], Page::default()), (vec![c.id], 1), "% is literal");
        let underscore = UserFilter { search: Some("_".into()), ..UserFilter::default() };
        assert_eq!(ids(&underscore, &[], Page::default()).1, 1, "_ is literal");
        let by_full_name = UserFilter { search: Some("NOM ZOE".into()), ..UserFilter::default() };
        assert_eq!(ids(&by_full_name, &[], Page::default()).0, vec![a.id]);
        assert_eq!(ids(&all, &[], Page { limit: 1, offset: 1 }), (vec![b.id], 3));
    }

    fn a_user_is_updated_and_active_admins_counted(db: &Database) {
        let mut u = user(db, "amal", UserRole::Admin, t(0));
        let other = user(db, "karim", UserRole::Admin, t(0));
        assert_eq!(transaction(db, TransactionMode::ReadOnly, |uow| uow.count_active_admins()).unwrap(), 2);
        u.role = UserRole::Responsable;
        u.email = Email::parse("email", "new@mif.ma").unwrap();
        u.updated_at = t(9);
        transaction(db, TransactionMode::ReadWrite, |uow| uow.update_user(&u)).unwrap();
        let read = transaction(db, TransactionMode::ReadOnly, |uow| uow.user_by_id(u.id)).unwrap().unwrap();
        assert_eq!(read, u);
        assert_eq!(transaction(db, TransactionMode::ReadOnly, |uow| uow.count_active_admins()).unwrap(), 1);
        let mut clash = other.clone();
        clash.email = Email::parse("email", "new@mif.ma").unwrap();
        assert_eq!(transaction(db, TransactionMode::ReadWrite, |uow| uow.update_user(&clash)), Err(RepoError::Duplicate(UniqueKey::Email)));
        let mut ghost = other;
        ghost.id = UserId::new(4242);
        assert_eq!(transaction(db, TransactionMode::ReadWrite, |uow| uow.update_user(&ghost)), Err(RepoError::NotFound));
    }
}
