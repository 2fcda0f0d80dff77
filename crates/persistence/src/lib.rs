//! Diesel adapters for the domain's storage ports, on SQLite and PostgreSQL (D1).
//!
//! The backend is chosen from the database URL. Every SQL difference between the two backends
//! (row and advisory locks, planner hints, paging, timestamp storage, error wording,
//! migrations, change tokens, pools, PRAGMAs and transaction flavours) is named in [`dialect`];
//! [`database`] is the backend-neutral entry point. Repositories are written once against
//! [`dialect::Conn`], compiled for both backends, and never match on the backend.

mod counts;
pub mod database;
pub mod dialect;
mod instrument;
mod repos;
pub mod schema;
#[cfg(feature = "testing")]
pub mod testing;

pub use counts::CountCacheStats;
pub use database::{ConnectError, Database, DatabaseOptions};
pub use dialect::migrations;
pub(crate) use dialect::{errors, paging, time};
pub use instrument::trace_queries;
