//! The dashboard: every role reads it, scoped by audience (global, the technicien's profile,
//! the client's account), with six months; the per-(statut, type) counts with their zeros.

use erp_domain::UserRole;
use erp_domain::dashboard::DashboardScope;
use erp_domain::enums::{InterventionType, StatutIntervention};

use crate::dashboard::DashboardAudience;
use crate::fakes::world::World;

#[test]
fn each_role_gets_its_audience_and_scope() {
    let w = World::new();
    let (t, tech) = w.technicien("tech");
    let bare = w.caller_named(UserRole::Technicien, "sansfiche");
    let client = w.caller(UserRole::Client);
    let cases = [
        (w.caller(UserRole::Admin), "global", DashboardScope::Global),
        (
            w.caller(UserRole::Responsable),
            "global",
            DashboardScope::Global,
        ),
        (tech, "technicien", DashboardScope::Technicien(Some(t))),
        (bare, "technicien", DashboardScope::Technicien(None)),
        (
            client.clone(),
            "client",
            DashboardScope::Client(client.user.client_id),
        ),
    ];
    for (caller, portee, scope) in cases {
        let d = w.app.dashboard(&caller).unwrap();
        assert_eq!(d.portee, portee, "{}", caller.user.username.as_str());
        assert_eq!(w.db.snapshot().dashboard_scopes.last(), Some(&scope));
        assert_eq!(d.months.len(), 6);
        assert_eq!(d.generated_at, w.clock_now());
    }
}

#[test]
fn audiences_group_callers_who_see_the_same_dashboard() {
    let w = World::new();
    let admin = w.caller(UserRole::Admin);
    let resp = w.caller(UserRole::Responsable);
    let tech = w.caller(UserRole::Technicien);
    let client = w.caller(UserRole::Client);
    assert_eq!(DashboardAudience::of(&admin), DashboardAudience::of(&resp));
    assert_eq!(
        DashboardAudience::of(&tech),
        DashboardAudience::Technicien(tech.user.id)
    );
    assert_eq!(
        DashboardAudience::of(&client),
        DashboardAudience::Client(client.user.client_id)
    );
}

#[test]
fn the_months_run_from_five_months_ago_to_this_one() {
    let w = World::new();
    w.clock.set(crate::fakes::ports::at(2026, 1, 15, 12));
    let admin = w.caller(UserRole::Admin);
    let d = w.app.dashboard(&admin).unwrap();
    let labels: Vec<String> = d
        .months
        .iter()
        .map(|m| m.format("%Y-%m-%d").to_string())
        .collect();
    assert_eq!(
        labels,
        [
            "2025-08-01",
            "2025-09-01",
            "2025-10-01",
            "2025-11-01",
            "2025-12-01",
            "2026-01-01"
        ]
    );
}

#[test]
fn intervention_counts_cover_every_pair_with_zeros() {
    let w = World::new();
    let e = w.equipement("Pompe", None);
    let (t, _) = w.technicien("tech");
    w.intervention(&e, None);
    w.intervention(&e, None);
    w.intervention(&e, Some(t));
    let counts = w.app.intervention_counts().unwrap();
    assert_eq!(
        counts.len(),
        StatutIntervention::ALL.len() * InterventionType::ALL.len()
    );
    let n = |s, t| {
        counts
            .iter()
            .find(|(cs, ct, _)| *cs == s && *ct == t)
            .unwrap()
            .2
    };
    assert_eq!(
        n(StatutIntervention::Ouverte, InterventionType::Corrective),
        2
    );
    assert_eq!(
        n(StatutIntervention::Affectee, InterventionType::Corrective),
        1
    );
    assert_eq!(
        n(StatutIntervention::Ouverte, InterventionType::Preventive),
        0
    );
    assert_eq!(counts.iter().map(|c| c.2).sum::<i64>(), 3);
}
