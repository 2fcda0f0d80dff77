//! Security ports: password hashing and secret generation.

use crate::password::{PasswordHash, PlainPassword};

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

    /// Whether `password` matches `hash`, in time independent of where they differ.
    ///
    /// # Errors
    /// [`HashError`] when `hash` is not a PHC string the hasher understands.
    fn verify(&self, password: &PlainPassword, hash: &PasswordHash) -> Result<bool, HashError>;
}

/// Cryptographically secure random secrets.
pub trait SecretGenerator: Send + Sync + std::fmt::Debug {
    /// A random password that satisfies the password policy.
    fn strong_password(&self) -> PlainPassword;
}
