//! Root, liveness, readiness and health (API.md §3.1). Public; `/live` never touches the
//! database; `/ready` and `/health` answer within the probe timeout even when it hangs.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::{HttpResponse, web};
use erp_application::health::{self, CheckStatus, DatabaseCheck, MigrationsCheck, PROBE_TIMEOUT};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::routing::Endpoint;
use crate::state::AppState;
use crate::wire::timestamp;

/// Registers the probes under `prefix` (`""` for the root, `"/api/v1"`).
pub fn configure(cfg: &mut web::ServiceConfig, prefix: &str) {
    // Probes are exempt from the rate limit (API.md §1.7).
    for endpoint in [
        Endpoint::new(format!("{prefix}/live")).get(live),
        Endpoint::new(format!("{prefix}/ready")).get(ready),
        Endpoint::new(format!("{prefix}/health")).get(health),
        Endpoint::new(format!("{prefix}/health/detailed")).get(health),
        Endpoint::new(format!("{prefix}/metrics")).get(metrics),
    ] {
        cfg.service(endpoint.without_rate_limit().build());
    }
}

/// `GET /`.
pub async fn root(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "message": "Bienvenue sur l'API ERP MIF Maroc",
        "version": state.service().version,
        "docs": "/docs",
        "openapi": "/openapi.json",
    }))
}

/// `GET /metrics`: the Prometheus text format (API.md §3.1).
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

async fn live(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "status": "alive",
        "timestamp": timestamp(state.clock().now()),
        "service": state.service().name,
    }))
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

fn check_json(status: CheckStatus, message: &str) -> Value {
    json!({"status": status.as_str(), "message": message})
}

async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let (database, migrations) = database_checks(&state).await;
    let draining = state.is_draining();
    let ok = database.status == CheckStatus::Healthy
        && migrations.status == CheckStatus::Healthy
        && !draining;
    let mut checks = json!({
        "database": check_json(database.status, database.message()),
        "migrations": check_json(migrations.status, &migrations.message()),
    });
    if draining {
        checks["server"] = json!({"status": "draining"});
    }
    let doc = json!({
        "status": if ok { "ready" } else { "not_ready" },
        "timestamp": timestamp(state.clock().now()),
        "service": state.service().name,
        "checks": checks,
    });
    if ok {
        return Ok(HttpResponse::Ok().json(doc));
    }
    Err(ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "SERVICE_UNAVAILABLE",
        "Service non prêt",
    )
    .with_details(doc)
    .with_header(RETRY_AFTER, HeaderValue::from_static("5")))
}

/// The scheduler and outbox checks of `/health` (API.md §3.1).
struct Background {
    scheduler: Value,
    outbox: Value,
}

async fn background_checks(state: &web::Data<AppState>, database_failing: bool) -> Background {
    let interval = state.http().scheduler_interval;
    let unknown = Background {
        scheduler: json!({"status": "unhealthy", "enabled": interval.is_some(), "last_run_at": null, "last_error": "base de données indisponible"}),
        outbox: json!({"status": "unhealthy", "pending": null, "failed": null}),
    };
    if database_failing {
        return unknown;
    }
    let app = state.app().clone();
    let read = web::block(move || {
        let job = app.job_status(erp_application::jobs::PLANNING_GENERATION)?;
        let outbox = app.outbox_stats()?;
        Ok::<_, erp_application::AppError>((job, outbox))
    })
    .await;
    let Ok(Ok((job, outbox))) = read else {
        return unknown;
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
    Background {
        scheduler: json!({
            "status": scheduler_status,
            "enabled": interval.is_some(),
            "last_run_at": job.as_ref().and_then(|j| j.last_run_at).map(timestamp),
            "last_error": job.and_then(|j| j.last_error),
        }),
        outbox: json!({
            "status": if outbox.failed > 0 || stale_pending { "warning" } else { "healthy" },
            "pending": outbox.pending,
            "failed": outbox.failed,
        }),
    }
}

async fn health(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let (database, migrations) = database_checks(&state).await;
    let failing =
        database.status != CheckStatus::Healthy || migrations.status != CheckStatus::Healthy;
    let latency_ms = database
        .latency
        .map(|d| (d.as_secs_f64() * 1_000_000.0).round() / 1_000.0);
    let background = background_checks(&state, failing).await;
    let service = state.service();
    let doc = json!({
        "status": if failing { "unhealthy" } else { "ok" },
        "timestamp": timestamp(state.clock().now()),
        "service": service.name,
        "version": service.version,
        "environment": service.environment,
        "uptime_seconds": state.uptime_seconds(),
        "checks": {
            "database": {
                "status": database.status.as_str(),
                "message": database.message(),
                "backend": database.backend.as_str(),
                "latency_ms": latency_ms,
            },
            "migrations": {
                "status": migrations.status.as_str(),
                "message": migrations.message(),
                "applied": migrations.counts.map(|c| c.applied),
                "pending": migrations.counts.map(|c| c.pending),
            },
            "scheduler": background.scheduler,
            "outbox": background.outbox,
        },
    });
    let degraded = [&doc["checks"]["scheduler"], &doc["checks"]["outbox"]]
        .iter()
        .any(|c| c["status"] == "warning");
    let mut doc = doc;
    if !failing && degraded {
        doc["status"] = json!("degraded");
    }
    if !failing {
        return Ok(HttpResponse::Ok().json(doc));
    }
    Err(ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "SERVICE_UNAVAILABLE",
        "Service en échec",
    )
    .with_details(doc)
    .with_header(RETRY_AFTER, HeaderValue::from_static("5")))
}
