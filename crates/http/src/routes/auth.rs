//! `/api/v1/auth/*` (API.md §3.2).

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use erp_application::AuthFailure;
use erp_application::auth::LoginInput;
use erp_application::authz::Action;
use erp_domain::FieldViolation;
use erp_domain::password::PlainPassword;
use erp_domain::text::char_len;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{Schema, Type};

use crate::blocking::{hashing_use_case, use_case};
use crate::dto::{MessageOut, TokenOut, UserOut, token_out, user_out};
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::Authenticated;
use crate::extract::client::context_of;
use crate::extract::fields::Fields;
use crate::extract::fields::Patch;
use crate::extract::form::read_auth_fields;
use crate::extract::request::request_body;
use crate::extract::secret::{Jeton, MotDePasse, NouveauMotDePasse};
use crate::extract::wire::{Defaulted, WireValue, inline};
use crate::routing::{Endpoint, RouteTable};
use crate::state::AppState;

/// Registers the auth routes.
pub fn configure(cfg: &mut RouteTable) {
    cfg.service(Endpoint::new("/api/v1/auth/token").post(token))
        .service(Endpoint::new("/api/v1/auth/login").post(login))
        .service(Endpoint::new("/api/v1/auth/refresh").post(refresh))
        .service(Endpoint::new("/api/v1/auth/logout").post(logout))
        .service(Endpoint::new("/api/v1/auth/me").get(me))
        .service(Endpoint::new("/api/v1/auth/change-password").post(change_password));
}

/// A login name or an e-mail address, trimmed; checked by the login itself (the longest one
/// accepted is [`Identifiant::MAX_CHARS`], reported on `username`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identifiant(String);

impl Identifiant {
    /// Most characters.
    pub const MAX_CHARS: usize = erp_domain::user::Email::MAX_CHARS;
}

impl WireValue for Identifiant {
    fn read(f: &mut Fields, name: &str) -> Patch<Self> {
        f.trimmed(name).map(Self)
    }

    fn schema(description: &str, nullable: bool) -> RefOr<Schema> {
        RefOr::T(Schema::Object(
            inline(Type::String, description, nullable)
                .max_length(Some(Self::MAX_CHARS))
                .min_length(Some(1))
                .build(),
        ))
    }
}

request_body! {
    /// `/auth/token` and `/auth/login`: `username` or `email` (`username` wins if both are given).
    /// Other fields (`grant_type`, `scope`…) are ignored.
    pub struct LoginForm {
        /// Login name or e-mail address.
        pub username: Defaulted<Identifiant>,
        /// E-mail address (when `username` is absent).
        pub email: Defaulted<Identifiant>,
        /// Password (never trimmed).
        pub password: MotDePasse,
    }
}

request_body! {
    /// `/auth/refresh`.
    pub struct RefreshForm {
        /// The refresh token of the last TokenResponse.
        pub refresh_token: Jeton,
    }
}

