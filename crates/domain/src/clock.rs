//! Time as the domain sees it: UTC instants truncated to microseconds, read through a port.

use chrono::{DateTime, SubsecRound, Utc};

/// A UTC instant, truncated to microseconds (the precision both databases store).
pub type Timestamp = DateTime<Utc>;

/// Source of the current time. Production reads the system clock; tests inject a fixed one.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant, already truncated to microseconds.
    fn now(&self) -> Timestamp;
}

/// Truncates an instant to the microsecond precision every stored timestamp has.
#[must_use]
pub fn truncate_to_micros(t: Timestamp) -> Timestamp {
    t.trunc_subsecs(6)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn truncation_keeps_microseconds_only() {
        let t = Utc
            .timestamp_opt(1_700_000_000, 123_456_789)
            .single()
            .unwrap();
        assert_eq!(truncate_to_micros(t).timestamp_subsec_nanos(), 123_456_000);
    }
}
