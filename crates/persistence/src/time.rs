//! Conversion between domain timestamps (UTC) and the naive UTC values stored by both backends.

use chrono::NaiveDateTime;
use erp_domain::clock::{Timestamp, truncate_to_micros};

/// Domain → storage: naive UTC, microsecond precision.
pub(crate) fn to_db(t: Timestamp) -> NaiveDateTime {
    truncate_to_micros(t).naive_utc()
}

/// Storage → domain.
pub(crate) fn from_db(t: NaiveDateTime) -> Timestamp {
    t.and_utc()
}
