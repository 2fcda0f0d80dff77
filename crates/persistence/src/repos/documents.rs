//! `documents` adapter (DATA.md §3.11).

use diesel::dsl;
use diesel::prelude::*;
use diesel::query_dsl::methods;
use erp_domain::UserId;
use erp_domain::document::{CHIFFREMENT_FERNET, Document, DocumentFilter, DocumentId, NewDocument};
use erp_domain::intervention::InterventionId;
use erp_domain::list::{Listed, Page};
use erp_domain::ports::{DocumentRepository, RepoError};

use super::DieselUnitOfWork;
use crate::errors::map;
use crate::paging::Paginate;
use crate::schema::documents;
use crate::time::{DbTime, from_db, to_db};
use crate::with_conn;

#[derive(Queryable, Selectable)]
#[diesel(table_name = documents)]
struct DocumentRow {
    id: i64,
    intervention_id: i64,
    nom_fichier: String,
    extension: String,
    mime_type: String,
    taille: i64,
    sha256: String,
    nom_stockage: String,
    cle_id: String,
    description: Option<String>,
    uploaded_by_id: Option<i64>,
    date_upload: DbTime,
}

impl DocumentRow {
    fn into_domain(self) -> Document {
        Document {
            id: DocumentId::new(self.id),
            intervention_id: InterventionId::new(self.intervention_id),
            nom_fichier: self.nom_fichier,
            extension: self.extension,
            mime_type: self.mime_type,
            taille: self.taille,
            sha256: self.sha256,
            nom_stockage: self.nom_stockage,
            cle_id: self.cle_id,
            description: self.description,
            uploaded_by_id: self.uploaded_by_id.map(UserId::new),
            date_upload: from_db(self.date_upload),
        }
    }
}

/// The filters of `GET /documents` on a boxed `documents` query.
fn document_filters<Q>(mut q: Q, f: &DocumentFilter) -> Q
where
    Q: methods::FilterDsl<dsl::Eq<documents::intervention_id, i64>, Output = Q>
        + methods::FilterDsl<dsl::Eq<documents::uploaded_by_id, i64>, Output = Q>
        + methods::FilterDsl<dsl::Eq<documents::mime_type, String>, Output = Q>,
{
    if let Some(i) = f.intervention_id {
        q = q.filter(documents::intervention_id.eq(i));
    }
    if let Some(u) = f.uploaded_by_id {
        q = q.filter(documents::uploaded_by_id.eq(u));
    }
    if let Some(m) = &f.mime_type {
        q = q.filter(documents::mime_type.eq(m.clone()));
    }
    q
}

impl DocumentRepository for DieselUnitOfWork<'_> {
    fn insert_document(&mut self, d: &NewDocument) -> Result<Document, RepoError> {
        let row: DocumentRow =
            with_conn!(&mut self.conn, c => diesel::insert_into(documents::table)
            .values((
                documents::intervention_id.eq(d.intervention_id.get()),
                documents::nom_fichier.eq(&d.nom_fichier),
                documents::extension.eq(&d.extension),
                documents::mime_type.eq(&d.mime_type),
                documents::taille.eq(d.taille),
                documents::sha256.eq(&d.sha256),
                documents::nom_stockage.eq(&d.nom_stockage),
                documents::chiffrement.eq(CHIFFREMENT_FERNET),
                documents::cle_id.eq(&d.cle_id),
                documents::description.eq(d.description.as_deref()),
                documents::uploaded_by_id.eq(d.uploaded_by_id.map(UserId::get)),
                documents::date_upload.eq(to_db(d.date_upload)),
            ))
            .returning(DocumentRow::as_returning())
            .get_result(c))
            .map_err(map)?;
        Ok(row.into_domain())
    }

    fn document_by_id(&mut self, id: DocumentId) -> Result<Option<Document>, RepoError> {
        let row: Option<DocumentRow> = with_conn!(&mut self.conn, c => documents::table
            .find(id.get())
            .select(DocumentRow::as_select())
            .get_result(c)
            .optional())
        .map_err(map)?;
        Ok(row.map(DocumentRow::into_domain))
    }

    fn list_documents(
        &mut self,
        f: &DocumentFilter,
        page: Page,
    ) -> Result<Listed<Document>, RepoError> {
        let (total, rows) = with_conn!(&mut self.conn, c => (|| {
            let total: i64 = document_filters(documents::table.into_boxed(), f)
                .count()
                .get_result(c)?;
            let rows: Vec<DocumentRow> = document_filters(
                documents::table.select(DocumentRow::as_select()).into_boxed(),
                f
            )
            .order_by((documents::date_upload.desc(), documents::id.desc()))
            .paged(page)
            .load(c)?;
            Ok::<_, diesel::result::Error>((total, rows))
        })())
        .map_err(map)?;
        Ok(Listed {
            items: rows.into_iter().map(DocumentRow::into_domain).collect(),
            total,
        })
    }

    fn delete_document(&mut self, id: DocumentId) -> Result<(), RepoError> {
        let n = with_conn!(&mut self.conn, c => diesel::delete(documents::table.find(id.get())).execute(c))
            .map_err(map)?;
        if n == 0 {
            Err(RepoError::NotFound)
        } else {
            Ok(())
        }
    }

    fn documents_not_under_key(
        &mut self,
        current_key: &str,
        after: DocumentId,
        limit: i64,
    ) -> Result<Vec<Document>, RepoError> {
        let rows: Vec<DocumentRow> = with_conn!(&mut self.conn, c => documents::table
            .filter(documents::cle_id.ne(current_key))
            .filter(documents::id.gt(after.get()))
            .order_by(documents::id.asc())
            .limit(limit)
            .select(DocumentRow::as_select())
            .load(c))
        .map_err(map)?;
        Ok(rows.into_iter().map(DocumentRow::into_domain).collect())
    }

    fn replace_document_blob(
        &mut self,
        id: DocumentId,
        old_blob: &str,
        new_blob: &str,
        new_key: &str,
    ) -> Result<bool, RepoError> {
        let n = with_conn!(&mut self.conn, c => diesel::update(
            documents::table
                .filter(documents::id.eq(id.get()))
                .filter(documents::nom_stockage.eq(old_blob)),
        )
        .set((
            documents::nom_stockage.eq(new_blob),
            documents::cle_id.eq(new_key),
        ))
        .execute(c))
        .map_err(map)?;
        Ok(n == 1)
    }
}
