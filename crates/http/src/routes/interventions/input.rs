//! Reading the requests of the intervention routes: path ids, `If-Match` and the body
//! `version`, the create/update fields shared by both, the list filters and the body of each
//! lifecycle action (API.md §3.6).

use actix_web::HttpRequest;
use actix_web::http::{StatusCode, header};
use erp_application::interventions::ActionRequest;
use erp_domain::enums::{InterventionType, PrioriteIntervention, StatutIntervention};
use erp_domain::error::FieldViolation;
use erp_domain::intervention::command::{Cloture, Command};
use erp_domain::intervention::{InterventionFilter, InterventionId, InterventionSortField};
use erp_domain::lifecycle::LifecycleAction;
use erp_domain::list::{SortDir, SortKey};
use erp_domain::technicien::TechnicienId;

use crate::error::ApiError;
use crate::extract::fields::{Fields, Patch};
use crate::extract::query::Query;
use crate::routes::ids::path_id;
use erp_domain::value::{
    Centimes, Commentaire, Description, Message, Minutes, Motif, Rapport, Satisfaction, Version,
};

use crate::extract::wire::{WireField as _, WireValue as _};

const NOT_FOUND: &str = "Intervention introuvable";

/// The intervention id of the path; `0` and negatives name nothing (404).
pub(super) fn intervention_id(raw: &str) -> Result<InterventionId, ApiError> {
    path_id("id", raw)?
        .map(InterventionId::new)
        .ok_or_else(|| ApiError::not_found(NOT_FOUND))
}

/// `If-Match: "<n>"`, `W/"<n>"` or `*`.
pub(super) fn if_match(req: &HttpRequest) -> Result<Option<i32>, ApiError> {
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
    let body = Version::read(f, "version").value().map(Version::to_i32);
    combine_versions(header, body)
}

/// `If-Match` and the body `version`: either alone, or both equal (else 400).
pub(super) fn combine_versions(
    header: Option<i32>,
    body: Option<i32>,
) -> Result<Option<i32>, ApiError> {
    match (header, body) {
        (Some(h), Some(b)) if h != b => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "En-tête If-Match et champ version contradictoires",
        )),
        (h, b) => Ok(b.or(h)),
    }
}

/// The list filters and sort of `GET /interventions` and its aliases (API.md §3.6).
pub(super) fn read_filter(
    q: &mut Query,
) -> (InterventionFilter, Vec<SortKey<InterventionSortField>>) {
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

/// Reads the body of an action (optional JSON) into its request; `None` when a violation was
/// recorded in `f` (its `finish` then answers 422).
pub(super) fn read_action(
    req: &HttpRequest,
    f: &mut Fields,
    action: LifecycleAction,
) -> Result<Option<ActionRequest>, ApiError> {
    let expected_version = expected_version(req, f)?;
    let remarque = Commentaire::read(f, "remarque")
        .value()
        .map(Commentaire::into_inner);
    let command = match action {
        LifecycleAction::Affecter => TechnicienId::read_field(f, "technicien_id")
            .map(|technicien| Command::Affecter { technicien }),
        LifecycleAction::Cloturer => {
            let rapport = Rapport::read_field(f, "rapport_intervention");
            let travaux_realises = Description::read(f, "travaux_realises").value();
            let recommandations = Description::read(f, "recommandations").value();
            let duree_reelle = Minutes::read(f, "duree_reelle").value();
            let temps_deplacement = Minutes::read(f, "temps_deplacement").value();
            let cout_reel = Centimes::read(f, "cout_reel").value();
            let cout_pieces = Centimes::read(f, "cout_pieces").value();
            let cout_main_oeuvre = Centimes::read(f, "cout_main_oeuvre").value();
            rapport.map(|rapport_intervention| {
                Command::Cloturer(Cloture {
                    rapport_intervention,
                    travaux_realises,
                    recommandations,
                    duree_reelle,
                    temps_deplacement,
                    cout_reel,
                    cout_pieces,
                    cout_main_oeuvre,
                })
            })
        }
        LifecycleAction::Annuler => {
            Motif::read_field(f, "raison").map(|raison| Command::Annuler { raison })
        }
        LifecycleAction::Valider => {
            let satisfaction = Satisfaction::read_field(f, "satisfaction_client");
            let commentaire = Message::read(f, "commentaire_client").value();
            if let Patch::Value(false) = f.boolean("validation_client") {
                f.push(FieldViolation::invalid_value(
                    "validation_client",
                    &["true"],
                ));
            }
            satisfaction.map(|s| Command::Valider {
                satisfaction: Some(s),
                commentaire,
            })
        }
        LifecycleAction::Demarrer => Some(Command::Demarrer),
        LifecycleAction::Suspendre => Some(Command::Suspendre),
        LifecycleAction::Reprendre => Some(Command::Reprendre),
        LifecycleAction::Archiver => Some(Command::Archiver),
    };
    Ok(command.map(|command| ActionRequest {
        command,
        expected_version,
        remarque,
    }))
}
