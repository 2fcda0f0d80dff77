//! `/api/v1/techniciens/competences*`: the skill catalogue (API.md §3.4).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use erp_application::authz::Action;
use erp_domain::enums::NiveauCompetence;
use erp_domain::equipement::bounded_text;
use erp_domain::error::{FieldViolation, ViolationCode};
use erp_domain::technicien::{
    Competence, CompetenceFields, CompetenceFilter, CompetenceId, CompetenceSortField,
};
use serde_json::{Map, Value};

use serde::Serialize;
use utoipa::ToSchema;

use crate::blocking::use_case;
use crate::dto::collection;
use crate::error::{ApiError, ErrorEnvelope, Location};
use crate::extract::fields::{Fields, Patch};
use crate::extract::query::Query;
use crate::extract::{Authenticated, read_json_object};
use crate::openapi::schema::{self, Ts};
use crate::openapi::{bodies, params};
use crate::routes::ids::path_id;
use crate::routing::{Endpoint, RouteTable};
use crate::state::AppState;

/// Registers the routes. Before `/techniciens/{id}` (`super::techniciens`): literal segments
/// first.
pub fn configure(cfg: &mut RouteTable) {
    cfg.service(
        Endpoint::new("/api/v1/techniciens/competences")
            .get(list)
            .post(create),
    )
    .service(
        Endpoint::new("/api/v1/techniciens/competences/{id}")
            .get(get)
            .put(update)
            .patch(update)
            .delete(delete),
    );
}

/// CompetenceOut (API.md §3.4).
#[derive(Debug, Serialize, ToSchema)]
pub struct CompetenceOut {
    /// Skill id.
    pub id: i64,
    /// Name (unique, case-insensitively).
    pub nom: String,
    /// Domain.
    pub domaine: String,
    /// Description.
    pub description: Option<String>,
    /// Minimum level required.
    #[schema(value_type = schema::NiveauCompetence)]
    pub niveau_requis_minimum: &'static str,
    /// Needs a certification.
    pub necessite_certification: bool,
    /// Validity (months).
    pub duree_validite_mois: Option<i32>,
    /// Active flag.
    pub is_active: bool,
    /// Creation time.
    pub created_at: Ts,
    /// Last change.
    pub updated_at: Ts,
}

/// CompetenceOut of a skill.
#[must_use]
pub fn competence_out(c: &Competence) -> CompetenceOut {
    let f = &c.fields;
    CompetenceOut {
        id: c.id.get(),
        nom: f.nom.clone(),
        domaine: f.domaine.clone(),
        description: f.description.clone(),
        niveau_requis_minimum: f.niveau_requis_minimum.as_str(),
        necessite_certification: f.necessite_certification,
        duree_validite_mois: f.duree_validite_mois,
        is_active: f.is_active,
        created_at: c.created_at.into(),
        updated_at: c.updated_at.into(),
    }
}

fn competence_id(raw: &str) -> Result<CompetenceId, ApiError> {
    path_id("id", raw)?
        .map(CompetenceId::new)
        .ok_or_else(|| ApiError::not_found("Compétence introuvable"))
}

/// The compétence fields present in a body.
fn read_competence(
    f: &mut Fields,
    creating: bool,
) -> impl FnOnce(&mut CompetenceFields) + Send + 'static {
    let nom = f.parse("nom", |s| bounded_text("nom", s, 1, 255));
    let domaine = f.parse("domaine", |s| bounded_text("domaine", s, 1, 100));
    let description = f.text_max("description", 10_000);
    let niveau = f
        .enumeration::<NiveauCompetence>("niveau_requis_minimum", &NiveauCompetence::wire_values());
    let certification = f.boolean("necessite_certification");
    let validite = f.integer("duree_validite_mois", 1, 600);
    let active = f.boolean("is_active");
    if creating && !matches!(nom, Patch::Value(_)) && f.is_clean_for("nom") {
        f.push(FieldViolation::required("nom"));
    }
    for (name, null) in [
        ("nom", !creating && matches!(nom, Patch::Null)),
        ("domaine", matches!(domaine, Patch::Null)),
        ("niveau_requis_minimum", matches!(niveau, Patch::Null)),
        (
            "necessite_certification",
            matches!(certification, Patch::Null),
        ),
        ("is_active", matches!(active, Patch::Null)),
    ] {
        if null {
            f.push(FieldViolation::new(
                name,
                ViolationCode::InvalidValue,
                "Valeur invalide (null interdit)",
            ));
        }
    }
    move |c: &mut CompetenceFields| {
        nom.set(&mut c.nom);
        domaine.set(&mut c.domaine);
        description.set_nullable(&mut c.description);
        niveau.set(&mut c.niveau_requis_minimum);
        certification.set(&mut c.necessite_certification);
        // Bounded to 1–600 when read.
        validite
            .map(|v| i32::try_from(v).unwrap_or(1))
            .set_nullable(&mut c.duree_validite_mois);
        active.set(&mut c.is_active);
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/techniciens/competences",
    tag = "competences",
    summary = "Create a skill",
    request_body(content((bodies::CompetenceCreate = "application/json"))),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = CompetenceOut, headers(("Location" = String, description = "URL of the new resource"))),
        (status = 409, description = "\"Compétence déjà existante\"", body = ErrorEnvelope),
    ),
)]
async fn create(
    req: HttpRequest,
    caller: Authenticated,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ManageTechniciens).await?;
    let map: Map<String, Value> = read_json_object(&req, payload.into_inner()).await?;
    let mut f = Fields::new(map, Location::Body);
    let change = read_competence(&mut f, true);
    f.finish()?;
    let mut fields = CompetenceFields::default();
    change(&mut fields);
    let c = use_case(&req, &state, move |app, _| {
        app.create_competence(&caller.0, &fields)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/techniciens/competences/{}", c.id),
        ))
        .json(competence_out(&c)))
}

