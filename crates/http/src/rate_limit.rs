//! The general per-IP rate limit (D11, API.md §1.7): fixed windows aligned on the UTC minute,
//! counted in this server's memory (the limit then holds per replica), or in a shared store
//! (Redis) when one is configured, so that the limit holds across every replica. Rejected
//! requests are not counted; the first rejection of an IP in a window is audited.
//!
//! A shared store that fails or is slow never fails a request: the request is decided on this
//! replica's own counters, a warning is logged (at most every [`WARN_EVERY`]), the failure is
//! counted (`rate_limit_store_errors_total`), and the store is left alone for [`RETRY_AFTER`]
//! so that an absent Redis does not add its timeout to every request.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use erp_domain::Timestamp;
use erp_domain::ports::RateLimitStore;

/// After a failure of the shared store, requests use the local counters for this long before
/// the store is tried again.
pub const RETRY_AFTER: chrono::Duration = chrono::Duration::seconds(1);
/// At most one warning about the shared store per this period.
pub const WARN_EVERY: chrono::Duration = chrono::Duration::seconds(30);

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

/// Fixed-window counters, sharded to keep lock contention low, and the optional shared store.
#[derive(Debug)]
pub struct RateLimiter {
    limit: u32,
    shards: Vec<Mutex<Shard>>,
    shared: Option<Arc<dyn RateLimitStore>>,
    /// Milliseconds since the epoch until which the shared store is skipped; 0 = healthy.
    skip_shared_until: AtomicI64,
    /// When the last warning about the shared store was logged.
    warned_at: AtomicI64,
}

impl RateLimiter {
    /// A limiter allowing `limit` requests per IP per minute, counted in memory.
    #[must_use]
    pub fn new(limit: u32) -> Self {
        Self {
            limit: limit.max(1),
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            shared: None,
            skip_shared_until: AtomicI64::new(0),
            warned_at: AtomicI64::new(i64::MIN),
        }
    }

    /// Counts in `store` (shared by every replica), with the memory counters as the fallback.
    #[must_use]
    pub fn with_shared_store(mut self, store: Arc<dyn RateLimitStore>) -> Self {
        self.shared = Some(store);
        self
    }

    /// The shared store, if one is configured.
    #[must_use]
    pub fn shared_store(&self) -> Option<&Arc<dyn RateLimitStore>> {
        self.shared.as_ref()
    }

    /// Counts a request of `client` (its rate-limit key: see `proxy::limit_key`).
    pub async fn decide(&self, client: IpAddr, now: Timestamp) -> Decision {
        let Some(store) = &self.shared else {
            return self.check(client, now);
        };
        let now_ms = now.timestamp_millis();
        if self.skip_shared_until.load(Ordering::Relaxed) > now_ms {
            return self.check(client, now);
        }
        let window = now.timestamp().div_euclid(60);
        match store
            .hit(&erp_domain::throttle::ip_key(&client.to_string()), window)
            .await
        {
            Ok(count) => {
                // Written only after a failure, so a healthy store costs no shared write.
                if self.skip_shared_until.load(Ordering::Relaxed) != 0 {
                    self.skip_shared_until.store(0, Ordering::Relaxed);
                }
                self.decide_count(count, now)
            }
            Err(e) => {
                metrics::counter!("rate_limit_store_errors_total").increment(1);
                self.skip_shared_until
                    .store(now_ms + RETRY_AFTER.num_milliseconds(), Ordering::Relaxed);
                let warned = self.warned_at.load(Ordering::Relaxed);
                if now_ms.saturating_sub(warned) >= WARN_EVERY.num_milliseconds()
                    && self
                        .warned_at
                        .compare_exchange(warned, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok()
                {
                    tracing::warn!(error = %e, "shared rate-limit store unavailable: counting in this replica's memory meanwhile");
                }
                self.check(client, now)
            }
        }
    }

    /// The decision for the `count`-th request of a window in the shared store (where every
    /// request is counted, so the first rejection is the one just over the limit).
    fn decide_count(&self, count: u64, now: Timestamp) -> Decision {
        if count <= u64::from(self.limit) {
            return Decision::Allowed;
        }
        Decision::Rejected {
            retry_after: retry_after(now),
            first: count == u64::from(self.limit) + 1,
        }
    }

    /// The configured limit.
    #[must_use]
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Counts a request of `ip` at `now`.
    pub fn check(&self, ip: IpAddr, now: Timestamp) -> Decision {
        let minute = now.timestamp().div_euclid(60);
        let retry_after = retry_after(now);
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

/// Seconds to the end of the window (≥ 1).
fn retry_after(now: Timestamp) -> i64 {
    (60 - now.timestamp().rem_euclid(60)).max(1)
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
    fn a_shared_count_over_the_limit_is_rejected_and_only_the_first_is_first() {
        let limiter = RateLimiter::new(3);
        assert_eq!(limiter.decide_count(3, at(10)), Decision::Allowed);
        assert_eq!(
            limiter.decide_count(4, at(10)),
            Decision::Rejected {
                retry_after: 50,
                first: true
            }
        );
        assert_eq!(
            limiter.decide_count(9, at(59)),
            Decision::Rejected {
                retry_after: 1,
                first: false
            }
        );
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
