//! `/api/v1/interventions*`, `/filters/interventions` and `/equipements/{id}/interventions`
//! (API.md §3.6).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use erp_application::authz::Action;
use erp_application::interventions::{
    ActionInput, ClosureReport, CreateIntervention, action_of, statut_action,
};
use erp_domain::enums::{InterventionType, PrioriteIntervention, StatutIntervention};
use erp_domain::equipement::{EquipementId, bounded_text};
use erp_domain::error::{FieldViolation, ViolationCode};
use erp_domain::intervention::{
    HistoryEntry, Intervention, InterventionFilter, InterventionId, InterventionSortField,
};
use erp_domain::lifecycle::LifecycleAction;
use erp_domain::list::{SortDir, SortKey};
use erp_domain::technicien::TechnicienId;
use erp_domain::{ClientId, Timestamp, UserId};
use serde::Serialize;
use utoipa::ToSchema;

use crate::blocking::use_case;
use crate::dto::collection;
use crate::error::{ApiError, ErrorEnvelope, Location};
use crate::extract::fields::{Fields, Patch};
use crate::extract::query::Query;
use crate::extract::{Authenticated, Bearer, read_json_object, read_optional_json_object};
use crate::openapi::schema::{self, Ts};
use crate::openapi::{bodies, params};
use crate::routes::equipements::MAX_CENTIMES;
use crate::routes::ids::path_id;
use crate::routing::{Endpoint, RouteTable};
use crate::state::AppState;

const NOT_FOUND: &str = "Intervention introuvable";

/// Registers the routes.
pub fn configure(cfg: &mut RouteTable) {
    cfg.service(
        Endpoint::new("/api/v1/interventions")
            .get(list)
            .post(create),
    )
    .service(Endpoint::new("/api/v1/filters/interventions").get(list_filters))
    .service(Endpoint::new("/api/v1/equipements/{id}/interventions").get(list_for_equipement))
    .service(
        Endpoint::new("/api/v1/interventions/{id}")
            .get(get)
            .put(update)
            .patch(update),
    )
    .service(Endpoint::new("/api/v1/interventions/{id}/historique").get(history))
    .service(Endpoint::new("/api/v1/interventions/{id}/statut").patch(change_statut));
    cfg.service(Endpoint::new("/api/v1/interventions/{id}/affecter").post(affecter))
        .service(Endpoint::new("/api/v1/interventions/{id}/demarrer").post(demarrer))
        .service(Endpoint::new("/api/v1/interventions/{id}/suspendre").post(suspendre))
        .service(Endpoint::new("/api/v1/interventions/{id}/reprendre").post(reprendre))
        .service(Endpoint::new("/api/v1/interventions/{id}/cloturer").post(cloturer))
        .service(Endpoint::new("/api/v1/interventions/{id}/annuler").post(annuler))
        .service(Endpoint::new("/api/v1/interventions/{id}/archiver").post(archiver))
        .service(Endpoint::new("/api/v1/interventions/{id}/valider").post(valider));
}

