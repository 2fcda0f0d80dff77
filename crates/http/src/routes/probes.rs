//! Root, liveness, readiness and health (API.md §3.1). Public; `/live` never touches the
//! database; `/ready` and `/health` answer within the probe timeout even when it hangs.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::{HttpResponse, web};
use erp_application::health::{self, CheckStatus, DatabaseCheck, MigrationsCheck, PROBE_TIMEOUT};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorEnvelope};
use crate::openapi::schema::Ts;
use crate::routing::Endpoint;
use crate::state::AppState;

/// The prefix under which the probes, `/metrics` and `/openapi.json` are served a second time
/// (API.md §1.1: both at the root and under `/api/v1`).
pub const API_PREFIX: &str = "/api/v1";

/// The probes and `/metrics` under `prefix` (`""` for the root, or [`API_PREFIX`]).
#[must_use]
pub fn endpoints(prefix: &str) -> Vec<Endpoint> {
    let mut all = probe_endpoints(prefix);
    all.extend(operational_endpoints(prefix));
    all
}

/// `/live` and `/ready` under `prefix`: served on the API port whatever the listeners, since
/// load balancers and kubelets probe the port they route to.
#[must_use]
pub fn probe_endpoints(prefix: &str) -> Vec<Endpoint> {
    exempt([
        Endpoint::new(format!("{prefix}/live")).get(live),
        Endpoint::new(format!("{prefix}/ready")).get(ready),
    ])
}

/// `/health`, `/health/detailed` and `/metrics` under `prefix`: the operational endpoints that
/// `server.admin_port` moves off the API port (each runs database queries; their detail is for
/// operators, not clients).
#[must_use]
pub fn operational_endpoints(prefix: &str) -> Vec<Endpoint> {
    exempt([
        Endpoint::new(format!("{prefix}/health")).get(health),
        Endpoint::new(format!("{prefix}/health/detailed")).get(health_detailed),
        Endpoint::new(format!("{prefix}/metrics")).get(metrics),
    ])
}

/// Probes are exempt from the rate limit (API.md §1.7).
fn exempt<const N: usize>(endpoints: [Endpoint; N]) -> Vec<Endpoint> {
    endpoints
        .into_iter()
        .map(Endpoint::without_rate_limit)
        .collect()
}

/// The body of `GET /`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RootOut {
    /// Welcome message.
    #[schema(example = "Bienvenue sur l'API ERP MIF Maroc")]
    pub message: &'static str,
    /// Build version.
    pub version: String,
    /// The interactive documentation.
    #[schema(example = "/docs")]
    pub docs: &'static str,
    /// The OpenAPI document.
    #[schema(example = "/openapi.json")]
    pub openapi: &'static str,
}

/// `GET /`.
#[utoipa::path(
    get,
    path = "/",
    tag = "probes",
    summary = "Welcome document",
    responses((status = 200, description = "Name, version and documentation links", body = RootOut)),
)]
pub async fn root(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(RootOut {
        message: "Bienvenue sur l'API ERP MIF Maroc",
        version: state.service().version.clone(),
        docs: "/docs",
        openapi: "/openapi.json",
    })
}

/// `GET /metrics`: the Prometheus text format (API.md §3.1).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "probes",
    summary = "Prometheus metrics",
    responses(
        (status = 200, description = "Prometheus text exposition format", content_type = "text/plain; version=0.0.4; charset=utf-8", body = String),
        (status = 404, description = "Metrics are disabled by configuration", body = ErrorEnvelope),
    ),
)]
async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let Some(handle) = crate::metrics::handle() else {
        // Metrics are off in this process (`metrics.enabled = false`).
        return Err(ApiError::status(StatusCode::NOT_FOUND));
    };
    let (idle, in_use) = state.probe().pool_connections();
    metrics::gauge!("db_pool_connections", "state" => "idle").set(f64::from(idle));
    metrics::gauge!("db_pool_connections", "state" => "in_use").set(f64::from(in_use));
    let service = state.service();
    metrics::gauge!(
        "app_info",
        "service" => service.name.clone(),
        "version" => service.version.clone(),
        "environment" => service.environment.clone(),
        "git_sha" => option_env!("ERP_GIT_SHA").unwrap_or("unknown")
    )
    .set(1.0);
    let (database, migrations) = database_checks(&state).await;
    let ready = !state.is_draining()
        && database.status == CheckStatus::Healthy
        && migrations.status == CheckStatus::Healthy;
    metrics::gauge!("app_ready").set(if ready { 1.0 } else { 0.0 });
    if ready && crate::metrics::interventions_current_due(Duration::from_secs(60)) {
        let app = state.app().clone();
        if let Ok(Ok(counts)) = web::block(move || app.intervention_counts()).await {
            for (statut, kind, n) in counts {
                #[expect(clippy::cast_precision_loss, reason = "row counts stay far below 2^52")]
                let n = n as f64;
                metrics::gauge!(
                    "interventions_current",
                    "statut" => statut.as_str(),
                    "type" => kind.as_str()
                )
                .set(n);
            }
        }
    }
    let mut body = handle.render();
    body.push_str(&crate::metrics::process_families());
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body))
}

