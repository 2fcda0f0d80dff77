//! The responses of the intervention routes: InterventionOut and HistoriqueOut (API.md
//! §3.6.1, §3.6.3).

use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use erp_domain::enums::StatutIntervention;
use erp_domain::intervention::{HistoryEntry, Intervention};
use erp_domain::technicien::TechnicienId;
use erp_domain::{ClientId, Timestamp, UserId};
use serde::Serialize;
use utoipa::ToSchema;

use crate::openapi::schema::{self, Ts};

/// InterventionOut (API.md §3.6.1).
#[derive(Debug, Serialize, ToSchema)]
pub struct InterventionOut {
    /// Intervention id.
    pub id: i64,
    /// Title.
    pub titre: String,
    /// Description.
    pub description: Option<String>,
    /// Type.
    #[serde(rename = "type")]
    #[schema(value_type = schema::InterventionType)]
    pub type_intervention: &'static str,
    /// Status.
    #[schema(value_type = schema::StatutIntervention)]
    pub statut: &'static str,
    /// Priority.
    #[schema(value_type = schema::PrioriteIntervention)]
    pub priorite: &'static str,
    /// Urgent flag.
    pub urgence: bool,
    /// Overdue: `date_limite` past while the intervention is active.
    pub en_retard: bool,
    /// Creation time.
    pub date_creation: Ts,
    /// Deadline.
    pub date_limite: Option<Ts>,
    /// Last assignment.
    pub date_affectation: Option<Ts>,
    /// Start of work.
    pub date_debut_travaux: Option<Ts>,
    /// End of work.
    pub date_fin_travaux: Option<Ts>,
    /// Closure.
    pub date_cloture: Option<Ts>,
    /// Cancellation.
    pub date_annulation: Option<Ts>,
    /// Archiving.
    pub date_archivage: Option<Ts>,
    /// Estimated duration (minutes).
    pub duree_estimee: Option<i32>,
    /// Actual duration (minutes).
    pub duree_reelle: Option<i32>,
    /// Travel time (minutes).
    pub temps_deplacement: Option<i32>,
    /// Estimated cost (centimes).
    pub cout_estime: Option<i64>,
    /// Actual cost (centimes).
    pub cout_reel: Option<i64>,
    /// Parts cost (centimes).
    pub cout_pieces: Option<i64>,
    /// Labour cost (centimes).
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
    /// Client validation time.
    pub date_validation_client: Option<Ts>,
    /// Client satisfaction (1–5).
    #[schema(minimum = 1, maximum = 5)]
    pub satisfaction_client: Option<i32>,
    /// Client comment.
    pub commentaire_client: Option<String>,
    /// Equipment.
    pub equipement_id: i64,
    /// Assigned technicien.
    pub technicien_id: Option<i64>,
    /// Planning that generated it.
    pub planning_id: Option<i64>,
    /// Client account (from the equipment).
    pub client_id: Option<i64>,
    /// Always `null` in this version.
    #[schema(value_type = Option<i64>)]
    pub contrat_id: Option<i64>,
    /// Creator (`null` for the scheduler).
    pub created_by_id: Option<i64>,
    /// Creation time.
    pub created_at: Ts,
    /// Last change.
    pub updated_at: Ts,
    /// Optimistic-concurrency version (also the `ETag`).
    pub version: i32,
}

