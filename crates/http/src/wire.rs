//! Wire formats shared by every endpoint (API.md §1.3).

use chrono::{DateTime, Timelike as _, Utc};

/// `YYYY-MM-DDTHH:MM:SSZ`, or with exactly six fractional digits when the sub-second part is
/// not zero.
#[must_use]
pub fn timestamp(t: DateTime<Utc>) -> String {
    if t.nanosecond() / 1_000 == 0 {
        t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn timestamps_have_a_z_and_zero_or_six_fraction_digits() {
        let whole = Utc
            .with_ymd_and_hms(2025, 9, 20, 10, 11, 12)
            .single()
            .unwrap();
        assert_eq!(timestamp(whole), "2025-09-20T10:11:12Z");
        let frac = whole + chrono::Duration::microseconds(1_500);
        assert_eq!(timestamp(frac), "2025-09-20T10:11:12.001500Z");
    }
}
