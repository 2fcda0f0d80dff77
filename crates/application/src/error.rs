//! The application error: what a use case reports to the adapters that drive it.

use erp_domain::error::{DomainError, FieldViolation};
use erp_domain::ports::{HashError, RepoError};

/// Why a use case did not succeed. The HTTP adapter maps each variant to one status.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AppError {
    /// Input fields are invalid (422); every violation is listed.
    #[error("validation failed")]
    Validation {
        /// Overall message; `None` means the default one.
        message: Option<String>,
        /// Every violation.
        violations: Vec<FieldViolation>,
    },
    /// The targeted resource does not exist or is not visible (404).
    #[error("not found: {0}")]
    NotFound(String),
    /// A business rule refuses the request in the resource's current state (409).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A dependency is not available right now (503).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A failure that is not the caller's fault (500); the text is for logs only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Validation(violations) => Self::Validation {
                message: None,
                violations,
            },
        }
    }
}

impl From<RepoError> for AppError {
    fn from(e: RepoError) -> Self {
        match e {
            RepoError::Unavailable(m) => Self::Unavailable(m),
            RepoError::NotFound
            | RepoError::Duplicate(_)
            | RepoError::ForeignKey
            | RepoError::Check
            | RepoError::Conflict
            | RepoError::Other(_) => Self::Internal(e.to_string()),
        }
    }
}

impl From<HashError> for AppError {
    fn from(e: HashError) -> Self {
        Self::Internal(e.to_string())
    }
}
