//! Équipements (DATA.md §3.4, API.md §3.5): the entity, its validated fields, the maintenance
//! frequency labels, filters and sort keys.

use crate::clock::Timestamp;
use crate::enums::{CriticiteEquipement, StatutEquipement};
use crate::error::{DomainError, FieldViolation, ViolationCode};
use crate::ids::ClientId;
use crate::text::norm;

pub use crate::ids::EquipementId;

/// The message of an invalid maintenance frequency.
pub const FREQUENCE_INVALIDE: &str = "Fréquence d'entretien invalide";

/// Parses a maintenance frequency given as text: a decimal day count (1–3650) or a label
/// (trimmed, case- and accent-insensitive).
///
/// # Errors
/// `invalid_value` "Fréquence d'entretien invalide" on `field`.
pub fn parse_frequence_text(field: &str, raw: &str) -> Result<i32, DomainError> {
    let folded: String = norm(raw)
        .chars()
        .map(|c| match c {
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'à' | 'â' => 'a',
            'î' | 'ï' => 'i',
            'ô' => 'o',
            'û' | 'ù' => 'u',
            other => other,
        })
        .collect();
    let days = match folded.as_str() {
        "journalier" | "journaliere" => Some(1),
        "hebdomadaire" => Some(7),
        "bimensuel" | "bimensuelle" => Some(15),
        "mensuel" | "mensuelle" => Some(30),
        "trimestriel" | "trimestrielle" => Some(90),
        "semestriel" | "semestrielle" => Some(180),
        "annuel" | "annuelle" => Some(365),
        digits if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            digits.parse::<i32>().ok()
        }
        _ => None,
    };
    check_days(field, days)
}

/// Checks a day count given as a number.
///
/// # Errors
/// `invalid_value` "Fréquence d'entretien invalide".
pub fn check_frequence_days(field: &str, days: i64) -> Result<i32, DomainError> {
    check_days(field, i32::try_from(days).ok())
}

fn check_days(field: &str, days: Option<i32>) -> Result<i32, DomainError> {
    match days {
        Some(d) if (1..=3650).contains(&d) => Ok(d),
        _ => Err(DomainError::single(FieldViolation::new(
            field,
            ViolationCode::InvalidValue,
            FREQUENCE_INVALIDE,
        ))),
    }
}

/// Every stored field of an équipement but its id and timestamps: what create and update write.
#[derive(Debug, Clone, PartialEq)]
pub struct EquipementFields {
    /// 1–255, unique case-insensitively.
    pub nom: String,
    /// 1–100 (JSON `type`).
    pub type_equipement: String,
    /// 1–255.
    pub localisation: String,
    /// ≤ 100, unique.
    pub numero_serie: Option<String>,
    /// ≤ 50, unique.
    pub code_interne: Option<String>,
    /// ≤ 100.
    pub marque: Option<String>,
    /// ≤ 100.
    pub modele: Option<String>,
    /// ≤ 100.
    pub batiment: Option<String>,
    /// ≤ 100.
    pub zone: Option<String>,
    /// ≤ 20.
    pub etage: Option<String>,
    /// Default `operationnel`.
    pub statut: StatutEquipement,
    /// Default `standard`.
    pub criticite: CriticiteEquipement,
    /// ≤ 10 000.
    pub description: Option<String>,
    /// ≤ 10 000.
    pub specifications_techniques: Option<String>,
    /// kW, ≥ 0.
    pub puissance: Option<f64>,
    /// kg, ≥ 0.
    pub poids: Option<f64>,
    /// 1–3650 days.
    pub frequence_entretien_jours: Option<i32>,
    /// 0–1200.
    pub duree_garantie_mois: Option<i32>,
    /// Centimes.
    pub cout_acquisition: Option<i64>,
    /// Acquisition date.
    pub date_acquisition: Option<Timestamp>,
    /// In service since.
    pub date_mise_en_service: Option<Timestamp>,
    /// End of warranty.
    pub date_fin_garantie: Option<Timestamp>,
    /// Client account.
    pub client_id: Option<ClientId>,
}

