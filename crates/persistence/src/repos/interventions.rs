//! `interventions` and `historiques_interventions` adapter (DATA.md §3.5–3.6).

use crate::dialect::planner;
use chrono::NaiveDateTime;
use diesel::dsl;
use diesel::dsl::sql;
use diesel::expression::SqlLiteral;
use diesel::prelude::*;
use diesel::query_dsl::methods;
use diesel::sql_types::{Bool, Integer};
use erp_domain::enums::{
    ActionHistorique, InterventionType, PrioriteIntervention, StatutIntervention,
};
use erp_domain::equipement::EquipementId;
use erp_domain::intervention::{
    HistoryAuthor, HistoryEntry, Intervention, InterventionFilter, InterventionId,
    InterventionRecord, InterventionSortField, NewHistory,
};
use erp_domain::list::{Listed, Page, SortDir, SortKey, like_contains};
use erp_domain::ports::{InterventionRepository, RepoError};
use erp_domain::technicien::TechnicienId;
use erp_domain::text::norm;
use erp_domain::{ClientId, UserId, UserRole};

use super::{DieselUnitOfWork, declared_order};
use crate::errors::map;
use crate::paging::Paginate;
use crate::schema::{historiques_interventions, interventions, users};
use crate::time::{DbTime, from_db, to_db};
use crate::with_conn;

const ACTIVE: [&str; 4] = ["ouverte", "affectee", "en_cours", "en_attente"];

#[derive(Queryable, Selectable)]
#[diesel(table_name = interventions)]
pub(super) struct InterventionRow {
    id: i64,
    titre: String,
    description: Option<String>,
    type_intervention: String,
    statut: String,
    priorite: String,
    urgence: bool,
    date_creation: DbTime,
    date_limite: Option<DbTime>,
    date_affectation: Option<DbTime>,
    date_debut_travaux: Option<DbTime>,
    date_fin_travaux: Option<DbTime>,
    date_cloture: Option<DbTime>,
    date_annulation: Option<DbTime>,
    date_archivage: Option<DbTime>,
    duree_estimee: Option<i32>,
    duree_reelle: Option<i32>,
    temps_deplacement: Option<i32>,
    cout_estime: Option<i64>,
    cout_reel: Option<i64>,
    cout_pieces: Option<i64>,
    cout_main_oeuvre: Option<i64>,
    rapport_intervention: Option<String>,
    travaux_realises: Option<String>,
    recommandations: Option<String>,
    motif_annulation: Option<String>,
    validation_client: bool,
    date_validation_client: Option<DbTime>,
    satisfaction_client: Option<i32>,
    commentaire_client: Option<String>,
    version: i32,
    equipement_id: i64,
    technicien_id: Option<i64>,
    planning_id: Option<i64>,
    client_id: Option<i64>,
    created_by_id: Option<i64>,
    created_at: DbTime,
    updated_at: DbTime,
}

fn corrupt(id: i64, what: &str) -> RepoError {
    RepoError::Other(format!("interventions row {id}: invalid {what}"))
}

impl InterventionRow {
    pub(super) fn into_domain(self) -> Result<Intervention, RepoError> {
        let id = self.id;
        Ok(Intervention::restore(InterventionRecord {
            id: InterventionId::new(id),
            type_intervention: self
                .type_intervention
                .parse::<InterventionType>()
                .map_err(|_| corrupt(id, "type"))?,
            statut: self
                .statut
                .parse::<StatutIntervention>()
                .map_err(|_| corrupt(id, "statut"))?,
            priorite: self
                .priorite
                .parse::<PrioriteIntervention>()
                .map_err(|_| corrupt(id, "priorite"))?,
            titre: self.titre,
            description: self.description,
            urgence: self.urgence,
            date_creation: from_db(self.date_creation),
            date_limite: self.date_limite.map(from_db),
            date_affectation: self.date_affectation.map(from_db),
            date_debut_travaux: self.date_debut_travaux.map(from_db),
            date_fin_travaux: self.date_fin_travaux.map(from_db),
            date_cloture: self.date_cloture.map(from_db),
            date_annulation: self.date_annulation.map(from_db),
            date_archivage: self.date_archivage.map(from_db),
            duree_estimee: self.duree_estimee,
            duree_reelle: self.duree_reelle,
            temps_deplacement: self.temps_deplacement,
            cout_estime: self.cout_estime,
            cout_reel: self.cout_reel,
            cout_pieces: self.cout_pieces,
            cout_main_oeuvre: self.cout_main_oeuvre,
            rapport_intervention: self.rapport_intervention,
            travaux_realises: self.travaux_realises,
            recommandations: self.recommandations,
            motif_annulation: self.motif_annulation,
            validation_client: self.validation_client,
            date_validation_client: self.date_validation_client.map(from_db),
            satisfaction_client: self.satisfaction_client,
            commentaire_client: self.commentaire_client,
            version: self.version,
            equipement_id: EquipementId::new(self.equipement_id),
            technicien_id: self.technicien_id.map(TechnicienId::new),
            planning_id: self.planning_id,
            client_id: self.client_id.map(ClientId::new),
            created_by_id: self.created_by_id.map(UserId::new),
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        }))
    }
}

