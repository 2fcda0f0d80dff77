//! actix-web adapter of ERP MIF Maroc: the app factory used by the server and by tests, routes,
//! extractors, middleware, and the single error envelope (API.md §1).

pub mod app;
mod blocking;
pub mod coalesce;
pub mod cors;
pub mod dto;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod proxy;
pub mod rate_limit;
pub mod routes;
pub mod routing;
pub mod state;
pub mod wire;

pub use app::{admin_app, app};
pub use error::ApiError;
pub use state::{AppState, HttpSettings, ServiceInfo};
