//! The request bodies of the intervention routes (API.md §3.6.3, §3.6.4): each type both reads
//! the body and describes it ([`request_body!`]). `If-Match` against `version`, the initial
//! `statut` and the read-only fields of an update stay explicit in the handlers.

use erp_application::interventions::CreateIntervention;
use erp_domain::Timestamp;
use erp_domain::enums::{InterventionType, PrioriteIntervention, StatutIntervention};
use erp_domain::equipement::EquipementId;
use erp_domain::error::{FieldViolation, ViolationCode};
use erp_domain::technicien::TechnicienId;
use erp_domain::value::{
    Centimes, Commentaire, Description, Message, Minutes, Motif, Rapport, Satisfaction, Titre,
    Version,
};
use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

use crate::extract::fields::{Fields, Patch};
use crate::extract::request::request_body;
use crate::extract::wire::{Defaulted, NotNull, SchemaList, WireValue};

/// The alias of `type`.
const TYPE_ALIAS: &str = "type_intervention";

/// The intervention type, sent as `type` or as its alias `type_intervention` (both with
/// different values: 422 `conflicting_fields` on `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeIntervention(pub InterventionType);

impl WireValue for TypeIntervention {
    fn read(f: &mut Fields, name: &str) -> Patch<Self> {
        let a = InterventionType::read(f, name);
        let b = InterventionType::read(f, TYPE_ALIAS);
        match (a, b) {
            (Patch::Value(x), Patch::Value(y)) if x != y => {
                f.push(FieldViolation::new(
                    name,
                    ViolationCode::ConflictingFields,
                    format!("Champs incompatibles : {name}, {TYPE_ALIAS}"),
                ));
                Patch::Absent
            }
            (Patch::Absent | Patch::Null, other) | (other, _) => other.map(Self),
        }
    }

    fn schema(description: &str, nullable: bool) -> RefOr<Schema> {
        InterventionType::schema(description, nullable)
    }

    fn schemas(schemas: &mut SchemaList) {
        InterventionType::schemas(schemas);
    }
}

request_body! {
    /// InterventionCreate (API.md §3.6.3).
    pub struct InterventionCreate {
        /// Title.
        pub titre: Titre,
        /// Description.
        pub description: Option<Description>,
        /// Type (alias `type_intervention`).
        pub type_intervention = "type": TypeIntervention,
        /// Default `normale`.
        pub priorite: Defaulted<PrioriteIntervention>,
        /// Default false.
        pub urgence: Defaulted<bool>,
        /// Deadline.
        pub date_limite: Option<Timestamp>,
        /// Equipment (must exist).
        pub equipement_id: EquipementId,
        /// Assign at once (the intervention starts `affectee`).
        pub technicien_id: Option<TechnicienId>,
        /// Must equal the initial status if given.
        pub statut: Option<StatutIntervention>,
        /// Minutes, 0–1 000 000.
        pub duree_estimee: Option<Minutes>,
        /// Centimes.
        pub cout_estime: Option<Centimes>,
    }
}

impl InterventionCreate {
    /// The command of the create use case (defaults where the body is silent).
    #[must_use]
    pub fn into_command(self) -> CreateIntervention {
        CreateIntervention {
            titre: self.titre.into_inner(),
            description: self.description.map(Description::into_inner),
            type_intervention: self.type_intervention.0,
            priorite: self.priorite.0.unwrap_or(PrioriteIntervention::Normale),
            urgence: self.urgence.0.unwrap_or(false),
            date_limite: self.date_limite,
            equipement_id: self.equipement_id,
            technicien_id: self.technicien_id,
            duree_estimee: self.duree_estimee.map(Minutes::to_i32),
            cout_estime: self.cout_estime.map(Centimes::get),
        }
    }
}

/// A valid `statut` sent on create that differs from the initial status (`affectee` with a
/// valid `technicien_id`, else `ouverte`): 422 `invalid_value` naming the only accepted value.
/// Checked from the raw fields, so it is reported even when other fields are invalid.
pub fn check_initial_statut(f: &mut Fields) {
    let Some(statut) = f
        .peek_text("statut")
        .and_then(|s| s.parse::<StatutIntervention>().ok())
    else {
        return;
    };
    let assigned = matches!(
        f.raw("technicien_id"),
        Some(Value::Number(n)) if n.as_i64().is_some_and(|v| v > 0)
    );
    let initial = if assigned {
        StatutIntervention::Affectee
    } else {
        StatutIntervention::Ouverte
    };
    if statut != initial {
        f.push(FieldViolation::invalid_value("statut", &[initial.as_str()]));
    }
}

request_body! {
    /// Partial update of an intervention. `statut` and `technicien_id` are read-only (lifecycle
    /// actions only).
    pub struct InterventionUpdate {
        /// Title.
        pub titre: NotNull<Titre>,
        /// Description.
        pub description: Patch<Description>,
        /// Type (alias `type_intervention`).
        pub type_intervention = "type": NotNull<TypeIntervention>,
        /// Priority.
        pub priorite: NotNull<PrioriteIntervention>,
        /// Urgent flag.
        pub urgence: NotNull<bool>,
        /// Deadline.
        pub date_limite: Patch<Timestamp>,
        /// Equipment (re-derives `client_id`).
        pub equipement_id: NotNull<EquipementId>,
        /// Minutes.
        pub duree_estimee: Patch<Minutes>,
        /// Centimes.
        pub cout_estime: Patch<Centimes>,
        /// Expected version (or `If-Match`).
        pub version: Option<Version>,
    }
}

/// The fields an update refuses (lifecycle actions only).
pub const READ_ONLY_ON_UPDATE: [&str; 2] = ["statut", "technicien_id"];

request_body! {
    /// The body of a lifecycle action (API.md §3.6.4): optional; besides `version` and `remarque`,
    /// `affecter` needs `technicien_id`, `cloturer` `rapport_intervention` (and the report fields),
    /// `annuler` `raison`, `valider` `satisfaction_client`.
    pub struct ActionBody {
        /// Expected version (or `If-Match`).
        pub version: Option<Version>,
        /// Stored in the history row.
        pub remarque: Option<Commentaire>,
        /// `affecter`: the technicien.
        pub technicien_id: Option<TechnicienId>,
        /// `cloturer`: the report (required).
        pub rapport_intervention: Option<Rapport>,
        /// `cloturer`.
        pub travaux_realises: Option<Description>,
        /// `cloturer`.
        pub recommandations: Option<Description>,
        /// `cloturer`: minutes.
        pub duree_reelle: Option<Minutes>,
        /// `cloturer`: minutes.
        pub temps_deplacement: Option<Minutes>,
        /// `cloturer`: centimes.
        pub cout_reel: Option<Centimes>,
        /// `cloturer`: centimes.
        pub cout_pieces: Option<Centimes>,
        /// `cloturer`: centimes.
        pub cout_main_oeuvre: Option<Centimes>,
        /// `annuler`: the reason (required).
        pub raison: Option<Motif>,
        /// `valider`: 1–5 (required).
        pub satisfaction_client: Option<Satisfaction>,
        /// `valider`.
        pub commentaire_client: Option<Message>,
        /// `valider`: must be `true` if given.
        pub validation_client: Option<bool>,
    }
}
