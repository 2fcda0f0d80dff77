//! The request context every use case receives: request id, client IP (API.md §1.7) and user
//! agent.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, web};
use erp_domain::audit::AuditContext;
use erp_domain::session::truncate_user_agent;

use crate::error::ApiError;
use crate::middleware::RequestId;
use crate::proxy::{TrustedProxies, client_ip};
use crate::state::AppState;

/// Extracts the [`AuditContext`] of a request.
#[derive(Debug, Clone)]
pub struct ClientContext(pub AuditContext);

/// Builds the context from a request.
#[must_use]
pub fn context_of(req: &HttpRequest) -> AuditContext {
    let ip = match req.app_data::<web::Data<AppState>>() {
        Some(state) => client_ip(req, &state.http().trusted_proxies),
        None => client_ip(req, &TrustedProxies::default()),
    };
    AuditContext {
        request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()),
        ip_address: ip.map(|ip| ip.to_string()),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(truncate_user_agent),
    }
}

impl FromRequest for ClientContext {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self(context_of(req))))
    }
}
