//! `/api/v1/techniciens*` (API.md §3.4); the skill catalogue is `super::competences`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use erp_application::authz::Action;
use erp_application::techniciens::SkillSet;
use erp_domain::enums::{DisponibiliteTechnicien, NiveauCompetence};
use erp_domain::error::{FieldViolation, ViolationCode};
use erp_domain::technicien::{
    CompetenceId, SkillAssignment, Technicien, TechnicienFields, TechnicienFilter, TechnicienId,
    TechnicienSortField,
};
use erp_domain::{UserId, UserRole};
use serde_json::Value;

use serde::Serialize;
use utoipa::ToSchema;

use crate::blocking::use_case;
use crate::dto::{UserOut, collection, user_out};
use crate::error::{ApiError, ErrorEnvelope, Location};
use crate::extract::fields::{Fields, Patch};
use crate::extract::query::Query;
use crate::extract::{Authenticated, read_json_object};
use crate::openapi::schema::{self, Ts};
use crate::openapi::{bodies, params};
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

fn technicien_id(raw: &str) -> Result<TechnicienId, ApiError> {
    path_id("id", raw)?
        .map(TechnicienId::new)
        .ok_or_else(|| ApiError::not_found("Technicien introuvable"))
}

/// The technicien fields present in a body.
#[derive(Debug)]
struct TechnicienInput {
    equipe: Patch<String>,
    numero_badge: Patch<String>,
    niveau_technicien: Patch<NiveauCompetence>,
    zone_intervention: Patch<String>,
    rayon_deplacement_km: Patch<i64>,
    vehicule_service: Patch<String>,
    disponibilite: Patch<DisponibiliteTechnicien>,
    horaires_travail: Patch<String>,
    astreinte: Patch<bool>,
    is_active: Patch<bool>,
    date_embauche: Patch<erp_domain::Timestamp>,
    date_fin_contrat: Patch<erp_domain::Timestamp>,
    telephone_urgence: Patch<String>,
    notes_rh: Patch<String>,
    qualifications_speciales: Patch<String>,
    skills: Option<SkillSet>,
}

fn read_skills(f: &mut Fields) -> Option<SkillSet> {
    let ids = f.raw("competences_ids").cloned().filter(|v| !v.is_null());
    let full = f.raw("competences").cloned().filter(|v| !v.is_null());
    if ids.is_some() && full.is_some() {
        f.push(FieldViolation::new(
            "competences",
            ViolationCode::ConflictingFields,
            "Champs incompatibles : competences, competences_ids",
        ));
        return None;
    }
    if let Some(v) = ids {
        let Value::Array(items) = v else {
            f.push(FieldViolation::new(
                "competences_ids",
                ViolationCode::InvalidType,
                "Type invalide",
            ));
            return None;
        };
        let mut skills = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match item.as_i64().filter(|v| *v > 0) {
                Some(id) => skills.push(SkillAssignment {
                    competence_id: CompetenceId::new(id),
                    niveau: NiveauCompetence::Intermediaire,
                    date_validation: None,
                    validee_par: None,
                }),
                None => f.push(FieldViolation::new(
                    format!("competences_ids[{i}]"),
                    ViolationCode::InvalidType,
                    "Type invalide",
                )),
            }
        }
        return Some(SkillSet {
            field: "competences_ids",
            skills,
        });
    }
    let v = full?;
    let Value::Array(items) = v else {
        f.push(FieldViolation::new(
            "competences",
            ViolationCode::InvalidType,
            "Type invalide",
        ));
        return None;
    };
    let mut skills = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let Value::Object(map) = item else {
            f.push(FieldViolation::new(
                format!("competences[{i}]"),
                ViolationCode::InvalidType,
                "Type invalide",
            ));
            continue;
        };
        let mut inner = Fields::new(map, Location::Body);
        let id = inner.id("competence_id");
        let niveau =
            inner.enumeration::<NiveauCompetence>("niveau", &NiveauCompetence::wire_values());
        let date_validation = inner.timestamp("date_validation");
        let validee_par = inner.text_max("validee_par", 255);
        for v in inner.into_violations() {
            f.push(FieldViolation::new(
                format!("competences[{i}].{}", v.field),
                v.code,
                v.message,
            ));
        }
        match id {
            Patch::Value(id) => skills.push(SkillAssignment {
                competence_id: CompetenceId::new(id),
                niveau: match niveau {
                    Patch::Value(n) => n,
                    Patch::Null | Patch::Absent => NiveauCompetence::Intermediaire,
                },
                date_validation: match date_validation {
                    Patch::Value(d) => Some(d),
                    Patch::Null | Patch::Absent => None,
                },
                validee_par: match validee_par {
                    Patch::Value(s) => Some(s),
                    Patch::Null | Patch::Absent => None,
                },
            }),
            Patch::Null | Patch::Absent => f.push(FieldViolation::required(format!(
                "competences[{i}].competence_id"
            ))),
        }
    }
    Some(SkillSet {
        field: "competences",
        skills,
    })
}

