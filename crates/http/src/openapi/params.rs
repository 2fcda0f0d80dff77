//! Query parameters (API.md §1.4 and §3): handlers read them through `Query` with the exact 422
//! rules; these types describe them for the document, each named in its handler's
//! `#[utoipa::path]`. Enum filters take one value or a comma-separated list (OR); unknown
//! parameters are ignored.

use utoipa::IntoParams;

use crate::openapi::schema::{self, Ts};

/// Pagination of every collection.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// Rows per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// Rows to skip, ≥ 0 (default 0).
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// `GET /users` filters.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Role(s).
    #[param(value_type = Option<schema::UserRole>)]
    pub role: Option<String>,
    /// Active flag.
    pub is_active: Option<bool>,
    /// Client account.
    pub client_id: Option<i64>,
    /// Contains (case-insensitive) in username, email or full name.
    pub search: Option<String>,
    /// Comma-separated keys, `-` for descending: `id` (default), `username`, `created_at`,
    /// `last_login`.
    pub sort: Option<String>,
}

/// `GET /techniciens` filters.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TechnicienQuery {
    /// Team (case-insensitive equality).
    pub equipe: Option<String>,
    /// Availability(ies).
    #[param(value_type = Option<schema::DisponibiliteTechnicien>)]
    pub disponibilite: Option<String>,
    /// Level(s).
    #[param(value_type = Option<schema::NiveauCompetence>)]
    pub niveau_technicien: Option<String>,
    /// Has that skill.
    pub competence_id: Option<i64>,
    /// Has a skill of that name (case-insensitive equality).
    pub competence: Option<String>,
    /// Active flag.
    pub is_active: Option<bool>,
    /// Contains (case-insensitive) in the user's username, full name or email.
    pub search: Option<String>,
    /// Sort keys: `id` (default), `equipe`, `disponibilite`, `created_at`.
    pub sort: Option<String>,
}

/// `GET /techniciens/competences` filters.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CompetenceQuery {
    /// Domain (case-insensitive equality).
    pub domaine: Option<String>,
    /// Active flag.
    pub is_active: Option<bool>,
    /// Contains (case-insensitive) in the name.
    pub search: Option<String>,
    /// Sort keys: `nom` (default), `id`, `domaine`, `created_at`.
    pub sort: Option<String>,
}

/// `GET /equipements` filters.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EquipementQuery {
    /// Status(es).
    #[param(value_type = Option<schema::StatutEquipement>)]
    pub statut: Option<String>,
    /// Criticality(ies).
    #[param(value_type = Option<schema::CriticiteEquipement>)]
    pub criticite: Option<String>,
    /// Type (case-insensitive equality).
    #[param(rename = "type")]
    pub type_equipement: Option<String>,
    /// Contains (case-insensitive).
    pub localisation: Option<String>,
    /// Client account.
    pub client_id: Option<i64>,
    /// Contains (case-insensitive) in name, type, location, serial number, internal code,
    /// brand, model.
    pub search: Option<String>,
    /// Sort keys: `id` (default), `nom`, `type`, `localisation`, `statut`, `criticite`,
    /// `created_at`.
    pub sort: Option<String>,
}

/// Intervention list filters (`/interventions`, `/filters/interventions`,
/// `/equipements/{id}/interventions`).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InterventionQuery {
    /// Status(es).
    #[param(value_type = Option<schema::StatutIntervention>)]
    pub statut: Option<String>,
    /// Priority(ies).
    #[param(value_type = Option<schema::PrioriteIntervention>)]
    pub priorite: Option<String>,
    /// Type(s).
    #[param(rename = "type", value_type = Option<schema::InterventionType>)]
    pub type_intervention: Option<String>,
    /// Urgent flag.
    pub urgence: Option<bool>,
    /// Overdue (`false` = not overdue).
    pub en_retard: Option<bool>,
    /// Assigned technicien.
    pub technicien_id: Option<i64>,
    /// Equipment.
    pub equipement_id: Option<i64>,
    /// Planning.
    pub planning_id: Option<i64>,
    /// Client account (ignored for clients).
    pub client_id: Option<i64>,
    /// Created at or after.
    pub date_creation_min: Option<Ts>,
    /// Created at or before (a bare date: that whole day).
    pub date_creation_max: Option<Ts>,
    /// Deadline at or after.
    pub date_limite_min: Option<Ts>,
    /// Deadline at or before.
    pub date_limite_max: Option<Ts>,
    /// Contains (case-insensitive) in title or description.
    pub search: Option<String>,
    /// Sort keys: `date_creation`, `date_limite`, `priorite`, `statut`, `titre`, `updated_at`,
    /// `id`; default `-date_creation`.
    pub sort: Option<String>,
}

