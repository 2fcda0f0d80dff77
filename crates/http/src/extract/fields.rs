//! Reading the fields of a JSON object (or form) with the contract's rules (API.md §1.3, §1.5):
//! strings trimmed (never passwords), empty optional strings become null, exact JSON types,
//! read-only fields refused, and every violation of the request collected before answering.

use erp_domain::error::{DomainError, FieldViolation, ViolationCode};
use serde_json::{Map, Value};

use crate::error::{ApiError, Location};

/// A field of a partial update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Patch<T> {
    /// Not sent: unchanged.
    Absent,
    /// `null`: cleared.
    Null,
    /// A new value.
    Value(T),
}

impl<T> Patch<T> {
    /// Writes a value into a non-nullable field; `Absent` and `Null` change nothing.
    pub fn set(self, target: &mut T) {
        if let Self::Value(v) = self {
            *target = v;
        }
    }

    /// Writes into a nullable field: a value sets it, `Null` clears it.
    pub fn set_nullable(self, target: &mut Option<T>) {
        match self {
            Self::Value(v) => *target = Some(v),
            Self::Null => *target = None,
            Self::Absent => {}
        }
    }

    /// Maps the value.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Patch<U> {
        match self {
            Self::Value(v) => Patch::Value(f(v)),
            Self::Null => Patch::Null,
            Self::Absent => Patch::Absent,
        }
    }

    /// The value, if one was sent (`Null` and `Absent` alike are `None`).
    pub fn value(self) -> Option<T> {
        match self {
            Self::Value(v) => Some(v),
            Self::Null | Self::Absent => None,
        }
    }

    /// `None` = unchanged, `Some(None)` = cleared, `Some(Some(v))` = set.
    pub fn into_option(self) -> Option<Option<T>> {
        match self {
            Self::Absent => None,
            Self::Null => Some(None),
            Self::Value(v) => Some(Some(v)),
        }
    }
}

/// The fields of one request body and the violations found so far.
#[derive(Debug)]
pub struct Fields {
    map: Map<String, Value>,
    location: Location,
    violations: Vec<FieldViolation>,
}

fn invalid_type(name: &str) -> FieldViolation {
    FieldViolation::new(name, ViolationCode::InvalidType, "Type invalide")
}

impl Fields {
    /// Starts reading `map`.
    #[must_use]
    pub fn new(map: Map<String, Value>, location: Location) -> Self {
        Self {
            map,
            location,
            violations: Vec::new(),
        }
    }

    /// Records a violation.
    pub fn push(&mut self, v: FieldViolation) {
        self.violations.push(v);
    }

    /// Records the violations of a domain error.
    pub fn push_domain(&mut self, e: DomainError) {
        let DomainError::Validation(v) = e;
        self.violations.extend(v);
    }

    /// Whether a field is present (even `null`).
    #[must_use]
    pub fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// Whether no violation names `name` yet.
    #[must_use]
    pub fn is_clean_for(&self, name: &str) -> bool {
        self.violations.iter().all(|v| v.field != name)
    }

