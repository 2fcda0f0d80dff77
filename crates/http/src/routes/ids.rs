//! Path ids (API.md §1.1): not a decimal integer → 422 in `path`; no visible row (0 and
//! negatives included) → the resource's 404.

use erp_domain::error::{FieldViolation, ViolationCode};

use crate::error::{ApiError, Location};

/// Parses a path id; `None` when it is an integer that cannot name a row (≤ 0).
///
/// # Errors
/// 422 when it is not a decimal integer.
pub fn path_id(name: &str, raw: &str) -> Result<Option<i64>, ApiError> {
    let trimmed = raw.trim();
    let digits = trimmed.strip_prefix('-').unwrap_or(trimmed);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::validation(
            Location::Path,
            &[FieldViolation::new(
                name,
                ViolationCode::InvalidType,
                "Type invalide",
            )],
            None,
        ));
    }
    Ok(trimmed.parse::<i64>().ok().filter(|v| *v > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_decimal_integers() {
        assert_eq!(path_id("id", "42").unwrap(), Some(42));
        assert_eq!(path_id("id", "0").unwrap(), None);
        assert_eq!(path_id("id", "-3").unwrap(), None);
        assert_eq!(path_id("id", "99999999999999999999").unwrap(), None);
        assert!(path_id("id", "abc").is_err());
        assert!(path_id("id", "1.5").is_err());
    }
}
