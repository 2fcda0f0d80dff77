//! Login, refresh, logout, password change and request authentication (D4, D11, API.md §3.2).
//!
//! This file opens and rotates sessions (login, refresh, logout); the login throttle is in
//! `auth/throttle.rs`, password changes in `auth/password_change.rs`, and what every request
//! goes through (bearer token, role check, audit of refusals) in `auth/request.rs`.

mod password_change;
mod request;
mod throttle;

use erp_domain::audit::{AuditContext, AuditEventType};
use erp_domain::password::PlainPassword;
use erp_domain::ports::UnitOfWork;
use erp_domain::session::{NewRefreshToken, NewSession, RevocationReason, truncate_user_agent};
use erp_domain::throttle::ThrottleScope;
use erp_domain::{SessionId, Timestamp, User};
use secrecy::SecretString;
use serde_json::json;

use self::throttle::{EVERY_SCOPE, Keys};
use crate::app::{Application, Audit, AuditLog, Caller, Outcome};
use crate::error::{AppError, AuthFailure};
use crate::telemetry;

/// A successful login or refresh.
#[derive(Debug, Clone)]
pub struct TokenPair {
    /// The signed JWT.
    pub access_token: String,
    /// The opaque refresh token (43 characters).
    pub refresh_token: SecretString,
    /// Access-token lifetime in seconds.
    pub expires_in: i64,
}

/// A login attempt.
#[derive(Debug, Clone)]
pub struct LoginInput {
    /// Username or e-mail, as typed (trimmed).
    pub identifier: String,
    /// The password, untouched.
    pub password: PlainPassword,
    /// Request context (IP, user agent, request id).
    pub context: AuditContext,
}

impl Application {
    fn open_session(
        &self,
        uow: &mut dyn UnitOfWork,
        user: &User,
        ctx: &AuditContext,
        now: Timestamp,
    ) -> Result<TokenPair, AppError> {
        let expires_at = now + self.config.refresh_ttl;
        let session = uow.insert_session(&NewSession {
            user_id: user.id,
            now,
            expires_at,
            user_agent: ctx.user_agent.as_deref().map(truncate_user_agent),
            ip_address: ctx.ip_address.clone(),
        })?;
        let refresh = self.ports.opaque.generate();
        uow.insert_refresh_token(&NewRefreshToken {
            session_id: session.id,
            token_hash: refresh.hash,
            now,
            expires_at,
            user_agent: ctx.user_agent.as_deref().map(truncate_user_agent),
            ip_address: ctx.ip_address.clone(),
        })?;
        let access = self.issue(user, session.id, now)?;
        Ok(TokenPair {
            access_token: access.token,
            refresh_token: refresh.value,
            expires_in: access.expires_in,
        })
    }

    fn issue(
        &self,
        user: &User,
        session: SessionId,
        now: Timestamp,
    ) -> Result<erp_domain::ports::IssuedToken, AppError> {
        self.ports
            .issuer
            .issue(user.id, user.role, session, now)
            .map_err(|e| AppError::Internal(e.to_string()))
    }

    /// `POST /auth/token` and `/auth/login`.
    ///
    /// # Errors
    /// 429 while a key is locked; [`AuthFailure::BadCredentials`] for an unknown identifier or a
    /// wrong password (same answer, same time); 403 "Compte désactivé" for a right password on
    /// an inactive account.
    pub fn login(&self, input: LoginInput) -> Result<TokenPair, AppError> {
        let result = self.login_once(input);
        record_attempt("password", &result);
        result
    }

