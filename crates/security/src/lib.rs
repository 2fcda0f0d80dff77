//! Security adapters for the domain's ports: the Argon2id password hasher, secure random
//! secrets, and the key material (RSA signing keys, Fernet keys) with its generation.

pub mod keys;
pub mod password;
pub mod random;

pub use password::Argon2Hasher;
pub use random::OsSecretGenerator;