/// InterventionOut (API.md §3.6.1).
#[derive(Debug, Serialize, ToSchema)]
pub struct InterventionOut {
    /// Intervention id.
    pub id: i64,
    /// Title.
    pub titre: String,
    /// Description.
    pub description: Option<String>,
    /// Type.
    #[serde(rename = "type")]
    #[schema(value_type = schema::InterventionType)]
    pub type_intervention: &'static str,
    /// Status.
    #[schema(value_type = schema::StatutIntervention)]
    pub statut: &'static str,
    /// Priority.
    #[schema(value_type = schema::PrioriteIntervention)]
    pub priorite: &'static str,
    /// Urgent flag.
    pub urgence: bool,
    /// Overdue: `date_limite` past while the intervention is active.
    pub en_retard: bool,
    /// Creation time.
    pub date_creation: Ts,
    /// Deadline.
    pub date_limite: Option<Ts>,
    /// Last assignment.
    pub date_affectation: Option<Ts>,
    /// Start of work.
    pub date_debut_travaux: Option<Ts>,
    /// End of work.
    pub date_fin_travaux: Option<Ts>,
    /// Closure.
    pub date_cloture: Option<Ts>,
    /// Cancellation.
    pub date_annulation: Option<Ts>,
    /// Archiving.
    pub date_archivage: Option<Ts>,
    /// Estimated duration (minutes).
    pub duree_estimee: Option<i32>,
    /// Actual duration (minutes).
    pub duree_reelle: Option<i32>,
    /// Travel time (minutes).
    pub temps_deplacement: Option<i32>,
    /// Estimated cost (centimes).
    pub cout_estime: Option<i64>,
    /// Actual cost (centimes).
    pub cout_reel: Option<i64>,
    /// Parts cost (centimes).
    pub cout_pieces: Option<i64>,
    /// Labour cost (centimes).
    pub cout_main_oeuvre: Option<i64>,
    /// Closure report.
    pub rapport_intervention: Option<String>,
    /// Work done.
    pub travaux_realises: Option<String>,
    /// Recommendations.
    pub recommandations: Option<String>,
    /// Cancellation reason.
    pub motif_annulation: Option<String>,
    /// Validated by the client.
    pub validation_client: bool,
    /// Client validation time.
    pub date_validation_client: Option<Ts>,
    /// Client satisfaction (1–5).
    #[schema(minimum = 1, maximum = 5)]
    pub satisfaction_client: Option<i32>,
    /// Client comment.
    pub commentaire_client: Option<String>,
    /// Equipment.
    pub equipement_id: i64,
    /// Assigned technicien.
    pub technicien_id: Option<i64>,
    /// Planning that generated it.
    pub planning_id: Option<i64>,
    /// Client account (from the equipment).
    pub client_id: Option<i64>,
    /// Always `null` in this version.
    #[schema(value_type = Option<i64>)]
    pub contrat_id: Option<i64>,
    /// Creator (`null` for the scheduler).
    pub created_by_id: Option<i64>,
    /// Creation time.
    pub created_at: Ts,
    /// Last change.
    pub updated_at: Ts,
    /// Optimistic-concurrency version (also the `ETag`).
    pub version: i32,
}

/// InterventionOut of an intervention at `now` (for `en_retard`).
#[must_use]
pub fn intervention_out(i: &Intervention, now: Timestamp) -> InterventionOut {
    InterventionOut {
        id: i.id.get(),
        titre: i.titre.clone(),
        description: i.description.clone(),
        type_intervention: i.type_intervention.as_str(),
        statut: i.statut.as_str(),
        priorite: i.priorite.as_str(),
        urgence: i.urgence,
        en_retard: i.en_retard(now),
        date_creation: i.date_creation.into(),
        date_limite: i.date_limite.map(Ts::from),
        date_affectation: i.date_affectation.map(Ts::from),
        date_debut_travaux: i.date_debut_travaux.map(Ts::from),
        date_fin_travaux: i.date_fin_travaux.map(Ts::from),
        date_cloture: i.date_cloture.map(Ts::from),
        date_annulation: i.date_annulation.map(Ts::from),
        date_archivage: i.date_archivage.map(Ts::from),
        duree_estimee: i.duree_estimee,
        duree_reelle: i.duree_reelle,
        temps_deplacement: i.temps_deplacement,
        cout_estime: i.cout_estime,
        cout_reel: i.cout_reel,
        cout_pieces: i.cout_pieces,
        cout_main_oeuvre: i.cout_main_oeuvre,
        rapport_intervention: i.rapport_intervention.clone(),
        travaux_realises: i.travaux_realises.clone(),
        recommandations: i.recommandations.clone(),
        motif_annulation: i.motif_annulation.clone(),
        validation_client: i.validation_client,
        date_validation_client: i.date_validation_client.map(Ts::from),
        satisfaction_client: i.satisfaction_client,
        commentaire_client: i.commentaire_client.clone(),
        equipement_id: i.equipement_id.get(),
        technicien_id: i.technicien_id.map(TechnicienId::get),
        planning_id: i.planning_id,
        client_id: i.client_id.map(ClientId::get),
        contrat_id: None,
        created_by_id: i.created_by_id.map(UserId::get),
        created_at: i.created_at.into(),
        updated_at: i.updated_at.into(),
        version: i.version,
    }
}

