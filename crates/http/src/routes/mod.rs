//! Route tables, one module per area of API.md §3.

pub mod probes;
