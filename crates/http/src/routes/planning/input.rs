//! The request bodies of `/api/v1/planning*` (API.md §3.7): each type both reads the body and
//! describes it ([`request_body!`]).

use erp_application::planning::{CreatePlanning, UpdatePlanning};
use erp_domain::Timestamp;
use erp_domain::enums::{FrequencePlanning, PrioriteIntervention, StatutPlanning};
use erp_domain::equipement::EquipementId;
use erp_domain::error::FieldViolation;
use erp_domain::technicien::TechnicienId;
use erp_domain::value::{Commentaire, Designation, JoursAvance, Minutes};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

use crate::extract::fields::{Fields, Patch};
use crate::extract::request::request_body;
use crate::extract::wire::{Defaulted, NotNull, SchemaList, WireValue, reference};
use crate::openapi::schema;

/// A frequency as the API reads it: either label form (API.md §3.7).
impl WireValue for FrequencePlanning {
    fn read(f: &mut Fields, name: &str) -> Patch<Self> {
        f.parse(name, |s| Self::parse_label(name, s))
    }

    fn schema(description: &str, nullable: bool) -> RefOr<Schema> {
        use utoipa::ToSchema as _;
        reference(
            &schema::FrequencePlanningInput::name(),
            description,
            nullable,
        )
    }

    fn schemas(schemas: &mut SchemaList) {
        use utoipa::{PartialSchema as _, ToSchema as _};
        type S = schema::FrequencePlanningInput;
        schemas.push((S::name().into_owned(), S::schema()));
    }
}

/// A planning status among `allowed` (others: 422 `invalid_value` listing `allowed`).
fn statut_in(f: &mut Fields, name: &str, allowed: &[StatutPlanning]) -> Patch<StatutPlanning> {
    let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
    match StatutPlanning::read(f, name) {
        Patch::Value(s) if !allowed.contains(&s) => {
            f.push(FieldViolation::invalid_value(name, &names));
            Patch::Absent
        }
        other => other,
    }
}

/// The status a planning is created with: `actif` or `suspendu`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatutInitial(StatutPlanning);

impl WireValue for StatutInitial {
    fn read(f: &mut Fields, name: &str) -> Patch<Self> {
        statut_in(f, name, &[StatutPlanning::Actif, StatutPlanning::Suspendu]).map(Self)
    }

    fn schema(description: &str, nullable: bool) -> RefOr<Schema> {
        StatutPlanning::schema(description, nullable)
    }

    fn schemas(schemas: &mut SchemaList) {
        StatutPlanning::schemas(schemas);
    }
}

/// The status an update may set: `actif`, `suspendu` or `termine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatutModifiable(StatutPlanning);

impl WireValue for StatutModifiable {
    fn read(f: &mut Fields, name: &str) -> Patch<Self> {
        statut_in(
            f,
            name,
            &[
                StatutPlanning::Actif,
                StatutPlanning::Suspendu,
                StatutPlanning::Termine,
            ],
        )
        .map(Self)
    }

    fn schema(description: &str, nullable: bool) -> RefOr<Schema> {
        StatutPlanning::schema(description, nullable)
    }

    fn schemas(schemas: &mut SchemaList) {
        StatutPlanning::schemas(schemas);
    }
}

request_body! {
    /// PlanningCreate (API.md §3.7).
    pub struct PlanningCreate {
        /// Equipment.
        pub equipement_id: EquipementId,
        /// Frequency.
        pub frequence: FrequencePlanning,
        /// Next due date (computed when omitted on create).
        pub prochaine_date: Option<Timestamp>,
        /// Last occurrence.
        pub derniere_date: Option<Timestamp>,
        /// End date (≥ `prochaine_date`).
        pub date_fin: Option<Timestamp>,
        /// `actif` (default) or `suspendu`; `termine` too on updates.
        pub statut: Defaulted<StatutInitial>,
        /// Title of generated interventions.
        pub titre: Option<Designation>,
        /// Comment.
        pub commentaire: Option<Commentaire>,
        /// Default `normale`.
        pub priorite: Defaulted<PrioriteIntervention>,
        /// Technicien for generated interventions.
        pub technicien_id: Option<TechnicienId>,
        /// Minutes.
        pub duree_estimee: Option<Minutes>,
        /// 0–365, default 0.
        pub avance_jours: Defaulted<JoursAvance>,
    }
}

request_body! {
    /// Partial update of a planning: the PlanningCreate fields, all optional; a new `prochaine_date` also becomes the reference date.
    pub struct PlanningUpdate {
        /// Equipment (required on create).
        pub equipement_id: NotNull<EquipementId>,
        /// Frequency (required on create).
        pub frequence: NotNull<FrequencePlanning>,
        /// Next due date (computed when omitted on create).
        pub prochaine_date: NotNull<Timestamp>,
        /// Last occurrence.
        pub derniere_date: Patch<Timestamp>,
        /// End date (≥ `prochaine_date`).
        pub date_fin: Patch<Timestamp>,
        /// `actif` (default) or `suspendu`; `termine` too on updates.
        pub statut: NotNull<StatutModifiable>,
        /// Title of generated interventions.
        pub titre: Patch<Designation>,
        /// Comment.
        pub commentaire: Patch<Commentaire>,
        /// Default `normale`.
        pub priorite: NotNull<PrioriteIntervention>,
        /// Technicien for generated interventions.
        pub technicien_id: Patch<TechnicienId>,
        /// Minutes.
        pub duree_estimee: Patch<Minutes>,
        /// 0–365, default 0.
        pub avance_jours: NotNull<JoursAvance>,
    }
}

request_body! {
    /// `PATCH /planning/{id}/dates` body (the query parameter wins when both are given).
    pub struct RescheduleBody {
        /// The new due date.
        pub nouvelle_date: Option<Timestamp>,
    }
}

impl PlanningCreate {
    /// The command of the create use case (defaults where the body is silent).
    #[must_use]
    pub fn into_command(self) -> CreatePlanning {
        CreatePlanning {
            equipement_id: self.equipement_id,
            frequence: self.frequence,
            prochaine_date: self.prochaine_date,
            derniere_date: self.derniere_date,
            date_fin: self.date_fin,
            statut: self.statut.0.map_or(StatutPlanning::Actif, |s| s.0),
            titre: self.titre.map(Designation::into_inner),
            commentaire: self.commentaire.map(Commentaire::into_inner),
            priorite: self.priorite.0.unwrap_or(PrioriteIntervention::Normale),
            technicien_id: self.technicien_id,
            duree_estimee: self.duree_estimee.map(Minutes::to_i32),
            avance_jours: self.avance_jours.0.map_or(0, JoursAvance::to_i32),
        }
    }
}

impl PlanningUpdate {
    /// The command of the update use case.
    #[must_use]
    pub fn into_command(self) -> UpdatePlanning {
        UpdatePlanning {
            equipement_id: self.equipement_id.0,
            frequence: self.frequence.0,
            prochaine_date: self.prochaine_date.0,
            derniere_date: self.derniere_date.into_option(),
            date_fin: self.date_fin.into_option(),
            statut: self.statut.0.map(|s| s.0),
            titre: self.titre.map(Designation::into_inner).into_option(),
            commentaire: self.commentaire.map(Commentaire::into_inner).into_option(),
            priorite: self.priorite.0,
            technicien_id: self.technicien_id.into_option(),
            duree_estimee: self.duree_estimee.map(Minutes::to_i32).into_option(),
            avance_jours: self.avance_jours.0.map(JoursAvance::to_i32),
        }
    }
}
