//! Logging: one JSON object per line (D12), or pretty output on a developer's terminal.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

use crate::config::{Environment, LogFormat, Settings};

/// Installs the global subscriber. `RUST_LOG`, when set, wins over `log.level`.
/// Calling it twice keeps the first subscriber.
pub fn init(settings: &Settings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.log.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let pretty = match settings.log.format {
        LogFormat::Json => false,
        LogFormat::Pretty => true,
        LogFormat::Auto => {
            settings.environment == Environment::Development && std::io::stdout().is_terminal()
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::NONE);
    let installed = if pretty {
        builder.with_target(true).try_init()
    } else {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_target(true)
            .try_init()
    };
    // Already installed (tests calling twice): keep the first one.
    drop(installed);
}
