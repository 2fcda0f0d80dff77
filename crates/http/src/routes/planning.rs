//! `/api/v1/planning*` (API.md §3.7): preventive plannings, rescheduling and on-demand
//! generation.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use erp_application::authz::Action;
use erp_domain::enums::{FrequencePlanning, StatutPlanning};
use erp_domain::error::FieldViolation;
use erp_domain::list::{SortDir, SortKey};
use erp_domain::planning::{Planning, PlanningFilter, PlanningId, PlanningSortField};
use erp_domain::technicien::TechnicienId;

use serde::Serialize;
use utoipa::ToSchema;

use crate::blocking::use_case;
use crate::dto::collection;
use crate::error::{ApiError, ErrorEnvelope, Location};
use crate::extract::fields::Fields;
use crate::extract::query::Query;
use crate::extract::{Authenticated, read_json_object, read_optional_json_object};
use crate::openapi::params;
use crate::openapi::schema::{self, Ts};
use crate::routes::ids::path_id;
use crate::routes::interventions::out::{InterventionOut, intervention_out};
use crate::routing::{Endpoint, RouteTable};
use crate::state::AppState;

mod input;

pub use input::{PlanningCreate, PlanningUpdate, RescheduleBody, StatutInitial, StatutModifiable};

const NOT_FOUND: &str = "Planning introuvable";

/// Registers the routes.
pub fn configure(cfg: &mut RouteTable) {
    cfg.service(Endpoint::new("/api/v1/planning").get(list).post(create))
        .service(
            Endpoint::new("/api/v1/planning/{id}")
                .get(get)
                .put(update)
                .patch(update)
                .delete(delete),
        )
        .service(Endpoint::new("/api/v1/planning/{id}/dates").patch(reschedule))
        .service(Endpoint::new("/api/v1/planning/{id}/generer").post(generate));
}

/// PlanningOut (API.md §3.7).
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanningOut {
    /// Planning id.
    pub id: i64,
    /// Equipment.
    pub equipement_id: i64,
    /// Frequency (output label).
    #[schema(value_type = schema::FrequencePlanning)]
    pub frequence: &'static str,
    /// Next due date.
    pub prochaine_date: Ts,
    /// Last generated occurrence.
    pub derniere_date: Option<Ts>,
    /// End date.
    pub date_fin: Option<Ts>,
    /// Status.
    #[schema(value_type = schema::StatutPlanning)]
    pub statut: &'static str,
    /// `statut` = `actif`.
    pub is_active: bool,
    /// Title of generated interventions.
    pub titre: Option<String>,
    /// Comment.
    pub commentaire: Option<String>,
    /// Priority of generated interventions.
    #[schema(value_type = schema::PrioriteIntervention)]
    pub priorite: &'static str,
    /// Technicien assigned to generated interventions.
    pub technicien_id: Option<i64>,
    /// Estimated duration (minutes).
    pub duree_estimee: Option<i32>,
    /// Days of advance generation.
    pub avance_jours: i32,
    /// Creation time.
    pub date_creation: Ts,
    /// Last change.
    pub date_modification: Ts,
}

/// The answer of `POST /planning/{id}/generer`.
#[derive(Debug, Serialize, ToSchema)]
pub struct GenerationOut {
    /// The advanced planning.
    pub planning: PlanningOut,
    /// The generated intervention.
    pub intervention: InterventionOut,
}

/// PlanningOut of a planning.
#[must_use]
pub fn planning_out(p: &Planning) -> PlanningOut {
    let f = &p.fields;
    PlanningOut {
        id: p.id.get(),
        equipement_id: f.equipement_id.get(),
        frequence: f.frequence.label(),
        prochaine_date: f.prochaine_date.into(),
        derniere_date: f.derniere_date.map(Ts::from),
        date_fin: f.date_fin.map(Ts::from),
        statut: f.statut.as_str(),
        is_active: f.statut == StatutPlanning::Actif,
        titre: f.titre.clone(),
        commentaire: f.commentaire.clone(),
        priorite: f.priorite.as_str(),
        technicien_id: f.technicien_id.map(TechnicienId::get),
        duree_estimee: f.duree_estimee,
        avance_jours: f.avance_jours,
        date_creation: p.date_creation.into(),
        date_modification: p.date_modification.into(),
    }
}

