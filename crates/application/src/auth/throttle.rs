//! The login throttle (D11): per-account and per-IP failure counters reserved before a
//! password is checked, refunded when the attempt was no failure, and the lockouts they impose.

use erp_domain::audit::{AuditContext, AuditEventType};
use erp_domain::ports::{TransactionMode, UnitOfWork};
use erp_domain::text::norm;
use erp_domain::throttle::{Reservation, ThrottleScope};
use erp_domain::{Timestamp, User};
use serde_json::json;

use crate::app::{Application, Audit, AuditLog};
use crate::error::AppError;
use crate::telemetry;
use crate::tx::transaction;

/// The throttling keys of an attempt.
pub(super) struct Keys {
    pub(super) username: String,
    ip: Option<String>,
}

impl Keys {
    pub(super) fn of(user: Option<&User>, identifier: &str, ctx: &AuditContext) -> Self {
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
pub(super) const EVERY_SCOPE: [ThrottleScope; 2] = [ThrottleScope::Username, ThrottleScope::Ip];

/// A lockout in force: its scope, the seconds to wait, and its end.
pub(super) type Lock = (ThrottleScope, i64, Timestamp);

/// The reservations of one attempt, per key.
#[derive(Default)]
pub(super) struct Reserved(Vec<(ThrottleScope, Reservation)>);

impl Reserved {
    fn of(&self, scope: ThrottleScope) -> Option<&Reservation> {
        self.0.iter().find(|(s, _)| *s == scope).map(|(_, r)| r)
    }
}

fn locked_message(seconds: i64) -> String {
    format!("Trop de tentatives échouées. Réessayez dans {seconds} secondes.")
}

impl Application {
    pub(super) fn find_login_user(
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
    pub(super) fn reserve_attempt(
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
    pub(super) fn refund(
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
    pub(super) fn refund_after_error(
        &self,
        keys: &Keys,
        reserved: &Reserved,
        error: AppError,
    ) -> AppError {
        let now = self.ports.clock.now();
        let refunded = transaction(self.ports.db.as_ref(), TransactionMode::ReadWrite, |uow| {
            Self::refund(uow, keys, reserved, &EVERY_SCOPE, now)
        });
        if let Err(e) = refunded {
            tracing::error!(error = %e, "could not refund a login attempt after an internal error");
        }
        error
    }

    pub(super) fn refuse_locked(
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
        AppError::LockedOut {
            message: locked_message(seconds),
            retry_after: seconds,
        }
    }
}

#[cfg(test)]
mod tests;