    fn login_once(&self, input: LoginInput) -> Result<TokenPair, AppError> {
        let LoginInput {
            identifier,
            password,
            context: ctx,
        } = input;
        let now = self.ports.clock.now();
        let (user, keys, reserved) = self.audited(|uow, log| {
            let user = Self::find_login_user(uow, &identifier)?;
            let keys = Keys::of(user.as_ref(), &identifier, &ctx);
            let reserved = Self::reserve_attempt(uow, log, &keys, &identifier, &ctx, now)?;
            Ok(Outcome::Done((user, keys, reserved)))
        })?;
        let reserved = match reserved {
            Ok(reserved) => reserved,
            Err(lock) => return Err(self.refuse_locked(&keys, &identifier, &ctx, lock)),
        };
        // The slow part runs outside any transaction; an unknown user costs the same.
        let hash = user.as_ref().map_or(&self.dummy_hash, |u| &u.password_hash);
        let matches = match self.ports.hasher.verify(&password, hash) {
            Ok(matches) => matches && user.is_some(),
            Err(e) => return Err(self.refund_after_error(&keys, &reserved, e.into())),
        };
        let now = self.ports.clock.now();
        let known_id = user.as_ref().map(|u| u.id);
        self.audited(|uow, log| {
            let Some(user) = user.filter(|_| matches) else {
                // Already counted by the reservation.
                let reason = if known_id.is_some() {
                    "bad_password"
                } else {
                    "unknown_user"
                };
                let mut audit = Audit::new(AuditEventType::LoginFailed, false, &ctx, now)
                    .username(&identifier)
                    .action("login");
                audit.event.user_id = known_id;
                log.push(uow, audit.details(json!({"failure_reason": reason})))?;
                return Ok(Outcome::Refused(AppError::Unauthenticated(
                    AuthFailure::BadCredentials,
                )));
            };
            if !user.is_active {
                // A right password on an inactive account is not a failure (API.md §1.7).
                Self::refund(uow, &keys, &reserved, &EVERY_SCOPE, now)?;
                log.push(
                    uow,
                    Audit::new(AuditEventType::LoginFailed, false, &ctx, now)
                        .user(user.id, user.username.as_str())
                        .action("login")
                        .details(json!({"failure_reason": "inactive"})),
                )?;
                return Ok(Outcome::Refused(AppError::Forbidden {
                    message: "Compte désactivé".into(),
                    required_roles: Vec::new(),
                }));
            }
            uow.clear_throttle(ThrottleScope::Username, &keys.username)?;
            Self::refund(uow, &keys, &reserved, &[ThrottleScope::Ip], now)?;
            uow.set_last_login(user.id, now)?;
            let tokens = self.open_session(uow, &user, &ctx, now)?;
            log.push(
                uow,
                Audit::new(AuditEventType::LoginSuccess, true, &ctx, now)
                    .user(user.id, user.username.as_str())
                    .resource(format!("user:{}", user.id))
                    .action("login"),
            )?;
            Ok(Outcome::Done(tokens))
        })
    }

    /// `POST /auth/refresh`: rotates the presented refresh token.
    ///
    /// # Errors
    /// [`AuthFailure::InvalidRefreshToken`] for every refusal; presenting a rotated token also
    /// revokes its session.
    pub fn refresh(&self, presented: &str, ctx: &AuditContext) -> Result<TokenPair, AppError> {
        let result = self.refresh_once(presented, ctx);
        record_attempt("refresh", &result);
        result
    }

