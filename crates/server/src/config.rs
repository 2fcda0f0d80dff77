//! Typed configuration (D3): `config/default.toml`, then `config/<environment>.toml`, then
//! `ERP__SECTION__KEY` environment variables. Loaded and validated once at start-up, then
//! passed explicitly. Unknown keys are errors; secrets are [`SecretString`]s.
//!
//! The TOML files are read from `ERP_CONFIG_DIR` (default `./config`); a file missing there is
//! taken from the copy embedded in the binary, so the binary runs anywhere.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format as _, Serialized, Toml};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

use crate::secret_files::{self, SECRET_SETTINGS};

const EMBEDDED_DEFAULT: &str = include_str!("../../../config/default.toml");
const EMBEDDED_DEVELOPMENT: &str = include_str!("../../../config/development.toml");
const EMBEDDED_TEST: &str = include_str!("../../../config/test.toml");
const EMBEDDED_PRODUCTION: &str = include_str!("../../../config/production.toml");

/// The deployment environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// A developer's machine: generated keys, permissive CORS defaults.
    Development,
    /// Automated tests.
    Test,
    /// Real deployments: keys and secrets must be provided.
    Production,
}

impl Environment {
    /// Lowercase name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Test => "test",
            Self::Production => "production",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "development" => Some(Self::Development),
            "test" => Some(Self::Test),
            "production" => Some(Self::Production),
            _ => None,
        }
    }
}

/// Every setting of the server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `ERP__ENVIRONMENT`.
    pub environment: Environment,
    /// `ERP__DATA_DIR`: SQLite file, development keys, uploads.
    pub data_dir: PathBuf,
    /// `[service]`.
    pub service: ServiceSettings,
    /// `[server]`.
    pub server: ServerSettings,
    /// `[database]`.
    pub database: DatabaseSettings,
    /// `[security]`.
    pub security: SecuritySettings,
    /// `[cors]`.
    pub cors: CorsSettings,
    /// `[rate_limit]`.
    pub rate_limit: RateLimitSettings,
    /// `[log]`.
    pub log: LogSettings,
    /// `[scheduler]`.
    pub scheduler: SchedulerSettings,
    /// `[email]`.
    pub email: EmailSettings,
    /// `[housekeeping]`.
    pub housekeeping: HousekeepingSettings,
    /// `[metrics]`.
    pub metrics: MetricsSettings,
    /// `[docs]`.
    pub docs: DocsSettings,
    /// `[tracing]`.
    pub tracing: TracingSettings,
    /// `[bootstrap]`.
    pub bootstrap: BootstrapSettings,
    /// `[documents]`.
    #[serde(default)]
    pub documents: DocumentsSettings,
}

/// `[documents]` (D9, API.md §3.9).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DocumentsSettings {
    /// Largest uploaded file, in bytes (the whole request may be 64 KiB more).
    pub max_upload_bytes: u64,
    /// Where the encrypted blobs live: one node's disk, or an S3-compatible bucket (D15).
    pub backend: DocumentsBackend,
    /// Where encrypted blobs live (`filesystem`); default `<data_dir>/documents`.
    pub storage_dir: Option<PathBuf>,
    /// Restricts the allow-list to these extensions (each must be one of the contract's).
    pub allowed_extensions: Option<Vec<String>>,
    /// `[documents.s3]`, used when `backend = "s3"`.
    pub s3: DocumentsS3Settings,
}

impl Default for DocumentsSettings {
    fn default() -> Self {
        Self {
            max_upload_bytes: erp_application::documents::DEFAULT_MAX_UPLOAD_BYTES,
            backend: DocumentsBackend::Filesystem,
            storage_dir: None,
            allowed_extensions: None,
            s3: DocumentsS3Settings::default(),
        }
    }
}

/// `documents.backend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DocumentsBackend {
    /// `storage_dir` on this node (one replica, or a shared ReadWriteMany volume).
    Filesystem,
    /// `[documents.s3]`: a bucket every replica shares.
    S3,
}

/// `[documents.s3]`: an S3-compatible bucket (AWS S3, MinIO, Ceph, Garage…).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DocumentsS3Settings {
    /// Endpoint URL (`http://minio:9000`); empty = AWS S3 of `region`.
    pub endpoint: String,
    /// Bucket (must exist).
    pub bucket: String,
    /// Region (`us-east-1` for most S3-compatible servers).
    pub region: String,
    /// Path-style URLs (`endpoint/bucket/key`: MinIO and most self-hosted servers); false =
    /// virtual-hosted (`bucket.endpoint/key`, AWS).
    pub path_style: bool,
    /// Key prefix of the blobs (`documents` → `documents/<name>`); empty = the bucket's root.
    pub prefix: String,
    /// Access key id; empty = `AWS_ACCESS_KEY_ID`, else the file `AWS_ACCESS_KEY_ID_FILE`
    /// names, else the ambient credentials (instance profile, web identity).
    pub access_key_id: Option<SecretString>,
    /// Secret access key; empty = `AWS_SECRET_ACCESS_KEY`, else the file
    /// `AWS_SECRET_ACCESS_KEY_FILE` names.
    pub secret_access_key: Option<SecretString>,
}

impl Default for DocumentsS3Settings {
    fn default() -> Self {
        Self {
            endpoint: String::new(),
            bucket: String::new(),
            region: "us-east-1".into(),
            path_style: true,
            prefix: String::new(),
            access_key_id: None,
            secret_access_key: None,
        }
    }
}

/// `[service]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSettings {
    /// Name shown by probes and logs.
    pub name: String,
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Interface to bind.
    pub host: String,
    /// Port; 0 picks a free one (tests).
    pub port: u16,
    /// HTTP workers; 0 = one per core.
    pub workers: usize,
    /// Threads of each worker's blocking pool (use cases, hashing); 0 = enough to keep every
    /// pooled connection and hashing slot busy.
    pub blocking_threads: usize,
    /// Grace period for in-flight requests on shutdown.
    pub shutdown_timeout_seconds: u64,
    /// Time `/ready` reports draining before the listener closes.
    pub drain_seconds: u64,
    /// `Strict-Transport-Security`; default on in production only.
    pub hsts: Option<bool>,
    /// Largest JSON body.
    pub json_limit_bytes: usize,
    /// A second listener, on this port of `host`, serving `/metrics`, `/health` and the probes;
    /// they then answer 404 on `port`. Absent: off (API.md §3.1); 0 picks a free port (tests).
    #[serde(default)]
    pub admin_port: Option<u16>,
}