/// InterventionOut of an intervention at `now` (for `en_retard`).
#[must_use]
pub fn intervention_out(i: &Intervention, now: Timestamp) -> InterventionOut {
    InterventionOut {
        id: i.id().get(),
        titre: i.titre().to_owned(),
        description: i.description().map(str::to_owned),
        type_intervention: i.type_intervention().as_str(),
        statut: i.statut().as_str(),
        priorite: i.priorite().as_str(),
        urgence: i.urgence(),
        en_retard: i.en_retard(now),
        date_creation: i.date_creation().into(),
        date_limite: i.date_limite().map(Ts::from),
        date_affectation: i.date_affectation().map(Ts::from),
        date_debut_travaux: i.date_debut_travaux().map(Ts::from),
        date_fin_travaux: i.date_fin_travaux().map(Ts::from),
        date_cloture: i.date_cloture().map(Ts::from),
        date_annulation: i.date_annulation().map(Ts::from),
        date_archivage: i.date_archivage().map(Ts::from),
        duree_estimee: i.duree_estimee(),
        duree_reelle: i.duree_reelle(),
        temps_deplacement: i.temps_deplacement(),
        cout_estime: i.cout_estime(),
        cout_reel: i.cout_reel(),
        cout_pieces: i.cout_pieces(),
        cout_main_oeuvre: i.cout_main_oeuvre(),
        rapport_intervention: i.rapport_intervention().map(str::to_owned),
        travaux_realises: i.travaux_realises().map(str::to_owned),
        recommandations: i.recommandations().map(str::to_owned),
        motif_annulation: i.motif_annulation().map(str::to_owned),
        validation_client: i.validation_client(),
        date_validation_client: i.date_validation_client().map(Ts::from),
        satisfaction_client: i.satisfaction_client(),
        commentaire_client: i.commentaire_client().map(str::to_owned),
        equipement_id: i.equipement_id().get(),
        technicien_id: i.technicien_id().map(TechnicienId::get),
        planning_id: i.planning_id(),
        client_id: i.client_id().map(ClientId::get),
        contrat_id: None,
        created_by_id: i.created_by_id().map(UserId::get),
        created_at: i.created_at().into(),
        updated_at: i.updated_at().into(),
        version: i.version(),
    }
}

/// The author of a history row.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryAuthorOut {
    /// User id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Display name.
    pub full_name: Option<String>,
    /// Role.
    #[schema(value_type = schema::UserRole)]
    pub role: &'static str,
}

/// HistoriqueOut (API.md §3.6.3).
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoriqueOut {
    /// Row id.
    pub id: i64,
    /// Intervention.
    pub intervention_id: i64,
    /// What happened.
    #[schema(value_type = schema::ActionHistorique)]
    pub action: &'static str,
    /// Status before (`null` for the first row).
    #[schema(value_type = Option<schema::StatutIntervention>)]
    pub from_statut: Option<&'static str>,
    /// Status after.
    #[schema(value_type = schema::StatutIntervention)]
    pub to_statut: &'static str,
    /// Same as `to_statut`.
    #[schema(value_type = schema::StatutIntervention)]
    pub statut: &'static str,
    /// Remark.
    pub remarque: Option<String>,
    /// The assignee, on assignment rows.
    pub technicien_id: Option<i64>,
    /// When.
    pub horodatage: Ts,
    /// Acting user (`null` for the scheduler).
    pub user_id: Option<i64>,
    /// Acting user.
    pub user: Option<HistoryAuthorOut>,
}

/// HistoriqueOut of a history row.
pub(super) fn history_out(h: &HistoryEntry) -> HistoriqueOut {
    let r = &h.row;
    HistoriqueOut {
        id: h.id,
        intervention_id: r.intervention_id.get(),
        action: r.action.as_str(),
        from_statut: r.from_statut.map(StatutIntervention::as_str),
        to_statut: r.to_statut.as_str(),
        statut: r.to_statut.as_str(),
        remarque: r.remarque.clone(),
        technicien_id: r.technicien_id.map(TechnicienId::get),
        horodatage: r.horodatage.into(),
        user_id: r.user_id.map(UserId::get),
        user: h.user.as_ref().map(|u| HistoryAuthorOut {
            id: u.id.get(),
            username: u.username.clone(),
            full_name: u.full_name.clone(),
            role: u.role.as_str(),
        }),
    }
}

/// 200 with the intervention and its `ETag`.
pub(super) fn single(status: StatusCode, i: &Intervention, now: Timestamp) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::ETAG, format!("\"{}\"", i.version())))
        .json(intervention_out(i, now))
}
