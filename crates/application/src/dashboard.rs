//! `GET /dashboard/stats` (API.md §3.10), scoped by role.

use chrono::{Datelike as _, Months, TimeZone as _, Utc};
use erp_domain::dashboard::{DashboardCounts, DashboardScope, DashboardWindows};
use erp_domain::ids::{ClientId, UserId};
use erp_domain::ports::TransactionMode;
use erp_domain::{Timestamp, UserRole};

use crate::app::{Application, Caller};
use crate::authz::{Action, authorize};
use crate::error::AppError;
use crate::tx::transaction;

/// The dashboard of one caller.
#[derive(Debug, Clone)]
pub struct Dashboard {
    /// `global`, `technicien` or `client`.
    pub portee: &'static str,
    /// The counts.
    pub counts: DashboardCounts,
    /// The six months, oldest first, as their first instant.
    pub months: Vec<Timestamp>,
    /// When it was computed.
    pub generated_at: Timestamp,
}

/// Who sees the same dashboard: two callers with equal audiences get the same answer from a
/// computation made at the same instant (the adapter lets concurrent requests of one audience
/// share a computation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DashboardAudience {
    /// Admins and responsables: everything.
    Global,
    /// One technicien account (its profile is resolved inside the computation).
    Technicien(UserId),
    /// The users of one client account (or of none).
    Client(Option<ClientId>),
}

impl DashboardAudience {
    /// The audience of `caller`'s dashboard.
    #[must_use]
    pub fn of(caller: &Caller) -> Self {
        match caller.user.role {
            UserRole::Admin | UserRole::Responsable => Self::Global,
            UserRole::Technicien => Self::Technicien(caller.user.id),
            UserRole::Client => Self::Client(caller.user.client_id),
        }
    }
}

/// The start of the UTC month `back` months before the one of `now`.
fn month_start(now: Timestamp, back: u32) -> Result<Timestamp, AppError> {
    let first = Utc
        .with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .ok_or_else(|| AppError::Internal("invalid month".into()))?;
    first
        .checked_sub_months(Months::new(back))
        .ok_or_else(|| AppError::Internal("month out of range".into()))
}

/// The windows of the dashboard at `now`.
///
/// # Errors
/// Only for dates out of chrono's range.
pub fn windows(now: Timestamp) -> Result<DashboardWindows, AppError> {
    let current = month_start(now, 0)?;
    let mut bounds = Vec::new();
    for back in (0..6).rev() {
        bounds.push(month_start(now, back)?);
    }
    bounds.push(
        current
            .checked_add_months(Months::new(1))
            .ok_or_else(|| AppError::Internal("month out of range".into()))?,
    );
    Ok(DashboardWindows {
        now,
        month_start: current,
        month_bounds: bounds,
    })
}

impl Application {
    /// `GET /dashboard/stats`.
    ///
    /// # Errors
    /// Only storage failures.
    pub fn dashboard(&self, caller: &Caller) -> Result<Dashboard, AppError> {
        authorize(caller.user.role, Action::ReadDashboard)?;
        let now = self.ports.clock.now();
        let w = windows(now)?;
        let (portee, counts) =
            transaction(self.ports.db.as_ref(), TransactionMode::ReadOnly, |uow| {
                let (portee, scope) = match DashboardAudience::of(caller) {
                    DashboardAudience::Global => ("global", DashboardScope::Global),
                    DashboardAudience::Technicien(user) => (
                        "technicien",
                        DashboardScope::Technicien(uow.technicien_id_of_user(user)?),
                    ),
                    DashboardAudience::Client(client) => ("client", DashboardScope::Client(client)),
                };
                Ok::<_, AppError>((portee, uow.dashboard_counts(scope, &w)?))
            })?;
        let months = w.month_bounds[..6].to_vec();
        Ok(Dashboard {
            portee,
            counts,
            months,
            generated_at: now,
        })
    }
}

impl Application {
    /// Every (statut, type) pair with its count, zeros included (`interventions_current`).
    ///
    /// # Errors
    /// Storage failures.
    pub fn intervention_counts(
        &self,
    ) -> Result<
        Vec<(
            erp_domain::enums::StatutIntervention,
            erp_domain::enums::InterventionType,
            i64,
        )>,
        AppError,
    > {
        use erp_domain::enums::{InterventionType, StatutIntervention};
        let found = transaction(self.ports.db.as_ref(), TransactionMode::ReadOnly, |uow| {
            Ok::<_, AppError>(uow.count_by_statut_and_type()?)
        })?;
        let mut out = Vec::new();
        for s in StatutIntervention::ALL {
            for t in InterventionType::ALL {
                let n = found
                    .iter()
                    .find(|(fs, ft, _)| fs == s && ft == t)
                    .map_or(0, |(_, _, n)| *n);
                out.push((*s, *t, n));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    mod use_cases;

    #[test]
    fn six_calendar_months_end_with_the_current_one() {
        let now = Utc
            .with_ymd_and_hms(2026, 3, 31, 23, 0, 0)
            .single()
            .unwrap();
        let w = windows(now).unwrap();
        let labels: Vec<String> = w
            .month_bounds
            .iter()
            .map(|t| t.format("%Y-%m").to_string())
            .collect();
        assert_eq!(
            labels,
            vec![
                "2025-10", "2025-11", "2025-12", "2026-01", "2026-02", "2026-03", "2026-04"
            ]
        );
        assert_eq!(w.month_start.format("%Y-%m-%d").to_string(), "2026-03-01");
    }
}
