//! The demo data set: built through the use cases (so every intervention has its history),
//! with the documented accounts, once.

use erp_domain::enums::StatutPlanning;
use erp_domain::password::PlainPassword;

use super::{DEMO_ACCOUNTS, SeedReport};
use crate::auth::LoginInput;
use crate::fakes::world::{World, ctx};

fn seed(w: &World, interventions: usize) -> SeedReport {
    let clock = w.clock.clone();
    let now = w.clock_now();
    let report = w
        .app
        .seed_demo(now, &move |t| clock.set(t), interventions, 1)
        .unwrap();
    w.clock.set(now);
    report
}

#[test]
fn the_demo_set_is_built_once() {
    let w = World::new();
    let report = seed(&w, 24);
    assert_eq!(
        report,
        SeedReport {
            created: true,
            users: 11,
            techniciens: 8,
            equipements: 20,
            interventions: 24,
            plannings: 6,
        }
    );
    let s = w.db.snapshot();
    assert_eq!(s.users.len(), 11);
    assert_eq!(s.plannings.len(), 6);
    assert_eq!(
        s.plannings
            .iter()
            .filter(|p| p.fields.statut == StatutPlanning::Suspendu)
            .count(),
        1
    );
    assert!(
        s.interventions.len() > 24,
        "the scheduler generated the due preventive occurrences"
    );
    let again = seed(&w, 24);
    assert_eq!(again, SeedReport::default());
    assert_eq!(w.db.snapshot().interventions.len(), s.interventions.len());
}

#[test]
fn every_seeded_intervention_has_its_history() {
    let w = World::new();
    seed(&w, 16);
    let s = w.db.snapshot();
    for i in &s.interventions {
        let id = crate::fakes::work_ids::id_of(i);
        assert!(
            s.history.iter().any(|h| h.intervention_id == id),
            "intervention {id} has no history"
        );
    }
    assert!(
        s.history.len() > s.interventions.len(),
        "lifecycle actions were applied"
    );
}

#[test]
fn the_documented_demo_accounts_log_in() {
    let w = World::new();
    seed(&w, 4);
    for (username, password, role) in DEMO_ACCOUNTS {
        let pair = w.app.login(LoginInput {
            identifier: username.into(),
            password: PlainPassword::new(password),
            context: ctx(),
        });
        assert!(pair.is_ok(), "{username} ({role})");
    }
}
