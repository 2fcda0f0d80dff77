//! Login throttling (D11, DATA.md §2.5): the failure window and the escalating lockout, as pure
//! functions of the stored state and the current time.

use chrono::Duration;

use crate::clock::Timestamp;

/// Failures within [`WINDOW`] that lock a key.
pub const THRESHOLD: i32 = 5;
/// The failure-counting window.
pub const WINDOW: Duration = Duration::minutes(15);
/// First lockout; each further one doubles, up to [`MAX_LOCKOUT`].
pub const BASE_LOCKOUT: Duration = Duration::minutes(5);
/// Longest lockout.
pub const MAX_LOCKOUT: Duration = Duration::minutes(40);
/// A key unused this long starts over at lockout level 0.
pub const RESET_AFTER: Duration = Duration::hours(24);

/// The two independent keys of a login attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThrottleScope {
    /// The account (its `username_norm`, or the normalised unknown identifier).
    Username,
    /// The client IP.
    Ip,
}

impl ThrottleScope {
    /// Storage value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Username => "username",
            Self::Ip => "ip",
        }
    }
}

/// One row of `login_throttle`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThrottleState {
    /// Failures in the current window.
    pub failure_count: i32,
    /// First failure of the window.
    pub window_started_at: Option<Timestamp>,
    /// Lockouts imposed since the last reset.
    pub lockout_level: i32,
    /// Locked until then.
    pub locked_until: Option<Timestamp>,
    /// Last failure.
    pub last_failure_at: Option<Timestamp>,
}

/// The `ip` scope's key of a client address (API.md §1.7): the address itself, an IPv6
/// address's /64 prefix (`2001:db8:1:2::/64`: one subscriber's allocation, or an attacker would
/// get 2^64 counters), an IPv4-mapped address as its IPv4. Anything else is kept as it is.
#[must_use]
pub fn ip_key(address: &str) -> String {
    match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let prefix = std::net::Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX));
                format!("{prefix}/64")
            }
        },
        Ok(v4) => v4.to_string(),
        Err(_) => address.to_owned(),
    }
}

/// Whole seconds to wait, rounded up, at least 1.
#[must_use]
pub fn retry_after_seconds(until: Timestamp, now: Timestamp) -> i64 {
    let ms = (until - now).num_milliseconds();
    ((ms + 999) / 1_000).max(1)
}

impl ThrottleState {
    /// Seconds the key is still locked for, if it is.
    #[must_use]
    pub fn locked_for(&self, now: Timestamp) -> Option<i64> {
        self.locked_until
            .filter(|u| *u > now)
            .map(|u| retry_after_seconds(u, now))
    }

    /// Counts one failure; returns the new `locked_until` when this failure locks the key.
    pub fn record_failure(&mut self, now: Timestamp) -> Option<Timestamp> {
        self.start_window_if_needed(now);
        self.count(now)
    }
}

/// An attempt counted as a failure before its password was checked (see
/// [`ThrottleState::reserve`]): what [`ThrottleState::refund`] needs to take it back when the
/// attempt turns out not to be a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// The state just before the attempt was counted (after any window or level reset).
    before: ThrottleState,
    /// The window the attempt was counted in.
    window_started_at: Option<Timestamp>,
    /// The lockout this attempt imposed, if it was the one that reached the threshold.
    locked_until: Option<Timestamp>,
}

impl Reservation {
    /// The lockout this attempt imposed, if it reached the threshold.
    #[must_use]
    pub const fn locked_until(&self) -> Option<Timestamp> {
        self.locked_until
    }
}