/// The author of a history row.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryAuthorOut {
    /// User id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Display name.
    pub full_name: Option<String>,
    /// Role.
    #[schema(value_type = schema::UserRole)]
    pub role: &'static str,
}

/// HistoriqueOut (API.md §3.6.3).
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoriqueOut {
    /// Row id.
    pub id: i64,
    /// Intervention.
    pub intervention_id: i64,
    /// What happened.
    #[schema(value_type = schema::ActionHistorique)]
    pub action: &'static str,
    /// Status before (`null` for the first row).
    #[schema(value_type = Option<schema::StatutIntervention>)]
    pub from_statut: Option<&'static str>,
    /// Status after.
    #[schema(value_type = schema::StatutIntervention)]
    pub to_statut: &'static str,
    /// Same as `to_statut`.
    #[schema(value_type = schema::StatutIntervention)]
    pub statut: &'static str,
    /// Remark.
    pub remarque: Option<String>,
    /// The assignee, on assignment rows.
    pub technicien_id: Option<i64>,
    /// When.
    pub horodatage: Ts,
    /// Acting user (`null` for the scheduler).
    pub user_id: Option<i64>,
    /// Acting user.
    pub user: Option<HistoryAuthorOut>,
}

fn history_out(h: &HistoryEntry) -> HistoriqueOut {
    let r = &h.row;
    HistoriqueOut {
        id: h.id,
        intervention_id: r.intervention_id.get(),
        action: r.action.as_str(),
        from_statut: r.from_statut.map(StatutIntervention::as_str),
        to_statut: r.to_statut.as_str(),
        statut: r.to_statut.as_str(),
        remarque: r.remarque.clone(),
        technicien_id: r.technicien_id.map(TechnicienId::get),
        horodatage: r.horodatage.into(),
        user_id: r.user_id.map(UserId::get),
        user: h.user.as_ref().map(|u| HistoryAuthorOut {
            id: u.id.get(),
            username: u.username.clone(),
            full_name: u.full_name.clone(),
            role: u.role.as_str(),
        }),
    }
}

/// 200 with the intervention and its `ETag`.
fn single(status: StatusCode, i: &Intervention, now: Timestamp) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::ETAG, format!("\"{}\"", i.version)))
        .json(intervention_out(i, now))
}

fn intervention_id(raw: &str) -> Result<InterventionId, ApiError> {
    path_id("id", raw)?
        .map(InterventionId::new)
        .ok_or_else(|| ApiError::not_found(NOT_FOUND))
}

/// `If-Match: "<n>"`, `W/"<n>"` or `*`.
fn if_match(req: &HttpRequest) -> Result<Option<i32>, ApiError> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let invalid = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "En-tête If-Match invalide",
        )
    };
    let text = value.to_str().map_err(|_| invalid())?.trim();
    if text == "*" {
        return Ok(None);
    }
    let quoted = text.strip_prefix("W/").unwrap_or(text);
    let inner = quoted
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .ok_or_else(invalid)?;
    inner.parse::<i32>().map(Some).map_err(|_| invalid())
}

/// The expected version from the body `version` and/or `If-Match`.
fn expected_version(req: &HttpRequest, f: &mut Fields) -> Result<Option<i32>, ApiError> {
    let header = if_match(req)?;
    let body = match f.integer("version", 1, i64::from(i32::MAX)) {
        Patch::Value(v) => i32::try_from(v).ok(),
        Patch::Null | Patch::Absent => None,
    };
    match (header, body) {
        (Some(h), Some(b)) if h != b => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "En-tête If-Match et champ version contradictoires",
        )),
        (h, b) => Ok(b.or(h)),
    }
}

fn text(f: &mut Fields, name: &str, min: usize, max: usize) -> Patch<String> {
    f.parse(name, |s| bounded_text(name, s, min, max))
}