    /// Whether every field read so far was valid.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty()
    }

    fn text(&mut self, name: &str) -> Patch<String> {
        match self.map.get(name) {
            None => Patch::Absent,
            Some(Value::Null) => Patch::Null,
            Some(Value::String(s)) => Patch::Value(s.clone()),
            Some(Value::Number(n)) if self.location != Location::Body => {
                Patch::Value(n.to_string())
            }
            Some(_) => {
                self.push(invalid_type(name));
                Patch::Absent
            }
        }
    }

    /// A string used as typed (passwords, tokens): required, `min`–`max` characters.
    pub fn secret(&mut self, name: &str, max: usize) -> Option<String> {
        match self.text(name) {
            Patch::Value(s) if !s.is_empty() => {
                if s.chars().count() > max {
                    self.push(FieldViolation::too_long(name, max));
                    return None;
                }
                Some(s)
            }
            Patch::Value(_) | Patch::Null | Patch::Absent => {
                if self.violations.iter().all(|v| v.field != name) {
                    self.push(FieldViolation::required(name));
                }
                None
            }
        }
    }

    /// The trimmed, non-empty text of a field, without recording anything (a field of another
    /// type is `None`; numbers count as text outside JSON bodies, as in [`Self::trimmed`]).
    #[must_use]
    pub fn peek_text(&self, name: &str) -> Option<String> {
        let s = match self.map.get(name)? {
            Value::String(s) => s.trim().to_owned(),
            Value::Number(n) if self.location != Location::Body => n.to_string(),
            _ => return None,
        };
        (!s.is_empty()).then_some(s)
    }

    /// A trimmed string of a partial update; empty → `Null`.
    pub fn trimmed(&mut self, name: &str) -> Patch<String> {
        match self.text(name) {
            Patch::Value(s) => {
                let t = s.trim();
                if t.is_empty() {
                    Patch::Null
                } else {
                    Patch::Value(t.to_owned())
                }
            }
            other => other,
        }
    }

    /// A required trimmed string.
    pub fn required(&mut self, name: &str) -> Option<String> {
        match self.trimmed(name) {
            Patch::Value(s) => Some(s),
            Patch::Null | Patch::Absent => {
                if self.violations.iter().all(|v| v.field != name) {
                    self.push(FieldViolation::required(name));
                }
                None
            }
        }
    }

    /// A boolean: JSON `true`/`false`; in forms the text forms of API.md §1.3.
    pub fn boolean(&mut self, name: &str) -> Patch<bool> {
        match self.map.get(name) {
            None => Patch::Absent,
            Some(Value::Null) => Patch::Null,
            Some(Value::Bool(b)) => Patch::Value(*b),
            Some(Value::String(s)) if self.location != Location::Body => match parse_bool(s) {
                Some(b) => Patch::Value(b),
                None => {
                    self.push(invalid_type(name));
                    Patch::Absent
                }
            },
            Some(_) => {
                self.push(invalid_type(name));
                Patch::Absent
            }
        }
    }

    /// A positive id (JSON integer).
    pub fn id(&mut self, name: &str) -> Patch<i64> {
        match self.map.get(name) {
            None => Patch::Absent,
            Some(Value::Null) => Patch::Null,
            Some(Value::Number(n)) => match n.as_i64() {
                Some(v) if v > 0 => Patch::Value(v),
                Some(_) => {
                    self.push(FieldViolation::new(
                        name,
                        ViolationCode::OutOfRange,
                        format!("Doit être compris entre 1 et {}", i64::MAX),
                    ));
                    Patch::Absent
                }
                None => {
                    self.push(invalid_type(name));
                    Patch::Absent
                }
            },
            Some(_) => {
                self.push(invalid_type(name));
                Patch::Absent
            }
        }
    }

    /// Parses a trimmed string with a domain constructor.
    pub fn parse<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, DomainError>,
    ) -> Patch<T> {
        match self.trimmed(name) {
            Patch::Value(s) => match parse(&s) {
                Ok(v) => Patch::Value(v),
                Err(e) => {
                    self.push_domain(e);
                    Patch::Absent
                }
            },
            Patch::Null => Patch::Null,
            Patch::Absent => Patch::Absent,
        }
    }

    /// A field that may not be null in a partial update.
    pub fn not_null<T>(&mut self, name: &str, patch: Patch<T>) -> Option<T> {
        match patch {
            Patch::Value(v) => Some(v),
            Patch::Absent => None,
            Patch::Null => {
                self.push(FieldViolation::new(
                    name,
                    ViolationCode::InvalidValue,
                    "Valeur invalide (null interdit)",
                ));
                None
            }
        }
    }

    /// The value of a required field read as `patch`: `null` or absent is a `required`
    /// violation, unless the field already has one (a bad value is reported once).
    pub fn require<T>(&mut self, name: &str, patch: Patch<T>) -> Option<T> {
        match patch {
            Patch::Value(v) => Some(v),
            Patch::Null | Patch::Absent => {
                if self.is_clean_for(name) {
                    self.push(FieldViolation::required(name));
                }
                None
            }
        }
    }

    /// A JSON integer in `min..=max` (a fraction or a string is `invalid_type`).
    pub fn integer(&mut self, name: &str, min: i64, max: i64) -> Patch<i64> {
        match self.map.get(name) {
            None => Patch::Absent,
            Some(Value::Null) => Patch::Null,
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => match n.as_i64() {
                Some(v) if (min..=max).contains(&v) => Patch::Value(v),
                _ => {
                    self.push(FieldViolation::new(
                        name,
                        ViolationCode::OutOfRange,
                        format!("Doit être compris entre {min} et {max}"),
                    ));
                    Patch::Absent
                }
            },
            Some(Value::String(s)) if self.location != Location::Body => {
                match s.trim().parse::<i64>() {
                    Ok(v) if (min..=max).contains(&v) => Patch::Value(v),
                    Ok(_) => {
                        self.push(FieldViolation::new(
                            name,
                            ViolationCode::OutOfRange,
                            format!("Doit être compris entre {min} et {max}"),
                        ));
                        Patch::Absent
                    }
                    Err(_) => {
                        self.push(invalid_type(name));
                        Patch::Absent
                    }
                }
            }
            Some(_) => {
                self.push(invalid_type(name));
                Patch::Absent
            }
        }
    }

    /// A JSON number ≥ `min`.
    pub fn number(&mut self, name: &str, min: f64) -> Patch<f64> {
        match self.map.get(name) {
            None => Patch::Absent,
            Some(Value::Null) => Patch::Null,
            Some(Value::Number(n)) => match n.as_f64() {
                Some(v) if v >= min && v.is_finite() => Patch::Value(v),
                _ => {
                    self.push(FieldViolation::new(
                        name,
                        ViolationCode::OutOfRange,
                        format!("Doit être supérieur ou égal à {min}"),
                    ));
                    Patch::Absent
                }
            },
            Some(_) => {
                self.push(invalid_type(name));
                Patch::Absent
            }
        }
    }

    /// A timestamp (API.md §1.3 input forms).
    pub fn timestamp(&mut self, name: &str) -> Patch<erp_domain::Timestamp> {
        match self.text(name) {
            Patch::Value(s) if s.trim().is_empty() => Patch::Null,
            Patch::Value(s) => match crate::wire::parse_timestamp(&s) {
                Some((t, _)) => Patch::Value(t),
                None => {
                    self.push(FieldViolation::invalid_format(name));
                    Patch::Absent
                }
            },
            Patch::Null => Patch::Null,
            Patch::Absent => Patch::Absent,
        }
    }

    /// An enum value (trimmed, case-insensitive).
    pub fn enumeration<T: std::str::FromStr>(&mut self, name: &str, allowed: &[&str]) -> Patch<T> {
        match self.trimmed(name) {
            Patch::Value(s) => match s.parse::<T>() {
                Ok(v) => Patch::Value(v),
                Err(_) => {
                    self.push(FieldViolation::invalid_value(name, allowed));
                    Patch::Absent
                }
            },
            Patch::Null => Patch::Null,
            Patch::Absent => Patch::Absent,
        }
    }

    /// The raw JSON value of a field.
    #[must_use]
    pub fn raw(&self, name: &str) -> Option<&Value> {
        self.map.get(name)
    }

    /// Refuses every listed field that is present.
    pub fn read_only(&mut self, names: &[&str], message: &str) {
        for name in names {
            if self.has(name) {
                self.push(FieldViolation::new(*name, ViolationCode::ReadOnly, message));
            }
        }
    }

    /// The violations found, for a nested object.
    #[must_use]
    pub fn into_violations(self) -> Vec<FieldViolation> {
        self.violations
    }

    /// The body read by a request type, or 422 with every violation (a request type reads as
    /// `None` only after recording a violation).
    ///
    /// # Errors
    /// The 422.
    pub fn finish_with<T>(self, read: Option<T>) -> Result<T, ApiError> {
        match read {
            Some(v) if self.violations.is_empty() => Ok(v),
            _ => Err(ApiError::validation(self.location, &self.violations, None)),
        }
    }

    /// 422 with every violation, or `Ok`.
    ///
    /// # Errors
    /// The 422.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.violations.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.location, &self.violations, None))
        }
    }
}

