//! `erp serve`: the HTTP server with graceful shutdown. On SIGTERM or SIGINT `/ready` turns
//! 503 (draining), the listener closes after `drain_seconds`, in-flight requests get
//! `shutdown_timeout_seconds` to finish, and the process exits 0.

use std::sync::Arc;
use std::time::Duration;

use actix_web::HttpServer;

use erp_domain::ports::DatabaseProbe as _;

use crate::config::Settings;
use crate::startup::{self, StartupError};
use crate::{mail, workers};

/// Runs every start-up step, then serves until a shutdown signal.
///
/// # Errors
/// The first start-up step that failed.
pub fn run(settings: &Settings) -> Result<(), StartupError> {
    if settings.metrics.enabled && erp_http::metrics::install().is_none() {
        return Err(StartupError::Bootstrap(
            "the metrics recorder could not be installed".into(),
        ));
    }
    let db = Arc::new(startup::open_database(settings)?);
    let keys = startup::provision_keys(settings)?;
    if settings.database.migrate_on_start {
        let applied = db.migrate()?;
        tracing::info!(
            backend = db.backend().as_str(),
            applied = applied.len(),
            "database ready"
        );
        initialise(settings, &db, &keys)?;
    } else {
        match db.migration_status(MIGRATION_POLL) {
            Ok(status) if status.pending == 0 => initialise(settings, &db, &keys)?,
            status => {
                let pending = status.map(|s| s.pending).ok();
                tracing::warn!(
                    pending,
                    "migrations pending and database.migrate_on_start = false: /ready answers 503 until a migration job has applied them"
                );
                initialise_when_migrated(settings.clone(), Arc::clone(&db), keys.clone());
            }
        }
    }
    let app = startup::application(
        settings,
        Arc::clone(&db),
        &keys,
        Arc::new(erp_domain::SystemClock),
    )?;
    let mailer = if settings.email.enabled {
        let m = mail::SmtpMailer::new(&settings.email)
            .map_err(|e| StartupError::Bootstrap(e.to_string()))?;
        Some(Arc::new(m) as Arc<dyn erp_domain::ports::MailSender>)
    } else {
        None
    };
    let state = startup::http_state(settings, db, app)?;
    actix_web::rt::System::new().block_on(serve_http(settings, state, mailer))
}

/// How often a server that does not migrate looks for the migration job's work.
const MIGRATION_POLL: Duration = Duration::from_secs(2);

/// What needs the migrated schema: the bootstrap admin and the record of the signing key.
fn initialise(
    settings: &Settings,
    db: &erp_persistence::Database,
    keys: &startup::KeyMaterial,
) -> Result<(), StartupError> {
    startup::bootstrap_admin(settings, db)?;
    startup::record_signing_key(settings, db, keys)
}

/// With `database.migrate_on_start = false` and migrations pending, the server serves (its
/// `/ready` says 503) and finishes initialising once a migration job has run them.
fn initialise_when_migrated(
    settings: Settings,
    db: Arc<erp_persistence::Database>,
    keys: startup::KeyMaterial,
) {
    let spawned = std::thread::Builder::new()
        .name("await-migrations".into())
        .spawn(move || {
            loop {
                std::thread::sleep(MIGRATION_POLL);
                if db
                    .migration_status(MIGRATION_POLL)
                    .is_ok_and(|s| s.pending == 0)
                {
                    break;
                }
            }
            match initialise(&settings, &db, &keys) {
                Ok(()) => tracing::info!("migrations applied by another process: initialised"),
                Err(e) => tracing::error!(error = %e, "initialisation after migrations failed"),
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the thread that waits for migrations");
    }
}

async fn serve_http(
    settings: &Settings,
    state: erp_http::AppState,
    mailer: Option<Arc<dyn erp_domain::ports::MailSender>>,
) -> Result<(), StartupError> {
    workers::spawn(settings, state.app(), mailer);
    let workers = settings.http_workers();
    let blocking_threads = settings.blocking_threads_per_worker();
    let admin = match settings.server.admin_port {
        Some(port) => {
            let admin_state = state.clone();
            // Scrapes and health checks: one worker, a few blocking threads for their queries.
            let server = HttpServer::new(move || erp_http::admin_app(admin_state.clone()))
                .workers(1)
                .worker_max_blocking_threads(2)
                .shutdown_timeout(settings.server.shutdown_timeout_seconds)
                .disable_signals()
                .bind((settings.server.host.as_str(), port))?;
            for addr in server.addrs() {
                tracing::info!(address = %addr, "admin listener: /metrics, /health, /live, /ready");
            }
            Some(server.run())
        }
        None => None,
    };
    let app_state = state.clone();
    let server = HttpServer::new(move || erp_http::app(app_state.clone()))
        .workers(workers)
        .worker_max_blocking_threads(blocking_threads)
        .shutdown_timeout(settings.server.shutdown_timeout_seconds)
        .disable_signals()
        .bind((settings.server.host.as_str(), settings.server.port))?;
    for addr in server.addrs() {
        tracing::info!(address = %addr, environment = settings.environment.as_str(), workers, blocking_threads, "server listening");
    }
    let server = server.run();
    let handle = server.handle();
    let drain = Duration::from_secs(settings.server.drain_seconds);
    actix_web::rt::spawn(async move {
        let signal = shutdown_signal().await;
        tracing::info!(
            signal,
            drain_seconds = drain.as_secs(),
            "shutdown requested: draining"
        );
        state.start_draining();
        actix_web::rt::time::sleep(drain).await;
        handle.stop(true).await;
    });
    // The admin listener stays up while the API drains (its /health and /metrics show it) and
    // stops once the API listener has, however that ended.
    let admin = admin.map(|admin| {
        let handle = admin.handle();
        (handle, actix_web::rt::spawn(admin))
    });
    let api = server.await;
    if let Some((handle, task)) = admin {
        handle.stop(true).await;
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "admin listener failed"),
            Err(e) => tracing::error!(error = %e, "admin listener task failed"),
        }
    }
    api?;
    tracing::info!("server stopped");
    Ok(())
}

/// Waits for SIGTERM or SIGINT and names it.
async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            },
            _ => {
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}
