//! `/api/v1/equipements*` (API.md §3.5).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use erp_application::authz::Action;
use erp_domain::enums::{CriticiteEquipement, StatutEquipement};
use erp_domain::equipement::{
    Equipement, EquipementFields, EquipementFilter, EquipementId, EquipementSortField,
    bounded_text, check_frequence_days, parse_frequence_text,
};
use erp_domain::error::{FieldViolation, ViolationCode};
use erp_domain::{ClientId, Timestamp};
use serde_json::Value;

use serde::Serialize;
use utoipa::ToSchema;

use crate::blocking::use_case;
use crate::dto::{DetailOut, collection};
use crate::error::{ApiError, ErrorEnvelope, Location};
use crate::extract::fields::{Fields, Patch};
use crate::extract::query::Query;
use crate::extract::{Authenticated, read_json_object};
use crate::openapi::schema::{self, Ts};
use crate::openapi::{bodies, params};
use crate::routes::ids::path_id;
use crate::routing::{Endpoint, RouteTable};
use crate::state::AppState;

const NOT_FOUND: &str = "Équipement introuvable";
/// The largest amount of money the API accepts, in centimes.
pub const MAX_CENTIMES: i64 = 1_000_000_000_000;

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

/// The fields of an EquipementCreate / partial update, as read from the body.
#[derive(Debug)]
struct Input {
    nom: Patch<String>,
    type_equipement: Patch<String>,
    localisation: Patch<String>,
    numero_serie: Patch<String>,
    code_interne: Patch<String>,
    marque: Patch<String>,
    modele: Patch<String>,
    batiment: Patch<String>,
    zone: Patch<String>,
    etage: Patch<String>,
    statut: Patch<StatutEquipement>,
    criticite: Patch<CriticiteEquipement>,
    description: Patch<String>,
    specifications_techniques: Patch<String>,
    puissance: Patch<f64>,
    poids: Patch<f64>,
    frequence: Patch<i32>,
    duree_garantie_mois: Patch<i64>,
    cout_acquisition: Patch<i64>,
    date_acquisition: Patch<Timestamp>,
    date_mise_en_service: Patch<Timestamp>,
    date_fin_garantie: Patch<Timestamp>,
    client_id: Patch<i64>,
}

fn bounded(f: &mut Fields, name: &str, min: usize, max: usize) -> Patch<String> {
    f.parse(name, |s| bounded_text(name, s, min, max))
}

fn read_input(f: &mut Fields) -> Input {
    let type_value = bounded(f, "type", 1, 100);
    let type_alias = bounded(f, "type_equipement", 1, 100);
    let type_equipement = match (type_value, type_alias) {
        (Patch::Value(a), Patch::Value(b)) if a != b => {
            f.push(FieldViolation::new(
                "type",
                ViolationCode::ConflictingFields,
                "Champs incompatibles : type, type_equipement",
            ));
            Patch::Absent
        }
        (Patch::Absent | Patch::Null, other) | (other, _) => other,
    };
    let frequence = match f.raw("frequence_entretien").cloned() {
        None => Patch::Absent,
        Some(Value::Null) => Patch::Null,
        Some(Value::Number(n)) => match n
            .as_i64()
            .map(|d| check_frequence_days("frequence_entretien", d))
        {
            Some(Ok(d)) => Patch::Value(d),
            Some(Err(e)) => {
                f.push_domain(e);
                Patch::Absent
            }
            None => {
                f.push(FieldViolation::new(
                    "frequence_entretien",
                    ViolationCode::InvalidValue,
                    "Fréquence d'entretien invalide",
                ));
                Patch::Absent
            }
        },
        Some(Value::String(_)) => f.parse("frequence_entretien", |s| {
            parse_frequence_text("frequence_entretien", s)
        }),
        Some(_) => {
            f.push(FieldViolation::new(
                "frequence_entretien",
                ViolationCode::InvalidType,
                "Type invalide",
            ));
            Patch::Absent
        }
    };
    Input {
        nom: bounded(f, "nom", 1, 255),
        type_equipement,
        localisation: bounded(f, "localisation", 1, 255),
        numero_serie: f.text_max("numero_serie", 100),
        code_interne: f.text_max("code_interne", 50),
        marque: f.text_max("marque", 100),
        modele: f.text_max("modele", 100),
        batiment: f.text_max("batiment", 100),
        zone: f.text_max("zone", 100),
        etage: f.text_max("etage", 20),
        statut: f.enumeration("statut", &StatutEquipement::wire_values()),
        criticite: f.enumeration("criticite", &CriticiteEquipement::wire_values()),
        description: f.text_max("description", 10_000),
        specifications_techniques: f.text_max("specifications_techniques", 10_000),
        puissance: f.number("puissance", 0.0),
        poids: f.number("poids", 0.0),
        frequence,
        duree_garantie_mois: f.integer("duree_garantie_mois", 0, 1200),
        cout_acquisition: f.integer("cout_acquisition", 0, MAX_CENTIMES),
        date_acquisition: f.timestamp("date_acquisition"),
        date_mise_en_service: f.timestamp("date_mise_en_service"),
        date_fin_garantie: f.timestamp("date_fin_garantie"),
        client_id: f.id("client_id"),
    }
}

