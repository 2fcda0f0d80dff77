//! Interventions (DATA.md §3.5–3.6, API.md §3.6): the entity, its history, filters and sort keys.

use crate::clock::Timestamp;
use crate::enums::{ActionHistorique, InterventionType, PrioriteIntervention, StatutIntervention};
use crate::equipement::EquipementId;
use crate::ids::{ClientId, UserId};
use crate::technicien::TechnicienId;
use crate::user::UserRole;

pub use crate::ids::InterventionId;

/// A stored intervention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intervention {
    /// Id.
    pub id: InterventionId,
    /// 1–255.
    pub titre: String,
    /// ≤ 10 000.
    pub description: Option<String>,
    /// JSON `type`.
    pub type_intervention: InterventionType,
    /// Changed only by lifecycle actions.
    pub statut: StatutIntervention,
    /// Priority.
    pub priorite: PrioriteIntervention,
    /// Urgent flag.
    pub urgence: bool,
    /// Business creation date.
    pub date_creation: Timestamp,
    /// Due date.
    pub date_limite: Option<Timestamp>,
    /// Last (re-)assignment.
    pub date_affectation: Option<Timestamp>,
    /// First start.
    pub date_debut_travaux: Option<Timestamp>,
    /// Set at closure.
    pub date_fin_travaux: Option<Timestamp>,
    /// Set at closure.
    pub date_cloture: Option<Timestamp>,
    /// Set at cancellation.
    pub date_annulation: Option<Timestamp>,
    /// Set at archiving.
    pub date_archivage: Option<Timestamp>,
    /// Minutes.
    pub duree_estimee: Option<i32>,
    /// Minutes.
    pub duree_reelle: Option<i32>,
    /// Minutes.
    pub temps_deplacement: Option<i32>,
    /// Centimes.
    pub cout_estime: Option<i64>,
    /// Centimes.
    pub cout_reel: Option<i64>,
    /// Centimes.
    pub cout_pieces: Option<i64>,
    /// Centimes.
    pub cout_main_oeuvre: Option<i64>,
    /// Closure report.
    pub rapport_intervention: Option<String>,
    /// Work done.
    pub travaux_realises: Option<String>,
    /// Recommendations.
    pub recommandations: Option<String>,
    /// Cancellation reason.
    pub motif_annulation: Option<String>,
    /// Validated by the client.
    pub validation_client: bool,
    /// When.
    pub date_validation_client: Option<Timestamp>,
    /// 1–5.
    pub satisfaction_client: Option<i32>,
    /// ≤ 2000.
    pub commentaire_client: Option<String>,
    /// Optimistic concurrency.
    pub version: i32,
    /// The équipement.
    pub equipement_id: EquipementId,
    /// The assignee.
    pub technicien_id: Option<TechnicienId>,
    /// The generating planning.
    pub planning_id: Option<i64>,
    /// Copied from the équipement.
    pub client_id: Option<ClientId>,
    /// The creator; `None` = the scheduler.
    pub created_by_id: Option<UserId>,
    /// Creation.
    pub created_at: Timestamp,
    /// Last write.
    pub updated_at: Timestamp,
}

impl Intervention {
    /// `en_retard`: a due date in the past while still active.
    #[must_use]
    pub fn en_retard(&self, now: Timestamp) -> bool {
        self.date_limite.is_some_and(|d| d < now) && self.statut.is_active()
    }
}

impl StatutIntervention {
    /// `ouverte`, `affectee`, `en_cours` or `en_attente`.
    #[must_use]
    pub const fn is_active(self) -> bool {
        matches!(
            self,
            Self::Ouverte | Self::Affectee | Self::EnCours | Self::EnAttente
        )
    }

    /// `cloturee`, `annulee` or `archivee`: no field can be edited any more.
    #[must_use]
    pub const fn is_final(self) -> bool {
        matches!(self, Self::Cloturee | Self::Annulee | Self::Archivee)
    }
}

/// One row of `historiques_interventions` to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHistory {
    /// The intervention.
    pub intervention_id: InterventionId,
    /// What happened.
    pub action: ActionHistorique,
    /// Statut before (`None` on the first row).
    pub from_statut: Option<StatutIntervention>,
    /// Statut after.
    pub to_statut: StatutIntervention,
    /// Remark (≤ 2000).
    pub remarque: Option<String>,
    /// The assignee, on (re-)assignment rows.
    pub technicien_id: Option<TechnicienId>,
    /// Who; `None` = the scheduler.
    pub user_id: Option<UserId>,
    /// When.
    pub horodatage: Timestamp,
}

/// The author of a history row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryAuthor {
    /// Id.
    pub id: UserId,
    /// Username.
    pub username: String,
    /// Full name.
    pub full_name: Option<String>,
    /// Role.
    pub role: UserRole,
}

/// A stored history row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Id.
    pub id: i64,
    /// The row.
    pub row: NewHistory,
    /// Its author, when not the scheduler.
    pub user: Option<HistoryAuthor>,
}

/// Sort keys of the interventions lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InterventionSortField {
    /// `date_creation` (default, descending).
    DateCreation,
    /// `date_limite` (nulls last).
    DateLimite,
    /// `priorite` (declared order).
    Priorite,
    /// `statut` (declared order).
    Statut,
    /// `titre` (normalised).
    Titre,
    /// `updated_at`.
    UpdatedAt,
    /// `id`.
    Id,
}

impl InterventionSortField {
    /// Wire names.
    pub const NAMES: [&'static str; 7] = [
        "date_creation",
        "date_limite",
        "priorite",
        "statut",
        "titre",
        "updated_at",
        "id",
    ];

    /// Parses a wire name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "date_creation" => Self::DateCreation,
            "date_limite" => Self::DateLimite,
            "priorite" => Self::Priorite,
            "statut" => Self::Statut,
            "titre" => Self::Titre,
            "updated_at" => Self::UpdatedAt,
            "id" => Self::Id,
            _ => return None,
        })
    }
}

/// Filters of the interventions lists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct InterventionFilter {
    /// Any of these statuts.
    pub statuts: Vec<StatutIntervention>,
    /// Any of these priorities.
    pub priorites: Vec<PrioriteIntervention>,
    /// Any of these types.
    pub types: Vec<InterventionType>,
    /// Urgent or not.
    pub urgence: Option<bool>,
    /// Overdue or not, at the filter's `now`.
    pub en_retard: Option<bool>,
    /// The assignee (0 matches nothing).
    pub technicien_id: Option<i64>,
    /// The équipement.
    pub equipement_id: Option<i64>,
    /// The planning.
    pub planning_id: Option<i64>,
    /// The client account (forced for client callers).
    pub client_id: Option<i64>,
    /// The caller is a client without an account: nothing is visible.
    pub nothing: bool,
    /// `date_creation >=`.
    pub date_creation_min: Option<Timestamp>,
    /// `date_creation <=`.
    pub date_creation_max: Option<Timestamp>,
    /// `date_limite >=`.
    pub date_limite_min: Option<Timestamp>,
    /// `date_limite <=`.
    pub date_limite_max: Option<Timestamp>,
    /// Contains, on titre and description.
    pub search: Option<String>,
    /// The time `en_retard` is evaluated at.
    pub now: Option<Timestamp>,
}
