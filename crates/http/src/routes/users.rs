//! `/api/v1/users*` (API.md §3.3).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use erp_application::authz::Action;
use erp_application::users::{CreateUser, UpdateMe as UpdateMeCommand, UpdateUser};
use erp_domain::password::PlainPassword;
use erp_domain::user::{UserFilter, UserRole, UserSortField};
use erp_domain::{ClientId, UserId};

use crate::blocking::{hashing_use_case, use_case};
use crate::dto::{UserOut, collection, user_out};
use crate::error::{ApiError, ErrorEnvelope, Location};
use crate::extract::fields::Fields;
use crate::extract::query::Query;
use crate::extract::{Authenticated, read_json_object};
use crate::openapi::params;
use crate::routes::ids::path_id;
use crate::routing::{Endpoint, RouteTable};
use crate::state::AppState;

const NOT_FOUND: &str = "Utilisateur non trouvé.";

/// Registers the users routes; literal segments before `{id}`.
pub fn configure(cfg: &mut RouteTable) {
    cfg.service(Endpoint::new("/api/v1/users").get(list).post(create))
        .service(Endpoint::new("/api/v1/users/me").get(me))
        .service(Endpoint::new("/api/v1/users/update").put(update_me))
        .service(
            Endpoint::new("/api/v1/users/{id}")
                .get(get)
                .put(update)
                .patch(update)
                .delete(deactivate),
        )
        .service(Endpoint::new("/api/v1/users/{id}/activate").patch(activate));
}

mod input;

use input::{READ_ONLY_FOR_SELF, require_current_password};
pub use input::{UpdateMe, UserCreate, UserUpdate};

fn user_id(raw: &str) -> Result<UserId, ApiError> {
    path_id("id", raw)?
        .map(UserId::new)
        .ok_or_else(|| ApiError::not_found(NOT_FOUND))
}

fn created(user: &erp_domain::User) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/users/{}", user.id)))
        .json(user_out(user))
}

#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "users",
    summary = "Create a user",
    request_body(content((UserCreate = "application/json"))),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = UserOut, headers(("Location" = String, description = "The new user's URL"))),
        (status = 409, description = "\"Email déjà utilisé.\" or \"Username déjà utilisé.\"", body = ErrorEnvelope),
        (status = 404, description = "\"Compte client introuvable\"", body = ErrorEnvelope),
    ),
)]
async fn create(
    req: HttpRequest,
    caller: Authenticated,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ManageUsers).await?;
    let mut f = Fields::new(
        read_json_object(&req, payload.into_inner()).await?,
        Location::Body,
    );
    let read = UserCreate::read(&mut f);
    let body = f.finish_with(read)?;
    let cmd = CreateUser {
        username: body.username,
        full_name: body.full_name,
        email: body.email,
        role: body.role,
        password: PlainPassword::new(body.password.0),
        is_active: body.is_active.0.unwrap_or(true),
        client_id: body.client_id,
    };
    let user = hashing_use_case(&req, &state, true, move |app, ctx| {
        app.create_user(&caller.0, cmd, ctx)
    })
    .await?;
    Ok(created(&user))
}

#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "users",
    summary = "List users",
    params(params::UserQuery, params::Page),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Users", body = Vec<UserOut>, headers(("X-Total-Count" = i64, description = "Rows matching the filters, ignoring limit/offset"))),
    ),
)]
async fn list(
    req: HttpRequest,
    caller: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ManageUsers).await?;
    let mut q = Query::of(&req);
    let filter = UserFilter {
        roles: q.enum_list("role", &UserRole::wire_values()),
        is_active: q.boolean("is_active"),
        client_id: q.id("client_id").map(ClientId::new),
        search: q.text("search"),
    };
    let sort = q.sort(UserSortField::parse, &UserSortField::NAMES, &[]);
    let page = q.page();
    q.finish()?;
    let listed = use_case(&req, &state, move |app, _| {
        app.list_users(&caller.0, &filter, &sort, page)
    })
    .await?;
    Ok(collection(&listed, user_out))
}

#[utoipa::path(
    get,
    path = "/api/v1/users/me",
    tag = "users",
    summary = "The caller",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's account", body = UserOut),
    ),
)]
async fn me(req: HttpRequest, caller: Authenticated) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::OwnAccount).await?;
    Ok(HttpResponse::Ok().json(user_out(&caller.0.user)))
}

