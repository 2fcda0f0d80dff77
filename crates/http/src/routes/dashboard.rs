//! `GET /api/v1/dashboard/stats` (API.md §3.10).

use actix_web::{HttpRequest, HttpResponse, web};
use erp_application::authz::Action;
use erp_domain::enums::{PrioriteIntervention, StatutEquipement, StatutIntervention};
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::extract::Authenticated;
use crate::routes::auth::use_case;
use crate::routing::Endpoint;
use crate::state::AppState;
use crate::wire::timestamp;

/// Registers the route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/api/v1/dashboard/stats").get(stats).build());
}

async fn stats(
    req: HttpRequest,
    caller: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ReadDashboard).await?;
    let d = use_case(&req, &state, move |app, _| app.dashboard(&caller.0)).await?;
    let c = &d.counts;
    let count =
        |m: &std::collections::HashMap<String, i64>, k: &str| m.get(k).copied().unwrap_or(0);
    let mut interventions = Map::new();
    let total: i64 = c.by_statut.values().sum();
    interventions.insert("total".into(), json!(total));
    for s in StatutIntervention::ALL {
        interventions.insert(s.as_str().into(), json!(count(&c.by_statut, s.as_str())));
    }
    let terminees = count(&c.by_statut, "cloturee") + count(&c.by_statut, "archivee");
    interventions.insert("terminees".into(), json!(terminees));
    interventions.insert("en_retard".into(), json!(c.en_retard));
    interventions.insert("total_mensuel".into(), json!(c.created_this_month));
    interventions.insert("terminees_mensuel".into(), json!(c.closed_this_month));
    #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    let taux = (1000.0 * terminees as f64 / total.max(1) as f64).round() / 10.0;
    let evolution: Vec<Value> = d
        .months
        .iter()
        .zip(&c.created_per_month)
        .map(|(m, n)| json!({"month": m.format("%b").to_string(), "periode": m.format("%Y-%m").to_string(), "total": n}))
        .collect();
    let mut priorites = Map::new();
    for p in PrioriteIntervention::ALL {
        priorites.insert(p.as_str().into(), json!(count(&c.by_priorite, p.as_str())));
    }
    let mut equipements = Map::new();
    equipements.insert(
        "total".into(),
        json!(c.equipements_by_statut.values().sum::<i64>()),
    );
    for s in StatutEquipement::ALL {
        equipements.insert(
            s.as_str().into(),
            json!(count(&c.equipements_by_statut, s.as_str())),
        );
    }
    Ok(HttpResponse::Ok().json(json!({
        "portee": d.portee,
        "interventions": interventions,
        "taux_resolution": taux,
        "evolution_mensuelle": evolution,
        "priorites": priorites,
        "equipements": equipements,
        "utilisateurs": {"total": c.users_total, "actifs": c.users_active},
        "generated_at": timestamp(d.generated_at),
    })))
}