#[utoipa::path(
    get,
    path = "/api/v1/techniciens/competences",
    tag = "competences",
    summary = "List skills",
    params(params::CompetenceQuery, params::Page),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Skills", body = Vec<CompetenceOut>, headers(("X-Total-Count" = i64, description = "Rows matching the filters, ignoring limit/offset"))),
    ),
)]
async fn list(
    req: HttpRequest,
    caller: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ReadTechniciens).await?;
    let mut q = Query::of(&req);
    let filter = CompetenceFilter {
        domaine: q.text("domaine"),
        is_active: q.boolean("is_active"),
        search: q.text("search"),
    };
    let sort = q.sort(CompetenceSortField::parse, &CompetenceSortField::NAMES, &[]);
    let page = q.page();
    q.finish()?;
    let listed = use_case(&req, &state, move |app, _| {
        app.list_competences(&caller.0, &filter, &sort, page)
    })
    .await?;
    Ok(collection(&listed, competence_out))
}

#[utoipa::path(
    get,
    path = "/api/v1/techniciens/competences/{id}",
    tag = "competences",
    summary = "Get a skill",
    params(("id" = i64, Path, description = "Skill id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The skill", body = CompetenceOut),
        (status = 404, description = "\"Compétence introuvable\"", body = ErrorEnvelope),
    ),
)]
async fn get(
    req: HttpRequest,
    caller: Authenticated,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ReadTechniciens).await?;
    let id = competence_id(&id)?;
    let c = use_case(&req, &state, move |app, _| {
        app.get_competence(&caller.0, id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(competence_out(&c)))
}

#[utoipa::path(
    method(put, patch),
    path = "/api/v1/techniciens/competences/{id}",
    tag = "competences",
    summary = "Update a skill (partial)",
    params(("id" = i64, Path, description = "Skill id")),
    request_body(content((bodies::CompetenceUpdate = "application/json"))),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The updated skill", body = CompetenceOut),
        (status = 404, description = "\"Compétence introuvable\"", body = ErrorEnvelope),
        (status = 409, description = "\"Compétence déjà existante\"", body = ErrorEnvelope),
    ),
)]
async fn update(
    req: HttpRequest,
    caller: Authenticated,
    id: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ManageTechniciens).await?;
    let raw = id.into_inner();
    let mut f = Fields::new(
        read_json_object(&req, payload.into_inner()).await?,
        Location::Body,
    );
    let change = read_competence(&mut f, false);
    f.finish()?;
    let id = competence_id(&raw)?;
    let c = use_case(&req, &state, move |app, _| {
        app.update_competence(&caller.0, id, change)
    })
    .await?;
    Ok(HttpResponse::Ok().json(competence_out(&c)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/techniciens/competences/{id}",
    tag = "competences",
    summary = "Delete a skill (removed from every technicien)",
    params(("id" = i64, Path, description = "Skill id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "\"Compétence introuvable\"", body = ErrorEnvelope),
    ),
)]
async fn delete(
    req: HttpRequest,
    caller: Authenticated,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ManageTechniciens).await?;
    let id = competence_id(&id)?;
    use_case(&req, &state, move |app, ctx| {
        app.delete_competence(&caller.0, id, ctx)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
