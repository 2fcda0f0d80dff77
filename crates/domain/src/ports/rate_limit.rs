//! The shared store of the general rate limit's counters (D11, D15, DATA.md §2.6): fixed
//! windows counted across every replica. The store is an optimisation of fairness, never a
//! dependency of serving: a caller that gets an error falls back to its own counters.

use std::future::Future;
use std::pin::Pin;

/// What a store operation returns: a future that can be awaited on any executor.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, RateStoreError>> + Send + 'a>>;

/// The store did not answer in time or failed; the message is for logs only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rate-limit store unavailable: {0}")]
pub struct RateStoreError(pub String);

/// Fixed-window request counters shared by every replica.
pub trait RateLimitStore: Send + Sync + std::fmt::Debug {
    /// Counts one request of `client` in `window` (whole minutes since the Unix epoch) and
    /// returns the window's count so far, this request included. The counter disappears some
    /// time after its window ends.
    ///
    /// # Errors
    /// [`RateStoreError`] when the store cannot be reached or does not answer within the
    /// adapter's timeout; nothing is known to be counted then.
    fn hit(&self, client: &str, window: i64) -> StoreFuture<'_, u64>;

    /// Checks that the store answers (`/health`).
    ///
    /// # Errors
    /// [`RateStoreError`] as for [`Self::hit`].
    fn ping(&self) -> StoreFuture<'_, ()>;
}