impl Default for EquipementFields {
    /// Empty required texts (a create fills them) and the defaults of API.md §3.5.
    fn default() -> Self {
        Self {
            nom: String::new(),
            type_equipement: String::new(),
            localisation: String::new(),
            numero_serie: None,
            code_interne: None,
            marque: None,
            modele: None,
            batiment: None,
            zone: None,
            etage: None,
            statut: StatutEquipement::Operationnel,
            criticite: CriticiteEquipement::Standard,
            description: None,
            specifications_techniques: None,
            puissance: None,
            poids: None,
            frequence_entretien_jours: None,
            duree_garantie_mois: None,
            cout_acquisition: None,
            date_acquisition: None,
            date_mise_en_service: None,
            date_fin_garantie: None,
            client_id: None,
        }
    }
}

impl EquipementFields {
    /// `search_norm`: the normalised searchable fields joined by U+001F.
    #[must_use]
    pub fn search_norm(&self) -> String {
        [
            Some(self.nom.as_str()),
            Some(self.type_equipement.as_str()),
            Some(self.localisation.as_str()),
            self.numero_serie.as_deref(),
            self.code_interne.as_deref(),
            self.marque.as_deref(),
            self.modele.as_deref(),
        ]
        .into_iter()
        .flatten()
        .map(norm)
        .collect::<Vec<_>>()
        .join("\u{1f}")
    }
}

/// A stored équipement.
#[derive(Debug, Clone, PartialEq)]
pub struct Equipement {
    /// Id.
    pub id: EquipementId,
    /// Its fields.
    pub fields: EquipementFields,
    /// Creation.
    pub created_at: Timestamp,
    /// Last write.
    pub updated_at: Timestamp,
}

/// Sort keys of `GET /equipements`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EquipementSortField {
    /// `id` (default).
    Id,
    /// `nom`.
    Nom,
    /// `type`.
    Type,
    /// `localisation`.
    Localisation,
    /// `statut` (declared order).
    Statut,
    /// `criticite` (declared order).
    Criticite,
    /// `created_at`.
    CreatedAt,
}

impl EquipementSortField {
    /// Wire names.
    pub const NAMES: [&'static str; 7] = [
        "id",
        "nom",
        "type",
        "localisation",
        "statut",
        "criticite",
        "created_at",
    ];

    /// Parses a wire name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "id" => Self::Id,
            "nom" => Self::Nom,
            "type" => Self::Type,
            "localisation" => Self::Localisation,
            "statut" => Self::Statut,
            "criticite" => Self::Criticite,
            "created_at" => Self::CreatedAt,
            _ => return None,
        })
    }
}

/// Filters of `GET /equipements`.
#[derive(Debug, Clone, Default)]
pub struct EquipementFilter {
    /// Any of these statuts.
    pub statuts: Vec<StatutEquipement>,
    /// Any of these criticités.
    pub criticites: Vec<CriticiteEquipement>,
    /// `type` equal (normalised).
    pub type_norm: Option<String>,
    /// `localisation` contains (normalised).
    pub localisation: Option<String>,
    /// Client account (for a client caller: forced to theirs).
    pub client_id: Option<ClientId>,
    /// The caller is a client without an account: nothing is visible.
    pub nothing: bool,
    /// Contains, on the searchable fields.
    pub search: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequencies_accept_days_and_labels() {
        assert_eq!(parse_frequence_text("f", " Mensuelle "), Ok(30));
        assert_eq!(parse_frequence_text("f", "JOURNALIÈRE"), Ok(1));
        assert_eq!(parse_frequence_text("f", "bimensuel"), Ok(15));
        assert_eq!(parse_frequence_text("f", "annuel"), Ok(365));
        assert_eq!(parse_frequence_text("f", "45"), Ok(45));
        for bad in ["0", "3651", "-3", "souvent", "", "1.5"] {
            assert!(parse_frequence_text("f", bad).is_err(), "{bad}");
        }
        assert_eq!(check_frequence_days("f", 3650), Ok(3650));
        assert!(check_frequence_days("f", 0).is_err());
        assert!(check_frequence_days("f", i64::MAX).is_err());
    }
}
