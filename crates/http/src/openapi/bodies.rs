//! Schemas of the request bodies (API.md §3). Handlers read bodies field by field (JSON, form or
//! multipart, with the exact 422 rules of API.md §1.3), so these types only describe them; each
//! is named in its handler's `#[utoipa::path]` next to the code that reads it.
//!
//! Convention: a plain field is required; `Option` without `nullable = false` may be omitted or
//! `null` (clears the value on updates); `Option` with `nullable = false` may be omitted but not
//! `null` (422 `invalid_value`).

use utoipa::ToSchema;

use crate::openapi::schema::{self, Ts};

/// InterventionCreate (API.md §3.6.3).
#[derive(Debug, ToSchema)]
pub struct InterventionCreate {
    /// Title.
    #[schema(min_length = 1, max_length = 255)]
    pub titre: String,
    /// Description.
    #[schema(max_length = 10_000)]
    pub description: Option<String>,
    /// Type (alias `type_intervention`).
    #[schema(rename = "type", value_type = schema::InterventionType)]
    pub type_intervention: String,
    /// Default `normale`.
    #[schema(value_type = Option<schema::PrioriteIntervention>, nullable = false)]
    pub priorite: Option<String>,
    /// Default false.
    #[schema(nullable = false)]
    pub urgence: Option<bool>,
    /// Deadline.
    pub date_limite: Option<Ts>,
    /// Equipment (must exist).
    #[schema(minimum = 1)]
    pub equipement_id: i64,
    /// Assign at once (the intervention starts `affectee`).
    #[schema(minimum = 1)]
    pub technicien_id: Option<i64>,
    /// Must equal the initial status if given.
    #[schema(value_type = Option<schema::StatutIntervention>)]
    pub statut: Option<String>,
    /// Minutes, 0–1 000 000.
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub duree_estimee: Option<i32>,
    /// Centimes.
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub cout_estime: Option<i64>,
}

/// Partial update of an intervention. `statut` and `technicien_id` are read-only (lifecycle
/// actions only).
#[derive(Debug, ToSchema)]
pub struct InterventionUpdate {
    /// Title.
    #[schema(min_length = 1, max_length = 255, nullable = false)]
    pub titre: Option<String>,
    /// Description.
    #[schema(max_length = 10_000)]
    pub description: Option<String>,
    /// Type (alias `type_intervention`).
    #[schema(rename = "type", value_type = Option<schema::InterventionType>, nullable = false)]
    pub type_intervention: Option<String>,
    /// Priority.
    #[schema(value_type = Option<schema::PrioriteIntervention>, nullable = false)]
    pub priorite: Option<String>,
    /// Urgent flag.
    #[schema(nullable = false)]
    pub urgence: Option<bool>,
    /// Deadline.
    pub date_limite: Option<Ts>,
    /// Equipment (re-derives `client_id`).
    #[schema(minimum = 1, nullable = false)]
    pub equipement_id: Option<i64>,
    /// Minutes.
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub duree_estimee: Option<i32>,
    /// Centimes.
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub cout_estime: Option<i64>,
    /// Expected version (or `If-Match`).
    #[schema(minimum = 1)]
    pub version: Option<i32>,
}

/// The body of a lifecycle action (API.md §3.6.4): optional; besides `version` and `remarque`,
/// `affecter` needs `technicien_id`, `cloturer` `rapport_intervention` (and the report fields),
/// `annuler` `raison`, `valider` `satisfaction_client`.
#[derive(Debug, ToSchema)]
pub struct ActionBody {
    /// Expected version (or `If-Match`).
    #[schema(minimum = 1)]
    pub version: Option<i32>,
    /// Stored in the history row.
    #[schema(max_length = 1000)]
    pub remarque: Option<String>,
    /// `affecter`: the technicien.
    #[schema(minimum = 1)]
    pub technicien_id: Option<i64>,
    /// `cloturer`: the report (required).
    #[schema(min_length = 1, max_length = 10_000)]
    pub rapport_intervention: Option<String>,
    /// `cloturer`.
    #[schema(max_length = 10_000)]
    pub travaux_realises: Option<String>,
    /// `cloturer`.
    #[schema(max_length = 10_000)]
    pub recommandations: Option<String>,
    /// `cloturer`: minutes.
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub duree_reelle: Option<i32>,
    /// `cloturer`: minutes.
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub temps_deplacement: Option<i32>,
    /// `cloturer`: centimes.
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub cout_reel: Option<i64>,
    /// `cloturer`: centimes.
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub cout_pieces: Option<i64>,
    /// `cloturer`: centimes.
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub cout_main_oeuvre: Option<i64>,
    /// `annuler`: the reason (required).
    #[schema(min_length = 1, max_length = 1000)]
    pub raison: Option<String>,
    /// `valider`: 1–5 (required).
    #[schema(minimum = 1, maximum = 5)]
    pub satisfaction_client: Option<i32>,
    /// `valider`.
    #[schema(max_length = 2000)]
    pub commentaire_client: Option<String>,
    /// `valider`: must be `true` if given.
    pub validation_client: Option<bool>,
}
