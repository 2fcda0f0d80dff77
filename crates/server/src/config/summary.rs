//! The configuration as printed at start-up and by `erp config`: every secret replaced by
//! whether it is set, every URL password masked.

use secrecy::{ExposeSecret as _, SecretString};

use super::sections::Settings;

impl Settings {
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
