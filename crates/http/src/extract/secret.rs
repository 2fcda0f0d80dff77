//! Secrets a client types (passwords, refresh tokens): read as typed, never trimmed, at most
//! [`MAX_SECRET_CHARS`] characters; an empty one is 422 `required`. New passwords are described
//! with the password policy's bounds, which the application checks after reading.

use erp_domain::password::{MAX_LEN, MIN_LEN};
use erp_domain::value::MAX_SECRET_CHARS;
use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{KnownFormat, Schema, SchemaFormat, Type};

use crate::extract::fields::{Fields, Patch};
use crate::extract::wire::{WireValue, inline};

fn read_secret(f: &mut Fields, name: &str) -> Patch<String> {
    match f.raw(name) {
        None => Patch::Absent,
        Some(Value::Null) => Patch::Null,
        Some(_) => f
            .secret(name, MAX_SECRET_CHARS)
            .map_or(Patch::Absent, Patch::Value),
    }
}

fn secret_schema(
    description: &str,
    nullable: bool,
    password: bool,
    min: Option<usize>,
    max: usize,
) -> RefOr<Schema> {
    let mut b = inline(Type::String, description, nullable);
    if password {
        b = b.format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)));
    }
    RefOr::T(Schema::Object(
        b.max_length(Some(max)).min_length(min).build(),
    ))
}

/// A token as the client received it (the refresh token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jeton(pub String);

impl WireValue for Jeton {
    fn read(f: &mut Fields, name: &str) -> Patch<Self> {
        read_secret(f, name).map(Self)
    }

    fn schema(description: &str, nullable: bool) -> RefOr<Schema> {
        secret_schema(description, nullable, false, Some(1), MAX_SECRET_CHARS)
    }
}

/// A password as typed (to check against the stored one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MotDePasse(pub String);

impl WireValue for MotDePasse {
    fn read(f: &mut Fields, name: &str) -> Patch<Self> {
        read_secret(f, name).map(Self)
    }

    fn schema(description: &str, nullable: bool) -> RefOr<Schema> {
        secret_schema(description, nullable, true, Some(1), MAX_SECRET_CHARS)
    }
}

/// A new password: read like [`MotDePasse`], described with the policy's bounds (API.md §1.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NouveauMotDePasse(pub String);

impl WireValue for NouveauMotDePasse {
    fn read(f: &mut Fields, name: &str) -> Patch<Self> {
        read_secret(f, name).map(Self)
    }

    fn schema(description: &str, nullable: bool) -> RefOr<Schema> {
        secret_schema(description, nullable, true, Some(MIN_LEN), MAX_LEN)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::error::Location;

    fn fields(v: Value) -> Fields {
        let Value::Object(m) = v else { panic!() };
        Fields::new(m, Location::Body)
    }

    #[test]
    fn secrets_are_read_as_typed_and_bounded() {
        let long = "x".repeat(MAX_SECRET_CHARS + 1);
        let mut f = fields(json!({"a": "  pw  ", "b": "", "c": null, "d": long, "e": 3}));
        assert_eq!(
            MotDePasse::read(&mut f, "a"),
            Patch::Value(MotDePasse("  pw  ".into()))
        );
        assert_eq!(MotDePasse::read(&mut f, "b"), Patch::Absent);
        assert_eq!(Jeton::read(&mut f, "c"), Patch::Null);
        assert_eq!(NouveauMotDePasse::read(&mut f, "d"), Patch::Absent);
        assert_eq!(Jeton::read(&mut f, "e"), Patch::Absent);
        assert_eq!(Jeton::read(&mut f, "z"), Patch::Absent);
        let codes: Vec<(String, &str)> = f
            .into_violations()
            .into_iter()
            .map(|v| (v.field, v.code.as_str()))
            .collect();
        assert_eq!(
            codes,
            vec![
                ("b".to_owned(), "required"),
                ("d".to_owned(), "too_long"),
                ("e".to_owned(), "invalid_type"),
            ]
        );
    }

    #[test]
    fn new_passwords_are_described_with_the_policy() {
        let schema = serde_json::to_value(NouveauMotDePasse::schema("New.", false)).unwrap();
        assert_eq!(
            schema,
            json!({"type": "string", "format": "password", "description": "New.",
                   "maxLength": MAX_LEN, "minLength": MIN_LEN})
        );
        let schema = serde_json::to_value(Jeton::schema("T.", true)).unwrap();
        assert_eq!(
            schema,
            json!({"type": ["string", "null"], "description": "T.",
                   "maxLength": MAX_SECRET_CHARS, "minLength": 1})
        );
    }
}