request_body! {
    /// `/auth/change-password`.
    pub struct ChangePasswordForm {
        /// The current password.
        pub current_password: MotDePasse,
        /// The new password (password policy, API.md §1.5; different from the current one).
        pub new_password: NouveauMotDePasse,
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/token",
    tag = "auth",
    summary = "Log in (OAuth2 password form, or JSON)",
    request_body(description = "JSON, form-urlencoded or multipart", content(
        (LoginForm = "application/json"),
        (LoginForm = "application/x-www-form-urlencoded"),
        (LoginForm = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "Tokens of a new session", body = TokenOut),
        (status = 401, description = "\"Email ou mot de passe incorrect\"", body = ErrorEnvelope,
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
        (status = 403, description = "\"Compte désactivé\" (right password, inactive account)", body = ErrorEnvelope),
        (status = 429, description = "Login lockout or rate limit", body = ErrorEnvelope,
            headers(("Retry-After" = i64, description = "Seconds"))),
    ),
)]
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

#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    summary = "Log in",
    request_body(description = "JSON, form-urlencoded or multipart", content(
        (LoginForm = "application/json"),
        (LoginForm = "application/x-www-form-urlencoded"),
        (LoginForm = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "Tokens of a new session", body = TokenOut),
        (status = 401, description = "\"Identifiants invalides\"", body = ErrorEnvelope,
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
        (status = 403, description = "\"Compte désactivé\" (right password, inactive account)", body = ErrorEnvelope),
        (status = 429, description = "Login lockout or rate limit", body = ErrorEnvelope,
            headers(("Retry-After" = i64, description = "Seconds"))),
    ),
)]
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
    // `username` wins over `email`; a missing or too long identifier is reported on `username`.
    let identifier = fields
        .peek_text("username")
        .or_else(|| fields.peek_text("email"));
    let read = LoginForm::read(&mut fields);
    match &identifier {
        None if fields.is_clean_for("username") => {
            fields.push(FieldViolation::required("username"));
        }
        Some(i) if char_len(i) > Identifiant::MAX_CHARS => {
            fields.push(FieldViolation::too_long("username", Identifiant::MAX_CHARS));
        }
        _ => {}
    }
    let body = fields.finish_with(read)?;
    let identifier = identifier.unwrap_or_default();
    let password = body.password.0;
    let input = LoginInput {
        identifier,
        password: PlainPassword::new(password),
        context: context_of(&req),
    };
    match hashing_use_case(&req, &state, true, move |app, _| app.login(input)).await {
        Ok(tokens) => Ok(HttpResponse::Ok().json(token_out(&tokens))),
        Err(e) if e.status_code_value() == StatusCode::UNAUTHORIZED => {
            Err(crate::error::unauthorized(AuthFailure::BadCredentials)
                .with_message(bad_credentials))
        }
        Err(e) => Err(e),
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/refresh",
    tag = "auth",
    summary = "Rotate a refresh token",
    request_body(description = "JSON, form-urlencoded or multipart", content(
        (RefreshForm = "application/json"),
        (RefreshForm = "application/x-www-form-urlencoded"),
        (RefreshForm = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "New tokens of the same session", body = TokenOut),
        (status = 401, description = "\"Refresh token invalide\" (reuse revokes the session)", body = ErrorEnvelope,
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
    ),
)]
async fn refresh(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (map, location) = read_auth_fields(&req, payload.into_inner(), false).await?;
    let mut fields = Fields::new(map, location);
    let read = RefreshForm::read(&mut fields);
    let token = fields.finish_with(read)?.refresh_token.0;
    let tokens = use_case(&req, &state, move |app, ctx| app.refresh(&token, ctx)).await?;
    Ok(HttpResponse::Ok().json(token_out(&tokens)))
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "auth",
    summary = "Log out: revoke the caller's session",
    request_body(description = "Optional and ignored", content(
        (Object = "application/json"),
        (Object = "application/x-www-form-urlencoded"),
    )),
    security(("bearer" = [])),
    responses((status = 200, description = "\"Déconnexion réussie\"", body = MessageOut)),
)]
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
    Ok(HttpResponse::Ok().json(MessageOut {
        message: "Déconnexion réussie",
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/auth/me",
    tag = "auth",
    summary = "The caller",
    security(("bearer" = [])),
    responses((status = 200, description = "The caller's account", body = UserOut)),
)]
async fn me(req: HttpRequest, caller: Authenticated) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::OwnAccount).await?;
    Ok(HttpResponse::Ok().json(user_out(&caller.0.user)))
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/change-password",
    tag = "auth",
    summary = "Change the caller's password (ends all their sessions)",
    request_body(description = "JSON, form-urlencoded or multipart", content(
        (ChangePasswordForm = "application/json"),
        (ChangePasswordForm = "application/x-www-form-urlencoded"),
        (ChangePasswordForm = "multipart/form-data"),
    )),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "\"Mot de passe changé avec succès\"", body = MessageOut),
        (status = 400, description = "\"Mot de passe actuel incorrect\"", body = ErrorEnvelope),
    ),
)]
async fn change_password(
    req: HttpRequest,
    caller: Authenticated,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&req, Action::OwnAccount).await?;
    let (map, location) = read_auth_fields(&req, payload.into_inner(), false).await?;
    let mut fields = Fields::new(map, location);
    let read = ChangePasswordForm::read(&mut fields);
    let body = fields.finish_with(read)?;
    let (current, new) = (
        PlainPassword::new(body.current_password.0),
        PlainPassword::new(body.new_password.0),
    );
    hashing_use_case(&req, &state, true, move |app, ctx| {
        app.change_password(&caller.0, &current, &new, ctx)
    })
    .await?;
    Ok(HttpResponse::Ok().json(MessageOut {
        message: "Mot de passe changé avec succès",
    }))
}
