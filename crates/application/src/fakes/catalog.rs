//! Fakes of the catalog ports: équipements, compétences and techniciens, with the unique keys
//! and foreign keys the databases enforce.

use erp_domain::UserId;
use erp_domain::clock::Timestamp;
use erp_domain::equipement::{
    Equipement, EquipementFields, EquipementFilter, EquipementId, EquipementSortField,
};
use erp_domain::list::{Listed, Page, SortKey};
use erp_domain::ports::{
    CompetenceRepository, EquipementRepository, RepoError, TechnicienRepository, UniqueKey,
};
use erp_domain::technicien::{
    Competence, CompetenceFields, CompetenceFilter, CompetenceId, CompetenceSortField,
    NewTechnicien, SkillAssignment, Technicien, TechnicienFields, TechnicienFilter, TechnicienId,
    TechnicienSkill, TechnicienSortField,
};

use super::{Store, StoredTechnicien, next_id, page_of};

fn same(a: Option<&String>, b: Option<&String>) -> bool {
    a.is_some() && a == b
}

impl Store {
    fn equipement_unique(
        &self,
        id: Option<EquipementId>,
        f: &EquipementFields,
    ) -> Result<(), RepoError> {
        for e in self.equipements.iter().filter(|e| Some(e.id) != id) {
            if e.fields.nom.to_lowercase() == f.nom.to_lowercase() {
                return Err(RepoError::Duplicate(UniqueKey::EquipementNom));
            }
            if same(e.fields.numero_serie.as_ref(), f.numero_serie.as_ref()) {
                return Err(RepoError::Duplicate(UniqueKey::NumeroSerie));
            }
            if same(e.fields.code_interne.as_ref(), f.code_interne.as_ref()) {
                return Err(RepoError::Duplicate(UniqueKey::CodeInterne));
            }
        }
        if f.client_id.is_some_and(|c| !self.clients.contains(&c)) {
            return Err(RepoError::ForeignKey);
        }
        Ok(())
    }

    /// The technicien as the repository returns it: user joined, skills named.
    pub fn technicien(&self, id: TechnicienId) -> Option<Technicien> {
        let t = self.techniciens.iter().find(|t| t.id == id)?;
        let user = self.users.iter().find(|u| u.id == t.user_id)?.clone();
        let competences = t
            .skills
            .iter()
            .filter_map(|s| {
                let c = self.competences.iter().find(|c| c.id == s.competence_id)?;
                Some(TechnicienSkill {
                    competence_id: c.id,
                    nom: c.fields.nom.clone(),
                    domaine: c.fields.domaine.clone(),
                    niveau: s.niveau,
                    date_acquisition: t.updated_at,
                    date_validation: s.date_validation,
                    validee_par: s.validee_par.clone(),
                })
            })
            .collect();
        Some(Technicien {
            id: t.id,
            user,
            fields: t.fields.clone(),
            competences,
            created_at: t.created_at,
            updated_at: t.updated_at,
        })
    }

    fn badge_taken(&self, id: Option<TechnicienId>, f: &TechnicienFields) -> bool {
        self.techniciens.iter().any(|t| {
            Some(t.id) != id && same(t.fields.numero_badge.as_ref(), f.numero_badge.as_ref())
        })
    }
}

impl EquipementRepository for Store {
    fn insert_equipement(
        &mut self,
        f: &EquipementFields,
        now: Timestamp,
    ) -> Result<Equipement, RepoError> {
        self.equipement_unique(None, f)?;
        let id = self
            .equipements
            .iter()
            .map(|e| e.id.get())
            .max()
            .unwrap_or(0)
            + 1;
        let e = Equipement {
            id: EquipementId::new(id),
            fields: f.clone(),
            created_at: now,
            updated_at: now,
        };
        self.equipements.push(e.clone());
        Ok(e)
    }
    fn equipement_by_id(&mut self, id: EquipementId) -> Result<Option<Equipement>, RepoError> {
        Ok(self.equipements.iter().find(|e| e.id == id).cloned())
    }
    fn update_equipement(
        &mut self,
        id: EquipementId,
        f: &EquipementFields,
        now: Timestamp,
    ) -> Result<Equipement, RepoError> {
        self.equipement_unique(Some(id), f)?;
        let e = self
            .equipements
            .iter_mut()
            .find(|e| e.id == id)
            .ok_or(RepoError::NotFound)?;
        e.fields = f.clone();
        e.updated_at = now;
        Ok(e.clone())
    }
    fn delete_equipement(&mut self, id: EquipementId) -> Result<(), RepoError> {
        let before = self.equipements.len();
        self.equipements.retain(|e| e.id != id);
        if self.equipements.len() == before {
            return Err(RepoError::NotFound);
        }
        self.plannings.retain(|p| p.fields.equipement_id != id);
        Ok(())
    }
    fn equipement_has_interventions(&mut self, id: EquipementId) -> Result<bool, RepoError> {
        Ok(self.equipements_in_use.contains(&id)
            || self
                .interventions
                .iter()
                .any(|i| super::work::equipement_of(i) == id))
    }
    fn list_equipements(
        &mut self,
        f: &EquipementFilter,
        _: &[SortKey<EquipementSortField>],
        page: Page,
    ) -> Result<Listed<Equipement>, RepoError> {
        let items = self
            .equipements
            .iter()
            .filter(|_| !f.nothing)
            .filter(|e| f.client_id.is_none() || e.fields.client_id == f.client_id)
            .filter(|e| f.statuts.is_empty() || f.statuts.contains(&e.fields.statut))
            .cloned()
            .collect();
        Ok(page_of(items, page))
    }
}

