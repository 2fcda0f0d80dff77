//! Password changes: the policy check, the current-password check under the login throttle,
//! and the end of every session that follows a change.

use erp_domain::audit::{AuditContext, AuditEventType};
use erp_domain::password::{self, PlainPassword};
use erp_domain::ports::UnitOfWork;
use erp_domain::session::RevocationReason;
use erp_domain::{FieldViolation, Timestamp, User, ViolationCode};
use serde_json::json;

use super::throttle::{EVERY_SCOPE, Keys};
use crate::app::{Application, Audit, AuditLog, Caller, Outcome};
use crate::error::{AppError, AuthFailure};

impl Application {
    /// Checks a new password against the policy, auditing a violation.
    ///
    /// # Errors
    /// 422 with one `password_policy` detail per failing rule.
    pub(crate) fn check_policy(
        &self,
        field: &str,
        password: &PlainPassword,
        subject: Option<&User>,
        ctx: &AuditContext,
    ) -> Result<(), AppError> {
        let Err(violations) = password::check_policy(field, password) else {
            return Ok(());
        };
        let mut audit = Audit::new(
            AuditEventType::PasswordPolicyViolation,
            false,
            ctx,
            self.ports.clock.now(),
        )
        .details(json!({"rules": violations.len()}));
        if let Some(u) = subject {
            audit = audit.user(u.id, u.username.as_str());
        }
        self.audit_alone(audit);
        Err(AppError::Invalid {
            message: Some(password::policy_message(&violations)),
            violations,
        })
    }

    /// Verifies the caller's current password with the lockout rules of a login
    /// (`/auth/change-password`, `/users/update`).
    ///
    /// # Errors
    /// 429 while locked; 400 "Mot de passe actuel incorrect" (counted as a login failure).
    pub(crate) fn verify_current_password(
        &self,
        caller: &Caller,
        current: &PlainPassword,
        ctx: &AuditContext,
    ) -> Result<(), AppError> {
        let user = &caller.user;
        let keys = Keys::of(Some(user), user.username.as_str(), ctx);
        let now = self.ports.clock.now();
        let reserved = self.audited(|uow, log| {
            let reserved =
                Self::reserve_attempt(uow, log, &keys, user.username.as_str(), ctx, now)?;
            Ok(Outcome::Done(reserved))
        })?;
        let reserved = match reserved {
            Ok(reserved) => reserved,
            Err(lock) => return Err(self.refuse_locked(&keys, user.username.as_str(), ctx, lock)),
        };
        let matches = match self.ports.hasher.verify(current, &user.password_hash) {
            Ok(matches) => matches,
            Err(e) => return Err(self.refund_after_error(&keys, &reserved, e.into())),
        };
        let now = self.ports.clock.now();
        self.audited(|uow, log| {
            if matches {
                // Not a failure; the account's counter is kept (only a login clears it).
                Self::refund(uow, &keys, &reserved, &EVERY_SCOPE, now)?;
                return Ok(Outcome::Done(()));
            }
            log.push(
                uow,
                Audit::new(AuditEventType::LoginFailed, false, ctx, now)
                    .user(user.id, user.username.as_str())
                    .action("change_password")
                    .details(json!({"failure_reason": "bad_password"})),
            )?;
            Ok(Outcome::Refused(AppError::Rejected(
                "Mot de passe actuel incorrect".into(),
            )))
        })
    }

    /// `POST /auth/change-password`.
    ///
    /// # Errors
    /// 422 (same password, policy), 429, 400 wrong current password.
    pub fn change_password(
        &self,
        caller: &Caller,
        current: &PlainPassword,
        new: &PlainPassword,
        ctx: &AuditContext,
    ) -> Result<(), AppError> {
        if current.expose() == new.expose() {
            return Err(AppError::Invalid {
                message: None,
                violations: vec![FieldViolation::new(
                    "new_password",
                    ViolationCode::InvalidValue,
                    "Le nouveau mot de passe doit être différent de l'actuel",
                )],
            });
        }
        self.check_policy("new_password", new, Some(&caller.user), ctx)?;
        self.verify_current_password(caller, current, ctx)?;
        let hash = self.hash(new)?;
        let now = self.ports.clock.now();
        self.audited(|uow, log| {
            // Locked, and as it is now: a concurrent deactivation is not undone.
            let mut user = uow
                .user_by_id_for_update(caller.user.id)?
                .ok_or_else(|| AppError::NotFound("Utilisateur non trouvé.".into()))?;
            if !user.is_active {
                return Ok(Outcome::Refused(AppError::Unauthenticated(
                    AuthFailure::UserDeactivated,
                )));
            }
            user.password_hash = hash;
            user.password_changed_at = now;
            user.updated_at = now;
            uow.update_user(&user)?;
            self.password_changed_by_owner(uow, log, &user, ctx, now)?;
            Ok(Outcome::Done(()))
        })
    }

    /// After a user changed their own password: every session ends, and it is audited.
    pub(crate) fn password_changed_by_owner(
        &self,
        uow: &mut dyn UnitOfWork,
        log: &mut AuditLog,
        user: &User,
        ctx: &AuditContext,
        now: Timestamp,
    ) -> Result<(), AppError> {
        self.end_sessions(uow, log, user, RevocationReason::PasswordChanged, ctx, now)?;
        log.push(
            uow,
            Audit::new(AuditEventType::PasswordChanged, true, ctx, now)
                .user(user.id, user.username.as_str())
                .resource(format!("user:{}", user.id))
                .action("change"),
        )
    }

    /// Revokes every session of `user` and audits it.
    pub(crate) fn end_sessions(
        &self,
        uow: &mut dyn UnitOfWork,
        log: &mut AuditLog,
        user: &User,
        reason: RevocationReason,
        ctx: &AuditContext,
        now: Timestamp,
    ) -> Result<(), AppError> {
        let revoked = uow.revoke_user_sessions(user.id, reason, now)?;
        if revoked > 0 {
            log.push(
                uow,
                Audit::new(AuditEventType::TokenRevoked, true, ctx, now)
                    .user(user.id, user.username.as_str())
                    .resource(format!("user:{}", user.id))
                    .action("revoke_all")
                    .details(json!({"reason": reason.as_str(), "sessions": revoked})),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
