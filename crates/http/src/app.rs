//! The app factory: the one place where routes, middleware and app data are assembled, used
//! by the server for every worker and by the in-process tests.

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{Condition, NormalizePath, TrailingSlash, from_fn};
use actix_web::{App, Error, HttpResponse, web};

use crate::error::ApiError;
use crate::extract::JsonLimit;
use crate::middleware::request_context;
use crate::routes::docs::OpenApiJson;
use crate::routes::{probes, route_table, route_table_with};
use crate::routing::RouteTable;
use crate::state::AppState;

/// Builds the application: the API listener. With an admin listener
/// ([`HttpSettings::admin_listener`](crate::HttpSettings)), `/metrics` and `/health*` are left
/// to [`admin_app`] and answer 404 here.
pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<BoxBody>,
        Error = Error,
        InitError = (),
    >,
> {
    let json_limit = JsonLimit(state.http().json_limit);
    let traced = state.http().traced;
    let table = route_table_with(!state.http().admin_listener);
    App::new()
        .app_data(web::Data::new(state))
        .app_data(json_limit)
        .app_data(web::Data::new(OpenApiJson(crate::openapi::document_json)))
        .configure(|cfg| table.register(cfg))
        .default_service(web::to(unknown_route))
        // Registered last, so it runs first: a trailing slash is stripped before routing.
        .wrap(NormalizePath::new(TrailingSlash::Trim))
        .wrap(from_fn(request_context))
        // Outermost, when traces are exported: the root span of every request, continuing an
        // incoming `traceparent`. Not installed otherwise: it builds its span's dozen fields
        // (matching the route once more) whether or not anything records them.
        .wrap(Condition::new(
            traced,
            tracing_actix_web::TracingLogger::default(),
        ))
        .wrap(from_fn(boxed_body))
}

/// The admin listener (`server.admin_port`): `/metrics`, `/health`, `/health/detailed`,
/// `/live` and `/ready` at the root, nothing else. Same envelope, headers and request ids as
/// the API; no traces (scrapes would drown them).
pub fn admin_app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<BoxBody>,
        Error = Error,
        InitError = (),
    >,
> {
    let mut table = RouteTable::new();
    for endpoint in probes::endpoints("") {
        table.service(endpoint);
    }
    App::new()
        .app_data(web::Data::new(state))
        .configure(|cfg| table.register(cfg))
        .default_service(web::to(unknown_route))
        .wrap(NormalizePath::new(TrailingSlash::Trim))
        .wrap(from_fn(request_context))
        .wrap(from_fn(boxed_body))
}

/// Erases the body type the tracing middleware wraps responses in.
async fn boxed_body(
    req: ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// Every route of the API.
pub fn routes(cfg: &mut web::ServiceConfig) {
    route_table().register(cfg);
}

async fn unknown_route() -> Result<HttpResponse<BoxBody>, ApiError> {
    Err(ApiError::status(actix_web::http::StatusCode::NOT_FOUND))
}