/// Every column a write sets (all but id and `created_at`).
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = interventions, treat_none_as_null = true, treat_none_as_default_value = false)]
struct InterventionValues<'a> {
    titre: &'a str,
    titre_norm: String,
    description: Option<&'a str>,
    search_norm: String,
    type_intervention: &'static str,
    statut: &'static str,
    priorite: &'static str,
    urgence: bool,
    date_creation: NaiveDateTime,
    date_limite: Option<NaiveDateTime>,
    date_affectation: Option<NaiveDateTime>,
    date_debut_travaux: Option<NaiveDateTime>,
    date_fin_travaux: Option<NaiveDateTime>,
    date_cloture: Option<NaiveDateTime>,
    date_annulation: Option<NaiveDateTime>,
    date_archivage: Option<NaiveDateTime>,
    duree_estimee: Option<i32>,
    duree_reelle: Option<i32>,
    temps_deplacement: Option<i32>,
    cout_estime: Option<i64>,
    cout_reel: Option<i64>,
    cout_pieces: Option<i64>,
    cout_main_oeuvre: Option<i64>,
    rapport_intervention: Option<&'a str>,
    travaux_realises: Option<&'a str>,
    recommandations: Option<&'a str>,
    motif_annulation: Option<&'a str>,
    validation_client: bool,
    date_validation_client: Option<NaiveDateTime>,
    satisfaction_client: Option<i32>,
    commentaire_client: Option<&'a str>,
    version: i32,
    equipement_id: i64,
    technicien_id: Option<i64>,
    planning_id: Option<i64>,
    client_id: Option<i64>,
    created_by_id: Option<i64>,
    updated_at: NaiveDateTime,
}

impl<'a> InterventionValues<'a> {
    fn new(i: &'a InterventionRecord) -> Self {
        Self {
            titre: &i.titre,
            titre_norm: norm(&i.titre),
            description: i.description.as_deref(),
            search_norm: [Some(i.titre.as_str()), i.description.as_deref()]
                .into_iter()
                .flatten()
                .map(norm)
                .collect::<Vec<_>>()
                .join("\u{1f}"),
            type_intervention: i.type_intervention.as_str(),
            statut: i.statut.as_str(),
            priorite: i.priorite.as_str(),
            urgence: i.urgence,
            date_creation: to_db(i.date_creation),
            date_limite: i.date_limite.map(to_db),
            date_affectation: i.date_affectation.map(to_db),
            date_debut_travaux: i.date_debut_travaux.map(to_db),
            date_fin_travaux: i.date_fin_travaux.map(to_db),
            date_cloture: i.date_cloture.map(to_db),
            date_annulation: i.date_annulation.map(to_db),
            date_archivage: i.date_archivage.map(to_db),
            duree_estimee: i.duree_estimee,
            duree_reelle: i.duree_reelle,
            temps_deplacement: i.temps_deplacement,
            cout_estime: i.cout_estime,
            cout_reel: i.cout_reel,
            cout_pieces: i.cout_pieces,
            cout_main_oeuvre: i.cout_main_oeuvre,
            rapport_intervention: i.rapport_intervention.as_deref(),
            travaux_realises: i.travaux_realises.as_deref(),
            recommandations: i.recommandations.as_deref(),
            motif_annulation: i.motif_annulation.as_deref(),
            validation_client: i.validation_client,
            date_validation_client: i.date_validation_client.map(to_db),
            satisfaction_client: i.satisfaction_client,
            commentaire_client: i.commentaire_client.as_deref(),
            version: i.version,
            equipement_id: i.equipement_id.get(),
            technicien_id: i.technicien_id.map(TechnicienId::get),
            planning_id: i.planning_id,
            client_id: i.client_id.map(ClientId::get),
            created_by_id: i.created_by_id.map(UserId::get),
            updated_at: to_db(i.updated_at),
        }
    }
}

