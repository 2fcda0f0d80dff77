//! The general per-IP rate limit (D11, API.md §1.7): fixed windows aligned on the UTC minute,
//! counted in this server's memory (the limit then holds per replica). Rejected requests are
//! not counted; the first rejection of an IP in a window is audited.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use erp_domain::Timestamp;

const SHARDS: usize = 16;

#[derive(Debug, Default)]
struct Shard {
    minute: i64,
    counts: HashMap<IpAddr, (u32, bool)>,
}

/// What the limiter decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go on.
    Allowed,
    /// 429 for `retry_after` seconds; `first` is the IP's first rejection in this window.
    Rejected {
        /// Seconds to the end of the window (≥ 1).
        retry_after: i64,
        /// First rejection of this IP in the window.
        first: bool,
    },
}

/// Fixed-window counters, sharded to keep lock contention low.
#[derive(Debug)]
pub struct RateLimiter {
    limit: u32,
    shards: Vec<Mutex<Shard>>,
}

impl RateLimiter {
    /// A limiter allowing `limit` requests per IP per minute.
    #[must_use]
    pub fn new(limit: u32) -> Self {
        Self {
            limit: limit.max(1),
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
        }
    }

    /// The configured limit.
    #[must_use]
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Counts a request of `ip` at `now`.
    pub fn check(&self, ip: IpAddr, now: Timestamp) -> Decision {
        let seconds = now.timestamp();
        let minute = seconds.div_euclid(60);
        let retry_after = (60 - seconds.rem_euclid(60)).max(1);
        let index = shard_of(ip);
        let Some(shard) = self.shards.get(index) else {
            return Decision::Allowed;
        };
        let Ok(mut shard) = shard.lock() else {
            return Decision::Allowed;
        };
        if shard.minute != minute {
            // A new window: every counter of the previous one is obsolete.
            shard.minute = minute;
            shard.counts.clear();
        }
        let entry = shard.counts.entry(ip).or_insert((0, false));
        if entry.0 < self.limit {
            entry.0 += 1;
            return Decision::Allowed;
        }
        let first = !entry.1;
        entry.1 = true;
        Decision::Rejected { retry_after, first }
    }
}

fn shard_of(ip: IpAddr) -> usize {
    let folded: u64 = match ip {
        IpAddr::V4(v4) => u64::from(u32::from(v4)),
        IpAddr::V6(v6) => {
            let n = u128::from(v6);
            u64::try_from(n & u128::from(u64::MAX)).unwrap_or(0)
                ^ u64::try_from(n >> 64).unwrap_or(0)
        }
    };
    usize::try_from(folded % SHARDS as u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn at(sec: u32) -> Timestamp {
        chrono::Utc
            .with_ymd_and_hms(2026, 1, 1, 10, 0, sec)
            .single()
            .unwrap()
    }

    #[test]
    fn the_request_over_the_limit_is_rejected_until_the_next_minute() {
        let limiter = RateLimiter::new(3);
        let ip: IpAddr = "10.1.2.3".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(limiter.check(ip, at(10)), Decision::Allowed);
        }
        assert_eq!(
            limiter.check(ip, at(15)),
            Decision::Rejected {
                retry_after: 45,
                first: true
            }
        );
        assert_eq!(
            limiter.check(ip, at(59)),
            Decision::Rejected {
                retry_after: 1,
                first: false
            }
        );
        let other: IpAddr = "10.1.2.4".parse().unwrap();
        assert_eq!(limiter.check(other, at(59)), Decision::Allowed, "per IP");
        let next_minute = at(59) + chrono::Duration::seconds(1);
        assert_eq!(limiter.check(ip, next_minute), Decision::Allowed);
    }
}
