//! The unit of work with its audit log: a refusal commits what was written before it (its
//! audit rows, its counters), an error rolls everything back.

use erp_domain::audit::AuditEventType;
use erp_domain::ports::NewClient;

use crate::AppError;
use crate::app::{Audit, Outcome};
use crate::fakes::world::{World, ctx};

/// What the unit of work decides after writing.
type Decide = fn() -> Result<Outcome<()>, AppError>;

fn write(w: &World, outcome: Decide) -> Result<(), AppError> {
    let now = w.clock_now();
    w.app.audited(|uow, log| {
        uow.insert_client(&NewClient {
            nom_entreprise: "SA".into(),
            email: None,
            now,
        })?;
        log.push(
            uow,
            Audit::new(AuditEventType::AdminAction, false, &ctx(), now),
        )?;
        outcome()
    })
}

#[test]
fn done_and_refused_commit_and_an_error_rolls_back() {
    let cases: [(&str, Decide, bool); 3] = [
        ("done", || Ok(Outcome::Done(())), true),
        (
            "refused",
            || Ok(Outcome::Refused(AppError::conflict("non".into()))),
            true,
        ),
        ("error", || Err(AppError::conflict("non".into())), false),
    ];
    for (case, outcome, kept) in cases {
        let w = World::new();
        let res = write(&w, outcome);
        assert_eq!(res.is_ok(), case == "done", "{case}");
        let s = w.db.snapshot();
        assert_eq!(s.clients.len(), usize::from(kept), "{case}");
        assert_eq!(s.audit.len(), usize::from(kept), "{case}");
    }
}

#[test]
fn an_audit_alone_is_written_with_its_context_and_user() {
    let w = World::new();
    let me = w.caller(erp_domain::UserRole::Admin);
    w.app.audit_alone(
        Audit::new(AuditEventType::RbacViolation, false, &ctx(), w.clock_now())
            .user(me.user.id, me.user.username.as_str())
            .username(&"x".repeat(300)),
    );
    let e = w.last_audit();
    assert_eq!(e.user_id, Some(me.user.id));
    assert_eq!(
        e.username.map(|u| u.chars().count()),
        Some(255),
        "usernames are cut at 255"
    );
    assert_eq!(e.context, ctx());
    assert_eq!(e.occurred_at, w.clock_now());
}
