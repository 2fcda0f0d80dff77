//! Fakes of the work ports: interventions and their history, the dashboard counts, and
//! document rows. Every read of an intervention's fields goes through the helpers at the top.

use erp_domain::DocumentId;
use erp_domain::dashboard::{DashboardCounts, DashboardScope, DashboardWindows};
use erp_domain::document::{Document, DocumentFilter, NewDocument};
use erp_domain::enums::{InterventionType, StatutIntervention};
use erp_domain::equipement::EquipementId;
use erp_domain::intervention::{
    HistoryAuthor, HistoryEntry, Intervention, InterventionFilter, InterventionId,
    InterventionSortField, NewHistory,
};
use erp_domain::list::{Listed, Page, SortKey};
use erp_domain::ports::{
    DashboardRepository, DocumentRepository, InterventionRepository, RepoError,
};
use erp_domain::technicien::TechnicienId;

use super::{Store, next_id, page_of};

/// The équipement of an intervention.
pub fn equipement_of(i: &Intervention) -> EquipementId {
    i.equipement_id()
}

/// Whether `i` is assigned to `t` and still active.
pub fn is_active_for(i: &Intervention, t: TechnicienId) -> bool {
    i.technicien_id() == Some(t) && i.statut().is_active()
}

/// The id of an intervention.
pub fn id_of(i: &Intervention) -> InterventionId {
    i.id()
}

/// Whether `i` is active and past its due date at `now`.
pub fn is_overdue(i: &Intervention, now: erp_domain::Timestamp) -> bool {
    i.statut().is_active() && i.date_limite().is_some_and(|d| d < now)
}

/// `i` as stored under `id`.
fn with_id(i: &Intervention, id: InterventionId) -> Intervention {
    i.clone().stored_as(id)
}

fn matches(f: &InterventionFilter, i: &Intervention) -> bool {
    !f.nothing
        && (f.statuts.is_empty() || f.statuts.contains(&i.statut()))
        && f.client_id
            .is_none_or(|c| i.client_id().map(|x| x.get()) == Some(c))
        && f.technicien_id
            .is_none_or(|t| i.technicien_id().map(|x| x.get()) == Some(t))
        && f.equipement_id.is_none_or(|e| i.equipement_id().get() == e)
        && f.planning_id.is_none_or(|p| i.planning_id() == Some(p))
}

impl InterventionRepository for Store {
    fn insert_intervention(&mut self, i: &Intervention) -> Result<Intervention, RepoError> {
        let stored = with_id(i, InterventionId::new(next_id(self.interventions.len())));
        self.interventions.push(stored.clone());
        Ok(stored)
    }
    fn intervention_by_id(
        &mut self,
        id: InterventionId,
    ) -> Result<Option<Intervention>, RepoError> {
        Ok(self.interventions.iter().find(|i| i.id() == id).cloned())
    }
    fn update_intervention_if_version(
        &mut self,
        i: &Intervention,
        expected: i32,
    ) -> Result<bool, RepoError> {
        let Some(row) = self.interventions.iter_mut().find(|x| x.id() == i.id()) else {
            return Ok(false);
        };
        if row.version() != expected {
            return Ok(false);
        }
        *row = i.clone();
        Ok(true)
    }
    fn insert_history(&mut self, row: &NewHistory) -> Result<(), RepoError> {
        self.history.push(row.clone());
        Ok(())
    }
    fn list_history(
        &mut self,
        id: InterventionId,
        page: Page,
    ) -> Result<Listed<HistoryEntry>, RepoError> {
        let items = self
            .history
            .iter()
            .enumerate()
            .filter(|(_, h)| h.intervention_id == id)
            .map(|(n, h)| HistoryEntry {
                id: next_id(n),
                row: h.clone(),
                user: h.user_id.and_then(|u| {
                    self.users
                        .iter()
                        .find(|x| x.id == u)
                        .map(|x| HistoryAuthor {
                            id: x.id,
                            username: x.username.as_str().to_owned(),
                            full_name: x.full_name.as_ref().map(|f| f.as_str().to_owned()),
                            role: x.role,
                        })
                }),
            })
            .collect();
        Ok(page_of(items, page))
    }
    fn list_interventions(
        &mut self,
        f: &InterventionFilter,
        _: &[SortKey<InterventionSortField>],
        page: Page,
    ) -> Result<Listed<Intervention>, RepoError> {
        let items = self
            .interventions
            .iter()
            .filter(|i| matches(f, i))
            .cloned()
            .collect();
        Ok(page_of(items, page))
    }
    fn count_by_statut_and_type(
        &mut self,
    ) -> Result<Vec<(StatutIntervention, InterventionType, i64)>, RepoError> {
        let mut out: Vec<(StatutIntervention, InterventionType, i64)> = Vec::new();
        for i in &self.interventions {
            match out
                .iter_mut()
                .find(|(s, t, _)| *s == i.statut() && *t == i.type_intervention())
            {
                Some(row) => row.2 += 1,
                None => out.push((i.statut(), i.type_intervention(), 1)),
            }
        }
        Ok(out)
    }
}