/// `[database]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// Database URL; empty = SQLite under the data directory.
    pub url: SecretString,
    /// Pool size.
    pub max_connections: u32,
    /// Wait for a pooled connection.
    pub acquire_timeout_ms: u64,
    /// SQLite busy timeout.
    pub sqlite_busy_timeout_ms: u64,
    /// SQLite page cache of each pooled connection, in KiB.
    pub sqlite_cache_kib: u32,
    /// PostgreSQL connect timeout.
    pub connect_timeout_seconds: u64,
    /// Apply pending migrations at start (under a lock, D15); false leaves them to a migration
    /// job (`erp migrate`) and `/ready` answers 503 while any is pending.
    #[serde(default = "default_true")]
    pub migrate_on_start: bool,
}

const fn default_true() -> bool {
    true
}

/// Access-token signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum JwtAlgorithm {
    /// RSA (default).
    RS256,
    /// Shared secret; only when explicitly configured.
    HS256,
}

/// `[security]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecuritySettings {
    /// `RS256` (default) or `HS256`.
    pub jwt_algorithm: JwtAlgorithm,
    /// HS256 secret (≥ 32 bytes), only with `jwt_algorithm = "HS256"`.
    pub jwt_hs256_secret: Option<SecretString>,
    /// Public keys (PEM files) of previous signing keys, still accepted during a rotation.
    pub jwt_previous_public_key_files: Vec<PathBuf>,
    /// `iss` claim.
    pub jwt_issuer: String,
    /// `aud` claim.
    pub jwt_audience: String,
    /// Access-token lifetime.
    pub access_token_ttl_seconds: i64,
    /// Refresh-token lifetime.
    pub refresh_token_ttl_days: i64,
    /// Concurrent password hashes; 0 = cores − 1 (at least 1).
    pub password_hash_concurrency: usize,
    /// Path of the RS256 signing key.
    pub jwt_private_key_file: Option<PathBuf>,
    /// The RS256 signing key PEM itself (takes precedence over the file).
    pub jwt_private_key: Option<SecretString>,
    /// Fernet key ring, comma-separated, newest first.
    pub fernet_keys: Option<SecretString>,
}

/// `[cors]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsSettings {
    /// Exact origins allowed; `*` is refused in production.
    pub allowed_origins: Vec<String>,
}

/// `[rate_limit]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    /// General per-IP limit per minute (D11).
    pub requests_per_minute: u32,
    /// Peers trusted to set `X-Forwarded-For`: addresses or CIDR ranges.
    pub trusted_proxies: Vec<String>,
    /// Redis shared by every replica for the counters (`redis://…`); absent = per replica.
    #[serde(default)]
    pub redis_url: Option<SecretString>,
    /// Prefix of the Redis keys.
    #[serde(default = "default_redis_prefix")]
    pub redis_prefix: String,
    /// Longest wait for Redis per request before the request is decided in memory.
    #[serde(default = "default_redis_timeout_ms")]
    pub redis_timeout_ms: u64,
}

fn default_redis_prefix() -> String {
    "erp:rl".to_owned()
}

const fn default_redis_timeout_ms() -> u64 {
    50
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable.
    Pretty,
    /// Pretty on a terminal in development, JSON otherwise.
    Auto,
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `tracing` filter directive.
    pub level: String,
    /// Output format.
    pub format: LogFormat,
}

/// `[scheduler]`: the background jobs of D7/D8 (planning generation, overdue scan).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerSettings {
    /// Run the jobs in this process (every replica may: a lease elects one per run).
    pub enabled: bool,
    /// Seconds between runs.
    pub interval_seconds: u64,
}

/// `[tracing]`: OpenTelemetry traces exported over OTLP/HTTP (D12).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TracingSettings {
    /// Off by default; on, every request and database statement is a span sent to `endpoint`.
    pub enabled: bool,
    /// OTLP/HTTP traces endpoint, e.g. `http://otel-collector:4318/v1/traces`.
    pub endpoint: String,
    /// Extra HTTP headers of the export requests (authentication of a SaaS collector).
    pub headers: std::collections::BTreeMap<String, String>,
    /// Share of traces sampled, 0.0–1.0, decided from the trace id (so every service that
    /// applies the same ratio keeps the same traces).
    pub sampling_ratio: f64,
    /// Follow an incoming `traceparent`'s sampled flag. Off by default: any client could
    /// otherwise have every one of its requests traced.
    #[serde(default)]
    pub parent_based: bool,
}

/// `[metrics]`: the Prometheus families at `/metrics` (D12).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// Record and serve metrics; off, `/metrics` answers 404 and nothing is recorded.
    pub enabled: bool,
}

/// `[docs]`: the interactive viewer at `/docs` (`/openapi.json` is always served).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocsSettings {
    /// Serve `/docs` and its files; off, they answer 404.
    pub enabled: bool,
}

/// `[housekeeping]`: purges of DATA.md §4.2, run by the scheduler under its own lease.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HousekeepingSettings {
    /// Seconds between runs.
    pub interval_seconds: u64,
    /// Audit events are kept this many days; 0 keeps them forever.
    pub audit_retention_days: i64,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text (a local relay only).
    None,
    /// STARTTLS upgrade (port 587).
    Starttls,
    /// Implicit TLS (port 465).
    Tls,
}

