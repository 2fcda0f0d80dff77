//! Value types for the bounded values of the API (API.md §1.5): a text of `MIN`–`MAX`
//! characters, an integer in `MIN..=MAX`. Each parses once at the edge and carries its rule with
//! it (its bounds are associated constants), so the HTTP layer describes and checks a field from
//! the same type and no bound is written as a literal in a handler.
//!
//! The aliases name the bounds by meaning (`Titre`, `Rapport`, `Centimes`, `Minutes`…).

use std::fmt;

use crate::error::{DomainError, FieldViolation, ViolationCode};
use crate::text::char_len;

/// A trimmed text of `MIN`–`MAX` Unicode characters ([`char_len`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Texte<const MIN: usize, const MAX: usize>(String);

impl<const MIN: usize, const MAX: usize> Texte<MIN, MAX> {
    /// Fewest characters accepted (0: the text may be empty, which optional fields read as null).
    pub const MIN_CHARS: usize = MIN;
    /// Most characters accepted.
    pub const MAX_CHARS: usize = MAX;

    /// Trims `raw` and checks its length; violations are reported on `field`.
    ///
    /// # Errors
    /// `required` (empty while `MIN > 0`), `too_short` or `too_long`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        let s = raw.trim();
        let len = char_len(s);
        if len == 0 && MIN > 0 {
            return Err(DomainError::single(FieldViolation::required(field)));
        }
        if len < MIN {
            return Err(DomainError::single(FieldViolation::too_short(field, MIN)));
        }
        if len > MAX {
            return Err(DomainError::single(FieldViolation::too_long(field, MAX)));
        }
        Ok(Self(s.to_owned()))
    }

    /// The text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, owned.
    #[must_use]
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl<const MIN: usize, const MAX: usize> From<Texte<MIN, MAX>> for String {
    fn from(t: Texte<MIN, MAX>) -> Self {
        t.0
    }
}

