//! Exact `X-Total-Count`s of the interventions lists, remembered while the database has not
//! changed.
//!
//! A filtered count reads every matching index entry, so it grows with the matches (22 500
//! of 100 000 interventions for the open work of a plant: half of a page request's CPU,
//! docs/benchmarks.md), while the page itself stops after its 50 rows. Neither engine keeps
//! counts in its B-trees, so a count is remembered here together with the database's *change
//! token*, read before the count was made, and served again only while a fresh token reads
//! the same:
//!
//! (`dialect::change_token`: SQLite's `PRAGMA data_version`, PostgreSQL's snapshot).
//!
//! The token is always read *before* the count. A commit landing between the two at worst
//! leaves a count that already includes it under an older token — the next reader counts
//! again — never a count that misses a commit under a token that says nothing changed. So a
//! remembered count is exactly the count a fresh statement would return; only its cost
//! changes. A count whose filter depends on the clock (`en_retard`) is never remembered.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use erp_domain::intervention::InterventionFilter;

use crate::dialect::Conn;
use crate::dialect::change_token::{ChangeToken, ChangeWatcher};

/// Distinct filters remembered at most; the map is emptied when full (filters in use are few:
/// the screens' saved views), which costs one count per filter afterwards.
const CAPACITY: usize = 256;

/// How often remembered counts were served and how often they had to be made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CountCacheStats {
    /// Counts answered from memory.
    pub hits: u64,
    /// Counts run against the database (and remembered when the filter allows).
    pub misses: u64,
}

/// The remembered counts of one [`crate::Database`].
pub(crate) struct CountCache {
    entries: Mutex<HashMap<InterventionFilter, (ChangeToken, i64)>>,
    /// Reads the database's change token.
    watcher: ChangeWatcher,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl std::fmt::Debug for CountCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CountCache")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl CountCache {
    /// For PostgreSQL (the token is read on the unit of work's own connection).
    pub(crate) fn postgres() -> Self {
        Self::with_watcher(ChangeWatcher::postgres())
    }

    /// For the SQLite file at `path`, watched through a connection of its own.
    pub(crate) fn sqlite(path: &str, busy_timeout_ms: u128) -> diesel::ConnectionResult<Self> {
        Ok(Self::with_watcher(ChangeWatcher::sqlite(
            path,
            busy_timeout_ms,
        )?))
    }

    fn with_watcher(watcher: ChangeWatcher) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            watcher,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    pub(crate) fn stats(&self) -> CountCacheStats {
        CountCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    /// The count of `filter`'s matches: remembered if the database has not changed since it
    /// was made, else `count()` (remembered for next time unless it depends on the clock).
    ///
    /// # Errors
    /// Reading the token or counting failed.
    pub(crate) fn total(
        &self,
        conn: &mut Conn<'_>,
        filter: &InterventionFilter,
        count: impl FnOnce(&mut Conn<'_>) -> diesel::QueryResult<i64>,
    ) -> diesel::QueryResult<i64> {
        // `now` only matters to `en_retard`; a filter with it is different on every request.
        if filter.en_retard.is_some() {
            self.misses.fetch_add(1, Ordering::Relaxed);
            return count(conn);
        }
        let key = InterventionFilter {
            now: None,
            ..filter.clone()
        };
        let token = self.watcher.read(conn)?;
        let remembered = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
            .filter(|(made_at, _)| *made_at == token)
            .map(|&(_, total)| total);
        if let Some(total) = remembered {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(total);
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let total = count(conn)?;
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= CAPACITY && !entries.contains_key(&key) {
            entries.clear();
        }
        entries.insert(key, (token, total));
        Ok(total)
    }
}
