//! First run (D2): on an empty database, create the bootstrap `admin` account.

use erp_domain::UserId;
use erp_domain::clock::Clock;
use erp_domain::password::{self, PlainPassword};
use erp_domain::ports::{
    PasswordHasher, RepoError, SecretGenerator, TransactionMode, TransactionRunner, UniqueKey,
};
use erp_domain::user::{Email, FullName, NewUser, UserRole, Username};

use erp_domain::audit::{AuditContext, AuditEventType, AuditFilter};
use erp_domain::list::Page;
use serde_json::json;

use crate::app::Audit;
use crate::error::AppError;
use crate::tx::transaction;

/// Identity of the bootstrap administrator.
#[derive(Debug, Clone)]
pub struct BootstrapAdmin {
    /// Login name (`admin` by default).
    pub username: String,
    /// E-mail address.
    pub email: String,
    /// Password from `ERP_BOOTSTRAP_ADMIN_PASSWORD`; generated when `None`.
    pub password: Option<PlainPassword>,
}

/// What the bootstrap did.
#[derive(Debug)]
pub enum BootstrapOutcome {
    /// The database already had users: nothing was created.
    AlreadyInitialised,
    /// The admin was created. `generated_password` is set when the password was generated and
    /// must be shown once to the operator.
    Created {
        /// Id of the new admin.
        id: UserId,
        /// The generated password, when none was provided.
        generated_password: Option<PlainPassword>,
    },
}

/// Ports the bootstrap needs.
#[derive(Debug, Clone, Copy)]
pub struct BootstrapDeps<'a> {
    /// Database.
    pub db: &'a dyn TransactionRunner,
    /// Hasher for the password.
    pub hasher: &'a dyn PasswordHasher,
    /// Source of random passwords.
    pub secrets: &'a dyn SecretGenerator,
    /// Clock.
    pub clock: &'a dyn Clock,
}

/// Creates the bootstrap admin when the `users` table is empty; does nothing otherwise.
///
/// # Errors
/// [`AppError::Invalid`] when the provided identity or password breaks the rules (the
/// password policy included); storage errors.
pub fn ensure_bootstrap_admin(
    deps: BootstrapDeps<'_>,
    admin: BootstrapAdmin,
) -> Result<BootstrapOutcome, AppError> {
    let username = Username::parse("username", &admin.username)?;
    let email = Email::parse("email", &admin.email)?;
    let (plain, generated) = match admin.password {
        Some(p) => (p, false),
        None => (deps.secrets.strong_password(), true),
    };
    if let Err(violations) = password::check_policy("password", &plain) {
        return Err(AppError::Invalid {
            message: Some(password::policy_message(&violations)),
            violations,
        });
    }
    // Hash before opening the transaction: the slow part never holds a database lock.
    let hash = deps.hasher.hash(&plain)?;
    let now = deps.clock.now();
    let full_name = Some(FullName::parse("full_name", "Administrateur")?);
    let created = transaction(deps.db, TransactionMode::ReadWrite, |uow| {
        if uow.count_users()? > 0 {
            return Ok(None);
        }
        let user = uow.insert_user(&NewUser {
            username,
            email,
            full_name,
            password_hash: hash,
            role: UserRole::Admin,
            is_active: true,
            client_id: None,
            now,
        })?;
        Ok(Some(user.id))
    });
    let created = match created {
        Ok(created) => created,
        // Replicas starting together on an empty database (D15): on PostgreSQL each counts no
        // user, and the unique username lets one insert win; the others were too late.
        Err(RepoError::Duplicate(UniqueKey::Username | UniqueKey::Email)) => {
            tracing::info!("bootstrap admin account created by another replica");
            None
        }
        Err(e) => return Err(e.into()),
    };
    Ok(match created {
        None => BootstrapOutcome::AlreadyInitialised,
        Some(id) => {
            tracing::info!(user_id = id.get(), "bootstrap admin account created");
            BootstrapOutcome::Created {
                id,
                generated_password: generated.then_some(plain),
            }
        }
    })
}

