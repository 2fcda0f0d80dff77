//! Repository adapters. One [`DieselUnitOfWork`] implements every repository port over the
//! connection of the current transaction.

mod audit;
mod clients;
mod competences;
mod dashboard;
mod documents;
mod equipements;
mod housekeeping;
mod interventions;
mod notifications;
mod plannings;
mod sessions;
mod techniciens;
mod throttle;
mod users;

use crate::counts::CountCache;
use crate::dialect::Conn;

/// `CASE column WHEN 'a' THEN 0 WHEN 'b' THEN 1 … END`: sorts an enum column in its declared
/// order (DATA.md §1), with the same SQL on both backends. `values` are the enum's own wire
/// strings, never client text.
pub(crate) fn declared_order(column: &str, values: &[&str]) -> String {
    let arms: String = values
        .iter()
        .enumerate()
        .map(|(i, v)| format!(" WHEN '{v}' THEN {i}"))
        .collect();
    format!("CASE {column}{arms} END")
}

/// The repositories of one open transaction.
#[derive(Debug)]
pub(crate) struct DieselUnitOfWork<'a> {
    conn: Conn<'a>,
    /// The database's remembered list counts.
    counts: &'a CountCache,
}

impl<'a> DieselUnitOfWork<'a> {
    pub(crate) fn new(conn: Conn<'a>, counts: &'a CountCache) -> Self {
        Self { conn, counts }
    }
}
