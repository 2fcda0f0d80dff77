//! `/api/v1/techniciens*` (API.md §3.4); the skill catalogue is `super::competences`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use erp_application::authz::Action;
use erp_domain::UserRole;
use erp_domain::enums::{DisponibiliteTechnicien, NiveauCompetence};
use erp_domain::technicien::{
    CompetenceId, Technicien, TechnicienFields, TechnicienFilter, TechnicienId, TechnicienSortField,
};

use serde::Serialize;
use utoipa::ToSchema;

use crate::blocking::use_case;
use crate::dto::{UserOut, collection, user_out};
use crate::error::{ApiError, ErrorEnvelope, Location};
use crate::extract::fields::Fields;
use crate::extract::query::Query;
use crate::extract::{Authenticated, read_json_object};
use crate::openapi::params;
use crate::openapi::schema::{self, Ts};
use crate::routes::ids::path_id;
use crate::routing::{Endpoint, RouteTable};
use crate::state::AppState;

/// Registers the routes. `/techniciens/competences*` (`super::competences`) is registered
/// before `/techniciens/{id}`: literal segments first.
pub fn configure(cfg: &mut RouteTable) {
    cfg.service(Endpoint::new("/api/v1/techniciens").get(list).post(create))
        .service(
            Endpoint::new("/api/v1/techniciens/{id}")
                .get(get)
                .put(update)
                .patch(update)
                .delete(delete),
        );
}

/// A skill of a technicien, in TechnicienOut.
#[derive(Debug, Serialize, ToSchema)]
pub struct TechnicienCompetenceOut {
    /// Skill id.
    pub id: i64,
    /// Skill name.
    pub nom: String,
    /// Skill domain.
    pub domaine: String,
    /// The technicien's level.
    #[schema(value_type = schema::NiveauCompetence)]
    pub niveau: &'static str,
    /// When the skill was first linked.
    pub date_acquisition: Ts,
    /// Validation date.
    pub date_validation: Option<Ts>,
    /// Validated by.
    pub validee_par: Option<String>,
}

/// TechnicienOut (API.md §3.4).
#[derive(Debug, Serialize, ToSchema)]
pub struct TechnicienOut {
    /// Technicien id.
    pub id: i64,
    /// Linked user.
    pub user_id: i64,
    /// The linked user.
    pub user: UserOut,
    /// Team.
    pub equipe: Option<String>,
    /// Badge number.
    pub numero_badge: Option<String>,
    /// Level.
    #[schema(value_type = schema::NiveauCompetence)]
    pub niveau_technicien: &'static str,
    /// Area.
    pub zone_intervention: Option<String>,
    /// Travel radius (km).
    pub rayon_deplacement_km: i32,
    /// Service vehicle.
    pub vehicule_service: Option<String>,
    /// Availability.
    #[schema(value_type = schema::DisponibiliteTechnicien)]
    pub disponibilite: &'static str,
    /// Working hours.
    pub horaires_travail: Option<String>,
    /// On call.
    pub astreinte: bool,
    /// Active flag.
    pub is_active: bool,
    /// Hiring date.
    pub date_embauche: Option<Ts>,
    /// End of contract.
    pub date_fin_contrat: Option<Ts>,
    /// Emergency phone.
    pub telephone_urgence: Option<String>,
    /// Special qualifications.
    pub qualifications_speciales: Option<String>,
    /// HR notes: `null` unless the caller is admin or responsable.
    pub notes_rh: Option<String>,
    /// Skills, sorted by name.
    pub competences: Vec<TechnicienCompetenceOut>,
    /// Creation time.
    pub created_at: Ts,
    /// Last change.
    pub updated_at: Ts,
}

/// TechnicienOut; `notes_rh` only for admins and responsables.
#[must_use]
pub fn technicien_out(t: &Technicien, viewer: UserRole) -> TechnicienOut {
    let f = &t.fields;
    let sees_hr = matches!(viewer, UserRole::Admin | UserRole::Responsable);
    TechnicienOut {
        id: t.id.get(),
        user_id: t.user.id.get(),
        user: user_out(&t.user),
        equipe: f.equipe.clone(),
        numero_badge: f.numero_badge.clone(),
        niveau_technicien: f.niveau_technicien.as_str(),
        zone_intervention: f.zone_intervention.clone(),
        rayon_deplacement_km: f.rayon_deplacement_km,
        vehicule_service: f.vehicule_service.clone(),
        disponibilite: f.disponibilite.as_str(),
        horaires_travail: f.horaires_travail.clone(),
        astreinte: f.astreinte,
        is_active: f.is_active,
        date_embauche: f.date_embauche.map(Ts::from),
        date_fin_contrat: f.date_fin_contrat.map(Ts::from),
        telephone_urgence: f.telephone_urgence.clone(),
        qualifications_speciales: f.qualifications_speciales.clone(),
        notes_rh: if sees_hr { f.notes_rh.clone() } else { None },
        competences: t
            .competences
            .iter()
            .map(|s| TechnicienCompetenceOut {
                id: s.competence_id.get(),
                nom: s.nom.clone(),
                domaine: s.domaine.clone(),
                niveau: s.niveau.as_str(),
                date_acquisition: s.date_acquisition.into(),
                date_validation: s.date_validation.map(Ts::from),
                validee_par: s.validee_par.clone(),
            })
            .collect(),
        created_at: t.created_at.into(),
        updated_at: t.updated_at.into(),
    }
}

mod input;

