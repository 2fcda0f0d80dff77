//! Loading: the TOML layers (files under `ERP_CONFIG_DIR`, or the copies embedded in the
//! binary), the `ERP__` environment variables and the `*_FILE` secrets, then validation.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format as _, Serialized, Toml};
use secrecy::SecretString;

use super::error::ConfigError;
use super::sections::{Environment, Settings};
use crate::secret_files::{self, SECRET_SETTINGS};

pub(super) const EMBEDDED_DEFAULT: &str = include_str!("../../../../config/default.toml");
const EMBEDDED_DEVELOPMENT: &str = include_str!("../../../../config/development.toml");
const EMBEDDED_TEST: &str = include_str!("../../../../config/test.toml");
const EMBEDDED_PRODUCTION: &str = include_str!("../../../../config/production.toml");

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
