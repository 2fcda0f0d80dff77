//! The request-context middleware, outermost in the app: request id, timing, the error
//! envelope for every error response, security and CORS headers, and one JSON access-log line.

use std::rc::Rc;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage as _, web};
use tracing::Instrument as _;

use crate::cors;
use crate::error::{ErrorBody, default_for};
use crate::state::AppState;

/// The request id of the current request (accepted from `X-Request-ID` or generated).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The authenticated user's id, left in the request's extensions by the caller's extractor
/// (`crate::extract::caller`) for the access log line (`user_id`).
#[derive(Debug, Clone, Copy)]
pub struct CallerId(pub i64);

/// The route template the request matched (`/api/v1/interventions/{id}`), left in the
/// request's extensions by its endpoint (`crate::routing`), which knows it without matching:
/// `HttpRequest::match_pattern` walks the route table's regular expressions again, about 6 %
/// of a read by id.
#[derive(Debug, Clone)]
pub struct MatchedRoute(pub Rc<str>);

/// The route template of a request, once routed to an endpoint (`None` for an unknown path).
#[must_use]
pub fn route_template(req: &actix_web::HttpRequest) -> Option<Rc<str>> {
    req.extensions()
        .get::<MatchedRoute>()
        .map(|m| Rc::clone(&m.0))
}

/// Whether a client-sent `X-Request-ID` is acceptable: `^[A-Za-z0-9._:-]{1,128}$`.
#[must_use]
pub fn is_valid_request_id(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// The name of the span every request runs in (fields `request_id`, `method`, `path`): the one
/// span whose fields the log lines show.
pub const REQUEST_SPAN: &str = "request";

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const X_RESPONSE_TIME: HeaderName = HeaderName::from_static("x-response-time");
const PERMISSIONS_POLICY: HeaderName = HeaderName::from_static("permissions-policy");

/// The middleware function; wrap the app with `actix_web::middleware::from_fn(request_context)`.
///
/// # Errors
/// Never: every inner error is turned into an enveloped response here.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let request_id = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_valid_request_id(v))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), ToOwned::to_owned);
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let method = req.method().to_string();
    let path = req.path().to_owned();
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .map(ToOwned::to_owned);

    // At the highest level, so that no log filter disables it while letting a line of the
    // request through: a warning logged with `log.level = "warn"` still names its request.
    let span = tracing::error_span!(
        REQUEST_SPAN,
        request_id = %request_id,
        method = %method,
        path = %path
    );
    // Inner services answer errors as responses (handlers' errors are rendered by their
    // route); an `Err` here would come from a middleware breaking that rule. No request is
    // left to build a response from (holding a clone would stop routing from rewriting the
    // request), so it is logged and passed on.
    let res = match next.call(req).instrument(span.clone()).await {
        Ok(res) => res.map_into_boxed_body(),
        Err(e) => {
            span.in_scope(|| tracing::error!(request_id = %request_id, error = %e, "middleware returned an error"));
            return Err(e);
        }
    };
    // With a trace exported, error bodies and the access line name the trace; otherwise the
    // request id is the trace id (API.md §1.5).
    let trace_id = active_trace_id().unwrap_or_else(|| request_id.clone());
    let mut res = envelope_errors(res, &trace_id, &span);

    let headers = res.headers_mut();
    json_charset(headers);
    headers.insert(X_REQUEST_ID, header_value(&request_id));
    let elapsed = started.elapsed();
    headers.insert(
        X_RESPONSE_TIME,
        header_value(&format!("{}ms", elapsed.as_millis())),
    );
    security_headers(headers, state.as_deref().is_some_and(|s| s.http().hsts));
    if path.starts_with("/api/v1") {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if path.starts_with("/api/v1/auth") {
            headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        }
    }
    if let (Some(origin), Some(state)) = (origin.as_deref(), state.as_deref())
        && state.http().cors.allows(origin)
    {
        cors_headers(headers, origin);
    }

    let status = res.status().as_u16();
    let user_id = res.request().extensions().get::<CallerId>().map(|c| c.0);
    if crate::metrics::enabled() {
        let route = route_template(res.request());
        crate::metrics::record_request(
            &method,
            crate::metrics::endpoint_label(route.as_deref()),
            status,
            elapsed,
        );
    }
    let duration_ms = elapsed.as_secs_f64() * 1_000.0;
    span.in_scope(|| {
        tracing::info!(
            target: "http.access",
            request_id = %request_id,
            trace_id = %trace_id,
            user_id,
            method = %method,
            path = %path,
            status_code = status,
            duration_ms,
            "request completed"
        );
    });
    Ok(res)
}

/// The OpenTelemetry trace id of the current request, when one is being recorded.
fn active_trace_id() -> Option<String> {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let cx = tracing::Span::current().context();
    let span = cx.span();
    let sc = span.span_context();
    (sc.is_valid() && sc.is_sampled()).then(|| sc.trace_id().to_string())
}

/// Writes the envelope of every error response: from its [`ErrorBody`] when an `ApiError`
/// produced it, else a generic one for its status (actix's own errors, panics).
fn envelope_errors(
    res: ServiceResponse<BoxBody>,
    trace_id: &str,
    span: &tracing::Span,
) -> ServiceResponse<BoxBody> {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let body = res
        .response()
        .extensions()
        .get::<ErrorBody>()
        .cloned()
        .unwrap_or_else(|| {
            let (code, message) = default_for(status);
            let cause = res.response().error().map(ToString::to_string);
            ErrorBody {
                code,
                message: message.to_owned(),
                details: None,
                internal: cause,
            }
        });
    if let Some(cause) = &body.internal {
        span.in_scope(|| {
            if status.is_server_error() {
                tracing::error!(trace_id, status = status.as_u16(), cause = %cause, "request failed");
            } else {
                tracing::debug!(trace_id, status = status.as_u16(), cause = %cause, "request refused");
            }
        });
    }
    let json = body.to_json(trace_id).to_string();
    let mut res = res.map_body(|head, _| {
        head.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        BoxBody::new(json)
    });
    res.headers_mut().remove(header::CONTENT_LENGTH);
    res
}

/// API.md §1.2: JSON bodies are `application/json; charset=utf-8`. actix's `.json()` writes the
/// bare media type; the charset is added here once instead of at every handler.
fn json_charset(headers: &mut HeaderMap) {
    if headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"application/json"))
    {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
    }
}

fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or(HeaderValue::from_static("invalid"))
}

fn security_headers(headers: &mut HeaderMap, hsts: bool) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
    }
    headers.insert(
        PERMISSIONS_POLICY,
        HeaderValue::from_static("geolocation=(), microphone=(), camera=()"),
    );
    if hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
}

fn cors_headers(headers: &mut HeaderMap, origin: &str) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, header_value(origin));
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(cors::EXPOSE_HEADERS),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_follow_the_contract_pattern() {
        assert!(is_valid_request_id("abc"));
        assert!(is_valid_request_id("a.b_c:d-1"));
        assert!(is_valid_request_id(&"x".repeat(128)));
        assert!(!is_valid_request_id(&"x".repeat(129)));
        assert!(!is_valid_request_id(""));
        assert!(!is_valid_request_id("a b"));
        assert!(!is_valid_request_id("a/b"));
        assert!(!is_valid_request_id("é"));
    }
}