fn type_field(f: &mut Fields) -> Patch<InterventionType> {
    let values = InterventionType::wire_values();
    let a = f.enumeration::<InterventionType>("type", &values);
    let b = f.enumeration::<InterventionType>("type_intervention", &values);
    match (a, b) {
        (Patch::Value(x), Patch::Value(y)) if x != y => {
            f.push(FieldViolation::new(
                "type",
                ViolationCode::ConflictingFields,
                "Champs incompatibles : type, type_intervention",
            ));
            Patch::Absent
        }
        (Patch::Absent | Patch::Null, other) | (other, _) => other,
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/interventions",
    tag = "interventions",
    summary = "Create an intervention",
    request_body(content((bodies::InterventionCreate = "application/json"))),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = InterventionOut, headers(("Location" = String, description = "URL of the intervention"), ("ETag" = String, description = "\"<version>\""))),
        (status = 404, description = "\"Technicien assigné introuvable\" or \"Équipement cible introuvable\"", body = ErrorEnvelope),
        (status = 409, description = "\"Technicien inactif : affectation impossible\"", body = ErrorEnvelope),
    ),
)]
async fn create(
    req: HttpRequest,
    caller: Authenticated,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::EditInterventions).await?;
    let mut f = Fields::new(
        read_json_object(&req, payload.into_inner()).await?,
        Location::Body,
    );
    let titre = f.parse_required("titre", |s| bounded_text("titre", s, 1, 255));
    let description = f.text_max("description", 10_000).value();
    let type_intervention = type_field(&mut f);
    let type_intervention = f.require("type", type_intervention);
    let priorite = f
        .enumeration("priorite", &PrioriteIntervention::wire_values())
        .value()
        .unwrap_or(PrioriteIntervention::Normale);
    let urgence = f.boolean("urgence").value().unwrap_or(false);
    let date_limite = f.timestamp("date_limite").value();
    let equipement_id = f.id("equipement_id");
    let equipement_id = f
        .require("equipement_id", equipement_id)
        .map(EquipementId::new);
    let technicien_id = f.id("technicien_id").value().map(TechnicienId::new);
    if let Patch::Value(statut) =
        f.enumeration::<StatutIntervention>("statut", &StatutIntervention::wire_values())
    {
        let initial = if technicien_id.is_some() {
            StatutIntervention::Affectee
        } else {
            StatutIntervention::Ouverte
        };
        if statut != initial {
            f.push(FieldViolation::invalid_value("statut", &[initial.as_str()]));
        }
    }
    let duree_estimee = f.minutes("duree_estimee").value();
    let cout_estime = f.integer("cout_estime", 0, MAX_CENTIMES).value();
    f.finish()?;
    let (Some(titre), Some(type_intervention), Some(equipement_id)) =
        (titre, type_intervention, equipement_id)
    else {
        return Err(ApiError::internal("validated fields missing"));
    };
    let cmd = CreateIntervention {
        titre,
        description,
        type_intervention,
        priorite,
        urgence,
        date_limite,
        equipement_id,
        technicien_id,
        duree_estimee,
        cout_estime,
    };
    let now = state.clock().now();
    let i = use_case(&req, &state, move |app, _| {
        app.create_intervention(&caller.0, cmd)
    })
    .await?;
    let mut res = single(StatusCode::CREATED, &i, now);
    if let Ok(location) = header::HeaderValue::from_str(&format!("/api/v1/interventions/{}", i.id))
    {
        res.headers_mut().insert(header::LOCATION, location);
    }
    Ok(res)
}

fn read_filter(q: &mut Query) -> (InterventionFilter, Vec<SortKey<InterventionSortField>>) {
    let filter = InterventionFilter {
        statuts: q.enum_list("statut", &StatutIntervention::wire_values()),
        priorites: q.enum_list("priorite", &PrioriteIntervention::wire_values()),
        types: q.enum_list("type", &InterventionType::wire_values()),
        urgence: q.boolean("urgence"),
        en_retard: q.boolean("en_retard"),
        technicien_id: q.id("technicien_id"),
        equipement_id: q.id("equipement_id"),
        planning_id: q.id("planning_id"),
        client_id: q.id("client_id"),
        nothing: false,
        date_creation_min: q.timestamp("date_creation_min", false),
        date_creation_max: q.timestamp("date_creation_max", true),
        date_limite_min: q.timestamp("date_limite_min", false),
        date_limite_max: q.timestamp("date_limite_max", true),
        search: q.text("search"),
        now: None,
    };
    let sort = q.sort(
        InterventionSortField::parse,
        &InterventionSortField::NAMES,
        &[SortKey {
            field: InterventionSortField::DateCreation,
            dir: SortDir::Desc,
        }],
    );
    (filter, sort)
}

