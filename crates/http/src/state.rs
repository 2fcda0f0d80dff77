//! Shared state of the HTTP adapter: the ports it drives and its settings.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use std::net::IpAddr;

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
    pub trusted_proxies: Vec<IpAddr>,
    /// General per-IP limit per minute.
    pub requests_per_minute: u32,
    /// The scheduler's run interval when it runs in this process (`/health`).
    pub scheduler_interval: Option<std::time::Duration>,
    /// Serve the `/docs` viewer (`/openapi.json` is always served).
    pub docs_enabled: bool,
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
        let limiter = RateLimiter::new(http.requests_per_minute);
        Self {
            inner: Arc::new(Inner {
                service,
                http,
                probe,
                clock,
                app,
                limiter,
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
