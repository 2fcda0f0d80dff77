//! Readiness and health reports (API.md §3.1), computed from the database probe.

use std::time::Duration;

use erp_domain::clock::Timestamp;
use erp_domain::ports::{DatabaseBackend, DatabaseProbe, MigrationStatus};

/// How long a probe may wait for the database before it reports it unreachable. `/ready` must
/// answer well within the 2 s an orchestrator typically allows.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(1_500);

/// Status of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckStatus {
    /// Works.
    Healthy,
    /// Works, but needs attention.
    Warning,
    /// Does not work.
    Unhealthy,
}

impl CheckStatus {
    /// Wire value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Warning => "warning",
            Self::Unhealthy => "unhealthy",
        }
    }
}

/// The database connectivity check.
#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseCheck {
    /// Healthy when a trivial query succeeded.
    pub status: CheckStatus,
    /// Backend in use.
    pub backend: DatabaseBackend,
    /// Round-trip time of the trivial query, when it succeeded.
    pub latency: Option<Duration>,
}

impl DatabaseCheck {
    /// The French message of the check.
    #[must_use]
    pub fn message(&self) -> &'static str {
        match self.status {
            CheckStatus::Healthy | CheckStatus::Warning => "Connexion à la base de données réussie",
            CheckStatus::Unhealthy => "Échec de connexion à la base de données",
        }
    }
}

/// The migrations check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationsCheck {
    /// Healthy when nothing is pending.
    pub status: CheckStatus,
    /// Applied and pending counts, when the database could be read.
    pub counts: Option<MigrationStatus>,
}

impl MigrationsCheck {
    /// The French message of the check.
    #[must_use]
    pub fn message(&self) -> String {
        match (self.status, self.counts) {
            (CheckStatus::Healthy, _) => "Migrations à jour".to_owned(),
            (_, Some(c)) => format!("Migrations en attente : {}", c.pending),
            (_, None) => "État des migrations inconnu".to_owned(),
        }
    }
}

/// What `/ready` reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Readiness {
    /// When the checks ran.
    pub timestamp: Timestamp,
    /// Database check.
    pub database: DatabaseCheck,
    /// Migrations check.
    pub migrations: MigrationsCheck,
    /// The server is shutting down and wants no new traffic.
    pub draining: bool,
}

impl Readiness {
    /// Ready = database reachable, migrations applied, not draining.
    #[must_use]
    pub fn is_ready(&self) -> bool {
        self.database.status == CheckStatus::Healthy
            && self.migrations.status == CheckStatus::Healthy
            && !self.draining
    }
}

/// Runs the database and migration checks. Blocking: call it off the async executor.
#[must_use]
pub fn check_database(probe: &dyn DatabaseProbe) -> (DatabaseCheck, MigrationsCheck) {
    let backend = probe.backend();
    let database = match probe.ping(PROBE_TIMEOUT) {
        Ok(latency) => DatabaseCheck {
            status: CheckStatus::Healthy,
            backend,
            latency: Some(latency),
        },
        Err(e) => {
            tracing::warn!(error = %e, "database check failed");
            DatabaseCheck {
                status: CheckStatus::Unhealthy,
                backend,
                latency: None,
            }
        }
    };
    let migrations = if database.status == CheckStatus::Healthy {
        match probe.migration_status(PROBE_TIMEOUT) {
            Ok(c) if c.pending == 0 => MigrationsCheck {
                status: CheckStatus::Healthy,
                counts: Some(c),
            },
            Ok(c) => MigrationsCheck {
                status: CheckStatus::Unhealthy,
                counts: Some(c),
            },
            Err(e) => {
                tracing::warn!(error = %e, "migration check failed");
                MigrationsCheck {
                    status: CheckStatus::Unhealthy,
                    counts: None,
                }
            }
        }
    } else {
        MigrationsCheck {
            status: CheckStatus::Unhealthy,
            counts: None,
        }
    };
    (database, migrations)
}

#[cfg(test)]
mod tests {
    use super::*;

    mod readiness;
    use erp_domain::ports::ProbeError;

    #[derive(Debug)]
    struct FakeProbe {
        up: bool,
        pending: usize,
    }

    impl DatabaseProbe for FakeProbe {
        fn backend(&self) -> DatabaseBackend {
            DatabaseBackend::Sqlite
        }
        fn ping(&self, _: Duration) -> Result<Duration, ProbeError> {
            if self.up {
                Ok(Duration::from_millis(1))
            } else {
                Err(ProbeError("down".into()))
            }
        }
        fn migration_status(&self, _: Duration) -> Result<MigrationStatus, ProbeError> {
            Ok(MigrationStatus {
                applied: 1,
                pending: self.pending,
            })
        }
        fn pool_connections(&self) -> (u32, u32) {
            (1, 0)
        }
    }

    #[test]
    fn an_up_to_date_database_is_healthy() {
        let (db, mig) = check_database(&FakeProbe {
            up: true,
            pending: 0,
        });
        assert_eq!(db.status, CheckStatus::Healthy);
        assert_eq!(mig.status, CheckStatus::Healthy);
        assert_eq!(mig.message(), "Migrations à jour");
    }

    #[test]
    fn pending_migrations_are_unhealthy_with_their_count() {
        let (_, mig) = check_database(&FakeProbe {
            up: true,
            pending: 2,
        });
        assert_eq!(mig.status, CheckStatus::Unhealthy);
        assert_eq!(mig.message(), "Migrations en attente : 2");
    }

    #[test]
    fn an_unreachable_database_fails_both_checks() {
        let (db, mig) = check_database(&FakeProbe {
            up: false,
            pending: 0,
        });
        assert_eq!(db.status, CheckStatus::Unhealthy);
        assert_eq!(db.message(), "Échec de connexion à la base de données");
        assert_eq!(mig.status, CheckStatus::Unhealthy);
    }
}
