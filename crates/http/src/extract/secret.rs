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
