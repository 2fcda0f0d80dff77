//! Start-up steps shared by `serve` and the other commands: database, migrations, keys, and the
//! bootstrap admin (D2).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use erp_application::bootstrap::{
    BootstrapAdmin, BootstrapDeps, BootstrapOutcome, ensure_bootstrap_admin,
};
use erp_application::{Application, IdentityConfig, Ports};
use erp_domain::SystemClock;
use erp_domain::password::PlainPassword;
use erp_domain::ports::BlobStore;
use erp_persistence::{Database, DatabaseOptions};
use erp_security::keys::{self, FernetKeyRing, SigningKey};
use erp_security::{
    Argon2Hasher, BoundedHasher, FernetVault, JwtService, JwtSettings, OsSecretGenerator,
    RandomOpaqueTokens, SigningConfig,
};
use erp_storage::{FsBlobStore, S3BlobStore, S3Settings};
use secrecy::{ExposeSecret as _, SecretString};

use crate::config::{DocumentsBackend, JwtAlgorithm, Settings};

/// Why the server cannot start. Each renders as one line.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// Configuration.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// Database connection.
    #[error(transparent)]
    Database(#[from] erp_persistence::ConnectError),
    /// Migrations.
    #[error(transparent)]
    Migration(#[from] erp_persistence::migrations::MigrationError),
    /// Keys.
    #[error("key material: {0}")]
    Keys(#[from] keys::KeyError),
    /// Bootstrap admin.
    #[error("bootstrap admin: {0}")]
    Bootstrap(String),
    /// The document storage directory or the key ring of the vault.
    #[error("document storage: {0}")]
    Documents(String),
    /// The shared rate-limit store.
    #[error("rate-limit store: {0}")]
    RateLimitStore(String),
    /// Binding or running the HTTP server.
    #[error("http server: {0}")]
    Http(#[from] std::io::Error),
}

/// Opens the pool described by the settings (does not migrate).
///
/// # Errors
/// [`StartupError::Database`], e.g. an unsupported URL scheme.
pub fn open_database(settings: &Settings) -> Result<Database, StartupError> {
    let options = DatabaseOptions {
        max_connections: settings.database.max_connections,
        acquire_timeout: Duration::from_millis(settings.database.acquire_timeout_ms),
        sqlite_busy_timeout: Duration::from_millis(settings.database.sqlite_busy_timeout_ms),
        sqlite_cache_kib: settings.database.sqlite_cache_kib,
        connect_timeout: Duration::from_secs(settings.database.connect_timeout_seconds),
    };
    Ok(Database::connect(
        settings.database_url().expose_secret(),
        options,
    )?)
}

/// The keys the server runs with.
#[derive(Debug, Clone)]
pub struct KeyMaterial {
    /// RS256 signing key (unused when HS256 is configured).
    pub signing: SigningKey,
    /// Fernet ring.
    pub fernet: FernetKeyRing,
}

/// Loads the provided keys, or — outside production — the development keys under
/// `<data_dir>/keys/`, generating them with a loud warning when absent.
///
/// # Errors
/// [`StartupError::Keys`] for unreadable or invalid keys; production without keys is refused
/// earlier, by configuration validation.
pub fn provision_keys(settings: &Settings) -> Result<KeyMaterial, StartupError> {
    let dev_dir = settings.data_dir.join("keys");
    let signing = if let Some(pem) = &settings.security.jwt_private_key {
        SigningKey::from_pem(pem.expose_secret())?
    } else if let Some(path) = &settings.security.jwt_private_key_file {
        SigningKey::from_file(path)?
    } else {
        let (key, generated) = keys::dev_signing_key(&dev_dir)?;
        warn_dev_key(
            &dev_dir.join(keys::DEV_SIGNING_KEY_FILE),
            generated,
            "JWT signing key",
        );
        key
    };
    let fernet = if let Some(list) = &settings.security.fernet_keys {
        FernetKeyRing::parse(list.expose_secret())?
    } else {
        let (ring, generated) = keys::dev_fernet_keys(&dev_dir)?;
        warn_dev_key(
            &dev_dir.join(keys::DEV_FERNET_KEY_FILE),
            generated,
            "Fernet key",
        );
        ring
    };
    tracing::info!(
        kid = signing.kid(),
        fernet_keys = fernet.len(),
        "key material loaded"
    );
    Ok(KeyMaterial { signing, fernet })
}

fn warn_dev_key(path: &Path, generated: bool, what: &str) {
    let action = if generated { "GENERATED" } else { "using" };
    tracing::warn!(
        path = %path.display(),
        "{action} a DEVELOPMENT {what}: never use it in production (provide your own keys; see docs/operations.md)"
    );
}

/// The application with every adapter plugged in.
///
/// # Errors
/// [`StartupError::Keys`] for unusable token keys.
pub fn application(
    settings: &Settings,
    db: Arc<Database>,
    keys: &KeyMaterial,
    clock: Arc<dyn erp_domain::Clock>,
) -> Result<Application, StartupError> {
    let s = &settings.security;
    let signing = match s.jwt_algorithm {
        JwtAlgorithm::RS256 => {
            let mut previous = Vec::new();
            for path in &s.jwt_previous_public_key_files {
                previous.push(std::fs::read_to_string(path).map_err(|source| {
                    keys::KeyError::Io {
                        path: path.clone(),
                        source,
                    }
                })?);
            }
            SigningConfig::Rs256 {
                signing: keys.signing.clone(),
                previous_public_pems: previous,
            }
        }
        JwtAlgorithm::HS256 => SigningConfig::Hs256 {
            secret: s
                .jwt_hs256_secret
                .clone()
                .ok_or_else(|| keys::KeyError::InvalidRsa("HS256 without a secret".into()))?,
        },
    };
    let jwt = Arc::new(JwtService::new(
        &signing,
        JwtSettings {
            issuer: s.jwt_issuer.clone(),
            audience: s.jwt_audience.clone(),
            ttl_seconds: s.access_token_ttl_seconds,
        },
    )?);
    tracing::info!(
        algorithm = jwt.algorithm(),
        kid = jwt.kid(),
        "access tokens configured"
    );
    let concurrency = settings.password_hash_concurrency();
    let hasher = Argon2Hasher::owasp().map_err(|e| StartupError::Bootstrap(e.to_string()))?;
    let ports = Ports {
        db,
        hasher: Arc::new(BoundedHasher::new(hasher, concurrency)),
        issuer: Arc::clone(&jwt) as _,
        verifier: jwt,
        opaque: Arc::new(RandomOpaqueTokens),
        secrets: Arc::new(OsSecretGenerator),
        clock,
        documents: Arc::new(document_vault(settings, keys)?),
    };
    let config = IdentityConfig {
        refresh_ttl: chrono::Duration::days(s.refresh_token_ttl_days),
    };
    let notifications = erp_application::NotificationConfig {
        email_enabled: settings.email.enabled,
        retry: erp_domain::notification::RetryPolicy {
            base: chrono::Duration::seconds(settings.email.retry_base_seconds),
            max: chrono::Duration::hours(1),
            max_attempts: settings.email.max_attempts,
        },
    };
    let policy = erp_application::documents::DocumentPolicy {
        max_upload_bytes: settings.documents.max_upload_bytes,
        allow: settings
            .document_allow_list()
            .map_err(StartupError::Documents)?,
    };
    Ok(Application::new(ports, config)
        .map_err(|e| StartupError::Bootstrap(e.to_string()))?
        .with_notifications(notifications)
        .with_document_policy(policy))
}

/// The encrypted document vault: the Fernet ring over the configured blob store (a directory,
/// or an S3-compatible bucket, which is listed once here so that a wrong endpoint, bucket or
/// credential stops the start-up rather than the first upload).
///
/// # Errors
/// [`StartupError::Documents`] when the directory cannot be created, the S3 credentials cannot
/// be read or the bucket cannot be reached.
pub fn document_vault(
    settings: &Settings,
    keys: &KeyMaterial,
) -> Result<FernetVault, StartupError> {
    let (store, location): (Arc<dyn BlobStore>, String) = match settings.documents.backend {
        DocumentsBackend::Filesystem => {
            let dir = settings.documents_dir();
            let store = FsBlobStore::new(&dir)
                .map_err(|e| StartupError::Documents(format!("{}: {e}", dir.display())))?;
            (Arc::new(store), dir.display().to_string())
        }
        DocumentsBackend::S3 => {
            let s3 = s3_settings(settings)?;
            let location = format!(
                "s3://{}/{} at {}",
                s3.bucket,
                s3.prefix.as_deref().unwrap_or_default(),
                s3.endpoint.as_deref().unwrap_or("AWS")
            );
            let store = S3BlobStore::new(&s3)
                .map_err(|e| StartupError::Documents(format!("{location}: {e}")))?;
            store
                .check()
                .map_err(|e| StartupError::Documents(format!("{location}: {e}")))?;
            (Arc::new(store), location)
        }
    };
    let vault = FernetVault::new(store, &keys.fernet)
        .map_err(|e| StartupError::Documents(format!("{location}: {e}")))?;
    tracing::info!(
        storage = %location,
        cle_id = %erp_domain::ports::DocumentVault::current_key_id(&vault),
        max_upload_bytes = settings.documents.max_upload_bytes,
        "document storage ready"
    );
    Ok(vault)
}

/// A credential: the configuration key, else the environment variable `var`, else the file
/// that `<var>_FILE` names (both variables set is an error).
fn credential(
    configured: Option<&SecretString>,
    var: &str,
) -> Result<Option<SecretString>, StartupError> {
    if let Some(v) = configured.filter(|v| !v.expose_secret().trim().is_empty()) {
        return Ok(Some(v.clone()));
    }
    crate::secret_files::from_env_or_file(var)
        .map(|v| v.map(|v| SecretString::from(v.trim().to_owned())))
        .map_err(StartupError::Documents)
}

/// `[documents.s3]` with its credentials resolved.
///
/// # Errors
/// [`StartupError::Documents`] when a `*_FILE` cannot be read.
pub fn s3_settings(settings: &Settings) -> Result<S3Settings, StartupError> {
    let c = &settings.documents.s3;
    let non_empty = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
    Ok(S3Settings {
        endpoint: non_empty(&c.endpoint),
        bucket: c.bucket.trim().to_owned(),
        region: c.region.trim().to_owned(),
        path_style: c.path_style,
        prefix: non_empty(c.prefix.trim_matches('/')),
        access_key_id: credential(c.access_key_id.as_ref(), "AWS_ACCESS_KEY_ID")?
            .map(|v| v.expose_secret().to_owned()),
        secret_access_key: credential(c.secret_access_key.as_ref(), "AWS_SECRET_ACCESS_KEY")?,
    })
}

/// Writes a `system.key.rotation` audit event when the token signing key differs from the one
/// last recorded (first start, or the operator changed keys).
///
/// # Errors
/// [`StartupError::Bootstrap`] when the audit trail cannot be written.
pub fn record_signing_key(
    settings: &Settings,
    db: &Database,
    keys: &KeyMaterial,
) -> Result<(), StartupError> {
    let (algorithm, kid) = match settings.security.jwt_algorithm {
        JwtAlgorithm::RS256 => ("RS256", keys.signing.kid().to_owned()),
        JwtAlgorithm::HS256 => (
            "HS256",
            settings
                .security
                .jwt_hs256_secret
                .as_ref()
                .map(|s| keys::key_id(s.expose_secret().as_bytes()))
                .unwrap_or_default(),
        ),
    };
    let recorded =
        erp_application::bootstrap::record_signing_key(db, &SystemClock, algorithm, &kid)
            .map_err(|e| StartupError::Bootstrap(describe(&e)))?;
    if recorded {
        tracing::warn!(algorithm, kid = %kid, "token signing key changed since the last start: recorded in the audit trail");
    }
    Ok(())
}

/// Creates the bootstrap admin on an empty database and shows a generated password once.
///
/// # Errors
/// [`StartupError::Bootstrap`] when the provided password breaks the policy or storage fails.
pub fn bootstrap_admin(settings: &Settings, db: &Database) -> Result<(), StartupError> {
    let password = crate::secret_files::from_env_or_file("ERP_BOOTSTRAP_ADMIN_PASSWORD")
        .map_err(StartupError::Bootstrap)?
        .map(PlainPassword::new);
    let hasher = Argon2Hasher::owasp().map_err(|e| StartupError::Bootstrap(e.to_string()))?;
    let deps = BootstrapDeps {
        db,
        hasher: &hasher,
        secrets: &OsSecretGenerator,
        clock: &SystemClock,
    };
    let admin = BootstrapAdmin {
        username: settings.bootstrap.admin_username.clone(),
        email: settings.bootstrap.admin_email.clone(),
        password,
    };
    match ensure_bootstrap_admin(deps, admin).map_err(|e| StartupError::Bootstrap(describe(&e)))? {
        BootstrapOutcome::AlreadyInitialised => {}
        BootstrapOutcome::Created {
            generated_password: None,
            ..
        } => {
            tracing::info!(username = %settings.bootstrap.admin_username, "bootstrap admin created with ERP_BOOTSTRAP_ADMIN_PASSWORD(_FILE)");
        }
        BootstrapOutcome::Created {
            generated_password: Some(password),
            ..
        } => {
            tracing::warn!(username = %settings.bootstrap.admin_username, "bootstrap admin created with a generated password, shown once on stderr");
            show_generated_password(&settings.bootstrap.admin_username, &password);
        }
    }
    Ok(())
}

fn describe(e: &erp_application::AppError) -> String {
    match e {
        erp_application::AppError::Invalid {
            message,
            violations,
        } => message.clone().unwrap_or_else(|| {
            violations
                .iter()
                .map(|v| format!("{}: {}", v.field, v.message))
                .collect::<Vec<_>>()
                .join("; ")
        }),
        other => other.to_string(),
    }
}

#[expect(
    clippy::print_stderr,
    reason = "the operator must see the generated password once, outside the logs"
)]
fn show_generated_password(username: &str, password: &PlainPassword) {
    eprintln!(
        "\n==================================================================\n  \
         Bootstrap administrator created: username '{username}'\n  \
         Password (shown only this once, store it now): {}\n\
         ==================================================================\n",
        password.expose()
    );
}

/// The shared rate-limit store (Redis) when `rate_limit.redis_url` is set. It connects lazily:
/// a Redis that is down at start-up does not stop the server (D15).
///
/// # Errors
/// [`StartupError::RateLimitStore`] for a malformed URL or a client that cannot start.
pub fn rate_limit_store(
    settings: &Settings,
) -> Result<Option<Arc<dyn erp_domain::ports::RateLimitStore>>, StartupError> {
    let Some(url) = settings.rate_limit.redis_url.as_ref() else {
        return Ok(None);
    };
    let store = erp_redis::RedisRateLimitStore::new(&erp_redis::RedisSettings {
        url: url.expose_secret().to_owned(),
        prefix: settings.rate_limit.redis_prefix.clone(),
        timeout: Duration::from_millis(settings.rate_limit.redis_timeout_ms),
    })
    .map_err(|e| StartupError::RateLimitStore(e.to_string()))?;
    tracing::info!(
        redis = %crate::config::redact_url(url.expose_secret()),
        prefix = %settings.rate_limit.redis_prefix,
        "rate limit shared through Redis"
    );
    Ok(Some(Arc::new(store)))
}

/// The shared state of the HTTP adapter.
///
/// # Errors
/// [`StartupError::RateLimitStore`] (see [`rate_limit_store`]).
pub fn http_state(
    settings: &Settings,
    db: Arc<Database>,
    app: Application,
) -> Result<erp_http::AppState, StartupError> {
    let rate_limit_store = rate_limit_store(settings)?;
    Ok(erp_http::AppState::new(
        erp_http::ServiceInfo {
            name: settings.service.name.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            environment: settings.environment.as_str().to_owned(),
        },
        erp_http::HttpSettings {
            cors: erp_http::cors::CorsPolicy::new(&settings.cors.allowed_origins),
            hsts: settings.hsts(),
            json_limit: settings.server.json_limit_bytes,
            trusted_proxies: settings.trusted_proxies(),
            requests_per_minute: settings.rate_limit.requests_per_minute,
            rate_limit_store,
            scheduler_interval: settings
                .scheduler
                .enabled
                .then(|| Duration::from_secs(settings.scheduler.interval_seconds)),
            docs_enabled: settings.docs.enabled,
            hashing_slots: settings.password_hash_concurrency(),
            traced: settings.tracing.enabled,
            admin_listener: settings.server.admin_port.is_some(),
        },
        db,
        app,
    ))
}
