//! Running use cases on actix's blocking pool, in the request's span and with its context
//! ([`AuditContext`]): every handler's way into the application.

use actix_web::{HttpRequest, web};
use erp_application::{AppError, Application};
use erp_domain::audit::AuditContext;

use crate::error::ApiError;
use crate::extract::client::context_of;
use crate::middleware::route_template;
use crate::state::AppState;

/// Runs a blocking use case on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, ApiError> {
    // The blocking thread continues the request's span, so the database spans and every log
    // line of the use case carry the request's id.
    let span = tracing::Span::current();
    web::block(move || span.in_scope(f))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(ApiError::from)
}

/// Runs a use case with the request's context on the blocking pool.
pub(crate) async fn use_case<T: Send + 'static>(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    f: impl FnOnce(&Application, &AuditContext) -> Result<T, AppError> + Send + 'static,
) -> Result<T, ApiError> {
    in_use_case(req, state, f).await?.map_err(ApiError::from)
}

/// Runs `f` with the request's context on the blocking pool, in the use case's span; the
/// error is the pool's (a panic or a shutdown), `f`'s result is returned as it is.
pub(crate) async fn in_use_case<T: Send + 'static>(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    f: impl FnOnce(&Application, &AuditContext) -> T + Send + 'static,
) -> Result<T, ApiError> {
    let ctx = context_of(req);
    let app = state.app().clone();
    // One span per use case for the exported trace, named by the route it serves, under the
    // request's span (the one the log lines show, so that lines of the use case name the
    // request); it repeats the request id for whoever reads the trace alone.
    let span = tracing::info_span!(
        "use_case",
        otel.name = %format!("use_case {} {}", req.method(), route_template(req).unwrap_or_default()),
        request_id = ctx.request_id.as_deref().unwrap_or_default(),
    );
    blocking(move || Ok(span.in_scope(|| f(&app, &ctx)))).await
}

/// [`use_case`] for one that may hash a password (`hashes`): it first waits for a hashing
/// slot without holding a blocking thread, and afterwards gives the hasher's 19 MiB of working
/// memory back unless another such request is already waiting for it.
pub(crate) async fn hashing_use_case<T: Send + 'static>(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    hashes: bool,
    f: impl FnOnce(&Application, &AuditContext) -> Result<T, AppError> + Send + 'static,
) -> Result<T, ApiError> {
    if !hashes {
        return use_case(req, state, f).await;
    }
    let _slot = state.hashing_slot().await;
    let queue = state.clone();
    use_case(req, state, move |app, ctx| {
        let done = f(app, ctx);
        if !queue.hashes_waiting() {
            app.release_hashing_memory();
        }
        done
    })
    .await
}
