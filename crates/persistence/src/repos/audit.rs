//! `audit_events` adapter (DATA.md §2.7): append and query, never update.

use chrono::NaiveDateTime;
use diesel::dsl;
use diesel::prelude::*;
use diesel::query_dsl::methods;
use erp_domain::audit::{AuditContext, AuditEvent, AuditEventType, AuditFilter, NewAuditEvent};
use erp_domain::list::{Listed, Page};
use erp_domain::ports::{AuditRepository, RepoError};
use erp_domain::{AuditEventId, UserId};

use super::DieselUnitOfWork;
use crate::errors::map;
use crate::paging::Paginate;
use crate::schema::audit_events;
use crate::time::{DbTime, from_db, to_db};
use crate::with_conn;

#[derive(Queryable, Selectable)]
#[diesel(table_name = audit_events)]
struct AuditRow {
    id: i64,
    occurred_at: DbTime,
    event_type: String,
    success: bool,
    user_id: Option<i64>,
    username: Option<String>,
    ip_address: Option<String>,
    user_agent: Option<String>,
    request_id: Option<String>,
    resource: Option<String>,
    action: Option<String>,
    details: Option<String>,
}

impl AuditRow {
    fn into_domain(self) -> Result<AuditEvent, RepoError> {
        let event_type = self.event_type.parse::<AuditEventType>().map_err(|_| {
            RepoError::Other(format!("audit_events row {}: unknown event_type", self.id))
        })?;
        let details = match self.details.as_deref() {
            Some(d) => Some(serde_json::from_str(d).map_err(|_| {
                RepoError::Other(format!("audit_events row {}: invalid details", self.id))
            })?),
            None => None,
        };
        Ok(AuditEvent {
            id: AuditEventId::new(self.id),
            event: NewAuditEvent {
                occurred_at: from_db(self.occurred_at),
                event_type,
                success: self.success,
                user_id: self.user_id.map(UserId::new),
                username: self.username,
                context: AuditContext {
                    request_id: self.request_id,
                    ip_address: self.ip_address,
                    user_agent: self.user_agent,
                },
                resource: self.resource,
                action: self.action,
                details,
            },
        })
    }
}

/// The filters of `GET /audit` on a boxed `audit_events` query.
fn audit_filters<Q>(mut q: Q, types: &[&'static str], f: &AuditFilter) -> Q
where
    Q: methods::FilterDsl<dsl::EqAny<audit_events::event_type, Vec<&'static str>>, Output = Q>
        + methods::FilterDsl<dsl::Eq<audit_events::user_id, i64>, Output = Q>
        + methods::FilterDsl<dsl::Eq<audit_events::success, bool>, Output = Q>
        + methods::FilterDsl<dsl::Eq<audit_events::ip_address, String>, Output = Q>
        + methods::FilterDsl<dsl::Eq<audit_events::request_id, String>, Output = Q>
        + methods::FilterDsl<dsl::GtEq<audit_events::occurred_at, NaiveDateTime>, Output = Q>
        + methods::FilterDsl<dsl::LtEq<audit_events::occurred_at, NaiveDateTime>, Output = Q>,
{
    if !types.is_empty() {
        q = q.filter(audit_events::event_type.eq_any(types.to_vec()));
    }
    if let Some(user) = f.user_id {
        q = q.filter(audit_events::user_id.eq(user.get()));
    }
    if let Some(success) = f.success {
        q = q.filter(audit_events::success.eq(success));
    }
    if let Some(ip) = &f.ip_address {
        q = q.filter(audit_events::ip_address.eq(ip.clone()));
    }
    if let Some(rid) = &f.request_id {
        q = q.filter(audit_events::request_id.eq(rid.clone()));
    }
    if let Some(min) = f.date_min {
        q = q.filter(audit_events::occurred_at.ge(to_db(min)));
    }
    if let Some(max) = f.date_max {
        q = q.filter(audit_events::occurred_at.le(to_db(max)));
    }
    q
}

impl AuditRepository for DieselUnitOfWork<'_> {
    fn append_audit(&mut self, e: &NewAuditEvent) -> Result<(), RepoError> {
        let details = e.details.as_ref().map(ToString::to_string);
        let values = (
            audit_events::occurred_at.eq(to_db(e.occurred_at)),
            audit_events::event_type.eq(e.event_type.as_str()),
            audit_events::success.eq(e.success),
            audit_events::user_id.eq(e.user_id.map(UserId::get)),
            audit_events::username.eq(e.username.as_deref()),
            audit_events::ip_address.eq(e.context.ip_address.as_deref()),
            audit_events::user_agent.eq(e.context.user_agent.as_deref()),
            audit_events::request_id.eq(e.context.request_id.as_deref()),
            audit_events::resource.eq(e.resource.as_deref()),
            audit_events::action.eq(e.action.as_deref()),
            audit_events::details.eq(details.as_deref()),
        );
        with_conn!(&mut self.conn, c => diesel::insert_into(audit_events::table).values(values).execute(c))
            .map_err(map)?;
        Ok(())
    }

    fn list_audit(
        &mut self,
        filter: &AuditFilter,
        page: Page,
    ) -> Result<Listed<AuditEvent>, RepoError> {
        let types: Vec<&'static str> = filter.event_types.iter().map(|t| t.as_str()).collect();
        let (total, rows) = with_conn!(&mut self.conn, c => (|| {
            let total: i64 = audit_filters(audit_events::table.into_boxed(), &types, filter).count().get_result(c)?;
            let rows: Vec<AuditRow> = audit_filters(audit_events::table.select(AuditRow::as_select()).into_boxed(), &types, filter)
                .order_by((audit_events::occurred_at.desc(), audit_events::id.desc()))
                .paged(page)
                .load(c)?;
            Ok::<_, diesel::result::Error>((total, rows))
        })())
        .map_err(map)?;
        let items = rows
            .into_iter()
            .map(AuditRow::into_domain)
            .collect::<Result<_, _>>()?;
        Ok(Listed { items, total })
    }
}
