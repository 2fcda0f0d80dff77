//! `equipements` adapter (DATA.md §3.4).

use chrono::NaiveDateTime;
use diesel::dsl;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::query_dsl::methods;
use diesel::sql_types::Integer;
use erp_domain::ClientId;
use erp_domain::clock::Timestamp;
use erp_domain::enums::{CriticiteEquipement, StatutEquipement};
use erp_domain::equipement::{
    Equipement, EquipementFields, EquipementFilter, EquipementId, EquipementSortField,
};
use erp_domain::list::{Listed, Page, SortDir, SortKey, like_contains};
use erp_domain::ports::{EquipementRepository, RepoError};
use erp_domain::text::norm;

use super::{DieselUnitOfWork, declared_order};
use crate::errors::map;
use crate::paging::Paginate;
use crate::schema::{equipements, interventions};
use crate::time::{DbTime, from_db, to_db};
use crate::with_conn;

#[derive(Queryable, Selectable)]
#[diesel(table_name = equipements)]
struct EquipementRow {
    id: i64,
    nom: String,
    type_equipement: String,
    numero_serie: Option<String>,
    code_interne: Option<String>,
    marque: Option<String>,
    modele: Option<String>,
    localisation: String,
    batiment: Option<String>,
    zone: Option<String>,
    etage: Option<String>,
    statut: String,
    criticite: String,
    description: Option<String>,
    specifications_techniques: Option<String>,
    puissance: Option<f64>,
    poids: Option<f64>,
    frequence_entretien_jours: Option<i32>,
    duree_garantie_mois: Option<i32>,
    cout_acquisition: Option<i64>,
    date_acquisition: Option<DbTime>,
    date_mise_en_service: Option<DbTime>,
    date_fin_garantie: Option<DbTime>,
    client_id: Option<i64>,
    created_at: DbTime,
    updated_at: DbTime,
}

