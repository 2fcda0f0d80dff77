//! Dashboard KPIs (API.md §3.10): the counts behind `GET /dashboard/stats`.

use std::collections::HashMap;

use crate::clock::Timestamp;
use crate::ids::ClientId;
use crate::technicien::TechnicienId;

/// Which interventions and équipements a caller's dashboard counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DashboardScope {
    /// Everything (admin, responsable).
    Global,
    /// The interventions of one technicien profile (none without a profile); all équipements.
    Technicien(Option<TechnicienId>),
    /// One client account's interventions and équipements (none without an account).
    Client(Option<ClientId>),
}

/// The time windows the counts need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardWindows {
    /// Now (overdue is `date_limite < now`).
    pub now: Timestamp,
    /// Start of the current UTC month.
    pub month_start: Timestamp,
    /// Start of each of the six months, oldest first, and the start of the next month last
    /// (seven instants: six half-open ranges).
    pub month_bounds: Vec<Timestamp>,
}

/// The raw counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DashboardCounts {
    /// Interventions per statut (wire value).
    pub by_statut: HashMap<String, i64>,
    /// Interventions per priority (wire value).
    pub by_priorite: HashMap<String, i64>,
    /// Active interventions past their due date.
    pub en_retard: i64,
    /// Created this month.
    pub created_this_month: i64,
    /// Closed (`date_cloture`) this month, statut cloturee or archivee.
    pub closed_this_month: i64,
    /// Created per month, oldest first (six values).
    pub created_per_month: Vec<i64>,
    /// Équipements per statut (wire value).
    pub equipements_by_statut: HashMap<String, i64>,
    /// All users.
    pub users_total: i64,
    /// Active users.
    pub users_active: i64,
}
