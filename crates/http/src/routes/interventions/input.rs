//! Reading the requests of the intervention routes: path ids, `If-Match` and the body
//! `version`, the create/update fields shared by both, the list filters and the body of each
//! lifecycle action (API.md §3.6).

use actix_web::HttpRequest;
use actix_web::http::{StatusCode, header};
use erp_application::interventions::ActionRequest;
use erp_domain::enums::{InterventionType, PrioriteIntervention, StatutIntervention};
use erp_domain::equipement::bounded_text;
use erp_domain::error::{FieldViolation, ViolationCode};
use erp_domain::intervention::command::{Cloture, Command};
use erp_domain::intervention::{InterventionFilter, InterventionId, InterventionSortField};
use erp_domain::lifecycle::LifecycleAction;
use erp_domain::list::{SortDir, SortKey};
use erp_domain::technicien::TechnicienId;

use crate::error::ApiError;
use crate::extract::fields::{Fields, Patch};
use crate::extract::query::Query;
use crate::routes::ids::path_id;
use erp_domain::value::MAX_CENTIMES;

const NOT_FOUND: &str = "Intervention introuvable";

/// The intervention id of the path; `0` and negatives name nothing (404).
pub(super) fn intervention_id(raw: &str) -> Result<InterventionId, ApiError> {
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
pub(super) fn expected_version(req: &HttpRequest, f: &mut Fields) -> Result<Option<i32>, ApiError> {
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

/// A bounded text field (`titre`) of a partial update.
pub(super) fn text(f: &mut Fields, name: &str, min: usize, max: usize) -> Patch<String> {
    f.parse(name, |s| bounded_text(name, s, min, max))
}

/// `type` or its alias `type_intervention`; both sent must agree.
pub(super) fn type_field(f: &mut Fields) -> Patch<InterventionType> {
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
    let remarque = f.text_max("remarque", 1000).value();
    let command = match action {
        LifecycleAction::Affecter => {
            let t = f.id("technicien_id");
            f.require("technicien_id", t).map(|t| Command::Affecter {
                technicien: TechnicienId::new(t),
            })
        }
        LifecycleAction::Cloturer => {
            let rapport = f.parse_required("rapport_intervention", |s| {
                bounded_text("rapport_intervention", s, 1, 10_000)
            });
            let report = Cloture {
                rapport_intervention: rapport.clone().unwrap_or_default(),
                travaux_realises: f.text_max("travaux_realises", 10_000).value(),
                recommandations: f.text_max("recommandations", 10_000).value(),
                duree_reelle: f.minutes("duree_reelle").value(),
                temps_deplacement: f.minutes("temps_deplacement").value(),
                cout_reel: f.integer("cout_reel", 0, MAX_CENTIMES).value(),
                cout_pieces: f.integer("cout_pieces", 0, MAX_CENTIMES).value(),
                cout_main_oeuvre: f.integer("cout_main_oeuvre", 0, MAX_CENTIMES).value(),
            };
            rapport.map(|_| Command::Cloturer(report))
        }
        LifecycleAction::Annuler => f
            .parse_required("raison", |s| bounded_text("raison", s, 1, 1000))
            .map(|raison| Command::Annuler { raison }),
        LifecycleAction::Valider => {
            let satisfaction = f.integer("satisfaction_client", 1, 5);
            let satisfaction = f
                .require("satisfaction_client", satisfaction)
                .and_then(|v| i32::try_from(v).ok());
            let commentaire = f.text_max("commentaire_client", 2000).value();
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
