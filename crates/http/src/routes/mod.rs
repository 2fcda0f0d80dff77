//! Route tables, one module per area of API.md §3.

pub mod audit;
pub mod auth;
pub mod dashboard;
pub mod docs;
pub mod documents;
pub mod equipements;
pub mod ids;
pub mod interventions;
pub mod notifications;
pub mod planning;
pub mod probes;
pub mod techniciens;
pub mod users;
