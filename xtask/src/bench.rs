//! `cargo xtask bench`: the benchmark harness. Seeds a fresh database through the use cases,
//! starts the release binary on it, drives every scenario over loopback with `wrk` and the Lua
//! scripts of xtask/bench/, and measures a constant actix-web handler (`bench-ceiling`) as the
//! ceiling the scenarios are compared with. Also `cargo xtask bench observability`,
//! `documents` and `scale`, and the keep-alive HTTP/1.1 client that `cargo xtask load-test`
//! shares.
//!
//! - [`harness`]: the entry points of the command line (build, run, write the documents);
//! - [`scenarios`]: what one backend's run measures; [`report`]: its Markdown;
//! - [`wrk`], [`client`], [`server`]: the load generator, the HTTP client, the server under
//!   test;
//! - [`observability`], [`documents`], [`scale`], [`plans`]: the separate measurements.

mod client;
mod documents;
pub(crate) mod harness;
mod observability;
mod plans;
mod report;
mod scale;
mod scenarios;
mod server;
mod wrk;

pub(crate) use client::{Conn, load_tagged, percentile, report_row};