/// `[email]`: SMTP delivery of notifications through the outbox (D8).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    /// Off: notifications are in-app only (`canal = log`).
    pub enabled: bool,
    /// SMTP server.
    pub smtp_host: String,
    /// SMTP port.
    pub smtp_port: u16,
    /// `none`, `starttls` or `tls`.
    pub tls: SmtpTls,
    /// SMTP user, if the server requires authentication.
    pub username: Option<String>,
    /// SMTP password (`ERP__EMAIL__PASSWORD`).
    pub password: Option<SecretString>,
    /// Sender, e.g. `ERP MIF Maroc <no-reply@example.com>`.
    pub from: String,
    /// Connection and command timeout.
    pub timeout_seconds: u64,
    /// Seconds between outbox polls.
    pub poll_interval_seconds: u64,
    /// Attempts before a message is given up (`echec`).
    pub max_attempts: i32,
    /// Delay after the first failure, doubled at each failure (at most 1 h).
    pub retry_base_seconds: i64,
}

/// `[bootstrap]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapSettings {
    /// Username of the first admin.
    pub admin_username: String,
    /// E-mail of the first admin.
    pub admin_email: String,
}

/// The configuration is unusable; the message says which key and why.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file could not be parsed, a key is unknown, or a value has the wrong type.
    #[error("invalid configuration: {0}")]
    Invalid(String),
    /// `ERP__ENVIRONMENT` is not one of the three environments.
    #[error(
        "invalid configuration: ERP__ENVIRONMENT must be development, test or production, not '{0}'"
    )]
    UnknownEnvironment(String),
    /// A value breaks a rule checked after loading.
    #[error("invalid configuration: {key}: {reason}")]
    Rule {
        /// The offending key, as `section.key`.
        key: &'static str,
        /// Why.
        reason: String,
    },
}

/// Where the layers come from. `Sources::from_process()` in production; tests build it.
#[derive(Debug, Clone)]
pub struct Sources {
    /// Directory of the TOML files.
    pub config_dir: PathBuf,
}

impl Sources {
    /// `ERP_CONFIG_DIR` or `./config`.
    #[must_use]
    pub fn from_process() -> Self {
        let config_dir = std::env::var_os("ERP_CONFIG_DIR")
            .map_or_else(|| PathBuf::from("config"), PathBuf::from);
        Self { config_dir }
    }
}

fn layer(dir: &Path, name: &str, embedded: &'static str) -> figment::providers::Data<Toml> {
    let path = dir.join(name);
    if path.is_file() {
        Toml::file(path)
    } else {
        Toml::string(embedded)
    }
}