impl ThrottleState {
    /// Counts an attempt whose outcome is not known yet, as if it failed — before the slow
    /// password check, under the row lock of the key, so that N concurrent attempts can never
    /// get more than [`THRESHOLD`] password checks before the key locks (D11: "lock after the
    /// 5th, never later"). The attempt that reaches the threshold locks the key at once; the
    /// ones arriving after it are refused without being counted.
    ///
    /// # Errors
    /// The seconds still to wait when the key is locked (nothing changes then).
    pub fn reserve(&mut self, now: Timestamp) -> Result<Reservation, i64> {
        if let Some(seconds) = self.locked_for(now) {
            return Err(seconds);
        }
        self.start_window_if_needed(now);
        let before = self.clone();
        let locked_until = self.count(now);
        Ok(Reservation {
            before,
            window_started_at: self.window_started_at,
            locked_until,
        })
    }

    /// Takes back a [`Reservation`] whose attempt was not a failure (a right password on an
    /// inactive account, the IP key of a successful login, an internal error). When the
    /// reservation imposed the lockout still in force, the key returns to its state before the
    /// attempt; otherwise one failure is removed from the window it was counted in, if that
    /// window is still the current one (a later window owes it nothing).
    pub fn refund(&mut self, reservation: &Reservation) {
        if reservation.locked_until.is_some() && self.locked_until == reservation.locked_until {
            let last_failure_at = self.last_failure_at;
            *self = reservation.before.clone();
            self.last_failure_at = last_failure_at.max(reservation.before.last_failure_at);
            return;
        }
        if reservation.locked_until.is_none()
            && self.window_started_at == reservation.window_started_at
            && self.failure_count > 0
        {
            self.failure_count -= 1;
        }
    }

    fn start_window_if_needed(&mut self, now: Timestamp) {
        if self.last_failure_at.is_some_and(|t| now - t > RESET_AFTER) {
            self.lockout_level = 0;
        }
        if self.window_started_at.is_none_or(|t| now - t > WINDOW) {
            self.failure_count = 0;
            self.window_started_at = Some(now);
        }
    }

    /// Adds one failure to the current window; locks at the threshold.
    fn count(&mut self, now: Timestamp) -> Option<Timestamp> {
        self.failure_count += 1;
        self.last_failure_at = Some(now);
        if self.failure_count < THRESHOLD {
            return None;
        }
        self.lockout_level += 1;
        let until = now + lockout_duration(self.lockout_level);
        self.locked_until = Some(until);
        self.failure_count = 0;
        self.window_started_at = None;
        Some(until)
    }
}

