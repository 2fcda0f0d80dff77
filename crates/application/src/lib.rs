//! Use cases of ERP MIF Maroc. Each takes its inputs, checks authorization, runs in one
//! transaction through the [`erp_domain::ports::TransactionRunner`] port, and returns domain
//! values or an [`AppError`].

pub mod bootstrap;
pub mod error;
pub mod health;
pub mod tx;

pub use error::AppError;
