//! Shared set-up of the in-process HTTP tests: the real app factory on a real database.

use std::sync::Arc;

use erp_domain::SystemClock;
use erp_domain::ports::DatabaseProbe;
use erp_http::cors::CorsPolicy;
use erp_http::{AppState, HttpSettings, ServiceInfo};

pub const ALLOWED_ORIGIN: &str = "http://localhost:5173";

pub fn state(probe: Arc<dyn DatabaseProbe>) -> AppState {
    AppState::new(
        ServiceInfo {
            name: "erp-mif-maroc".into(),
            version: "0.1.0-test".into(),
            environment: "test".into(),
        },
        HttpSettings {
            cors: CorsPolicy::new(&[ALLOWED_ORIGIN.to_owned()]),
            hsts: false,
            json_limit: erp_http::extract::DEFAULT_JSON_LIMIT,
        },
        probe,
        Arc::new(SystemClock),
    )
}
