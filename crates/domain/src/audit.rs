//! The audit trail (D10, API.md §3.11): security and administrative events.

use std::fmt;
use std::str::FromStr;

use crate::clock::Timestamp;
use crate::ids::{AuditEventId, UserId};
use crate::user::UnknownVariant;

/// Every event type of API.md §3.11.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditEventType {
    /// `auth.login.success`.
    LoginSuccess,
    /// `auth.login.failed`.
    LoginFailed,
    /// `auth.login.bruteforce`.
    LoginBruteforce,
    /// `auth.token.refreshed`.
    TokenRefreshed,
    /// `auth.token.revoked`.
    TokenRevoked,
    /// `auth.token.invalid`.
    TokenInvalid,
    /// `auth.password.changed`.
    PasswordChanged,
    /// `auth.password.policy_violation`.
    PasswordPolicyViolation,
    /// `doc.uploaded`.
    DocUploaded,
    /// `doc.accessed`.
    DocAccessed,
    /// `doc.deleted`.
    DocDeleted,
    /// `admin.action`.
    AdminAction,
    /// `rbac.violation`.
    RbacViolation,
    /// `system.key.rotation`.
    KeyRotation,
    /// `security.rate_limit.exceeded`.
    RateLimitExceeded,
}

impl AuditEventType {
    /// Every type.
    pub const ALL: [Self; 15] = [
        Self::LoginSuccess,
        Self::LoginFailed,
        Self::LoginBruteforce,
        Self::TokenRefreshed,
        Self::TokenRevoked,
        Self::TokenInvalid,
        Self::PasswordChanged,
        Self::PasswordPolicyViolation,
        Self::DocUploaded,
        Self::DocAccessed,
        Self::DocDeleted,
        Self::AdminAction,
        Self::RbacViolation,
        Self::KeyRotation,
        Self::RateLimitExceeded,
    ];

    /// Wire and storage value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::LoginSuccess => "auth.login.success",
            Self::LoginFailed => "auth.login.failed",
            Self::LoginBruteforce => "auth.login.bruteforce",
            Self::TokenRefreshed => "auth.token.refreshed",
            Self::TokenRevoked => "auth.token.revoked",
            Self::TokenInvalid => "auth.token.invalid",
            Self::PasswordChanged => "auth.password.changed",
            Self::PasswordPolicyViolation => "auth.password.policy_violation",
            Self::DocUploaded => "doc.uploaded",
            Self::DocAccessed => "doc.accessed",
            Self::DocDeleted => "doc.deleted",
            Self::AdminAction => "admin.action",
            Self::RbacViolation => "rbac.violation",
            Self::KeyRotation => "system.key.rotation",
            Self::RateLimitExceeded => "security.rate_limit.exceeded",
        }
    }
}

impl fmt::Display for AuditEventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuditEventType {
    type Err = UnknownVariant;

    /// Exact values (no case folding: the filter takes "exact values").
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s.trim())
            .ok_or_else(|| UnknownVariant(s.to_owned()))
    }
}

/// Who did it, from where: the request context every event carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditContext {
    /// `X-Request-ID`.
    pub request_id: Option<String>,
    /// Client IP (API.md §1.7).
    pub ip_address: Option<String>,
    /// User agent, ≤ 512 characters.
    pub user_agent: Option<String>,
}

/// An event to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEvent {
    /// When.
    pub occurred_at: Timestamp,
    /// What.
    pub event_type: AuditEventType,
    /// Whether the action succeeded.
    pub success: bool,
    /// The acting (or targeted, for logins) user, when known.
    pub user_id: Option<UserId>,
    /// The identifier as presented or known.
    pub username: Option<String>,
    /// Request context.
    pub context: AuditContext,
    /// `<kind>:<id>`.
    pub resource: Option<String>,
    /// e.g. `login`, `deactivate`.
    pub action: Option<String>,
    /// Extra facts; never a password, token or key.
    pub details: Option<serde_json::Value>,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// Id.
    pub id: AuditEventId,
    /// The event as written.
    pub event: NewAuditEvent,
}

/// Filters of `GET /audit/events`.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Any of these types.
    pub event_types: Vec<AuditEventType>,
    /// By user.
    pub user_id: Option<UserId>,
    /// By outcome.
    pub success: Option<bool>,
    /// By IP.
    pub ip_address: Option<String>,
    /// By request id.
    pub request_id: Option<String>,
    /// `occurred_at >=`.
    pub date_min: Option<Timestamp>,
    /// `occurred_at <=`.
    pub date_max: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_round_trip() {
        for t in AuditEventType::ALL {
            assert_eq!(t.as_str().parse::<AuditEventType>(), Ok(t));
        }
        assert!("auth.login".parse::<AuditEventType>().is_err());
    }
}