impl Settings {
    /// Loads the three layers and validates the result.
    ///
    /// # Errors
    /// [`ConfigError`] naming the offending key.
    pub fn load(sources: &Sources) -> Result<Self, ConfigError> {
        let dir = &sources.config_dir;
        let base = Figment::new().merge(layer(dir, "default.toml", EMBEDDED_DEFAULT));
        let env_name = match std::env::var("ERP__ENVIRONMENT") {
            Ok(v) => v,
            Err(_) => base
                .extract_inner::<String>("environment")
                .unwrap_or_else(|_| "development".into()),
        };
        let environment =
            Environment::parse(&env_name).ok_or(ConfigError::UnknownEnvironment(env_name))?;
        let embedded = match environment {
            Environment::Development => EMBEDDED_DEVELOPMENT,
            Environment::Test => EMBEDDED_TEST,
            Environment::Production => EMBEDDED_PRODUCTION,
        };
        let mut figment = base
            .merge(layer(
                dir,
                &format!("{}.toml", environment.as_str()),
                embedded,
            ))
            .merge(
                Env::prefixed("ERP__")
                    .filter(|key| !is_secret_file_key(key.as_str()))
                    .split("__"),
            );
        for (key, var) in SECRET_SETTINGS {
            let content =
                secret_files::from_file(var).map_err(|reason| ConfigError::Rule { key, reason })?;
            if let Some(content) = content {
                figment = figment.merge(Serialized::default(key, content));
            }
        }
        let mut settings: Self = figment
            .extract()
            .map_err(|e| ConfigError::Invalid(flatten(&e)))?;
        // The variables outside the `ERP__` keys: a conflict or an unreadable file stops the
        // start here rather than when the value is first needed.
        for var in secret_files::PROCESS_SECRETS {
            let value = secret_files::from_env_or_file(var)
                .map_err(|reason| ConfigError::Rule { key: var, reason })?;
            if var == "FERNET_KEYS"
                && settings.security.fernet_keys.is_none()
                && let Some(keys) = value
            {
                settings.security.fernet_keys = Some(SecretString::from(keys));
            }
        }
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let rule = |key, reason: &str| {
            Err(ConfigError::Rule {
                key,
                reason: reason.to_owned(),
            })
        };
        if self.service.name.trim().is_empty() {
            return rule("service.name", "must not be empty");
        }
        if self.database.max_connections == 0 {
            return rule("database.max_connections", "must be at least 1");
        }
        if !(64..=1_048_576).contains(&self.database.sqlite_cache_kib) {
            return rule(
                "database.sqlite_cache_kib",
                "must be between 64 and 1048576 (KiB)",
            );
        }
        if let Err(e) =
            erp_http::proxy::TrustedProxies::parse(&self.rate_limit.trusted_proxies)
        {
            return rule("rate_limit.trusted_proxies", &e);
        }
        if let Some(url) = &self.rate_limit.redis_url {
            let url = url.expose_secret();
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                return rule(
                    "rate_limit.redis_url",
                    "must be a redis:// or rediss:// URL",
                );
            }
        }
        if !(1..=5_000).contains(&self.rate_limit.redis_timeout_ms) {
            return rule("rate_limit.redis_timeout_ms", "must be between 1 and 5000");
        }
        if self.rate_limit.requests_per_minute == 0 {
            return rule("rate_limit.requests_per_minute", "must be at least 1");
        }
        if !(60..=86_400).contains(&self.security.access_token_ttl_seconds) {
            return rule(
                "security.access_token_ttl_seconds",
                "must be between 60 and 86400",
            );
        }
        if !(1..=365).contains(&self.security.refresh_token_ttl_days) {
            return rule(
                "security.refresh_token_ttl_days",
                "must be between 1 and 365",
            );
        }
        if self.security.jwt_algorithm == JwtAlgorithm::HS256
            && self
                .security
                .jwt_hs256_secret
                .as_ref()
                .is_none_or(|s| s.expose_secret().len() < 32)
        {
            return rule(
                "security.jwt_hs256_secret",
                "HS256 requires a secret of at least 32 bytes",
            );
        }
        if let Some(admin) = self.server.admin_port
            && admin != 0
            && admin == self.server.port
        {
            return rule("server.admin_port", "must differ from server.port");
        }
        if self.security.jwt_private_key.is_some() && self.security.jwt_private_key_file.is_some() {
            return rule(
                "security.jwt_private_key",
                "set ERP__SECURITY__JWT_PRIVATE_KEY or ERP__SECURITY__JWT_PRIVATE_KEY_FILE, not both",
            );
        }
        if self.server.json_limit_bytes < 1024 {
            return rule("server.json_limit_bytes", "must be at least 1024");
        }
        if self.scheduler.interval_seconds == 0 {
            return rule("scheduler.interval_seconds", "must be at least 1");
        }
        if !(0.0..=1.0).contains(&self.tracing.sampling_ratio) {
            return rule("tracing.sampling_ratio", "must be between 0.0 and 1.0");
        }
        if self.tracing.enabled && !self.tracing.endpoint.starts_with("http") {
            return rule("tracing.endpoint", "must be an http:// or https:// URL");
        }
        if self.housekeeping.interval_seconds == 0 {
            return rule("housekeeping.interval_seconds", "must be at least 1");
        }
        if self.housekeeping.audit_retention_days < 0 {
            return rule(
                "housekeeping.audit_retention_days",
                "must be 0 (keep forever) or more",
            );
        }
        if self.email.poll_interval_seconds == 0 {
            return rule("email.poll_interval_seconds", "must be at least 1");
        }
        if self.email.max_attempts < 1 {
            return rule("email.max_attempts", "must be at least 1");
        }
        if self.email.retry_base_seconds < 1 {
            return rule("email.retry_base_seconds", "must be at least 1");
        }
        if self.email.enabled && self.email.from.parse::<lettre::message::Mailbox>().is_err() {
            return rule(
                "email.from",
                "is not an e-mail address (e.g. ERP <no-reply@example.com>)",
            );
        }
        if self.documents.max_upload_bytes == 0 {
            return rule("documents.max_upload_bytes", "must be at least 1");
        }
        if let Err(reason) = self.document_allow_list() {
            return rule("documents.allowed_extensions", &reason);
        }
        if self.documents.backend == DocumentsBackend::S3 {
            let s3 = &self.documents.s3;
            if s3.bucket.trim().is_empty() {
                return rule(
                    "documents.s3.bucket",
                    "is required when documents.backend = \"s3\"",
                );
            }
            if s3.region.trim().is_empty() {
                return rule("documents.s3.region", "must not be empty");
            }
            let endpoint = s3.endpoint.trim();
            let url = endpoint.starts_with("http://") || endpoint.starts_with("https://");
            if !endpoint.is_empty() && !url {
                return rule(
                    "documents.s3.endpoint",
                    "must be an http:// or https:// URL (or empty for AWS S3)",
                );
            }
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            return rule(
                "log.level",
                "is not a valid tracing filter (e.g. info, erp_http=debug)",
            );
        }
        if self.is_production() {
            if self.cors.allowed_origins.iter().any(|o| o.trim() == "*") {
                return rule(
                    "cors.allowed_origins",
                    "'*' is refused in production: list the origins",
                );
            }
            if self.security.jwt_private_key.is_none()
                && self.security.jwt_private_key_file.is_none()
            {
                return rule(
                    "security.jwt_private_key_file",
                    "production requires a provided signing key (ERP__SECURITY__JWT_PRIVATE_KEY_FILE or ERP__SECURITY__JWT_PRIVATE_KEY)",
                );
            }
            if self
                .security
                .fernet_keys
                .as_ref()
                .is_none_or(|k| k.expose_secret().trim().is_empty())
            {
                return rule(
                    "security.fernet_keys",
                    "production requires FERNET_KEYS (or ERP__SECURITY__FERNET_KEYS)",
                );
            }
        }
        Ok(())
    }

    /// Whether this is the production environment.
    #[must_use]
    pub fn is_production(&self) -> bool {
        self.environment == Environment::Production
    }

    /// The database URL, defaulting to SQLite under the data directory.
    #[must_use]
    pub fn database_url(&self) -> SecretString {
        let url = self.database.url.expose_secret().trim();
        if url.is_empty() {
            SecretString::from(format!(
                "sqlite://{}",
                self.data_dir.join("erp.db").display()
            ))
        } else {
            SecretString::from(url.to_owned())
        }
    }

    /// The directory of encrypted document blobs.
    #[must_use]
    pub fn documents_dir(&self) -> PathBuf {
        self.documents
            .storage_dir
            .clone()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| self.data_dir.join("documents"))
    }

    /// The configured type allow-list.
    ///
    /// # Errors
    /// Why the configured list is unusable (empty, or an extension the contract does not know).
    pub fn document_allow_list(&self) -> Result<erp_domain::document::AllowList, String> {
        match &self.documents.allowed_extensions {
            None => Ok(erp_domain::document::AllowList::default()),
            Some(list) if list.is_empty() => Err("must not be empty".into()),
            Some(list) => erp_domain::document::AllowList::only(list).map_err(|bad| {
                format!(
                    "'{bad}' is not a supported extension ({})",
                    erp_domain::document::AllowList::default()
                        .extensions()
                        .join(", ")
                )
            }),
        }
    }

    /// HTTP workers (`server.workers`, 0 = one per core).
    #[must_use]
    pub fn http_workers(&self) -> usize {
        match self.server.workers {
            0 => std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
            n => n,
        }
    }

    /// Concurrent Argon2id hashes (`security.password_hash_concurrency`, 0 = one less than the
    /// cores, at least 1).
    #[must_use]
    pub fn password_hash_concurrency(&self) -> usize {
        match self.security.password_hash_concurrency {
            0 => erp_security::BoundedHasher::<erp_security::Argon2Hasher>::default_limit(),
            n => n,
        }
    }

    /// Threads of each HTTP worker's blocking pool (`server.blocking_threads`). Auto (0): the
    /// pooled connections plus the hashing slots, shared out between the workers — a thread
    /// more could only wait for a connection, and every waiting thread keeps its own
    /// allocator caches (docs/benchmarks.md).
    #[must_use]
    pub fn blocking_threads_per_worker(&self) -> usize {
        match self.server.blocking_threads {
            0 => {
                let busy = usize::try_from(self.database.max_connections).unwrap_or(usize::MAX)
                    + self.password_hash_concurrency();
                busy.div_ceil(self.http_workers().max(1)).max(2)
            }
            n => n,
        }
    }

    /// Whether HSTS is sent.
    #[must_use]
    pub fn hsts(&self) -> bool {
        self.server.hsts.unwrap_or(self.is_production())
    }

    /// The trusted proxies, parsed (validated at load).
    #[must_use]
    pub fn trusted_proxies(&self) -> erp_http::proxy::TrustedProxies {
        erp_http::proxy::TrustedProxies::parse(&self.rate_limit.trusted_proxies)
            .unwrap_or_default()
    }

    /// A summary safe to print: every secret replaced by whether it is set.
    #[must_use]
    pub fn redacted_summary(&self) -> serde_json::Value {
        let set = |s: &Option<SecretString>| s.as_ref().map(|_| "[set]");
        serde_json::json!({
            "environment": self.environment.as_str(),
            "data_dir": self.data_dir.display().to_string(),
            "service": {"name": self.service.name},
            "server": {
                "host": self.server.host, "port": self.server.port, "workers": self.server.workers, "blocking_threads": self.server.blocking_threads,
                "shutdown_timeout_seconds": self.server.shutdown_timeout_seconds,
                "drain_seconds": self.server.drain_seconds, "hsts": self.hsts(),
                "json_limit_bytes": self.server.json_limit_bytes,
                "admin_port": self.server.admin_port,
            },
            "database": {
                "backend": redact_url(self.database_url().expose_secret()),
                "max_connections": self.database.max_connections,
                "acquire_timeout_ms": self.database.acquire_timeout_ms,
                "sqlite_busy_timeout_ms": self.database.sqlite_busy_timeout_ms,
                "sqlite_cache_kib": self.database.sqlite_cache_kib,
                "connect_timeout_seconds": self.database.connect_timeout_seconds,
                "migrate_on_start": self.database.migrate_on_start,
            },
            "security": {
                "jwt_private_key_file": self.security.jwt_private_key_file.as_ref().map(|p| p.display().to_string()),
                "jwt_private_key": set(&self.security.jwt_private_key),
                "fernet_keys": set(&self.security.fernet_keys),
                "jwt_algorithm": format!("{:?}", self.security.jwt_algorithm),
                "jwt_hs256_secret": set(&self.security.jwt_hs256_secret),
                "jwt_previous_public_key_files": self.security.jwt_previous_public_key_files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
                "jwt_issuer": self.security.jwt_issuer,
                "jwt_audience": self.security.jwt_audience,
                "access_token_ttl_seconds": self.security.access_token_ttl_seconds,
                "refresh_token_ttl_days": self.security.refresh_token_ttl_days,
                "password_hash_concurrency": self.security.password_hash_concurrency,
            },
            "cors": {"allowed_origins": self.cors.allowed_origins},
            "rate_limit": {
                "requests_per_minute": self.rate_limit.requests_per_minute,
                "trusted_proxies": self.rate_limit.trusted_proxies,
                "redis_url": self.rate_limit.redis_url.as_ref().map(|u| redact_url(u.expose_secret())),
                "redis_prefix": self.rate_limit.redis_prefix,
                "redis_timeout_ms": self.rate_limit.redis_timeout_ms,
            },
            "log": {"level": self.log.level, "format": format!("{:?}", self.log.format).to_lowercase()},
            "scheduler": {"enabled": self.scheduler.enabled, "interval_seconds": self.scheduler.interval_seconds},
            "metrics": {"enabled": self.metrics.enabled},
            "docs": {"enabled": self.docs.enabled},
            "tracing": {
                "enabled": self.tracing.enabled, "endpoint": self.tracing.endpoint,
                "headers": self.tracing.headers.keys().map(|k| (k.clone(), "[set]")).collect::<std::collections::BTreeMap<_, _>>(),
                "sampling_ratio": self.tracing.sampling_ratio,
                "parent_based": self.tracing.parent_based,
            },
            "housekeeping": {"interval_seconds": self.housekeeping.interval_seconds, "audit_retention_days": self.housekeeping.audit_retention_days},
            "email": {
                "enabled": self.email.enabled, "smtp_host": self.email.smtp_host, "smtp_port": self.email.smtp_port,
                "tls": format!("{:?}", self.email.tls).to_lowercase(), "username": self.email.username,
                "password": set(&self.email.password), "from": self.email.from,
                "timeout_seconds": self.email.timeout_seconds, "poll_interval_seconds": self.email.poll_interval_seconds,
                "max_attempts": self.email.max_attempts, "retry_base_seconds": self.email.retry_base_seconds,
            },
            "bootstrap": {"admin_username": self.bootstrap.admin_username, "admin_email": self.bootstrap.admin_email},
            "documents": {
                "max_upload_bytes": self.documents.max_upload_bytes,
                "backend": format!("{:?}", self.documents.backend).to_lowercase(),
                "storage_dir": self.documents_dir().display().to_string(),
                "s3": {
                    "endpoint": self.documents.s3.endpoint, "bucket": self.documents.s3.bucket,
                    "region": self.documents.s3.region, "path_style": self.documents.s3.path_style,
                    "prefix": self.documents.s3.prefix,
                    "access_key_id": set(&self.documents.s3.access_key_id),
                    "secret_access_key": set(&self.documents.s3.secret_access_key),
                },
                "allowed_extensions": self.document_allow_list().map(|a| a.extensions()).unwrap_or_default(),
            },
        })
    }
}