/// The body of `GET /live`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LiveOut {
    /// Always `alive`.
    #[schema(value_type = String, pattern = "^alive$")]
    pub status: &'static str,
    /// Now.
    pub timestamp: Ts,
    /// Service name.
    pub service: String,
}

#[utoipa::path(
    get,
    path = "/live",
    tag = "probes",
    summary = "Liveness (never touches the database)",
    responses((status = 200, description = "The process is alive", body = LiveOut)),
)]
async fn live(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(LiveOut {
        status: "alive",
        timestamp: state.clock().now().into(),
        service: state.service().name.clone(),
    })
}

/// Runs the blocking database checks on the blocking pool, bounded by a timeout slightly
/// above the probe's own, so that a hung database never hangs the probe.
async fn database_checks(state: &AppState) -> (DatabaseCheck, MigrationsCheck) {
    let probe = state.probe();
    let backend = probe.backend();
    let checks = web::block(move || health::check_database(probe.as_ref()));
    match actix_web::rt::time::timeout(PROBE_TIMEOUT + Duration::from_millis(300), checks).await {
        Ok(Ok(checks)) => checks,
        Ok(Err(_)) | Err(_) => (
            DatabaseCheck {
                status: CheckStatus::Unhealthy,
                backend,
                latency: None,
            },
            MigrationsCheck {
                status: CheckStatus::Unhealthy,
                counts: None,
            },
        ),
    }
}

/// One check of `/ready`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckOut {
    /// `healthy` or `unhealthy`.
    #[schema(value_type = String, pattern = "^(healthy|warning|unhealthy)$")]
    pub status: &'static str,
    /// French message.
    pub message: String,
}

/// Present only while the server drains on shutdown (in the 503's details).
#[derive(Debug, Serialize, ToSchema)]
pub struct DrainOut {
    /// Always `draining`.
    #[schema(value_type = String, pattern = "^draining$")]
    pub status: &'static str,
}

/// The checks of `/ready`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadyChecksOut {
    /// Database connection.
    pub database: CheckOut,
    /// Schema migrations.
    pub migrations: CheckOut,
    /// Shutdown in progress (only in the 503's details).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<DrainOut>,
}

/// The body of `GET /ready` (and the `details` of its 503).
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadyOut {
    /// `ready` (or `not_ready` in the 503's details).
    #[schema(value_type = String, pattern = "^(ready|not_ready)$")]
    pub status: &'static str,
    /// Now.
    pub timestamp: Ts,
    /// Service name.
    pub service: String,
    /// The checks.
    pub checks: ReadyChecksOut,
}

#[utoipa::path(
    get,
    path = "/ready",
    tag = "probes",
    summary = "Readiness: database reachable, migrations applied, not draining",
    responses(
        (status = 200, description = "Ready", body = ReadyOut),
        (status = 503, description = "Not ready: `details` is the readiness document with `status` `not_ready`", body = ErrorEnvelope,
            headers(("Retry-After" = i64, description = "Seconds (5)"))),
    ),
)]
async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let (database, migrations) = database_checks(&state).await;
    let draining = state.is_draining();
    let ok = database.status == CheckStatus::Healthy
        && migrations.status == CheckStatus::Healthy
        && !draining;
    let doc = ReadyOut {
        status: if ok { "ready" } else { "not_ready" },
        timestamp: state.clock().now().into(),
        service: state.service().name.clone(),
        checks: ReadyChecksOut {
            database: CheckOut {
                status: database.status.as_str(),
                message: database.message().to_owned(),
            },
            migrations: CheckOut {
                status: migrations.status.as_str(),
                message: migrations.message(),
            },
            server: draining.then_some(DrainOut { status: "draining" }),
        },
    };
    if ok {
        return Ok(HttpResponse::Ok().json(doc));
    }
    Err(ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "SERVICE_UNAVAILABLE",
        "Service non prêt",
    )
    .with_details(serde_json::to_value(doc).unwrap_or(Value::Null))
    .with_header(RETRY_AFTER, HeaderValue::from_static("5")))
}