impl<const MIN: usize, const MAX: usize> AsRef<str> for Texte<MIN, MAX> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<const MIN: usize, const MAX: usize> fmt::Display for Texte<MIN, MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An integer in `MIN..=MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Entier<const MIN: i64, const MAX: i64>(i64);

impl<const MIN: i64, const MAX: i64> Entier<MIN, MAX> {
    /// Smallest value accepted.
    pub const MIN_VALUE: i64 = MIN;
    /// Largest value accepted.
    pub const MAX_VALUE: i64 = MAX;

    /// Checks that `value` is in bounds; the violation is reported on `field`.
    ///
    /// # Errors
    /// `out_of_range` "Doit être compris entre MIN et MAX".
    pub fn new(field: &str, value: i64) -> Result<Self, DomainError> {
        if (MIN..=MAX).contains(&value) {
            Ok(Self(value))
        } else {
            Err(DomainError::single(FieldViolation::new(
                field,
                ViolationCode::OutOfRange,
                format!("Doit être compris entre {MIN} et {MAX}"),
            )))
        }
    }

    /// The value.
    #[must_use]
    pub const fn get(self) -> i64 {
        self.0
    }

    /// The value as an `i32`, for the columns stored as 32-bit integers; saturates (which only
    /// a type whose `MAX` exceeds `i32::MAX` could reach).
    #[must_use]
    pub fn to_i32(self) -> i32 {
        i32::try_from(self.0).unwrap_or(if self.0 < 0 { i32::MIN } else { i32::MAX })
    }
}

impl<const MIN: i64, const MAX: i64> From<Entier<MIN, MAX>> for i64 {
    fn from(v: Entier<MIN, MAX>) -> Self {
        v.0
    }
}

/// A non-negative finite measure (an équipement's power in kW, its weight in kg).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Quantite(f64);

impl Quantite {
    /// Smallest value accepted.
    pub const MIN_VALUE: f64 = 0.0;

    /// Checks that `value` is finite and ≥ 0; the violation is reported on `field`.
    ///
    /// # Errors
    /// `out_of_range` "Doit être supérieur ou égal à 0".
    pub fn new(field: &str, value: f64) -> Result<Self, DomainError> {
        if value.is_finite() && value >= Self::MIN_VALUE {
            Ok(Self(value))
        } else {
            Err(DomainError::single(FieldViolation::new(
                field,
                ViolationCode::OutOfRange,
                format!("Doit être supérieur ou égal à {}", Self::MIN_VALUE),
            )))
        }
    }

    /// The value.
    #[must_use]
    pub const fn get(self) -> f64 {
        self.0
    }
}

/// A title or name: 1–255 characters (intervention `titre`, équipement `nom`, skill `nom`…).
pub type Titre = Texte<1, 255>;
/// A short label: 1–100 characters (équipement `type`, skill `domaine`).
pub type Libelle = Texte<1, 100>;
/// A closing report: 1–10 000 characters (`rapport_intervention`).
pub type Rapport = Texte<1, 10_000>;
/// A reason: 1–1 000 characters (`raison` of a cancellation).
pub type Motif = Texte<1, 1_000>;
/// A free text of at most 10 000 characters (descriptions, notes, specifications).
pub type Description = Texte<0, 10_000>;
/// A free designation of at most 255 characters (optional titles, areas).
pub type Designation = Texte<0, 255>;
/// A free comment of at most 2 000 characters (notification content, client comment).
pub type Message = Texte<0, 2_000>;
/// A free comment of at most 1 000 characters (history remark, planning comment).
pub type Commentaire = Texte<0, 1_000>;
/// An optional short name of at most 100 characters (brand, model, building, team…).
pub type NomCourt = Texte<0, 100>;
/// An optional code of at most 50 characters (équipement `code_interne`).
pub type Code = Texte<0, 50>;
/// An optional short code of at most 20 characters (floor, badge number, phone).
pub type CodeCourt = Texte<0, 20>;

/// The most characters a secret typed by a user may have (passwords as typed, refresh tokens);
/// the password policy (`password::MIN_LEN`–`MAX_LEN`) applies to new passwords afterwards.
pub const MAX_SECRET_CHARS: usize = 1_024;

/// The largest amount of money the API accepts, in centimes.
pub const MAX_CENTIMES: i64 = 1_000_000_000_000;
/// The largest duration in minutes the API accepts.
pub const MAX_MINUTES: i64 = 1_000_000;

/// An amount of money in centimes: 0–[`MAX_CENTIMES`].
pub type Centimes = Entier<0, MAX_CENTIMES>;
/// A duration in minutes: 0–[`MAX_MINUTES`].
pub type Minutes = Entier<0, MAX_MINUTES>;
/// A client's satisfaction score: 1–5.
pub type Satisfaction = Entier<1, 5>;
/// A warranty in months: 0–1 200.
pub type MoisGarantie = Entier<0, 1_200>;
/// A skill's validity in months: 1–600.
pub type MoisValidite = Entier<1, 600>;
/// A travel radius in km: 0–10 000.
pub type RayonKm = Entier<0, 10_000>;
/// How many days ahead a planning generates its intervention: 0–365.
pub type JoursAvance = Entier<0, 365>;
/// An expected row version (optimistic concurrency): 1–`i32::MAX`.
pub type Version = Entier<1, { i32::MAX as i64 }>;

#[cfg(test)]
mod tests {
    use super::*;

    fn violation(e: DomainError) -> (String, &'static str, String) {
        let DomainError::Validation(mut v) = e;
        assert_eq!(v.len(), 1);
        let v = v.remove(0);
        (v.field, v.code.as_str(), v.message)
    }

    #[test]
    fn texts_are_trimmed_and_bounded_in_characters() {
        assert_eq!(
            Titre::parse("titre", "  Pompe  ").unwrap().as_str(),
            "Pompe"
        );
        let exactly = "é".repeat(255);
        assert_eq!(
            Titre::parse("titre", &exactly).unwrap().into_inner(),
            exactly
        );
        assert_eq!(
            violation(Titre::parse("titre", &"é".repeat(256)).unwrap_err()),
            (
                "titre".to_owned(),
                "too_long",
                "Doit contenir au plus 255 caractères".to_owned()
            )
        );
        assert_eq!(
            violation(Titre::parse("titre", "   ").unwrap_err()),
            (
                "titre".to_owned(),
                "required",
                "Champ obligatoire".to_owned()
            )
        );
    }

    #[test]
    fn a_minimum_above_one_is_too_short_and_an_empty_optional_text_is_fine() {
        assert_eq!(
            violation(Texte::<3, 10>::parse("u", "ab").unwrap_err()),
            (
                "u".to_owned(),
                "too_short",
                "Doit contenir au moins 3 caractères".to_owned()
            )
        );
        assert_eq!(Description::parse("d", " ").unwrap().as_str(), "");
        assert_eq!(Code::MAX_CHARS, 50);
        assert_eq!(Rapport::MIN_CHARS, 1);
        assert_eq!(String::from(CodeCourt::parse("e", "R+1").unwrap()), "R+1");
    }

    #[test]
    fn each_alias_has_its_bounds() {
        let texts = [
            (Titre::MIN_CHARS, Titre::MAX_CHARS, 1, 255),
            (Libelle::MIN_CHARS, Libelle::MAX_CHARS, 1, 100),
            (Rapport::MIN_CHARS, Rapport::MAX_CHARS, 1, 10_000),
            (Motif::MIN_CHARS, Motif::MAX_CHARS, 1, 1_000),
            (Description::MIN_CHARS, Description::MAX_CHARS, 0, 10_000),
            (Designation::MIN_CHARS, Designation::MAX_CHARS, 0, 255),
            (Message::MIN_CHARS, Message::MAX_CHARS, 0, 2_000),
            (Commentaire::MIN_CHARS, Commentaire::MAX_CHARS, 0, 1_000),
            (NomCourt::MIN_CHARS, NomCourt::MAX_CHARS, 0, 100),
            (CodeCourt::MIN_CHARS, CodeCourt::MAX_CHARS, 0, 20),
        ];
        for (min, max, want_min, want_max) in texts {
            assert_eq!((min, max), (want_min, want_max));
        }
        let numbers = [
            (
                Centimes::MIN_VALUE,
                Centimes::MAX_VALUE,
                0,
                1_000_000_000_000,
            ),
            (Minutes::MIN_VALUE, Minutes::MAX_VALUE, 0, 1_000_000),
            (Satisfaction::MIN_VALUE, Satisfaction::MAX_VALUE, 1, 5),
            (MoisGarantie::MIN_VALUE, MoisGarantie::MAX_VALUE, 0, 1_200),
            (MoisValidite::MIN_VALUE, MoisValidite::MAX_VALUE, 1, 600),
            (RayonKm::MIN_VALUE, RayonKm::MAX_VALUE, 0, 10_000),
            (JoursAvance::MIN_VALUE, JoursAvance::MAX_VALUE, 0, 365),
            (Version::MIN_VALUE, Version::MAX_VALUE, 1, 2_147_483_647),
        ];
        for (min, max, want_min, want_max) in numbers {
            assert_eq!((min, max), (want_min, want_max));
        }
    }

    #[test]
    fn integers_are_bounded_inclusively() {
        assert_eq!(Centimes::new("c", 0).unwrap().get(), 0);
        assert_eq!(
            Centimes::new("c", MAX_CENTIMES).unwrap().get(),
            MAX_CENTIMES
        );
        assert_eq!(
            violation(Centimes::new("cout", MAX_CENTIMES + 1).unwrap_err()),
            (
                "cout".to_owned(),
                "out_of_range",
                "Doit être compris entre 0 et 1000000000000".to_owned()
            )
        );
        assert_eq!(
            violation(Satisfaction::new("s", 0).unwrap_err()).2,
            "Doit être compris entre 1 et 5"
        );
        assert_eq!(Minutes::new("m", 90).unwrap().to_i32(), 90);
        assert_eq!(Centimes::new("c", MAX_CENTIMES).unwrap().to_i32(), i32::MAX);
        assert_eq!(i64::from(Satisfaction::new("s", 5).unwrap()), 5);
    }

    #[test]
    fn quantities_are_finite_and_not_negative() {
        assert!((Quantite::new("p", 0.0).unwrap().get()).abs() < f64::EPSILON);
        assert_eq!(
            violation(Quantite::new("poids", -0.5).unwrap_err()),
            (
                "poids".to_owned(),
                "out_of_range",
                "Doit être supérieur ou égal à 0".to_owned()
            )
        );
        assert!(Quantite::new("p", f64::NAN).is_err());
    }
}