impl CompetenceRepository for Store {
    fn insert_competence(
        &mut self,
        f: &CompetenceFields,
        now: Timestamp,
    ) -> Result<Competence, RepoError> {
        if self
            .competences
            .iter()
            .any(|c| c.fields.nom.to_lowercase() == f.nom.to_lowercase())
        {
            return Err(RepoError::Duplicate(UniqueKey::CompetenceNom));
        }
        let c = Competence {
            id: CompetenceId::new(next_id(self.competences.len())),
            fields: f.clone(),
            created_at: now,
            updated_at: now,
        };
        self.competences.push(c.clone());
        Ok(c)
    }
    fn competence_by_id(&mut self, id: CompetenceId) -> Result<Option<Competence>, RepoError> {
        Ok(self.competences.iter().find(|c| c.id == id).cloned())
    }
    fn update_competence(
        &mut self,
        id: CompetenceId,
        f: &CompetenceFields,
        now: Timestamp,
    ) -> Result<Competence, RepoError> {
        if self
            .competences
            .iter()
            .any(|c| c.id != id && c.fields.nom.to_lowercase() == f.nom.to_lowercase())
        {
            return Err(RepoError::Duplicate(UniqueKey::CompetenceNom));
        }
        let c = self
            .competences
            .iter_mut()
            .find(|c| c.id == id)
            .ok_or(RepoError::NotFound)?;
        c.fields = f.clone();
        c.updated_at = now;
        Ok(c.clone())
    }
    fn delete_competence(&mut self, id: CompetenceId) -> Result<(), RepoError> {
        let before = self.competences.len();
        self.competences.retain(|c| c.id != id);
        if before == self.competences.len() {
            return Err(RepoError::NotFound);
        }
        for t in &mut self.techniciens {
            t.skills.retain(|s| s.competence_id != id);
        }
        Ok(())
    }
    fn count_competences(&mut self, ids: &[CompetenceId]) -> Result<usize, RepoError> {
        Ok(ids
            .iter()
            .filter(|id| self.competences.iter().any(|c| c.id == **id))
            .count())
    }
    fn list_competences(
        &mut self,
        f: &CompetenceFilter,
        _: &[SortKey<CompetenceSortField>],
        page: Page,
    ) -> Result<Listed<Competence>, RepoError> {
        let items = self
            .competences
            .iter()
            .filter(|c| f.is_active.is_none_or(|a| c.fields.is_active == a))
            .cloned()
            .collect();
        Ok(page_of(items, page))
    }
}

impl TechnicienRepository for Store {
    fn insert_technicien(
        &mut self,
        t: &NewTechnicien,
        now: Timestamp,
    ) -> Result<TechnicienId, RepoError> {
        if self.techniciens.iter().any(|x| x.user_id == t.user_id) {
            return Err(RepoError::Duplicate(UniqueKey::TechnicienUser));
        }
        if self.badge_taken(None, &t.fields) {
            return Err(RepoError::Duplicate(UniqueKey::NumeroBadge));
        }
        self.next_technicien += 1;
        let id = TechnicienId::new(self.next_technicien);
        self.techniciens.push(StoredTechnicien {
            id,
            user_id: t.user_id,
            fields: t.fields.clone(),
            skills: Vec::new(),
            created_at: now,
            updated_at: now,
        });
        Ok(id)
    }
    fn technicien_by_id(&mut self, id: TechnicienId) -> Result<Option<Technicien>, RepoError> {
        Ok(self.technicien(id))
    }
    fn technicien_id_of_user(&mut self, user: UserId) -> Result<Option<TechnicienId>, RepoError> {
        Ok(self
            .techniciens
            .iter()
            .find(|t| t.user_id == user)
            .map(|t| t.id))
    }
    fn update_technicien(
        &mut self,
        id: TechnicienId,
        f: &TechnicienFields,
        now: Timestamp,
    ) -> Result<(), RepoError> {
        if self.badge_taken(Some(id), f) {
            return Err(RepoError::Duplicate(UniqueKey::NumeroBadge));
        }
        let t = self
            .techniciens
            .iter_mut()
            .find(|t| t.id == id)
            .ok_or(RepoError::NotFound)?;
        t.fields = f.clone();
        t.updated_at = now;
        Ok(())
    }
    fn replace_skills(
        &mut self,
        id: TechnicienId,
        skills: &[SkillAssignment],
        now: Timestamp,
    ) -> Result<(), RepoError> {
        if skills
            .iter()
            .any(|s| !self.competences.iter().any(|c| c.id == s.competence_id))
        {
            return Err(RepoError::ForeignKey);
        }
        let t = self
            .techniciens
            .iter_mut()
            .find(|t| t.id == id)
            .ok_or(RepoError::NotFound)?;
        t.skills = skills.to_vec();
        t.updated_at = now;
        Ok(())
    }
    fn delete_technicien(&mut self, id: TechnicienId) -> Result<(), RepoError> {
        let before = self.techniciens.len();
        self.techniciens.retain(|t| t.id != id);
        if before == self.techniciens.len() {
            return Err(RepoError::NotFound);
        }
        Ok(())
    }
    fn technicien_has_active_interventions(&mut self, id: TechnicienId) -> Result<bool, RepoError> {
        Ok(self
            .interventions
            .iter()
            .any(|i| super::work::is_active_for(i, id)))
    }
    fn list_techniciens(
        &mut self,
        f: &TechnicienFilter,
        _: &[SortKey<TechnicienSortField>],
        page: Page,
    ) -> Result<Listed<Technicien>, RepoError> {
        let items = self
            .techniciens
            .iter()
            .filter_map(|t| self.technicien(t.id))
            .filter(|t| f.is_active.is_none_or(|a| t.fields.is_active == a))
            .collect();
        Ok(page_of(items, page))
    }
}
