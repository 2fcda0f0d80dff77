//! The application: the ports every use case reaches, assembled once by the server.

use std::sync::Arc;

use erp_domain::audit::{AuditContext, AuditEventType, NewAuditEvent};
use erp_domain::clock::Clock;
use erp_domain::password::{PasswordHash, PlainPassword};
use erp_domain::ports::{
    DocumentVault, OpaqueTokens, PasswordHasher, SecretGenerator, TokenIssuer, TokenVerifier,
    TransactionMode, TransactionRunner, UnitOfWork,
};
use erp_domain::{SessionId, User, UserId};

use crate::error::AppError;
use crate::tx::transaction;

/// Identity settings.
#[derive(Debug, Clone)]
pub struct IdentityConfig {
    /// Lifetime of refresh tokens (7 days by default).
    pub refresh_ttl: chrono::Duration,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            refresh_ttl: chrono::Duration::days(7),
        }
    }
}

/// How notifications are delivered (D8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NotificationConfig {
    /// E-mail delivery is on: domain-event notifications use `canal = email` and queue an
    /// outbox message; otherwise `canal = log`.
    pub email_enabled: bool,
    /// Outbox retries.
    pub retry: erp_domain::notification::RetryPolicy,
}

/// The ports of the application.
#[derive(Debug, Clone)]
pub struct Ports {
    /// Storage.
    pub db: Arc<dyn TransactionRunner>,
    /// Password hashing (bounded).
    pub hasher: Arc<dyn PasswordHasher>,
    /// Access-token signing.
    pub issuer: Arc<dyn TokenIssuer>,
    /// Access-token verification.
    pub verifier: Arc<dyn TokenVerifier>,
    /// Refresh tokens.
    pub opaque: Arc<dyn OpaqueTokens>,
    /// Random passwords.
    pub secrets: Arc<dyn SecretGenerator>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Encrypted document blobs.
    pub documents: Arc<dyn DocumentVault>,
}

/// Every use case hangs off this value; cheap to clone.
#[derive(Debug, Clone)]
pub struct Application {
    pub(crate) ports: Ports,
    pub(crate) config: IdentityConfig,
    pub(crate) notifications: NotificationConfig,
    /// A hash of a random password, verified when the login identifier is unknown so that an
    /// unknown user and a wrong password take the same time.
    pub(crate) dummy_hash: PasswordHash,
    /// Upload limits and allow-list ([`Self::with_document_policy`]).
    pub(crate) documents: crate::documents::DocumentPolicy,
}

impl Application {
    /// Assembles the application.
    ///
    /// # Errors
    /// [`AppError::Internal`] if the hasher cannot produce the timing-equaliser hash.
    pub fn new(ports: Ports, config: IdentityConfig) -> Result<Self, AppError> {
        // A one-off: its Argon2 memory is not kept (19 MiB of idle RSS otherwise).
        let dummy_hash = ports.hasher.hash_once(&ports.secrets.strong_password())?;
        Ok(Self {
            ports,
            config,
            notifications: NotificationConfig::default(),
            dummy_hash,
            documents: crate::documents::DocumentPolicy::default(),
        })
    }

    /// Sets how notifications are delivered.
    #[must_use]
    pub const fn with_notifications(mut self, config: NotificationConfig) -> Self {
        self.notifications = config;
        self
    }

    /// The clock.
    #[must_use]
    pub fn clock(&self) -> &dyn Clock {
        self.ports.clock.as_ref()
    }

    /// The clock, shared.
    #[must_use]
    pub fn clock_arc(&self) -> Arc<dyn Clock> {
        Arc::clone(&self.ports.clock)
    }

    /// The database (for probes and tests).
    #[must_use]
    pub fn db(&self) -> &dyn TransactionRunner {
        self.ports.db.as_ref()
    }
}

/// The authenticated caller of a request: the session's user as stored now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The user, with their current role.
    pub user: User,
    /// The session the access token belongs to.
    pub session_id: SessionId,
}

/// What a unit of work decided.
pub(crate) enum Outcome<T> {
    /// Commit and return the value.
    Done(T),
    /// Commit (the audit rows and counters written so far) and return the error.
    Refused(AppError),
}

