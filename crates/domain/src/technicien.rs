//! Techniciens and compétences (DATA.md §3.1–3.3, API.md §3.4).

use crate::clock::Timestamp;
use crate::enums::{DisponibiliteTechnicien, NiveauCompetence};
use crate::ids::UserId;
use crate::user::User;

pub use crate::ids::{CompetenceId, TechnicienId};

/// The writable fields of a compétence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompetenceFields {
    /// 1–255, trimmed, unique case-insensitively.
    pub nom: String,
    /// 1–100, default `general`.
    pub domaine: String,
    /// ≤ 10 000.
    pub description: Option<String>,
    /// Default `intermediaire`.
    pub niveau_requis_minimum: NiveauCompetence,
    /// Default false.
    pub necessite_certification: bool,
    /// 1–600 months.
    pub duree_validite_mois: Option<i32>,
    /// Default true.
    pub is_active: bool,
}

impl Default for CompetenceFields {
    fn default() -> Self {
        Self {
            nom: String::new(),
            domaine: "general".to_owned(),
            description: None,
            niveau_requis_minimum: NiveauCompetence::Intermediaire,
            necessite_certification: false,
            duree_validite_mois: None,
            is_active: true,
        }
    }
}

/// A stored compétence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Competence {
    /// Id.
    pub id: CompetenceId,
    /// Fields.
    pub fields: CompetenceFields,
    /// Creation.
    pub created_at: Timestamp,
    /// Last write.
    pub updated_at: Timestamp,
}

/// Sort keys of `GET /techniciens/competences`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompetenceSortField {
    /// `nom` (default).
    Nom,
    /// `id`.
    Id,
    /// `domaine`.
    Domaine,
    /// `created_at`.
    CreatedAt,
}

impl CompetenceSortField {
    /// Wire names.
    pub const NAMES: [&'static str; 4] = ["nom", "id", "domaine", "created_at"];

    /// Parses a wire name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "nom" => Self::Nom,
            "id" => Self::Id,
            "domaine" => Self::Domaine,
            "created_at" => Self::CreatedAt,
            _ => return None,
        })
    }
}

/// Filters of `GET /techniciens/competences`.
#[derive(Debug, Clone, Default)]
pub struct CompetenceFilter {
    /// `domaine` equal (normalised).
    pub domaine: Option<String>,
    /// Active or not.
    pub is_active: Option<bool>,
    /// `nom` contains.
    pub search: Option<String>,
}

/// One skill to give a technicien.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillAssignment {
    /// The compétence.
    pub competence_id: CompetenceId,
    /// Level, default `intermediaire`.
    pub niveau: NiveauCompetence,
    /// Validation date.
    pub date_validation: Option<Timestamp>,
    /// Validated by.
    pub validee_par: Option<String>,
}

/// One skill of a technicien, with its compétence's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TechnicienSkill {
    /// The compétence.
    pub competence_id: CompetenceId,
    /// Its name.
    pub nom: String,
    /// Its domain.
    pub domaine: String,
    /// Level.
    pub niveau: NiveauCompetence,
    /// When the pair was created.
    pub date_acquisition: Timestamp,
    /// Validation date.
    pub date_validation: Option<Timestamp>,
    /// Validated by.
    pub validee_par: Option<String>,
}

/// The writable fields of a technicien profile.
#[derive(Debug, Clone, PartialEq)]
pub struct TechnicienFields {
    /// ≤ 100.
    pub equipe: Option<String>,
    /// ≤ 20, unique.
    pub numero_badge: Option<String>,
    /// Default `intermediaire`.
    pub niveau_technicien: NiveauCompetence,
    /// ≤ 255.
    pub zone_intervention: Option<String>,
    /// 0–10 000, default 50.
    pub rayon_deplacement_km: i32,
    /// ≤ 100.
    pub vehicule_service: Option<String>,
    /// Default `disponible`.
    pub disponibilite: DisponibiliteTechnicien,
    /// ≤ 100, default "08:00-17:00".
    pub horaires_travail: Option<String>,
    /// On call.
    pub astreinte: bool,
    /// An inactive technicien cannot be assigned.
    pub is_active: bool,
    /// Hiring date.
    pub date_embauche: Option<Timestamp>,
    /// Contract end.
    pub date_fin_contrat: Option<Timestamp>,
    /// ≤ 20.
    pub telephone_urgence: Option<String>,
    /// HR notes, shown to admins and responsables only.
    pub notes_rh: Option<String>,
    /// ≤ 10 000.
    pub qualifications_speciales: Option<String>,
}

impl Default for TechnicienFields {
    fn default() -> Self {
        Self {
            equipe: None,
            numero_badge: None,
            niveau_technicien: NiveauCompetence::Intermediaire,
            zone_intervention: None,
            rayon_deplacement_km: 50,
            vehicule_service: None,
            disponibilite: DisponibiliteTechnicien::Disponible,
            horaires_travail: Some("08:00-17:00".to_owned()),
            astreinte: false,
            is_active: true,
            date_embauche: None,
            date_fin_contrat: None,
            telephone_urgence: None,
            notes_rh: None,
            qualifications_speciales: None,
        }
    }
}

/// A stored technicien with its user and skills.
#[derive(Debug, Clone, PartialEq)]
pub struct Technicien {
    /// Id.
    pub id: TechnicienId,
    /// The linked user (role `technicien`).
    pub user: User,
    /// Fields.
    pub fields: TechnicienFields,
    /// Skills sorted by `nom`.
    pub competences: Vec<TechnicienSkill>,
    /// Creation.
    pub created_at: Timestamp,
    /// Last write.
    pub updated_at: Timestamp,
}

/// Sort keys of `GET /techniciens`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TechnicienSortField {
    /// `id` (default).
    Id,
    /// `equipe` (normalised, nulls last).
    Equipe,
    /// `disponibilite` (declared order).
    Disponibilite,
    /// `created_at`.
    CreatedAt,
}

impl TechnicienSortField {
    /// Wire names.
    pub const NAMES: [&'static str; 4] = ["id", "equipe", "disponibilite", "created_at"];

    /// Parses a wire name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "id" => Self::Id,
            "equipe" => Self::Equipe,
            "disponibilite" => Self::Disponibilite,
            "created_at" => Self::CreatedAt,
            _ => return None,
        })
    }
}

/// Filters of `GET /techniciens`.
#[derive(Debug, Clone, Default)]
pub struct TechnicienFilter {
    /// `equipe` equal (normalised).
    pub equipe: Option<String>,
    /// Any of these availabilities.
    pub disponibilites: Vec<DisponibiliteTechnicien>,
    /// Any of these levels.
    pub niveaux: Vec<NiveauCompetence>,
    /// Has this compétence.
    pub competence_id: Option<CompetenceId>,
    /// Has a compétence with this name (normalised).
    pub competence: Option<String>,
    /// Active or not.
    pub is_active: Option<bool>,
    /// Contains, on the user's username, full name and e-mail.
    pub search: Option<String>,
}

/// A technicien profile to create.
#[derive(Debug, Clone)]
pub struct NewTechnicien {
    /// The user (role `technicien`).
    pub user_id: UserId,
    /// Fields.
    pub fields: TechnicienFields,
}
