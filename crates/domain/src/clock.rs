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

/// A clock set by hand, separately on each thread: demo seeding spreads its writes over past
/// months with it, on several threads at once, each thread at its own instant. A thread that
/// never set it reads the instant the clock was created with.
#[derive(Debug)]
pub struct ThreadClock {
    initial: Timestamp,
    set: std::sync::Mutex<std::collections::HashMap<std::thread::ThreadId, Timestamp>>,
}

impl ThreadClock {
    /// A clock showing `t` on every thread.
    #[must_use]
    pub fn new(t: Timestamp) -> Self {
        Self {
            initial: truncate_to_micros(t),
            set: std::sync::Mutex::default(),
        }
    }

    /// Moves the calling thread's clock to `t`.
    pub fn set(&self, t: Timestamp) {
        self.times()
            .insert(std::thread::current().id(), truncate_to_micros(t));
    }

    fn times(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<std::thread::ThreadId, Timestamp>>
    {
        // A poisoned lock only means a thread panicked while setting its own time.
        self.set
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Clock for ThreadClock {
    fn now(&self) -> Timestamp {
        self.times()
            .get(&std::thread::current().id())
            .copied()
            .unwrap_or(self.initial)
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

    #[test]
    fn each_thread_reads_the_time_it_set() {
        let at = |s: i64| Utc.timestamp_opt(s, 0).single().unwrap();
        let clock = ThreadClock::new(at(1_000));
        clock.set(at(2_000));
        std::thread::scope(|scope| {
            scope.spawn(|| {
                assert_eq!(clock.now(), at(1_000), "unset here: the initial instant");
                clock.set(at(3_000));
                assert_eq!(clock.now(), at(3_000));
            });
        });
        assert_eq!(
            clock.now(),
            at(2_000),
            "another thread's set does not move this one"
        );
    }
}
