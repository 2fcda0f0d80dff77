-- Maintenance core: techniciens and compétences, équipements, plannings, interventions and
-- their history (DATA.md §3.1–3.8). SQLite dialect.
CREATE TABLE techniciens (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id                 INTEGER NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    equipe                  TEXT,
    equipe_norm             TEXT,
    numero_badge            TEXT,
    niveau_technicien       TEXT    NOT NULL DEFAULT 'intermediaire' CHECK (niveau_technicien IN ('debutant', 'intermediaire', 'avance', 'expert')),
    zone_intervention       TEXT,
    rayon_deplacement_km    INTEGER NOT NULL DEFAULT 50 CHECK (rayon_deplacement_km BETWEEN 0 AND 10000),
    vehicule_service        TEXT,
    disponibilite           TEXT    NOT NULL DEFAULT 'disponible' CHECK (disponibilite IN ('disponible', 'occupe', 'conge', 'formation', 'indisponible')),
    horaires_travail        TEXT             DEFAULT '08:00-17:00',
    astreinte               INTEGER NOT NULL DEFAULT 0 CHECK (astreinte IN (0, 1)),
    is_active               INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    date_embauche           TEXT,
    date_fin_contrat        TEXT,
    telephone_urgence       TEXT,
    notes_rh                TEXT,
    qualifications_speciales TEXT,
    created_at              TEXT    NOT NULL,
    updated_at              TEXT    NOT NULL
);
CREATE UNIQUE INDEX techniciens_user_id_key ON techniciens (user_id);
CREATE UNIQUE INDEX techniciens_numero_badge_key ON techniciens (numero_badge);
CREATE INDEX techniciens_equipe_disponibilite_idx ON techniciens (equipe_norm, disponibilite);
CREATE INDEX techniciens_disponibilite_idx ON techniciens (disponibilite);
CREATE INDEX techniciens_is_active_idx ON techniciens (is_active);
CREATE INDEX techniciens_niveau_idx ON techniciens (niveau_technicien);
CREATE INDEX techniciens_created_at_idx ON techniciens (created_at);

CREATE TABLE competences (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    nom                     TEXT    NOT NULL,
    nom_norm                TEXT    NOT NULL,
    domaine                 TEXT    NOT NULL DEFAULT 'general',
    domaine_norm            TEXT    NOT NULL DEFAULT 'general',
    description             TEXT,
    niveau_requis_minimum   TEXT    NOT NULL DEFAULT 'intermediaire' CHECK (niveau_requis_minimum IN ('debutant', 'intermediaire', 'avance', 'expert')),
    necessite_certification INTEGER NOT NULL DEFAULT 0 CHECK (necessite_certification IN (0, 1)),
    duree_validite_mois     INTEGER CHECK (duree_validite_mois BETWEEN 1 AND 600),
    is_active               INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at              TEXT    NOT NULL,
    updated_at              TEXT    NOT NULL
);
CREATE UNIQUE INDEX competences_nom_norm_key ON competences (nom_norm);
CREATE INDEX competences_domaine_idx ON competences (domaine_norm);
CREATE INDEX competences_is_active_idx ON competences (is_active);
CREATE INDEX competences_created_at_idx ON competences (created_at);

CREATE TABLE technicien_competence (
    technicien_id    INTEGER NOT NULL REFERENCES techniciens (id) ON DELETE CASCADE,
    competence_id    INTEGER NOT NULL REFERENCES competences (id) ON DELETE CASCADE,
    niveau           TEXT    NOT NULL DEFAULT 'intermediaire' CHECK (niveau IN ('debutant', 'intermediaire', 'avance', 'expert')),
    date_acquisition TEXT    NOT NULL,
    date_validation  TEXT,
    validee_par      TEXT,
    PRIMARY KEY (technicien_id, competence_id)
);
CREATE INDEX technicien_competence_competence_idx ON technicien_competence (competence_id, niveau);

