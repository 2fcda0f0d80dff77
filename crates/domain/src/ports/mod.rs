//! Ports: the traits through which the application reaches storage, cryptography and the
//! outside world. Adapters implement them; every contract is written in the `# Errors` sections.

mod health;
mod repository;
mod security;

pub use health::{DatabaseBackend, DatabaseProbe, MigrationStatus, ProbeError};
pub use repository::{
    ClientRepository, NewClient, RepoError, Rollback, TransactionMode, TransactionRunner,
    UniqueKey, UnitOfWork, UserRepository,
};
pub use security::{HashError, PasswordHasher, SecretGenerator};
