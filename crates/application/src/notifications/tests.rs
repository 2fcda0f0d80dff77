//! Notifications: admin-only writing, listing and deletion; recipients read and mark their
//! own; the 404s; the e-mail queued only for `canal = email` with delivery on; the audit.

use erp_domain::audit::AuditEventType;
use erp_domain::enums::{CanalNotification, TypeNotification};
use erp_domain::intervention::InterventionId;
use erp_domain::list::Page;
use erp_domain::notification::{NotificationFilter, NotificationId};
use erp_domain::{UserId, UserRole};

use super::CreateNotification;
use crate::fakes::assert::{assert_not_found, assert_role_refused};
use crate::fakes::world::{World, ctx};

const PAGE: Page = Page {
    limit: 50,
    offset: 0,
};

fn note(to: UserId, canal: CanalNotification) -> CreateNotification {
    CreateNotification {
        type_notification: TypeNotification::Information,
        canal,
        titre: Some("Coupure".into()),
        contenu: Some("Coupure d'eau demain".into()),
        user_id: to,
        intervention_id: None,
    }
}

#[test]
fn only_an_admin_writes_lists_and_deletes_notifications() {
    let w = World::new();
    let target = w.user(UserRole::Technicien, "cible");
    for role in [
        UserRole::Responsable,
        UserRole::Technicien,
        UserRole::Client,
    ] {
        let c = w.caller(role);
        assert_role_refused(w.app.create_notification(
            &c,
            note(target.id, CanalNotification::Log),
            &ctx(),
        ));
        assert_role_refused(w.app.list_notifications(
            &c,
            &NotificationFilter::default(),
            &[],
            PAGE,
        ));
        assert_role_refused(w.app.user_notifications(
            &c,
            target.id,
            NotificationFilter::default(),
            PAGE,
        ));
        assert_role_refused(
            w.app
                .delete_notification(&c, NotificationId::new(1), &ctx()),
        );
        assert!(
            w.app
                .my_notifications(&c, NotificationFilter::default(), PAGE)
                .is_ok()
        );
    }
    assert!(w.db.snapshot().notifications.is_empty());
}

#[test]
fn the_recipient_and_the_intervention_must_exist() {
    let w = World::new();
    let admin = w.caller(UserRole::Admin);
    assert_not_found(
        w.app.create_notification(
            &admin,
            note(UserId::new(99), CanalNotification::Log),
            &ctx(),
        ),
        "Utilisateur cible introuvable",
    );
    let mut cmd = note(admin.user.id, CanalNotification::Log);
    cmd.intervention_id = Some(InterventionId::new(99));
    assert_not_found(
        w.app.create_notification(&admin, cmd, &ctx()),
        "Intervention introuvable",
    );
    assert_not_found(
        w.app
            .user_notifications(&admin, UserId::new(99), NotificationFilter::default(), PAGE),
        "Utilisateur non trouvé.",
    );
}

#[test]
fn an_e_mail_is_queued_only_for_the_email_channel_with_delivery_on() {
    let cases = [
        (true, CanalNotification::Email, 1),
        (true, CanalNotification::Log, 0),
        (true, CanalNotification::Sms, 0),
        (false, CanalNotification::Email, 0),
    ];
    for (enabled, canal, queued) in cases {
        let w = if enabled {
            World::with_email()
        } else {
            World::new()
        };
        let admin = w.caller(UserRole::Admin);
        let to = w.user(UserRole::Technicien, "cible");
        let n = w
            .app
            .create_notification(&admin, note(to.id, canal), &ctx())
            .unwrap();
        assert_eq!(n.canal, canal);
        let outbox = w.db.snapshot().outbox;
        assert_eq!(outbox.len(), queued, "email {enabled}, canal {canal}");
        if let Some(m) = outbox.first() {
            assert_eq!(m.destinataire, "cible@erp-mif.local");
            assert_eq!(m.notification_id, n.id);
            assert!(m.email.subject.contains("Coupure"), "{}", m.email.subject);
        }
    }
}

#[test]
fn a_written_notification_is_stored_as_sent_and_audited() {
    let w = World::new();
    let admin = w.caller(UserRole::Admin);
    let to = w.user(UserRole::Client, "client");
    let n = w
        .app
        .create_notification(&admin, note(to.id, CanalNotification::Log), &ctx())
        .unwrap();
    assert_eq!(n.date_envoi, w.clock_now());
    assert!(!n.lue);
    assert_eq!(
        w.db.snapshot().notifications[0].created_by_id,
        Some(admin.user.id)
    );
    let e = w.last_audit();
    assert_eq!(e.event_type, AuditEventType::AdminAction);
    assert_eq!(e.resource, Some(format!("notification:{}", n.id)));
    assert_eq!(
        e.details.unwrap(),
        serde_json::json!({"user_id": to.id.get(), "type": "information", "canal": "log"})
    );
}

#[test]
fn each_user_reads_their_own_notifications() {
    let w = World::new();
    let admin = w.caller(UserRole::Admin);
    let me = w.caller(UserRole::Technicien);
    let other = w.user(UserRole::Technicien, "autre");
    w.app
        .create_notification(&admin, note(me.user.id, CanalNotification::Log), &ctx())
        .unwrap();
    w.app
        .create_notification(&admin, note(other.id, CanalNotification::Log), &ctx())
        .unwrap();
    let filter = NotificationFilter {
        user_id: Some(other.id.get()),
        ..NotificationFilter::default()
    };
    let mine = w.app.my_notifications(&me, filter, PAGE).unwrap();
    assert_eq!(mine.total, 1, "the filter's user is replaced by the caller");
    assert_eq!(mine.items[0].user_id, me.user.id);
    let theirs = w
        .app
        .user_notifications(&admin, other.id, NotificationFilter::default(), PAGE)
        .unwrap();
    assert_eq!(theirs.items[0].user_id, other.id);
}

#[test]
fn marking_read_is_for_the_recipient_or_an_admin_and_keeps_the_first_time() {
    let w = World::new();
    let admin = w.caller(UserRole::Admin);
    let me = w.caller(UserRole::Technicien);
    let intruder = w.caller(UserRole::Responsable);
    let n = w
        .app
        .create_notification(&admin, note(me.user.id, CanalNotification::Log), &ctx())
        .unwrap();
    assert_not_found(
        w.app.mark_notification_read(&intruder, n.id),
        "Notification non trouvée",
    );
    assert_not_found(
        w.app.mark_notification_read(&me, NotificationId::new(99)),
        "Notification non trouvée",
    );
    let first = w.clock_now();
    let read = w.app.mark_notification_read(&me, n.id).unwrap();
    assert!(read.lue);
    assert_eq!(read.read_at, Some(first));
    w.clock.advance(chrono::Duration::hours(1));
    let again = w.app.mark_notification_read(&admin, n.id).unwrap();
    assert_eq!(again.read_at, Some(first));
}

#[test]
fn a_deletion_is_audited_and_an_unknown_one_is_a_404() {
    let w = World::new();
    let admin = w.caller(UserRole::Admin);
    let n = w
        .app
        .create_notification(&admin, note(admin.user.id, CanalNotification::Log), &ctx())
        .unwrap();
    w.app.delete_notification(&admin, n.id, &ctx()).unwrap();
    assert!(w.db.snapshot().notifications.is_empty());
    let e = w.last_audit();
    assert_eq!(e.action.as_deref(), Some("delete"));
    assert_eq!(e.resource, Some(format!("notification:{}", n.id)));
    assert_not_found(
        w.app.delete_notification(&admin, n.id, &ctx()),
        "Notification non trouvée",
    );
}