#[utoipa::path(
    get,
    path = "/api/v1/users/{id}",
    tag = "users",
    summary = "Get a user",
    params(("id" = i64, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user", body = UserOut),
        (status = 404, description = "\"Utilisateur non trouvé.\"", body = ErrorEnvelope),
    ),
)]
async fn get(
    req: HttpRequest,
    caller: Authenticated,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ManageUsers).await?;
    let id = user_id(&id)?;
    let user = use_case(&req, &state, move |app, _| app.get_user(&caller.0, id)).await?;
    Ok(HttpResponse::Ok().json(user_out(&user)))
}

#[utoipa::path(
    method(put, patch),
    path = "/api/v1/users/{id}",
    tag = "users",
    summary = "Update a user (partial)",
    params(("id" = i64, Path, description = "User id")),
    request_body(content((UserUpdate = "application/json"))),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The updated user", body = UserOut),
        (status = 404, description = "\"Utilisateur non trouvé.\"", body = ErrorEnvelope),
        (status = 409, description = "Email/username taken, last active admin, or role change of a technicien", body = ErrorEnvelope),
    ),
)]
async fn update(
    req: HttpRequest,
    caller: Authenticated,
    id: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ManageUsers).await?;
    let raw_id = id.into_inner();
    let mut f = Fields::new(
        read_json_object(&req, payload.into_inner()).await?,
        Location::Body,
    );
    let read = UserUpdate::read(&mut f);
    let body = f.finish_with(read)?;
    let id = user_id(&raw_id)?;
    let cmd = UpdateUser {
        username: body.username.0,
        full_name: body.full_name.into_option(),
        email: body.email.0,
        role: body.role.0,
        is_active: body.is_active.0,
        password: body.password.0.map(|p| PlainPassword::new(p.0)),
        client_id: body.client_id.into_option(),
    };
    let hashes = cmd.password.is_some();
    let user = hashing_use_case(&req, &state, hashes, move |app, ctx| {
        app.update_user(&caller.0, id, cmd, ctx)
    })
    .await?;
    Ok(HttpResponse::Ok().json(user_out(&user)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}",
    tag = "users",
    summary = "Deactivate a user (soft delete, idempotent)",
    params(("id" = i64, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deactivated; all their sessions end"),
        (status = 404, description = "\"Utilisateur non trouvé.\"", body = ErrorEnvelope),
        (status = 409, description = "\"Impossible de retirer le dernier administrateur actif\"", body = ErrorEnvelope),
    ),
)]
async fn deactivate(
    req: HttpRequest,
    caller: Authenticated,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ManageUsers).await?;
    let id = user_id(&id)?;
    use_case(&req, &state, move |app, ctx| {
        app.deactivate_user(&caller.0, id, ctx)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    patch,
    path = "/api/v1/users/{id}/activate",
    tag = "users",
    summary = "Reactivate a user (idempotent)",
    params(("id" = i64, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user, active", body = UserOut),
        (status = 404, description = "\"Utilisateur non trouvé.\"", body = ErrorEnvelope),
    ),
)]
async fn activate(
    req: HttpRequest,
    caller: Authenticated,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::ManageUsers).await?;
    let id = user_id(&id)?;
    let user = use_case(&req, &state, move |app, ctx| {
        app.activate_user(&caller.0, id, ctx)
    })
    .await?;
    Ok(HttpResponse::Ok().json(user_out(&user)))
}

#[utoipa::path(
    put,
    path = "/api/v1/users/update",
    tag = "users",
    summary = "Update the caller's own account",
    request_body(content((UpdateMe = "application/json"))),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The updated account", body = UserOut),
        (status = 400, description = "\"Mot de passe actuel incorrect\"", body = ErrorEnvelope),
        (status = 429, description = "Login lockout (wrong current password) or rate limit", body = ErrorEnvelope),
    ),
)]
async fn update_me(
    req: HttpRequest,
    caller: Authenticated,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::OwnAccount).await?;
    let mut f = Fields::new(
        read_json_object(&req, payload.into_inner()).await?,
        Location::Body,
    );
    f.read_only(&READ_ONLY_FOR_SELF, "Champ non modifiable");
    let read = UpdateMe::read(&mut f);
    require_current_password(&mut f);
    let body = f.finish_with(read)?;
    let full_name = body.full_name.into_option();
    let password = match (body.password.0, body.current_password.0) {
        (Some(new), Some(current)) => {
            Some((PlainPassword::new(new.0), PlainPassword::new(current.0)))
        }
        _ => None,
    };
    let cmd = UpdateMeCommand {
        full_name,
        password,
    };
    let hashes = cmd.password.is_some();
    let user = hashing_use_case(&req, &state, hashes, move |app, ctx| {
        app.update_me(&caller.0, cmd, ctx)
    })
    .await?;
    Ok(HttpResponse::Ok().json(user_out(&user)))
}