CREATE TABLE equipements (
    id                        INTEGER PRIMARY KEY AUTOINCREMENT,
    nom                       TEXT    NOT NULL,
    nom_norm                  TEXT    NOT NULL,
    type_equipement           TEXT    NOT NULL,
    type_norm                 TEXT    NOT NULL,
    numero_serie              TEXT,
    code_interne              TEXT,
    marque                    TEXT,
    modele                    TEXT,
    localisation              TEXT    NOT NULL,
    localisation_norm         TEXT    NOT NULL,
    batiment                  TEXT,
    zone                      TEXT,
    etage                     TEXT,
    statut                    TEXT    NOT NULL DEFAULT 'operationnel' CHECK (statut IN ('operationnel', 'maintenance', 'panne', 'retire')),
    criticite                 TEXT    NOT NULL DEFAULT 'standard' CHECK (criticite IN ('critique', 'important', 'standard', 'non_critique')),
    description               TEXT,
    specifications_techniques TEXT,
    search_norm               TEXT    NOT NULL,
    puissance                 REAL CHECK (puissance >= 0),
    poids                     REAL CHECK (poids >= 0),
    frequence_entretien_jours INTEGER CHECK (frequence_entretien_jours BETWEEN 1 AND 3650),
    duree_garantie_mois       INTEGER CHECK (duree_garantie_mois BETWEEN 0 AND 1200),
    cout_acquisition          INTEGER CHECK (cout_acquisition >= 0),
    date_acquisition          TEXT,
    date_mise_en_service      TEXT,
    date_fin_garantie         TEXT,
    client_id                 INTEGER REFERENCES clients (id) ON DELETE SET NULL,
    contrat_id                INTEGER,
    created_at                TEXT    NOT NULL,
    updated_at                TEXT    NOT NULL
);
CREATE UNIQUE INDEX equipements_nom_norm_key ON equipements (nom_norm);
CREATE UNIQUE INDEX equipements_numero_serie_key ON equipements (numero_serie);
CREATE UNIQUE INDEX equipements_code_interne_key ON equipements (code_interne);
CREATE INDEX equipements_statut_criticite_idx ON equipements (statut, criticite);
CREATE INDEX equipements_criticite_idx ON equipements (criticite);
CREATE INDEX equipements_type_idx ON equipements (type_norm);
CREATE INDEX equipements_localisation_idx ON equipements (localisation_norm);
CREATE INDEX equipements_client_statut_idx ON equipements (client_id, statut);
CREATE INDEX equipements_created_at_idx ON equipements (created_at);

CREATE TABLE plannings (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    equipement_id     INTEGER NOT NULL REFERENCES equipements (id) ON DELETE CASCADE,
    frequence         TEXT    NOT NULL CHECK (frequence IN ('journalier', 'hebdomadaire', 'mensuel', 'trimestriel', 'semestriel', 'annuel')),
    date_reference    TEXT    NOT NULL,
    prochaine_date    TEXT    NOT NULL,
    derniere_date     TEXT,
    date_fin          TEXT,
    statut            TEXT    NOT NULL DEFAULT 'actif' CHECK (statut IN ('actif', 'suspendu', 'termine', 'en_retard')),
    titre             TEXT,
    commentaire       TEXT,
    priorite          TEXT    NOT NULL DEFAULT 'normale' CHECK (priorite IN ('urgente', 'haute', 'normale', 'basse', 'programmee')),
    technicien_id     INTEGER REFERENCES techniciens (id) ON DELETE SET NULL,
    duree_estimee     INTEGER CHECK (duree_estimee >= 0),
    avance_jours      INTEGER NOT NULL DEFAULT 0 CHECK (avance_jours BETWEEN 0 AND 365),
    version           INTEGER NOT NULL DEFAULT 1,
    date_creation     TEXT    NOT NULL,
    date_modification TEXT    NOT NULL
);
CREATE INDEX plannings_statut_prochaine_idx ON plannings (statut, prochaine_date);
CREATE INDEX plannings_prochaine_idx ON plannings (prochaine_date);
CREATE INDEX plannings_equipement_idx ON plannings (equipement_id);
CREATE INDEX plannings_technicien_idx ON plannings (technicien_id);
CREATE INDEX plannings_frequence_idx ON plannings (frequence);