/// The database check of `/health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthDatabaseOut {
    /// Check status.
    #[schema(value_type = String, pattern = "^(healthy|warning|unhealthy)$")]
    pub status: &'static str,
    /// French message.
    pub message: &'static str,
    /// `sqlite` or `postgres`.
    #[schema(value_type = String, pattern = "^(sqlite|postgres)$")]
    pub backend: &'static str,
    /// Round-trip time of the check query.
    pub latency_ms: Option<f64>,
}

/// The migrations check of `/health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthMigrationsOut {
    /// Check status.
    #[schema(value_type = String, pattern = "^(healthy|warning|unhealthy)$")]
    pub status: &'static str,
    /// French message.
    pub message: String,
    /// Applied migrations.
    pub applied: Option<usize>,
    /// Pending migrations.
    pub pending: Option<usize>,
}

/// The scheduler check of `/health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthSchedulerOut {
    /// Check status.
    #[schema(value_type = String, pattern = "^(healthy|warning|unhealthy)$")]
    pub status: &'static str,
    /// Whether the scheduler runs in this process.
    pub enabled: bool,
    /// Last run of the planning job.
    pub last_run_at: Option<Ts>,
    /// Category of the planning job's last error (`database`, `internal`) while its last run
    /// failed; the error itself is in the log.
    #[schema(value_type = Option<String>, pattern = "^(database|internal)$")]
    pub last_error: Option<&'static str>,
    /// When the last failed run ended.
    pub last_error_at: Option<Ts>,
}

/// The shared rate-limit store check of `/health` (present when `rate_limit.redis_url` is set).
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthRedisOut {
    /// `healthy`, or `warning` while Redis does not answer (the limit then holds per replica;
    /// `/ready` does not depend on it).
    #[schema(value_type = String, pattern = "^(healthy|warning)$")]
    pub status: &'static str,
    /// Human-readable state.
    pub message: &'static str,
}

/// The outbox check of `/health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthOutboxOut {
    /// Check status.
    #[schema(value_type = String, pattern = "^(healthy|warning|unhealthy)$")]
    pub status: &'static str,
    /// Messages waiting.
    pub pending: Option<i64>,
    /// Messages given up.
    pub failed: Option<i64>,
}

/// The checks of `/health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthChecksOut {
    /// Database.
    pub database: HealthDatabaseOut,
    /// Migrations.
    pub migrations: HealthMigrationsOut,
    /// Scheduler.
    pub scheduler: HealthSchedulerOut,
    /// E-mail outbox.
    pub outbox: HealthOutboxOut,
    /// The shared rate-limit store; `null` when none is configured (the limit then holds per
    /// replica).
    pub redis: Option<HealthRedisOut>,
}

/// The body of `GET /health` (and the `details` of its 503).
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthOut {
    /// `ok`, `degraded` (some check is `warning`), or `unhealthy` in the 503's details.
    #[schema(value_type = String, pattern = "^(ok|degraded|unhealthy)$")]
    pub status: &'static str,
    /// Now.
    pub timestamp: Ts,
    /// Service name.
    pub service: String,
    /// Build version.
    pub version: String,
    /// Deployment environment.
    pub environment: String,
    /// Seconds since start.
    pub uptime_seconds: u64,
    /// The checks.
    pub checks: HealthChecksOut,
}

async fn background_checks(
    state: &web::Data<AppState>,
    database_failing: bool,
) -> (HealthSchedulerOut, HealthOutboxOut) {
    let interval = state.http().scheduler_interval;
    let unknown = || {
        (
            HealthSchedulerOut {
                status: "unhealthy",
                enabled: interval.is_some(),
                last_run_at: None,
                last_error: Some(erp_application::jobs::ERROR_DATABASE),
                last_error_at: None,
            },
            HealthOutboxOut {
                status: "unhealthy",
                pending: None,
                failed: None,
            },
        )
    };
    if database_failing {
        return unknown();
    }
    let app = state.app().clone();
    let read = web::block(move || {
        let job = app.job_status(erp_application::jobs::PLANNING_GENERATION)?;
        let outbox = app.outbox_stats()?;
        Ok::<_, erp_application::AppError>((job, outbox))
    })
    .await;
    let Ok(Ok((job, outbox))) = read else {
        return unknown();
    };
    let now = state.clock().now();
    let scheduler_status = match interval {
        None => "healthy",
        Some(every) => {
            // Warning when no run succeeded during three intervals (after a start-up grace
            // of the same length).
            let window = chrono::Duration::from_std(every * 3).unwrap_or(chrono::Duration::MAX);
            let recent = job
                .as_ref()
                .and_then(|j| j.last_success_at)
                .is_some_and(|t| now - t <= window);
            let starting =
                i64::try_from(state.uptime_seconds()).unwrap_or(i64::MAX) <= window.num_seconds();
            if recent || starting {
                "healthy"
            } else {
                "warning"
            }
        }
    };
    let stale_pending = outbox
        .oldest_pending
        .is_some_and(|t| now - t > chrono::Duration::minutes(15));
    (
        HealthSchedulerOut {
            status: scheduler_status,
            enabled: interval.is_some(),
            last_run_at: job.as_ref().and_then(|j| j.last_run_at).map(Ts::from),
            last_error: job
                .as_ref()
                .and_then(|j| j.last_error.as_deref())
                .map(erp_application::jobs::error_category),
            last_error_at: job
                .as_ref()
                .filter(|j| j.last_error.is_some())
                .and_then(|j| j.last_error_at)
                .map(Ts::from),
        },
        HealthOutboxOut {
            status: if outbox.failed > 0 || stale_pending {
                "warning"
            } else {
                "healthy"
            },
            pending: Some(outbox.pending),
            failed: Some(outbox.failed),
        },
    )
}

