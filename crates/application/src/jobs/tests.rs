//! Leased jobs: one holder at a time, the outcome recorded with its error category only,
//! and the housekeeping run's cut-offs and orphan blobs.

use erp_domain::ports::PurgeReport;

use super::{ERROR_DATABASE, ERROR_INTERNAL, Retention, error_category};
use crate::error::AppError;
use crate::fakes::world::World;

const TTL: chrono::Duration = chrono::Duration::minutes(5);

#[test]
fn a_job_runs_only_under_its_lease() {
    let w = World::new();
    assert_eq!(
        w.app.run_leased("job", "r1", TTL, |_| Ok(1)).unwrap(),
        Some(1)
    );
    let mut ran = false;
    let other = w.app.run_leased("job", "r2", TTL, |_| {
        ran = true;
        Ok(2)
    });
    assert_eq!(other.unwrap(), None);
    assert!(!ran, "another replica holds the lease");
    assert_eq!(
        w.app.run_leased("job", "r1", TTL, |_| Ok(3)).unwrap(),
        Some(3),
        "renewed"
    );
    w.clock.advance(TTL);
    assert_eq!(
        w.app.run_leased("job", "r2", TTL, |_| Ok(4)).unwrap(),
        Some(4),
        "expired"
    );
}

#[test]
fn the_outcome_is_recorded_with_its_category_only() {
    let cases = [
        (AppError::Unavailable("pool".into()), ERROR_DATABASE),
        (
            AppError::Internal("storage failure: disk".into()),
            ERROR_DATABASE,
        ),
        (AppError::Internal("/secret/path".into()), ERROR_INTERNAL),
        (AppError::conflict("x".into()), ERROR_INTERNAL),
    ];
    for (error, category) in cases {
        let w = World::new();
        let res = w
            .app
            .run_leased("job", "r1", TTL, |_| Err::<(), _>(error.clone()));
        assert_eq!(res, Err(error.clone()));
        let status = w.app.job_status("job").unwrap().unwrap();
        assert_eq!(status.last_error.as_deref(), Some(category), "{error:?}");
        assert_eq!(status.last_error_at, Some(w.clock_now()));
        assert_eq!(status.last_success_at, None);
    }
    let w = World::new();
    w.app.run_leased("job", "r1", TTL, |_| Ok(())).unwrap();
    let status = w.app.job_status("job").unwrap().unwrap();
    assert_eq!(status.last_success_at, Some(w.clock_now()));
    assert_eq!(status.last_error, None);
    assert_eq!(w.app.job_status("other").unwrap(), None);
}

#[test]
fn recorded_errors_read_back_as_two_categories() {
    assert_eq!(error_category("database"), ERROR_DATABASE);
    assert_eq!(error_category("internal"), ERROR_INTERNAL);
    assert_eq!(error_category("old free text"), ERROR_INTERNAL);
}

#[test]
fn housekeeping_cut_offs_follow_the_retention() {
    let cases = [(0, None), (90, Some(chrono::Duration::days(90)))];
    for (days, audit) in cases {
        let w = World::new();
        let now = w.clock_now();
        w.app
            .run_housekeeping(Retention { audit_days: days })
            .unwrap();
        let c = w.db.snapshot().purges[0];
        assert_eq!(c.now, now);
        assert_eq!(c.sessions_before, now - chrono::Duration::days(30));
        assert_eq!(c.throttle_before, now - chrono::Duration::hours(24));
        assert_eq!(c.outbox_sent_before, now - chrono::Duration::days(30));
        assert_eq!(c.audit_before, audit.map(|d| now - d), "{days} days");
    }
}

#[test]
fn housekeeping_removes_only_old_blobs_no_row_names() {
    let w = World::new();
    w.db.with(|s| {
        s.purge_report = PurgeReport {
            sessions: 2,
            ..PurgeReport::default()
        };
    });
    w.vault.with(|v| {
        v.stale = vec!["orphan.enc".into(), "kept.enc".into()];
        v.blobs.insert("orphan.enc".into(), (vec![1], "k".into()));
        v.blobs.insert("kept.enc".into(), (vec![1], "k".into()));
    });
    w.document_row(erp_domain::intervention::InterventionId::new(1), "kept.enc");
    let report = w.app.run_housekeeping(Retention { audit_days: 0 }).unwrap();
    assert_eq!(report.sessions, 2);
    assert_eq!(report.blobs, 1);
    let left: Vec<String> = w.vault.with(|v| v.blobs.keys().cloned().collect());
    assert_eq!(left, ["kept.enc"]);
}