/// `min(5 min × 2^(level−1), 40 min)`.
#[must_use]
pub fn lockout_duration(level: i32) -> Duration {
    let exponent = u32::try_from(level.saturating_sub(1)).unwrap_or(0).min(8);
    let minutes = 5_i64.saturating_mul(1_i64 << exponent);
    Duration::minutes(minutes).min(MAX_LOCKOUT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn t0() -> Timestamp {
        chrono::Utc
            .with_ymd_and_hms(2026, 3, 1, 8, 0, 0)
            .single()
            .unwrap()
    }

    fn fail_n(s: &mut ThrottleState, n: i32, at: Timestamp) -> Option<Timestamp> {
        let mut last = None;
        for _ in 0..n {
            last = s.record_failure(at);
        }
        last
    }

    #[test]
    fn the_fifth_failure_in_the_window_locks_for_five_minutes() {
        let mut s = ThrottleState::default();
        assert_eq!(fail_n(&mut s, 4, t0()), None);
        assert_eq!(s.locked_for(t0()), None);
        let until = s.record_failure(t0()).unwrap();
        assert_eq!(until, t0() + Duration::minutes(5));
        assert_eq!(s.locked_for(t0()), Some(300));
        assert_eq!(
            s.locked_for(t0() + Duration::milliseconds(299_500)),
            Some(1)
        );
        assert_eq!(s.locked_for(until), None);
    }

    #[test]
    fn lockouts_double_up_to_forty_minutes() {
        let mut s = ThrottleState::default();
        let mut now = t0();
        let mut durations = Vec::new();
        for _ in 0..6 {
            let until = fail_n(&mut s, 5, now).unwrap();
            durations.push((until - now).num_minutes());
            now = until + Duration::seconds(1);
        }
        assert_eq!(durations, vec![5, 10, 20, 40, 40, 40]);
    }

    #[test]
    fn failures_outside_the_window_start_a_new_count() {
        let mut s = ThrottleState::default();
        fail_n(&mut s, 4, t0());
        assert_eq!(s.record_failure(t0() + Duration::minutes(16)), None);
        assert_eq!(s.failure_count, 1);
    }

    #[test]
    fn a_day_without_failures_resets_the_level() {
        let mut s = ThrottleState::default();
        fail_n(&mut s, 5, t0());
        let later = t0() + Duration::hours(25);
        let until = fail_n(&mut s, 5, later).unwrap();
        assert_eq!(until - later, Duration::minutes(5));
        assert_eq!(s.lockout_level, 1);
    }

    #[test]
    fn reservations_lock_at_the_fifth_and_refuse_the_rest_uncounted() {
        let mut s = ThrottleState::default();
        let mut reserved = Vec::new();
        for _ in 0..4 {
            let r = s.reserve(t0()).unwrap();
            assert_eq!(r.locked_until(), None);
            reserved.push(r);
        }
        let fifth = s.reserve(t0()).unwrap();
        assert_eq!(fifth.locked_until(), Some(t0() + Duration::minutes(5)));
        let locked = s.clone();
        for _ in 0..35 {
            assert_eq!(s.reserve(t0()), Err(300));
        }
        assert_eq!(s, locked, "a refused attempt changes nothing");
    }

    #[test]
    fn a_refund_removes_one_failure_from_its_window_only() {
        let mut s = ThrottleState::default();
        s.reserve(t0()).unwrap();
        let second = s.reserve(t0()).unwrap();
        s.refund(&second);
        assert_eq!(s.failure_count, 1);
        // The window rolled over since: the refund owes the new window nothing.
        let mut s = ThrottleState::default();
        let old = s.reserve(t0()).unwrap();
        s.record_failure(t0() + Duration::minutes(16));
        s.refund(&old);
        assert_eq!(s.failure_count, 1);
    }

    #[test]
    fn refunding_the_locking_attempt_restores_the_state_before_it() {
        let mut s = ThrottleState::default();
        fail_n(&mut s, 4, t0());
        let before = s.clone();
        let fifth = s.reserve(t0() + Duration::seconds(1)).unwrap();
        assert!(s.locked_for(t0() + Duration::seconds(1)).is_some());
        s.refund(&fifth);
        assert_eq!(s.locked_until, None);
        assert_eq!(s.lockout_level, before.lockout_level);
        assert_eq!(s.failure_count, 4);
        assert_eq!(s.window_started_at, before.window_started_at);
        // A lock imposed by someone else is not lifted by an older reservation's refund.
        let mut s = ThrottleState::default();
        let first = s.reserve(t0()).unwrap();
        fail_n(&mut s, 4, t0());
        let lock = s.locked_until;
        s.refund(&first);
        assert_eq!(s.locked_until, lock);
    }

    #[test]
    fn ipv6_addresses_are_keyed_by_their_64_prefix() {
        assert_eq!(ip_key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(ip_key("2001:db8:1:2:ffff:1:2:3"), "2001:db8:1:2::/64");
        assert_eq!(ip_key("::ffff:198.51.100.4"), "198.51.100.4");
        assert_eq!(ip_key("198.51.100.4"), "198.51.100.4");
    }

    #[test]
    fn retry_after_rounds_up_and_is_at_least_one() {
        assert_eq!(
            retry_after_seconds(t0() + Duration::milliseconds(1), t0()),
            1
        );
        assert_eq!(
            retry_after_seconds(t0() + Duration::milliseconds(1_001), t0()),
            2
        );
        assert_eq!(retry_after_seconds(t0(), t0()), 1);
    }
}
