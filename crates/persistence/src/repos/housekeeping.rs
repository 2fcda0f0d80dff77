//! Housekeeping purges (DATA.md §4.2).

use std::collections::HashSet;

use diesel::prelude::*;
use erp_domain::enums::StatutOutbox;
use erp_domain::ports::{HousekeepingRepository, PurgeCutoffs, PurgeReport, RepoError};

use super::DieselUnitOfWork;
use crate::errors::map;
use crate::schema::{audit_events, auth_sessions, documents, login_throttle, notification_outbox};
use crate::time::to_db;
use crate::with_conn;

impl HousekeepingRepository for DieselUnitOfWork<'_> {
    fn purge(&mut self, c: &PurgeCutoffs) -> Result<PurgeReport, RepoError> {
        let now = to_db(c.now);
        let sessions_before = to_db(c.sessions_before);
        let throttle_before = to_db(c.throttle_before);
        let outbox_before = to_db(c.outbox_sent_before);
        let audit_before = c.audit_before.map(to_db);
        with_conn!(&mut self.conn, conn => (|| {
            let sessions = diesel::delete(
                auth_sessions::table.filter(
                    auth_sessions::expires_at
                        .lt(sessions_before)
                        .or(auth_sessions::revoked_at.lt(sessions_before)),
                ),
            )
            .execute(conn)?;
            let throttle = diesel::delete(
                login_throttle::table
                    .filter(login_throttle::locked_until.is_null().or(login_throttle::locked_until.lt(now)))
                    .filter(login_throttle::last_failure_at.is_null().or(login_throttle::last_failure_at.lt(throttle_before))),
            )
            .execute(conn)?;
            let outbox = diesel::delete(
                notification_outbox::table
                    .filter(notification_outbox::statut.eq(StatutOutbox::Envoye.as_str()))
                    .filter(notification_outbox::sent_at.lt(outbox_before)),
            )
            .execute(conn)?;
            let audit = match audit_before {
                Some(before) => diesel::delete(audit_events::table.filter(audit_events::occurred_at.lt(before))).execute(conn)?,
                None => 0,
            };
            Ok::<_, diesel::result::Error>(PurgeReport { sessions, throttle, outbox, audit, blobs: 0 })
        })())
        .map_err(map)
    }

    fn referenced_blobs(&mut self, names: &[String]) -> Result<HashSet<String>, RepoError> {
        let mut found = HashSet::new();
        // Bounded IN lists: SQLite allows 32 766 parameters, PostgreSQL 65 535.
        for chunk in names.chunks(500) {
            let rows: Vec<String> = with_conn!(&mut self.conn, conn => documents::table
                .filter(documents::nom_stockage.eq_any(chunk))
                .select(documents::nom_stockage)
                .load(conn))
            .map_err(map)?;
            found.extend(rows);
        }
        Ok(found)
    }
}
