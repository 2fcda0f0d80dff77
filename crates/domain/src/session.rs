//! Login sessions and their refresh tokens (DATA.md §2.3–2.4): a session is a refresh-token
//! family; every access token names its session (`sid`) and dies with it.

use std::fmt;
use std::str::FromStr;

use crate::clock::Timestamp;
use crate::ids::{SessionId, UserId};
use crate::user::UnknownVariant;

/// Why a session was revoked (`MotifRevocation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationReason {
    /// The user logged out.
    Logout,
    /// A rotated refresh token was presented again.
    ReuseDetected,
    /// The password was changed or reset.
    PasswordChanged,
    /// The user was deactivated.
    UserDeactivated,
    /// The user's role changed.
    RoleChanged,
}

impl RevocationReason {
    /// Every reason, in declared order.
    pub const ALL: [Self; 5] = [
        Self::Logout,
        Self::ReuseDetected,
        Self::PasswordChanged,
        Self::UserDeactivated,
        Self::RoleChanged,
    ];

    /// Storage and audit value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::ReuseDetected => "reuse_detected",
            Self::PasswordChanged => "password_changed",
            Self::UserDeactivated => "user_deactivated",
            Self::RoleChanged => "role_changed",
        }
    }
}

impl fmt::Display for RevocationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RevocationReason {
    type Err = UnknownVariant;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownVariant(s.to_owned()))
    }
}

/// A stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// `sid`.
    pub id: SessionId,
    /// Owner.
    pub user_id: UserId,
    /// Login time.
    pub created_at: Timestamp,
    /// Last login or refresh.
    pub last_seen_at: Timestamp,
    /// Expiry of the newest refresh token.
    pub expires_at: Timestamp,
    /// Set once revoked.
    pub revoked_at: Option<Timestamp>,
    /// Why it was revoked.
    pub revoked_reason: Option<RevocationReason>,
}

impl Session {
    /// Whether access tokens of this session are still accepted.
    #[must_use]
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

/// A session to open.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Owner.
    pub user_id: UserId,
    /// Login time.
    pub now: Timestamp,
    /// Expiry of its first refresh token.
    pub expires_at: Timestamp,
    /// Client's user agent, truncated to 512 characters.
    pub user_agent: Option<String>,
    /// Client IP.
    pub ip_address: Option<String>,
}

/// A stored refresh token (only its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenRecord {
    /// Row id.
    pub id: i64,
    /// Its family.
    pub session_id: SessionId,
    /// Issue time.
    pub created_at: Timestamp,
    /// Expiry.
    pub expires_at: Timestamp,
    /// Set once exchanged.
    pub rotated_at: Option<Timestamp>,
    /// Set once revoked.
    pub revoked_at: Option<Timestamp>,
}

/// A refresh token to store.
#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    /// Its family.
    pub session_id: SessionId,
    /// Lowercase hex SHA-256 of the opaque token.
    pub token_hash: String,
    /// Issue time.
    pub now: Timestamp,
    /// Expiry.
    pub expires_at: Timestamp,
    /// Client's user agent.
    pub user_agent: Option<String>,
    /// Client IP.
    pub ip_address: Option<String>,
}

/// Truncates a user agent to the stored maximum (512 characters).
#[must_use]
pub fn truncate_user_agent(ua: &str) -> String {
    ua.chars().take(512).collect()
}
