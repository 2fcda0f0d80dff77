//! Users: the role enum, the validated value objects of a user, and the entity itself.

use std::fmt;
use std::str::FromStr;

use crate::clock::Timestamp;
use crate::error::{DomainError, FieldViolation};
use crate::ids::{ClientId, UserId};
use crate::password::PasswordHash;
use crate::text::{char_len, norm};

/// The four roles of D5, in their declared order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UserRole {
    /// Everything.
    Admin,
    /// Manages equipment, technicians, interventions, planning and documents.
    Responsable,
    /// Works on the interventions assigned to them.
    Technicien,
    /// Sees their own account's equipment and interventions.
    Client,
}

impl UserRole {
    /// Every role, in declared order.
    pub const ALL: [Self; 4] = [
        Self::Admin,
        Self::Responsable,
        Self::Technicien,
        Self::Client,
    ];

    /// The wire and storage value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Responsable => "responsable",
            Self::Technicien => "technicien",
            Self::Client => "client",
        }
    }

    /// The wire values, for "valeurs possibles" messages.
    #[must_use]
    pub fn wire_values() -> Vec<&'static str> {
        Self::ALL.iter().map(|r| r.as_str()).collect()
    }
}

impl fmt::Display for UserRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not one of the enum's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown value {0:?}")]
pub struct UnknownVariant(pub String);

impl FromStr for UserRole {
    type Err = UnknownVariant;

    /// Trimmed and case-insensitive, as every enum input of the API.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == wanted)
            .ok_or_else(|| UnknownVariant(s.to_owned()))
    }
}

/// A login name: 3–100 characters of `[A-Za-z0-9._-]`, unique case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// Fewest characters.
    pub const MIN_CHARS: usize = 3;
    /// Most characters.
    pub const MAX_CHARS: usize = 100;
    /// The characters allowed, as a regular expression over the whole name.
    pub const PATTERN: &'static str = "^[A-Za-z0-9._-]+$";

    /// Validates a username as typed (surrounding whitespace is trimmed).
    ///
    /// # Errors
    /// `too_short`, `too_long` or `invalid_format` on field `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        let s = raw.trim();
        let len = char_len(s);
        if len == 0 {
            return Err(DomainError::single(FieldViolation::required(field)));
        }
        if len < Self::MIN_CHARS {
            return Err(DomainError::single(FieldViolation::too_short(
                field,
                Self::MIN_CHARS,
            )));
        }
        if len > Self::MAX_CHARS {
            return Err(DomainError::single(FieldViolation::too_long(
                field,
                Self::MAX_CHARS,
            )));
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(DomainError::single(FieldViolation::invalid_format(field)));
        }
        Ok(Self(s.to_owned()))
    }

    /// The username as entered.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-insensitive key (`username_norm`).
    #[must_use]
    pub fn normalized(&self) -> String {
        norm(&self.0)
    }
}

/// An e-mail address `local@domain.tld`, stored trimmed and lowercased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Most characters.
    pub const MAX_CHARS: usize = 255;

    /// Validates and lowercases an address.
    ///
    /// # Errors
    /// `required`, `too_long` or `invalid_format` on field `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        let s = raw.trim().to_lowercase();
        if s.is_empty() {
            return Err(DomainError::single(FieldViolation::required(field)));
        }
        if char_len(&s) > Self::MAX_CHARS {
            return Err(DomainError::single(FieldViolation::too_long(
                field,
                Self::MAX_CHARS,
            )));
        }
        if !looks_like_email(&s) {
            return Err(DomainError::single(FieldViolation::invalid_format(field)));
        }
        Ok(Self(s))
    }

    /// The normalised address.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn looks_like_email(s: &str) -> bool {
    if s.chars().any(char::is_whitespace) {
        return false;
    }
    let mut parts = s.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Some((host, tld)) = domain.rsplit_once('.') else {
        return false;
    };
    !local.is_empty()
        && !host.is_empty()
        && !tld.is_empty()
        && !host.starts_with('.')
        && !host.ends_with('.')
        && !domain.contains("..")
}

/// A person's display name: 1–255 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullName(String);

impl FullName {
    /// Most characters.
    pub const MAX_CHARS: usize = 255;

