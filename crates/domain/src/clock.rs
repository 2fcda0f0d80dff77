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

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[expect(
        clippy::disallowed_methods,
        reason = "the one place that reads the system time"
    )]
    fn now(&self) -> Timestamp {
        truncate_to_micros(Utc::now())
    }
}

/// A clock stuck at one instant, for tests and reproducible runs.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        truncate_to_micros(self.0)
    }
}

/// A clock that is set by hand: demo seeding spreads its writes over past months with it.
#[derive(Debug)]
pub struct ManualClock(std::sync::atomic::AtomicI64);

impl ManualClock {
    /// A clock showing `t`.
    #[must_use]
    pub fn new(t: Timestamp) -> Self {
        Self(std::sync::atomic::AtomicI64::new(t.timestamp_micros()))
    }

    /// Moves the clock to `t`.
    pub fn set(&self, t: Timestamp) {
        self.0
            .store(t.timestamp_micros(), std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        DateTime::from_timestamp_micros(self.0.load(std::sync::atomic::Ordering::SeqCst))
            .unwrap_or_default()
    }
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
