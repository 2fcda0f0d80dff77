//! Composition root of ERP MIF Maroc: configuration, logging, start-up, the HTTP server and
//! the `erp` command line. The only crate that knows every adapter.

pub mod cli;
pub mod config;
pub mod healthcheck;
pub mod mail;
pub mod secret_files;
pub mod serve;
pub mod startup;
pub mod telemetry;
pub mod workers;