fn planning_id(raw: &str) -> Result<PlanningId, ApiError> {
    path_id("id", raw)?
        .map(PlanningId::new)
        .ok_or_else(|| ApiError::not_found(NOT_FOUND))
}

fn location(res: &mut HttpResponse, path: &str) {
    if let Ok(v) = header::HeaderValue::from_str(path) {
        res.headers_mut().insert(header::LOCATION, v);
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/planning",
    tag = "planning",
    summary = "Create a planning",
    request_body(content((PlanningCreate = "application/json"))),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = PlanningOut, headers(("Location" = String, description = "URL of the new resource"))),
        (status = 404, description = "\"Équipement introuvable\" or \"Technicien introuvable\"", body = ErrorEnvelope),
    ),
)]
async fn create(
    req: HttpRequest,
    caller: Authenticated,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ManagePlanning).await?;
    let mut f = Fields::new(
        read_json_object(&req, payload.into_inner()).await?,
        Location::Body,
    );
    let read = PlanningCreate::read(&mut f);
    let cmd = f.finish_with(read)?.into_command();
    let p = use_case(&req, &state, move |app, _| {
        app.create_planning(&caller.0, cmd)
    })
    .await?;
    let mut res = HttpResponse::Created().json(planning_out(&p));
    location(&mut res, &format!("/api/v1/planning/{}", p.id));
    Ok(res)
}

fn frequences(q: &mut Query) -> Result<Vec<FrequencePlanning>, ApiError> {
    let Some(raw) = q.text("frequence") else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            FrequencePlanning::parse_label("frequence", p).map_err(|_| {
                ApiError::validation(
                    Location::Query,
                    &[FieldViolation::invalid_value(
                        "frequence",
                        &FrequencePlanning::accepted_labels(),
                    )],
                    None,
                )
            })
        })
        .collect()
}

#[utoipa::path(
    get,
    path = "/api/v1/planning",
    tag = "planning",
    summary = "List plannings",
    params(params::PlanningQuery, params::Page),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Plannings", body = Vec<PlanningOut>, headers(("X-Total-Count" = i64, description = "Rows matching the filters, ignoring limit/offset"))),
    ),
)]
async fn list(
    req: HttpRequest,
    caller: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ReadPlanning).await?;
    let mut q = Query::of(&req);
    let frequences = frequences(&mut q);
    let filter = PlanningFilter {
        equipement_id: q.id("equipement_id"),
        technicien_id: q.id("technicien_id"),
        statuts: q.enum_list("statut", &StatutPlanning::wire_values()),
        frequences: Vec::new(),
        prochaine_date_min: q.timestamp("prochaine_date_min", false),
        prochaine_date_max: q.timestamp("prochaine_date_max", true),
    };
    let sort = q.sort(
        PlanningSortField::parse,
        &PlanningSortField::NAMES,
        &[SortKey {
            field: PlanningSortField::ProchaineDate,
            dir: SortDir::Asc,
        }],
    );
    let page = q.page();
    q.finish()?;
    let filter = PlanningFilter {
        frequences: frequences?,
        ..filter
    };
    let listed = use_case(&req, &state, move |app, _| {
        app.list_plannings(&caller.0, &filter, &sort, page)
    })
    .await?;
    Ok(collection(&listed, planning_out))
}

#[utoipa::path(
    get,
    path = "/api/v1/planning/{id}",
    tag = "planning",
    summary = "Get a planning",
    params(("id" = i64, Path, description = "Planning id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The planning", body = PlanningOut),
        (status = 404, description = "\"Planning introuvable\"", body = ErrorEnvelope),
    ),
)]
async fn get(
    req: HttpRequest,
    caller: Authenticated,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ReadPlanning).await?;
    let id = planning_id(&id)?;
    let p = use_case(&req, &state, move |app, _| app.get_planning(&caller.0, id)).await?;
    Ok(HttpResponse::Ok().json(planning_out(&p)))
}

