//! The one error envelope (API.md §1.5, D13) and the single `AppError → response` mapping.
//!
//! An [`ApiError`] renders as an empty response carrying an [`ErrorBody`] extension; the
//! request-context middleware, which knows the request id, writes the envelope. Error
//! responses that did not come from an `ApiError` (actix's own) get a generic envelope there.

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use erp_application::{AppError, AuthFailure, Conflict};
use erp_domain::error::{FieldViolation, ViolationCode};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

/// Where a field error was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// JSON body.
    Body,
    /// Query string.
    Query,
    /// Path segment.
    Path,
    /// Form or multipart field.
    Form,
    /// Header.
    Header,
}

impl Location {
    /// Wire value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Body => "body",
            Self::Query => "query",
            Self::Path => "path",
            Self::Form => "form",
            Self::Header => "header",
        }
    }
}

/// The envelope content, minus the request id the middleware adds.
#[derive(Debug, Clone)]
pub struct ErrorBody {
    /// Machine code, e.g. `VALIDATION_ERROR`.
    pub code: &'static str,
    /// French message.
    pub message: String,
    /// Structured details, or `null`.
    pub details: Option<Value>,
    /// Cause for the logs only (never sent).
    pub internal: Option<String>,
}

impl ErrorBody {
    /// The JSON envelope with `trace_id`.
    #[must_use]
    pub fn to_json(&self, trace_id: &str) -> Value {
        let envelope = ErrorEnvelope {
            error: ErrorOut {
                code: self.code,
                message: self.message.clone(),
                details: self.details.clone(),
                trace_id: trace_id.to_owned(),
            },
        };
        serde_json::to_value(envelope).unwrap_or(Value::Null)
    }
}

/// The error envelope of every non-2xx response (API.md §1.5).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorEnvelope {
    /// The error.
    pub error: ErrorOut,
}

/// The content of the error envelope.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorOut {
    /// Machine code of the status.
    #[schema(value_type = String, example = "VALIDATION_ERROR", pattern = "^[A-Z_]+$")]
    pub code: &'static str,
    /// French message.
    #[schema(example = "Erreur de validation des données")]
    pub message: String,
    /// `null` unless the endpoint documents details: for 422 an array of field errors
    /// (`{location, field, code, message}`), for 409/429/503 an object.
    pub details: Option<Value>,
    /// The request id (`X-Request-ID`), or the trace id when a trace is exported.
    pub trace_id: String,
}

/// One item of a 422's `details` (API.md §1.5).
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldErrorOut {
    /// Where the field was read.
    #[schema(value_type = String, pattern = "^(body|query|path|form|header)$")]
    pub location: &'static str,
    /// Field name; nested fields use dots and indexes.
    pub field: String,
    /// Violation code, e.g. `required`.
    pub code: &'static str,
    /// French message.
    pub message: String,
}

/// An error response of the API (boxed: errors travel through every `Result`).
#[derive(Debug, Clone)]
pub struct ApiError(Box<Inner>);

#[derive(Debug, Clone)]
struct Inner {
    status: StatusCode,
    body: ErrorBody,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.0.status.as_u16(),
            self.0.body.code,
            self.0.body.message
        )
    }
}

/// Default message of each status (API.md §1.5).
#[must_use]
pub fn default_for(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 => ("BAD_REQUEST", "Requête invalide"),
        401 => ("UNAUTHORIZED", "Authentification requise"),
        403 => ("FORBIDDEN", "Accès refusé"),
        404 => ("RESOURCE_NOT_FOUND", "Ressource introuvable"),
        405 => ("METHOD_NOT_ALLOWED", "Méthode non autorisée"),
        409 => ("CONFLICT", "Conflit avec l'état actuel de la ressource"),
        413 => ("PAYLOAD_TOO_LARGE", "Corps de requête trop volumineux"),
        415 => ("UNSUPPORTED_MEDIA_TYPE", "Type de contenu non supporté"),
        422 => ("VALIDATION_ERROR", "Erreur de validation des données"),
        429 => ("TOO_MANY_REQUESTS", "Trop de requêtes"),
        503 => ("SERVICE_UNAVAILABLE", "Service temporairement indisponible"),
        s if s >= 500 => ("INTERNAL_SERVER_ERROR", "Une erreur interne est survenue."),
        _ => ("BAD_REQUEST", "Requête invalide"),
    }
}

