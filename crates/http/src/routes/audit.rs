//! `GET /api/v1/audit/events` (API.md §3.11).

use actix_web::{HttpRequest, HttpResponse, web};
use erp_application::authz::Action;
use erp_domain::UserId;
use erp_domain::audit::{AuditEventType, AuditFilter};

use crate::blocking::use_case;
use crate::dto::{AuditEventOut, audit_out, collection};
use crate::error::ApiError;
use crate::extract::Authenticated;
use crate::extract::query::Query;
use crate::openapi::params;
use crate::routing::{Endpoint, RouteTable};
use crate::state::AppState;

/// Registers the audit route.
pub fn configure(cfg: &mut RouteTable) {
    cfg.service(Endpoint::new("/api/v1/audit/events").get(list));
}

#[utoipa::path(
    get,
    path = "/api/v1/audit/events",
    tag = "audit",
    summary = "Audit trail, newest first",
    params(params::AuditQuery, params::Page),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Events", body = Vec<AuditEventOut>, headers(("X-Total-Count" = i64, description = "Rows matching the filters, ignoring limit/offset"))),
    ),
)]
async fn list(
    req: HttpRequest,
    caller: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ReadAudit).await?;
    let mut q = Query::of(&req);
    let names: Vec<&str> = AuditEventType::ALL.iter().map(|t| t.as_str()).collect();
    let filter = AuditFilter {
        event_types: q.enum_list("event_type", &names),
        user_id: q.id("user_id").map(UserId::new),
        success: q.boolean("success"),
        ip_address: q.text("ip_address"),
        request_id: q.text("request_id"),
        date_min: q.timestamp("date_min", false),
        date_max: q.timestamp("date_max", true),
    };
    let page = q.page();
    q.finish()?;
    let listed = use_case(&req, &state, move |app, _| {
        app.list_audit(&caller.0, &filter, page)
    })
    .await?;
    Ok(collection(&listed, audit_out))
}