impl DashboardRepository for Store {
    fn dashboard_counts(
        &mut self,
        scope: DashboardScope,
        _: &DashboardWindows,
    ) -> Result<DashboardCounts, RepoError> {
        self.dashboard_scopes.push(scope);
        Ok(self.dashboard.clone())
    }
}

impl DocumentRepository for Store {
    fn insert_document(&mut self, d: &NewDocument) -> Result<Document, RepoError> {
        self.next_document += 1;
        let doc = Document {
            id: DocumentId::new(self.next_document),
            intervention_id: d.intervention_id,
            nom_fichier: d.nom_fichier.clone(),
            extension: d.extension.clone(),
            mime_type: d.mime_type.clone(),
            taille: d.taille,
            sha256: d.sha256.clone(),
            nom_stockage: d.nom_stockage.clone(),
            cle_id: d.cle_id.clone(),
            description: d.description.clone(),
            uploaded_by_id: d.uploaded_by_id,
            date_upload: d.date_upload,
        };
        self.documents.push(doc.clone());
        Ok(doc)
    }
    fn document_by_id(&mut self, id: DocumentId) -> Result<Option<Document>, RepoError> {
        Ok(self.documents.iter().find(|d| d.id == id).cloned())
    }
    fn list_documents(
        &mut self,
        f: &DocumentFilter,
        page: Page,
    ) -> Result<Listed<Document>, RepoError> {
        let items = self
            .documents
            .iter()
            .rev()
            .filter(|d| {
                f.intervention_id
                    .is_none_or(|i| d.intervention_id.get() == i)
            })
            .filter(|d| {
                f.uploaded_by_id
                    .is_none_or(|u| d.uploaded_by_id.map(|x| x.get()) == Some(u))
            })
            .filter(|d| f.mime_type.as_ref().is_none_or(|m| &d.mime_type == m))
            .cloned()
            .collect();
        Ok(page_of(items, page))
    }
    fn delete_document(&mut self, id: DocumentId) -> Result<(), RepoError> {
        let before = self.documents.len();
        self.documents.retain(|d| d.id != id);
        if before == self.documents.len() {
            return Err(RepoError::NotFound);
        }
        Ok(())
    }
    fn documents_not_under_key(
        &mut self,
        key: &str,
        after: DocumentId,
        limit: i64,
    ) -> Result<Vec<Document>, RepoError> {
        Ok(self
            .documents
            .iter()
            .filter(|d| d.cle_id != key && d.id > after)
            .take(usize::try_from(limit).unwrap_or(0))
            .cloned()
            .collect())
    }
    fn replace_document_blob(
        &mut self,
        id: DocumentId,
        old_blob: &str,
        new_blob: &str,
        new_key: &str,
    ) -> Result<bool, RepoError> {
        match self
            .documents
            .iter_mut()
            .find(|d| d.id == id && d.nom_stockage == old_blob)
        {
            Some(d) => {
                new_blob.clone_into(&mut d.nom_stockage);
                new_key.clone_into(&mut d.cle_id);
                Ok(true)
            }
            None => Ok(false),
        }
    }
}
