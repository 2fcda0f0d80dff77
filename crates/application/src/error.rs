//! The application error: what a use case reports to the adapters that drive it.

use erp_domain::enums::StatutIntervention;
use erp_domain::error::{DomainError, FieldViolation};
use erp_domain::lifecycle::TransitionRefused;
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

/// Why a use case did not succeed: what happened, in the application's words. The HTTP
/// adapter alone decides the status each one gets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// Input fields are invalid; every violation is listed.
    #[error("invalid input")]
    Invalid {
        /// Overall message; `None` means the default one.
        message: Option<String>,
        /// Every violation.
        violations: Vec<FieldViolation>,
    },
    /// The caller could not be authenticated; the HTTP adapter words it per endpoint.
    #[error("unauthenticated: {0:?}")]
    Unauthenticated(AuthFailure),
    /// Authenticated, but the role or the ownership does not allow the action.
    #[error("forbidden: {message}")]
    Forbidden {
        /// French message.
        message: String,
        /// `required_roles` or `reason`, for the audit trail.
        required_roles: Vec<UserRole>,
    },
    /// The request contradicts something only the caller knows or controls (a wrong current
    /// password, a user who is not a technicien, a file name without extension).
    #[error("rejected: {0}")]
    Rejected(String),
    /// The content is of a kind the product does not accept (a document type outside the
    /// allow-list).
    #[error("unsupported content: {0}")]
    UnsupportedContent(String),
    /// Too many failed attempts: the account or address is locked for `retry_after` seconds.
    #[error("locked out for {retry_after} s")]
    LockedOut {
        /// French message.
        message: String,
        /// Seconds to wait.
        retry_after: i64,
    },
    /// The targeted resource does not exist or is not visible to the caller.
    #[error("not found: {0}")]
    NotFound(String),
    /// The resource's current state refuses the request.
    #[error("conflict: {}", .0.message())]
    Conflict(Conflict),
    /// A dependency is not available right now.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A failure that is not the caller's fault; the text is for logs only.
    #[error("internal error: {0}")]
    Internal(String),
}

/// What a conflict is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// A business rule, stated by its French message (uniqueness, a referenced row, …).
    Rule(String),
    /// The state machine refuses the move from `current` to `requested`.
    Transition {
        /// The statut now.
        current: StatutIntervention,
        /// The statut asked for.
        requested: StatutIntervention,
        /// The statuts reachable from `current`, in lifecycle order.
        allowed: Vec<StatutIntervention>,
    },
    /// The caller's expected version is not the stored one.
    StaleVersion {
        /// The stored version.
        current: i32,
    },
}

impl Conflict {
    /// The French message (API.md §3.6).
    #[must_use]
    pub fn message(&self) -> String {
        match self {
            Self::Rule(message) => message.clone(),
            Self::Transition {
                current, requested, ..
            } => TransitionRefused::Forbidden {
                current: *current,
                requested: *requested,
            }
            .message(),
            Self::StaleVersion { current } => {
                format!("L'intervention a été modifiée entre-temps (version actuelle : {current})")
            }
        }
    }
}

impl AppError {
    /// A conflict with a business rule, stated by its message.
    #[must_use]
    pub const fn conflict(message: String) -> Self {
        Self::Conflict(Conflict::Rule(message))
    }
}

impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Validation(violations) => Self::Invalid {
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
