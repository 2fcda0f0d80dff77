//! `/api/v1/interventions*`, `/filters/interventions` and `/equipements/{id}/interventions`
//! (API.md §3.6).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use erp_application::authz::Action;
use erp_application::interventions::{StatutChange, action_of, statut_action};
use erp_domain::enums::StatutIntervention;
use erp_domain::equipement::EquipementId;
use erp_domain::error::{FieldViolation, ViolationCode};
use erp_domain::intervention::InterventionEdit;
use erp_domain::lifecycle::LifecycleAction;
use erp_domain::technicien::TechnicienId;

use crate::blocking::use_case;
use crate::dto::collection;
use crate::error::{ApiError, ErrorEnvelope, Location};
use crate::extract::fields::Fields;
use crate::extract::query::Query;
use crate::extract::{Authenticated, Bearer, read_json_object, read_optional_json_object};
use crate::openapi::params;
use crate::routes::ids::path_id;
use crate::routing::{Endpoint, RouteTable};
use crate::state::AppState;
use erp_domain::value::{Centimes, Description, Minutes, Titre, Version};

mod body;
mod input;
pub mod out;

pub use body::{ActionBody, InterventionCreate, InterventionUpdate, TypeIntervention};
use body::{READ_ONLY_ON_UPDATE, check_initial_statut};

use input::{combine_versions, if_match, intervention_id, read_action, read_filter};
use out::{HistoriqueOut, InterventionOut, history_out, intervention_out, single};

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

#[utoipa::path(
    post,
    path = "/api/v1/interventions",
    tag = "interventions",
    summary = "Create an intervention",
    request_body(content((InterventionCreate = "application/json"))),
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
    let read = InterventionCreate::read(&mut f);
    check_initial_statut(&mut f);
    let cmd = f.finish_with(read)?.into_command();
    let now = state.clock().now();
    let i = use_case(&req, &state, move |app, _| {
        app.create_intervention(&caller.0, cmd)
    })
    .await?;
    let mut res = single(StatusCode::CREATED, &i, now);
    if let Ok(location) =
        header::HeaderValue::from_str(&format!("/api/v1/interventions/{}", i.id()))
    {
        res.headers_mut().insert(header::LOCATION, location);
    }
    Ok(res)
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
    request_body(content((InterventionUpdate = "application/json"))),
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
        &READ_ONLY_ON_UPDATE,
        "Modifiable uniquement via les actions du cycle de vie",
    );
    let read = InterventionUpdate::read(&mut f);
    let header = if_match(&req);
    let body = f.finish_with(read)?;
    let expected = combine_versions(header?, body.version.map(Version::to_i32))?;
    let titre = body.titre.0.map(Titre::into_inner);
    let description = body.description.map(Description::into_inner);
    let type_intervention = body.type_intervention.0.map(|t| t.0);
    let priorite = body.priorite.0;
    let urgence = body.urgence.0;
    let date_limite = body.date_limite;
    let equipement = body.equipement_id.0;
    let duree_estimee = body.duree_estimee.map(Minutes::to_i32);
    let cout_estime = body.cout_estime.map(Centimes::get);
    let id = intervention_id(&raw)?;
    let now = state.clock().now();
    let i = use_case(&req, &state, move |app, _| {
        let edit = InterventionEdit {
            titre,
            description: description.into_option(),
            type_intervention,
            priorite,
            urgence,
            date_limite: date_limite.into_option(),
            duree_estimee: duree_estimee.into_option(),
            cout_estime: cout_estime.into_option(),
        };
        app.update_intervention(&caller.0, id, expected, equipement, &edit)
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
            request_body(description = "Optional JSON body", content((ActionBody = "application/json"))),
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
    let request = read_action(&req, &mut f, action);
    f.finish()?;
    let request = request?.ok_or_else(|| ApiError::internal("validated action payload missing"))?;
    let id = intervention_id(&raw)?;
    let now = state.clock().now();
    let i = use_case(&req, &state, move |app, ctx| {
        app.act_on_intervention(&caller.0, id, &request, ctx)
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
    let change = StatutChange {
        target,
        remarque,
        technicien_id: technicien.map(TechnicienId::new),
    };
    let now = state.clock().now();
    let i = use_case(&req, &state, move |app, ctx| {
        app.change_statut(&caller.0, id, change, ctx)
    })
    .await?;
    Ok(single(StatusCode::OK, &i, now))
}
