//! `/api/v1/techniciens/competences*`: the skill catalogue (API.md §3.4).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use erp_application::authz::Action;
use erp_domain::enums::NiveauCompetence;
use erp_domain::technicien::{
    Competence, CompetenceFields, CompetenceFilter, CompetenceId, CompetenceSortField,
};
use erp_domain::value::{Description, Libelle, MoisValidite, Titre};
use serde_json::{Map, Value};

use serde::Serialize;
use utoipa::ToSchema;

use crate::blocking::use_case;
use crate::dto::collection;
use crate::error::{ApiError, ErrorEnvelope, Location};
use crate::extract::fields::{Fields, Patch};
use crate::extract::query::Query;
use crate::extract::request::request_body;
use crate::extract::wire::NotNull;
use crate::extract::{Authenticated, read_json_object};
use crate::openapi::params;
use crate::openapi::schema::{self, Ts};
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

request_body! {
    /// CompetenceCreate (API.md §3.4).
    pub struct CompetenceCreate {
        /// Name, unique case-insensitively (required on create).
        pub nom: Titre,
        /// Default `"general"`.
        pub domaine: NotNull<Libelle>,
        /// Description.
        pub description: Patch<Description>,
        /// Default `intermediaire`.
        pub niveau_requis_minimum: NotNull<NiveauCompetence>,
        /// Default false.
        pub necessite_certification: NotNull<bool>,
        /// 1–600 months.
        pub duree_validite_mois: Patch<MoisValidite>,
        /// Default true.
        pub is_active: NotNull<bool>,
    }
}

request_body! {
    /// Partial update of a skill: the CompetenceCreate fields, all optional.
    pub struct CompetenceUpdate {
        /// Name, unique case-insensitively (required on create).
        pub nom: NotNull<Titre>,
        /// Default `"general"`.
        pub domaine: NotNull<Libelle>,
        /// Description.
        pub description: Patch<Description>,
        /// Default `intermediaire`.
        pub niveau_requis_minimum: NotNull<NiveauCompetence>,
        /// Default false.
        pub necessite_certification: NotNull<bool>,
        /// 1–600 months.
        pub duree_validite_mois: Patch<MoisValidite>,
        /// Default true.
        pub is_active: NotNull<bool>,
    }
}

impl CompetenceCreate {
    /// The stored fields of the new skill (defaults where the body is silent).
    fn into_fields(self) -> CompetenceFields {
        let mut fields = CompetenceFields::default();
        CompetenceUpdate {
            nom: NotNull(Some(self.nom)),
            domaine: self.domaine,
            description: self.description,
            niveau_requis_minimum: self.niveau_requis_minimum,
            necessite_certification: self.necessite_certification,
            duree_validite_mois: self.duree_validite_mois,
            is_active: self.is_active,
        }
        .apply(&mut fields);
        fields
    }
}

impl CompetenceUpdate {
    /// Writes the sent fields into `c`.
    fn apply(self, c: &mut CompetenceFields) {
        self.nom.map(Titre::into_inner).set(&mut c.nom);
        self.domaine.map(Libelle::into_inner).set(&mut c.domaine);
        self.description
            .map(Description::into_inner)
            .set_nullable(&mut c.description);
        self.niveau_requis_minimum.set(&mut c.niveau_requis_minimum);
        self.necessite_certification
            .set(&mut c.necessite_certification);
        self.duree_validite_mois
            .map(MoisValidite::to_i32)
            .set_nullable(&mut c.duree_validite_mois);
        self.is_active.set(&mut c.is_active);
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/techniciens/competences",
    tag = "competences",
    summary = "Create a skill",
    request_body(content((CompetenceCreate = "application/json"))),
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
    let read = CompetenceCreate::read(&mut f);
    let fields = f.finish_with(read)?.into_fields();
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
    request_body(content((CompetenceUpdate = "application/json"))),
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
    let read = CompetenceUpdate::read(&mut f);
    let change = f.finish_with(read)?;
    let id = competence_id(&raw)?;
    let c = use_case(&req, &state, move |app, _| {
        app.update_competence(&caller.0, id, move |c| change.apply(c))
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
