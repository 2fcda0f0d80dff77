//! Diesel adapters for the domain's storage ports, on SQLite and PostgreSQL (D1).
//!
//! The backend is chosen from the database URL. Everything backend-specific (connection types,
//! pools, PRAGMAs, transaction flavours) lives in [`dialect`] and [`database`]; repositories are
//! written once against [`dialect::Conn`] and compiled for both backends.

mod counts;
pub mod database;
pub mod dialect;
mod errors;
mod instrument;
pub mod migrations;
mod paging;
mod repos;
pub mod schema;
#[cfg(feature = "testing")]
pub mod testing;
mod time;

pub use counts::CountCacheStats;
pub use database::{ConnectError, Database, DatabaseOptions};
pub use instrument::trace_queries;
