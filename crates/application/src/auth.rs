//! Login, refresh, logout, password change and request authentication (D4, D11, API.md §3.2).

use erp_domain::audit::{AuditContext, AuditEventType};
use erp_domain::password::{self, PlainPassword};
use erp_domain::ports::{TransactionMode, UnitOfWork};
use erp_domain::session::{NewRefreshToken, NewSession, RevocationReason, truncate_user_agent};
use erp_domain::text::norm;
use erp_domain::throttle::{Reservation, ThrottleScope};
use erp_domain::{FieldViolation, SessionId, Timestamp, User, ViolationCode};
use secrecy::SecretString;
use serde_json::json;

use crate::app::{Application, Audit, AuditLog, Caller, Outcome};
use crate::authz::{Action, authorize};
use crate::error::{AppError, AuthFailure};
use crate::telemetry;
use crate::tx::transaction;

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

/// The throttling keys of an attempt.
struct Keys {
    username: String,
    ip: Option<String>,
}

impl Keys {
    fn of(user: Option<&User>, identifier: &str, ctx: &AuditContext) -> Self {
        let username = user.map_or_else(
            || norm(identifier).chars().take(255).collect(),
            |u| u.username.normalized(),
        );
        Self {
            username,
            ip: ctx.ip_address.as_deref().map(erp_domain::throttle::ip_key),
        }
    }

    fn each(&self) -> impl Iterator<Item = (ThrottleScope, &str)> {
        std::iter::once((ThrottleScope::Username, self.username.as_str()))
            .chain(self.ip.as_deref().map(|ip| (ThrottleScope::Ip, ip)))
    }
}

/// Both keys of an attempt.
const EVERY_SCOPE: [ThrottleScope; 2] = [ThrottleScope::Username, ThrottleScope::Ip];

/// A lockout in force: its scope, the seconds to wait, and its end.
type Lock = (ThrottleScope, i64, Timestamp);

/// The reservations of one attempt, per key.
#[derive(Default)]
struct Reserved(Vec<(ThrottleScope, Reservation)>);

impl Reserved {
    fn of(&self, scope: ThrottleScope) -> Option<&Reservation> {
        self.0.iter().find(|(s, _)| *s == scope).map(|(_, r)| r)
    }
}

fn locked_message(seconds: i64) -> String {
    format!("Trop de tentatives échouées. Réessayez dans {seconds} secondes.")
}

impl Application {
    fn find_login_user(
        uow: &mut dyn UnitOfWork,
        identifier: &str,
    ) -> Result<Option<User>, AppError> {
        let wanted = norm(identifier);
        Ok(if wanted.contains('@') {
            uow.user_by_email(&wanted)?
        } else {
            uow.user_by_username_norm(&wanted)?
        })
    }

    /// Locks the rows of every key of an attempt (always in the same order: account, then IP)
    /// and, unless one is locked, counts the attempt as a failure on each before its password
    /// is checked (D11: N concurrent attempts get at most five password checks). Audits the
    /// lockouts this attempt imposes. `Err` is the longest lockout in force.
    fn reserve_attempt(
        uow: &mut dyn UnitOfWork,
        log: &mut AuditLog,
        keys: &Keys,
        identifier: &str,
        ctx: &AuditContext,
        now: Timestamp,
    ) -> Result<Result<Reserved, Lock>, AppError> {
        let mut states = Vec::new();
        let mut worst: Option<Lock> = None;
        for (scope, key) in keys.each() {
            let state = uow.lock_throttle_state(scope, key, now)?;
            if let (Some(seconds), Some(until)) = (state.locked_for(now), state.locked_until)
                && worst.is_none_or(|(_, s, _)| seconds > s)
            {
                worst = Some((scope, seconds, until));
            }
            states.push((scope, key, state));
        }
        if let Some(lock) = worst {
            return Ok(Err(lock));
        }
        let mut reserved = Reserved::default();
        for (scope, key, mut state) in states {
            // No key is locked (checked above), so every reservation is granted.
            let Ok(reservation) = state.reserve(now) else {
                continue;
            };
            uow.save_throttle_state(scope, key, &state, now)?;
            if let Some(until) = reservation.locked_until() {
                telemetry::lockout(scope.as_str());
                tracing::warn!(
                    scope = scope.as_str(),
                    lockout_level = state.lockout_level,
                    "login key locked"
                );
                log.push(
                    uow,
                    Audit::new(AuditEventType::LoginBruteforce, false, ctx, now)
                        .username(identifier)
                        .action("lockout")
                        .details(json!({"scope": scope.as_str(), "locked_until": until.to_rfc3339(), "lockout_level": state.lockout_level})),
                )?;
            }
            reserved.0.push((scope, reservation));
        }
        Ok(Ok(reserved))
    }

