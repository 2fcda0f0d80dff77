//! `plannings`, `planning_occurrences` and `scheduler_leases` adapters (DATA.md §3.7, §3.8,
//! §3.12), plus the overdue scan over `interventions`.

use chrono::NaiveDateTime;
use diesel::dsl;
use diesel::prelude::*;
use diesel::query_dsl::methods;
use erp_domain::clock::Timestamp;
use erp_domain::enums::{
    FrequencePlanning, OrigineOccurrence, PrioriteIntervention, StatutPlanning,
};
use erp_domain::equipement::EquipementId;
use erp_domain::intervention::{Intervention, InterventionId};
use erp_domain::list::{Listed, Page, SortDir, SortKey};
use erp_domain::planning::{
    Planning, PlanningFields, PlanningFilter, PlanningId, PlanningSortField,
};
use erp_domain::ports::{JobStatus, LeaseRepository, PlanningRepository, RepoError};
use erp_domain::technicien::TechnicienId;

use super::DieselUnitOfWork;
use super::interventions::InterventionRow;
use crate::errors::map;
use crate::paging::Paginate;
use crate::schema::{interventions, planning_occurrences, plannings, scheduler_leases};
use crate::time::{DbTime, from_db, to_db};
use crate::with_conn;

const ACTIVE: [&str; 4] = ["ouverte", "affectee", "en_cours", "en_attente"];

#[derive(Queryable, Selectable)]
#[diesel(table_name = plannings)]
struct PlanningRow {
    id: i64,
    equipement_id: i64,
    frequence: String,
    date_reference: DbTime,
    prochaine_date: DbTime,
    derniere_date: Option<DbTime>,
    date_fin: Option<DbTime>,
    statut: String,
    titre: Option<String>,
    commentaire: Option<String>,
    priorite: String,
    technicien_id: Option<i64>,
    duree_estimee: Option<i32>,
    avance_jours: i32,
    version: i32,
    date_creation: DbTime,
    date_modification: DbTime,
}

impl PlanningRow {
    fn into_domain(self) -> Result<Planning, RepoError> {
        let corrupt =
            |what: &str| RepoError::Other(format!("plannings row {}: invalid {what}", self.id));
        Ok(Planning {
            id: PlanningId::new(self.id),
            fields: PlanningFields {
                equipement_id: EquipementId::new(self.equipement_id),
                frequence: self
                    .frequence
                    .parse::<FrequencePlanning>()
                    .map_err(|_| corrupt("frequence"))?,
                prochaine_date: from_db(self.prochaine_date),
                derniere_date: self.derniere_date.map(from_db),
                date_fin: self.date_fin.map(from_db),
                statut: self
                    .statut
                    .parse::<StatutPlanning>()
                    .map_err(|_| corrupt("statut"))?,
                priorite: self
                    .priorite
                    .parse::<PrioriteIntervention>()
                    .map_err(|_| corrupt("priorite"))?,
                titre: self.titre,
                commentaire: self.commentaire,
                technicien_id: self.technicien_id.map(TechnicienId::new),
                duree_estimee: self.duree_estimee,
                avance_jours: self.avance_jours,
            },
            date_reference: from_db(self.date_reference),
            version: self.version,
            date_creation: from_db(self.date_creation),
            date_modification: from_db(self.date_modification),
        })
    }
}

/// Every column a write of the planning's fields sets.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = plannings, treat_none_as_null = true, treat_none_as_default_value = false)]
struct PlanningValues<'a> {
    equipement_id: i64,
    frequence: &'static str,
    prochaine_date: NaiveDateTime,
    derniere_date: Option<NaiveDateTime>,
    date_fin: Option<NaiveDateTime>,
    statut: &'static str,
    titre: Option<&'a str>,
    commentaire: Option<&'a str>,
    priorite: &'static str,
    technicien_id: Option<i64>,
    duree_estimee: Option<i32>,
    avance_jours: i32,
}

impl<'a> PlanningValues<'a> {
    fn new(f: &'a PlanningFields) -> Self {
        Self {
            equipement_id: f.equipement_id.get(),
            frequence: f.frequence.as_str(),
            prochaine_date: to_db(f.prochaine_date),
            derniere_date: f.derniere_date.map(to_db),
            date_fin: f.date_fin.map(to_db),
            statut: f.statut.as_str(),
            titre: f.titre.as_deref(),
            commentaire: f.commentaire.as_deref(),
            priorite: f.priorite.as_str(),
            technicien_id: f.technicien_id.map(TechnicienId::get),
            duree_estimee: f.duree_estimee,
            avance_jours: f.avance_jours,
        }
    }
}