#[utoipa::path(
    get,
    path = "/api/v1/interventions",
    tag = "interventions",
    summary = "List interventions (clients: their account's)",
    params(params::InterventionQuery, params::Page),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Interventions", body = Vec<InterventionOut>, headers(("X-Total-Count" = i64, description = "Rows matching the filters, ignoring limit/offset"))),
    ),
)]
async fn list(
    req: HttpRequest,
    caller: Bearer,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut q = Query::of(&req);
    let (filter, sort) = read_filter(&mut q);
    let page = q.page();
    let input = q.finish().map(|()| (filter, sort, page));
    let now = state.clock().now();
    let listed = caller
        .run(
            &req,
            &state,
            Action::ReadInterventions,
            input,
            |app, caller, (filter, sort, page)| app.list_interventions(caller, filter, &sort, page),
        )
        .await?;
    Ok(collection(&listed, |i| intervention_out(i, now)))
}

#[utoipa::path(
    get,
    path = "/api/v1/equipements/{id}/interventions",
    tag = "interventions",
    summary = "Interventions of an equipment",
    params(("id" = i64, Path, description = "Equipment id"), params::InterventionQuery, params::Page),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Interventions", body = Vec<InterventionOut>, headers(("X-Total-Count" = i64, description = "Rows matching the filters, ignoring limit/offset"))),
        (status = 404, description = "\"Équipement introuvable\"", body = ErrorEnvelope),
    ),
)]
async fn list_for_equipement(
    req: HttpRequest,
    caller: Bearer,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut q = Query::of(&req);
    let (filter, sort) = read_filter(&mut q);
    let page = q.page();
    let input = q.finish().and_then(|()| {
        let equipement = path_id("id", &id)?
            .map(EquipementId::new)
            .ok_or_else(|| ApiError::not_found("Équipement introuvable"))?;
        Ok((equipement, filter, sort, page))
    });
    let now = state.clock().now();
    let listed = caller
        .run(
            &req,
            &state,
            Action::ReadEquipements,
            input,
            |app, caller, (equipement, filter, sort, page)| {
                app.list_equipement_interventions(caller, equipement, filter, &sort, page)
            },
        )
        .await?;
    Ok(collection(&listed, |i| intervention_out(i, now)))
}

#[utoipa::path(
    get,
    path = "/api/v1/interventions/{id}",
    tag = "interventions",
    summary = "Get an intervention",
    params(("id" = i64, Path, description = "Intervention id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The intervention", body = InterventionOut, headers(("ETag" = String, description = "\"<version>\""))),
        (status = 404, description = "\"Intervention introuvable\"", body = ErrorEnvelope),
    ),
)]
async fn get(
    req: HttpRequest,
    caller: Bearer,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock().now();
    let i = caller
        .run(
            &req,
            &state,
            Action::ReadInterventions,
            intervention_id(&id),
            |app, caller, id| app.get_intervention(caller, id),
        )
        .await?;
    Ok(single(StatusCode::OK, &i, now))
}

#[utoipa::path(
    get,
    path = "/api/v1/interventions/{id}/historique",
    tag = "interventions",
    summary = "History of an intervention, oldest first",
    params(("id" = i64, Path, description = "Intervention id"), params::Page),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "History rows", body = Vec<HistoriqueOut>, headers(("X-Total-Count" = i64, description = "Rows matching the filters, ignoring limit/offset"))),
        (status = 404, description = "\"Intervention introuvable\"", body = ErrorEnvelope),
    ),
)]
async fn history(
    req: HttpRequest,
    caller: Bearer,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut q = Query::of(&req);
    let page = q.page();
    let input = q.finish().and_then(|()| Ok((intervention_id(&id)?, page)));
    let listed = caller
        .run(
            &req,
            &state,
            Action::ReadInterventions,
            input,
            |app, caller, (id, page)| app.intervention_history(caller, id, page),
        )
        .await?;
    Ok(collection(&listed, history_out))
}

