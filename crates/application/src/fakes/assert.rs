//! The assertions every use-case test shares: the one place that matches on [`AppError`]'s
//! variants, so that a change of the error's shape is adapted here only.

use std::fmt::Debug;

use erp_domain::ViolationCode;

use crate::error::{AppError, AuthFailure, Conflict};

fn err<T: Debug>(res: Result<T, AppError>, what: &str) -> AppError {
    match res {
        Ok(v) => panic!("expected {what}, got Ok({v:?})"),
        Err(e) => e,
    }
}

/// A 403 with this message.
pub fn assert_forbidden<T: Debug>(res: Result<T, AppError>, message: &str) {
    match err(res, "403") {
        AppError::Forbidden { message: m, .. } => assert_eq!(m, message),
        other => panic!("expected 403 {message:?}, got {other:?}"),
    }
}

/// A 403 of the role check (it lists the allowed roles).
pub fn assert_role_refused<T: Debug>(res: Result<T, AppError>) {
    match err(res, "403") {
        AppError::Forbidden {
            message,
            required_roles,
        } => {
            assert!(!required_roles.is_empty(), "not a role refusal: {message}");
            assert!(
                message.starts_with("Accès réservé aux rôles : "),
                "{message}"
            );
        }
        other => panic!("expected a role 403, got {other:?}"),
    }
}

/// A 404 with this message.
pub fn assert_not_found<T: Debug>(res: Result<T, AppError>, message: &str) {
    match err(res, "404") {
        AppError::NotFound(m) => assert_eq!(m, message),
        other => panic!("expected 404 {message:?}, got {other:?}"),
    }
}

/// A conflict with this message; returns what it is about.
pub fn assert_conflict<T: Debug>(res: Result<T, AppError>, message: &str) -> Conflict {
    match err(res, "409") {
        AppError::Conflict(c) => {
            assert_eq!(c.message(), message);
            c
        }
        other => panic!("expected 409 {message:?}, got {other:?}"),
    }
}

/// A 422 whose first violation is on `field` with `code`; returns the overall message and
/// the violations' messages.
pub fn assert_invalid<T: Debug>(
    res: Result<T, AppError>,
    field: &str,
    code: ViolationCode,
) -> (Option<String>, Vec<String>) {
    match err(res, "422") {
        AppError::Invalid {
            message,
            violations,
        } => {
            let first = violations.first().expect("at least one violation");
            assert_eq!(first.field, field, "{violations:?}");
            assert_eq!(first.code, code, "{violations:?}");
            (message, violations.into_iter().map(|v| v.message).collect())
        }
        other => panic!("expected 422 on {field}, got {other:?}"),
    }
}

/// A 400 with this message.
pub fn assert_bad_request<T: Debug>(res: Result<T, AppError>, message: &str) {
    match err(res, "400") {
        AppError::Rejected(m) => assert_eq!(m, message),
        other => panic!("expected 400 {message:?}, got {other:?}"),
    }
}

/// A 401 for this reason.
pub fn assert_unauthorized<T: Debug>(res: Result<T, AppError>, why: AuthFailure) {
    match err(res, "401") {
        AppError::Unauthenticated(w) => assert_eq!(w, why),
        other => panic!("expected 401 {why:?}, got {other:?}"),
    }
}

/// A 429; returns its `retry_after` after checking the message names it.
pub fn assert_too_many<T: Debug>(res: Result<T, AppError>) -> i64 {
    match err(res, "429") {
        AppError::LockedOut {
            message,
            retry_after,
        } => {
            assert_eq!(
                message,
                format!("Trop de tentatives échouées. Réessayez dans {retry_after} secondes.")
            );
            retry_after
        }
        other => panic!("expected 429, got {other:?}"),
    }
}

/// A 415 with this message.
pub fn assert_unsupported<T: Debug>(res: Result<T, AppError>, message: &str) {
    match err(res, "415") {
        AppError::UnsupportedContent(m) => assert_eq!(m, message),
        other => panic!("expected 415 {message:?}, got {other:?}"),
    }
}

/// A 500.
pub fn assert_internal<T: Debug>(res: Result<T, AppError>) {
    match err(res, "500") {
        AppError::Internal(_) => {}
        other => panic!("expected 500, got {other:?}"),
    }
}
