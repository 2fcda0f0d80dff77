//! Fakes of the background ports: planning (with its occurrences), job leases,
//! notifications (with their de-duplication key), the e-mail outbox and housekeeping.

use std::collections::HashSet;

use erp_domain::clock::Timestamp;
use erp_domain::enums::{OrigineOccurrence, StatutPlanning};
use erp_domain::intervention::{Intervention, InterventionId};
use erp_domain::list::{Listed, Page, SortKey};
use erp_domain::notification::{
    NewNotification, NewOutboxMessage, Notification, NotificationFilter, NotificationId,
    NotificationSortField, OutboxMessage, OutboxStats,
};
use erp_domain::planning::{
    Planning, PlanningFields, PlanningFilter, PlanningId, PlanningSortField,
};
use erp_domain::ports::{
    HousekeepingRepository, JobStatus, LeaseRepository, NotificationRepository, OutboxRepository,
    PlanningRepository, PurgeCutoffs, PurgeReport, RepoError,
};

use super::{
    Store, StoredLease, StoredNotification, StoredOccurrence, StoredOutbox, next_id, page_of,
};

impl PlanningRepository for Store {
    fn insert_planning(
        &mut self,
        f: &PlanningFields,
        reference: Timestamp,
        now: Timestamp,
    ) -> Result<Planning, RepoError> {
        self.next_planning += 1;
        let p = Planning {
            id: PlanningId::new(self.next_planning),
            fields: f.clone(),
            date_reference: reference,
            version: 1,
            date_creation: now,
            date_modification: now,
        };
        self.plannings.push(p.clone());
        Ok(p)
    }
    fn planning_by_id(&mut self, id: PlanningId) -> Result<Option<Planning>, RepoError> {
        Ok(self.plannings.iter().find(|p| p.id == id).cloned())
    }
    fn update_planning_if_version(
        &mut self,
        p: &Planning,
        expected: i32,
    ) -> Result<bool, RepoError> {
        match self
            .plannings
            .iter_mut()
            .find(|x| x.id == p.id && x.version == expected)
        {
            Some(row) => {
                *row = p.clone();
                row.version = expected + 1;
                Ok(true)
            }
            None => Ok(false),
        }
    }
    fn delete_planning(&mut self, id: PlanningId) -> Result<(), RepoError> {
        let before = self.plannings.len();
        self.plannings.retain(|p| p.id != id);
        if before == self.plannings.len() {
            return Err(RepoError::NotFound);
        }
        Ok(())
    }
    fn list_plannings(
        &mut self,
        f: &PlanningFilter,
        _: &[SortKey<PlanningSortField>],
        page: Page,
    ) -> Result<Listed<Planning>, RepoError> {
        let items = self
            .plannings
            .iter()
            .filter(|p| f.statuts.is_empty() || f.statuts.contains(&p.fields.statut))
            .cloned()
            .collect();
        Ok(page_of(items, page))
    }
    fn active_plannings_due_before(
        &mut self,
        horizon: Timestamp,
        limit: i64,
    ) -> Result<Vec<Planning>, RepoError> {
        let mut due: Vec<Planning> = self
            .plannings
            .iter()
            .filter(|p| p.fields.statut == StatutPlanning::Actif)
            .filter(|p| p.fields.prochaine_date <= horizon)
            .cloned()
            .collect();
        due.sort_by_key(|p| p.fields.prochaine_date);
        due.truncate(usize::try_from(limit).unwrap_or(0));
        Ok(due)
    }
    fn terminate_finished_plannings(&mut self, _: Timestamp) -> Result<usize, RepoError> {
        let mut n = 0;
        for p in self
            .plannings
            .iter_mut()
            .filter(|p| p.fields.statut == StatutPlanning::Actif && p.past_end())
        {
            p.fields.statut = StatutPlanning::Termine;
            n += 1;
        }
        Ok(n)
    }
    fn record_occurrence(
        &mut self,
        planning: PlanningId,
        due: Timestamp,
        origine: OrigineOccurrence,
        _: Timestamp,
    ) -> Result<bool, RepoError> {
        if !self.plannings.iter().any(|p| p.id == planning) {
            return Err(RepoError::ForeignKey);
        }
        if self
            .occurrences
            .iter()
            .any(|o| o.planning == planning && o.due == due)
        {
            return Ok(false);
        }
        self.occurrences.push(StoredOccurrence {
            planning,
            due,
            origine,
            intervention: None,
        });
        Ok(true)
    }
    fn link_occurrence(
        &mut self,
        planning: PlanningId,
        due: Timestamp,
        intervention: InterventionId,
    ) -> Result<(), RepoError> {
        let o = self
            .occurrences
            .iter_mut()
            .find(|o| o.planning == planning && o.due == due)
            .ok_or(RepoError::NotFound)?;
        o.intervention = Some(intervention);
        Ok(())
    }
    fn overdue_unnotified(
        &mut self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<Intervention>, RepoError> {
        Ok(self
            .interventions
            .iter()
            .filter(|i| super::work::is_overdue(i, now))
            .filter(|i| !self.overdue_notified.contains(&super::work::id_of(i)))
            .take(usize::try_from(limit).unwrap_or(0))
            .cloned()
            .collect())
    }
    fn mark_overdue_notified(&mut self, id: InterventionId, _: Timestamp) -> Result<(), RepoError> {
        self.overdue_notified.push(id);
        Ok(())
    }
}

impl LeaseRepository for Store {
    fn acquire_lease(
        &mut self,
        job: &str,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool, RepoError> {
        let lease = self
            .leases
            .entry(job.to_owned())
            .or_insert_with(|| StoredLease {
                holder: holder.to_owned(),
                until: now,
                status: JobStatus {
                    job: job.to_owned(),
                    last_run_at: None,
                    last_success_at: None,
                    last_error: None,
                    last_error_at: None,
                },
            });
        if lease.holder != holder && lease.until > now {
            return Ok(false);
        }
        holder.clone_into(&mut lease.holder);
        lease.until = until;
        lease.status.last_run_at = Some(now);
        Ok(true)
    }
    fn finish_job(
        &mut self,
        job: &str,
        now: Timestamp,
        error: Option<&str>,
    ) -> Result<(), RepoError> {
        let lease = self.leases.get_mut(job).ok_or(RepoError::NotFound)?;
        match error {
            None => {
                lease.status.last_success_at = Some(now);
                lease.status.last_error = None;
            }
            Some(e) => {
                lease.status.last_error = Some(e.to_owned());
                lease.status.last_error_at = Some(now);
            }
        }
        Ok(())
    }
    fn job_status(&mut self, job: &str) -> Result<Option<JobStatus>, RepoError> {
        Ok(self.leases.get(job).map(|l| l.status.clone()))
    }
}

impl NotificationRepository for Store {
    fn insert_notification(
        &mut self,
        n: &NewNotification,
    ) -> Result<Option<Notification>, RepoError> {
        if n.dedup_key.is_some()
            && self
                .notifications
                .iter()
                .any(|s| s.dedup_key == n.dedup_key && s.notification.user_id == n.user_id)
        {
            return Ok(None);
        }
        if !self.users.iter().any(|u| u.id == n.user_id) {
            return Err(RepoError::ForeignKey);
        }
        let stored = Notification {
            id: NotificationId::new(next_id(self.notifications.len())),
            type_notification: n.type_notification,
            canal: n.canal,
            titre: n.titre.clone(),
            contenu: n.contenu.clone(),
            user_id: n.user_id,
            intervention_id: n.intervention_id,
            date_envoi: n.date_envoi,
            lue: false,
            read_at: None,
        };
        self.notifications.push(StoredNotification {
            notification: stored.clone(),
            dedup_key: n.dedup_key.clone(),
            created_by_id: n.created_by_id,
        });
        Ok(Some(stored))
    }
    fn notification_by_id(
        &mut self,
        id: NotificationId,
    ) -> Result<Option<Notification>, RepoError> {
        Ok(self
            .notifications
            .iter()
            .find(|s| s.notification.id == id)
            .map(|s| s.notification.clone()))
    }
    fn list_notifications(
        &mut self,
        f: &NotificationFilter,
        _: &[SortKey<NotificationSortField>],
        page: Page,
    ) -> Result<Listed<Notification>, RepoError> {
        let items = self
            .notifications
            .iter()
            .rev()
            .map(|s| &s.notification)
            .filter(|n| f.user_id.is_none_or(|u| n.user_id.get() == u))
            .filter(|n| f.lue.is_none_or(|l| n.lue == l))
            .cloned()
            .collect();
        Ok(page_of(items, page))
    }
    fn mark_notification_read(
        &mut self,
        id: NotificationId,
        at: Timestamp,
    ) -> Result<(), RepoError> {
        let n = self
            .notifications
            .iter_mut()
            .find(|s| s.notification.id == id)
            .ok_or(RepoError::NotFound)?;
        if !n.notification.lue {
            n.notification.lue = true;
            n.notification.read_at = Some(at);
        }
        Ok(())
    }
    fn delete_notification(&mut self, id: NotificationId) -> Result<(), RepoError> {
        let before = self.notifications.len();
        self.notifications.retain(|s| s.notification.id != id);
        if before == self.notifications.len() {
            return Err(RepoError::NotFound);
        }
        Ok(())
    }
}

impl OutboxRepository for Store {
    fn enqueue_email(&mut self, m: &NewOutboxMessage) -> Result<(), RepoError> {
        if !self
            .notifications
            .iter()
            .any(|s| s.notification.id == m.notification_id)
        {
            return Err(RepoError::ForeignKey);
        }
        self.outbox.push(StoredOutbox {
            id: next_id(self.outbox.len()),
            notification_id: m.notification_id,
            destinataire: m.destinataire.clone(),
            email: m.email.clone(),
            created_at: m.at,
            next_attempt_at: Some(m.at),
            attempts: 0,
            statut: "en_attente",
            claimed_by: None,
            claimed_until: None,
            sent_at: None,
            last_error: None,
        });
        Ok(())
    }
    fn due_outbox_ids(&mut self, now: Timestamp, limit: i64) -> Result<Vec<i64>, RepoError> {
        Ok(self
            .outbox
            .iter()
            .filter(|o| o.statut == "en_attente" && o.next_attempt_at.is_some_and(|t| t <= now))
            .filter(|o| o.claimed_until.is_none_or(|u| u <= now))
            .take(usize::try_from(limit).unwrap_or(0))
            .map(|o| o.id)
            .collect())
    }
    fn claim_outbox(
        &mut self,
        id: i64,
        worker: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Option<OutboxMessage>, RepoError> {
        let Some(o) = self.outbox.iter_mut().find(|o| {
            o.id == id && o.statut == "en_attente" && o.claimed_until.is_none_or(|u| u <= now)
        }) else {
            return Ok(None);
        };
        o.claimed_by = Some(worker.to_owned());
        o.claimed_until = Some(until);
        Ok(Some(OutboxMessage {
            id: o.id,
            destinataire: o.destinataire.clone(),
            sujet: o.email.subject.clone(),
            corps_texte: o.email.text.clone(),
            corps_html: Some(o.email.html.clone()),
            attempts: o.attempts,
        }))
    }
    fn outbox_sent(&mut self, id: i64, now: Timestamp) -> Result<(), RepoError> {
        let o = self
            .outbox
            .iter_mut()
            .find(|o| o.id == id)
            .ok_or(RepoError::NotFound)?;
        o.statut = "envoye";
        o.sent_at = Some(now);
        o.claimed_until = None;
        Ok(())
    }
    fn outbox_failed(
        &mut self,
        id: i64,
        attempts: i32,
        error: &str,
        next: Option<Timestamp>,
        _: Timestamp,
    ) -> Result<(), RepoError> {
        let o = self
            .outbox
            .iter_mut()
            .find(|o| o.id == id)
            .ok_or(RepoError::NotFound)?;
        o.attempts = attempts;
        o.last_error = Some(error.to_owned());
        o.next_attempt_at = next;
        o.claimed_until = None;
        if next.is_none() {
            o.statut = "echec";
        }
        Ok(())
    }
    fn outbox_stats(&mut self) -> Result<OutboxStats, RepoError> {
        let pending: Vec<&StoredOutbox> = self
            .outbox
            .iter()
            .filter(|o| o.statut == "en_attente")
            .collect();
        Ok(OutboxStats {
            pending: super::count(pending.len()),
            failed: super::count(self.outbox.iter().filter(|o| o.statut == "echec").count()),
            oldest_pending: pending.iter().map(|o| o.created_at).min(),
        })
    }
}

impl HousekeepingRepository for Store {
    fn purge(&mut self, cutoffs: &PurgeCutoffs) -> Result<PurgeReport, RepoError> {
        self.purges.push(*cutoffs);
        Ok(self.purge_report)
    }
    fn referenced_blobs(&mut self, names: &[String]) -> Result<HashSet<String>, RepoError> {
        Ok(names
            .iter()
            .filter(|n| self.documents.iter().any(|d| &d.nom_stockage == *n))
            .cloned()
            .collect())
    }
}
