//! The request bodies of `/api/v1/techniciens*` (API.md §3.4): each type both reads the body
//! and describes it ([`request_body!`]). The two skill fields are exclusive (checked here).

use erp_application::techniciens::SkillSet;
use erp_domain::enums::{DisponibiliteTechnicien, NiveauCompetence};
use erp_domain::error::{FieldViolation, ViolationCode};
use erp_domain::technicien::{CompetenceId, SkillAssignment, TechnicienFields};
use erp_domain::value::{CodeCourt, Description, Designation, NomCourt, RayonKm};
use erp_domain::{Timestamp, UserId};
use serde_json::Value;
use utoipa::openapi::schema::{ArrayBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat};
use utoipa::openapi::{Ref, RefOr};

use crate::error::Location;
use crate::extract::fields::{Fields, Patch};
use crate::extract::request::request_body;
use crate::extract::wire::{Defaulted, NotNull, SchemaList, WireValue};

fn invalid_type(field: String) -> FieldViolation {
    FieldViolation::new(field, ViolationCode::InvalidType, "Type invalide")
}

/// The array of a field, or `Absent`/`Null` (a non-array is `invalid_type`).
fn array(f: &mut Fields, name: &str) -> Patch<Vec<Value>> {
    match f.raw(name).cloned() {
        None => Patch::Absent,
        Some(Value::Null) => Patch::Null,
        Some(Value::Array(items)) => Patch::Value(items),
        Some(_) => {
            f.push(invalid_type(name.to_owned()));
            Patch::Absent
        }
    }
}

fn array_schema(items: RefOr<Schema>, description: &str) -> RefOr<Schema> {
    RefOr::T(Schema::Array(
        ArrayBuilder::new()
            .items(items)
            .description(Some(description))
            .build(),
    ))
}

/// `competences_ids`: skill ids, each at level `intermediaire`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillIds(Vec<SkillAssignment>);

impl WireValue for SkillIds {
    fn read(f: &mut Fields, name: &str) -> Patch<Self> {
        array(f, name).map(|items| {
            let mut skills = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match item.as_i64().filter(|v| *v > 0) {
                    Some(id) => skills.push(SkillAssignment {
                        competence_id: CompetenceId::new(id),
                        niveau: NiveauCompetence::Intermediaire,
                        date_validation: None,
                        validee_par: None,
                    }),
                    None => f.push(invalid_type(format!("{name}[{i}]"))),
                }
            }
            Self(skills)
        })
    }

    fn schema(description: &str, _nullable: bool) -> RefOr<Schema> {
        let id = ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)));
        array_schema(RefOr::T(Schema::Object(id.build())), description)
    }
}

request_body! {
    /// A skill with its level, in TechnicienCreate.
    pub struct SkillInput {
        /// Skill id.
        pub competence_id: CompetenceId,
        /// Default `intermediaire`.
        pub niveau: Defaulted<NiveauCompetence>,
        /// Validation date.
        pub date_validation: Option<Timestamp>,
        /// Validated by.
        pub validee_par: Option<Designation>,
    }
}

/// `competences`: skills with their level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skills(Vec<SkillAssignment>);

impl WireValue for Skills {
    fn read(f: &mut Fields, name: &str) -> Patch<Self> {
        array(f, name).map(|items| {
            let mut skills = Vec::new();
            for (i, item) in items.into_iter().enumerate() {
                let Value::Object(map) = item else {
                    f.push(invalid_type(format!("{name}[{i}]")));
                    continue;
                };
                let mut inner = Fields::new(map, Location::Body);
                let read = SkillInput::read(&mut inner);
                for v in inner.into_violations() {
                    f.push(FieldViolation::new(
                        format!("{name}[{i}].{}", v.field),
                        v.code,
                        v.message,
                    ));
                }
                if let Some(s) = read {
                    skills.push(SkillAssignment {
                        competence_id: s.competence_id,
                        niveau: s.niveau.0.unwrap_or(NiveauCompetence::Intermediaire),
                        date_validation: s.date_validation,
                        validee_par: s.validee_par.map(Designation::into_inner),
                    });
                }
            }
            Self(skills)
        })
    }

    fn schema(description: &str, _nullable: bool) -> RefOr<Schema> {
        use utoipa::ToSchema as _;
        array_schema(
            RefOr::Ref(Ref::from_schema_name(SkillInput::name())),
            description,
        )
    }

    fn schemas(schemas: &mut SchemaList) {
        use utoipa::{PartialSchema as _, ToSchema as _};
        schemas.push((SkillInput::name().into_owned(), SkillInput::schema()));
        SkillInput::schemas(schemas);
    }
}

request_body! {
    /// TechnicienCreate (API.md §3.4). `competences_ids` and `competences` are exclusive.
    pub struct TechnicienCreate {
        /// A user with role `technicien`.
        pub user_id: UserId,
        /// Team.
        pub equipe: Patch<NomCourt>,
        /// Badge number, unique.
        pub numero_badge: Patch<CodeCourt>,
        /// Default `intermediaire`.
        pub niveau_technicien: NotNull<NiveauCompetence>,
        /// Area.
        pub zone_intervention: Patch<Designation>,
        /// 0–10 000, default 50.
        pub rayon_deplacement_km: NotNull<RayonKm>,
        /// Service vehicle.
        pub vehicule_service: Patch<NomCourt>,
        /// Default `disponible`.
        pub disponibilite: NotNull<DisponibiliteTechnicien>,
        /// Default `"08:00-17:00"`.
        pub horaires_travail: Patch<NomCourt>,
        /// Default false.
        pub astreinte: NotNull<bool>,
        /// Default true.
        pub is_active: NotNull<bool>,
        /// Hiring date.
        pub date_embauche: Patch<Timestamp>,
        /// End of contract.
        pub date_fin_contrat: Patch<Timestamp>,
        /// Emergency phone.
        pub telephone_urgence: Patch<CodeCourt>,
        /// HR notes.
        pub notes_rh: Patch<Description>,
        /// Special qualifications.
        pub qualifications_speciales: Patch<Description>,
        /// Skill ids (level `intermediaire`); no duplicates.
        pub competences_ids: Defaulted<SkillIds>,
        /// Skills with their level; no duplicates.
        pub competences: Defaulted<Skills>,
    }
}