impl ApiError {
    /// An error with the default code and message of `status`.
    #[must_use]
    pub fn status(status: StatusCode) -> Self {
        let (code, message) = default_for(status);
        Self::new(status, code, message)
    }

    /// An error with an explicit code and message.
    #[must_use]
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self(Box::new(Inner {
            status,
            body: ErrorBody {
                code,
                message: message.into(),
                details: None,
                internal: None,
            },
            headers: Vec::new(),
        }))
    }

    /// Replaces the message.
    #[must_use]
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.0.body.message = message.into();
        self
    }

    /// Adds `details`.
    #[must_use]
    pub fn with_details(mut self, details: Value) -> Self {
        self.0.body.details = Some(details);
        self
    }

    /// Adds a response header.
    #[must_use]
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.0.headers.push((name, value));
        self
    }

    /// Records the cause for the logs (never sent to the client).
    #[must_use]
    pub fn with_internal(mut self, cause: impl Into<String>) -> Self {
        self.0.body.internal = Some(cause.into());
        self
    }

    /// 404 with a resource-specific message.
    #[must_use]
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND", message)
    }

    /// 405 with the `Allow` header.
    #[must_use]
    pub fn method_not_allowed(allow: &str) -> Self {
        let value = HeaderValue::from_str(allow).unwrap_or(HeaderValue::from_static("GET"));
        Self::status(StatusCode::METHOD_NOT_ALLOWED)
            .with_header(actix_web::http::header::ALLOW, value)
    }

    /// 422 listing every violation.
    #[must_use]
    pub fn validation(
        location: Location,
        violations: &[FieldViolation],
        message: Option<String>,
    ) -> Self {
        let details: Vec<FieldErrorOut> = violations
            .iter()
            .map(|v| FieldErrorOut {
                location: location.as_str(),
                field: v.field.clone(),
                code: v.code.as_str(),
                message: v.message.clone(),
            })
            .collect();
        let (_, default) = default_for(StatusCode::UNPROCESSABLE_ENTITY);
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_ERROR",
            message.unwrap_or_else(|| default.to_owned()),
        )
        .with_details(serde_json::to_value(details).unwrap_or(Value::Null))
    }

    /// 422 `invalid_json` on the whole body.
    #[must_use]
    pub fn invalid_json(message: &str) -> Self {
        Self::validation(
            Location::Body,
            &[FieldViolation::new(
                "body",
                ViolationCode::InvalidJson,
                message,
            )],
            None,
        )
    }

    /// 500 whose cause goes to the log only.
    #[must_use]
    pub fn internal(cause: impl Into<String>) -> Self {
        Self::status(StatusCode::INTERNAL_SERVER_ERROR).with_internal(cause)
    }

    /// The HTTP status.
    #[must_use]
    pub fn status_code_value(&self) -> StatusCode {
        self.0.status
    }

    /// The envelope content.
    #[must_use]
    pub fn body(&self) -> &ErrorBody {
        &self.0.body
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.0.status);
        for (name, value) in &self.0.headers {
            res.insert_header((name.clone(), value.clone()));
        }
        let mut res = res.finish();
        res.extensions_mut().insert(self.0.body.clone());
        res
    }
}

/// The 401 of an authentication failure, with its `WWW-Authenticate` (API.md §1.6).
#[must_use]
pub fn unauthorized(failure: AuthFailure) -> ApiError {
    let (message, challenge) = match failure {
        AuthFailure::MissingCredentials => ("Authentification requise", "Bearer"),
        AuthFailure::InvalidToken => ("Token invalide ou expiré", "Bearer error=\"invalid_token\""),
        AuthFailure::UserDeactivated => ("Utilisateur désactivé", "Bearer error=\"invalid_token\""),
        AuthFailure::BadCredentials => ("Email ou mot de passe incorrect", "Bearer"),
        AuthFailure::InvalidRefreshToken => ("Refresh token invalide", "Bearer"),
    };
    ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message).with_header(
        actix_web::http::header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    )
}

