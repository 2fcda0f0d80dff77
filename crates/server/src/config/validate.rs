//! The rules a loaded configuration must follow beyond its types (ranges, URLs, what
//! production requires); the first broken rule names its key.

use secrecy::ExposeSecret as _;

use super::error::ConfigError;
use super::sections::{DocumentsBackend, JwtAlgorithm, Settings};

impl Settings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
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
        if let Err(e) = erp_http::proxy::TrustedProxies::parse(&self.rate_limit.trusted_proxies) {
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
}