#[utoipa::path(
    method(put, patch),
    path = "/api/v1/interventions/{id}",
    tag = "interventions",
    summary = "Update an intervention (partial)",
    params(("id" = i64, Path, description = "Intervention id"), ("If-Match" = Option<String>, Header, description = "Expected version: `\"<n>\"`, `W/\"<n>\"` or `*`")),
    request_body(content((bodies::InterventionUpdate = "application/json"))),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The updated intervention (version + 1)", body = InterventionOut, headers(("ETag" = String, description = "\"<version>\""))),
        (status = 400, description = "If-Match malformed or contradicting the body `version`", body = ErrorEnvelope),
        (status = 404, description = "\"Intervention introuvable\" or \"Équipement cible introuvable\"", body = ErrorEnvelope),
        (status = 409, description = "Not editable in its status, or stale version", body = ErrorEnvelope),
    ),
)]
async fn update(
    req: HttpRequest,
    caller: Authenticated,
    id: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::EditInterventions).await?;
    let raw = id.into_inner();
    let mut f = Fields::new(
        read_json_object(&req, payload.into_inner()).await?,
        Location::Body,
    );
    f.read_only(
        &["statut", "technicien_id"],
        "Modifiable uniquement via les actions du cycle de vie",
    );
    let titre = text(&mut f, "titre", 1, 255);
    let titre = f.not_null("titre", titre);
    let description = f.text_max("description", 10_000);
    let type_intervention = type_field(&mut f);
    let type_intervention = f.not_null("type", type_intervention);
    let priorite =
        f.enumeration::<PrioriteIntervention>("priorite", &PrioriteIntervention::wire_values());
    let priorite = f.not_null("priorite", priorite);
    let urgence = f.boolean("urgence");
    let urgence = f.not_null("urgence", urgence);
    let date_limite = f.timestamp("date_limite");
    let equipement = f.id("equipement_id");
    let equipement = f
        .not_null("equipement_id", equipement)
        .map(EquipementId::new);
    let duree_estimee = f.minutes("duree_estimee");
    let cout_estime = f.integer("cout_estime", 0, MAX_CENTIMES);
    let expected = expected_version(&req, &mut f);
    f.finish()?;
    let expected = expected?;
    let id = intervention_id(&raw)?;
    let now = state.clock().now();
    let i = use_case(&req, &state, move |app, _| {
        app.update_intervention(&caller.0, id, expected, equipement, |i| {
            if let Some(t) = &titre {
                i.titre.clone_from(t);
            }
            description.clone().set_nullable(&mut i.description);
            if let Some(t) = type_intervention {
                i.type_intervention = t;
            }
            if let Some(p) = priorite {
                i.priorite = p;
            }
            if let Some(u) = urgence {
                i.urgence = u;
            }
            date_limite.clone().set_nullable(&mut i.date_limite);
            duree_estimee.clone().set_nullable(&mut i.duree_estimee);
            cout_estime.clone().set_nullable(&mut i.cout_estime);
        })
    })
    .await?;
    Ok(single(StatusCode::OK, &i, now))
}

#[utoipa::path(
    get,
    path = "/api/v1/filters/interventions",
    tag = "interventions",
    summary = "List interventions (alias of GET /interventions)",
    params(params::InterventionQuery, params::Page),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Interventions", body = Vec<InterventionOut>, headers(("X-Total-Count" = i64, description = "Rows matching the filters, ignoring limit/offset"))),
    ),
)]
async fn list_filters(
    req: HttpRequest,
    caller: Bearer,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    list(req, caller, state).await
}

