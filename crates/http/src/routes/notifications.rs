//! `/api/v1/notifications*` (API.md §3.8): the caller's notifications, read receipts, and the
//! admin's hand-written notifications, lists and deletes.

use actix_web::{HttpRequest, HttpResponse, web};
use erp_application::authz::Action;
use erp_application::notifications::CreateNotification;
use erp_domain::UserId;
use erp_domain::enums::{CanalNotification, TypeNotification};
use erp_domain::intervention::InterventionId;
use erp_domain::list::{SortDir, SortKey};
use erp_domain::notification::{
    Notification, NotificationFilter, NotificationId, NotificationSortField,
};
use erp_domain::value::{Designation, Message};

use serde::Serialize;
use utoipa::ToSchema;

use crate::blocking::use_case;
use crate::dto::{DetailOut, MessageOut, collection};
use crate::error::{ApiError, ErrorEnvelope, Location};
use crate::extract::fields::Fields;
use crate::extract::query::Query;
use crate::extract::request::request_body;
use crate::extract::{Authenticated, read_json_object};
use crate::openapi::params;
use crate::openapi::schema::{self, Ts};
use crate::routes::ids::path_id;
use crate::routing::{Endpoint, RouteTable};
use crate::state::AppState;

const NOT_FOUND: &str = "Notification non trouvée";

/// Registers the routes. `/me` is registered before `/{id}` patterns so it is never taken
/// for an id.
pub fn configure(cfg: &mut RouteTable) {
    cfg.service(
        Endpoint::new("/api/v1/notifications")
            .get(list)
            .post(create),
    )
    .service(Endpoint::new("/api/v1/notifications/me").get(mine))
    .service(Endpoint::new("/api/v1/notifications/user/me").get(mine_alias))
    .service(Endpoint::new("/api/v1/notifications/user/{user_id}").get(of_user))
    .service(
        Endpoint::new("/api/v1/notifications/{id}/read")
            .put(mark_read)
            .patch(mark_read),
    )
    .service(Endpoint::new("/api/v1/notifications/{id}").delete(delete));
}

/// NotificationOut (API.md §3.8).
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationOut {
    /// Notification id.
    pub id: i64,
    /// Type.
    #[serde(rename = "type")]
    #[schema(value_type = schema::TypeNotification)]
    pub type_notification: &'static str,
    /// Channel.
    #[schema(value_type = schema::CanalNotification)]
    pub canal: &'static str,
    /// Title.
    pub titre: Option<String>,
    /// Content.
    pub contenu: Option<String>,
    /// Recipient.
    pub user_id: i64,
    /// Related intervention.
    pub intervention_id: Option<i64>,
    /// Creation time.
    pub date_envoi: Ts,
    /// Read flag.
    pub lue: bool,
    /// When it was first read.
    pub read_at: Option<Ts>,
}

/// NotificationOut of a notification.
#[must_use]
pub fn notification_out(n: &Notification) -> NotificationOut {
    NotificationOut {
        id: n.id.get(),
        type_notification: n.type_notification.as_str(),
        canal: n.canal.as_str(),
        titre: n.titre.clone(),
        contenu: n.contenu.clone(),
        user_id: n.user_id.get(),
        intervention_id: n.intervention_id.map(InterventionId::get),
        date_envoi: n.date_envoi.into(),
        lue: n.lue,
        read_at: n.read_at.map(Ts::from),
    }
}

request_body! {
    /// `POST /notifications`.
    pub struct NotificationCreate {
        /// Type.
        pub type_notification = "type": TypeNotification,
        /// Channel.
        pub canal: CanalNotification,
        /// Title.
        pub titre: Option<Designation>,
        /// Content.
        pub contenu: Option<Message>,
        /// Recipient (must exist).
        pub user_id: UserId,
        /// Related intervention (must exist).
        pub intervention_id: Option<InterventionId>,
    }
}

fn notification_id(raw: &str) -> Result<NotificationId, ApiError> {
    path_id("id", raw)?
        .map(NotificationId::new)
        .ok_or_else(|| ApiError::not_found(NOT_FOUND))
}

#[utoipa::path(
    post,
    path = "/api/v1/notifications",
    tag = "notifications",
    summary = "Create a notification",
    request_body(content((NotificationCreate = "application/json"))),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = NotificationOut),
        (status = 404, description = "\"Utilisateur cible introuvable\" or \"Intervention introuvable\"", body = ErrorEnvelope),
    ),
)]
async fn create(
    req: HttpRequest,
    caller: Authenticated,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ManageNotifications).await?;
    let mut f = Fields::new(
        read_json_object(&req, payload.into_inner()).await?,
        Location::Body,
    );
    let read = NotificationCreate::read(&mut f);
    let body = f.finish_with(read)?;
    let cmd = CreateNotification {
        type_notification: body.type_notification,
        canal: body.canal,
        titre: body.titre.map(Designation::into_inner),
        contenu: body.contenu.map(Message::into_inner),
        user_id: body.user_id,
        intervention_id: body.intervention_id,
    };
    let n = use_case(&req, &state, move |app, ctx| {
        app.create_notification(&caller.0, cmd, ctx)
    })
    .await?;
    Ok(HttpResponse::Created().json(notification_out(&n)))
}

