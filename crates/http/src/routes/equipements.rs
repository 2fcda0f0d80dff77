//! `/api/v1/equipements*` (API.md §3.5).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use erp_application::authz::Action;
use erp_domain::ClientId;
use erp_domain::enums::{CriticiteEquipement, StatutEquipement};
use erp_domain::equipement::{Equipement, EquipementFilter, EquipementId, EquipementSortField};

use serde::Serialize;
use utoipa::ToSchema;

use crate::blocking::use_case;
use crate::dto::{DetailOut, collection};
use crate::error::{ApiError, ErrorEnvelope, Location};
use crate::extract::fields::Fields;
use crate::extract::query::Query;
use crate::extract::{Authenticated, read_json_object};
use crate::openapi::params;
use crate::openapi::schema::{self, Ts};
use crate::routes::ids::path_id;
use crate::routing::{Endpoint, RouteTable};
use crate::state::AppState;

mod input;

pub use input::{EquipementCreate, EquipementUpdate, FrequenceEntretien, TypeEquipement};

const NOT_FOUND: &str = "Équipement introuvable";

/// Registers the équipements routes.
pub fn configure(cfg: &mut RouteTable) {
    cfg.service(Endpoint::new("/api/v1/equipements").get(list).post(create))
        .service(
            Endpoint::new("/api/v1/equipements/{id}")
                .get(get)
                .put(update)
                .patch(update)
                .delete(delete),
        );
}

/// EquipementOut (API.md §3.5).
#[derive(Debug, Serialize, ToSchema)]
pub struct EquipementOut {
    /// Equipment id.
    pub id: i64,
    /// Name (unique, case-insensitively).
    pub nom: String,
    /// Type.
    #[serde(rename = "type")]
    pub type_equipement: String,
    /// Serial number.
    pub numero_serie: Option<String>,
    /// Internal code.
    pub code_interne: Option<String>,
    /// Brand.
    pub marque: Option<String>,
    /// Model.
    pub modele: Option<String>,
    /// Location.
    pub localisation: String,
    /// Building.
    pub batiment: Option<String>,
    /// Floor.
    pub etage: Option<String>,
    /// Zone.
    pub zone: Option<String>,
    /// Status.
    #[schema(value_type = schema::StatutEquipement)]
    pub statut: &'static str,
    /// Criticality.
    #[schema(value_type = schema::CriticiteEquipement)]
    pub criticite: &'static str,
    /// Description.
    pub description: Option<String>,
    /// Technical specifications.
    pub specifications_techniques: Option<String>,
    /// Power (kW).
    pub puissance: Option<f64>,
    /// Weight (kg).
    pub poids: Option<f64>,
    /// Maintenance period in days, as a decimal string (e.g. `"30"`).
    #[schema(pattern = "^[0-9]+$")]
    pub frequence_entretien: Option<String>,
    /// Maintenance period in days.
    pub frequence_entretien_jours: Option<i32>,
    /// Warranty (months).
    pub duree_garantie_mois: Option<i32>,
    /// Purchase cost (centimes).
    pub cout_acquisition: Option<i64>,
    /// Purchase date.
    pub date_acquisition: Option<Ts>,
    /// Commissioning date.
    pub date_mise_en_service: Option<Ts>,
    /// End of warranty.
    pub date_fin_garantie: Option<Ts>,
    /// Client account.
    pub client_id: Option<i64>,
    /// Always `null` in this version.
    pub contrat_id: Option<i64>,
    /// Creation time.
    pub created_at: Ts,
    /// Last change.
    pub updated_at: Ts,
}

/// EquipementOut of an equipment.
#[must_use]
pub fn equipement_out(e: &Equipement) -> EquipementOut {
    let f = &e.fields;
    EquipementOut {
        id: e.id.get(),
        nom: f.nom.clone(),
        type_equipement: f.type_equipement.clone(),
        numero_serie: f.numero_serie.clone(),
        code_interne: f.code_interne.clone(),
        marque: f.marque.clone(),
        modele: f.modele.clone(),
        localisation: f.localisation.clone(),
        batiment: f.batiment.clone(),
        etage: f.etage.clone(),
        zone: f.zone.clone(),
        statut: f.statut.as_str(),
        criticite: f.criticite.as_str(),
        description: f.description.clone(),
        specifications_techniques: f.specifications_techniques.clone(),
        puissance: f.puissance,
        poids: f.poids,
        frequence_entretien: f.frequence_entretien_jours.map(|d| d.to_string()),
        frequence_entretien_jours: f.frequence_entretien_jours,
        duree_garantie_mois: f.duree_garantie_mois,
        cout_acquisition: f.cout_acquisition,
        date_acquisition: f.date_acquisition.map(Ts::from),
        date_mise_en_service: f.date_mise_en_service.map(Ts::from),
        date_fin_garantie: f.date_fin_garantie.map(Ts::from),
        client_id: f.client_id.map(ClientId::get),
        contrat_id: None,
        created_at: e.created_at.into(),
        updated_at: e.updated_at.into(),
    }
}

