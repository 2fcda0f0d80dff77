//! `notifications` and `notification_outbox` adapters (DATA.md §3.9–3.10).

use chrono::NaiveDateTime;
use diesel::dsl;
use diesel::dsl::min;
use diesel::prelude::*;
use diesel::query_dsl::methods;
use erp_domain::UserId;
use erp_domain::clock::Timestamp;
use erp_domain::enums::{CanalNotification, StatutOutbox, TypeNotification};
use erp_domain::intervention::InterventionId;
use erp_domain::list::{Listed, Page, SortDir, SortKey};
use erp_domain::notification::{
    NewNotification, NewOutboxMessage, Notification, NotificationFilter, NotificationId,
    NotificationSortField, OutboxMessage, OutboxStats,
};
use erp_domain::ports::{NotificationRepository, OutboxRepository, RepoError};

use super::DieselUnitOfWork;
use crate::errors::map;
use crate::paging::Paginate;
use crate::schema::{notification_outbox, notifications};
use crate::time::{DbTime, from_db, to_db};
use crate::with_conn;

#[derive(Queryable, Selectable)]
#[diesel(table_name = notifications)]
struct NotificationRow {
    id: i64,
    user_id: i64,
    intervention_id: Option<i64>,
    type_notification: String,
    canal: String,
    titre: Option<String>,
    contenu: Option<String>,
    date_envoi: DbTime,
    lue: bool,
    read_at: Option<DbTime>,
}

impl NotificationRow {
    fn into_domain(self) -> Result<Notification, RepoError> {
        let corrupt =
            |what: &str| RepoError::Other(format!("notifications row {}: invalid {what}", self.id));
        Ok(Notification {
            id: NotificationId::new(self.id),
            type_notification: self
                .type_notification
                .parse::<TypeNotification>()
                .map_err(|_| corrupt("type_notification"))?,
            canal: self
                .canal
                .parse::<CanalNotification>()
                .map_err(|_| corrupt("canal"))?,
            titre: self.titre,
            contenu: self.contenu,
            user_id: UserId::new(self.user_id),
            intervention_id: self.intervention_id.map(InterventionId::new),
            date_envoi: from_db(self.date_envoi),
            lue: self.lue,
            read_at: self.read_at.map(from_db),
        })
    }
}

