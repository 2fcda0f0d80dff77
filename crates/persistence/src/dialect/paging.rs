//! `… LIMIT n OFFSET ?`: a page of a list query, written so that SQLite plans it once.
//!
//! Bound as `LIMIT ?`, the limit makes SQLite plan with its value (the row estimate of an
//! `ORDER BY … LIMIT`): it marks the parameter (`sqlite3ExprIsInteger`), and the statement
//! expires as soon as the value is bound, so every page was parsed and planned twice — 8.5 %
//! of the CPU of a page of 50 interventions, measured with `perf` (docs/benchmarks.md). On
//! SQLite the limit is therefore written into the SQL: it is a validated 1–200 (`Page`), never
//! client text, so at most 200 statement texts per query shape. The offset, which SQLite
//! does not plan with, stays bound. PostgreSQL binds both.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::BigInt;
use diesel::sqlite::Sqlite;
use diesel::{QueryResult, RunQueryDsl};
use erp_domain::list::Page;

/// A query (without `LIMIT`/`OFFSET` of its own) restricted to one page.
#[derive(Debug, Clone)]
pub(crate) struct Paged<Q> {
    query: Q,
    page: Page,
}

/// `.paged(page)` on any query.
pub(crate) trait Paginate: Sized {
    fn paged(self, page: Page) -> Paged<Self> {
        Paged { query: self, page }
    }
}

impl<Q: Query> Paginate for Q {}

impl<Q: Query> Query for Paged<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, C> RunQueryDsl<C> for Paged<Q> {}

/// Never a static id: the SQL text (which carries the SQLite limit) is the cache key.
impl<Q> QueryId for Paged<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: QueryFragment<Sqlite>> QueryFragment<Sqlite> for Paged<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        self.query.walk_ast(out.reborrow())?;
        out.push_sql(&format!(" LIMIT {} OFFSET ", self.page.limit));
        out.push_bind_param::<BigInt, _>(&self.page.offset)
    }
}

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Paged<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.query.walk_ast(out.reborrow())?;
        out.push_sql(" LIMIT ");
        out.push_bind_param::<BigInt, _>(&self.page.limit)?;
        out.push_sql(" OFFSET ");
        out.push_bind_param::<BigInt, _>(&self.page.offset)
    }
}

#[cfg(test)]
mod tests {
    use super::Paginate;
    use diesel::debug_query;
    use diesel::pg::Pg;
    use diesel::prelude::*;
    use diesel::sqlite::Sqlite;
    use erp_domain::list::Page;

    use crate::schema::interventions;

    #[test]
    fn sqlite_writes_the_limit_and_binds_the_offset() {
        let page = Page {
            limit: 50,
            offset: 100,
        };
        let q = interventions::table
            .select(interventions::id)
            .into_boxed::<Sqlite>()
            .paged(page);
        let sql = debug_query::<Sqlite, _>(&q).to_string();
        assert!(sql.contains("LIMIT 50 OFFSET ? -- binds: [100]"), "{sql}");
        let q = interventions::table
            .select(interventions::id)
            .into_boxed::<Pg>()
            .paged(page);
        let sql = debug_query::<Pg, _>(&q).to_string();
        assert!(
            sql.contains("LIMIT $1 OFFSET $2 -- binds: [50, 100]"),
            "{sql}"
        );
    }
}