impl EquipementRow {
    fn into_domain(self) -> Result<Equipement, RepoError> {
        let corrupt =
            |what: &str| RepoError::Other(format!("equipements row {}: invalid {what}", self.id));
        Ok(Equipement {
            id: EquipementId::new(self.id),
            fields: EquipementFields {
                statut: self
                    .statut
                    .parse::<StatutEquipement>()
                    .map_err(|_| corrupt("statut"))?,
                criticite: self
                    .criticite
                    .parse::<CriticiteEquipement>()
                    .map_err(|_| corrupt("criticite"))?,
                nom: self.nom,
                type_equipement: self.type_equipement,
                localisation: self.localisation,
                numero_serie: self.numero_serie,
                code_interne: self.code_interne,
                marque: self.marque,
                modele: self.modele,
                batiment: self.batiment,
                zone: self.zone,
                etage: self.etage,
                description: self.description,
                specifications_techniques: self.specifications_techniques,
                puissance: self.puissance,
                poids: self.poids,
                frequence_entretien_jours: self.frequence_entretien_jours,
                duree_garantie_mois: self.duree_garantie_mois,
                cout_acquisition: self.cout_acquisition,
                date_acquisition: self.date_acquisition.map(from_db),
                date_mise_en_service: self.date_mise_en_service.map(from_db),
                date_fin_garantie: self.date_fin_garantie.map(from_db),
                client_id: self.client_id.map(ClientId::new),
            },
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

/// Every column a write sets (all but id and `created_at`).
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = equipements, treat_none_as_null = true, treat_none_as_default_value = false)]
struct EquipementValues<'a> {
    nom: &'a str,
    nom_norm: String,
    type_equipement: &'a str,
    type_norm: String,
    numero_serie: Option<&'a str>,
    code_interne: Option<&'a str>,
    marque: Option<&'a str>,
    modele: Option<&'a str>,
    localisation: &'a str,
    localisation_norm: String,
    batiment: Option<&'a str>,
    zone: Option<&'a str>,
    etage: Option<&'a str>,
    statut: &'static str,
    criticite: &'static str,
    description: Option<&'a str>,
    specifications_techniques: Option<&'a str>,
    search_norm: String,
    puissance: Option<f64>,
    poids: Option<f64>,
    frequence_entretien_jours: Option<i32>,
    duree_garantie_mois: Option<i32>,
    cout_acquisition: Option<i64>,
    date_acquisition: Option<NaiveDateTime>,
    date_mise_en_service: Option<NaiveDateTime>,
    date_fin_garantie: Option<NaiveDateTime>,
    client_id: Option<i64>,
    updated_at: NaiveDateTime,
}

impl<'a> EquipementValues<'a> {
    fn new(f: &'a EquipementFields, now: NaiveDateTime) -> Self {
        Self {
            nom: &f.nom,
            nom_norm: norm(&f.nom),
            type_equipement: &f.type_equipement,
            type_norm: norm(&f.type_equipement),
            numero_serie: f.numero_serie.as_deref(),
            code_interne: f.code_interne.as_deref(),
            marque: f.marque.as_deref(),
            modele: f.modele.as_deref(),
            localisation: &f.localisation,
            localisation_norm: norm(&f.localisation),
            batiment: f.batiment.as_deref(),
            zone: f.zone.as_deref(),
            etage: f.etage.as_deref(),
            statut: f.statut.as_str(),
            criticite: f.criticite.as_str(),
            description: f.description.as_deref(),
            specifications_techniques: f.specifications_techniques.as_deref(),
            search_norm: f.search_norm(),
            puissance: f.puissance,
            poids: f.poids,
            frequence_entretien_jours: f.frequence_entretien_jours,
            duree_garantie_mois: f.duree_garantie_mois,
            cout_acquisition: f.cout_acquisition,
            date_acquisition: f.date_acquisition.map(to_db),
            date_mise_en_service: f.date_mise_en_service.map(to_db),
            date_fin_garantie: f.date_fin_garantie.map(to_db),
            client_id: f.client_id.map(ClientId::get),
            updated_at: now,
        }
    }
}

/// The filters of `GET /equipements` on a boxed `equipements` query.
fn equipement_filters<Q>(
    mut q: Q,
    f: &EquipementFilter,
    statuts: &[&'static str],
    criticites: &[&'static str],
    search: Option<&str>,
    localisation: Option<&str>,
) -> Q
where
    Q: methods::FilterDsl<dsl::Lt<equipements::id, i64>, Output = Q>
        + methods::FilterDsl<dsl::EqAny<equipements::statut, Vec<&'static str>>, Output = Q>
        + methods::FilterDsl<dsl::EqAny<equipements::criticite, Vec<&'static str>>, Output = Q>
        + methods::FilterDsl<dsl::Eq<equipements::type_norm, String>, Output = Q>
        + methods::FilterDsl<
            dsl::Escape<dsl::Like<equipements::localisation_norm, String>>,
            Output = Q,
        > + methods::FilterDsl<dsl::Eq<equipements::client_id, i64>, Output = Q>
        + methods::FilterDsl<dsl::Escape<dsl::Like<equipements::search_norm, String>>, Output = Q>,
{
    if f.nothing {
        q = q.filter(equipements::id.lt(0_i64));
    }
    if !statuts.is_empty() {
        q = q.filter(equipements::statut.eq_any(statuts.to_vec()));
    }
    if !criticites.is_empty() {
        q = q.filter(equipements::criticite.eq_any(criticites.to_vec()));
    }
    if let Some(t) = &f.type_norm {
        q = q.filter(equipements::type_norm.eq(norm(t)));
    }
    if let Some(pattern) = localisation {
        q = q.filter(
            equipements::localisation_norm
                .like(pattern.to_owned())
                .escape('\\'),
        );
    }
    if let Some(client) = f.client_id {
        q = q.filter(equipements::client_id.eq(client.get()));
    }
    if let Some(pattern) = search {
        q = q.filter(
            equipements::search_norm
                .like(pattern.to_owned())
                .escape('\\'),
        );
    }
    q
}

impl EquipementRepository for DieselUnitOfWork<'_> {
    fn insert_equipement(
        &mut self,
        f: &EquipementFields,
        now: Timestamp,
    ) -> Result<Equipement, RepoError> {
        let now = to_db(now);
        let row: EquipementRow =
            with_conn!(&mut self.conn, c => diesel::insert_into(equipements::table)
            .values((EquipementValues::new(f, now), equipements::created_at.eq(now)))
            .returning(EquipementRow::as_returning())
            .get_result(c))
            .map_err(map)?;
        row.into_domain()
    }

    fn equipement_by_id(&mut self, id: EquipementId) -> Result<Option<Equipement>, RepoError> {
        let row: Option<EquipementRow> = with_conn!(&mut self.conn, c => equipements::table
            .find(id.get())
            .select(EquipementRow::as_select())
            .get_result(c)
            .optional())
        .map_err(map)?;
        row.map(EquipementRow::into_domain).transpose()
    }

    fn update_equipement(
        &mut self,
        id: EquipementId,
        f: &EquipementFields,
        now: Timestamp,
    ) -> Result<Equipement, RepoError> {
        let now = to_db(now);
        let row: Option<EquipementRow> =
            with_conn!(&mut self.conn, c => diesel::update(equipements::table.find(id.get()))
            .set(EquipementValues::new(f, now))
            .returning(EquipementRow::as_returning())
            .get_result(c)
            .optional())
            .map_err(map)?;
        row.ok_or(RepoError::NotFound)?.into_domain()
    }

    fn delete_equipement(&mut self, id: EquipementId) -> Result<(), RepoError> {
        let n = with_conn!(&mut self.conn, c => diesel::delete(equipements::table.find(id.get())).execute(c)).map_err(map)?;
        if n == 0 {
            Err(RepoError::NotFound)
        } else {
            Ok(())
        }
    }

    fn equipement_has_interventions(&mut self, id: EquipementId) -> Result<bool, RepoError> {
        with_conn!(&mut self.conn, c => diesel::select(dsl::exists(
            interventions::table.filter(interventions::equipement_id.eq(id.get()))
        ))
        .get_result(c))
        .map_err(map)
    }

    fn list_equipements(
        &mut self,
        f: &EquipementFilter,
        sort: &[SortKey<EquipementSortField>],
        page: Page,
    ) -> Result<Listed<Equipement>, RepoError> {
        let statuts: Vec<&'static str> = f.statuts.iter().map(|s| s.as_str()).collect();
        let criticites: Vec<&'static str> = f.criticites.iter().map(|s| s.as_str()).collect();
        let search = f.search.as_deref().map(|s| like_contains(&norm(s)));
        let localisation = f.localisation.as_deref().map(|s| like_contains(&norm(s)));
        let statut_rank = declared_order("statut", &StatutEquipement::wire_values());
        let criticite_rank = declared_order("criticite", &CriticiteEquipement::wire_values());
        let first_dir = sort.first().map_or(SortDir::Asc, |k| k.dir);
        let (total, rows) = with_conn!(&mut self.conn, c => (|| {
            let total: i64 = equipement_filters(equipements::table.into_boxed(), f, &statuts, &criticites, search.as_deref(), localisation.as_deref())
                .count()
                .get_result(c)?;
            let mut q = equipement_filters(
                equipements::table.select(EquipementRow::as_select()).into_boxed(),
                f, &statuts, &criticites, search.as_deref(), localisation.as_deref()
            );
            for key in sort {
                q = match (key.field, key.dir) {
                    (EquipementSortField::Id, SortDir::Asc) => q.then_order_by(equipements::id.asc()),
                    (EquipementSortField::Id, SortDir::Desc) => q.then_order_by(equipements::id.desc()),
                    (EquipementSortField::Nom, SortDir::Asc) => q.then_order_by(equipements::nom_norm.asc()),
                    (EquipementSortField::Nom, SortDir::Desc) => q.then_order_by(equipements::nom_norm.desc()),
                    (EquipementSortField::Type, SortDir::Asc) => q.then_order_by(equipements::type_norm.asc()),
                    (EquipementSortField::Type, SortDir::Desc) => q.then_order_by(equipements::type_norm.desc()),
                    (EquipementSortField::Localisation, SortDir::Asc) => q.then_order_by(equipements::localisation_norm.asc()),
                    (EquipementSortField::Localisation, SortDir::Desc) => q.then_order_by(equipements::localisation_norm.desc()),
                    (EquipementSortField::Statut, SortDir::Asc) => q.then_order_by(sql::<Integer>(&statut_rank).asc()),
                    (EquipementSortField::Statut, SortDir::Desc) => q.then_order_by(sql::<Integer>(&statut_rank).desc()),
                    (EquipementSortField::Criticite, SortDir::Asc) => q.then_order_by(sql::<Integer>(&criticite_rank).asc()),
                    (EquipementSortField::Criticite, SortDir::Desc) => q.then_order_by(sql::<Integer>(&criticite_rank).desc()),
                    (EquipementSortField::CreatedAt, SortDir::Asc) => q.then_order_by(equipements::created_at.asc()),
                    (EquipementSortField::CreatedAt, SortDir::Desc) => q.then_order_by(equipements::created_at.desc()),
                };
            }
            q = match first_dir {
                SortDir::Asc => q.then_order_by(equipements::id.asc()),
                SortDir::Desc => q.then_order_by(equipements::id.desc()),
            };
            let rows: Vec<EquipementRow> = q.paged(page).load(c)?;
            Ok::<_, diesel::result::Error>((total, rows))
        })())
        .map_err(map)?;
        let items = rows
            .into_iter()
            .map(EquipementRow::into_domain)
            .collect::<Result<_, _>>()?;
        Ok(Listed { items, total })
    }
}
