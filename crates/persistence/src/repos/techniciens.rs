//! `techniciens` and `technicien_competence` adapter (DATA.md §3.1, §3.3).

use std::collections::HashMap;

use super::users::{UserSearch, user_search};
use chrono::NaiveDateTime;
use diesel::dsl;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::query_dsl::methods;
use diesel::sql_types::Integer;
use erp_domain::UserId;
use erp_domain::clock::Timestamp;
use erp_domain::enums::{DisponibiliteTechnicien, NiveauCompetence};
use erp_domain::list::{Listed, Page, SortDir, SortKey, like_contains};
use erp_domain::ports::{RepoError, TechnicienRepository};
use erp_domain::technicien::{
    CompetenceId, NewTechnicien, SkillAssignment, Technicien, TechnicienFields, TechnicienFilter,
    TechnicienId, TechnicienSkill, TechnicienSortField,
};
use erp_domain::text::norm;

use super::users::UserRow;
use super::{DieselUnitOfWork, declared_order};
use crate::errors::map;
use crate::paging::Paginate;
use crate::schema::{competences, interventions, technicien_competence, techniciens, users};
use crate::time::{DbTime, from_db, to_db};
use crate::with_conn;

#[derive(Queryable, Selectable)]
#[diesel(table_name = techniciens)]
struct TechnicienRow {
    id: i64,
    equipe: Option<String>,
    numero_badge: Option<String>,
    niveau_technicien: String,
    zone_intervention: Option<String>,
    rayon_deplacement_km: i32,
    vehicule_service: Option<String>,
    disponibilite: String,
    horaires_travail: Option<String>,
    astreinte: bool,
    is_active: bool,
    date_embauche: Option<DbTime>,
    date_fin_contrat: Option<DbTime>,
    telephone_urgence: Option<String>,
    notes_rh: Option<String>,
    qualifications_speciales: Option<String>,
    created_at: DbTime,
    updated_at: DbTime,
}

#[derive(Queryable)]
struct SkillRow {
    technicien_id: i64,
    competence_id: i64,
    niveau: String,
    date_acquisition: DbTime,
    date_validation: Option<DbTime>,
    validee_par: Option<String>,
    nom: String,
    domaine: String,
}

fn corrupt(table: &str, id: i64, what: &str) -> RepoError {
    RepoError::Other(format!("{table} row {id}: invalid {what}"))
}