fn equipement_id(raw: &str) -> Result<EquipementId, ApiError> {
    path_id("id", raw)?
        .map(EquipementId::new)
        .ok_or_else(|| ApiError::not_found(NOT_FOUND))
}

#[utoipa::path(
    post,
    path = "/api/v1/equipements",
    tag = "equipements",
    summary = "Create an equipment",
    request_body(content((EquipementCreate = "application/json"))),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = EquipementOut, headers(("Location" = String, description = "URL of the new resource"))),
        (status = 409, description = "Name, serial number or internal code already used", body = ErrorEnvelope),
        (status = 404, description = "\"Compte client introuvable\"", body = ErrorEnvelope),
    ),
)]
async fn create(
    req: HttpRequest,
    caller: Authenticated,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ManageEquipements).await?;
    let mut f = Fields::new(
        read_json_object(&req, payload.into_inner()).await?,
        Location::Body,
    );
    let read = EquipementCreate::read(&mut f);
    let fields = f.finish_with(read)?.into_fields();
    let created = use_case(&req, &state, move |app, _| {
        app.create_equipement(&caller.0, &fields)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/equipements/{}", created.id),
        ))
        .json(equipement_out(&created)))
}

#[utoipa::path(
    get,
    path = "/api/v1/equipements",
    tag = "equipements",
    summary = "List equipment (clients: their account's)",
    params(params::EquipementQuery, params::Page),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Equipment", body = Vec<EquipementOut>, headers(("X-Total-Count" = i64, description = "Rows matching the filters, ignoring limit/offset"))),
    ),
)]
async fn list(
    req: HttpRequest,
    caller: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ReadEquipements).await?;
    let mut q = Query::of(&req);
    let filter = EquipementFilter {
        statuts: q.enum_list("statut", &StatutEquipement::wire_values()),
        criticites: q.enum_list("criticite", &CriticiteEquipement::wire_values()),
        type_norm: q.text("type"),
        localisation: q.text("localisation"),
        client_id: q.id("client_id").map(ClientId::new),
        nothing: false,
        search: q.text("search"),
    };
    let sort = q.sort(EquipementSortField::parse, &EquipementSortField::NAMES, &[]);
    let page = q.page();
    q.finish()?;
    let listed = use_case(&req, &state, move |app, _| {
        app.list_equipements(&caller.0, filter, &sort, page)
    })
    .await?;
    Ok(collection(&listed, equipement_out))
}

#[utoipa::path(
    get,
    path = "/api/v1/equipements/{id}",
    tag = "equipements",
    summary = "Get an equipment",
    params(("id" = i64, Path, description = "Equipment id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The equipment", body = EquipementOut),
        (status = 404, description = "\"Équipement introuvable\"", body = ErrorEnvelope),
    ),
)]
async fn get(
    req: HttpRequest,
    caller: Authenticated,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ReadEquipements).await?;
    let id = equipement_id(&id)?;
    let e = use_case(&req, &state, move |app, _| {
        app.get_equipement(&caller.0, id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(equipement_out(&e)))
}

#[utoipa::path(
    method(put, patch),
    path = "/api/v1/equipements/{id}",
    tag = "equipements",
    summary = "Update an equipment (partial)",
    params(("id" = i64, Path, description = "Equipment id")),
    request_body(content((EquipementUpdate = "application/json"))),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The updated equipment", body = EquipementOut),
        (status = 404, description = "\"Équipement introuvable\" or \"Compte client introuvable\"", body = ErrorEnvelope),
        (status = 409, description = "Name, serial number or internal code already used", body = ErrorEnvelope),
    ),
)]
async fn update(
    req: HttpRequest,
    caller: Authenticated,
    id: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ManageEquipements).await?;
    let raw_id = id.into_inner();
    let mut f = Fields::new(
        read_json_object(&req, payload.into_inner()).await?,
        Location::Body,
    );
    let read = EquipementUpdate::read(&mut f);
    let input = f.finish_with(read)?;
    let id = equipement_id(&raw_id)?;
    let e = use_case(&req, &state, move |app, _| {
        app.update_equipement(&caller.0, id, move |fields| input.apply(fields))
    })
    .await?;
    Ok(HttpResponse::Ok().json(equipement_out(&e)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/equipements/{id}",
    tag = "equipements",
    summary = "Delete an equipment (and its plannings)",
    params(("id" = i64, Path, description = "Equipment id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "\"Équipement supprimé avec succès.\"", body = DetailOut),
        (status = 404, description = "\"Équipement introuvable\"", body = ErrorEnvelope),
        (status = 409, description = "\"Équipement utilisé par des interventions\"", body = ErrorEnvelope),
    ),
)]
async fn delete(
    req: HttpRequest,
    caller: Authenticated,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ManageEquipements).await?;
    let id = equipement_id(&id)?;
    use_case(&req, &state, move |app, ctx| {
        app.delete_equipement(&caller.0, id, ctx)
    })
    .await?;
    Ok(HttpResponse::Ok().json(DetailOut {
        detail: "Équipement supprimé avec succès.",
    }))
}
