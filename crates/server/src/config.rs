//! Typed configuration (D3): `config/default.toml`, then `config/<environment>.toml`, then
//! `ERP__SECTION__KEY` environment variables. Loaded and validated once at start-up, then
//! passed explicitly. Unknown keys are errors; secrets are [`SecretString`]s.
//!
//! The TOML files are read from `ERP_CONFIG_DIR` (default `./config`); a file missing there is
//! taken from the copy embedded in the binary, so the binary runs anywhere.
//!
//! The settings types are in `config/sections.rs`, loading in `config/load.rs`, the rules in
//! `config/validate.rs`, derived values in `config/derived.rs` and the printable summary in
//! `config/summary.rs`; this module re-exports the public names.

mod derived;
mod error;
mod load;
mod sections;
mod summary;
mod validate;

pub use error::ConfigError;
pub use load::Sources;
pub use sections::{
    BootstrapSettings, CorsSettings, DatabaseSettings, DocsSettings, DocumentsBackend,
    DocumentsS3Settings, DocumentsSettings, EmailSettings, Environment, HousekeepingSettings,
    JwtAlgorithm, LogFormat, LogSettings, MetricsSettings, RateLimitSettings, SchedulerSettings,
    SecuritySettings, ServerSettings, ServiceSettings, Settings, SmtpTls, TracingSettings,
};
pub use summary::redact_url;

#[cfg(test)]
mod tests {
    #![expect(
        clippy::result_large_err,
        reason = "figment::Jail fixes the closure's error type"
    )]

    use std::path::PathBuf;

    use figment::Jail;
    use secrecy::ExposeSecret as _;

    use super::load::EMBEDDED_DEFAULT;
    use super::*;
    use crate::secret_files::SECRET_SETTINGS;

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
