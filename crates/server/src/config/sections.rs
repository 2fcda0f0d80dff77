//! The settings themselves: [`Settings`] and one struct per `[section]` of the TOML files,
//! with their serde defaults. Plain data; loading, rules and derived values live beside it.

use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

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

    pub(super) fn parse(s: &str) -> Option<Self> {
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
