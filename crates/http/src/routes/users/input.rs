//! The request bodies of `/api/v1/users*` (API.md §3.3): each type both reads the body and
//! describes it ([`request_body!`]).

use erp_domain::ClientId;
use erp_domain::error::FieldViolation;
use erp_domain::user::{Email, FullName, UserRole, Username};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{KnownFormat, Schema, SchemaFormat, Type};

use crate::extract::fields::{Fields, Patch};
use crate::extract::request::request_body;
use crate::extract::secret::{MotDePasse, NouveauMotDePasse};
use crate::extract::wire::{Defaulted, NotNull, WireValue, inline};

impl WireValue for Username {
    fn read(f: &mut Fields, name: &str) -> Patch<Self> {
        f.parse(name, |s| Self::parse(name, s))
    }

    fn schema(description: &str, nullable: bool) -> RefOr<Schema> {
        RefOr::T(Schema::Object(
            inline(Type::String, description, nullable)
                .max_length(Some(Self::MAX_CHARS))
                .min_length(Some(Self::MIN_CHARS))
                .pattern(Some(Self::PATTERN))
                .build(),
        ))
    }
}

impl WireValue for FullName {
    fn read(f: &mut Fields, name: &str) -> Patch<Self> {
        f.parse(name, |s| Self::parse(name, s))
    }

    fn schema(description: &str, nullable: bool) -> RefOr<Schema> {
        RefOr::T(Schema::Object(
            inline(Type::String, description, nullable)
                .max_length(Some(Self::MAX_CHARS))
                .min_length(Some(1))
                .build(),
        ))
    }
}

impl WireValue for Email {
    fn read(f: &mut Fields, name: &str) -> Patch<Self> {
        f.parse(name, |s| Self::parse(name, s))
    }

    fn schema(description: &str, nullable: bool) -> RefOr<Schema> {
        RefOr::T(Schema::Object(
            inline(Type::String, description, nullable)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
                .max_length(Some(Self::MAX_CHARS))
                .build(),
        ))
    }
}

request_body! {
    /// UserCreate (API.md §3.3).
    pub struct UserCreate {
        /// 3–100 characters of `A-Za-z0-9._-`, unique case-insensitively.
        pub username: Username,
        /// Display name.
        pub full_name: FullName,
        /// `local@domain.tld`, stored lowercased, unique.
        pub email: Email,
        /// Role.
        pub role: UserRole,
        /// Password policy (API.md §1.5).
        pub password: NouveauMotDePasse,
        /// Default `true`.
        pub is_active: NotNull<bool>,
        /// Only for role `client` (must exist); without it a client account is created.
        pub client_id: Option<ClientId>,
    }
}

request_body! {
    /// Partial update of a user by an admin (`PUT`/`PATCH /users/{id}`).
    pub struct UserUpdate {
        /// See UserCreate.
        pub username: NotNull<Username>,
        /// Display name.
        pub full_name: Patch<FullName>,
        /// E-mail address.
        pub email: NotNull<Email>,
        /// Role.
        pub role: NotNull<UserRole>,
        /// Active flag.
        pub is_active: NotNull<bool>,
        /// Password reset (policy; no current password needed).
        pub password: Defaulted<NouveauMotDePasse>,
        /// Client account (role `client` only).
        pub client_id: Patch<ClientId>,
    }
}

request_body! {
    /// `PUT /users/update`: the caller's own account. `email`, `role`, `username`, `is_active` and
    /// `client_id` are read-only here (422 `read_only`).
    pub struct UpdateMe {
        /// Display name.
        pub full_name: Patch<FullName>,
        /// New password (policy); needs `current_password`.
        pub password: Defaulted<NouveauMotDePasse>,
        /// Required when `password` is present.
        pub current_password: Defaulted<MotDePasse>,
    }
}

/// The fields of the caller's own account that `PUT /users/update` refuses.
pub const READ_ONLY_FOR_SELF: [&str; 5] = ["email", "role", "username", "is_active", "client_id"];

/// A valid new `password` needs `current_password` (422 `required`, unless that field already
/// has a violation); read after [`UpdateMe::read`], from the raw fields, so it is reported even
/// when another field is invalid.
pub fn require_current_password(f: &mut Fields) {
    let sent = |f: &Fields, name: &str| f.raw(name).is_some_and(|v| !v.is_null());
    if sent(f, "password")
        && f.is_clean_for("password")
        && !sent(f, "current_password")
        && f.is_clean_for("current_password")
    {
        f.push(FieldViolation::required("current_password"));
    }
}