/// The filters of `GET /plannings` on a boxed `plannings` query.
fn planning_filters<Q>(
    mut q: Q,
    f: &PlanningFilter,
    statuts: &[&'static str],
    frequences: &[&'static str],
) -> Q
where
    Q: methods::FilterDsl<dsl::Eq<plannings::equipement_id, i64>, Output = Q>
        + methods::FilterDsl<dsl::Eq<plannings::technicien_id, i64>, Output = Q>
        + methods::FilterDsl<dsl::EqAny<plannings::statut, Vec<&'static str>>, Output = Q>
        + methods::FilterDsl<dsl::EqAny<plannings::frequence, Vec<&'static str>>, Output = Q>
        + methods::FilterDsl<dsl::GtEq<plannings::prochaine_date, NaiveDateTime>, Output = Q>
        + methods::FilterDsl<dsl::LtEq<plannings::prochaine_date, NaiveDateTime>, Output = Q>,
{
    if let Some(e) = f.equipement_id {
        q = q.filter(plannings::equipement_id.eq(e));
    }
    if let Some(t) = f.technicien_id {
        q = q.filter(plannings::technicien_id.eq(t));
    }
    if !statuts.is_empty() {
        q = q.filter(plannings::statut.eq_any(statuts.to_vec()));
    }
    if !frequences.is_empty() {
        q = q.filter(plannings::frequence.eq_any(frequences.to_vec()));
    }
    if let Some(t) = f.prochaine_date_min {
        q = q.filter(plannings::prochaine_date.ge(to_db(t)));
    }
    if let Some(t) = f.prochaine_date_max {
        q = q.filter(plannings::prochaine_date.le(to_db(t)));
    }
    q
}

impl PlanningRepository for DieselUnitOfWork<'_> {
    fn insert_planning(
        &mut self,
        f: &PlanningFields,
        date_reference: Timestamp,
        now: Timestamp,
    ) -> Result<Planning, RepoError> {
        let now = to_db(now);
        let row: PlanningRow =
            with_conn!(&mut self.conn, c => diesel::insert_into(plannings::table)
            .values((
                PlanningValues::new(f),
                plannings::date_reference.eq(to_db(date_reference)),
                plannings::version.eq(1),
                plannings::date_creation.eq(now),
                plannings::date_modification.eq(now),
            ))
            .returning(PlanningRow::as_returning())
            .get_result(c))
            .map_err(map)?;
        row.into_domain()
    }

    fn planning_by_id(&mut self, id: PlanningId) -> Result<Option<Planning>, RepoError> {
        let row: Option<PlanningRow> = with_conn!(&mut self.conn, c => plannings::table
            .find(id.get())
            .select(PlanningRow::as_select())
            .get_result(c)
            .optional())
        .map_err(map)?;
        row.map(PlanningRow::into_domain).transpose()
    }

    fn update_planning_if_version(
        &mut self,
        p: &Planning,
        expected: i32,
    ) -> Result<bool, RepoError> {
        let n = with_conn!(&mut self.conn, c => diesel::update(
                plannings::table.filter(plannings::id.eq(p.id.get())).filter(plannings::version.eq(expected)),
            )
            .set((
                PlanningValues::new(&p.fields),
                plannings::date_reference.eq(to_db(p.date_reference)),
                plannings::version.eq(p.version),
                plannings::date_modification.eq(to_db(p.date_modification)),
            ))
            .execute(c))
        .map_err(map)?;
        Ok(n == 1)
    }

    fn delete_planning(&mut self, id: PlanningId) -> Result<(), RepoError> {
        let n = with_conn!(&mut self.conn, c => diesel::delete(plannings::table.find(id.get())).execute(c))
            .map_err(map)?;
        if n == 0 {
            Err(RepoError::NotFound)
        } else {
            Ok(())
        }
    }

    fn list_plannings(
        &mut self,
        f: &PlanningFilter,
        sort: &[SortKey<PlanningSortField>],
        page: Page,
    ) -> Result<Listed<Planning>, RepoError> {
        let statuts: Vec<&'static str> = f.statuts.iter().map(|s| s.as_str()).collect();
        let frequences: Vec<&'static str> = f.frequences.iter().map(|s| s.as_str()).collect();
        let first_dir = sort.first().map_or(SortDir::Asc, |k| k.dir);
        let (total, rows) = with_conn!(&mut self.conn, c => (|| {
            let total: i64 = planning_filters(plannings::table.into_boxed(), f, &statuts, &frequences)
                .count()
                .get_result(c)?;
            let mut q = planning_filters(
                plannings::table.select(PlanningRow::as_select()).into_boxed(),
                f, &statuts, &frequences
            );
            for key in sort {
                q = match (key.field, key.dir) {
                    (PlanningSortField::ProchaineDate, SortDir::Asc) => q.then_order_by(plannings::prochaine_date.asc()),
                    (PlanningSortField::ProchaineDate, SortDir::Desc) => q.then_order_by(plannings::prochaine_date.desc()),
                    (PlanningSortField::DateCreation, SortDir::Asc) => q.then_order_by(plannings::date_creation.asc()),
                    (PlanningSortField::DateCreation, SortDir::Desc) => q.then_order_by(plannings::date_creation.desc()),
                    (PlanningSortField::Id, SortDir::Asc) => q.then_order_by(plannings::id.asc()),
                    (PlanningSortField::Id, SortDir::Desc) => q.then_order_by(plannings::id.desc()),
                };
            }
            q = match first_dir {
                SortDir::Asc => q.then_order_by(plannings::id.asc()),
                SortDir::Desc => q.then_order_by(plannings::id.desc()),
            };
            let rows: Vec<PlanningRow> = q.paged(page).load(c)?;
            Ok::<_, diesel::result::Error>((total, rows))
        })())
        .map_err(map)?;
        let items = rows
            .into_iter()
            .map(PlanningRow::into_domain)
            .collect::<Result<_, _>>()?;
        Ok(Listed { items, total })
    }

    fn active_plannings_due_before(
        &mut self,
        horizon: Timestamp,
        limit: i64,
    ) -> Result<Vec<Planning>, RepoError> {
        let rows: Vec<PlanningRow> = with_conn!(&mut self.conn, c => plannings::table
            .filter(plannings::statut.eq(StatutPlanning::Actif.as_str()))
            .filter(plannings::prochaine_date.le(to_db(horizon)))
            .order_by((plannings::prochaine_date.asc(), plannings::id.asc()))
            .limit(limit)
            .select(PlanningRow::as_select())
            .load(c))
        .map_err(map)?;
        rows.into_iter().map(PlanningRow::into_domain).collect()
    }

    fn terminate_finished_plannings(&mut self, now: Timestamp) -> Result<usize, RepoError> {
        with_conn!(&mut self.conn, c => diesel::update(
                plannings::table
                    .filter(plannings::statut.eq(StatutPlanning::Actif.as_str()))
                    .filter(plannings::date_fin.is_not_null())
                    .filter(plannings::date_fin.lt(plannings::prochaine_date.nullable())),
            )
            .set((
                plannings::statut.eq(StatutPlanning::Termine.as_str()),
                plannings::version.eq(plannings::version + 1),
                plannings::date_modification.eq(to_db(now)),
            ))
            .execute(c))
        .map_err(map)
    }

    fn record_occurrence(
        &mut self,
        planning: PlanningId,
        due: Timestamp,
        origine: OrigineOccurrence,
        now: Timestamp,
    ) -> Result<bool, RepoError> {
        let n = with_conn!(&mut self.conn, c => diesel::insert_into(planning_occurrences::table)
            .values((
                planning_occurrences::planning_id.eq(planning.get()),
                planning_occurrences::date_echeance.eq(to_db(due)),
                planning_occurrences::origine.eq(origine.as_str()),
                planning_occurrences::created_at.eq(to_db(now)),
            ))
            .on_conflict_do_nothing()
            .execute(c))
        .map_err(map)?;
        Ok(n == 1)
    }

    fn link_occurrence(
        &mut self,
        planning: PlanningId,
        due: Timestamp,
        intervention: InterventionId,
    ) -> Result<(), RepoError> {
        let n = with_conn!(&mut self.conn, c => diesel::update(
                planning_occurrences::table
                    .filter(planning_occurrences::planning_id.eq(planning.get()))
                    .filter(planning_occurrences::date_echeance.eq(to_db(due))),
            )
            .set(planning_occurrences::intervention_id.eq(intervention.get()))
            .execute(c))
        .map_err(map)?;
        if n == 0 {
            Err(RepoError::NotFound)
        } else {
            Ok(())
        }
    }

    fn overdue_unnotified(
        &mut self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<Intervention>, RepoError> {
        let now = to_db(now);
        // `(statut, date_limite)` index; "not notified since the deadline was set" is
        // `retard_notifie_at` null or older than the current deadline.
        let rows: Vec<InterventionRow> = with_conn!(&mut self.conn, c => interventions::table
            .filter(interventions::statut.eq_any(ACTIVE))
            .filter(interventions::date_limite.lt(now))
            .filter(
                interventions::retard_notifie_at
                    .is_null()
                    .or(interventions::retard_notifie_at.nullable().lt(interventions::date_limite)),
            )
            .order_by((interventions::date_limite.asc(), interventions::id.asc()))
            .limit(limit)
            .select(InterventionRow::as_select())
            .load(c))
        .map_err(map)?;
        rows.into_iter().map(InterventionRow::into_domain).collect()
    }

    fn mark_overdue_notified(
        &mut self,
        id: InterventionId,
        at: Timestamp,
    ) -> Result<(), RepoError> {
        let n = with_conn!(&mut self.conn, c => diesel::update(interventions::table.find(id.get()))
            .set(interventions::retard_notifie_at.eq(to_db(at)))
            .execute(c))
        .map_err(map)?;
        if n == 0 {
            Err(RepoError::NotFound)
        } else {
            Ok(())
        }
    }
}

impl LeaseRepository for DieselUnitOfWork<'_> {
    fn acquire_lease(
        &mut self,
        job: &str,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool, RepoError> {
        let now = to_db(now);
        let n = with_conn!(&mut self.conn, c => diesel::update(
                scheduler_leases::table
                    .filter(scheduler_leases::job.eq(job))
                    .filter(
                        scheduler_leases::lease_until
                            .is_null()
                            .or(scheduler_leases::lease_until.lt(now))
                            .or(scheduler_leases::holder.eq(holder)),
                    ),
            )
            .set((
                scheduler_leases::holder.eq(holder),
                scheduler_leases::lease_until.eq(to_db(until)),
                scheduler_leases::last_run_at.eq(now),
                scheduler_leases::updated_at.eq(now),
            ))
            .execute(c))
        .map_err(map)?;
        Ok(n == 1)
    }

    fn finish_job(
        &mut self,
        job: &str,
        now: Timestamp,
        error: Option<&str>,
    ) -> Result<(), RepoError> {
        let now = to_db(now);
        let target = scheduler_leases::table.filter(scheduler_leases::job.eq(job));
        with_conn!(&mut self.conn, c => match error {
            None => diesel::update(target)
                .set((
                    scheduler_leases::last_success_at.eq(Some(now)),
                    scheduler_leases::last_error.eq(None::<String>),
                    scheduler_leases::updated_at.eq(now),
                ))
                .execute(c),
            Some(e) => diesel::update(target)
                .set((
                    scheduler_leases::last_error.eq(Some(e.chars().take(1000).collect::<String>())),
                    scheduler_leases::last_error_at.eq(Some(now)),
                    scheduler_leases::updated_at.eq(now),
                ))
                .execute(c),
        })
        .map_err(map)?;
        Ok(())
    }

    fn job_status(&mut self, job: &str) -> Result<Option<JobStatus>, RepoError> {
        type Row = (
            String,
            Option<NaiveDateTime>,
            Option<NaiveDateTime>,
            Option<String>,
            Option<NaiveDateTime>,
        );
        let row: Option<Row> = with_conn!(&mut self.conn, c => scheduler_leases::table
            .filter(scheduler_leases::job.eq(job))
            .select((
                scheduler_leases::job,
                scheduler_leases::last_run_at,
                scheduler_leases::last_success_at,
                scheduler_leases::last_error,
                scheduler_leases::last_error_at,
            ))
            .get_result(c)
            .optional())
        .map_err(map)?;
        Ok(row.map(|(job, run, success, error, error_at)| JobStatus {
            job,
            last_run_at: run.map(from_db),
            last_success_at: success.map(from_db),
            last_error: error,
            last_error_at: error_at.map(from_db),
        }))
    }
}