    fn refresh_once(&self, presented: &str, ctx: &AuditContext) -> Result<TokenPair, AppError> {
        let hash = self.ports.opaque.hash(presented);
        let now = self.ports.clock.now();
        let refused = || {
            Ok(Outcome::Refused(AppError::Unauthenticated(
                AuthFailure::InvalidRefreshToken,
            )))
        };
        self.audited(|uow, log| {
            let invalid = |log: &mut AuditLog,
                           uow: &mut dyn UnitOfWork,
                           reason: &str,
                           user: Option<&User>| {
                let mut audit = Audit::new(AuditEventType::TokenInvalid, false, ctx, now)
                    .action("refresh")
                    .details(json!({"reason": reason}));
                if let Some(u) = user {
                    audit = audit.user(u.id, u.username.as_str());
                }
                log.push(uow, audit)
            };
            let Some(record) = uow.refresh_token_by_hash(&hash)? else {
                invalid(log, uow, "unknown", None)?;
                return refused();
            };
            let Some((session, user)) = uow.session_with_user(record.session_id)? else {
                invalid(log, uow, "unknown_session", None)?;
                return refused();
            };
            let reuse = |log: &mut AuditLog, uow: &mut dyn UnitOfWork| -> Result<(), AppError> {
                uow.revoke_session(session.id, RevocationReason::ReuseDetected, now)?;
                log.push(
                    uow,
                    Audit::new(AuditEventType::TokenRevoked, false, ctx, now)
                        .user(user.id, user.username.as_str())
                        .resource(format!("session:{}", session.id))
                        .action("refresh")
                        .details(json!({"reason": RevocationReason::ReuseDetected.as_str()})),
                )
            };
            if record.rotated_at.is_some() {
                tracing::warn!(
                    session_id = session.id.get(),
                    "refresh token reuse: session revoked"
                );
                reuse(log, uow)?;
                return refused();
            }
            let reason = if record.revoked_at.is_some() {
                Some("revoked")
            } else if record.expires_at <= now {
                Some("expired")
            } else if session.revoked_at.is_some() {
                Some("session_revoked")
            } else if !user.is_active {
                Some("user_inactive")
            } else {
                None
            };
            if let Some(reason) = reason {
                invalid(log, uow, reason, Some(&user))?;
                return refused();
            }
            let expires_at = now + self.config.refresh_ttl;
            let next = self.ports.opaque.generate();
            let next_id = uow.insert_refresh_token(&NewRefreshToken {
                session_id: session.id,
                token_hash: next.hash,
                now,
                expires_at,
                user_agent: ctx.user_agent.as_deref().map(truncate_user_agent),
                ip_address: ctx.ip_address.clone(),
            })?;
            if !uow.mark_refresh_token_rotated(record.id, now, next_id)? {
                // Another request rotated it between our read and our write: a reuse.
                return Err(AppError::conflict(
                    "refresh token rotated concurrently".into(),
                ));
            }
            uow.touch_session(session.id, now, expires_at)?;
            let access = self.issue(&user, session.id, now)?;
            log.push(
                uow,
                Audit::new(AuditEventType::TokenRefreshed, true, ctx, now)
                    .user(user.id, user.username.as_str())
                    .resource(format!("session:{}", session.id))
                    .action("refresh"),
            )?;
            Ok(Outcome::Done(TokenPair {
                access_token: access.token,
                refresh_token: next.value,
                expires_in: access.expires_in,
            }))
        })
        .map_err(|e| match e {
            // The concurrent rotation rolled our transaction back: treat it as the reuse it is.
            AppError::Conflict(_) => {
                self.revoke_for_reuse(&hash, ctx);
                AppError::Unauthenticated(AuthFailure::InvalidRefreshToken)
            }
            other => other,
        })
    }

    fn revoke_for_reuse(&self, hash: &str, ctx: &AuditContext) {
        let now = self.ports.clock.now();
        let result = self.audited(|uow, log| {
            if let Some(record) = uow.refresh_token_by_hash(hash)? {
                uow.revoke_session(record.session_id, RevocationReason::ReuseDetected, now)?;
                log.push(
                    uow,
                    Audit::new(AuditEventType::TokenRevoked, false, ctx, now)
                        .resource(format!("session:{}", record.session_id))
                        .action("refresh")
                        .details(json!({"reason": RevocationReason::ReuseDetected.as_str()})),
                )?;
            }
            Ok(Outcome::Done(()))
        });
        if let Err(e) = result {
            tracing::error!(error = %e, "could not revoke a reused session");
        }
    }

    /// `POST /auth/logout`: revokes the caller's session (its refresh tokens and access tokens).
    ///
    /// # Errors
    /// Storage failures only.
    pub fn logout(&self, caller: &Caller, ctx: &AuditContext) -> Result<(), AppError> {
        let now = self.ports.clock.now();
        self.audited(|uow, log| {
            uow.revoke_session(caller.session_id, RevocationReason::Logout, now)?;
            log.push(
                uow,
                Audit::new(AuditEventType::TokenRevoked, true, ctx, now)
                    .user(caller.user.id, caller.user.username.as_str())
                    .resource(format!("session:{}", caller.session_id))
                    .action("logout")
                    .details(json!({"reason": RevocationReason::Logout.as_str()})),
            )?;
            Ok(Outcome::Done(()))
        })
    }
}

/// `auth_attempts_total` and, on success, `auth_tokens_issued_total` for the pair.
fn record_attempt(method: &'static str, result: &Result<TokenPair, AppError>) {
    match result {
        Ok(_) => {
            telemetry::auth_attempt(method, "success");
            telemetry::token_issued("access");
            telemetry::token_issued("refresh");
        }
        Err(AppError::LockedOut { .. }) => telemetry::auth_attempt(method, "locked"),
        Err(_) => telemetry::auth_attempt(method, "failure"),
    }
}

#[cfg(test)]
mod tests;