/// The 429 with `Retry-After` and `details.retry_after`.
#[must_use]
pub fn too_many_requests(message: String, retry_after: i64) -> ApiError {
    let value =
        HeaderValue::from_str(&retry_after.to_string()).unwrap_or(HeaderValue::from_static("60"));
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS", message)
        .with_details(json!({"retry_after": retry_after}))
        .with_header(actix_web::http::header::RETRY_AFTER, value)
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Invalid {
                message,
                violations,
            } => Self::validation(Location::Body, &violations, message),
            AppError::Unauthenticated(failure) => unauthorized(failure),
            AppError::Forbidden { message, .. } => {
                Self::new(StatusCode::FORBIDDEN, "FORBIDDEN", message)
            }
            AppError::Rejected(message) => {
                Self::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
            }
            AppError::LockedOut {
                message,
                retry_after,
            } => too_many_requests(message, retry_after),
            AppError::UnsupportedContent(message) => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                message,
            ),
            AppError::NotFound(message) => Self::not_found(message),
            AppError::Conflict(conflict) => conflict_error(&conflict),
            AppError::Unavailable(cause) => Self::status(StatusCode::SERVICE_UNAVAILABLE)
                .with_header(
                    actix_web::http::header::RETRY_AFTER,
                    HeaderValue::from_static("5"),
                )
                .with_internal(cause),
            AppError::Internal(cause) => Self::internal(cause),
        }
    }
}

/// The 409 of a conflict, with the `details` API.md §3.6 gives the lifecycle's and the
/// version's.
fn conflict_error(conflict: &Conflict) -> ApiError {
    let error = ApiError::new(StatusCode::CONFLICT, "CONFLICT", conflict.message());
    match conflict {
        Conflict::Rule(_) => error,
        Conflict::Transition {
            current,
            requested,
            allowed,
        } => error.with_details(json!({
            "statut_actuel": current.as_str(),
            "statut_demande": requested.as_str(),
            "transitions_autorisees": allowed.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        })),
        Conflict::StaleVersion { current } => {
            error.with_details(json!({"version_actuelle": current}))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use erp_domain::enums::StatutIntervention;

    #[test]
    fn every_app_error_maps_to_its_status() {
        let cases = [
            (
                AppError::Invalid {
                    message: None,
                    violations: vec![FieldViolation::required("x")],
                },
                422,
            ),
            (AppError::NotFound("Utilisateur non trouvé.".into()), 404),
            (AppError::conflict("x".into()), 409),
            (AppError::Unavailable("db".into()), 503),
            (AppError::Internal("boom".into()), 500),
            (AppError::Unauthenticated(AuthFailure::InvalidToken), 401),
            (
                AppError::Forbidden {
                    message: "x".into(),
                    required_roles: vec![],
                },
                403,
            ),
            (AppError::Rejected("x".into()), 400),
            (AppError::UnsupportedContent("x".into()), 415),
            (
                AppError::LockedOut {
                    message: "x".into(),
                    retry_after: 3,
                },
                429,
            ),
        ];
        for (e, status) in cases {
            assert_eq!(ApiError::from(e).status_code().as_u16(), status);
        }
    }

    #[test]
    fn conflicts_carry_the_contract_s_details() {
        let details = |c: Conflict| ApiError::from(AppError::Conflict(c)).body().details.clone();
        assert_eq!(
            details(Conflict::Transition {
                current: StatutIntervention::Cloturee,
                requested: StatutIntervention::EnCours,
                allowed: vec![StatutIntervention::Archivee],
            }),
            Some(json!({
                "statut_actuel": "cloturee",
                "statut_demande": "en_cours",
                "transitions_autorisees": ["archivee"],
            }))
        );
        assert_eq!(
            details(Conflict::StaleVersion { current: 4 }),
            Some(json!({"version_actuelle": 4}))
        );
        assert_eq!(details(Conflict::Rule("x".into())), None);
    }

    #[test]
    fn internal_causes_are_not_in_the_envelope() {
        let e = ApiError::internal("SELECT * FROM users failed at /srv/db");
        let json = e.body().to_json("req-1").to_string();
        assert!(!json.contains("SELECT"));
        assert!(json.contains("Une erreur interne est survenue."));
        assert!(json.contains("\"trace_id\":\"req-1\""));
    }

    #[test]
    fn validation_details_carry_location_field_code_and_message() {
        let e = ApiError::validation(Location::Query, &[FieldViolation::required("limit")], None);
        assert_eq!(
            e.body().details,
            Some(
                json!([{"location": "query", "field": "limit", "code": "required", "message": "Champ obligatoire"}])
            )
        );
    }
}