/// Builder for one audit event.
pub(crate) struct Audit {
    pub(crate) event: NewAuditEvent,
}

impl Audit {
    pub(crate) fn new(
        event_type: AuditEventType,
        success: bool,
        ctx: &AuditContext,
        at: erp_domain::Timestamp,
    ) -> Self {
        Self {
            event: NewAuditEvent {
                occurred_at: at,
                event_type,
                success,
                user_id: None,
                username: None,
                context: ctx.clone(),
                resource: None,
                action: None,
                details: None,
            },
        }
    }

    pub(crate) fn user(mut self, id: UserId, username: &str) -> Self {
        self.event.user_id = Some(id);
        self.event.username = Some(username.to_owned());
        self
    }

    pub(crate) fn username(mut self, username: &str) -> Self {
        self.event.username = Some(username.chars().take(255).collect());
        self
    }

    pub(crate) fn resource(mut self, resource: String) -> Self {
        self.event.resource = Some(resource);
        self
    }

    pub(crate) fn action(mut self, action: &str) -> Self {
        self.event.action = Some(action.to_owned());
        self
    }

    pub(crate) fn details(mut self, details: serde_json::Value) -> Self {
        self.event.details = Some(details);
        self
    }
}

/// Audit events written in a transaction, logged once it commits.
#[derive(Default)]
pub(crate) struct AuditLog {
    events: Vec<NewAuditEvent>,
}

impl AuditLog {
    pub(crate) fn push(&mut self, uow: &mut dyn UnitOfWork, audit: Audit) -> Result<(), AppError> {
        uow.append_audit(&audit.event)?;
        self.events.push(audit.event);
        Ok(())
    }
}

pub(crate) fn log_event(e: &NewAuditEvent) {
    crate::telemetry::security_event(e.event_type.as_str());
    tracing::info!(
        target: "audit",
        event_type = e.event_type.as_str(),
        success = e.success,
        user_id = e.user_id.map(UserId::get),
        username = e.username.as_deref(),
        ip_address = e.context.ip_address.as_deref(),
        user_agent = e.context.user_agent.as_deref(),
        request_id = e.context.request_id.as_deref(),
        resource = e.resource.as_deref(),
        action = e.action.as_deref(),
        details = e.details.as_ref().map(ToString::to_string),
        "audit event"
    );
}

impl Application {
    /// Runs `work` in one read-write transaction with an audit log; commits on `Done` and on
    /// `Refused` (so that refusals leave their audit rows and counters), rolls back on `Err`.
    /// Audit events are emitted as JSON log lines after the commit.
    pub(crate) fn audited<T>(
        &self,
        work: impl FnOnce(&mut dyn UnitOfWork, &mut AuditLog) -> Result<Outcome<T>, AppError>,
    ) -> Result<T, AppError> {
        let mut log = AuditLog::default();
        let outcome = transaction(self.ports.db.as_ref(), TransactionMode::ReadWrite, |uow| {
            work(uow, &mut log)
        });
        if outcome.is_ok() {
            log.events.iter().for_each(log_event);
        }
        match outcome? {
            Outcome::Done(value) => Ok(value),
            Outcome::Refused(error) => Err(error),
        }
    }

    /// Writes one audit event in its own transaction (denials, invalid tokens).
    pub(crate) fn audit_alone(&self, audit: Audit) {
        let result = self.audited(|uow, log| {
            log.push(uow, audit)?;
            Ok(Outcome::Done(()))
        });
        if let Err(e) = result {
            tracing::error!(error = %e, "could not write an audit event");
        }
    }

    /// Hashes a password (bounded by the hasher).
    /// Gives back the password hasher's pooled working memory (19 MiB per concurrent hash):
    /// the HTTP layer calls it after a hashing request when no other one waits for a slot.
    pub fn release_hashing_memory(&self) {
        self.ports.hasher.release_memory();
    }

    pub(crate) fn hash(&self, password: &PlainPassword) -> Result<PasswordHash, AppError> {
        Ok(self.ports.hasher.hash(password)?)
    }
}

#[cfg(test)]
mod tests;