/// The filters of `GET /notifications` on a boxed `notifications` query.
fn notification_filters<Q>(
    mut q: Q,
    f: &NotificationFilter,
    types: &[&'static str],
    canaux: &[&'static str],
) -> Q
where
    Q: methods::FilterDsl<dsl::Eq<notifications::user_id, i64>, Output = Q>
        + methods::FilterDsl<dsl::Eq<notifications::intervention_id, i64>, Output = Q>
        + methods::FilterDsl<
            dsl::EqAny<notifications::type_notification, Vec<&'static str>>,
            Output = Q,
        > + methods::FilterDsl<dsl::EqAny<notifications::canal, Vec<&'static str>>, Output = Q>
        + methods::FilterDsl<dsl::Eq<notifications::lue, bool>, Output = Q>
        + methods::FilterDsl<dsl::GtEq<notifications::date_envoi, NaiveDateTime>, Output = Q>
        + methods::FilterDsl<dsl::LtEq<notifications::date_envoi, NaiveDateTime>, Output = Q>,
{
    if let Some(u) = f.user_id {
        q = q.filter(notifications::user_id.eq(u));
    }
    if let Some(i) = f.intervention_id {
        q = q.filter(notifications::intervention_id.eq(i));
    }
    if !types.is_empty() {
        q = q.filter(notifications::type_notification.eq_any(types.to_vec()));
    }
    if !canaux.is_empty() {
        q = q.filter(notifications::canal.eq_any(canaux.to_vec()));
    }
    if let Some(l) = f.lue {
        q = q.filter(notifications::lue.eq(l));
    }
    if let Some(t) = f.date_envoi_min {
        q = q.filter(notifications::date_envoi.ge(to_db(t)));
    }
    if let Some(t) = f.date_envoi_max {
        q = q.filter(notifications::date_envoi.le(to_db(t)));
    }
    q
}

impl NotificationRepository for DieselUnitOfWork<'_> {
    fn insert_notification(
        &mut self,
        n: &NewNotification,
    ) -> Result<Option<Notification>, RepoError> {
        let row: Option<NotificationRow> =
            with_conn!(&mut self.conn, c => diesel::insert_into(notifications::table)
            .values((
                notifications::user_id.eq(n.user_id.get()),
                notifications::intervention_id.eq(n.intervention_id.map(InterventionId::get)),
                notifications::type_notification.eq(n.type_notification.as_str()),
                notifications::canal.eq(n.canal.as_str()),
                notifications::titre.eq(n.titre.as_deref()),
                notifications::contenu.eq(n.contenu.as_deref()),
                notifications::date_envoi.eq(to_db(n.date_envoi)),
                notifications::lue.eq(false),
                notifications::created_by_id.eq(n.created_by_id.map(UserId::get)),
                notifications::dedup_key.eq(n.dedup_key.as_deref()),
            ))
            .on_conflict_do_nothing()
            .returning(NotificationRow::as_returning())
            .get_result(c)
            .optional())
            .map_err(map)?;
        row.map(NotificationRow::into_domain).transpose()
    }

    fn notification_by_id(
        &mut self,
        id: NotificationId,
    ) -> Result<Option<Notification>, RepoError> {
        let row: Option<NotificationRow> = with_conn!(&mut self.conn, c => notifications::table
            .find(id.get())
            .select(NotificationRow::as_select())
            .get_result(c)
            .optional())
        .map_err(map)?;
        row.map(NotificationRow::into_domain).transpose()
    }

    fn list_notifications(
        &mut self,
        f: &NotificationFilter,
        sort: &[SortKey<NotificationSortField>],
        page: Page,
    ) -> Result<Listed<Notification>, RepoError> {
        let types: Vec<&'static str> = f.types.iter().map(|s| s.as_str()).collect();
        let canaux: Vec<&'static str> = f.canaux.iter().map(|s| s.as_str()).collect();
        let first_dir = sort.first().map_or(SortDir::Desc, |k| k.dir);
        let (total, rows) = with_conn!(&mut self.conn, c => (|| {
            let total: i64 = notification_filters(notifications::table.into_boxed(), f, &types, &canaux)
                .count()
                .get_result(c)?;
            let mut q = notification_filters(
                notifications::table.select(NotificationRow::as_select()).into_boxed(),
                f, &types, &canaux
            );
            for key in sort {
                q = match (key.field, key.dir) {
                    (NotificationSortField::DateEnvoi, SortDir::Asc) => q.then_order_by(notifications::date_envoi.asc()),
                    (NotificationSortField::DateEnvoi, SortDir::Desc) => q.then_order_by(notifications::date_envoi.desc()),
                    (NotificationSortField::Id, SortDir::Asc) => q.then_order_by(notifications::id.asc()),
                    (NotificationSortField::Id, SortDir::Desc) => q.then_order_by(notifications::id.desc()),
                };
            }
            q = match first_dir {
                SortDir::Asc => q.then_order_by(notifications::id.asc()),
                SortDir::Desc => q.then_order_by(notifications::id.desc()),
            };
            let rows: Vec<NotificationRow> = q.paged(page).load(c)?;
            Ok::<_, diesel::result::Error>((total, rows))
        })())
        .map_err(map)?;
        let items = rows
            .into_iter()
            .map(NotificationRow::into_domain)
            .collect::<Result<_, _>>()?;
        Ok(Listed { items, total })
    }

    fn mark_notification_read(
        &mut self,
        id: NotificationId,
        at: Timestamp,
    ) -> Result<(), RepoError> {
        let exists = self.notification_by_id(id)?.ok_or(RepoError::NotFound)?;
        if exists.lue {
            return Ok(());
        }
        with_conn!(&mut self.conn, c => diesel::update(
                notifications::table.find(id.get()).filter(notifications::lue.eq(false)),
            )
            .set((notifications::lue.eq(true), notifications::read_at.eq(Some(to_db(at)))))
            .execute(c))
        .map_err(map)?;
        Ok(())
    }

    fn delete_notification(&mut self, id: NotificationId) -> Result<(), RepoError> {
        let n = with_conn!(&mut self.conn, c => diesel::delete(notifications::table.find(id.get())).execute(c))
            .map_err(map)?;
        if n == 0 {
            Err(RepoError::NotFound)
        } else {
            Ok(())
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = notification_outbox)]
struct OutboxRow {
    id: i64,
    destinataire: String,
    sujet: String,
    corps_texte: String,
    corps_html: Option<String>,
    attempts: i32,
}

impl OutboxRepository for DieselUnitOfWork<'_> {
    fn enqueue_email(&mut self, m: &NewOutboxMessage) -> Result<(), RepoError> {
        let at = to_db(m.at);
        with_conn!(&mut self.conn, c => diesel::insert_into(notification_outbox::table)
            .values((
                notification_outbox::notification_id.eq(m.notification_id.get()),
                notification_outbox::destinataire.eq(&m.destinataire),
                notification_outbox::sujet.eq(&m.email.subject),
                notification_outbox::corps_texte.eq(&m.email.text),
                notification_outbox::corps_html.eq(Some(&m.email.html)),
                notification_outbox::statut.eq(StatutOutbox::EnAttente.as_str()),
                notification_outbox::attempts.eq(0),
                notification_outbox::next_attempt_at.eq(at),
                notification_outbox::created_at.eq(at),
                notification_outbox::updated_at.eq(at),
            ))
            .execute(c))
        .map_err(map)?;
        Ok(())
    }

    fn due_outbox_ids(&mut self, now: Timestamp, limit: i64) -> Result<Vec<i64>, RepoError> {
        let now = to_db(now);
        with_conn!(&mut self.conn, c => notification_outbox::table
            .filter(notification_outbox::statut.eq(StatutOutbox::EnAttente.as_str()))
            .filter(notification_outbox::next_attempt_at.le(now))
            .filter(
                notification_outbox::locked_until
                    .is_null()
                    .or(notification_outbox::locked_until.lt(now)),
            )
            .order_by((notification_outbox::next_attempt_at.asc(), notification_outbox::id.asc()))
            .limit(limit)
            .select(notification_outbox::id)
            .load(c))
        .map_err(map)
    }

    fn claim_outbox(
        &mut self,
        id: i64,
        worker: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Option<OutboxMessage>, RepoError> {
        let now = to_db(now);
        let row: Option<OutboxRow> = with_conn!(&mut self.conn, c => diesel::update(
                notification_outbox::table
                    .filter(notification_outbox::id.eq(id))
                    .filter(notification_outbox::statut.eq(StatutOutbox::EnAttente.as_str()))
                    .filter(notification_outbox::next_attempt_at.le(now))
                    .filter(
                        notification_outbox::locked_until
                            .is_null()
                            .or(notification_outbox::locked_until.lt(now)),
                    ),
            )
            .set((
                notification_outbox::locked_until.eq(Some(to_db(until))),
                notification_outbox::locked_by.eq(Some(worker)),
                notification_outbox::updated_at.eq(now),
            ))
            .returning(OutboxRow::as_returning())
            .get_result(c)
            .optional())
        .map_err(map)?;
        Ok(row.map(|r| OutboxMessage {
            id: r.id,
            destinataire: r.destinataire,
            sujet: r.sujet,
            corps_texte: r.corps_texte,
            corps_html: r.corps_html,
            attempts: r.attempts,
        }))
    }

    fn outbox_sent(&mut self, id: i64, now: Timestamp) -> Result<(), RepoError> {
        let now = to_db(now);
        with_conn!(&mut self.conn, c => diesel::update(notification_outbox::table.find(id))
            .set((
                notification_outbox::statut.eq(StatutOutbox::Envoye.as_str()),
                notification_outbox::sent_at.eq(Some(now)),
                notification_outbox::locked_until.eq(None::<NaiveDateTime>),
                notification_outbox::locked_by.eq(None::<String>),
                notification_outbox::last_error.eq(None::<String>),
                notification_outbox::updated_at.eq(now),
            ))
            .execute(c))
        .map_err(map)?;
        Ok(())
    }

    fn outbox_failed(
        &mut self,
        id: i64,
        attempts: i32,
        error: &str,
        next_attempt_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<(), RepoError> {
        let now = to_db(now);
        let statut = match next_attempt_at {
            Some(_) => StatutOutbox::EnAttente,
            None => StatutOutbox::Echec,
        };
        let error: String = error.chars().take(1000).collect();
        with_conn!(&mut self.conn, c => diesel::update(notification_outbox::table.find(id))
            .set((
                notification_outbox::statut.eq(statut.as_str()),
                notification_outbox::attempts.eq(attempts),
                notification_outbox::last_error.eq(Some(&error)),
                notification_outbox::next_attempt_at.eq(next_attempt_at.map_or(now, to_db)),
                notification_outbox::locked_until.eq(None::<NaiveDateTime>),
                notification_outbox::locked_by.eq(None::<String>),
                notification_outbox::updated_at.eq(now),
            ))
            .execute(c))
        .map_err(map)?;
        Ok(())
    }

    fn outbox_stats(&mut self) -> Result<OutboxStats, RepoError> {
        let (pending, failed, oldest) = with_conn!(&mut self.conn, c => (|| {
            let pending: i64 = notification_outbox::table
                .filter(notification_outbox::statut.eq(StatutOutbox::EnAttente.as_str()))
                .count()
                .get_result(c)?;
            let failed: i64 = notification_outbox::table
                .filter(notification_outbox::statut.eq(StatutOutbox::Echec.as_str()))
                .count()
                .get_result(c)?;
            let oldest: Option<NaiveDateTime> = notification_outbox::table
                .filter(notification_outbox::statut.eq(StatutOutbox::EnAttente.as_str()))
                .select(min(notification_outbox::created_at))
                .get_result(c)?;
            Ok::<_, diesel::result::Error>((pending, failed, oldest))
        })())
        .map_err(map)?;
        Ok(OutboxStats {
            pending,
            failed,
            oldest_pending: oldest.map(from_db),
        })
    }
}
