//! Domain events → notifications: the recipients of each event (API.md §3.8), inactive
//! users left out, no one twice, a replayed event a no-op, the channel and the e-mail.

use erp_domain::enums::{ActionHistorique, CanalNotification, TypeNotification};
use erp_domain::intervention::Intervention;
use erp_domain::notification::DomainEvent;
use erp_domain::{UserId, UserRole};

use super::{emit, event_channel, lifecycle_event};
use crate::app::NotificationConfig;
use crate::fakes::world::{World, new_intervention};

fn recipients(w: &World) -> Vec<UserId> {
    let mut ids: Vec<UserId> =
        w.db.snapshot()
            .notifications
            .iter()
            .map(|n| n.notification.user_id)
            .collect();
    ids.sort();
    ids
}

fn run(w: &World, event: &DomainEvent, i: &Intervention, config: &NotificationConfig) -> usize {
    w.db.with(|s| emit(s, config, event, i, w.clock_now()).unwrap())
}

fn event(kind: &str, i: &Intervention, at: erp_domain::Timestamp) -> DomainEvent {
    let (intervention, titre) = (i.id(), "Panne".to_owned());
    match kind {
        "assigned" => DomainEvent::Assigned {
            intervention,
            titre,
            at,
        },
        "closed" => DomainEvent::Closed {
            intervention,
            titre,
            at,
        },
        "overdue" => DomainEvent::Overdue {
            intervention,
            titre,
            date_limite: at,
        },
        _ => DomainEvent::Generated {
            intervention,
            titre,
            at,
            due: at,
        },
    }
}

#[test]
fn each_event_notifies_its_recipients() {
    let w = World::new();
    let client = w.caller(UserRole::Client);
    let colleague = w.user(UserRole::Client, "collegue");
    w.db.with(|s| {
        let c = client.user.client_id;
        s.users
            .iter_mut()
            .filter(|u| u.id == colleague.id)
            .for_each(|u| u.client_id = c);
    });
    let resp1 = w.user(UserRole::Responsable, "resp1");
    let resp2 = w.user(UserRole::Responsable, "resp2");
    let creator = w.user(UserRole::Admin, "createur");
    let (t, tech) = w.technicien("tech");
    let e = w.equipement("Pompe", client.user.client_id);
    let mut new = new_intervention(&e, Some(t));
    new.created_by_id = Some(creator.id);
    let i = w.store_intervention(new);
    let unassigned = w.intervention(&e, None);
    let at = w.clock_now();
    let sorted = |mut v: Vec<UserId>| {
        v.sort();
        v
    };
    let cases = [
        ("assigned", &i, sorted(vec![tech.user.id])),
        (
            "closed",
            &i,
            sorted(vec![creator.id, client.user.id, colleague.id]),
        ),
        (
            "closed",
            &unassigned,
            sorted(vec![resp1.id, resp2.id, client.user.id, colleague.id]),
        ),
        (
            "overdue",
            &i,
            sorted(vec![tech.user.id, resp1.id, resp2.id]),
        ),
        ("generated", &i, sorted(vec![tech.user.id])),
        ("generated", &unassigned, sorted(vec![resp1.id, resp2.id])),
    ];
    for (kind, target, expected) in cases {
        w.db.with(|s| s.notifications.clear());
        let n = run(
            &w,
            &event(kind, target, at),
            target,
            &NotificationConfig::default(),
        );
        assert_eq!(recipients(&w), expected, "{kind} on {}", target.id());
        assert_eq!(n, expected.len(), "{kind}");
    }
}

#[test]
fn inactive_users_are_not_notified() {
    let w = World::new();
    let (t, tech) = w.technicien("tech");
    let resp = w.user(UserRole::Responsable, "resp");
    w.user(UserRole::Responsable, "parti");
    w.db.with(|s| {
        s.users
            .iter_mut()
            .filter(|u| u.id == tech.user.id || u.username.as_str() == "parti")
            .for_each(|u| u.is_active = false);
    });
    let e = w.equipement("Pompe", None);
    let i = w.intervention(&e, Some(t));
    run(
        &w,
        &event("overdue", &i, w.clock_now()),
        &i,
        &NotificationConfig::default(),
    );
    assert_eq!(recipients(&w), [resp.id]);
    w.db.with(|s| s.notifications.clear());
    assert_eq!(
        run(
            &w,
            &event("assigned", &i, w.clock_now()),
            &i,
            &NotificationConfig::default()
        ),
        0
    );
}

