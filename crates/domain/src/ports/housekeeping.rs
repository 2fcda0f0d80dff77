//! The housekeeping port (DATA.md §4.2): purges of rows that have served their purpose.

use std::collections::HashSet;

use crate::clock::Timestamp;
use crate::ports::RepoError;

/// The cut-off times of one housekeeping run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurgeCutoffs {
    /// The run's time.
    pub now: Timestamp,
    /// Sessions expired or revoked before this go (with their refresh tokens).
    pub sessions_before: Timestamp,
    /// Throttle rows whose last failure is older (and no lock is running) go.
    pub throttle_before: Timestamp,
    /// Outbox rows sent before this go (their notification stays).
    pub outbox_sent_before: Timestamp,
    /// Audit events older than this go; `None` keeps them forever.
    pub audit_before: Option<Timestamp>,
}

/// How many rows one run removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PurgeReport {
    /// `auth_sessions` (refresh tokens cascade).
    pub sessions: usize,
    /// `login_throttle`.
    pub throttle: usize,
    /// `notification_outbox`.
    pub outbox: usize,
    /// `audit_events`.
    pub audit: usize,
    /// Orphan document blobs (filled by the application).
    pub blobs: usize,
}

/// Purges.
pub trait HousekeepingRepository {
    /// Deletes every row past its cut-off.
    ///
    /// # Errors
    /// Only storage failures.
    fn purge(&mut self, cutoffs: &PurgeCutoffs) -> Result<PurgeReport, RepoError>;

    /// Which of these blob names a document row still references.
    ///
    /// # Errors
    /// Only storage failures.
    fn referenced_blobs(&mut self, names: &[String]) -> Result<HashSet<String>, RepoError>;
}
