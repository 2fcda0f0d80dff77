//! Domain errors: what a value object or an entity rule refuses, with field-level details.

use std::fmt;

/// Machine-readable code of one field violation (API.md §1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViolationCode {
    /// A required value is missing or empty.
    Required,
    /// The value has the wrong JSON type.
    InvalidType,
    /// The value does not have the expected shape.
    InvalidFormat,
    /// The value is not one of the allowed ones.
    InvalidValue,
    /// The value is shorter than allowed.
    TooShort,
    /// The value is longer than allowed.
    TooLong,
    /// A number outside its range.
    OutOfRange,
    /// The body is not a JSON object.
    InvalidJson,
    /// A field that cannot be written through this endpoint.
    ReadOnly,
    /// Two fields that cannot be given together.
    ConflictingFields,
    /// A password rule failed.
    PasswordPolicy,
}

impl ViolationCode {
    /// The wire value of the code.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::InvalidType => "invalid_type",
            Self::InvalidFormat => "invalid_format",
            Self::InvalidValue => "invalid_value",
            Self::TooShort => "too_short",
            Self::TooLong => "too_long",
            Self::OutOfRange => "out_of_range",
            Self::InvalidJson => "invalid_json",
            Self::ReadOnly => "read_only",
            Self::ConflictingFields => "conflicting_fields",
            Self::PasswordPolicy => "password_policy",
        }
    }
}

impl fmt::Display for ViolationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One refused field: which, why (code) and a French message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Field name as the client sent it (dots and indexes for nested fields).
    pub field: String,
    /// Machine-readable reason.
    pub code: ViolationCode,
    /// Human-readable French message.
    pub message: String,
}

impl FieldViolation {
    /// Builds a violation.
    pub fn new(field: impl Into<String>, code: ViolationCode, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }

    /// "Champ obligatoire".
    pub fn required(field: impl Into<String>) -> Self {
        Self::new(field, ViolationCode::Required, "Champ obligatoire")
    }

    /// "Doit contenir au moins <n> caractères".
    pub fn too_short(field: impl Into<String>, min: usize) -> Self {
        Self::new(
            field,
            ViolationCode::TooShort,
            format!("Doit contenir au moins {min} caractères"),
        )
    }

    /// "Doit contenir au plus <n> caractères".
    pub fn too_long(field: impl Into<String>, max: usize) -> Self {
        Self::new(
            field,
            ViolationCode::TooLong,
            format!("Doit contenir au plus {max} caractères"),
        )
    }

    /// "Format invalide".
    pub fn invalid_format(field: impl Into<String>) -> Self {
        Self::new(field, ViolationCode::InvalidFormat, "Format invalide")
    }

    /// "Valeur invalide (valeurs possibles : a, b)".
    pub fn invalid_value(field: impl Into<String>, allowed: &[&str]) -> Self {
        Self::new(
            field,
            ViolationCode::InvalidValue,
            format!(
                "Valeur invalide (valeurs possibles : {})",
                allowed.join(", ")
            ),
        )
    }
}

/// A rule of the domain refused an input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// One or more fields are invalid; all of them are listed.
    #[error("invalid input: {}", summarize(.0))]
    Validation(Vec<FieldViolation>),
}

impl DomainError {
    /// A validation error with a single violation.
    #[must_use]
    pub fn single(v: FieldViolation) -> Self {
        Self::Validation(vec![v])
    }
}

fn summarize(v: &[FieldViolation]) -> String {
    v.iter()
        .map(|x| format!("{}: {}", x.field, x.code))
        .collect::<Vec<_>>()
        .join(", ")
}