impl Input {
    fn apply(self, f: &mut EquipementFields) {
        self.nom.set(&mut f.nom);
        self.type_equipement.set(&mut f.type_equipement);
        self.localisation.set(&mut f.localisation);
        self.statut.set(&mut f.statut);
        self.criticite.set(&mut f.criticite);
        self.numero_serie.set_nullable(&mut f.numero_serie);
        self.code_interne.set_nullable(&mut f.code_interne);
        self.marque.set_nullable(&mut f.marque);
        self.modele.set_nullable(&mut f.modele);
        self.batiment.set_nullable(&mut f.batiment);
        self.zone.set_nullable(&mut f.zone);
        self.etage.set_nullable(&mut f.etage);
        self.description.set_nullable(&mut f.description);
        self.specifications_techniques
            .set_nullable(&mut f.specifications_techniques);
        self.puissance.set_nullable(&mut f.puissance);
        self.poids.set_nullable(&mut f.poids);
        self.frequence
            .set_nullable(&mut f.frequence_entretien_jours);
        // Bounded to 0–1200 when read, so the conversion cannot fail.
        self.duree_garantie_mois
            .map(|v| i32::try_from(v).unwrap_or(0))
            .set_nullable(&mut f.duree_garantie_mois);
        self.cout_acquisition.set_nullable(&mut f.cout_acquisition);
        self.date_acquisition.set_nullable(&mut f.date_acquisition);
        self.date_mise_en_service
            .set_nullable(&mut f.date_mise_en_service);
        self.date_fin_garantie
            .set_nullable(&mut f.date_fin_garantie);
        self.client_id
            .map(ClientId::new)
            .set_nullable(&mut f.client_id);
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/equipements",
    tag = "equipements",
    summary = "Create an equipment",
    request_body(content((bodies::EquipementCreate = "application/json"))),
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
    let input = read_input(&mut f);
    for (name, present) in [
        ("nom", &input.nom),
        ("type", &input.type_equipement),
        ("localisation", &input.localisation),
    ] {
        if !matches!(present, Patch::Value(_)) && f.is_clean_for(name) {
            f.push(FieldViolation::required(name));
        }
    }
    f.finish()?;
    let mut fields = EquipementFields::default();
    input.apply(&mut fields);
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
    request_body(content((bodies::EquipementUpdate = "application/json"))),
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
    let input = read_input(&mut f);
    for (name, patch) in [
        ("nom", &input.nom),
        ("type", &input.type_equipement),
        ("localisation", &input.localisation),
    ] {
        if matches!(patch, Patch::Null) {
            f.push(FieldViolation::new(
                name,
                ViolationCode::InvalidValue,
                "Valeur invalide (null interdit)",
            ));
        }
    }
    for (name, present) in [
        ("statut", matches!(input.statut, Patch::Null)),
        ("criticite", matches!(input.criticite, Patch::Null)),
    ] {
        if present {
            f.push(FieldViolation::new(
                name,
                ViolationCode::InvalidValue,
                "Valeur invalide (null interdit)",
            ));
        }
    }
    f.finish()?;
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