#[utoipa::path(
    get,
    path = "/health",
    tag = "probes",
    summary = "Detailed health report",
    responses(
        (status = 200, description = "Healthy (`ok`) or `degraded`", body = HealthOut),
        (status = 503, description = "Database or migrations failing: `details` is the report with `status` `unhealthy`", body = ErrorEnvelope,
            headers(("Retry-After" = i64, description = "Seconds (5)"))),
    ),
)]
async fn health(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let (database, migrations) = database_checks(&state).await;
    let failing =
        database.status != CheckStatus::Healthy || migrations.status != CheckStatus::Healthy;
    let latency_ms = database
        .latency
        .map(|d| (d.as_secs_f64() * 1_000_000.0).round() / 1_000.0);
    let (scheduler, outbox) = background_checks(&state, failing).await;
    let redis = redis_check(&state).await;
    let degraded = scheduler.status == "warning"
        || outbox.status == "warning"
        || redis.as_ref().is_some_and(|r| r.status == "warning");
    let service = state.service();
    let doc = HealthOut {
        status: if failing {
            "unhealthy"
        } else if degraded {
            "degraded"
        } else {
            "ok"
        },
        timestamp: state.clock().now().into(),
        service: service.name.clone(),
        version: service.version.clone(),
        environment: service.environment.clone(),
        uptime_seconds: state.uptime_seconds(),
        checks: HealthChecksOut {
            database: HealthDatabaseOut {
                status: database.status.as_str(),
                message: database.message(),
                backend: database.backend.as_str(),
                latency_ms,
            },
            migrations: HealthMigrationsOut {
                status: migrations.status.as_str(),
                message: migrations.message(),
                applied: migrations.counts.map(|c| c.applied),
                pending: migrations.counts.map(|c| c.pending),
            },
            scheduler,
            outbox,
            redis,
        },
    };
    if !failing {
        return Ok(HttpResponse::Ok().json(doc));
    }
    Err(ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "SERVICE_UNAVAILABLE",
        "Service en échec",
    )
    .with_details(serde_json::to_value(doc).unwrap_or(Value::Null))
    .with_header(RETRY_AFTER, HeaderValue::from_static("5")))
}

/// Asks the shared rate-limit store whether it answers (bounded by its own timeout).
async fn redis_check(state: &AppState) -> Option<HealthRedisOut> {
    let store = state.limiter().shared_store()?;
    Some(match store.ping().await {
        Ok(()) => HealthRedisOut {
            status: "healthy",
            message: "Redis joignable : limite de débit partagée",
        },
        Err(e) => {
            tracing::warn!(error = %e, "health: the shared rate-limit store does not answer");
            HealthRedisOut {
                status: "warning",
                message: "Redis injoignable : limite de débit comptée par réplica",
            }
        }
    })
}

/// `GET /health/detailed`: an alias of `/health`.
#[utoipa::path(
    get,
    path = "/health/detailed",
    tag = "probes",
    summary = "Detailed health report (alias of /health)",
    responses(
        (status = 200, description = "Healthy (`ok`) or `degraded`", body = HealthOut),
        (status = 503, description = "Database or migrations failing: `details` is the report with `status` `unhealthy`", body = ErrorEnvelope,
            headers(("Retry-After" = i64, description = "Seconds (5)"))),
    ),
)]
async fn health_detailed(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    health(state).await
}
