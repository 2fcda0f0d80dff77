//! The `erp` command line.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use erp_domain::ports::DatabaseProbe as _;

use crate::config::{Settings, Sources};
use crate::startup::{self, StartupError};
use crate::{healthcheck, serve, telemetry};

/// ERP MIF Maroc server.
#[derive(Debug, Parser)]
#[command(name = "erp", version, about)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Run the HTTP server (migrates first).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate {
        /// Only report applied and pending migrations.
        #[arg(long)]
        status: bool,
    },
    /// Validate the configuration, print it with secrets redacted, and exit.
    CheckConfig,
    /// Load the demo data set (idempotent): one account per role, équipements, techniciens
    /// with skills, interventions in every statut.
    SeedDemo {
        /// How many interventions (benchmarks load 100 000).
        #[arg(long, default_value_t = 200)]
        interventions: usize,
        /// Load it even in the `production` environment (refused otherwise: the demo accounts'
        /// passwords are public).
        #[arg(long)]
        allow_production: bool,
    },
    /// Key management.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Print the OpenAPI 3.1 document of the API (the one served at `/openapi.json`) and exit.
    Openapi,
    /// Probe the running server's `/live` (for container health checks).
    Healthcheck {
        /// Seconds to wait for the answer.
        #[arg(long, default_value_t = 3)]
        timeout: u64,
    },
}

/// `erp keys …`.
#[derive(Debug, Clone, Subcommand)]
pub enum KeysCommand {
    /// Write a new RS256 key pair and a Fernet key (mode 0600, never overwriting).
    Generate {
        /// Output directory.
        #[arg(long, default_value = "keys")]
        out: std::path::PathBuf,
    },
    /// Re-encrypt every stored document whose key is not the newest of `FERNET_KEYS` (safe to
    /// interrupt and re-run; the server may keep serving meanwhile).
    RotateFernet,
}

/// Parses the command line, runs it, and turns a failure into one line on stderr.
#[must_use]
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli.command.unwrap_or(Command::Serve)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            report_error(&message);
            ExitCode::FAILURE
        }
    }
}

#[expect(
    clippy::print_stderr,
    reason = "a start-up failure is one line on stderr"
)]
fn report_error(message: &str) {
    eprintln!("erp: error: {message}");
}

#[expect(clippy::print_stdout, reason = "CLI output")]
fn print(text: &str) {
    println!("{text}");
}

fn run(command: &Command) -> Result<(), String> {
    // Key generation needs no configuration: it only writes files.
    if let Command::Keys(KeysCommand::Generate { out }) = command {
        let generated = erp_security::keys::generate_key_files(out).map_err(|e| e.to_string())?;
        for file in &generated.files {
            print(&format!("wrote {} (mode 0600)", file.display()));
        }
        print(&format!("signing key id (kid): {}", generated.kid));
        return Ok(());
    }
    // The document is generated from the code alone.
    if let Command::Openapi = command {
        print(erp_http::openapi::document_json().trim_end());
        return Ok(());
    }
    let settings = Settings::load(&Sources::from_process()).map_err(|e| e.to_string())?;
    match command {
        Command::Serve => {
            let _telemetry = telemetry::init(&settings);
            serve::run(&settings).map_err(|e| e.to_string())
        }
        Command::Migrate { status } => {
            let _telemetry = telemetry::init(&settings);
            migrate(&settings, *status).map_err(|e| e.to_string())
        }
        Command::CheckConfig => {
            // The database URL scheme is part of the configuration: check it without connecting.
            erp_persistence::database::DatabaseUrl::parse(secrecy::ExposeSecret::expose_secret(
                &settings.database_url(),
            ))
            .map_err(|e| e.to_string())?;
            let summary = serde_json::to_string_pretty(&settings.redacted_summary())
                .map_err(|e| e.to_string())?;
            print(&summary);
            print("configuration OK");
            Ok(())
        }
        Command::Keys(KeysCommand::Generate { .. }) | Command::Openapi => Ok(()),
        Command::Keys(KeysCommand::RotateFernet) => {
            let _telemetry = telemetry::init(&settings);
            rotate_fernet(&settings)
        }
        Command::SeedDemo {
            interventions,
            allow_production,
        } => {
            if settings.is_production() && !allow_production {
                return Err(SEED_DEMO_IN_PRODUCTION.to_owned());
            }
            let _telemetry = telemetry::init(&settings);
            seed_demo(&settings, *interventions).map_err(|e| e.to_string())
        }
        Command::Healthcheck { timeout } => healthcheck::check(
            &settings.server.host,
            settings.server.port,
            Duration::from_secs(*timeout),
        ),
    }
}