#[test]
fn a_closure_by_an_inactive_or_technicien_creator_goes_to_the_responsables() {
    let w = World::new();
    let resp = w.user(UserRole::Responsable, "resp");
    let (_, tech) = w.technicien("tech");
    let gone = w.user(UserRole::Admin, "parti");
    w.db.with(|s| {
        s.users
            .iter_mut()
            .filter(|u| u.id == gone.id)
            .for_each(|u| u.is_active = false);
    });
    let e = w.equipement("Pompe", None);
    for creator in [tech.user.id, gone.id] {
        w.db.with(|s| s.notifications.clear());
        let mut new = new_intervention(&e, None);
        new.created_by_id = Some(creator);
        let i = w.store_intervention(new);
        run(
            &w,
            &event("closed", &i, w.clock_now()),
            &i,
            &NotificationConfig::default(),
        );
        assert_eq!(recipients(&w), [resp.id], "creator {creator}");
    }
}

#[test]
fn a_replayed_event_notifies_no_one_again() {
    let w = World::new();
    let (t, _) = w.technicien("tech");
    let e = w.equipement("Pompe", None);
    let i = w.intervention(&e, Some(t));
    let ev = event("assigned", &i, w.clock_now());
    assert_eq!(run(&w, &ev, &i, &NotificationConfig::default()), 1);
    w.clock.advance(chrono::Duration::minutes(1));
    assert_eq!(run(&w, &ev, &i, &NotificationConfig::default()), 0);
    let later = event("assigned", &i, w.clock_now());
    assert_eq!(
        run(&w, &later, &i, &NotificationConfig::default()),
        1,
        "a new occurrence"
    );
}

#[test]
fn event_notifications_use_email_and_queue_it_only_when_delivery_is_on() {
    for enabled in [false, true] {
        let w = World::new();
        let (t, _) = w.technicien("tech");
        let e = w.equipement("Pompe", None);
        let i = w.intervention(&e, Some(t));
        let config = NotificationConfig {
            email_enabled: enabled,
            ..NotificationConfig::default()
        };
        run(&w, &event("assigned", &i, w.clock_now()), &i, &config);
        let s = w.db.snapshot();
        let n = &s.notifications[0].notification;
        let expected = if enabled {
            CanalNotification::Email
        } else {
            CanalNotification::Log
        };
        assert_eq!(n.canal, expected);
        assert_eq!(event_channel(&config), expected);
        assert_eq!(n.type_notification, TypeNotification::Affectation);
        assert_eq!(n.intervention_id, Some(i.id()));
        assert_eq!(s.outbox.len(), usize::from(enabled));
        assert!(s.notifications[0].dedup_key.is_some());
    }
}

#[test]
fn only_assignments_and_closures_are_lifecycle_events() {
    let w = World::new();
    let (t, _) = w.technicien("tech");
    let e = w.equipement("Pompe", None);
    let i = w.intervention(&e, Some(t));
    for action in [
        ActionHistorique::Affectation,
        ActionHistorique::Reaffectation,
    ] {
        assert!(
            matches!(
                lifecycle_event(action, &i),
                Some(DomainEvent::Assigned { .. })
            ),
            "{action}"
        );
    }
    for action in [
        ActionHistorique::Creation,
        ActionHistorique::Demarrage,
        ActionHistorique::Suspension,
        ActionHistorique::Annulation,
        ActionHistorique::ValidationClient,
    ] {
        assert_eq!(lifecycle_event(action, &i), None, "{action}");
    }
    assert_eq!(
        lifecycle_event(ActionHistorique::Cloture, &i),
        None,
        "no closure date: no event"
    );
}