fn read_technicien(f: &mut Fields) -> TechnicienInput {
    TechnicienInput {
        equipe: f.text_max("equipe", 100),
        numero_badge: f.text_max("numero_badge", 20),
        niveau_technicien: f.enumeration("niveau_technicien", &NiveauCompetence::wire_values()),
        zone_intervention: f.text_max("zone_intervention", 255),
        rayon_deplacement_km: f.integer("rayon_deplacement_km", 0, 10_000),
        vehicule_service: f.text_max("vehicule_service", 100),
        disponibilite: f.enumeration("disponibilite", &DisponibiliteTechnicien::wire_values()),
        horaires_travail: f.text_max("horaires_travail", 100),
        astreinte: f.boolean("astreinte"),
        is_active: f.boolean("is_active"),
        date_embauche: f.timestamp("date_embauche"),
        date_fin_contrat: f.timestamp("date_fin_contrat"),
        telephone_urgence: f.text_max("telephone_urgence", 20),
        notes_rh: f.text_max("notes_rh", 10_000),
        qualifications_speciales: f.text_max("qualifications_speciales", 10_000),
        skills: read_skills(f),
    }
}

impl TechnicienInput {
    fn refuse_nulls(&self, f: &mut Fields) {
        let nulls = [
            (
                "niveau_technicien",
                matches!(self.niveau_technicien, Patch::Null),
            ),
            (
                "rayon_deplacement_km",
                matches!(self.rayon_deplacement_km, Patch::Null),
            ),
            ("disponibilite", matches!(self.disponibilite, Patch::Null)),
            ("astreinte", matches!(self.astreinte, Patch::Null)),
            ("is_active", matches!(self.is_active, Patch::Null)),
        ];
        for (name, null) in nulls {
            if null {
                f.push(FieldViolation::new(
                    name,
                    ViolationCode::InvalidValue,
                    "Valeur invalide (null interdit)",
                ));
            }
        }
    }

    fn apply(self, t: &mut TechnicienFields) -> Option<SkillSet> {
        self.equipe.set_nullable(&mut t.equipe);
        self.numero_badge.set_nullable(&mut t.numero_badge);
        self.niveau_technicien.set(&mut t.niveau_technicien);
        self.zone_intervention
            .set_nullable(&mut t.zone_intervention);
        // Bounded to 0–10 000 when read.
        self.rayon_deplacement_km
            .map(|v| i32::try_from(v).unwrap_or(0))
            .set(&mut t.rayon_deplacement_km);
        self.vehicule_service.set_nullable(&mut t.vehicule_service);
        self.disponibilite.set(&mut t.disponibilite);
        self.horaires_travail.set_nullable(&mut t.horaires_travail);
        self.astreinte.set(&mut t.astreinte);
        self.is_active.set(&mut t.is_active);
        self.date_embauche.set_nullable(&mut t.date_embauche);
        self.date_fin_contrat.set_nullable(&mut t.date_fin_contrat);
        self.telephone_urgence
            .set_nullable(&mut t.telephone_urgence);
        self.notes_rh.set_nullable(&mut t.notes_rh);
        self.qualifications_speciales
            .set_nullable(&mut t.qualifications_speciales);
        self.skills
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/techniciens",
    tag = "techniciens",
    summary = "Create a technicien profile",
    request_body(content((bodies::TechnicienCreate = "application/json"))),
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
    let user_id = f.id("user_id");
    let user_id = f.require("user_id", user_id).map(UserId::new);
    let input = read_technicien(&mut f);
    input.refuse_nulls(&mut f);
    f.finish()?;
    let user_id = user_id.ok_or_else(|| ApiError::internal("validated field missing"))?;
    let mut fields = TechnicienFields::default();
    let skills = input.apply(&mut fields);
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
    request_body(content((bodies::TechnicienUpdate = "application/json"))),
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
    let input = read_technicien(&mut f);
    input.refuse_nulls(&mut f);
    f.finish()?;
    let id = technicien_id(&raw)?;
    let role = caller.0.user.role;
    let skills = input.skills.clone();
    let t = use_case(&req, &state, move |app, _| {
        app.update_technicien(
            &caller.0,
            id,
            move |fields| {
                let _ = input.apply(fields);
            },
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
