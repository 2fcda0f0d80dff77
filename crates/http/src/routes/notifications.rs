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
use serde_json::{Value, json};

use crate::dto::collection;
use crate::error::{ApiError, Location};
use crate::extract::fields::Fields;
use crate::extract::query::Query;
use crate::extract::{Authenticated, read_json_object};
use crate::routes::auth::use_case;
use crate::routes::ids::path_id;
use crate::routing::Endpoint;
use crate::state::AppState;
use crate::wire::timestamp;

const NOT_FOUND: &str = "Notification non trouvée";

/// Registers the routes. `/me` is registered before `/{id}` patterns so it is never taken
/// for an id.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        Endpoint::new("/api/v1/notifications")
            .get(list)
            .post(create)
            .build(),
    )
    .service(Endpoint::new("/api/v1/notifications/me").get(mine).build())
    .service(
        Endpoint::new("/api/v1/notifications/user/me")
            .get(mine)
            .build(),
    )
    .service(
        Endpoint::new("/api/v1/notifications/user/{user_id}")
            .get(of_user)
            .build(),
    )
    .service(
        Endpoint::new("/api/v1/notifications/{id}/read")
            .put(mark_read)
            .patch(mark_read)
            .build(),
    )
    .service(
        Endpoint::new("/api/v1/notifications/{id}")
            .delete(delete)
            .build(),
    );
}

/// NotificationOut.
#[must_use]
pub fn notification_out(n: &Notification) -> Value {
    json!({
        "id": n.id.get(),
        "type": n.type_notification.as_str(),
        "canal": n.canal.as_str(),
        "titre": n.titre,
        "contenu": n.contenu,
        "user_id": n.user_id.get(),
        "intervention_id": n.intervention_id.map(InterventionId::get),
        "date_envoi": timestamp(n.date_envoi),
        "lue": n.lue,
        "read_at": n.read_at.map(timestamp),
    })
}

fn notification_id(raw: &str) -> Result<NotificationId, ApiError> {
    path_id("id", raw)?
        .map(NotificationId::new)
        .ok_or_else(|| ApiError::not_found(NOT_FOUND))
}

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
    let kind = f.enumeration::<TypeNotification>("type", &TypeNotification::wire_values());
    let kind = f.require("type", kind);
    let canal = f.enumeration::<CanalNotification>("canal", &CanalNotification::wire_values());
    let canal = f.require("canal", canal);
    let titre = f.text_max("titre", 255).value();
    let contenu = f.text_max("contenu", 2000).value();
    let user_id = f.id("user_id");
    let user_id = f.require("user_id", user_id);
    let intervention_id = f.id("intervention_id").value().map(InterventionId::new);
    f.finish()?;
    let (Some(type_notification), Some(canal), Some(user_id)) = (kind, canal, user_id) else {
        return Err(ApiError::internal("validated fields missing"));
    };
    let cmd = CreateNotification {
        type_notification,
        canal,
        titre,
        contenu,
        user_id: UserId::new(user_id),
        intervention_id,
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
    Ok(HttpResponse::Ok().json(json!({"message": "Notification marquée comme lue"})))
}

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
    Ok(HttpResponse::Ok().json(json!({"detail": "Notification supprimée"})))
}
