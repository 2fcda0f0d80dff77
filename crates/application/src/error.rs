//! The application error: what a use case reports to the adapters that drive it.

use erp_domain::error::{DomainError, FieldViolation};
use erp_domain::ports::{HashError, RepoError};
use erp_domain::user::UserRole;

/// Why authentication failed (API.md §1.6, §3.2). Each has its own wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No `Authorization: Bearer` header.
    MissingCredentials,
    /// The bearer token was refused (any reason).
    InvalidToken,
    /// The token's user is deactivated.
    UserDeactivated,
    /// Unknown identifier or wrong password at login.
    BadCredentials,
    /// The refresh token was refused.
    InvalidRefreshToken,
}

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
    /// Authentication failed (401); the HTTP adapter words it per endpoint.
    #[error("unauthorized: {0:?}")]
    Unauthorized(AuthFailure),
    /// Authenticated but not allowed (403).
    #[error("forbidden: {message}")]
    Forbidden {
        /// French message.
        message: String,
        /// `required_roles` or `reason`, for the audit trail.
        required_roles: Vec<UserRole>,
    },
    /// A request that is well-formed but wrong (400), e.g. a wrong current password.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Too many attempts (429).
    #[error("too many requests: retry after {retry_after} s")]
    TooManyRequests {
        /// French message.
        message: String,
        /// Seconds to wait.
        retry_after: i64,
    },
    /// The content's type is not accepted (415), e.g. a document outside the allow-list.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// The targeted resource does not exist or is not visible (404).
    #[error("not found: {0}")]
    NotFound(String),
    /// A business rule refuses the request in the resource's current state (409).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A 409 with structured details (state machine, stale version).
    #[error("conflict: {message}")]
    ConflictDetailed {
        /// French message.
        message: String,
        /// `details` of the envelope.
        details: serde_json::Value,
    },
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
