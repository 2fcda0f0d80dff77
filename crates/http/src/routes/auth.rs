//! `/api/v1/auth/*` (API.md §3.2).

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use erp_application::AuthFailure;
use erp_application::auth::LoginInput;
use erp_application::authz::Action;
use erp_domain::password::PlainPassword;
use serde_json::json;

use crate::dto::{token_out, user_out};
use crate::error::ApiError;
use crate::extract::Authenticated;
use crate::extract::client::context_of;
use crate::extract::fields::Fields;
use crate::extract::form::read_auth_fields;
use crate::routing::Endpoint;
use crate::state::AppState;

/// Registers the auth routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/api/v1/auth/token").post(token).build())
        .service(Endpoint::new("/api/v1/auth/login").post(login).build())
        .service(Endpoint::new("/api/v1/auth/refresh").post(refresh).build())
        .service(Endpoint::new("/api/v1/auth/logout").post(logout).build())
        .service(Endpoint::new("/api/v1/auth/me").get(me).build())
        .service(
            Endpoint::new("/api/v1/auth/change-password")
                .post(change_password)
                .build(),
        );
}

/// Runs a blocking use case on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, erp_application::AppError> + Send + 'static,
) -> Result<T, ApiError> {
    // The blocking thread continues the request's span, so the database spans and every log
    // line of the use case carry the request's id.
    let span = tracing::Span::current();
    web::block(move || span.in_scope(f))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(ApiError::from)
}

async fn token(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    sign_in(
        req,
        payload.into_inner(),
        state,
        "Email ou mot de passe incorrect",
    )
    .await
}

async fn login(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    sign_in(req, payload.into_inner(), state, "Identifiants invalides").await
}

async fn sign_in(
    req: HttpRequest,
    payload: Payload,
    state: web::Data<AppState>,
    bad_credentials: &'static str,
) -> Result<HttpResponse, ApiError> {
    let (map, location) = read_auth_fields(&req, payload, false).await?;
    let mut fields = Fields::new(map, location);
    let username = fields.trimmed("username");
    let email = fields.trimmed("email");
    let identifier = match (username, email) {
        (crate::extract::fields::Patch::Value(u), _) => Some(u),
        (_, crate::extract::fields::Patch::Value(e)) => Some(e),
        _ => {
            fields.push(erp_domain::FieldViolation::required("username"));
            None
        }
    };
    if identifier.as_ref().is_some_and(|i| i.chars().count() > 255) {
        fields.push(erp_domain::FieldViolation::too_long("username", 255));
    }
    let password = fields.secret("password", 1024);
    fields.finish()?;
    let (Some(identifier), Some(password)) = (identifier, password) else {
        return Err(ApiError::internal("validated fields missing"));
    };
    let input = LoginInput {
        identifier,
        password: PlainPassword::new(password),
        context: context_of(&req),
    };
    let app = state.app().clone();
    match blocking(move || app.login(input)).await {
        Ok(tokens) => Ok(HttpResponse::Ok().json(token_out(&tokens))),
        Err(e) if e.status_code_value() == StatusCode::UNAUTHORIZED => {
            Err(crate::error::unauthorized(AuthFailure::BadCredentials)
                .with_message(bad_credentials))
        }
        Err(e) => Err(e),
    }
}

async fn refresh(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (map, location) = read_auth_fields(&req, payload.into_inner(), false).await?;
    let mut fields = Fields::new(map, location);
    let token = fields.secret("refresh_token", 1024);
    fields.finish()?;
    let Some(token) = token else {
        return Err(ApiError::internal("validated field missing"));
    };
    let tokens = use_case(&req, &state, move |app, ctx| app.refresh(&token, ctx)).await?;
    Ok(HttpResponse::Ok().json(token_out(&tokens)))
}

async fn logout(
    req: HttpRequest,
    caller: Authenticated,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::OwnAccount).await?;
    // The body is optional and ignored, but must still be a valid one if sent.
    let _ = read_auth_fields(&req, payload.into_inner(), true).await?;
    use_case(&req, &state, move |app, ctx| app.logout(&caller.0, ctx)).await?;
    Ok(HttpResponse::Ok().json(json!({"message": "Déconnexion réussie"})))
}

async fn me(req: HttpRequest, caller: Authenticated) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::OwnAccount).await?;
    Ok(HttpResponse::Ok().json(user_out(&caller.0.user)))
}

async fn change_password(
    req: HttpRequest,
    caller: Authenticated,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::OwnAccount).await?;
    let (map, location) = read_auth_fields(&req, payload.into_inner(), false).await?;
    let mut fields = Fields::new(map, location);
    let current = fields.secret("current_password", 1024);
    let new = fields.secret("new_password", 1024);
    fields.finish()?;
    let (Some(current), Some(new)) = (current, new) else {
        return Err(ApiError::internal("validated fields missing"));
    };
    let (current, new) = (PlainPassword::new(current), PlainPassword::new(new));
    use_case(&req, &state, move |app, ctx| {
        app.change_password(&caller.0, &current, &new, ctx)
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({"message": "Mot de passe changé avec succès"})))
}

/// Runs a use case with the request's context on the blocking pool.
pub(crate) async fn use_case<T: Send + 'static>(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    f: impl FnOnce(
        &erp_application::Application,
        &erp_domain::audit::AuditContext,
    ) -> Result<T, erp_application::AppError>
    + Send
    + 'static,
) -> Result<T, ApiError> {
    let ctx = context_of(req);
    let app = state.app().clone();
    // One span per use case, named by the route it serves, under the request's span; it
    // repeats the request id so that log lines inside it still carry it.
    let span = tracing::info_span!(
        "use_case",
        otel.name = %format!("use_case {} {}", req.method(), req.match_pattern().unwrap_or_default()),
        request_id = ctx.request_id.as_deref().unwrap_or_default(),
    );
    blocking(move || span.in_scope(|| f(&app, &ctx))).await
}
