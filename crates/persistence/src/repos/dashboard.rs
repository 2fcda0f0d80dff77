//! The dashboard's aggregate queries (API.md §3.10): a handful of indexed `COUNT`/`GROUP BY`.

use std::collections::HashMap;

use diesel::dsl;
use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel::query_dsl::methods;
use erp_domain::dashboard::{DashboardCounts, DashboardScope, DashboardWindows};
use erp_domain::ports::{DashboardRepository, RepoError};

use super::DieselUnitOfWork;
use crate::errors::map;
use crate::schema::{equipements, interventions, users};
use crate::time::to_db;
use crate::with_conn;

const ACTIVE: [&str; 4] = ["ouverte", "affectee", "en_cours", "en_attente"];

/// Restricts a boxed `interventions` query to the scope.
fn scoped<Q>(mut q: Q, scope: DashboardScope) -> Q
where
    Q: methods::FilterDsl<dsl::Eq<interventions::technicien_id, i64>, Output = Q>
        + methods::FilterDsl<dsl::Eq<interventions::client_id, i64>, Output = Q>
        + methods::FilterDsl<dsl::Lt<interventions::id, i64>, Output = Q>,
{
    match scope {
        DashboardScope::Global => {}
        DashboardScope::Technicien(Some(t)) => {
            q = q.filter(interventions::technicien_id.eq(t.get()));
        }
        DashboardScope::Client(Some(c)) => q = q.filter(interventions::client_id.eq(c.get())),
        DashboardScope::Technicien(None) | DashboardScope::Client(None) => {
            q = q.filter(interventions::id.lt(0_i64));
        }
    }
    q
}

impl DashboardRepository for DieselUnitOfWork<'_> {
    fn dashboard_counts(
        &mut self,
        scope: DashboardScope,
        w: &DashboardWindows,
    ) -> Result<DashboardCounts, RepoError> {
        let now = to_db(w.now);
        let month_start = to_db(w.month_start);
        let bounds: Vec<_> = w.month_bounds.iter().copied().map(to_db).collect();
        with_conn!(&mut self.conn, c => (|| {
            // One pass over the (statut, priorite) index gives both breakdowns.
            let pairs: Vec<(String, String, i64)> = scoped(
                interventions::table
                    .group_by((interventions::statut, interventions::priorite))
                    .select((interventions::statut, interventions::priorite, count_star()))
                    .into_boxed(),
                scope
            )
            .load(c)?;
            let mut by_statut: HashMap<String, i64> = HashMap::new();
            let mut by_priorite: HashMap<String, i64> = HashMap::new();
            for (statut, priorite, n) in pairs {
                *by_statut.entry(statut).or_default() += n;
                *by_priorite.entry(priorite).or_default() += n;
            }
            let en_retard: i64 = scoped(interventions::table.into_boxed(), scope)
                .filter(interventions::statut.eq_any(ACTIVE))
                .filter(interventions::date_limite.lt(now))
                .count()
                .get_result(c)?;
            let created_this_month: i64 = scoped(interventions::table.into_boxed(), scope)
                .filter(interventions::date_creation.ge(month_start))
                .count()
                .get_result(c)?;
            let closed_this_month: i64 = scoped(interventions::table.into_boxed(), scope)
                .filter(interventions::statut.eq_any(["cloturee", "archivee"]))
                .filter(interventions::date_cloture.ge(month_start))
                .count()
                .get_result(c)?;
            let mut created_per_month = Vec::new();
            for pair in bounds.windows(2) {
                let n: i64 = scoped(interventions::table.into_boxed(), scope)
                    .filter(interventions::date_creation.ge(pair[0]))
                    .filter(interventions::date_creation.lt(pair[1]))
                    .count()
                    .get_result(c)?;
                created_per_month.push(n);
            }
            let mut equipement_query =
                equipements::table.group_by(equipements::statut).select((equipements::statut, count_star())).into_boxed();
            match scope {
                DashboardScope::Client(Some(client)) => equipement_query = equipement_query.filter(equipements::client_id.eq(client.get())),
                DashboardScope::Client(None) => equipement_query = equipement_query.filter(equipements::id.lt(0_i64)),
                DashboardScope::Global | DashboardScope::Technicien(_) => {}
            }
            let equipements_by_statut: Vec<(String, i64)> = equipement_query.load(c)?;
            let users_total: i64 = users::table.count().get_result(c)?;
            let users_active: i64 = users::table.filter(users::is_active.eq(true)).count().get_result(c)?;
            Ok::<_, diesel::result::Error>(DashboardCounts {
                by_statut,
                by_priorite,
                en_retard,
                created_this_month,
                closed_this_month,
                created_per_month,
                equipements_by_statut: equipements_by_statut.into_iter().collect(),
                users_total,
                users_active,
            })
        })())
        .map_err(map)
    }
}