/// `PATCH /interventions/{id}/statut` parameters.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatutQuery {
    /// Target status.
    #[param(value_type = schema::StatutIntervention)]
    pub statut: String,
    /// Remark; the report for `cloturee`, the reason for `annulee` (required for both).
    pub remarque: Option<String>,
    /// The technicien, for `affectee` (required then).
    pub technicien_id: Option<i64>,
}

/// `GET /planning` filters.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlanningQuery {
    /// Equipment.
    pub equipement_id: Option<i64>,
    /// Technicien.
    pub technicien_id: Option<i64>,
    /// Status(es).
    #[param(value_type = Option<schema::StatutPlanning>)]
    pub statut: Option<String>,
    /// Frequency(ies), either label form.
    #[param(value_type = Option<schema::FrequencePlanningInput>)]
    pub frequence: Option<String>,
    /// Due at or after.
    pub prochaine_date_min: Option<Ts>,
    /// Due at or before.
    pub prochaine_date_max: Option<Ts>,
    /// Sort keys: `prochaine_date` (default), `id`, `date_creation`.
    pub sort: Option<String>,
}

/// `PATCH /planning/{id}/dates` query (wins over the body).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RescheduleQuery {
    /// The new due date (here or in the body).
    pub nouvelle_date: Option<Ts>,
}

/// `GET /notifications` filters.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationQuery {
    /// Recipient.
    pub user_id: Option<i64>,
    /// Intervention.
    pub intervention_id: Option<i64>,
    /// Type(s).
    #[param(rename = "type", value_type = Option<schema::TypeNotification>)]
    pub type_notification: Option<String>,
    /// Channel(s).
    #[param(value_type = Option<schema::CanalNotification>)]
    pub canal: Option<String>,
    /// Read flag.
    pub lue: Option<bool>,
    /// Created at or after.
    pub date_envoi_min: Option<Ts>,
    /// Created at or before.
    pub date_envoi_max: Option<Ts>,
    /// Sort keys: `date_envoi` (default `-date_envoi`), `id`.
    pub sort: Option<String>,
}

/// Filters of one user's notifications (order `-date_envoi`).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserNotificationQuery {
    /// Read flag.
    pub lue: Option<bool>,
    /// Type(s).
    #[param(rename = "type", value_type = Option<schema::TypeNotification>)]
    pub type_notification: Option<String>,
}

/// `GET /documents` filters (order `-date_upload`).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DocumentQuery {
    /// Intervention.
    pub intervention_id: Option<i64>,
    /// Uploader.
    pub uploaded_by_id: Option<i64>,
    /// MIME type (case-insensitive).
    pub mime_type: Option<String>,
}

/// The intervention of an upload to `/documents` or `/documents/upload` (or the form field).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// Intervention (here or as the form field `intervention_id`).
    pub intervention_id: Option<i64>,
}

/// `GET /audit/events` filters (order `-timestamp`, `-id`).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Event type(s).
    #[param(value_type = Option<schema::AuditEventTypeName>)]
    pub event_type: Option<String>,
    /// Acting user.
    pub user_id: Option<i64>,
    /// Success flag.
    pub success: Option<bool>,
    /// Client IP.
    pub ip_address: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
    /// At or after.
    pub date_min: Option<Ts>,
    /// At or before.
    pub date_max: Option<Ts>,
}
