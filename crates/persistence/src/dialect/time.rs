//! Conversion between domain timestamps (UTC) and the naive UTC values stored by both backends.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::pg::Pg;
use diesel::sql_types::Timestamp as SqlTimestamp;
use diesel::sqlite::{Sqlite, SqliteType};
use erp_domain::clock::{Timestamp, truncate_to_micros};

/// Domain → storage: naive UTC, microsecond precision.
pub(crate) fn to_db(t: Timestamp) -> NaiveDateTime {
    truncate_to_micros(t).naive_utc()
}

/// Storage → domain.
pub(crate) fn from_db(t: impl Into<NaiveDateTime>) -> Timestamp {
    t.into().and_utc()
}

/// A timestamp column as the read models receive it. On SQLite the value is the text diesel
/// wrote (`YYYY-MM-DD HH:MM:SS[.ffffff]`), decoded here field by field: diesel's own decoder
/// tries chrono format strings one after the other, re-parsing each pattern for every value
/// (about 6 % of the CPU of a page of 50 interventions). Any other form still goes through
/// diesel's decoder; PostgreSQL's binary value always does.
#[derive(Debug, Clone, Copy, FromSqlRow)]
pub(crate) struct DbTime(NaiveDateTime);

impl From<DbTime> for NaiveDateTime {
    fn from(t: DbTime) -> Self {
        t.0
    }
}

impl FromSql<SqlTimestamp, Sqlite> for DbTime {
    fn from_sql(mut value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        if value.value_type() == Some(SqliteType::Text)
            && let Some(t) = parse_stored(value.read_text())
        {
            return Ok(Self(t));
        }
        <NaiveDateTime as FromSql<SqlTimestamp, Sqlite>>::from_sql(value).map(Self)
    }
}

impl FromSql<SqlTimestamp, Pg> for DbTime {
    fn from_sql(value: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<SqlTimestamp, Pg>>::from_sql(value).map(Self)
    }
}

/// `YYYY-MM-DD HH:MM:SS` with an optional `.` and 1–9 fraction digits; `None` for anything
/// else (including out-of-range fields), which the caller hands to diesel's decoder.
fn parse_stored(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        b.get(range)?.iter().try_fold(0_u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let year = i32::try_from(num(0..4)?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, num(5..7)?, num(8..10)?)?;
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            let n = num(20..b.len())?;
            n * 10_u32.pow(u32::try_from(9 - digits.len()).ok()?)
        }
        _ => return None,
    };
    let time = NaiveTime::from_hms_nano_opt(num(11..13)?, num(14..16)?, num(17..19)?, nanos)?;
    Some(date.and_time(time))
}

#[cfg(test)]
mod tests {
    use super::{DbTime, parse_stored};
    use chrono::NaiveDateTime;

    fn chrono(text: &str) -> Option<NaiveDateTime> {
        NaiveDateTime::parse_from_str(text, "%F %T%.f").ok()
    }

    #[test]
    fn stored_forms_decode_like_chrono() {
        for text in [
            "2026-11-24 09:05:00",
            "2026-11-24 09:05:00.1",
            "2026-11-24 09:05:00.123456",
            "2026-11-24 09:05:00.123456789",
            "2024-02-29 23:59:59.999999",
            "0001-01-01 00:00:00",
        ] {
            assert_eq!(parse_stored(text), chrono(text), "{text}");
            assert!(parse_stored(text).is_some(), "{text}");
        }
    }

    /// Through a real SQLite connection: the stored form takes the fast path, and a form only
    /// diesel understands (ISO `T`, a Julian day number) still decodes.
    #[test]
    fn sqlite_values_decode_on_both_paths() -> Result<(), Box<dyn std::error::Error>> {
        use diesel::dsl::sql;
        use diesel::prelude::*;
        use diesel::sql_types::Timestamp;

        let mut conn = SqliteConnection::establish(":memory:")?;
        let expected = chrono("2026-11-24 09:05:00.25").ok_or("fixture")?;
        for literal in [
            "'2026-11-24 09:05:00.25'",
            "'2026-11-24T09:05:00.25'",
            "julianday('2026-11-24 09:05:00.25')",
        ] {
            let t: DbTime = diesel::select(sql::<Timestamp>(literal)).get_result(&mut conn)?;
            let t = NaiveDateTime::from(t);
            // A Julian day is a double: equal to the millisecond.
            assert!((t - expected).num_milliseconds() == 0, "{literal}: {t}");
        }
        let bad = diesel::select(sql::<Timestamp>("'yesterday'")).get_result::<DbTime>(&mut conn);
        assert!(bad.is_err());
        Ok(())
    }

    #[test]
    fn other_forms_are_left_to_diesel() {
        for text in [
            "",
            "2026-11-24",
            "2026-11-24T09:05:00",
            "2026-11-24 09:05",
            "2026-11-24 09:05:00Z",
            "2026-11-24 09:05:00+01:00",
            "2026-11-24 09:05:00.",
            "2026-11-24 09:05:00.1234567890",
            "2026-13-01 00:00:00",
            "2025-02-29 00:00:00",
            "2026-11-24 24:00:00",
            "2026-11-24 09:60:00",
            "2026-1a-24 09:05:00",
            "2460000.5",
        ] {
            assert_eq!(parse_stored(text), None, "{text}");
        }
    }
}
