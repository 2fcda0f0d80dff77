//! What loading the configuration fails with.

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