/// Why `erp seed-demo` refuses production without `--allow-production`.
pub const SEED_DEMO_IN_PRODUCTION: &str = "seed-demo refuses the production environment: it creates one account per role with a public password (see the README); pass --allow-production to load the demo data anyway";

fn seed_demo(settings: &Settings, interventions: usize) -> Result<(), StartupError> {
    let db = startup::open_database(settings)?;
    db.migrate()?;
    let keys = startup::provision_keys(settings)?;
    startup::bootstrap_admin(settings, &db)?;
    let now = erp_domain::Clock::now(&erp_domain::SystemClock);
    let clock = std::sync::Arc::new(erp_domain::ThreadClock::new(now));
    let db = std::sync::Arc::new(db);
    let app = startup::application(
        settings,
        std::sync::Arc::clone(&db),
        &keys,
        std::sync::Arc::clone(&clock) as _,
    )?;
    // One writer per pooled connection: on PostgreSQL the round trips of several threads
    // overlap; on SQLite the writes take turns but the work around them does not.
    let workers = usize::try_from(settings.database.max_connections).unwrap_or(1);
    let started = std::time::Instant::now();
    let report = app
        .seed_demo(now, &|t| clock.set(t), interventions, workers)
        .map_err(|e| StartupError::Bootstrap(e.to_string()))?;
    if report.created {
        // Fresh rows: give the planner statistics before anyone queries them.
        db.optimize()
            .map_err(|e| StartupError::Bootstrap(e.to_string()))?;
        print(&format!(
            "seed-demo: created {} users, {} techniciens, {} équipements, {} interventions, {} plannings in {:.1} s",
            report.users,
            report.techniciens,
            report.equipements,
            report.interventions,
            report.plannings,
            started.elapsed().as_secs_f64()
        ));
        for (username, password, role) in erp_application::seed::DEMO_ACCOUNTS {
            print(&format!(
                "  {:<12} {username:<18} {password}",
                role.as_str()
            ));
        }
    } else {
        print("seed-demo: the demo data set is already loaded; nothing changed");
    }
    Ok(())
}

#[expect(clippy::print_stderr, reason = "progress on the operator's terminal")]
fn show_progress(report: &erp_application::documents::RotationReport, done: bool) {
    eprint!(
        "\rrotate-fernet: {} examined, {} re-encrypted{}",
        report.examined,
        report.reencrypted,
        if done { "\n" } else { "" }
    );
}

fn rotate_fernet(settings: &Settings) -> Result<(), String> {
    use erp_application::documents::{RotationDeps, rotate_document_keys};
    use std::io::IsTerminal as _;
    let fail = |e: StartupError| e.to_string();
    let db = startup::open_database(settings).map_err(fail)?;
    db.migrate().map_err(|e| fail(e.into()))?;
    let keys = startup::provision_keys(settings).map_err(fail)?;
    let vault = startup::document_vault(settings, &keys).map_err(fail)?;
    let target = erp_domain::ports::DocumentVault::current_key_id(&vault);
    let tty = std::io::stderr().is_terminal();
    let started = std::time::Instant::now();
    let deps = RotationDeps {
        db: &db,
        vault: &vault,
        clock: &erp_domain::SystemClock,
    };
    let report = rotate_document_keys(deps, &mut |r| {
        if tty {
            show_progress(r, false);
        }
    })
    .map_err(|e| e.to_string())?;
    if tty && report.examined > 0 {
        show_progress(&report, true);
    }
    print(&format!(
        "rotate-fernet: {} document(s) under an older key, {} re-encrypted, {} skipped (changed meanwhile), {} failed; newest key {target} ({:.1} s)",
        report.examined,
        report.reencrypted,
        report.skipped,
        report.failed,
        started.elapsed().as_secs_f64()
    ));
    if report.failed > 0 {
        return Err(format!(
            "{} document(s) could not be re-encrypted (see the log); fix them and re-run",
            report.failed
        ));
    }
    Ok(())
}

fn migrate(settings: &Settings, status_only: bool) -> Result<(), StartupError> {
    let db = startup::open_database(settings)?;
    if !status_only {
        let applied = db.migrate()?;
        print(&format!(
            "applied {} migration(s): {}",
            applied.len(),
            applied.join(", ")
        ));
    }
    let status = db.migration_status(Duration::from_secs(10)).map_err(|e| {
        StartupError::Migration(erp_persistence::migrations::MigrationError(e.to_string()))
    })?;
    print(&format!(
        "{} backend: {} applied, {} pending",
        db.backend().as_str(),
        status.applied,
        status.pending
    ));
    Ok(())
}