CREATE TABLE interventions (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    titre                  TEXT    NOT NULL,
    titre_norm             TEXT    NOT NULL,
    description            TEXT,
    search_norm            TEXT    NOT NULL,
    type_intervention      TEXT    NOT NULL CHECK (type_intervention IN ('corrective', 'preventive', 'ameliorative', 'diagnostic')),
    statut                 TEXT    NOT NULL DEFAULT 'ouverte' CHECK (statut IN ('ouverte', 'affectee', 'en_cours', 'en_attente', 'cloturee', 'annulee', 'archivee')),
    priorite               TEXT    NOT NULL DEFAULT 'normale' CHECK (priorite IN ('urgente', 'haute', 'normale', 'basse', 'programmee')),
    urgence                INTEGER NOT NULL DEFAULT 0 CHECK (urgence IN (0, 1)),
    date_creation          TEXT    NOT NULL,
    date_limite            TEXT,
    date_affectation       TEXT,
    date_debut_travaux     TEXT,
    date_fin_travaux       TEXT,
    date_cloture           TEXT,
    date_annulation        TEXT,
    date_archivage         TEXT,
    duree_estimee          INTEGER CHECK (duree_estimee >= 0),
    duree_reelle           INTEGER CHECK (duree_reelle >= 0),
    temps_deplacement      INTEGER CHECK (temps_deplacement >= 0),
    cout_estime            INTEGER CHECK (cout_estime >= 0),
    cout_reel              INTEGER CHECK (cout_reel >= 0),
    cout_pieces            INTEGER CHECK (cout_pieces >= 0),
    cout_main_oeuvre       INTEGER CHECK (cout_main_oeuvre >= 0),
    rapport_intervention   TEXT,
    travaux_realises       TEXT,
    recommandations        TEXT,
    motif_annulation       TEXT,
    validation_client      INTEGER NOT NULL DEFAULT 0 CHECK (validation_client IN (0, 1)),
    date_validation_client TEXT,
    satisfaction_client    INTEGER CHECK (satisfaction_client BETWEEN 1 AND 5),
    commentaire_client     TEXT,
    retard_notifie_at      TEXT,
    version                INTEGER NOT NULL DEFAULT 1,
    equipement_id          INTEGER NOT NULL REFERENCES equipements (id) ON DELETE RESTRICT,
    technicien_id          INTEGER REFERENCES techniciens (id) ON DELETE SET NULL,
    planning_id            INTEGER REFERENCES plannings (id) ON DELETE SET NULL,
    client_id              INTEGER REFERENCES clients (id) ON DELETE SET NULL,
    contrat_id             INTEGER,
    created_by_id          INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at             TEXT    NOT NULL,
    updated_at             TEXT    NOT NULL,
    CONSTRAINT interventions_cloture_complete CHECK (statut NOT IN ('cloturee', 'archivee') OR (date_fin_travaux IS NOT NULL AND date_cloture IS NOT NULL AND rapport_intervention IS NOT NULL)),
    CONSTRAINT interventions_archivage_date CHECK (statut <> 'archivee' OR date_archivage IS NOT NULL),
    CONSTRAINT interventions_annulation_complete CHECK (statut <> 'annulee' OR (date_annulation IS NOT NULL AND motif_annulation IS NOT NULL)),
    CONSTRAINT interventions_validation_complete CHECK (validation_client = 0 OR (satisfaction_client IS NOT NULL AND date_validation_client IS NOT NULL AND statut IN ('cloturee', 'archivee')))
);
CREATE INDEX interventions_statut_priorite_idx ON interventions (statut, priorite);
CREATE INDEX interventions_statut_date_limite_idx ON interventions (statut, date_limite);
CREATE INDEX interventions_date_limite_idx ON interventions (date_limite);
CREATE INDEX interventions_technicien_statut_idx ON interventions (technicien_id, statut);
CREATE INDEX interventions_equipement_date_idx ON interventions (equipement_id, date_creation);
CREATE INDEX interventions_client_statut_idx ON interventions (client_id, statut);
CREATE INDEX interventions_planning_idx ON interventions (planning_id);
CREATE INDEX interventions_date_creation_id_idx ON interventions (date_creation, id);
CREATE INDEX interventions_type_urgence_idx ON interventions (type_intervention, urgence);
CREATE INDEX interventions_titre_norm_idx ON interventions (titre_norm);
CREATE INDEX interventions_updated_at_idx ON interventions (updated_at);
CREATE INDEX interventions_created_by_idx ON interventions (created_by_id);

CREATE TABLE historiques_interventions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    intervention_id INTEGER NOT NULL REFERENCES interventions (id) ON DELETE CASCADE,
    action          TEXT    NOT NULL CHECK (action IN ('creation', 'generation', 'affectation', 'reaffectation', 'demarrage', 'suspension', 'reprise', 'cloture', 'annulation', 'archivage', 'validation_client')),
    from_statut     TEXT CHECK (from_statut IN ('ouverte', 'affectee', 'en_cours', 'en_attente', 'cloturee', 'annulee', 'archivee')),
    to_statut       TEXT    NOT NULL CHECK (to_statut IN ('ouverte', 'affectee', 'en_cours', 'en_attente', 'cloturee', 'annulee', 'archivee')),
    remarque        TEXT,
    technicien_id   INTEGER REFERENCES techniciens (id) ON DELETE SET NULL,
    user_id         INTEGER REFERENCES users (id) ON DELETE SET NULL,
    horodatage      TEXT    NOT NULL
);
CREATE INDEX historiques_intervention_idx ON historiques_interventions (intervention_id, horodatage, id);
CREATE INDEX historiques_user_idx ON historiques_interventions (user_id, horodatage);

CREATE TABLE planning_occurrences (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    planning_id     INTEGER NOT NULL REFERENCES plannings (id) ON DELETE CASCADE,
    date_echeance   TEXT    NOT NULL,
    intervention_id INTEGER REFERENCES interventions (id) ON DELETE SET NULL,
    origine         TEXT    NOT NULL CHECK (origine IN ('scheduler', 'manuel')),
    created_at      TEXT    NOT NULL
);
CREATE UNIQUE INDEX planning_occurrences_planning_date_key ON planning_occurrences (planning_id, date_echeance);
CREATE UNIQUE INDEX planning_occurrences_intervention_key ON planning_occurrences (intervention_id);
