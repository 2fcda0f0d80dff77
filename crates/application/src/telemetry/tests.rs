//! The metric families: names and labels as API.md §3.1 lists them, recorded by the use
//! cases at the right moments (a lockout, a statut change, a skipped job).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use erp_domain::UserRole;
use erp_domain::enums::{InterventionType, StatutIntervention};
use erp_domain::password::PlainPassword;
use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};

use crate::auth::LoginInput;
use crate::fakes::world::{PASSWORD, World, ctx};

/// Every counter's total and every gauge's value, by `name{label=value,…}`.
#[derive(Debug, Default, Clone)]
struct Recorded(Arc<Mutex<BTreeMap<String, f64>>>);

struct Cell(Recorded, String);

impl CounterFn for Cell {
    fn increment(&self, value: u64) {
        #[expect(clippy::cast_precision_loss, reason = "small test counts")]
        let v = value as f64;
        *self.0.0.lock().unwrap().entry(self.1.clone()).or_default() += v;
    }
    fn absolute(&self, value: u64) {
        #[expect(clippy::cast_precision_loss, reason = "small test counts")]
        let v = value as f64;
        self.0.0.lock().unwrap().insert(self.1.clone(), v);
    }
}

impl GaugeFn for Cell {
    fn increment(&self, value: f64) {
        *self.0.0.lock().unwrap().entry(self.1.clone()).or_default() += value;
    }
    fn decrement(&self, value: f64) {
        *self.0.0.lock().unwrap().entry(self.1.clone()).or_default() -= value;
    }
    fn set(&self, value: f64) {
        self.0.0.lock().unwrap().insert(self.1.clone(), value);
    }
}

impl HistogramFn for Cell {
    fn record(&self, _: f64) {}
}

fn name(key: &Key) -> String {
    let labels: Vec<String> = key
        .labels()
        .map(|l| format!("{}={}", l.key(), l.value()))
        .collect();
    format!("{}{{{}}}", key.name(), labels.join(","))
}

impl Recorder for Recorded {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(Arc::new(Cell(self.clone(), name(key))))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(Arc::new(Cell(self.clone(), name(key))))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(Arc::new(Cell(self.clone(), name(key))))
    }
}

fn recorded(work: impl FnOnce()) -> BTreeMap<String, f64> {
    let r = Recorded::default();
    metrics::with_local_recorder(&r, work);
    r.0.lock().unwrap().clone()
}

#[test]
fn only_real_statut_changes_are_transitions() {
    let m = recorded(|| {
        super::transition(StatutIntervention::Ouverte, StatutIntervention::Affectee);
        super::transition(StatutIntervention::Cloturee, StatutIntervention::Cloturee);
    });
    assert_eq!(
        m.keys().collect::<Vec<_>>(),
        ["interventions_transitions_total{from_statut=ouverte,to_statut=affectee}"]
    );
}

#[test]
fn each_family_has_its_name_and_labels() {
    let m = recorded(|| {
        super::intervention_created(InterventionType::Preventive);
        super::document_uploaded("pdf");
        super::document_downloaded();
        super::scheduler_run("job", "skipped");
        super::outbox_pending(3);
        super::security_event("auth.login.success");
    });
    let expected = [
        ("documents_downloaded_total{}", 1.0),
        ("documents_uploaded_total{extension=pdf}", 1.0),
        ("interventions_created_total{type=preventive}", 1.0),
        ("outbox_pending{}", 3.0),
        ("scheduler_runs_total{job=job,result=skipped}", 1.0),
        ("security_events_total{event_type=auth.login.success}", 1.0),
    ];
    let got: Vec<(&str, f64)> = m.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(got, expected);
}

#[test]
fn logins_count_success_failure_and_lockout() {
    let w = World::new();
    w.user(UserRole::Technicien, "karim");
    let attempt = |password: &str| {
        let _ = w.app.login(LoginInput {
            identifier: "karim".into(),
            password: PlainPassword::new(password),
            context: ctx(),
        });
    };
    let m = recorded(|| {
        attempt(PASSWORD);
        for _ in 0..5 {
            attempt("Wrong#Password1");
        }
        attempt(PASSWORD);
    });
    assert_eq!(
        m["auth_attempts_total{method=password,result=success}"],
        1.0
    );
    assert_eq!(
        m["auth_attempts_total{method=password,result=failure}"],
        5.0
    );
    assert_eq!(m["auth_attempts_total{method=password,result=locked}"], 1.0);
    assert_eq!(m["auth_lockouts_total{scope=username}"], 1.0);
    assert_eq!(m["auth_tokens_issued_total{kind=access}"], 1.0);
}

#[test]
fn a_job_skipped_for_a_lease_held_elsewhere_is_counted_as_such() {
    let w = World::new();
    let ttl = chrono::Duration::minutes(1);
    let m = recorded(|| {
        w.app.run_leased("job", "r1", ttl, |_| Ok(())).unwrap();
        w.app.run_leased("job", "r2", ttl, |_| Ok(())).unwrap();
        let _ = w.app.run_leased("job", "r1", ttl, |_| {
            Err::<(), _>(crate::AppError::Internal("x".into()))
        });
    });
    assert_eq!(m["scheduler_runs_total{job=job,result=success}"], 1.0);
    assert_eq!(m["scheduler_runs_total{job=job,result=skipped}"], 1.0);
    assert_eq!(m["scheduler_runs_total{job=job,result=failure}"], 1.0);
}