impl TechnicienRow {
    fn into_domain(
        self,
        user: UserRow,
        competences: Vec<TechnicienSkill>,
    ) -> Result<Technicien, RepoError> {
        Ok(Technicien {
            id: TechnicienId::new(self.id),
            user: user.into_domain()?,
            fields: TechnicienFields {
                niveau_technicien: self
                    .niveau_technicien
                    .parse::<NiveauCompetence>()
                    .map_err(|_| corrupt("techniciens", self.id, "niveau"))?,
                disponibilite: self
                    .disponibilite
                    .parse::<DisponibiliteTechnicien>()
                    .map_err(|_| corrupt("techniciens", self.id, "disponibilite"))?,
                equipe: self.equipe,
                numero_badge: self.numero_badge,
                zone_intervention: self.zone_intervention,
                rayon_deplacement_km: self.rayon_deplacement_km,
                vehicule_service: self.vehicule_service,
                horaires_travail: self.horaires_travail,
                astreinte: self.astreinte,
                is_active: self.is_active,
                date_embauche: self.date_embauche.map(from_db),
                date_fin_contrat: self.date_fin_contrat.map(from_db),
                telephone_urgence: self.telephone_urgence,
                notes_rh: self.notes_rh,
                qualifications_speciales: self.qualifications_speciales,
            },
            competences,
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

/// Every column a write sets (all but id, `user_id` and `created_at`).
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = techniciens, treat_none_as_null = true, treat_none_as_default_value = false)]
struct TechnicienValues<'a> {
    equipe: Option<&'a str>,
    equipe_norm: Option<String>,
    numero_badge: Option<&'a str>,
    niveau_technicien: &'static str,
    zone_intervention: Option<&'a str>,
    rayon_deplacement_km: i32,
    vehicule_service: Option<&'a str>,
    disponibilite: &'static str,
    horaires_travail: Option<&'a str>,
    astreinte: bool,
    is_active: bool,
    date_embauche: Option<NaiveDateTime>,
    date_fin_contrat: Option<NaiveDateTime>,
    telephone_urgence: Option<&'a str>,
    notes_rh: Option<&'a str>,
    qualifications_speciales: Option<&'a str>,
    updated_at: NaiveDateTime,
}

impl<'a> TechnicienValues<'a> {
    fn new(f: &'a TechnicienFields, now: NaiveDateTime) -> Self {
        Self {
            equipe: f.equipe.as_deref(),
            equipe_norm: f.equipe.as_deref().map(norm),
            numero_badge: f.numero_badge.as_deref(),
            niveau_technicien: f.niveau_technicien.as_str(),
            zone_intervention: f.zone_intervention.as_deref(),
            rayon_deplacement_km: f.rayon_deplacement_km,
            vehicule_service: f.vehicule_service.as_deref(),
            disponibilite: f.disponibilite.as_str(),
            horaires_travail: f.horaires_travail.as_deref(),
            astreinte: f.astreinte,
            is_active: f.is_active,
            date_embauche: f.date_embauche.map(to_db),
            date_fin_contrat: f.date_fin_contrat.map(to_db),
            telephone_urgence: f.telephone_urgence.as_deref(),
            notes_rh: f.notes_rh.as_deref(),
            qualifications_speciales: f.qualifications_speciales.as_deref(),
            updated_at: now,
        }
    }
}

/// `technicien_competence.technicien_id` of the holders of one competence id.
type WithCompetenceId = dsl::Select<
    dsl::Filter<technicien_competence::table, dsl::Eq<technicien_competence::competence_id, i64>>,
    technicien_competence::technicien_id,
>;

/// `technicien_competence.technicien_id` of the holders of a competence, by normalized name.
type WithCompetenceNamed = dsl::Select<
    dsl::Filter<
        dsl::InnerJoin<technicien_competence::table, competences::table>,
        dsl::Eq<competences::nom_norm, String>,
    >,
    technicien_competence::technicien_id,
>;

/// The filters of `GET /techniciens` on a boxed `techniciens ⋈ users` query.
fn technicien_filters<Q>(
    mut q: Q,
    f: &TechnicienFilter,
    dispos: &[&'static str],
    niveaux: &[&'static str],
    search: Option<&str>,
) -> Q
where
    Q: methods::FilterDsl<dsl::Eq<techniciens::equipe_norm, String>, Output = Q>
        + methods::FilterDsl<dsl::EqAny<techniciens::disponibilite, Vec<&'static str>>, Output = Q>
        + methods::FilterDsl<
            dsl::EqAny<techniciens::niveau_technicien, Vec<&'static str>>,
            Output = Q,
        > + methods::FilterDsl<dsl::EqAny<techniciens::id, WithCompetenceId>, Output = Q>
        + methods::FilterDsl<dsl::EqAny<techniciens::id, WithCompetenceNamed>, Output = Q>
        + methods::FilterDsl<dsl::Eq<techniciens::is_active, bool>, Output = Q>
        + methods::FilterDsl<UserSearch, Output = Q>,
{
    if let Some(e) = &f.equipe {
        q = q.filter(techniciens::equipe_norm.eq(norm(e)));
    }
    if !dispos.is_empty() {
        q = q.filter(techniciens::disponibilite.eq_any(dispos.to_vec()));
    }
    if !niveaux.is_empty() {
        q = q.filter(techniciens::niveau_technicien.eq_any(niveaux.to_vec()));
    }
    if let Some(cid) = f.competence_id {
        q = q.filter(
            techniciens::id.eq_any(
                technicien_competence::table
                    .filter(technicien_competence::competence_id.eq(cid.get()))
                    .select(technicien_competence::technicien_id),
            ),
        );
    }
    if let Some(name) = &f.competence {
        q = q.filter(
            techniciens::id.eq_any(
                technicien_competence::table
                    .inner_join(competences::table)
                    .filter(competences::nom_norm.eq(norm(name)))
                    .select(technicien_competence::technicien_id),
            ),
        );
    }
    if let Some(active) = f.is_active {
        q = q.filter(techniciens::is_active.eq(active));
    }
    if let Some(pattern) = search {
        q = q.filter(user_search(pattern));
    }
    q
}

impl DieselUnitOfWork<'_> {
    fn skills_of(&mut self, ids: &[i64]) -> Result<HashMap<i64, Vec<TechnicienSkill>>, RepoError> {
        let ids = ids.to_vec();
        let rows: Vec<SkillRow> = with_conn!(&mut self.conn, c => technicien_competence::table
            .inner_join(competences::table)
            .filter(technicien_competence::technicien_id.eq_any(ids))
            .order_by((competences::nom_norm.asc(), competences::id.asc()))
            .select((
                technicien_competence::technicien_id,
                technicien_competence::competence_id,
                technicien_competence::niveau,
                technicien_competence::date_acquisition,
                technicien_competence::date_validation,
                technicien_competence::validee_par,
                competences::nom,
                competences::domaine,
            ))
            .load(c))
        .map_err(map)?;
        let mut out: HashMap<i64, Vec<TechnicienSkill>> = HashMap::new();
        for r in rows {
            let niveau = r
                .niveau
                .parse::<NiveauCompetence>()
                .map_err(|_| corrupt("technicien_competence", r.technicien_id, "niveau"))?;
            out.entry(r.technicien_id)
                .or_default()
                .push(TechnicienSkill {
                    competence_id: CompetenceId::new(r.competence_id),
                    nom: r.nom,
                    domaine: r.domaine,
                    niveau,
                    date_acquisition: from_db(r.date_acquisition),
                    date_validation: r.date_validation.map(from_db),
                    validee_par: r.validee_par,
                });
        }
        Ok(out)
    }
}

impl TechnicienRepository for DieselUnitOfWork<'_> {
    fn insert_technicien(
        &mut self,
        new: &NewTechnicien,
        now: Timestamp,
    ) -> Result<TechnicienId, RepoError> {
        let now = to_db(now);
        let f = &new.fields;
        let id: i64 = with_conn!(&mut self.conn, c => diesel::insert_into(techniciens::table)
            .values((TechnicienValues::new(f, now), techniciens::user_id.eq(new.user_id.get()), techniciens::created_at.eq(now)))
            .returning(techniciens::id)
            .get_result(c))
        .map_err(map)?;
        Ok(TechnicienId::new(id))
    }

    fn technicien_by_id(&mut self, id: TechnicienId) -> Result<Option<Technicien>, RepoError> {
        let row: Option<(TechnicienRow, UserRow)> =
            with_conn!(&mut self.conn, c => techniciens::table
            .inner_join(users::table)
            .filter(techniciens::id.eq(id.get()))
            .select((TechnicienRow::as_select(), UserRow::as_select()))
            .get_result(c)
            .optional())
            .map_err(map)?;
        let Some((t, u)) = row else { return Ok(None) };
        let skills = self.skills_of(&[t.id])?.remove(&t.id).unwrap_or_default();
        t.into_domain(u, skills).map(Some)
    }

    fn technicien_id_of_user(&mut self, user: UserId) -> Result<Option<TechnicienId>, RepoError> {
        let id: Option<i64> = with_conn!(&mut self.conn, c => techniciens::table
            .filter(techniciens::user_id.eq(user.get()))
            .select(techniciens::id)
            .get_result(c)
            .optional())
        .map_err(map)?;
        Ok(id.map(TechnicienId::new))
    }

    fn update_technicien(
        &mut self,
        id: TechnicienId,
        f: &TechnicienFields,
        now: Timestamp,
    ) -> Result<(), RepoError> {
        let now = to_db(now);
        let n = with_conn!(&mut self.conn, c => diesel::update(techniciens::table.find(id.get()))
            .set(TechnicienValues::new(f, now))
            .execute(c))
        .map_err(map)?;
        if n == 0 {
            Err(RepoError::NotFound)
        } else {
            Ok(())
        }
    }

    fn replace_skills(
        &mut self,
        id: TechnicienId,
        skills: &[SkillAssignment],
        now: Timestamp,
    ) -> Result<(), RepoError> {
        let now = to_db(now);
        let existing: Vec<(i64, NaiveDateTime)> =
            with_conn!(&mut self.conn, c => technicien_competence::table
            .filter(technicien_competence::technicien_id.eq(id.get()))
            .select((technicien_competence::competence_id, technicien_competence::date_acquisition))
            .load(c))
            .map_err(map)?;
        let acquired: HashMap<i64, NaiveDateTime> = existing.into_iter().collect();
        with_conn!(&mut self.conn, c => diesel::delete(
                technicien_competence::table.filter(technicien_competence::technicien_id.eq(id.get())),
            )
            .execute(c))
        .map_err(map)?;
        for s in skills {
            let since = acquired.get(&s.competence_id.get()).copied().unwrap_or(now);
            let values = (
                technicien_competence::technicien_id.eq(id.get()),
                technicien_competence::competence_id.eq(s.competence_id.get()),
                technicien_competence::niveau.eq(s.niveau.as_str()),
                technicien_competence::date_acquisition.eq(since),
                technicien_competence::date_validation.eq(s.date_validation.map(to_db)),
                technicien_competence::validee_par.eq(s.validee_par.as_deref()),
            );
            with_conn!(&mut self.conn, c => diesel::insert_into(technicien_competence::table).values(values).execute(c))
                .map_err(map)?;
        }
        Ok(())
    }

    fn delete_technicien(&mut self, id: TechnicienId) -> Result<(), RepoError> {
        let n = with_conn!(&mut self.conn, c => diesel::delete(techniciens::table.find(id.get())).execute(c)).map_err(map)?;
        if n == 0 {
            Err(RepoError::NotFound)
        } else {
            Ok(())
        }
    }

    fn technicien_has_active_interventions(&mut self, id: TechnicienId) -> Result<bool, RepoError> {
        with_conn!(&mut self.conn, c => diesel::select(dsl::exists(
            interventions::table
                .filter(interventions::technicien_id.eq(id.get()))
                .filter(interventions::statut.eq_any(["affectee", "en_cours", "en_attente"])),
        ))
        .get_result(c))
        .map_err(map)
    }

    fn list_techniciens(
        &mut self,
        f: &TechnicienFilter,
        sort: &[SortKey<TechnicienSortField>],
        page: Page,
    ) -> Result<Listed<Technicien>, RepoError> {
        let dispos: Vec<&'static str> = f.disponibilites.iter().map(|d| d.as_str()).collect();
        let niveaux: Vec<&'static str> = f.niveaux.iter().map(|n| n.as_str()).collect();
        let search = f.search.as_deref().map(|s| like_contains(&norm(s)));
        let rank = declared_order(
            "techniciens.disponibilite",
            &DisponibiliteTechnicien::wire_values(),
        );
        let first_dir = sort.first().map_or(SortDir::Asc, |k| k.dir);
        let (total, rows) = with_conn!(&mut self.conn, c => (|| {
            let total: i64 = technicien_filters(techniciens::table.inner_join(users::table).into_boxed(), f, &dispos, &niveaux, search.as_deref())
                .count()
                .get_result(c)?;
            let mut q = technicien_filters(
                techniciens::table.inner_join(users::table).select((TechnicienRow::as_select(), UserRow::as_select())).into_boxed(),
                f, &dispos, &niveaux, search.as_deref()
            );
            for key in sort {
                q = match (key.field, key.dir) {
                    (TechnicienSortField::Id, SortDir::Asc) => q.then_order_by(techniciens::id.asc()),
                    (TechnicienSortField::Id, SortDir::Desc) => q.then_order_by(techniciens::id.desc()),
                    (TechnicienSortField::Equipe, SortDir::Asc) => q
                        .then_order_by(techniciens::equipe_norm.is_null().asc())
                        .then_order_by(techniciens::equipe_norm.asc()),
                    (TechnicienSortField::Equipe, SortDir::Desc) => q
                        .then_order_by(techniciens::equipe_norm.is_null().asc())
                        .then_order_by(techniciens::equipe_norm.desc()),
                    (TechnicienSortField::Disponibilite, SortDir::Asc) => q.then_order_by(sql::<Integer>(&rank).asc()),
                    (TechnicienSortField::Disponibilite, SortDir::Desc) => q.then_order_by(sql::<Integer>(&rank).desc()),
                    (TechnicienSortField::CreatedAt, SortDir::Asc) => q.then_order_by(techniciens::created_at.asc()),
                    (TechnicienSortField::CreatedAt, SortDir::Desc) => q.then_order_by(techniciens::created_at.desc()),
                };
            }
            q = match first_dir {
                SortDir::Asc => q.then_order_by(techniciens::id.asc()),
                SortDir::Desc => q.then_order_by(techniciens::id.desc()),
            };
            let rows: Vec<(TechnicienRow, UserRow)> = q.paged(page).load(c)?;
            Ok::<_, diesel::result::Error>((total, rows))
        })())
        .map_err(map)?;
        let ids: Vec<i64> = rows.iter().map(|(t, _)| t.id).collect();
        let mut skills = self.skills_of(&ids)?;
        let items = rows
            .into_iter()
            .map(|(t, u)| {
                let s = skills.remove(&t.id).unwrap_or_default();
                t.into_domain(u, s)
            })
            .collect::<Result<_, _>>()?;
        Ok(Listed { items, total })
    }
}
