//! `competences` adapter (DATA.md §3.2).

use chrono::NaiveDateTime;
use diesel::dsl;
use diesel::prelude::*;
use diesel::query_dsl::methods;
use erp_domain::clock::Timestamp;
use erp_domain::enums::NiveauCompetence;
use erp_domain::list::{Listed, Page, SortDir, SortKey, like_contains};
use erp_domain::ports::{CompetenceRepository, RepoError};
use erp_domain::technicien::{
    Competence, CompetenceFields, CompetenceFilter, CompetenceId, CompetenceSortField,
};
use erp_domain::text::norm;

use super::DieselUnitOfWork;
use crate::errors::map;
use crate::paging::Paginate;
use crate::schema::competences;
use crate::time::{DbTime, from_db, to_db};
use crate::with_conn;

#[derive(Queryable, Selectable)]
#[diesel(table_name = competences)]
struct CompetenceRow {
    id: i64,
    nom: String,
    domaine: String,
    description: Option<String>,
    niveau_requis_minimum: String,
    necessite_certification: bool,
    duree_validite_mois: Option<i32>,
    is_active: bool,
    created_at: DbTime,
    updated_at: DbTime,
}

impl CompetenceRow {
    fn into_domain(self) -> Result<Competence, RepoError> {
        Ok(Competence {
            id: CompetenceId::new(self.id),
            fields: CompetenceFields {
                niveau_requis_minimum: self
                    .niveau_requis_minimum
                    .parse::<NiveauCompetence>()
                    .map_err(|_| {
                        RepoError::Other(format!("competences row {}: invalid niveau", self.id))
                    })?,
                nom: self.nom,
                domaine: self.domaine,
                description: self.description,
                necessite_certification: self.necessite_certification,
                duree_validite_mois: self.duree_validite_mois,
                is_active: self.is_active,
            },
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

/// Every column a write sets (all but id and `created_at`).
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = competences, treat_none_as_null = true, treat_none_as_default_value = false)]
struct CompetenceValues<'a> {
    nom: &'a str,
    nom_norm: String,
    domaine: &'a str,
    domaine_norm: String,
    description: Option<&'a str>,
    niveau_requis_minimum: &'static str,
    necessite_certification: bool,
    duree_validite_mois: Option<i32>,
    is_active: bool,
    updated_at: NaiveDateTime,
}

impl<'a> CompetenceValues<'a> {
    fn new(f: &'a CompetenceFields, now: NaiveDateTime) -> Self {
        Self {
            nom: &f.nom,
            nom_norm: norm(&f.nom),
            domaine: &f.domaine,
            domaine_norm: norm(&f.domaine),
            description: f.description.as_deref(),
            niveau_requis_minimum: f.niveau_requis_minimum.as_str(),
            necessite_certification: f.necessite_certification,
            duree_validite_mois: f.duree_validite_mois,
            is_active: f.is_active,
            updated_at: now,
        }
    }
}

/// The filters of `GET /competences` on a boxed `competences` query.
fn competence_filters<Q>(mut q: Q, f: &CompetenceFilter, search: Option<&str>) -> Q
where
    Q: methods::FilterDsl<dsl::Eq<competences::domaine_norm, String>, Output = Q>
        + methods::FilterDsl<dsl::Eq<competences::is_active, bool>, Output = Q>
        + methods::FilterDsl<dsl::Escape<dsl::Like<competences::nom_norm, String>>, Output = Q>,
{
    if let Some(d) = &f.domaine {
        q = q.filter(competences::domaine_norm.eq(norm(d)));
    }
    if let Some(active) = f.is_active {
        q = q.filter(competences::is_active.eq(active));
    }
    if let Some(pattern) = search {
        q = q.filter(competences::nom_norm.like(pattern.to_owned()).escape('\\'));
    }
    q
}

impl CompetenceRepository for DieselUnitOfWork<'_> {
    fn insert_competence(
        &mut self,
        f: &CompetenceFields,
        now: Timestamp,
    ) -> Result<Competence, RepoError> {
        let now = to_db(now);
        let row: CompetenceRow =
            with_conn!(&mut self.conn, c => diesel::insert_into(competences::table)
            .values((CompetenceValues::new(f, now), competences::created_at.eq(now)))
            .returning(CompetenceRow::as_returning())
            .get_result(c))
            .map_err(map)?;
        row.into_domain()
    }