/// `en_retard=false`: no deadline, a deadline not passed, or no longer active.
type NotLate = dsl::Or<
    dsl::Or<
        dsl::IsNull<interventions::date_limite>,
        dsl::GtEq<interventions::date_limite, NaiveDateTime>,
    >,
    dsl::NeAny<interventions::statut, [&'static str; 4]>,
>;

/// See [`NotLate`].
fn not_late(now: NaiveDateTime) -> NotLate {
    interventions::date_limite
        .is_null()
        .or(interventions::date_limite.ge(now))
        .or(interventions::statut.ne_all(ACTIVE))
}

/// The filters of `GET /interventions` on a boxed `interventions` query. `hint` adds SQLite's
/// `likelihood()` to the enum-list terms ([`planner::hints_unselective_terms`]); the values are
/// the enums' own wire strings, never client text.
fn intervention_filters<Q>(
    mut q: Q,
    f: &InterventionFilter,
    statuts: &[&'static str],
    priorites: &[&'static str],
    types: &[&'static str],
    search: Option<&str>,
    now: NaiveDateTime,
    hint: bool,
) -> Q
where
    Q: methods::FilterDsl<dsl::Lt<interventions::id, i64>, Output = Q>
        + methods::FilterDsl<SqlLiteral<Bool>, Output = Q>
        + methods::FilterDsl<dsl::EqAny<interventions::statut, Vec<&'static str>>, Output = Q>
        + methods::FilterDsl<dsl::EqAny<interventions::priorite, Vec<&'static str>>, Output = Q>
        + methods::FilterDsl<
            dsl::EqAny<interventions::type_intervention, Vec<&'static str>>,
            Output = Q,
        > + methods::FilterDsl<dsl::Eq<interventions::urgence, bool>, Output = Q>
        + methods::FilterDsl<dsl::Lt<interventions::date_limite, NaiveDateTime>, Output = Q>
        + methods::FilterDsl<dsl::EqAny<interventions::statut, [&'static str; 4]>, Output = Q>
        + methods::FilterDsl<NotLate, Output = Q>
        + methods::FilterDsl<dsl::Eq<interventions::technicien_id, i64>, Output = Q>
        + methods::FilterDsl<dsl::Eq<interventions::equipement_id, i64>, Output = Q>
        + methods::FilterDsl<dsl::Eq<interventions::planning_id, i64>, Output = Q>
        + methods::FilterDsl<dsl::Eq<interventions::client_id, i64>, Output = Q>
        + methods::FilterDsl<dsl::GtEq<interventions::date_creation, NaiveDateTime>, Output = Q>
        + methods::FilterDsl<dsl::LtEq<interventions::date_creation, NaiveDateTime>, Output = Q>
        + methods::FilterDsl<dsl::GtEq<interventions::date_limite, NaiveDateTime>, Output = Q>
        + methods::FilterDsl<dsl::LtEq<interventions::date_limite, NaiveDateTime>, Output = Q>
        + methods::FilterDsl<dsl::Escape<dsl::Like<interventions::search_norm, String>>, Output = Q>,
{
    if f.nothing {
        q = q.filter(interventions::id.lt(0_i64));
    }
    if !statuts.is_empty() {
        q = if hint {
            q.filter(sql::<Bool>(&planner::likely_in(
                "interventions.statut",
                statuts,
            )))
        } else {
            q.filter(interventions::statut.eq_any(statuts.to_vec()))
        };
    }
    if !priorites.is_empty() {
        q = if hint {
            q.filter(sql::<Bool>(&planner::likely_in(
                "interventions.priorite",
                priorites,
            )))
        } else {
            q.filter(interventions::priorite.eq_any(priorites.to_vec()))
        };
    }
    if !types.is_empty() {
        q = if hint {
            q.filter(sql::<Bool>(&planner::likely_in(
                "interventions.type_intervention",
                types,
            )))
        } else {
            q.filter(interventions::type_intervention.eq_any(types.to_vec()))
        };
    }
    if let Some(u) = f.urgence {
        q = q.filter(interventions::urgence.eq(u));
    }
    match f.en_retard {
        Some(true) => {
            q = q
                .filter(interventions::date_limite.lt(now))
                .filter(interventions::statut.eq_any(ACTIVE));
        }
        Some(false) => {
            q = q.filter(not_late(now));
        }
        None => {}
    }
    if let Some(t) = f.technicien_id {
        q = q.filter(interventions::technicien_id.eq(t));
    }
    if let Some(e) = f.equipement_id {
        q = q.filter(interventions::equipement_id.eq(e));
    }
    if let Some(p) = f.planning_id {
        q = q.filter(interventions::planning_id.eq(p));
    }
    if let Some(c) = f.client_id {
        q = q.filter(interventions::client_id.eq(c));
    }
    if let Some(t) = f.date_creation_min {
        q = q.filter(interventions::date_creation.ge(to_db(t)));
    }
    if let Some(t) = f.date_creation_max {
        q = q.filter(interventions::date_creation.le(to_db(t)));
    }
    if let Some(t) = f.date_limite_min {
        q = q.filter(interventions::date_limite.ge(to_db(t)));
    }
    if let Some(t) = f.date_limite_max {
        q = q.filter(interventions::date_limite.le(to_db(t)));
    }
    if let Some(pattern) = search {
        q = q.filter(
            interventions::search_norm
                .like(pattern.to_owned())
                .escape('\\'),
        );
    }
    q
}

#[derive(Queryable)]
struct HistoryRow {
    id: i64,
    intervention_id: i64,
    action: String,
    from_statut: Option<String>,
    to_statut: String,
    remarque: Option<String>,
    technicien_id: Option<i64>,
    user_id: Option<i64>,
    horodatage: DbTime,
}

impl InterventionRepository for DieselUnitOfWork<'_> {
    fn insert_intervention(&mut self, i: &Intervention) -> Result<Intervention, RepoError> {
        let row: InterventionRow =
            with_conn!(&mut self.conn, c => diesel::insert_into(interventions::table)
            .values((InterventionValues::new(i.record()), interventions::created_at.eq(to_db(i.created_at()))))
            .returning(InterventionRow::as_returning())
            .get_result(c))
            .map_err(map)?;
        row.into_domain()
    }

    fn intervention_by_id(
        &mut self,
        id: InterventionId,
    ) -> Result<Option<Intervention>, RepoError> {
        let row: Option<InterventionRow> = with_conn!(&mut self.conn, c => interventions::table
            .find(id.get())
            .select(InterventionRow::as_select())
            .get_result(c)
            .optional())
        .map_err(map)?;
        row.map(InterventionRow::into_domain).transpose()
    }

    fn update_intervention_if_version(
        &mut self,
        i: &Intervention,
        expected_version: i32,
    ) -> Result<bool, RepoError> {
        let n = with_conn!(&mut self.conn, c => diesel::update(
                interventions::table.filter(interventions::id.eq(i.id().get())).filter(interventions::version.eq(expected_version)),
            )
            .set(InterventionValues::new(i.record()))
            .execute(c))
        .map_err(map)?;
        Ok(n == 1)
    }

    fn insert_history(&mut self, h: &NewHistory) -> Result<(), RepoError> {
        let values = (
            historiques_interventions::intervention_id.eq(h.intervention_id.get()),
            historiques_interventions::action.eq(h.action.as_str()),
            historiques_interventions::from_statut
                .eq(h.from_statut.map(StatutIntervention::as_str)),
            historiques_interventions::to_statut.eq(h.to_statut.as_str()),
            historiques_interventions::remarque.eq(h.remarque.as_deref()),
            historiques_interventions::technicien_id.eq(h.technicien_id.map(TechnicienId::get)),
            historiques_interventions::user_id.eq(h.user_id.map(UserId::get)),
            historiques_interventions::horodatage.eq(to_db(h.horodatage)),
        );
        with_conn!(&mut self.conn, c => diesel::insert_into(historiques_interventions::table).values(values).execute(c))
            .map_err(map)?;
        Ok(())
    }

    fn list_history(
        &mut self,
        id: InterventionId,
        page: Page,
    ) -> Result<Listed<HistoryEntry>, RepoError> {
        type Author = Option<(i64, String, Option<String>, String)>;
        let (total, rows) = with_conn!(&mut self.conn, c => (|| {
            let total: i64 = historiques_interventions::table
                .filter(historiques_interventions::intervention_id.eq(id.get()))
                .count()
                .get_result(c)?;
            let rows: Vec<(HistoryRow, Author)> = historiques_interventions::table
                .left_join(users::table)
                .filter(historiques_interventions::intervention_id.eq(id.get()))
                .order_by((historiques_interventions::horodatage.asc(), historiques_interventions::id.asc()))
                .select((
                    (
                        historiques_interventions::id,
                        historiques_interventions::intervention_id,
                        historiques_interventions::action,
                        historiques_interventions::from_statut,
                        historiques_interventions::to_statut,
                        historiques_interventions::remarque,
                        historiques_interventions::technicien_id,
                        historiques_interventions::user_id,
                        historiques_interventions::horodatage,
                    ),
                    (users::id, users::username, users::full_name, users::role).nullable(),
                ))
                .paged(page)
                .load(c)?;
            Ok::<_, diesel::result::Error>((total, rows))
        })())
        .map_err(map)?;
        let items = rows
            .into_iter()
            .map(|(h, author)| {
                let bad = |what: &str| {
                    RepoError::Other(format!(
                        "historiques_interventions row {}: invalid {what}",
                        h.id
                    ))
                };
                Ok(HistoryEntry {
                    id: h.id,
                    row: NewHistory {
                        intervention_id: InterventionId::new(h.intervention_id),
                        action: h
                            .action
                            .parse::<ActionHistorique>()
                            .map_err(|_| bad("action"))?,
                        from_statut: h
                            .from_statut
                            .as_deref()
                            .map(str::parse::<StatutIntervention>)
                            .transpose()
                            .map_err(|_| bad("from_statut"))?,
                        to_statut: h
                            .to_statut
                            .parse::<StatutIntervention>()
                            .map_err(|_| bad("to_statut"))?,
                        remarque: h.remarque,
                        technicien_id: h.technicien_id.map(TechnicienId::new),
                        user_id: h.user_id.map(UserId::new),
                        horodatage: from_db(h.horodatage),
                    },
                    user: author
                        .map(|(uid, username, full_name, role)| {
                            Ok::<_, RepoError>(HistoryAuthor {
                                id: UserId::new(uid),
                                username,
                                full_name,
                                role: role.parse::<UserRole>().map_err(|_| bad("user role"))?,
                            })
                        })
                        .transpose()?,
                })
            })
            .collect::<Result<_, RepoError>>()?;
        Ok(Listed { items, total })
    }

    fn list_interventions(
        &mut self,
        f: &InterventionFilter,
        sort: &[SortKey<InterventionSortField>],
        page: Page,
    ) -> Result<Listed<Intervention>, RepoError> {
        let statuts: Vec<&'static str> = f.statuts.iter().map(|s| s.as_str()).collect();
        let priorites: Vec<&'static str> = f.priorites.iter().map(|s| s.as_str()).collect();
        let types: Vec<&'static str> = f.types.iter().map(|s| s.as_str()).collect();
        let search = f.search.as_deref().map(|s| like_contains(&norm(s)));
        let now = f.now.map(to_db).unwrap_or_default();
        let statut_rank =
            declared_order("interventions.statut", &StatutIntervention::wire_values());
        let priorite_rank = declared_order(
            "interventions.priorite",
            &PrioriteIntervention::wire_values(),
        );
        let sort: Vec<SortKey<InterventionSortField>> = if sort.is_empty() {
            vec![SortKey {
                field: InterventionSortField::DateCreation,
                dir: SortDir::Desc,
            }]
        } else {
            sort.to_vec()
        };
        let first_dir = sort.first().map_or(SortDir::Desc, |k| k.dir);
        let hint = planner::hints_unselective_terms(&self.conn);
        // The count reads a covering index either way: no hint there. Remembered while the
        // database does not change (counts.rs).
        let total = self
            .counts
            .total(&mut self.conn, f, |conn| {
                with_conn!(conn, c => intervention_filters(interventions::table.into_boxed(), f, &statuts, &priorites, &types, search.as_deref(), now, false)
                    .count()
                    .get_result(c))
            })
            .map_err(map)?;
        let rows = with_conn!(&mut self.conn, c => {
            let mut q = intervention_filters(
                interventions::table.select(InterventionRow::as_select()).into_boxed(),
                f, &statuts, &priorites, &types, search.as_deref(), now, hint
            );
            for key in &sort {
                q = match (key.field, key.dir) {
                    (InterventionSortField::DateCreation, SortDir::Asc) => q.then_order_by(interventions::date_creation.asc()),
                    (InterventionSortField::DateCreation, SortDir::Desc) => q.then_order_by(interventions::date_creation.desc()),
                    (InterventionSortField::DateLimite, SortDir::Asc) => q
                        .then_order_by(interventions::date_limite.is_null().asc())
                        .then_order_by(interventions::date_limite.asc()),
                    (InterventionSortField::DateLimite, SortDir::Desc) => q
                        .then_order_by(interventions::date_limite.is_null().asc())
                        .then_order_by(interventions::date_limite.desc()),
                    (InterventionSortField::Priorite, SortDir::Asc) => q.then_order_by(sql::<Integer>(&priorite_rank).asc()),
                    (InterventionSortField::Priorite, SortDir::Desc) => q.then_order_by(sql::<Integer>(&priorite_rank).desc()),
                    (InterventionSortField::Statut, SortDir::Asc) => q.then_order_by(sql::<Integer>(&statut_rank).asc()),
                    (InterventionSortField::Statut, SortDir::Desc) => q.then_order_by(sql::<Integer>(&statut_rank).desc()),
                    (InterventionSortField::Titre, SortDir::Asc) => q.then_order_by(interventions::titre_norm.asc()),
                    (InterventionSortField::Titre, SortDir::Desc) => q.then_order_by(interventions::titre_norm.desc()),
                    (InterventionSortField::UpdatedAt, SortDir::Asc) => q.then_order_by(interventions::updated_at.asc()),
                    (InterventionSortField::UpdatedAt, SortDir::Desc) => q.then_order_by(interventions::updated_at.desc()),
                    (InterventionSortField::Id, SortDir::Asc) => q.then_order_by(interventions::id.asc()),
                    (InterventionSortField::Id, SortDir::Desc) => q.then_order_by(interventions::id.desc()),
                };
            }
            q = match first_dir {
                SortDir::Asc => q.then_order_by(interventions::id.asc()),
                SortDir::Desc => q.then_order_by(interventions::id.desc()),
            };
            q.paged(page).load::<InterventionRow>(c)
        })
        .map_err(map)?;
        let items = rows
            .into_iter()
            .map(InterventionRow::into_domain)
            .collect::<Result<_, _>>()?;
        Ok(Listed { items, total })
    }

    fn count_by_statut_and_type(
        &mut self,
    ) -> Result<Vec<(StatutIntervention, InterventionType, i64)>, RepoError> {
        let rows: Vec<(String, String, i64)> = with_conn!(&mut self.conn, c => interventions::table
            .group_by((interventions::statut, interventions::type_intervention))
            .select((interventions::statut, interventions::type_intervention, dsl::count_star()))
            .load(c))
        .map_err(map)?;
        rows.into_iter()
            .map(|(s, t, n)| {
                let statut = s.parse().map_err(|_| corrupt(0, "statut"))?;
                let kind = t.parse().map_err(|_| corrupt(0, "type_intervention"))?;
                Ok((statut, kind, n))
            })
            .collect()
    }
}