/// `true/false/1/0/yes/no/on/off`, case-insensitive.
#[must_use]
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(v: Value) -> Fields {
        let Value::Object(m) = v else { panic!() };
        Fields::new(m, Location::Body)
    }

    #[test]
    fn required_fields_report_absence_once_and_minutes_are_bounded() {
        let mut f = fields(json!({"a": 3, "b": null, "c": "x", "m": 1_000_001}));
        let a = f.id("a");
        assert_eq!(f.require("a", a), Some(3));
        let b = f.id("b");
        assert_eq!(f.require("b", b), None);
        let absent = f.id("z");
        assert_eq!(f.require("z", absent), None);
        let c = f.id("c");
        assert_eq!(f.require("c", c), None);
        assert_eq!(f.integer("m", 0, 1_000_000), Patch::Absent);
        assert_eq!(Patch::Value(2).value(), Some(2));
        assert_eq!(Patch::<i32>::Null.value(), None);
        let codes: Vec<(String, &str)> = f
            .into_violations()
            .into_iter()
            .map(|v| (v.field, v.code.as_str()))
            .collect();
        assert_eq!(
            codes,
            vec![
                ("b".to_owned(), "required"),
                ("z".to_owned(), "required"),
                ("c".to_owned(), "invalid_type"),
                ("m".to_owned(), "out_of_range"),
            ]
        );
    }

    #[test]
    fn strings_are_trimmed_and_empty_optional_ones_are_null() {
        let mut f = fields(json!({"a": "  x ", "b": "   ", "c": null}));
        assert_eq!(f.trimmed("a"), Patch::Value("x".into()));
        assert_eq!(f.trimmed("b"), Patch::Null);
        assert_eq!(f.trimmed("c"), Patch::Null);
        assert_eq!(f.trimmed("d"), Patch::Absent);
        assert!(f.finish().is_ok());
    }

    #[test]
    fn secrets_are_not_trimmed() {
        let mut f = fields(json!({"password": "  spaced  "}));
        assert_eq!(f.secret("password", 1024), Some("  spaced  ".into()));
    }

    #[test]
    fn every_violation_is_reported_together() {
        let mut f = fields(json!({"n": "1", "b": "yes", "id": 1.5}));
        assert_eq!(f.required("missing"), None);
        let _ = f.id("n");
        let _ = f.boolean("b");
        let _ = f.id("id");
        let err = f.finish().unwrap_err();
        let details = err.body().details.clone().unwrap();
        let codes: Vec<&str> = details
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["code"].as_str().unwrap())
            .collect();
        assert_eq!(
            codes,
            vec!["required", "invalid_type", "invalid_type", "invalid_type"]
        );
    }

    #[test]
    fn form_booleans_accept_their_text_forms() {
        let Value::Object(m) = json!({"a": "On", "b": "0", "c": "maybe"}) else {
            panic!()
        };
        let mut f = Fields::new(m, Location::Form);
        assert_eq!(f.boolean("a"), Patch::Value(true));
        assert_eq!(f.boolean("b"), Patch::Value(false));
        assert_eq!(f.boolean("c"), Patch::Absent);
        assert!(f.finish().is_err());
    }

    #[test]
    fn read_only_fields_are_refused() {
        let mut f = fields(json!({"email": "x"}));
        f.read_only(&["email", "role"], "Champ non modifiable");
        let err = f.finish().unwrap_err();
        assert_eq!(err.body().details.clone().unwrap()[0]["code"], "read_only");
    }
}
