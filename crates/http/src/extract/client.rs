//! The request context every use case receives: request id, client IP (API.md §1.7) and user
//! agent.

use std::future::{Ready, ready};
use std::net::IpAddr;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, web};
use erp_domain::audit::AuditContext;
use erp_domain::session::truncate_user_agent;

use crate::error::ApiError;
use crate::middleware::RequestId;
use crate::state::AppState;

/// The client IP: the socket peer, unless the peer is a trusted proxy — then the right-most
/// `X-Forwarded-For` address that is not a trusted proxy.
#[must_use]
pub fn client_ip(req: &HttpRequest, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip())?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = req
        .headers()
        .get_all(header::X_FORWARDED_FOR)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !trusted.contains(ip))
            .unwrap_or(peer),
    )
}

/// Extracts the [`AuditContext`] of a request.
#[derive(Debug, Clone)]
pub struct ClientContext(pub AuditContext);

/// Builds the context from a request.
#[must_use]
pub fn context_of(req: &HttpRequest) -> AuditContext {
    let trusted = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.http().trusted_proxies.clone())
        .unwrap_or_default();
    AuditContext {
        request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()),
        ip_address: client_ip(req, &trusted).map(|ip| ip.to_string()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn req(peer: &str, xff: Option<&str>) -> HttpRequest {
        let mut r = TestRequest::default().peer_addr(format!("{peer}:4000").parse().unwrap());
        if let Some(x) = xff {
            r = r.insert_header(("X-Forwarded-For", x));
        }
        r.to_http_request()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let inner: IpAddr = "10.0.0.2".parse().unwrap();
        let trusted = [proxy, inner];
        assert_eq!(
            client_ip(&req("203.0.113.9", Some("1.2.3.4")), &trusted),
            "203.0.113.9".parse().ok()
        );
        assert_eq!(
            client_ip(&req("10.0.0.1", Some("1.2.3.4")), &trusted),
            "1.2.3.4".parse().ok()
        );
        assert_eq!(
            client_ip(
                &req("10.0.0.1", Some("6.6.6.6, 1.2.3.4, 10.0.0.2")),
                &trusted
            ),
            "1.2.3.4".parse().ok()
        );
        assert_eq!(client_ip(&req("10.0.0.1", None), &trusted), Some(proxy));
        assert_eq!(
            client_ip(&req("10.0.0.1", Some("garbage")), &trusted),
            Some(proxy)
        );
    }
}
