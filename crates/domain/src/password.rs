//! Passwords: the policy of D4 / API.md §1.5, the plaintext wrapper that cannot be logged, and
//! the PHC hash that is stored.

use std::collections::HashSet;
use std::sync::LazyLock;

use secrecy::{ExposeSecret, SecretString};

use crate::error::{FieldViolation, ViolationCode};

/// Minimum length in characters.
pub const MIN_LEN: usize = 12;
/// Maximum length in characters.
pub const MAX_LEN: usize = 128;

/// The embedded list of passwords refused as too common (compared case-insensitively).
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// A plaintext password as typed by a person. Never trimmed, never printed.
#[derive(Debug, Clone)]
pub struct PlainPassword(SecretString);

impl PlainPassword {
    /// Wraps a typed password without altering it.
    #[must_use]
    pub fn new(raw: impl Into<String>) -> Self {
        Self(SecretString::from(raw.into()))
    }

    /// The characters, for the hasher and the policy only.
    #[must_use]
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

/// An Argon2id hash in PHC string form (`$argon2id$v=19$…`).
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a PHC string read from storage or produced by the hasher.
    #[must_use]
    pub fn from_phc(phc: impl Into<String>) -> Self {
        Self(phc.into())
    }

    /// The PHC string.
    #[must_use]
    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash([REDACTED])")
    }
}

/// One rule of the password policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordRule {
    /// At least [`MIN_LEN`] characters.
    MinLength,
    /// At most [`MAX_LEN`] characters.
    MaxLength,
    /// A lowercase letter.
    Lowercase,
    /// An uppercase letter.
    Uppercase,
    /// An ASCII digit.
    Digit,
    /// A character that is neither a letter nor an ASCII digit (space included).
    Symbol,
    /// Not in the embedded common-password list.
    NotCommon,
}

impl PasswordRule {
    /// The French message of the rule, exactly as API.md §1.5 words it.
    #[must_use]
    pub const fn message(self) -> &'static str {
        match self {
            Self::MinLength => "Le mot de passe doit contenir au moins 12 caractères",
            Self::MaxLength => "Le mot de passe doit contenir au plus 128 caractères",
            Self::Lowercase => "Le mot de passe doit contenir au moins une lettre minuscule",
            Self::Uppercase => "Le mot de passe doit contenir au moins une lettre majuscule",
            Self::Digit => "Le mot de passe doit contenir au moins un chiffre",
            Self::Symbol => "Le mot de passe doit contenir au moins un caractère spécial",
            Self::NotCommon => "Ce mot de passe est trop courant et n'est pas autorisé",
        }
    }
}

/// Every rule the password fails, in the order of the policy; empty when it is acceptable.
#[must_use]
pub fn failed_rules(password: &str) -> Vec<PasswordRule> {
    let len = password.chars().count();
    let mut failed = Vec::new();
    if len < MIN_LEN {
        failed.push(PasswordRule::MinLength);
    }
    if len > MAX_LEN {
        failed.push(PasswordRule::MaxLength);
    }
    if !password.chars().any(char::is_lowercase) {
        failed.push(PasswordRule::Lowercase);
    }
    if !password.chars().any(char::is_uppercase) {
        failed.push(PasswordRule::Uppercase);
    }
    if !password.chars().any(|c| c.is_ascii_digit()) {
        failed.push(PasswordRule::Digit);
    }
    if !password
        .chars()
        .any(|c| !c.is_alphabetic() && !c.is_ascii_digit())
    {
        failed.push(PasswordRule::Symbol);
    }
    if is_common(password) {
        failed.push(PasswordRule::NotCommon);
    }
    failed
}

/// Whether the password is in the embedded common-password list (case-insensitively).
#[must_use]
pub fn is_common(password: &str) -> bool {
    static LOWERED: LazyLock<HashSet<String>> = LazyLock::new(|| {
        COMMON_PASSWORDS
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_lowercase)
            .collect()
    });
    LOWERED.contains(&password.to_lowercase())
}

/// Checks the policy and reports every failing rule as a `password_policy` violation of `field`.
///
/// # Errors
/// The list of violations, one per failing rule, in policy order.
pub fn check_policy(field: &str, password: &PlainPassword) -> Result<(), Vec<FieldViolation>> {
    let failed = failed_rules(password.expose());
    if failed.is_empty() {
        return Ok(());
    }
    Err(failed
        .into_iter()
        .map(|r| FieldViolation::new(field, ViolationCode::PasswordPolicy, r.message()))
        .collect())
}

/// The 422 message for a policy failure: "Mot de passe invalide: " + the rule messages.
#[must_use]
pub fn policy_message(violations: &[FieldViolation]) -> String {
    let joined: Vec<&str> = violations.iter().map(|v| v.message.as_str()).collect();
    format!("Mot de passe invalide: {}", joined.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_strong_password_passes() {
        assert!(failed_rules("Maintenance#2026x").is_empty());
    }

    #[test]
    fn every_failing_rule_is_reported_in_order() {
        assert_eq!(
            failed_rules("abc"),
            vec![
                PasswordRule::MinLength,
                PasswordRule::Uppercase,
                PasswordRule::Digit,
                PasswordRule::Symbol
            ]
        );
        assert_eq!(
            failed_rules(""),
            vec![
                PasswordRule::MinLength,
                PasswordRule::Lowercase,
                PasswordRule::Uppercase,
                PasswordRule::Digit,
                PasswordRule::Symbol
            ]
        );
    }

    #[test]
    fn too_long_is_refused() {
        let long = format!("Aa1!{}", "x".repeat(125));
        assert_eq!(failed_rules(&long), vec![PasswordRule::MaxLength]);
    }

    #[test]
    fn space_and_accented_letters_count_as_expected() {
        // A space is a symbol; an accented letter is a letter, not a symbol.
        assert!(failed_rules("Maintenance 2026").is_empty());
        assert_eq!(failed_rules("Maintenanceé2026"), vec![PasswordRule::Symbol]);
        // Non-ASCII digits are not digits for the policy, but they are symbols.
        assert_eq!(failed_rules("Maintenance٣٣٣x"), vec![PasswordRule::Digit]);
    }

    #[test]
    fn the_documented_common_passwords_are_refused_case_insensitively() {
        for p in [
            "Password123!",
            "Motdepasse123!",
            "Azerty123456!",
            "Admin1234567!",
            "password123!",
        ] {
            assert!(failed_rules(p).contains(&PasswordRule::NotCommon), "{p}");
        }
    }

    #[test]
    fn the_policy_message_joins_rules() {
        let err = check_policy("password", &PlainPassword::new("abcdefghijkl")).unwrap_err();
        assert_eq!(err.len(), 3);
        assert!(
            err.iter()
                .all(|v| v.field == "password" && v.code == ViolationCode::PasswordPolicy)
        );
        assert_eq!(
            policy_message(&err),
            "Mot de passe invalide: Le mot de passe doit contenir au moins une lettre majuscule; \
             Le mot de passe doit contenir au moins un chiffre; \
             Le mot de passe doit contenir au moins un caractère spécial"
        );
    }

    #[test]
    fn the_hash_is_never_printed() {
        let h = PasswordHash::from_phc("$argon2id$v=19$secret");
        assert!(!format!("{h:?}").contains("secret"));
    }
}