/// One handler per lifecycle action, so each carries its own OpenAPI description; they differ
/// only in the path, the summary and the action they run through [`act`].
macro_rules! lifecycle_action {
    ($name:ident, $path:literal, $summary:literal, $action:ident) => {
        #[utoipa::path(
            post,
            path = $path,
            tag = "interventions",
            summary = $summary,
            params(("id" = i64, Path, description = "Intervention id"), ("If-Match" = Option<String>, Header, description = "Expected version: `\"<n>\"`, `W/\"<n>\"` or `*`")),
            request_body(description = "Optional JSON body", content((bodies::ActionBody = "application/json"))),
            security(("bearer" = [])),
            responses(
                (status = 200, description = "The intervention (version + 1)", body = InterventionOut, headers(("ETag" = String, description = "\"<version>\""))),
                (status = 400, description = "If-Match malformed or contradicting the body `version`", body = ErrorEnvelope),
                (status = 404, description = "\"Intervention introuvable\"", body = ErrorEnvelope),
                (status = 403, description = "Role not allowed, or \"Intervention non affectée à ce technicien\"", body = ErrorEnvelope),
                (status = 409, description = "Forbidden transition (details: statut_actuel, statut_demande, transitions_autorisees) or stale version (details: version_actuelle)", body = ErrorEnvelope),
            ),
        )]
        async fn $name(
            req: HttpRequest,
            caller: Authenticated,
            id: web::Path<String>,
            payload: web::Payload,
            state: web::Data<AppState>,
        ) -> Result<HttpResponse, ApiError> {
            act(req, caller, id, payload, state, LifecycleAction::$action).await
        }
    };
}

lifecycle_action!(
    affecter,
    "/api/v1/interventions/{id}/affecter",
    "Assign or re-assign a technicien (`technicien_id` required)",
    Affecter
);
lifecycle_action!(
    demarrer,
    "/api/v1/interventions/{id}/demarrer",
    "Start the work",
    Demarrer
);
lifecycle_action!(
    suspendre,
    "/api/v1/interventions/{id}/suspendre",
    "Pause the work",
    Suspendre
);
lifecycle_action!(
    reprendre,
    "/api/v1/interventions/{id}/reprendre",
    "Resume the work",
    Reprendre
);
lifecycle_action!(
    cloturer,
    "/api/v1/interventions/{id}/cloturer",
    "Close with a report (`rapport_intervention` required)",
    Cloturer
);
lifecycle_action!(
    annuler,
    "/api/v1/interventions/{id}/annuler",
    "Cancel (`raison` required)",
    Annuler
);
lifecycle_action!(
    archiver,
    "/api/v1/interventions/{id}/archiver",
    "Archive a closed intervention",
    Archiver
);
lifecycle_action!(
    valider,
    "/api/v1/interventions/{id}/valider",
    "Client validation (`satisfaction_client` required)",
    Valider
);

/// Reads the body of an action (optional JSON) into its input.
fn read_action(
    req: &HttpRequest,
    f: &mut Fields,
    action: LifecycleAction,
) -> Result<ActionInput, ApiError> {
    let mut input = ActionInput::bare(action);
    input.expected_version = expected_version(req, f)?;
    input.remarque = f.text_max("remarque", 1000).value();
    match action {
        LifecycleAction::Affecter => {
            let t = f.id("technicien_id");
            input.technicien_id = f.require("technicien_id", t).map(TechnicienId::new);
        }
        LifecycleAction::Cloturer => {
            let rapport = f.parse_required("rapport_intervention", |s| {
                bounded_text("rapport_intervention", s, 1, 10_000)
            });
            let report = ClosureReport {
                rapport_intervention: rapport.unwrap_or_default(),
                travaux_realises: f.text_max("travaux_realises", 10_000).value(),
                recommandations: f.text_max("recommandations", 10_000).value(),
                duree_reelle: f.minutes("duree_reelle").value(),
                temps_deplacement: f.minutes("temps_deplacement").value(),
                cout_reel: f.integer("cout_reel", 0, MAX_CENTIMES).value(),
                cout_pieces: f.integer("cout_pieces", 0, MAX_CENTIMES).value(),
                cout_main_oeuvre: f.integer("cout_main_oeuvre", 0, MAX_CENTIMES).value(),
            };
            input.closure = Some(report);
        }
        LifecycleAction::Annuler => {
            input.raison = f.parse_required("raison", |s| bounded_text("raison", s, 1, 1000));
        }
        LifecycleAction::Valider => {
            let satisfaction = f.integer("satisfaction_client", 1, 5);
            input.satisfaction = f
                .require("satisfaction_client", satisfaction)
                .and_then(|v| i32::try_from(v).ok());
            input.commentaire_client = f.text_max("commentaire_client", 2000).value();
            if let Patch::Value(false) = f.boolean("validation_client") {
                f.push(FieldViolation::invalid_value(
                    "validation_client",
                    &["true"],
                ));
            }
        }
        LifecycleAction::Demarrer
        | LifecycleAction::Suspendre
        | LifecycleAction::Reprendre
        | LifecycleAction::Archiver => {}
    }
    Ok(input)
}

