//! Response bodies in the French wire format (API.md §3).

use actix_web::HttpResponse;
use actix_web::http::header::HeaderValue;
use erp_application::auth::TokenPair;
use erp_domain::User;
use erp_domain::audit::AuditEvent;
use erp_domain::list::Listed;
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

use crate::wire::timestamp;

/// UserOut: never a password or hash.
#[must_use]
pub fn user_out(u: &User) -> Value {
    json!({
        "id": u.id.get(),
        "username": u.username.as_str(),
        "full_name": u.full_name.as_ref().map(|n| n.as_str()),
        "email": u.email.as_str(),
        "role": u.role.as_str(),
        "is_active": u.is_active,
        "client_id": u.client_id.map(|c| c.get()),
        "last_login": u.last_login.map(timestamp),
        "created_at": timestamp(u.created_at),
        "updated_at": timestamp(u.updated_at),
    })
}

/// TokenResponse.
#[must_use]
pub fn token_out(t: &TokenPair) -> Value {
    json!({
        "access_token": t.access_token,
        "refresh_token": t.refresh_token.expose_secret(),
        "token_type": "bearer",
        "expires_in": t.expires_in,
    })
}

/// AuditEventOut.
#[must_use]
pub fn audit_out(e: &AuditEvent) -> Value {
    let ev = &e.event;
    json!({
        "id": e.id.get(),
        "timestamp": timestamp(ev.occurred_at),
        "event_type": ev.event_type.as_str(),
        "success": ev.success,
        "user_id": ev.user_id.map(|u| u.get()),
        "username": ev.username,
        "ip_address": ev.context.ip_address,
        "user_agent": ev.context.user_agent,
        "request_id": ev.context.request_id,
        "resource": ev.resource,
        "action": ev.action,
        "details": ev.details,
    })
}

/// A collection: bare JSON array plus `X-Total-Count`.
#[must_use]
pub fn collection<T>(listed: &Listed<T>, render: impl Fn(&T) -> Value) -> HttpResponse {
    let items: Vec<Value> = listed.items.iter().map(render).collect();
    HttpResponse::Ok()
        .insert_header(("X-Total-Count", HeaderValue::from(listed.total)))
        .json(Value::Array(items))
}
