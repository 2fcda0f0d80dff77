//! `GET /api/v1/dashboard/stats` (API.md §3.10).

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use erp_application::authz::Action;
use erp_application::dashboard::DashboardAudience;
use erp_domain::enums::{
    PrioriteIntervention as P, StatutEquipement as E, StatutIntervention as S,
};
use serde::Serialize;
use tracing::Instrument as _;
use utoipa::ToSchema;

use crate::blocking::use_case;
use crate::error::ApiError;
use crate::extract::Authenticated;
use crate::openapi::schema::Ts;
use crate::routing::{Endpoint, RouteTable};
use crate::state::AppState;

/// Registers the route.
pub fn configure(cfg: &mut RouteTable) {
    cfg.service(Endpoint::new("/api/v1/dashboard/stats").get(stats));
}

/// Intervention counts of the dashboard.
#[derive(Debug, Serialize, ToSchema)]
pub struct InterventionCountsOut {
    /// All interventions in scope.
    pub total: i64,
    /// `ouverte`.
    pub ouverte: i64,
    /// `affectee`.
    pub affectee: i64,
    /// `en_cours`.
    pub en_cours: i64,
    /// `en_attente`.
    pub en_attente: i64,
    /// `cloturee`.
    pub cloturee: i64,
    /// `annulee`.
    pub annulee: i64,
    /// `archivee`.
    pub archivee: i64,
    /// `cloturee` + `archivee`.
    pub terminees: i64,
    /// Overdue.
    pub en_retard: i64,
    /// Created this month.
    pub total_mensuel: i64,
    /// Closed this month.
    pub terminees_mensuel: i64,
}

/// One month of `evolution_mensuelle`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MonthOut {
    /// English three-letter month (`Jan`…`Dec`).
    #[schema(pattern = "^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)$")]
    pub month: String,
    /// `YYYY-MM`.
    #[schema(pattern = "^[0-9]{4}-[0-9]{2}$")]
    pub periode: String,
    /// Interventions created that month.
    pub total: i64,
}

/// Intervention counts by priority.
#[derive(Debug, Serialize, ToSchema)]
pub struct PrioritesOut {
    /// `urgente`.
    pub urgente: i64,
    /// `haute`.
    pub haute: i64,
    /// `normale`.
    pub normale: i64,
    /// `basse`.
    pub basse: i64,
    /// `programmee`.
    pub programmee: i64,
}

/// Equipment counts by status.
#[derive(Debug, Serialize, ToSchema)]
pub struct EquipementCountsOut {
    /// All equipment in scope.
    pub total: i64,
    /// `operationnel`.
    pub operationnel: i64,
    /// `maintenance`.
    pub maintenance: i64,
    /// `panne`.
    pub panne: i64,
    /// `retire`.
    pub retire: i64,
}

/// User counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserCountsOut {
    /// All users.
    pub total: i64,
    /// Active users.
    pub actifs: i64,
}

/// The dashboard (API.md §3.10).
#[derive(Debug, Serialize, ToSchema)]
pub struct DashboardOut {
    /// `global`, `technicien` or `client`.
    #[schema(value_type = String, pattern = "^(global|technicien|client)$")]
    pub portee: &'static str,
    /// Intervention counts.
    pub interventions: InterventionCountsOut,
    /// round(100 × terminees / max(total, 1), 1 decimal).
    pub taux_resolution: f64,
    /// The current month and the five before, oldest first.
    pub evolution_mensuelle: Vec<MonthOut>,
    /// Counts by priority.
    pub priorites: PrioritesOut,
    /// Equipment counts.
    pub equipements: EquipementCountsOut,
    /// User counts.
    pub utilisateurs: UserCountsOut,
    /// Computation time.
    pub generated_at: Ts,
}

#[utoipa::path(
    get,
    path = "/api/v1/dashboard/stats",
    tag = "dashboard",
    summary = "Dashboard statistics, scoped by role",
    security(("bearer" = [])),
    responses((status = 200, description = "The statistics", body = DashboardOut)),
)]
async fn stats(
    req: HttpRequest,
    caller: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ReadDashboard).await?;
    // Concurrent requests of one audience share a computation that started after they
    // arrived (crate::coalesce): the counts are as fresh as their own would be.
    let audience = DashboardAudience::of(&caller.0);
    let leader = (req.clone(), state.clone());
    let d = state
        .dashboards()
        .run(audience, move || {
            // The computation runs in a task of its own: it stays under this request's span.
            let span = tracing::Span::current();
            async move {
                let (req, state) = leader;
                use_case(&req, &state, move |app, _| app.dashboard(&caller.0))
                    .await
                    .map(Arc::new)
            }
            .instrument(span)
        })
        .await
        .unwrap_or_else(|| Err(ApiError::internal("the dashboard computation was lost")))?;
    let c = &d.counts;
    let count = |m: &HashMap<String, i64>, k: &str| m.get(k).copied().unwrap_or(0);
    let statut = |s: S| count(&c.by_statut, s.as_str());
    let total: i64 = c.by_statut.values().sum();
    let terminees = statut(S::Cloturee) + statut(S::Archivee);
    #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    let taux = (1000.0 * terminees as f64 / total.max(1) as f64).round() / 10.0;
    let priorite = |p: P| count(&c.by_priorite, p.as_str());
    let equipement = |e: E| count(&c.equipements_by_statut, e.as_str());
    Ok(HttpResponse::Ok().json(DashboardOut {
        portee: d.portee,
        interventions: InterventionCountsOut {
            total,
            ouverte: statut(S::Ouverte),
            affectee: statut(S::Affectee),
            en_cours: statut(S::EnCours),
            en_attente: statut(S::EnAttente),
            cloturee: statut(S::Cloturee),
            annulee: statut(S::Annulee),
            archivee: statut(S::Archivee),
            terminees,
            en_retard: c.en_retard,
            total_mensuel: c.created_this_month,
            terminees_mensuel: c.closed_this_month,
        },
        taux_resolution: taux,
        evolution_mensuelle: d
            .months
            .iter()
            .zip(&c.created_per_month)
            .map(|(m, n)| MonthOut {
                month: m.format("%b").to_string(),
                periode: m.format("%Y-%m").to_string(),
                total: *n,
            })
            .collect(),
        priorites: PrioritesOut {
            urgente: priorite(P::Urgente),
            haute: priorite(P::Haute),
            normale: priorite(P::Normale),
            basse: priorite(P::Basse),
            programmee: priorite(P::Programmee),
        },
        equipements: EquipementCountsOut {
            total: c.equipements_by_statut.values().sum(),
            operationnel: equipement(E::Operationnel),
            maintenance: equipement(E::Maintenance),
            panne: equipement(E::Panne),
            retire: equipement(E::Retire),
        },
        utilisateurs: UserCountsOut {
            total: c.users_total,
            actifs: c.users_active,
        },
        generated_at: d.generated_at.into(),
    }))
}
