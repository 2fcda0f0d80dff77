//! Planner hints: SQLite's `likelihood()`. PostgreSQL's planner keeps statistics per value and
//! needs none.

use super::Conn;

/// Whether enum-list filters should carry [`likely_in`] hints on this connection: SQLite 3.53
/// otherwise searches the (statut, priorite) index and sorts every match before applying
/// `LIMIT`, instead of walking the date index and stopping after one page
/// (`docs/benchmarks.md`).
pub(crate) fn hints_unselective_terms(conn: &Conn<'_>) -> bool {
    matches!(conn, Conn::Sqlite(_))
}

/// `likelihood(column IN ('a','b'), 0.9)`: a SQLite planner hint that the term is not
/// selective. `values` are the enums' own wire strings, never client text.
pub(crate) fn likely_in(column: &str, values: &[&'static str]) -> String {
    format!("likelihood({column} IN ('{}'), 0.9)", values.join("','"))
}