async fn act(
    req: HttpRequest,
    caller: Authenticated,
    id: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
    action: LifecycleAction,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, action_of(action)).await?;
    let raw = id.into_inner();
    let mut f = Fields::new(
        read_optional_json_object(&req, payload.into_inner()).await?,
        Location::Body,
    );
    let input = read_action(&req, &mut f, action);
    f.finish()?;
    let input = input?;
    let id = intervention_id(&raw)?;
    let now = state.clock().now();
    let i = use_case(&req, &state, move |app, ctx| {
        app.act_on_intervention(&caller.0, id, &input, ctx)
    })
    .await?;
    Ok(single(StatusCode::OK, &i, now))
}

#[utoipa::path(
    patch,
    path = "/api/v1/interventions/{id}/statut",
    tag = "interventions",
    summary = "Change the status (mapped onto the lifecycle action)",
    params(("id" = i64, Path, description = "Intervention id"), params::StatutQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The intervention", body = InterventionOut, headers(("ETag" = String, description = "\"<version>\""))),
        (status = 404, description = "\"Intervention introuvable\"", body = ErrorEnvelope),
        (status = 403, description = "Role not allowed for the target, or \"Intervention non affectée à ce technicien\"", body = ErrorEnvelope),
        (status = 409, description = "Forbidden transition (details: statut_actuel, statut_demande, transitions_autorisees) or stale version (details: version_actuelle)", body = ErrorEnvelope),
    ),
)]
async fn change_statut(
    req: HttpRequest,
    caller: Authenticated,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut q = Query::of(&req);
    let target = q.enumeration::<StatutIntervention>("statut", &StatutIntervention::wire_values());
    let remarque = q.text("remarque");
    let technicien = q.id("technicien_id");
    // An absent or unknown target is checked against the widest role set, then refused (422).
    let role_action = target.map_or(Action::ReopenIntervention, statut_action);
    caller.allow(&req, role_action).await?;
    let target = q.require("statut", target);
    match target {
        Some(StatutIntervention::Affectee) => {
            q.require("technicien_id", technicien);
        }
        Some(StatutIntervention::Cloturee) if remarque.is_none() => {
            q.push(FieldViolation::new(
                "remarque",
                ViolationCode::Required,
                "Un rapport est obligatoire pour clôturer",
            ));
        }
        Some(StatutIntervention::Annulee) if remarque.is_none() => {
            q.push(FieldViolation::new(
                "remarque",
                ViolationCode::Required,
                "Un motif est obligatoire pour annuler",
            ));
        }
        _ => {}
    }
    q.finish()?;
    let Some(target) = target else {
        return Err(ApiError::internal("validated statut missing"));
    };
    let id = intervention_id(&id)?;
    let mut input = ActionInput::bare(LifecycleAction::Affecter);
    input.remarque.clone_from(&remarque);
    input.technicien_id = technicien.map(TechnicienId::new);
    input.raison.clone_from(&remarque);
    input.closure = remarque.clone().map(|r| ClosureReport {
        rapport_intervention: r,
        ..ClosureReport::default()
    });
    let now = state.clock().now();
    let i = use_case(&req, &state, move |app, ctx| {
        app.change_statut(&caller.0, id, target, input, ctx)
    })
    .await?;
    Ok(single(StatusCode::OK, &i, now))
}
