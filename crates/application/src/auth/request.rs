//! What every authenticated request goes through: the bearer token checked against the stored
//! session and user, the role check, and the audit of refusals (403, 429).

use erp_domain::audit::{AuditContext, AuditEventType};
use erp_domain::ports::TransactionMode;
use serde_json::json;

use crate::app::{Application, Audit, Caller};
use crate::authz::{Action, authorize};
use crate::error::{AppError, AuthFailure};
use crate::tx::transaction;

impl Application {
    /// Authenticates a bearer token: signature and claims, then the session and its user as
    /// stored now (so a logout, a revocation or a deactivation on any replica counts at once).
    ///
    /// # Errors
    /// [`AuthFailure::InvalidToken`] or [`AuthFailure::UserDeactivated`]; both audited.
    pub fn authenticate(&self, token: &str, ctx: &AuditContext) -> Result<Caller, AppError> {
        let now = self.ports.clock.now();
        let invalid = |reason: String| {
            self.audit_alone(
                Audit::new(AuditEventType::TokenInvalid, false, ctx, now)
                    .action("authenticate")
                    .details(json!({"reason": reason})),
            );
            AppError::Unauthenticated(AuthFailure::InvalidToken)
        };
        let claims = self
            .ports
            .verifier
            .verify(token, now)
            .map_err(|e| invalid(e.0))?;
        let found = transaction(self.ports.db.as_ref(), TransactionMode::Autocommit, |uow| {
            uow.session_with_user(claims.session_id)
                .map_err(AppError::from)
        })?;
        let Some((session, user)) = found else {
            return Err(invalid("unknown session".into()));
        };
        if session.user_id != claims.user_id {
            return Err(invalid("session of another user".into()));
        }
        if !user.is_active {
            self.audit_alone(
                Audit::new(AuditEventType::TokenInvalid, false, ctx, now)
                    .user(user.id, user.username.as_str())
                    .action("authenticate")
                    .details(json!({"reason": "user_deactivated"})),
            );
            return Err(AppError::Unauthenticated(AuthFailure::UserDeactivated));
        }
        if !session.is_active(now) {
            return Err(invalid("session revoked or expired".into()));
        }
        Ok(Caller {
            user,
            session_id: session.id,
        })
    }

    /// The role check of a request: `action` allowed for the caller's role, else the 403,
    /// written to the audit trail (`rbac.violation`) before it is returned.
    ///
    /// # Errors
    /// The 403.
    pub fn authorize_request(
        &self,
        caller: &Caller,
        action: Action,
        ctx: &AuditContext,
    ) -> Result<(), AppError> {
        authorize(caller.user.role, action).inspect_err(|e| self.record_denial(caller, e, ctx))
    }

    /// Writes the `rbac.violation` of a 403 (its own transaction).
    pub fn record_denial(&self, caller: &Caller, error: &AppError, ctx: &AuditContext) {
        let AppError::Forbidden {
            message,
            required_roles,
        } = error
        else {
            return;
        };
        let details = if required_roles.is_empty() {
            json!({"reason": message})
        } else {
            json!({"required_roles": required_roles.iter().map(|r| r.as_str()).collect::<Vec<_>>()})
        };
        self.audit_alone(
            Audit::new(
                AuditEventType::RbacViolation,
                false,
                ctx,
                self.ports.clock.now(),
            )
            .user(caller.user.id, caller.user.username.as_str())
            .details(details),
        );
    }

    /// Writes the `security.rate_limit.exceeded` event of an IP's first 429 in a window.
    pub fn record_rate_limited(&self, ctx: &AuditContext, limit: u32) {
        self.audit_alone(
            Audit::new(
                AuditEventType::RateLimitExceeded,
                false,
                ctx,
                self.ports.clock.now(),
            )
            .details(json!({"limit_per_minute": limit})),
        );
    }
}

#[cfg(test)]
mod tests;