/// The URL with any password replaced, for display.
#[must_use]
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            if userinfo.contains(':') {
                format!("{scheme}://{user}:***@{host}")
            } else {
                format!("{scheme}://{user}@{host}")
            }
        }
        None => url.to_owned(),
    }
}

/// Whether an `ERP__` variable (prefix stripped) is the `_FILE` variant of a secret key: read by
/// [`secret_files`], not a configuration key of its own.
fn is_secret_file_key(key: &str) -> bool {
    let key = key.replace("__", ".");
    SECRET_SETTINGS
        .iter()
        .any(|(name, _)| key.eq_ignore_ascii_case(&format!("{name}_file")))
}

/// figment errors span several lines; a start-up error must be one.
fn flatten(e: &figment::Error) -> String {
    e.clone()
        .into_iter()
        .map(|e| e.to_string().replace('\n', " "))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    #![expect(
        clippy::result_large_err,
        reason = "figment::Jail fixes the closure's error type"
    )]

    use super::*;
    use figment::Jail;

    fn load_in(jail: &Jail) -> Result<Settings, ConfigError> {
        Settings::load(&Sources {
            config_dir: jail.directory().join("config"),
        })
    }

    #[test]
    fn the_embedded_defaults_give_a_development_server_on_sqlite() {
        Jail::expect_with(|jail| {
            let s = load_in(jail).map_err(|e| e.to_string())?;
            assert_eq!(s.environment, Environment::Development);
            assert_eq!(s.server.host, "127.0.0.1");
            assert_eq!(s.server.port, 8000);
            assert_eq!(s.database_url().expose_secret(), "sqlite://./data/erp.db");
            assert_eq!(
                s.database.sqlite_cache_kib,
                erp_persistence::database::SQLITE_CACHE_KIB,
                "config/default.toml and the library agree"
            );
            assert_eq!(s.rate_limit.requests_per_minute, 120);
            assert!(
                s.cors
                    .allowed_origins
                    .contains(&"http://localhost:5173".to_owned())
            );
            assert!(!s.hsts());
            Ok(())
        });
    }

    #[test]
    fn the_blocking_pool_is_sized_for_the_connections_and_hashing_slots() {
        Jail::expect_with(|jail| {
            jail.set_env("ERP__SERVER__WORKERS", "2");
            jail.set_env("ERP__SECURITY__PASSWORD_HASH_CONCURRENCY", "1");
            let s = load_in(jail).map_err(|e| e.to_string())?;
            assert_eq!(s.database.max_connections, 6);
            assert_eq!(s.blocking_threads_per_worker(), 4, "⌈(6 + 1) / 2⌉");
            jail.set_env("ERP__SERVER__WORKERS", "1");
            let s = load_in(jail).map_err(|e| e.to_string())?;
            assert_eq!(s.blocking_threads_per_worker(), 7);
            jail.set_env("ERP__SERVER__WORKERS", "16");
            let s = load_in(jail).map_err(|e| e.to_string())?;
            assert_eq!(s.blocking_threads_per_worker(), 2, "never fewer than 2");
            jail.set_env("ERP__SERVER__BLOCKING_THREADS", "9");
            let s = load_in(jail).map_err(|e| e.to_string())?;
            assert_eq!(s.blocking_threads_per_worker(), 9, "as configured");
            Ok(())
        });
    }

    #[test]
    fn environment_variables_override_files_with_the_fixed_names() {
        Jail::expect_with(|jail| {
            jail.set_env("ERP__SERVER__HOST", "0.0.0.0");
            jail.set_env("ERP__SERVER__PORT", "9001");
            jail.set_env("ERP__DATA_DIR", "/var/lib/erp");
            jail.set_env("ERP__DATABASE__URL", "postgres://erp:s3cret@db:5432/erp");
            jail.set_env("ERP__RATE_LIMIT__REQUESTS_PER_MINUTE", "60");
            jail.set_env("ERP__CORS__ALLOWED_ORIGINS", "[\"https://erp.mif.ma\"]");
            let s = load_in(jail).map_err(|e| e.to_string())?;
            assert_eq!(s.server.host, "0.0.0.0");
            assert_eq!(s.server.port, 9001);
            assert_eq!(s.data_dir, PathBuf::from("/var/lib/erp"));
            assert_eq!(s.rate_limit.requests_per_minute, 60);
            assert_eq!(
                s.cors.allowed_origins,
                vec!["https://erp.mif.ma".to_owned()]
            );
            let summary = s.redacted_summary().to_string();
            assert!(!summary.contains("s3cret"), "{summary}");
            assert!(summary.contains("postgres://erp:***@db:5432/erp"));
            Ok(())
        });
    }

    #[test]
    fn files_in_the_config_directory_override_the_embedded_copies() {
        Jail::expect_with(|jail| {
            jail.create_dir("config")?;
            jail.create_file(
                "config/default.toml",
                &EMBEDDED_DEFAULT.replace("port = 8000", "port = 8123"),
            )?;
            jail.create_file("config/development.toml", "[log]\nlevel = \"debug\"\n")?;
            let s = load_in(jail).map_err(|e| e.to_string())?;
            assert_eq!(s.server.port, 8123);
            assert_eq!(s.log.level, "debug");
            assert!(
                s.cors.allowed_origins.is_empty(),
                "the file replaced the embedded development layer"
            );
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_rejected_from_files_and_environment() {
        Jail::expect_with(|jail| {
            jail.set_env("ERP__SERVER__PROT", "1");
            let e = load_in(jail).unwrap_err().to_string();
            assert!(e.to_lowercase().contains("prot"), "{e}");
            assert!(!e.contains('\n'));
            Ok(())
        });
        Jail::expect_with(|jail| {
            jail.create_dir("config")?;
            jail.create_file("config/development.toml", "[databse]\nurl = \"x\"\n")?;
            let e = load_in(jail).unwrap_err().to_string();
            assert!(e.contains("databse"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn wrong_types_and_environments_are_errors() {
        Jail::expect_with(|jail| {
            jail.set_env("ERP__SERVER__PORT", "eighty");
            assert!(
                load_in(jail)
                    .unwrap_err()
                    .to_string()
                    .to_lowercase()
                    .contains("server.port")
            );
            Ok(())
        });
        Jail::expect_with(|jail| {
            jail.set_env("ERP__ENVIRONMENT", "staging");
            assert!(matches!(
                load_in(jail),
                Err(ConfigError::UnknownEnvironment(_))
            ));
            Ok(())
        });
        Jail::expect_with(|jail| {
            jail.set_env(
                "ERP__RATE_LIMIT__TRUSTED_PROXIES",
                r#"["10.0.0.0/8", "proxy.local"]"#,
            );
            assert!(matches!(
                load_in(jail),
                Err(ConfigError::Rule {
                    key: "rate_limit.trusted_proxies",
                    ..
                })
            ));
            jail.set_env(
                "ERP__RATE_LIMIT__TRUSTED_PROXIES",
                r#"["10.42.0.0/16", "192.0.2.7", "fd00::/8"]"#,
            );
            let s = load_in(jail).unwrap();
            assert!(s.trusted_proxies().contains("10.42.9.9".parse().unwrap()));
            assert!(!s.trusted_proxies().contains("10.43.0.1".parse().unwrap()));
            Ok(())
        });
        Jail::expect_with(|jail| {
            jail.set_env("ERP__RATE_LIMIT__REQUESTS_PER_MINUTE", "0");
            assert!(matches!(
                load_in(jail),
                Err(ConfigError::Rule {
                    key: "rate_limit.requests_per_minute",
                    ..
                })
            ));
            Ok(())
        });
        for (kib, accepted) in [("63", false), ("64", true), ("1048577", false)] {
            Jail::expect_with(|jail| {
                jail.set_env("ERP__DATABASE__SQLITE_CACHE_KIB", kib);
                let loaded = load_in(jail);
                assert_eq!(loaded.is_ok(), accepted, "{kib}: {loaded:?}");
                if !accepted {
                    assert!(matches!(
                        loaded,
                        Err(ConfigError::Rule {
                            key: "database.sqlite_cache_kib",
                            ..
                        })
                    ));
                }
                Ok(())
            });
        }
    }

    #[test]
    fn the_s3_backend_needs_a_bucket_and_an_http_endpoint_and_finds_its_credentials() {
        Jail::expect_with(|jail| {
            let s = load_in(jail).map_err(|e| e.to_string())?;
            assert_eq!(s.documents.backend, DocumentsBackend::Filesystem);
            assert_eq!(s.documents.s3.region, "us-east-1");
            assert!(s.documents.s3.path_style);
            jail.set_env("ERP__DOCUMENTS__BACKEND", "s3");
            assert!(matches!(
                load_in(jail),
                Err(ConfigError::Rule {
                    key: "documents.s3.bucket",
                    ..
                })
            ));
            jail.set_env("ERP__DOCUMENTS__S3__BUCKET", "erp");
            jail.set_env("ERP__DOCUMENTS__S3__ENDPOINT", "minio:9000");
            assert!(matches!(
                load_in(jail),
                Err(ConfigError::Rule {
                    key: "documents.s3.endpoint",
                    ..
                })
            ));
            jail.set_env("ERP__DOCUMENTS__S3__ENDPOINT", "http://minio:9000");
            jail.set_env("ERP__DOCUMENTS__S3__PREFIX", "/docs/");
            jail.create_file("id", "from-file-id\n")?;
            jail.create_file("secret", " from-file-secret \n")?;
            jail.set_env(
                "AWS_ACCESS_KEY_ID_FILE",
                jail.directory().join("id").display(),
            );
            jail.set_env(
                "AWS_SECRET_ACCESS_KEY_FILE",
                jail.directory().join("secret").display(),
            );
            let s = load_in(jail).map_err(|e| e.to_string())?;
            let s3 = crate::startup::s3_settings(&s).map_err(|e| e.to_string())?;
            assert_eq!(s3.endpoint.as_deref(), Some("http://minio:9000"));
            assert_eq!(s3.prefix.as_deref(), Some("docs"));
            assert_eq!(s3.access_key_id.as_deref(), Some("from-file-id"));
            assert_eq!(
                s3.secret_access_key
                    .as_ref()
                    .map(|k| k.expose_secret().to_owned()),
                Some("from-file-secret".to_owned())
            );
            // A variable and its file both set is refused; the configuration key beats both.
            jail.set_env("AWS_ACCESS_KEY_ID", "from-env");
            let e = load_in(jail).unwrap_err().to_string();
            assert!(
                e.contains(
                    "AWS_ACCESS_KEY_ID: set AWS_ACCESS_KEY_ID or AWS_ACCESS_KEY_ID_FILE, not both"
                ),
                "{e}"
            );
            jail.set_env("AWS_ACCESS_KEY_ID_FILE", "");
            jail.set_env("ERP__DOCUMENTS__S3__SECRET_ACCESS_KEY", "from-config");
            let s3 = crate::startup::s3_settings(&load_in(jail).map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?;
            assert_eq!(s3.access_key_id.as_deref(), Some("from-env"));
            assert_eq!(
                s3.secret_access_key
                    .as_ref()
                    .map(|k| k.expose_secret().to_owned()),
                Some("from-config".to_owned())
            );
            jail.set_env("AWS_ACCESS_KEY_ID", "");
            jail.set_env(
                "AWS_ACCESS_KEY_ID_FILE",
                jail.directory().join("missing").display(),
            );
            let e = load_in(jail).unwrap_err().to_string();
            assert!(e.contains("AWS_ACCESS_KEY_ID_FILE ("), "{e}");
            Ok(())
        });
    }

    /// Every secret key of [`SECRET_SETTINGS`] reads `<VAR>_FILE`, and refuses it next to its
    /// variable or when the file is missing.
    #[test]
    fn every_secret_setting_can_come_from_a_file() {
        for (key, var) in SECRET_SETTINGS {
            Jail::expect_with(|jail| {
                // Values each key accepts (a Redis URL must look like one).
                let value = match key {
                    "rate_limit.redis_url" => "redis://:p%40ss@cache:6379/0",
                    "database.url" => "postgres://erp:s3cret@db:5432/erp",
                    _ => "a secret value with spaces ",
                };
                jail.create_file("secret", &format!("{value}\n"))?;
                let path = jail.directory().join("secret");
                jail.set_env(format!("{var}_FILE"), path.display());
                let s = load_in(jail).map_err(|e| format!("{key}: {e}"))?;
                let got = match key {
                    "database.url" => Some(s.database.url),
                    "security.fernet_keys" => s.security.fernet_keys,
                    "security.jwt_hs256_secret" => s.security.jwt_hs256_secret,
                    "rate_limit.redis_url" => s.rate_limit.redis_url,
                    "email.password" => s.email.password,
                    "documents.s3.access_key_id" => s.documents.s3.access_key_id,
                    "documents.s3.secret_access_key" => s.documents.s3.secret_access_key,
                    other => return Err(format!("no assertion for {other}").into()),
                };
                assert_eq!(
                    got.as_ref()
                        .map(|v| v.expose_secret().to_owned())
                        .as_deref(),
                    Some(value),
                    "{key} from {var}_FILE"
                );
                jail.set_env(var, "also-set");
                let e = load_in(jail).unwrap_err().to_string();
                assert_eq!(
                    e,
                    format!("invalid configuration: {key}: set {var} or {var}_FILE, not both")
                );
                jail.set_env(var, "");
                jail.set_env(
                    format!("{var}_FILE"),
                    jail.directory().join("missing").display(),
                );
                let e = load_in(jail).unwrap_err().to_string();
                assert!(
                    e.starts_with(&format!("invalid configuration: {key}: {var}_FILE (")),
                    "{e}"
                );
                Ok(())
            });
        }
    }

    #[test]
    fn fernet_keys_and_the_bootstrap_password_read_their_files_too() {
        Jail::expect_with(|jail| {
            jail.create_file("fernet", "k1,k2\n")?;
            jail.set_env(
                "FERNET_KEYS_FILE",
                jail.directory().join("fernet").display(),
            );
            let s = load_in(jail).map_err(|e| e.to_string())?;
            assert_eq!(
                s.security
                    .fernet_keys
                    .map(|k| k.expose_secret().to_owned())
                    .as_deref(),
                Some("k1,k2")
            );
            jail.set_env("FERNET_KEYS", "k3");
            assert!(
                load_in(jail)
                    .unwrap_err()
                    .to_string()
                    .contains("FERNET_KEYS: set FERNET_KEYS or FERNET_KEYS_FILE, not both")
            );
            jail.set_env("FERNET_KEYS", "");
            jail.set_env("ERP_BOOTSTRAP_ADMIN_PASSWORD", "Bootstrap#Admin2026");
            jail.set_env(
                "ERP_BOOTSTRAP_ADMIN_PASSWORD_FILE",
                jail.directory().join("fernet").display(),
            );
            assert!(load_in(jail).unwrap_err().to_string().contains(
                "ERP_BOOTSTRAP_ADMIN_PASSWORD: set ERP_BOOTSTRAP_ADMIN_PASSWORD or ERP_BOOTSTRAP_ADMIN_PASSWORD_FILE, not both"
            ));
            Ok(())
        });
    }

    #[test]
    fn the_signing_key_and_its_file_together_are_refused() {
        Jail::expect_with(|jail| {
            jail.set_env(
                "ERP__SECURITY__JWT_PRIVATE_KEY",
                "-----BEGIN PRIVATE KEY-----",
            );
            jail.set_env(
                "ERP__SECURITY__JWT_PRIVATE_KEY_FILE",
                "/run/secrets/jwt.pem",
            );
            assert!(matches!(
                load_in(jail),
                Err(ConfigError::Rule {
                    key: "security.jwt_private_key",
                    ..
                })
            ));
            Ok(())
        });
    }

    #[test]
    fn the_admin_port_is_off_by_default_and_distinct_from_the_api_port() {
        Jail::expect_with(|jail| {
            let s = load_in(jail).map_err(|e| e.to_string())?;
            assert_eq!(s.server.admin_port, None);
            assert!(!s.tracing.parent_based);
            jail.set_env("ERP__SERVER__ADMIN_PORT", "8000");
            assert!(matches!(
                load_in(jail),
                Err(ConfigError::Rule {
                    key: "server.admin_port",
                    ..
                })
            ));
            jail.set_env("ERP__SERVER__ADMIN_PORT", "9000");
            assert_eq!(
                load_in(jail).map_err(|e| e.to_string())?.server.admin_port,
                Some(9000)
            );
            Ok(())
        });
    }

    #[test]
    fn production_refuses_missing_keys_and_wildcard_cors() {
        Jail::expect_with(|jail| {
            jail.set_env("ERP__ENVIRONMENT", "production");
            let e = load_in(jail).unwrap_err();
            assert!(
                matches!(
                    e,
                    ConfigError::Rule {
                        key: "security.jwt_private_key_file",
                        ..
                    }
                ),
                "{e}"
            );
            jail.set_env(
                "ERP__SECURITY__JWT_PRIVATE_KEY_FILE",
                "/run/secrets/jwt.pem",
            );
            let e = load_in(jail).unwrap_err();
            assert!(
                matches!(
                    e,
                    ConfigError::Rule {
                        key: "security.fernet_keys",
                        ..
                    }
                ),
                "{e}"
            );
            jail.set_env("FERNET_KEYS", "k1");
            let s = load_in(jail).map_err(|e| e.to_string())?;
            assert!(s.hsts());
            assert_eq!(s.server.host, "0.0.0.0");
            jail.set_env("ERP__CORS__ALLOWED_ORIGINS", "[\"*\"]");
            assert!(matches!(
                load_in(jail),
                Err(ConfigError::Rule {
                    key: "cors.allowed_origins",
                    ..
                })
            ));
            Ok(())
        });
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(redact_url("postgres://u:p@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            redact_url("sqlite://./data/erp.db"),
            "sqlite://./data/erp.db"
        );
    }
}
