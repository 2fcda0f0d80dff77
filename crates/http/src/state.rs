//! Shared state of the HTTP adapter: the ports it drives and its settings.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use erp_application::Application;
use erp_domain::clock::Clock;
use erp_domain::ports::DatabaseProbe;

use crate::cors::CorsPolicy;
use crate::rate_limit::RateLimiter;

/// Identity of the running service, shown by probes.
#[derive(Debug, Clone)]
pub struct ServiceInfo {
    /// Service name (`service` in probes and logs).
    pub name: String,
    /// Build version.
    pub version: String,
    /// `development`, `test` or `production`.
    pub environment: String,
}

/// HTTP-level settings taken from configuration.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Allowed CORS origins.
    pub cors: CorsPolicy,
    /// Send `Strict-Transport-Security`.
    pub hsts: bool,
    /// Largest JSON request body, in bytes.
    pub json_limit: usize,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: crate::proxy::TrustedProxies,
    /// General per-IP limit per minute.
    pub requests_per_minute: u32,
    /// Where the limit's counters are shared between replicas (Redis), if anywhere.
    pub rate_limit_store: Option<Arc<dyn erp_domain::ports::RateLimitStore>>,
    /// The scheduler's run interval when it runs in this process (`/health`).
    pub scheduler_interval: Option<std::time::Duration>,
    /// Serve the `/docs` viewer (`/openapi.json` is always served).
    pub docs_enabled: bool,
    /// Password hashes that may run at once (`security.password_hash_concurrency`): requests
    /// that hash wait for a slot here, without holding a blocking thread.
    pub hashing_slots: usize,
    /// Traces are exported (`tracing.enabled`): every request opens the OpenTelemetry server
    /// span of tracing-actix-web, continuing an incoming `traceparent`. Off, that middleware is
    /// not installed at all (it costs even when nothing records its span).
    pub traced: bool,
    /// `server.admin_port` is set: `/metrics` and `/health*` are served by
    /// [`admin_app`](crate::admin_app) on that port only, and answer 404 on the API port.
    pub admin_listener: bool,
}

/// Everything handlers and middleware share. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    service: ServiceInfo,
    http: HttpSettings,
    probe: Arc<dyn DatabaseProbe>,
    clock: Arc<dyn Clock>,
    app: Application,
    limiter: RateLimiter,
    hashing: HashingSlots,
    dashboards: Dashboards,
    started_at: Instant,
    draining: AtomicBool,
}

impl AppState {
    /// Assembles the state from its parts.
    #[must_use]
    pub fn new(
        service: ServiceInfo,
        http: HttpSettings,
        probe: Arc<dyn DatabaseProbe>,
        app: Application,
    ) -> Self {
        let clock = app.clock_arc();
        let limiter = match &http.rate_limit_store {
            Some(store) => {
                RateLimiter::new(http.requests_per_minute).with_shared_store(Arc::clone(store))
            }
            None => RateLimiter::new(http.requests_per_minute),
        };
        let hashing = HashingSlots::new(http.hashing_slots);
        Self {
            inner: Arc::new(Inner {
                service,
                http,
                probe,
                clock,
                app,
                limiter,
                hashing,
                dashboards: Dashboards::default(),
                started_at: Instant::now(),
                draining: AtomicBool::new(false),
            }),
        }
    }

    /// Service identity.
    #[must_use]
    pub fn service(&self) -> &ServiceInfo {
        &self.inner.service
    }

    /// HTTP settings.
    #[must_use]
    pub fn http(&self) -> &HttpSettings {
        &self.inner.http
    }

    /// Concurrent dashboard requests of one audience, sharing computations.
    #[must_use]
    pub fn dashboards(&self) -> &Dashboards {
        &self.inner.dashboards
    }

    /// Waits, asynchronously, for a password-hashing slot. The blocking pool is sized for the
    /// database pool plus these slots, so a login flood queues here instead of filling the
    /// pool with threads that wait for the hasher while reads wait for a thread.
    /// (`None` only if the semaphore were closed, which it never is; the hasher's own bound
    /// still holds then.)
    pub async fn hashing_slot(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        self.inner.hashing.acquire().await
    }

    /// Whether requests are waiting for a hashing slot (then the hasher's memory is kept for
    /// them).
    #[must_use]
    pub fn hashes_waiting(&self) -> bool {
        self.inner.hashing.waiting()
    }

    /// The database probe.
    #[must_use]
    pub fn probe(&self) -> Arc<dyn DatabaseProbe> {
        Arc::clone(&self.inner.probe)
    }

    /// The clock.
    #[must_use]
    pub fn clock(&self) -> &dyn Clock {
        self.inner.clock.as_ref()
    }

    /// The application (use cases).
    #[must_use]
    pub fn app(&self) -> &Application {
        &self.inner.app
    }

    /// The general rate limiter.
    #[must_use]
    pub fn limiter(&self) -> &RateLimiter {
        &self.inner.limiter
    }

    /// Seconds since the state was built (server start).
    #[must_use]
    pub fn uptime_seconds(&self) -> u64 {
        self.inner.started_at.elapsed().as_secs()
    }

    /// Marks the server as draining: `/ready` answers 503 from now on.
    pub fn start_draining(&self) {
        self.inner.draining.store(true, Ordering::SeqCst);
    }

    /// Whether the server is shutting down.
    #[must_use]
    pub fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::SeqCst)
    }
}

/// The dashboards being computed, by audience (`routes::dashboard`).
pub type Dashboards = crate::coalesce::Coalescer<
    erp_application::dashboard::DashboardAudience,
    Result<Arc<erp_application::dashboard::Dashboard>, crate::error::ApiError>,
>;

/// The password-hashing slots, and how many requests wait for one.
#[derive(Debug)]
struct HashingSlots {
    slots: tokio::sync::Semaphore,
    queue: AtomicUsize,
}

impl HashingSlots {
    fn new(slots: usize) -> Self {
        Self {
            slots: tokio::sync::Semaphore::new(slots.max(1)),
            queue: AtomicUsize::new(0),
        }
    }

    async fn acquire(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        let _waiting = Queued::join(&self.queue);
        self.slots.acquire().await.ok()
    }

    fn waiting(&self) -> bool {
        self.queue.load(Ordering::Acquire) > 0
    }
}

/// One request counted in a queue while it waits; leaves it when dropped (a client that goes
/// away while waiting included).
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    fn join(queue: &'a AtomicUsize) -> Self {
        queue.fetch_add(1, Ordering::AcqRel);
        Self(queue)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    #[test]
    fn a_request_counts_as_waiting_until_it_gets_a_slot_or_goes_away() {
        let slots = HashingSlots::new(1);
        let mut cx = Context::from_waker(Waker::noop());
        let mut first = pin!(slots.acquire());
        let Poll::Ready(Some(held)) = first.as_mut().poll(&mut cx) else {
            panic!("a free slot is taken at once");
        };
        assert!(!slots.waiting(), "nobody waits while a slot is free");
        {
            let mut second = pin!(slots.acquire());
            assert!(second.as_mut().poll(&mut cx).is_pending(), "one slot only");
            assert!(slots.waiting());
        }
        assert!(!slots.waiting(), "a request that went away no longer waits");
        let mut third = pin!(slots.acquire());
        assert!(third.as_mut().poll(&mut cx).is_pending());
        assert!(slots.waiting());
        drop(held);
        assert!(matches!(third.as_mut().poll(&mut cx), Poll::Ready(Some(_))));
        assert!(!slots.waiting(), "it got the freed slot");
    }
}
