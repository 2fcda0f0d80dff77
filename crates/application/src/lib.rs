//! Use cases of ERP MIF Maroc. Each takes its inputs, checks authorization, runs in one
//! transaction through the [`erp_domain::ports::TransactionRunner`] port, and returns domain
//! values or an [`AppError`].

pub mod app;
pub mod audit_trail;
pub mod auth;
pub mod authz;
pub mod bootstrap;
pub mod dashboard;
pub mod documents;
pub mod equipements;
pub mod error;
pub mod health;
pub mod interventions;
pub mod jobs;
pub mod notifications;
mod notify;
pub mod outbox;
pub mod planning;
pub mod seed;
pub mod techniciens;
pub mod telemetry;
pub mod tx;
pub mod users;

#[cfg(test)]
mod fakes;

pub use app::{Application, Caller, IdentityConfig, NotificationConfig, Ports};
pub use error::{AppError, AuthFailure, Conflict};
