//! Resource builder: every route gets the envelope 405 with `Allow`, and CORS preflights on the
//! paths that exist (unknown paths stay 404, as API.md §1.5's precedence wants). The routes are
//! collected in a [`RouteTable`] before they are handed to actix, so that the table of
//! `(method, path)` pairs the app serves can be compared with the OpenAPI document.

use std::rc::Rc;

use actix_web::HttpMessage as _;
use actix_web::body::BoxBody;
use actix_web::dev::{HttpServiceFactory, ServiceRequest};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::{Next, from_fn};
use actix_web::{FromRequest, Handler, HttpRequest, HttpResponse, Responder, Route, web};

use crate::cors;
use crate::error::ApiError;
use crate::metrics::InFlight;
use crate::middleware::MatchedRoute;
use crate::state::AppState;

/// A path and its handlers, one per method.
pub struct Endpoint {
    path: String,
    routes: Vec<(Method, Route)>,
    rate_limited: bool,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let methods: Vec<&Method> = self.routes.iter().map(|(m, _)| m).collect();
        f.debug_struct("Endpoint")
            .field("path", &self.path)
            .field("methods", &methods)
            .finish()
    }
}

/// Every endpoint of the app, in registration order (literal segments before `{id}` ones).
#[derive(Debug, Default)]
pub struct RouteTable {
    endpoints: Vec<Endpoint>,
}

/// One `(method, path template)` pair the app serves.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Operation {
    /// HTTP method.
    pub method: Method,
    /// Path template as registered (`/api/v1/users/{id}`).
    pub path: String,
    /// Counted by the general rate limit.
    pub rate_limited: bool,
}

impl RouteTable {
    /// An empty table.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an endpoint.
    pub fn service(&mut self, endpoint: Endpoint) -> &mut Self {
        self.endpoints.push(endpoint);
        self
    }

    /// The served `(method, path)` pairs, without the `OPTIONS` and 405 fallbacks every
    /// endpoint also answers.
    #[must_use]
    pub fn operations(&self) -> Vec<Operation> {
        self.endpoints
            .iter()
            .flat_map(|e| {
                e.routes.iter().map(|(method, _)| Operation {
                    method: method.clone(),
                    path: e.path.clone(),
                    rate_limited: e.rate_limited,
                })
            })
            .collect()
    }

    /// Hands every endpoint to actix.
    pub fn register(self, cfg: &mut web::ServiceConfig) {
        for endpoint in self.endpoints {
            cfg.service(endpoint.build());
        }
    }
}

impl Endpoint {
    /// An endpoint at `path` (a single trailing slash is stripped before routing).
    #[must_use]
    pub fn new(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            routes: Vec::new(),
            rate_limited: true,
        }
    }

    /// Exempts the endpoint from the general rate limit (probes, metrics).
    #[must_use]
    pub fn without_rate_limit(mut self) -> Self {
        self.rate_limited = false;
        self
    }

    fn on<F, Args>(mut self, method: Method, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.routes
            .push((method.clone(), web::method(method).to(handler)));
        self
    }

    /// Adds a `GET` handler.
    #[must_use]
    pub fn get<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.on(Method::GET, handler)
    }

    /// Adds a `POST` handler.
    #[must_use]
    pub fn post<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.on(Method::POST, handler)
    }

    /// Adds a `PUT` handler.
    #[must_use]
    pub fn put<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.on(Method::PUT, handler)
    }

    /// Adds a `PATCH` handler.
    #[must_use]
    pub fn patch<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.on(Method::PATCH, handler)
    }

    /// Adds a `DELETE` handler.
    #[must_use]
    pub fn delete<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.on(Method::DELETE, handler)
    }

    /// The actix resource: the routes, `OPTIONS` (preflight), and the 405 fallback.
    #[must_use]
    pub fn build(self) -> impl HttpServiceFactory {
        let methods: Vec<Method> = self.routes.iter().map(|(m, _)| m.clone()).collect();
        let rate_limited = self.rate_limited;
        let mut allow: Vec<String> = self.routes.iter().map(|(m, _)| m.to_string()).collect();
        allow.push("OPTIONS".to_owned());
        let allow = allow.join(", ");
        let template: Rc<str> = Rc::from(self.path.as_str());
        let mut resource = web::resource(self.path);
        for (_, route) in self.routes {
            resource = resource.route(route);
        }
        let allow_for_options = allow.clone();
        resource
            .route(web::method(Method::OPTIONS).to(move |req: HttpRequest| {
                let allow = allow_for_options.clone();
                async move { options(&req, &allow) }
            }))
            .default_service(web::to(move || {
                let allow = allow.clone();
                async move { Err::<HttpResponse, _>(ApiError::method_not_allowed(&allow)) }
            }))
            .wrap(from_fn(move |req: ServiceRequest, next: Next<BoxBody>| {
                // Routing (404/405) and preflights come before the rate limit (API.md §1.5).
                let counted = rate_limited && methods.contains(req.method());
                // The route's template, known here without matching again, for the metrics'
                // `endpoint` label and the use-case spans.
                req.extensions_mut()
                    .insert(MatchedRoute(Rc::clone(&template)));
                let in_flight = crate::metrics::enabled()
                    .then(|| InFlight::start(req.method().as_str(), &template));
                async move {
                    let _in_flight = in_flight;
                    if counted && let Some(rejection) = rate_limit(&req).await {
                        return Ok(req.error_response(rejection));
                    }
                    next.call(req).await
                }
            }))
    }
}

/// Counts the request against its IP's window; the 429 when over the limit. The first
/// rejection of an IP in a window is audited in the background (never a write on the request's
/// path).
async fn rate_limit(req: &ServiceRequest) -> Option<ApiError> {
    let state = req.app_data::<web::Data<AppState>>()?;
    let ip = crate::proxy::client_ip(req.request(), &state.http().trusted_proxies)?;
    let key = crate::proxy::limit_key(ip);
    match state.limiter().decide(key, state.clock().now()).await {
        crate::rate_limit::Decision::Allowed => None,
        crate::rate_limit::Decision::Rejected { retry_after, first } => {
            metrics::counter!("rate_limit_rejections_total").increment(1);
            if first {
                let app = state.app().clone();
                let ctx = crate::extract::client::context_of(req.request());
                let limit = state.limiter().limit();
                actix_web::rt::spawn(async move {
                    let _ = web::block(move || app.record_rate_limited(&ctx, limit)).await;
                });
            }
            Some(crate::error::too_many_requests(
                format!("Trop de requêtes. Réessayez dans {retry_after} secondes."),
                retry_after,
            ))
        }
    }
}

/// A CORS preflight (with `Access-Control-Request-Method`) or a plain `OPTIONS`.
fn options(req: &HttpRequest, allow: &str) -> Result<HttpResponse, ApiError> {
    if !req
        .headers()
        .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        return Ok(HttpResponse::NoContent()
            .insert_header((header::ALLOW, allow.to_owned()))
            .finish());
    }
    let allowed = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .zip(req.app_data::<web::Data<AppState>>())
        .is_some_and(|(origin, state)| state.http().cors.allows(origin));
    if !allowed {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "Origine non autorisée",
        ));
    }
    Ok(HttpResponse::NoContent()
        .insert_header((
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(cors::ALLOW_METHODS),
        ))
        .insert_header((
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(cors::ALLOW_HEADERS),
        ))
        .insert_header((
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(cors::MAX_AGE_SECONDS),
        ))
        .finish())
}
