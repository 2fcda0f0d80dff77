//! Security ports: password hashing and secret generation.

use crate::clock::Timestamp;
use crate::ids::{SessionId, UserId};
use crate::password::{PasswordHash, PlainPassword};
use crate::user::UserRole;

/// The hasher failed for a reason unrelated to the password's correctness.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(pub String);

/// Slow, salted password hashing (Argon2id in production).
pub trait PasswordHasher: Send + Sync + std::fmt::Debug {
    /// Hashes a password with a fresh random salt.
    ///
    /// # Errors
    /// [`HashError`] when the hashing library fails (never for a particular password).
    fn hash(&self, password: &PlainPassword) -> Result<PasswordHash, HashError>;

    /// [`Self::hash`] for a one-off (the start-up's timing-equaliser hash): the same kind of
    /// result, but working memory is not kept for later hashes.
    ///
    /// # Errors
    /// As [`Self::hash`].
    fn hash_once(&self, password: &PlainPassword) -> Result<PasswordHash, HashError> {
        self.hash(password)
    }

    /// Whether `password` matches `hash`, in time independent of where they differ.
    ///
    /// # Errors
    /// [`HashError`] when `hash` is not a PHC string the hasher understands.
    fn verify(&self, password: &PlainPassword, hash: &PasswordHash) -> Result<bool, HashError>;

    /// Gives back the working memory kept for later hashes, when none is expected soon.
    fn release_memory(&self) {}
}

/// Cryptographically secure random secrets.
pub trait SecretGenerator: Send + Sync + std::fmt::Debug {
    /// A random password that satisfies the password policy.
    fn strong_password(&self) -> PlainPassword;
}

/// The verified content of an access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessClaims {
    /// `sub`.
    pub user_id: UserId,
    /// `role` at issue time (authorization uses the database's current role).
    pub role: UserRole,
    /// `sid`.
    pub session_id: SessionId,
    /// `jti`.
    pub jti: String,
    /// `iat`.
    pub issued_at: Timestamp,
    /// `exp`.
    pub expires_at: Timestamp,
}

/// A freshly signed access token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The compact JWT.
    pub token: String,
    /// Lifetime in seconds (`expires_in`).
    pub expires_in: i64,
}

/// An access token was refused. The reason is for logs and audit only: every case answers the
/// same 401.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid access token: {0}")]
pub struct TokenRejected(pub String);

/// Signs access tokens.
pub trait TokenIssuer: Send + Sync + std::fmt::Debug {
    /// Signs a token for this user and session, valid from `now` for the configured lifetime.
    ///
    /// # Errors
    /// [`TokenRejected`] only if the signing library fails.
    fn issue(
        &self,
        user: UserId,
        role: UserRole,
        session: SessionId,
        now: Timestamp,
    ) -> Result<IssuedToken, TokenRejected>;
}

/// Verifies access tokens with the configured algorithm only.
pub trait TokenVerifier: Send + Sync + std::fmt::Debug {
    /// Checks signature, algorithm, `kid`, `iss`, `aud` and expiry (no leeway) at `now`.
    ///
    /// # Errors
    /// [`TokenRejected`] for any defect, with the reason.
    fn verify(&self, token: &str, now: Timestamp) -> Result<AccessClaims, TokenRejected>;
}

/// An opaque refresh token: the value handed to the client and the hash that is stored.
#[derive(Debug, Clone)]
pub struct OpaqueToken {
    /// 43 base64url characters (256 random bits); never stored.
    pub value: secrecy::SecretString,
    /// Lowercase hex SHA-256 of the value.
    pub hash: String,
}

/// Makes and hashes refresh tokens.
pub trait OpaqueTokens: Send + Sync + std::fmt::Debug {
    /// A new random token and its hash.
    fn generate(&self) -> OpaqueToken;

    /// The hash of a presented token.
    fn hash(&self, presented: &str) -> String;
}