    /// Validates a display name.
    ///
    /// # Errors
    /// `required` or `too_long` on field `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(DomainError::single(FieldViolation::required(field)));
        }
        if char_len(s) > Self::MAX_CHARS {
            return Err(DomainError::single(FieldViolation::too_long(
                field,
                Self::MAX_CHARS,
            )));
        }
        Ok(Self(s.to_owned()))
    }

    /// The trimmed name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user as stored (DATA.md §2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Primary key.
    pub id: UserId,
    /// Login name as entered.
    pub username: Username,
    /// Lowercased e-mail address.
    pub email: Email,
    /// Display name, if any.
    pub full_name: Option<FullName>,
    /// Argon2id hash of the password.
    pub password_hash: PasswordHash,
    /// Role used for every authorization decision.
    pub role: UserRole,
    /// `false` once deactivated (users are never deleted).
    pub is_active: bool,
    /// Client account, for `client` users only.
    pub client_id: Option<ClientId>,
    /// Time of the last successful login.
    pub last_login: Option<Timestamp>,
    /// Creation time or last password change/reset.
    pub password_changed_at: Timestamp,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last write.
    pub updated_at: Timestamp,
}

/// A user to insert; the repository assigns the id.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login name.
    pub username: Username,
    /// E-mail address.
    pub email: Email,
    /// Display name.
    pub full_name: Option<FullName>,
    /// Hash of the initial password.
    pub password_hash: PasswordHash,
    /// Role.
    pub role: UserRole,
    /// Active flag.
    pub is_active: bool,
    /// Client account (role `client` only; the database checks it too).
    pub client_id: Option<ClientId>,
    /// Creation time, also `updated_at` and `password_changed_at`.
    pub now: Timestamp,
}

/// Sort keys of `GET /users`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserSortField {
    /// `id` (default).
    Id,
    /// `username` (normalised).
    Username,
    /// `created_at`.
    CreatedAt,
    /// `last_login` (nulls last).
    LastLogin,
}

impl UserSortField {
    /// Wire names, for error messages.
    pub const NAMES: [&'static str; 4] = ["id", "username", "created_at", "last_login"];

    /// Parses a wire name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "id" => Some(Self::Id),
            "username" => Some(Self::Username),
            "created_at" => Some(Self::CreatedAt),
            "last_login" => Some(Self::LastLogin),
            _ => None,
        }
    }
}

/// Filters of `GET /users`.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Any of these roles (empty = all).
    pub roles: Vec<UserRole>,
    /// Active or not.
    pub is_active: Option<bool>,
    /// Client account.
    pub client_id: Option<ClientId>,
    /// Contains (normalised) on username, e-mail and full name.
    pub search: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ViolationCode;

    fn code(r: Result<impl fmt::Debug, DomainError>) -> ViolationCode {
        match r {
            Err(DomainError::Validation(v)) => v[0].code,
            Ok(v) => panic!("accepted: {v:?}"),
        }
    }

    #[test]
    fn roles_parse_trimmed_and_case_insensitively() {
        assert_eq!(" Admin ".parse::<UserRole>(), Ok(UserRole::Admin));
        assert_eq!("TECHNICIEN".parse::<UserRole>(), Ok(UserRole::Technicien));
        assert!("root".parse::<UserRole>().is_err());
        for r in UserRole::ALL {
            assert_eq!(r.as_str().parse::<UserRole>(), Ok(r));
        }
    }

    #[test]
    fn usernames_follow_the_contract() {
        assert_eq!(
            Username::parse("u", " Jean.Dupont-2 ").unwrap().as_str(),
            "Jean.Dupont-2"
        );
        assert_eq!(Username::parse("u", "Jean").unwrap().normalized(), "jean");
        assert_eq!(code(Username::parse("u", "ab")), ViolationCode::TooShort);
        assert_eq!(code(Username::parse("u", "  ")), ViolationCode::Required);
        assert_eq!(
            code(Username::parse("u", &"a".repeat(101))),
            ViolationCode::TooLong
        );
        assert_eq!(
            code(Username::parse("u", "jean dupont")),
            ViolationCode::InvalidFormat
        );
        assert_eq!(
            code(Username::parse("u", "jéan")),
            ViolationCode::InvalidFormat
        );
    }

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(
            Email::parse("e", " Admin@MIF.ma ").unwrap().as_str(),
            "admin@mif.ma"
        );
        for bad in [
            "admin", "a@b", "a@@b.ma", "a b@c.ma", "@c.ma", "a@.ma", "a@c.", "a@c..ma",
        ] {
            assert_eq!(
                code(Email::parse("e", bad)),
                ViolationCode::InvalidFormat,
                "{bad}"
            );
        }
        assert_eq!(code(Email::parse("e", "")), ViolationCode::Required);
    }

    #[test]
    fn full_names_are_trimmed_and_bounded() {
        assert_eq!(FullName::parse("f", "  Amal  ").unwrap().as_str(), "Amal");
        assert_eq!(
            code(FullName::parse("f", &"é".repeat(256))),
            ViolationCode::TooLong
        );
        assert!(FullName::parse("f", &"é".repeat(255)).is_ok());
    }
}
