//! The request bodies of `/api/v1/equipements*` (API.md §3.5): each type both reads the body
//! and describes it ([`request_body!`]).

use erp_domain::enums::{CriticiteEquipement, StatutEquipement};
use erp_domain::equipement::{EquipementFields, check_frequence_days, parse_frequence_text};
use erp_domain::error::{FieldViolation, ViolationCode};
use erp_domain::value::{
    Centimes, Code, CodeCourt, Description, Libelle, MoisGarantie, NomCourt, Quantite, Titre,
};
use erp_domain::{ClientId, Timestamp};
use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{Schema, Type};

use crate::extract::fields::{Fields, Patch};
use crate::extract::request::request_body;
use crate::extract::wire::{Defaulted, NotNull, WireValue, inline};

/// The équipement type, sent as `type` or as its alias `type_equipement` (both with different
/// values: 422 `conflicting_fields` on `type`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeEquipement(Libelle);

/// The alias of `type`.
const TYPE_ALIAS: &str = "type_equipement";

impl WireValue for TypeEquipement {
    fn read(f: &mut Fields, name: &str) -> Patch<Self> {
        let value = Libelle::read(f, name);
        let alias = Libelle::read(f, TYPE_ALIAS);
        match (value, alias) {
            (Patch::Value(a), Patch::Value(b)) if a != b => {
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
        Libelle::schema(description, nullable)
    }
}

/// A maintenance period in days (1–3650): a JSON integer, a decimal string or a label
/// (`mensuel`, `annuelle`…).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrequenceEntretien(i32);

impl WireValue for FrequenceEntretien {
    fn read(f: &mut Fields, name: &str) -> Patch<Self> {
        let days = match f.raw(name).cloned() {
            None => Patch::Absent,
            Some(Value::Null) => Patch::Null,
            Some(Value::Number(n)) => match n.as_i64().map(|d| check_frequence_days(name, d)) {
                Some(Ok(d)) => Patch::Value(d),
                Some(Err(e)) => {
                    f.push_domain(e);
                    Patch::Absent
                }
                None => {
                    f.push(FieldViolation::new(
                        name,
                        ViolationCode::InvalidValue,
                        "Fréquence d'entretien invalide",
                    ));
                    Patch::Absent
                }
            },
            Some(Value::String(_)) => f.parse(name, |s| parse_frequence_text(name, s)),
            Some(_) => {
                f.push(FieldViolation::new(
                    name,
                    ViolationCode::InvalidType,
                    "Type invalide",
                ));
                Patch::Absent
            }
        };
        days.map(Self)
    }

    fn schema(description: &str, nullable: bool) -> RefOr<Schema> {
        RefOr::T(Schema::Object(
            inline(Type::String, description, nullable)
                .examples(["30", "mensuel"])
                .build(),
        ))
    }
}

request_body! {
    /// EquipementCreate (API.md §3.5).
    pub struct EquipementCreate {
        /// Name, unique case-insensitively (required on create).
        pub nom: Titre,
        /// Type (required on create; alias `type_equipement`).
        pub type_equipement = "type": TypeEquipement,
        /// Location (required on create).
        pub localisation: Titre,
        /// Serial number, unique.
        pub numero_serie: Patch<NomCourt>,
        /// Internal code, unique.
        pub code_interne: Patch<Code>,
        /// Brand.
        pub marque: Patch<NomCourt>,
        /// Model.
        pub modele: Patch<NomCourt>,
        /// Building.
        pub batiment: Patch<NomCourt>,
        /// Zone.
        pub zone: Patch<NomCourt>,
        /// Floor.
        pub etage: Patch<CodeCourt>,
        /// Default `operationnel`.
        pub statut: Defaulted<StatutEquipement>,
        /// Default `standard`.
        pub criticite: Defaulted<CriticiteEquipement>,
        /// Description.
        pub description: Patch<Description>,
        /// Technical specifications.
        pub specifications_techniques: Patch<Description>,
        /// Power (kW), ≥ 0.
        pub puissance: Patch<Quantite>,
        /// Weight (kg), ≥ 0.
        pub poids: Patch<Quantite>,
        /// Days (1–3650), a decimal string of days, or a label (`mensuel`, `annuelle`…).
        pub frequence_entretien: Patch<FrequenceEntretien>,
        /// Warranty months, 0–1200.
        pub duree_garantie_mois: Patch<MoisGarantie>,
        /// Purchase cost (centimes).
        pub cout_acquisition: Patch<Centimes>,
        /// Purchase date.
        pub date_acquisition: Patch<Timestamp>,
        /// Commissioning date.
        pub date_mise_en_service: Patch<Timestamp>,
        /// End of warranty.
        pub date_fin_garantie: Patch<Timestamp>,
        /// Client account (must exist).
        pub client_id: Patch<ClientId>,
    }
}

request_body! {
    /// Partial update of an equipment: the EquipementCreate fields, all optional.
    pub struct EquipementUpdate {
        /// Name, unique case-insensitively (required on create).
        pub nom: NotNull<Titre>,
        /// Type (required on create; alias `type_equipement`).
        pub type_equipement = "type": NotNull<TypeEquipement>,
        /// Location (required on create).
        pub localisation: NotNull<Titre>,
        /// Serial number, unique.
        pub numero_serie: Patch<NomCourt>,
        /// Internal code, unique.
        pub code_interne: Patch<Code>,
        /// Brand.
        pub marque: Patch<NomCourt>,
        /// Model.
        pub modele: Patch<NomCourt>,
        /// Building.
        pub batiment: Patch<NomCourt>,
        /// Zone.
        pub zone: Patch<NomCourt>,
        /// Floor.
        pub etage: Patch<CodeCourt>,
        /// Default `operationnel`.
        pub statut: NotNull<StatutEquipement>,
        /// Default `standard`.
        pub criticite: NotNull<CriticiteEquipement>,
        /// Description.
        pub description: Patch<Description>,
        /// Technical specifications.
        pub specifications_techniques: Patch<Description>,
        /// Power (kW), ≥ 0.
        pub puissance: Patch<Quantite>,
        /// Weight (kg), ≥ 0.
        pub poids: Patch<Quantite>,
        /// Days (1–3650), a decimal string of days, or a label (`mensuel`, `annuelle`…).
        pub frequence_entretien: Patch<FrequenceEntretien>,
        /// Warranty months, 0–1200.
        pub duree_garantie_mois: Patch<MoisGarantie>,
        /// Purchase cost (centimes).
        pub cout_acquisition: Patch<Centimes>,
        /// Purchase date.
        pub date_acquisition: Patch<Timestamp>,
        /// Commissioning date.
        pub date_mise_en_service: Patch<Timestamp>,
        /// End of warranty.
        pub date_fin_garantie: Patch<Timestamp>,
        /// Client account (must exist).
        pub client_id: Patch<ClientId>,
    }
}

impl EquipementCreate {
    /// The stored fields of the new équipement (defaults where the body is silent).
    #[must_use]
    pub fn into_fields(self) -> EquipementFields {
        let mut fields = EquipementFields::default();
        EquipementUpdate {
            nom: NotNull(Some(self.nom)),
            type_equipement: NotNull(Some(self.type_equipement)),
            localisation: NotNull(Some(self.localisation)),
            numero_serie: self.numero_serie,
            code_interne: self.code_interne,
            marque: self.marque,
            modele: self.modele,
            batiment: self.batiment,
            zone: self.zone,
            etage: self.etage,
            statut: NotNull(self.statut.0),
            criticite: NotNull(self.criticite.0),
            description: self.description,
            specifications_techniques: self.specifications_techniques,
            puissance: self.puissance,
            poids: self.poids,
            frequence_entretien: self.frequence_entretien,
            duree_garantie_mois: self.duree_garantie_mois,
            cout_acquisition: self.cout_acquisition,
            date_acquisition: self.date_acquisition,
            date_mise_en_service: self.date_mise_en_service,
            date_fin_garantie: self.date_fin_garantie,
            client_id: self.client_id,
        }
        .apply(&mut fields);
        fields
    }
}

impl EquipementUpdate {
    /// Writes the sent fields into `f`.
    pub fn apply(self, f: &mut EquipementFields) {
        self.nom.map(Titre::into_inner).set(&mut f.nom);
        self.type_equipement
            .map(|t| t.0.into_inner())
            .set(&mut f.type_equipement);
        self.localisation
            .map(Titre::into_inner)
            .set(&mut f.localisation);
        self.statut.set(&mut f.statut);
        self.criticite.set(&mut f.criticite);
        let texts = [
            (self.numero_serie, &mut f.numero_serie),
            (self.marque, &mut f.marque),
            (self.modele, &mut f.modele),
            (self.batiment, &mut f.batiment),
            (self.zone, &mut f.zone),
        ];
        for (patch, target) in texts {
            patch.map(NomCourt::into_inner).set_nullable(target);
        }
        self.code_interne
            .map(Code::into_inner)
            .set_nullable(&mut f.code_interne);
        self.etage
            .map(CodeCourt::into_inner)
            .set_nullable(&mut f.etage);
        self.description
            .map(Description::into_inner)
            .set_nullable(&mut f.description);
        self.specifications_techniques
            .map(Description::into_inner)
            .set_nullable(&mut f.specifications_techniques);
        self.puissance
            .map(Quantite::get)
            .set_nullable(&mut f.puissance);
        self.poids.map(Quantite::get).set_nullable(&mut f.poids);
        self.frequence_entretien
            .map(|d| d.0)
            .set_nullable(&mut f.frequence_entretien_jours);
        self.duree_garantie_mois
            .map(MoisGarantie::to_i32)
            .set_nullable(&mut f.duree_garantie_mois);
        self.cout_acquisition
            .map(Centimes::get)
            .set_nullable(&mut f.cout_acquisition);
        self.date_acquisition.set_nullable(&mut f.date_acquisition);
        self.date_mise_en_service
            .set_nullable(&mut f.date_mise_en_service);
        self.date_fin_garantie
            .set_nullable(&mut f.date_fin_garantie);
        self.client_id.set_nullable(&mut f.client_id);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::error::Location;

    fn fields(v: Value) -> Fields {
        let Value::Object(m) = v else { panic!() };
        Fields::new(m, Location::Body)
    }

    fn codes(f: Fields) -> Vec<(String, &'static str)> {
        f.into_violations()
            .into_iter()
            .map(|v| (v.field, v.code.as_str()))
            .collect()
    }

    #[test]
    fn a_create_reads_the_alias_and_the_frequency_forms() {
        let mut f = fields(json!({
            "nom": " Pompe ", "type_equipement": "pompe", "localisation": "A",
            "frequence_entretien": "Mensuel", "cout_acquisition": 100, "statut": null
        }));
        let fields = EquipementCreate::read(&mut f).unwrap().into_fields();
        assert!(f.is_clean());
        assert_eq!(fields.nom, "Pompe");
        assert_eq!(fields.type_equipement, "pompe");
        assert_eq!(fields.frequence_entretien_jours, Some(30));
        assert_eq!(fields.cout_acquisition, Some(100));
        assert_eq!(fields.statut, EquipementFields::default().statut);
    }

    #[test]
    fn create_and_update_report_their_own_violations() {
        let mut f = fields(json!({"type": "a", "type_equipement": "b", "frequence_entretien": 0}));
        assert!(EquipementCreate::read(&mut f).is_none());
        assert_eq!(
            codes(f),
            vec![
                ("nom".to_owned(), "required"),
                ("type".to_owned(), "conflicting_fields"),
                ("localisation".to_owned(), "required"),
                ("frequence_entretien".to_owned(), "invalid_value"),
            ]
        );
        let mut f =
            fields(json!({"nom": null, "statut": null, "marque": null, "etage": "x".repeat(21)}));
        // No field is required on update: the body reads, its violations are in `f`.
        assert!(EquipementUpdate::read(&mut f).is_some());
        assert_eq!(
            codes(f),
            vec![
                ("nom".to_owned(), "invalid_value"),
                ("etage".to_owned(), "too_long"),
                ("statut".to_owned(), "invalid_value"),
            ]
        );
        let mut f = fields(json!({"marque": null}));
        let mut stored = EquipementFields {
            marque: Some("Grundfos".into()),
            ..EquipementFields::default()
        };
        EquipementUpdate::read(&mut f).unwrap().apply(&mut stored);
        assert_eq!(stored.marque, None);
    }
}
