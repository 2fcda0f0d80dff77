//! Wire formats shared by every endpoint (API.md §1.3).

use chrono::{DateTime, NaiveDate, NaiveDateTime, SubsecRound as _, Timelike as _, Utc};

/// `YYYY-MM-DDTHH:MM:SSZ`, or with exactly six fractional digits when the sub-second part is
/// not zero.
#[must_use]
pub fn timestamp(t: DateTime<Utc>) -> String {
    use chrono::Datelike as _;
    use std::fmt::Write as _;
    let micros = t.nanosecond() / 1_000;
    // Written field by field: `format` re-parses its pattern on every call, which was 9 % of
    // the CPU of a page of 50 interventions. Years beyond four digits and leap seconds keep
    // chrono's spelling.
    if !(0..=9999).contains(&t.year()) || micros >= 1_000_000 {
        return if micros == 0 {
            t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
        } else {
            t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
        };
    }
    let mut s = String::with_capacity(27);
    let _ = write!(
        s,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if micros != 0 {
        let _ = write!(s, ".{micros:06}");
    }
    s.push('Z');
    s
}

/// Parses an input timestamp (API.md §1.3): RFC 3339 with `Z` or an offset, a naive
/// `YYYY-MM-DDTHH:MM:SS[.f]` taken as UTC, or a date at midnight UTC. Truncated to
/// microseconds. Returns whether it was a bare date.
#[must_use]
pub fn parse_timestamp(s: &str) -> Option<(DateTime<Utc>, bool)> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some((t.with_timezone(&Utc).trunc_subsecs(6), false));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S%.f",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
            return Some((t.and_utc().trunc_subsecs(6), false));
        }
    }
    let date = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    Some((date.and_hms_opt(0, 0, 0)?.and_utc(), true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn the_field_by_field_spelling_is_chrono_s_for_every_instant() {
        let reference = |t: DateTime<Utc>| {
            if t.nanosecond() / 1_000 == 0 {
                t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
            } else {
                t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
            }
        };
        // A walk over some 1 700 years with uneven steps: every field and digit count varies.
        let mut t = Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).single().unwrap();
        let step =
            chrono::Duration::seconds(7_777_777) + chrono::Duration::nanoseconds(123_457_001);
        for i in 0..20_000 {
            assert_eq!(timestamp(t), reference(t), "{t:?}");
            t += if i % 3 == 0 {
                step
            } else {
                chrono::Duration::seconds(86_399)
            };
        }
        let late = Utc
            .with_ymd_and_hms(12_345, 6, 7, 8, 9, 10)
            .single()
            .unwrap();
        assert_eq!(timestamp(late), reference(late));
    }

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

    #[test]
    fn every_input_form_is_accepted_and_normalised_to_utc() {
        let utc = |s| parse_timestamp(s).map(|(t, d)| (timestamp(t), d));
        assert_eq!(
            utc("2025-09-20T10:11:12Z"),
            Some(("2025-09-20T10:11:12Z".into(), false))
        );
        assert_eq!(
            utc("2025-09-20T12:11:12+02:00"),
            Some(("2025-09-20T10:11:12Z".into(), false))
        );
        assert_eq!(
            utc("2025-09-20T10:11:12.1234567"),
            Some(("2025-09-20T10:11:12.123456Z".into(), false))
        );
        assert_eq!(
            utc("2025-09-20"),
            Some(("2025-09-20T00:00:00Z".into(), true))
        );
        assert_eq!(utc("20/09/2025"), None);
        assert_eq!(utc("2025-02-30"), None);
    }
}