/// `lue` and `type`, the filters of the per-user lists.
fn own_filter(q: &mut Query) -> NotificationFilter {
    NotificationFilter {
        lue: q.boolean("lue"),
        types: q.enum_list("type", &TypeNotification::wire_values()),
        ..NotificationFilter::default()
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/notifications",
    tag = "notifications",
    summary = "List notifications",
    params(params::NotificationQuery, params::Page),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Notifications", body = Vec<NotificationOut>, headers(("X-Total-Count" = i64, description = "Rows matching the filters, ignoring limit/offset"))),
    ),
)]
async fn list(
    req: HttpRequest,
    caller: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ManageNotifications).await?;
    let mut q = Query::of(&req);
    let filter = NotificationFilter {
        user_id: q.id("user_id"),
        intervention_id: q.id("intervention_id"),
        canaux: q.enum_list("canal", &CanalNotification::wire_values()),
        date_envoi_min: q.timestamp("date_envoi_min", false),
        date_envoi_max: q.timestamp("date_envoi_max", true),
        ..own_filter(&mut q)
    };
    let sort = q.sort(
        NotificationSortField::parse,
        &NotificationSortField::NAMES,
        &[SortKey {
            field: NotificationSortField::DateEnvoi,
            dir: SortDir::Desc,
        }],
    );
    let page = q.page();
    q.finish()?;
    let listed = use_case(&req, &state, move |app, _| {
        app.list_notifications(&caller.0, &filter, &sort, page)
    })
    .await?;
    Ok(collection(&listed, notification_out))
}

#[utoipa::path(
    get,
    path = "/api/v1/notifications/me",
    tag = "notifications",
    summary = "The caller's notifications",
    params(params::UserNotificationQuery, params::Page),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Notifications, newest first", body = Vec<NotificationOut>, headers(("X-Total-Count" = i64, description = "Rows matching the filters, ignoring limit/offset"))),
    ),
)]
async fn mine(
    req: HttpRequest,
    caller: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::OwnNotifications).await?;
    let mut q = Query::of(&req);
    let filter = own_filter(&mut q);
    let page = q.page();
    q.finish()?;
    let listed = use_case(&req, &state, move |app, _| {
        app.my_notifications(&caller.0, filter, page)
    })
    .await?;
    Ok(collection(&listed, notification_out))
}

#[utoipa::path(
    get,
    path = "/api/v1/notifications/user/me",
    tag = "notifications",
    summary = "The caller's notifications (alias of /notifications/me)",
    params(params::UserNotificationQuery, params::Page),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Notifications, newest first", body = Vec<NotificationOut>, headers(("X-Total-Count" = i64, description = "Rows matching the filters, ignoring limit/offset"))),
    ),
)]
async fn mine_alias(
    req: HttpRequest,
    caller: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    mine(req, caller, state).await
}

#[utoipa::path(
    get,
    path = "/api/v1/notifications/user/{user_id}",
    tag = "notifications",
    summary = "A user's notifications",
    params(("user_id" = i64, Path, description = "User id"), params::UserNotificationQuery, params::Page),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Notifications, newest first", body = Vec<NotificationOut>, headers(("X-Total-Count" = i64, description = "Rows matching the filters, ignoring limit/offset"))),
        (status = 404, description = "\"Utilisateur non trouvé.\"", body = ErrorEnvelope),
    ),
)]
async fn of_user(
    req: HttpRequest,
    caller: Authenticated,
    user_id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ManageNotifications).await?;
    let mut q = Query::of(&req);
    let filter = own_filter(&mut q);
    let page = q.page();
    q.finish()?;
    let user = path_id("user_id", &user_id)?
        .map(UserId::new)
        .ok_or_else(|| ApiError::not_found("Utilisateur non trouvé."))?;
    let listed = use_case(&req, &state, move |app, _| {
        app.user_notifications(&caller.0, user, filter, page)
    })
    .await?;
    Ok(collection(&listed, notification_out))
}

#[utoipa::path(
    method(put, patch),
    path = "/api/v1/notifications/{id}/read",
    tag = "notifications",
    summary = "Mark a notification read",
    params(("id" = i64, Path, description = "Notification id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "\"Notification marquée comme lue\"", body = MessageOut),
        (status = 404, description = "\"Notification non trouvée\"", body = ErrorEnvelope),
    ),
)]
async fn mark_read(
    req: HttpRequest,
    caller: Authenticated,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::OwnNotifications).await?;
    let id = notification_id(&id)?;
    use_case(&req, &state, move |app, _| {
        app.mark_notification_read(&caller.0, id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(MessageOut {
        message: "Notification marquée comme lue",
    }))
}

#[utoipa::path(
    delete,
    path = "/api/v1/notifications/{id}",
    tag = "notifications",
    summary = "Delete a notification",
    params(("id" = i64, Path, description = "Notification id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "\"Notification supprimée\"", body = DetailOut),
        (status = 404, description = "\"Notification non trouvée\"", body = ErrorEnvelope),
    ),
)]
async fn delete(
    req: HttpRequest,
    caller: Authenticated,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ManageNotifications).await?;
    let id = notification_id(&id)?;
    use_case(&req, &state, move |app, ctx| {
        app.delete_notification(&caller.0, id, ctx)
    })
    .await?;
    Ok(HttpResponse::Ok().json(DetailOut {
        detail: "Notification supprimée",
    }))
}