    /// Takes back the reservations of `scopes` (an attempt that was not a failure).
    fn refund(
        uow: &mut dyn UnitOfWork,
        keys: &Keys,
        reserved: &Reserved,
        scopes: &[ThrottleScope],
        now: Timestamp,
    ) -> Result<(), AppError> {
        for (scope, key) in keys.each().filter(|(s, _)| scopes.contains(s)) {
            let Some(reservation) = reserved.of(scope) else {
                continue;
            };
            let mut state = uow.lock_throttle_state(scope, key, now)?;
            state.refund(reservation);
            uow.save_throttle_state(scope, key, &state, now)?;
        }
        Ok(())
    }

    /// Refunds every reservation of an attempt that ended in an error of ours (the hasher
    /// failed): it was no failure of the caller's.
    fn refund_after_error(&self, keys: &Keys, reserved: &Reserved, error: AppError) -> AppError {
        let now = self.ports.clock.now();
        let refunded = transaction(self.ports.db.as_ref(), TransactionMode::ReadWrite, |uow| {
            Self::refund(uow, keys, reserved, &EVERY_SCOPE, now)
        });
        if let Err(e) = refunded {
            tracing::error!(error = %e, "could not refund a login attempt after an internal error");
        }
        error
    }

    fn refuse_locked(
        &self,
        keys: &Keys,
        identifier: &str,
        ctx: &AuditContext,
        (scope, seconds, until): Lock,
    ) -> AppError {
        let now = self.ports.clock.now();
        tracing::warn!(
            scope = scope.as_str(),
            retry_after = seconds,
            "login refused: key locked"
        );
        self.audit_alone(
            Audit::new(AuditEventType::LoginBruteforce, false, ctx, now)
                .username(identifier)
                .action("login")
                .details(json!({"scope": scope.as_str(), "locked_until": until.to_rfc3339(), "key": if scope == ThrottleScope::Username { keys.username.as_str() } else { "ip" }})),
        );
        AppError::TooManyRequests {
            message: locked_message(seconds),
            retry_after: seconds,
        }
    }

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
                return Ok(Outcome::Refused(AppError::Unauthorized(
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
            Ok(Outcome::Refused(AppError::Unauthorized(
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
                return Err(AppError::Conflict(
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
                AppError::Unauthorized(AuthFailure::InvalidRefreshToken)
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
        Err(AppError::Validation {
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
            Ok(Outcome::Refused(AppError::BadRequest(
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
            return Err(AppError::Validation {
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
                return Ok(Outcome::Refused(AppError::Unauthorized(
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
            AppError::Unauthorized(AuthFailure::InvalidToken)
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
            return Err(AppError::Unauthorized(AuthFailure::UserDeactivated));
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

/// `auth_attempts_total` and, on success, `auth_tokens_issued_total` for the pair.
fn record_attempt(method: &'static str, result: &Result<TokenPair, AppError>) {
    match result {
        Ok(_) => {
            telemetry::auth_attempt(method, "success");
            telemetry::token_issued("access");
            telemetry::token_issued("refresh");
        }
        Err(AppError::TooManyRequests { .. }) => telemetry::auth_attempt(method, "locked"),
        Err(_) => telemetry::auth_attempt(method, "failure"),
    }
}
