//! Readiness: ready only with the database up, the migrations applied and no drain.

use super::FakeProbe;
use crate::health::{CheckStatus, Readiness, check_database};

#[test]
fn ready_needs_every_check_and_no_drain() {
    let cases = [
        (true, 0, false, true),
        (true, 0, true, false),
        (true, 1, false, false),
        (false, 0, false, false),
    ];
    for (up, pending, draining, ready) in cases {
        let (database, migrations) = check_database(&FakeProbe { up, pending });
        let r = Readiness {
            timestamp: crate::fakes::ports::start(),
            database,
            migrations,
            draining,
        };
        assert_eq!(
            r.is_ready(),
            ready,
            "up {up}, pending {pending}, draining {draining}"
        );
    }
}

#[test]
fn a_healthy_database_reports_its_latency_and_message() {
    let (db, mig) = check_database(&FakeProbe {
        up: true,
        pending: 0,
    });
    assert_eq!(db.latency, Some(std::time::Duration::from_millis(1)));
    assert_eq!(db.message(), "Connexion à la base de données réussie");
    assert_eq!(mig.counts.map(|c| c.applied), Some(1));
    assert_eq!(CheckStatus::Warning.as_str(), "warning");
    let (db, mig) = check_database(&FakeProbe {
        up: false,
        pending: 0,
    });
    assert_eq!(db.latency, None);
    assert_eq!(mig.message(), "État des migrations inconnu");
}
