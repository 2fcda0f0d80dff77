//! Response bodies in the French wire format (API.md §3): typed structs, so that the served
//! JSON and the OpenAPI schema come from one definition and cannot drift.

use actix_web::HttpResponse;
use actix_web::http::header::HeaderValue;
use erp_application::auth::TokenPair;
use erp_domain::User;
use erp_domain::audit::AuditEvent;
use erp_domain::list::Listed;
use secrecy::ExposeSecret as _;
use serde::Serialize;
use utoipa::ToSchema;

use crate::openapi::schema::{self, Ts};

/// UserOut: never a password or hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    /// User id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Display name.
    pub full_name: Option<String>,
    /// E-mail address, lowercased.
    pub email: String,
    /// Role.
    #[schema(value_type = schema::UserRole)]
    pub role: &'static str,
    /// Whether the account may sign in.
    pub is_active: bool,
    /// Client account of a `client` user.
    pub client_id: Option<i64>,
    /// Last successful login.
    pub last_login: Option<Ts>,
    /// Creation time.
    pub created_at: Ts,
    /// Last change.
    pub updated_at: Ts,
}

/// UserOut of a user.
#[must_use]
pub fn user_out(u: &User) -> UserOut {
    UserOut {
        id: u.id.get(),
        username: u.username.as_str().to_owned(),
        full_name: u.full_name.as_ref().map(|n| n.as_str().to_owned()),
        email: u.email.as_str().to_owned(),
        role: u.role.as_str(),
        is_active: u.is_active,
        client_id: u.client_id.map(|c| c.get()),
        last_login: u.last_login.map(Ts::from),
        created_at: u.created_at.into(),
        updated_at: u.updated_at.into(),
    }
}

/// TokenResponse (API.md §3.2).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenOut {
    /// JWT access token.
    pub access_token: String,
    /// Opaque refresh token (43 base64url characters).
    pub refresh_token: String,
    /// Always `bearer`.
    #[schema(value_type = String, pattern = "^bearer$")]
    pub token_type: &'static str,
    /// Access-token lifetime in seconds.
    pub expires_in: i64,
}

/// TokenResponse of a token pair.
#[must_use]
pub fn token_out(t: &TokenPair) -> TokenOut {
    TokenOut {
        access_token: t.access_token.clone(),
        refresh_token: t.refresh_token.expose_secret().to_owned(),
        token_type: "bearer",
        expires_in: t.expires_in,
    }
}

/// AuditEventOut (API.md §3.11).
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventOut {
    /// Event id.
    pub id: i64,
    /// When it happened.
    pub timestamp: Ts,
    /// Event type.
    #[schema(value_type = schema::AuditEventTypeName)]
    pub event_type: &'static str,
    /// Whether the audited operation succeeded.
    pub success: bool,
    /// Acting user.
    pub user_id: Option<i64>,
    /// Acting user's name (or the identifier typed at login).
    pub username: Option<String>,
    /// Client IP.
    pub ip_address: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
    /// Target, e.g. `user:5`.
    pub resource: Option<String>,
    /// Action on the target.
    pub action: Option<String>,
    /// Event-specific details.
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

/// AuditEventOut of an event.
#[must_use]
pub fn audit_out(e: &AuditEvent) -> AuditEventOut {
    let ev = &e.event;
    AuditEventOut {
        id: e.id.get(),
        timestamp: ev.occurred_at.into(),
        event_type: ev.event_type.as_str(),
        success: ev.success,
        user_id: ev.user_id.map(|u| u.get()),
        username: ev.username.clone(),
        ip_address: ev.context.ip_address.clone(),
        user_agent: ev.context.user_agent.clone(),
        request_id: ev.context.request_id.clone(),
        resource: ev.resource.clone(),
        action: ev.action.clone(),
        details: ev.details.clone(),
    }
}

/// `{"message": …}` confirmations.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageOut {
    /// French confirmation.
    pub message: &'static str,
}

/// `{"detail": …}` confirmations of deletions.
#[derive(Debug, Serialize, ToSchema)]
pub struct DetailOut {
    /// French confirmation.
    pub detail: &'static str,
}

/// A collection: bare JSON array plus `X-Total-Count`.
#[must_use]
pub fn collection<T, R: Serialize>(listed: &Listed<T>, render: impl Fn(&T) -> R) -> HttpResponse {
    let items: Vec<R> = listed.items.iter().map(render).collect();
    HttpResponse::Ok()
        .insert_header(("X-Total-Count", HeaderValue::from(listed.total)))
        .json(items)
}