request_body! {
    /// TechnicienUpdate: the TechnicienCreate fields, all optional; `user_id` is read-only; a skill
    /// set, when present, replaces the whole set.
    pub struct TechnicienUpdate {
        /// Team.
        pub equipe: Patch<NomCourt>,
        /// Badge number, unique.
        pub numero_badge: Patch<CodeCourt>,
        /// Level.
        pub niveau_technicien: NotNull<NiveauCompetence>,
        /// Area.
        pub zone_intervention: Patch<Designation>,
        /// 0–10 000.
        pub rayon_deplacement_km: NotNull<RayonKm>,
        /// Service vehicle.
        pub vehicule_service: Patch<NomCourt>,
        /// Availability.
        pub disponibilite: NotNull<DisponibiliteTechnicien>,
        /// Working hours.
        pub horaires_travail: Patch<NomCourt>,
        /// On call.
        pub astreinte: NotNull<bool>,
        /// Active flag.
        pub is_active: NotNull<bool>,
        /// Hiring date.
        pub date_embauche: Patch<Timestamp>,
        /// End of contract.
        pub date_fin_contrat: Patch<Timestamp>,
        /// Emergency phone.
        pub telephone_urgence: Patch<CodeCourt>,
        /// HR notes.
        pub notes_rh: Patch<Description>,
        /// Special qualifications.
        pub qualifications_speciales: Patch<Description>,
        /// Skill ids (level `intermediaire`).
        pub competences_ids: Defaulted<SkillIds>,
        /// Skills with their level.
        pub competences: Defaulted<Skills>,
    }
}

/// The two exclusive skill fields: both sent (not null) is 422 `conflicting_fields` on
/// `competences`, recorded in `f` before the body is read.
pub fn refuse_both_skill_sets(f: &mut Fields) {
    let sent = |name: &str| f.raw(name).is_some_and(|v| !v.is_null());
    if sent("competences_ids") && sent("competences") {
        f.push(FieldViolation::new(
            "competences",
            ViolationCode::ConflictingFields,
            "Champs incompatibles : competences, competences_ids",
        ));
    }
}

impl TechnicienCreate {
    /// The linked user and the profile's fields, as an update of the defaults.
    #[must_use]
    pub fn split(self) -> (UserId, TechnicienUpdate) {
        let update = TechnicienUpdate {
            equipe: self.equipe,
            numero_badge: self.numero_badge,
            niveau_technicien: self.niveau_technicien,
            zone_intervention: self.zone_intervention,
            rayon_deplacement_km: self.rayon_deplacement_km,
            vehicule_service: self.vehicule_service,
            disponibilite: self.disponibilite,
            horaires_travail: self.horaires_travail,
            astreinte: self.astreinte,
            is_active: self.is_active,
            date_embauche: self.date_embauche,
            date_fin_contrat: self.date_fin_contrat,
            telephone_urgence: self.telephone_urgence,
            notes_rh: self.notes_rh,
            qualifications_speciales: self.qualifications_speciales,
            competences_ids: self.competences_ids,
            competences: self.competences,
        };
        (self.user_id, update)
    }
}

impl TechnicienUpdate {
    /// The skill set sent, if any (`competences_ids` first, as the two are exclusive).
    #[must_use]
    pub fn skills(&self) -> Option<SkillSet> {
        if let Some(ids) = &self.competences_ids.0 {
            return Some(SkillSet {
                field: "competences_ids",
                skills: ids.0.clone(),
            });
        }
        self.competences.0.as_ref().map(|s| SkillSet {
            field: "competences",
            skills: s.0.clone(),
        })
    }

    /// Writes the sent fields into `t`.
    pub fn apply(self, t: &mut TechnicienFields) {
        let texts = [
            (self.equipe, &mut t.equipe),
            (self.vehicule_service, &mut t.vehicule_service),
            (self.horaires_travail, &mut t.horaires_travail),
        ];
        for (patch, target) in texts {
            patch.map(NomCourt::into_inner).set_nullable(target);
        }
        let codes = [
            (self.numero_badge, &mut t.numero_badge),
            (self.telephone_urgence, &mut t.telephone_urgence),
        ];
        for (patch, target) in codes {
            patch.map(CodeCourt::into_inner).set_nullable(target);
        }
        let notes = [
            (self.notes_rh, &mut t.notes_rh),
            (
                self.qualifications_speciales,
                &mut t.qualifications_speciales,
            ),
        ];
        for (patch, target) in notes {
            patch.map(Description::into_inner).set_nullable(target);
        }
        self.zone_intervention
            .map(Designation::into_inner)
            .set_nullable(&mut t.zone_intervention);
        self.niveau_technicien.set(&mut t.niveau_technicien);
        self.rayon_deplacement_km
            .map(RayonKm::to_i32)
            .set(&mut t.rayon_deplacement_km);
        self.disponibilite.set(&mut t.disponibilite);
        self.astreinte.set(&mut t.astreinte);
        self.is_active.set(&mut t.is_active);
        self.date_embauche.set_nullable(&mut t.date_embauche);
        self.date_fin_contrat.set_nullable(&mut t.date_fin_contrat);
    }
}