#[utoipa::path(
    method(put, patch),
    path = "/api/v1/planning/{id}",
    tag = "planning",
    summary = "Update a planning (partial)",
    params(("id" = i64, Path, description = "Planning id")),
    request_body(content((PlanningUpdate = "application/json"))),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The updated planning", body = PlanningOut),
        (status = 404, description = "Planning, equipment or technicien not found", body = ErrorEnvelope),
    ),
)]
async fn update(
    req: HttpRequest,
    caller: Authenticated,
    id: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ManagePlanning).await?;
    let raw = id.into_inner();
    let mut f = Fields::new(
        read_json_object(&req, payload.into_inner()).await?,
        Location::Body,
    );
    let read = PlanningUpdate::read(&mut f);
    let u = f.finish_with(read)?.into_command();
    let id = planning_id(&raw)?;
    let p = use_case(&req, &state, move |app, _| {
        app.update_planning(&caller.0, id, &u)
    })
    .await?;
    Ok(HttpResponse::Ok().json(planning_out(&p)))
}

#[utoipa::path(
    patch,
    path = "/api/v1/planning/{id}/dates",
    tag = "planning",
    summary = "Move the next due date",
    params(("id" = i64, Path, description = "Planning id"), params::RescheduleQuery),
    request_body(description = "Optional when the query has `nouvelle_date`", content((RescheduleBody = "application/json"))),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The planning", body = PlanningOut),
        (status = 404, description = "\"Planning introuvable\"", body = ErrorEnvelope),
    ),
)]
async fn reschedule(
    req: HttpRequest,
    caller: Authenticated,
    id: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ManagePlanning).await?;
    let raw = id.into_inner();
    // The query wins over the body (API.md §3.7).
    let mut q = Query::of(&req);
    let from_query = q.timestamp("nouvelle_date", false);
    q.finish()?;
    let nouvelle_date = match from_query {
        Some(t) => t,
        None => {
            let mut f = Fields::new(
                read_optional_json_object(&req, payload.into_inner()).await?,
                Location::Body,
            );
            let t = RescheduleBody::read(&mut f).and_then(|b| b.nouvelle_date);
            if t.is_none() && f.is_clean_for("nouvelle_date") {
                f.push(FieldViolation::required("nouvelle_date"));
            }
            f.finish_with(t)?
        }
    };
    let id = planning_id(&raw)?;
    let p = use_case(&req, &state, move |app, _| {
        app.reschedule_planning(&caller.0, id, nouvelle_date)
    })
    .await?;
    Ok(HttpResponse::Ok().json(planning_out(&p)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/planning/{id}",
    tag = "planning",
    summary = "Delete a planning",
    params(("id" = i64, Path, description = "Planning id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "\"Planning introuvable\"", body = ErrorEnvelope),
    ),
)]
async fn delete(
    req: HttpRequest,
    caller: Authenticated,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ManagePlanning).await?;
    let id = planning_id(&id)?;
    use_case(&req, &state, move |app, ctx| {
        app.delete_planning(&caller.0, id, ctx)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    post,
    path = "/api/v1/planning/{id}/generer",
    tag = "planning",
    summary = "Generate the due occurrence now",
    params(("id" = i64, Path, description = "Planning id")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The planning and the generated intervention", body = GenerationOut, headers(("Location" = String, description = "URL of the intervention"))),
        (status = 404, description = "\"Planning introuvable\"", body = ErrorEnvelope),
        (status = 409, description = "Planning not active, or the occurrence was already generated", body = ErrorEnvelope),
    ),
)]
async fn generate(
    req: HttpRequest,
    caller: Authenticated,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ManagePlanning).await?;
    let id = planning_id(&id)?;
    let now = state.clock().now();
    let (p, i) = use_case(&req, &state, move |app, _| {
        app.generate_planning_now(&caller.0, id)
    })
    .await?;
    let mut res = HttpResponse::build(StatusCode::CREATED).json(GenerationOut {
        planning: planning_out(&p),
        intervention: intervention_out(&i, now),
    });
    location(&mut res, &format!("/api/v1/interventions/{}", i.id()));
    Ok(res)
}
