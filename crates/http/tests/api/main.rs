//! The HTTP integration tests, one binary (crates.io's layout): the real app factory and the
//! real application with every real adapter, on real databases. One module per area; the
//! shared set-up, personas and fixtures live in `support`.
//!
//! Run one area with `cargo test -p erp-http --test api identity::`.

#[macro_use]
mod support;

mod documents;
mod equipements;
mod identity;
mod interventions;
#[cfg(target_os = "linux")]
mod metrics_upkeep;
mod notifications;
mod openapi;
mod planning;
mod rate_limit_shared;
mod skeleton;
mod techniciens;
