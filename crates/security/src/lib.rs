//! Security adapters for the domain's ports: the Argon2id password hasher, secure random
//! secrets, and the key material (RSA signing keys, Fernet keys) with its generation, and the Fernet document
//! vault.

pub mod jwt;
pub mod keys;
pub mod opaque;
pub mod password;
pub mod random;
pub mod vault;

pub use jwt::{JwtService, JwtSettings, SigningConfig};
pub use opaque::RandomOpaqueTokens;
pub use password::{Argon2Hasher, BoundedHasher};
pub use random::OsSecretGenerator;
pub use vault::FernetVault;