/// `resource` of the audit events that record the token signing key in use.
pub const SIGNING_KEY_RESOURCE: &str = "signing_key";

/// How far back [`record_signing_key`] looks for the previous signing-key event.
const KEY_EVENTS_SCANNED: i64 = 200;

/// Records a `system.key.rotation` audit event when the token signing key (`algorithm`, `kid`)
/// differs from the one the last such event names — at the first start, and after every key
/// change (API.md §3.11: "signing-key change"). Returns whether an event was written.
///
/// Two replicas starting together with a new key may both record it; the trail then shows the
/// change twice, which is harmless.
///
/// # Errors
/// Storage failures.
pub fn record_signing_key(
    db: &dyn TransactionRunner,
    clock: &dyn Clock,
    algorithm: &str,
    kid: &str,
) -> Result<bool, AppError> {
    let now = clock.now();
    let recorded = transaction(db, TransactionMode::ReadWrite, |uow| {
        let filter = AuditFilter {
            event_types: vec![AuditEventType::KeyRotation],
            ..AuditFilter::default()
        };
        let recent = uow.list_audit(
            &filter,
            Page {
                limit: KEY_EVENTS_SCANNED,
                offset: 0,
            },
        )?;
        let previous = recent.items.iter().map(|e| &e.event).find(|e| {
            e.event_type == AuditEventType::KeyRotation
                && e.resource.as_deref() == Some(SIGNING_KEY_RESOURCE)
        });
        let previous_kid = previous.and_then(|e| e.details.as_ref()?.get("kid")?.as_str());
        if previous_kid == Some(kid) {
            return Ok::<_, AppError>(None);
        }
        let audit = Audit::new(
            AuditEventType::KeyRotation,
            true,
            &AuditContext::default(),
            now,
        )
        .resource(SIGNING_KEY_RESOURCE.into())
        .action(if previous.is_some() {
            "signing-key-change"
        } else {
            "signing-key-initial"
        })
        .details(json!({
            "algorithm": algorithm,
            "kid": kid,
            "previous_kid": previous_kid,
        }));
        uow.append_audit(&audit.event)?;
        Ok(Some(audit.event))
    })?;
    // Like every audit event: counted and logged once committed.
    if let Some(event) = &recorded {
        crate::app::log_event(event);
    }
    Ok(recorded.is_some())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;
    use erp_domain::clock::FixedClock;
    use erp_domain::password::PasswordHash;
    use erp_domain::ports::HashError;

    use super::*;

    mod first_run;
    use crate::fakes::FakeDb;

    /// Records the plaintext it was given, so tests can check what was hashed.
    #[derive(Debug, Default)]
    struct FakeHasher;

    impl PasswordHasher for FakeHasher {
        fn hash(&self, p: &PlainPassword) -> Result<PasswordHash, HashError> {
            Ok(PasswordHash::from_phc(format!("fake${}", p.expose())))
        }
        fn verify(&self, p: &PlainPassword, h: &PasswordHash) -> Result<bool, HashError> {
            Ok(h.as_phc() == format!("fake${}", p.expose()))
        }
    }

    #[derive(Debug)]
    struct FixedSecrets;

    impl SecretGenerator for FixedSecrets {
        fn strong_password(&self) -> PlainPassword {
            PlainPassword::new("Generated#Pass2026")
        }
    }

    fn deps(db: &FakeDb) -> BootstrapDeps<'_> {
        static CLOCK: std::sync::LazyLock<FixedClock> = std::sync::LazyLock::new(|| {
            FixedClock(
                chrono::Utc
                    .with_ymd_and_hms(2026, 1, 31, 8, 0, 0)
                    .single()
                    .unwrap(),
            )
        });
        BootstrapDeps {
            db,
            hasher: &FakeHasher,
            secrets: &FixedSecrets,
            clock: &*CLOCK,
        }
    }

    fn admin(password: Option<&str>) -> BootstrapAdmin {
        BootstrapAdmin {
            username: "admin".into(),
            email: "admin@erp-mif.local".into(),
            password: password.map(PlainPassword::new),
        }
    }

    #[test]
    fn an_empty_database_gets_an_admin_with_a_generated_password_shown_once() {
        let db = FakeDb::default();
        let outcome = ensure_bootstrap_admin(deps(&db), admin(None)).unwrap();
        let BootstrapOutcome::Created {
            generated_password: Some(p),
            ..
        } = outcome
        else {
            panic!("expected a generated password, got {outcome:?}");
        };
        assert_eq!(p.expose(), "Generated#Pass2026");
        let users = db.snapshot().users;
        assert_eq!(users.len(), 1);
        assert_eq!(users[0].role, UserRole::Admin);
        assert!(users[0].is_active);
        assert_eq!(users[0].password_hash.as_phc(), "fake$Generated#Pass2026");
    }

    #[test]
    fn a_provided_password_is_used_and_not_returned() {
        let db = FakeDb::default();
        let outcome = ensure_bootstrap_admin(deps(&db), admin(Some("Maintenance#2026x"))).unwrap();
        assert!(matches!(
            outcome,
            BootstrapOutcome::Created {
                generated_password: None,
                ..
            }
        ));
        assert_eq!(
            db.snapshot().users[0].password_hash.as_phc(),
            "fake$Maintenance#2026x"
        );
    }

    #[test]
    fn a_database_with_users_is_left_alone() {
        let db = FakeDb::default();
        ensure_bootstrap_admin(deps(&db), admin(None)).unwrap();
        let again = ensure_bootstrap_admin(deps(&db), admin(Some("Maintenance#2026x"))).unwrap();
        assert!(matches!(again, BootstrapOutcome::AlreadyInitialised));
        assert_eq!(db.snapshot().users.len(), 1);
    }

    #[test]
    fn a_weak_provided_password_is_refused_with_every_failing_rule() {
        let db = FakeDb::default();
        let err = ensure_bootstrap_admin(deps(&db), admin(Some("admin"))).unwrap_err();
        let AppError::Invalid {
            message,
            violations,
        } = err
        else {
            panic!("{err:?}")
        };
        assert!(message.unwrap().starts_with("Mot de passe invalide: "));
        assert_eq!(violations.len(), 4);
        assert!(db.snapshot().users.is_empty(), "nothing is created");
    }

    #[test]
    fn an_invalid_identity_is_refused() {
        let db = FakeDb::default();
        let mut a = admin(None);
        a.email = "not-an-email".into();
        assert!(matches!(
            ensure_bootstrap_admin(deps(&db), a),
            Err(AppError::Invalid { .. })
        ));
    }

    #[test]
    fn the_signing_key_is_recorded_at_first_start_and_on_every_change_only() {
        let db = FakeDb::default();
        let clock = deps(&db).clock;
        assert!(record_signing_key(&db, clock, "RS256", "aaaa").unwrap());
        assert!(
            !record_signing_key(&db, clock, "RS256", "aaaa").unwrap(),
            "same key: nothing"
        );
        assert!(record_signing_key(&db, clock, "RS256", "bbbb").unwrap());
        assert!(!record_signing_key(&db, clock, "RS256", "bbbb").unwrap());
        let events = db.snapshot().audit;
        assert_eq!(events.len(), 2);
        assert!(
            events
                .iter()
                .all(|e| e.event_type == AuditEventType::KeyRotation
                    && e.resource.as_deref() == Some(SIGNING_KEY_RESOURCE))
        );
        assert_eq!(events[0].action.as_deref(), Some("signing-key-initial"));
        assert_eq!(
            events[0].details.as_ref().unwrap()["previous_kid"],
            serde_json::Value::Null
        );
        assert_eq!(events[1].action.as_deref(), Some("signing-key-change"));
        assert_eq!(events[1].details.as_ref().unwrap()["kid"], "bbbb");
        assert_eq!(events[1].details.as_ref().unwrap()["previous_kid"], "aaaa");
    }
}
