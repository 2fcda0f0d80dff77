//! Repository adapters. One [`DieselUnitOfWork`] implements every repository port over the
//! connection of the current transaction.

mod audit;
mod clients;
mod competences;
mod dashboard;
mod equipements;
mod interventions;
mod sessions;
mod techniciens;
mod throttle;
mod users;

use crate::dialect::Conn;

/// The repositories of one open transaction.
#[derive(Debug)]
pub(crate) struct DieselUnitOfWork<'a> {
    conn: Conn<'a>,
}

impl<'a> DieselUnitOfWork<'a> {
    pub(crate) fn new(conn: Conn<'a>) -> Self {
        Self { conn }
    }
}