    fn competence_by_id(&mut self, id: CompetenceId) -> Result<Option<Competence>, RepoError> {
        let row: Option<CompetenceRow> = with_conn!(&mut self.conn, c => competences::table
            .find(id.get())
            .select(CompetenceRow::as_select())
            .get_result(c)
            .optional())
        .map_err(map)?;
        row.map(CompetenceRow::into_domain).transpose()
    }

    fn update_competence(
        &mut self,
        id: CompetenceId,
        f: &CompetenceFields,
        now: Timestamp,
    ) -> Result<Competence, RepoError> {
        let now = to_db(now);
        let row: Option<CompetenceRow> =
            with_conn!(&mut self.conn, c => diesel::update(competences::table.find(id.get()))
            .set(CompetenceValues::new(f, now))
            .returning(CompetenceRow::as_returning())
            .get_result(c)
            .optional())
            .map_err(map)?;
        row.ok_or(RepoError::NotFound)?.into_domain()
    }

    fn delete_competence(&mut self, id: CompetenceId) -> Result<(), RepoError> {
        let n = with_conn!(&mut self.conn, c => diesel::delete(competences::table.find(id.get())).execute(c)).map_err(map)?;
        if n == 0 {
            Err(RepoError::NotFound)
        } else {
            Ok(())
        }
    }

    fn count_competences(&mut self, ids: &[CompetenceId]) -> Result<usize, RepoError> {
        let raw: Vec<i64> = ids.iter().map(|i| i.get()).collect();
        let n: i64 = with_conn!(&mut self.conn, c => competences::table
            .filter(competences::id.eq_any(raw))
            .count()
            .get_result(c))
        .map_err(map)?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    fn list_competences(
        &mut self,
        f: &CompetenceFilter,
        sort: &[SortKey<CompetenceSortField>],
        page: Page,
    ) -> Result<Listed<Competence>, RepoError> {
        let search = f.search.as_deref().map(|s| like_contains(&norm(s)));
        let sort: Vec<SortKey<CompetenceSortField>> = if sort.is_empty() {
            vec![SortKey {
                field: CompetenceSortField::Nom,
                dir: SortDir::Asc,
            }]
        } else {
            sort.to_vec()
        };
        let first_dir = sort.first().map_or(SortDir::Asc, |k| k.dir);
        let (total, rows) = with_conn!(&mut self.conn, c => (|| {
            let total: i64 = competence_filters(competences::table.into_boxed(), f, search.as_deref()).count().get_result(c)?;
            let mut q = competence_filters(competences::table.select(CompetenceRow::as_select()).into_boxed(), f, search.as_deref());
            for key in &sort {
                q = match (key.field, key.dir) {
                    (CompetenceSortField::Nom, SortDir::Asc) => q.then_order_by(competences::nom_norm.asc()),
                    (CompetenceSortField::Nom, SortDir::Desc) => q.then_order_by(competences::nom_norm.desc()),
                    (CompetenceSortField::Id, SortDir::Asc) => q.then_order_by(competences::id.asc()),
                    (CompetenceSortField::Id, SortDir::Desc) => q.then_order_by(competences::id.desc()),
                    (CompetenceSortField::Domaine, SortDir::Asc) => q.then_order_by(competences::domaine_norm.asc()),
                    (CompetenceSortField::Domaine, SortDir::Desc) => q.then_order_by(competences::domaine_norm.desc()),
                    (CompetenceSortField::CreatedAt, SortDir::Asc) => q.then_order_by(competences::created_at.asc()),
                    (CompetenceSortField::CreatedAt, SortDir::Desc) => q.then_order_by(competences::created_at.desc()),
                };
            }
            q = match first_dir {
                SortDir::Asc => q.then_order_by(competences::id.asc()),
                SortDir::Desc => q.then_order_by(competences::id.desc()),
            };
            let rows: Vec<CompetenceRow> = q.paged(page).load(c)?;
            Ok::<_, diesel::result::Error>((total, rows))
        })())
        .map_err(map)?;
        let items = rows
            .into_iter()
            .map(CompetenceRow::into_domain)
            .collect::<Result<_, _>>()?;
        Ok(Listed { items, total })
    }
}