use input::refuse_both_skill_sets;
pub use input::{SkillIds, SkillInput, Skills, TechnicienCreate, TechnicienUpdate};

fn technicien_id(raw: &str) -> Result<TechnicienId, ApiError> {
    path_id("id", raw)?
        .map(TechnicienId::new)
        .ok_or_else(|| ApiError::not_found("Technicien introuvable"))
}

#[utoipa::path(
    post,
    path = "/api/v1/techniciens",
    tag = "techniciens",
    summary = "Create a technicien profile",
    request_body(content((TechnicienCreate = "application/json"))),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = TechnicienOut, headers(("Location" = String, description = "URL of the new resource"))),
        (status = 400, description = "\"L'utilisateur n’est pas un technicien\"", body = ErrorEnvelope),
        (status = 404, description = "\"Utilisateur lié introuvable\" or \"Une ou plusieurs compétences sont introuvables\"", body = ErrorEnvelope),
        (status = 409, description = "A profile already exists for the user, or the badge number is taken", body = ErrorEnvelope),
    ),
)]
async fn create(
    req: HttpRequest,
    caller: Authenticated,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ManageTechniciens).await?;
    let mut f = Fields::new(
        read_json_object(&req, payload.into_inner()).await?,
        Location::Body,
    );
    refuse_both_skill_sets(&mut f);
    let read = TechnicienCreate::read(&mut f);
    let (user_id, input) = f.finish_with(read)?.split();
    let skills = input.skills();
    let mut fields = TechnicienFields::default();
    input.apply(&mut fields);
    let role = caller.0.user.role;
    let t = use_case(&req, &state, move |app, _| {
        app.create_technicien(&caller.0, user_id, fields, skills.as_ref())
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/techniciens/{}", t.id)))
        .json(technicien_out(&t, role)))
}

#[utoipa::path(
    get,
    path = "/api/v1/techniciens",
    tag = "techniciens",
    summary = "List techniciens",
    params(params::TechnicienQuery, params::Page),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Techniciens", body = Vec<TechnicienOut>, headers(("X-Total-Count" = i64, description = "Rows matching the filters, ignoring limit/offset"))),
    ),
)]
async fn list(
    req: HttpRequest,
    caller: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ReadTechniciens).await?;
    let mut q = Query::of(&req);
    let filter = TechnicienFilter {
        equipe: q.text("equipe"),
        disponibilites: q.enum_list("disponibilite", &DisponibiliteTechnicien::wire_values()),
        niveaux: q.enum_list("niveau_technicien", &NiveauCompetence::wire_values()),
        competence_id: q.id("competence_id").map(CompetenceId::new),
        competence: q.text("competence"),
        is_active: q.boolean("is_active"),
        search: q.text("search"),
    };
    let sort = q.sort(TechnicienSortField::parse, &TechnicienSortField::NAMES, &[]);
    let page = q.page();
    q.finish()?;
    let role = caller.0.user.role;
    let listed = use_case(&req, &state, move |app, _| {
        app.list_techniciens(&caller.0, &filter, &sort, page)
    })
    .await?;
    Ok(collection(&listed, |t| technicien_out(t, role)))
}

#[utoipa::path(
    get,
    path = "/api/v1/techniciens/{id}",
    tag = "techniciens",
    summary = "Get a technicien",
    params(("id" = i64, Path, description = "Technicien id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The technicien", body = TechnicienOut),
        (status = 404, description = "\"Technicien introuvable\"", body = ErrorEnvelope),
    ),
)]
async fn get(
    req: HttpRequest,
    caller: Authenticated,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ReadTechniciens).await?;
    let id = technicien_id(&id)?;
    let role = caller.0.user.role;
    let t = use_case(&req, &state, move |app, _| {
        app.get_technicien(&caller.0, id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(technicien_out(&t, role)))
}

#[utoipa::path(
    method(put, patch),
    path = "/api/v1/techniciens/{id}",
    tag = "techniciens",
    summary = "Update a technicien (partial)",
    params(("id" = i64, Path, description = "Technicien id")),
    request_body(content((TechnicienUpdate = "application/json"))),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The updated technicien", body = TechnicienOut),
        (status = 404, description = "\"Technicien introuvable\" or unknown skills", body = ErrorEnvelope),
        (status = 409, description = "\"Numéro de badge déjà utilisé\"", body = ErrorEnvelope),
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
    f.read_only(&["user_id"], "Champ non modifiable");
    refuse_both_skill_sets(&mut f);
    let read = TechnicienUpdate::read(&mut f);
    let input = f.finish_with(read)?;
    let id = technicien_id(&raw)?;
    let role = caller.0.user.role;
    let skills = input.skills();
    let t = use_case(&req, &state, move |app, _| {
        app.update_technicien(
            &caller.0,
            id,
            move |fields| input.apply(fields),
            skills.as_ref(),
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(technicien_out(&t, role)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/techniciens/{id}",
    tag = "techniciens",
    summary = "Delete a technicien",
    params(("id" = i64, Path, description = "Technicien id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "\"Technicien introuvable\"", body = ErrorEnvelope),
        (status = 409, description = "\"Technicien affecté à des interventions en cours\"", body = ErrorEnvelope),
    ),
)]
async fn delete(
    req: HttpRequest,
    caller: Authenticated,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ManageTechniciens).await?;
    let id = technicien_id(&id)?;
    use_case(&req, &state, move |app, ctx| {
        app.delete_technicien(&caller.0, id, ctx)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
