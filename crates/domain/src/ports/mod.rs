//! Ports: the traits through which the application reaches storage, cryptography and the
//! outside world. Adapters implement them; every contract is written in the `# Errors` sections.

mod blobs;
mod documents;
mod error;
mod health;
mod housekeeping;
mod notifications;
mod planning;
mod rate_limit;
mod repository;
mod security;

pub use blobs::{BlobReader, BlobStore, BlobStoreError, BlobWriter};
pub use documents::{
    BlobSink, DocumentRepository, DocumentVault, PlainReader, SealedBlob, VaultError,
};
pub use error::{RepoError, UniqueKey};
pub use health::{DatabaseBackend, DatabaseProbe, MigrationStatus, ProbeError};
pub use housekeeping::{HousekeepingRepository, PurgeCutoffs, PurgeReport};
pub use notifications::{
    MailError, MailSender, NotificationRepository, OutboxRepository, OutgoingEmail,
};
pub use planning::{JobStatus, LeaseRepository, PlanningRepository};
pub use rate_limit::{RateLimitStore, RateStoreError, StoreFuture};
pub use repository::{
    AuditRepository, ClientRepository, CompetenceRepository, DashboardRepository,
    EquipementRepository, InterventionRepository, NewClient, Rollback, SessionRepository,
    TechnicienRepository, ThrottleRepository, TransactionMode, TransactionRunner, UnitOfWork,
    UserRepository,
};
pub use security::{
    AccessClaims, HashError, IssuedToken, OpaqueToken, OpaqueTokens, PasswordHasher,
    SecretGenerator, TokenIssuer, TokenRejected, TokenVerifier,
};
