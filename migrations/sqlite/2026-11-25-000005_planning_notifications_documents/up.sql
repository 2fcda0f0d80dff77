-- Notifications and their e-mail outbox, encrypted documents, background-job leases
-- (DATA.md §3.9–3.12). SQLite dialect.
CREATE TABLE notifications (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id           INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    intervention_id   INTEGER REFERENCES interventions (id) ON DELETE CASCADE,
    type_notification TEXT    NOT NULL CHECK (type_notification IN ('affectation', 'cloture', 'rappel', 'retard', 'information')),
    canal             TEXT    NOT NULL CHECK (canal IN ('email', 'log', 'sms', 'push')),
    titre             TEXT,
    contenu           TEXT,
    date_envoi        TEXT    NOT NULL,
    lue               INTEGER NOT NULL DEFAULT 0 CHECK (lue IN (0, 1)),
    read_at           TEXT,
    created_by_id     INTEGER REFERENCES users (id) ON DELETE SET NULL,
    dedup_key         TEXT,
    CONSTRAINT notifications_read_at_iff_lue CHECK ((lue = 1) = (read_at IS NOT NULL))
);
CREATE UNIQUE INDEX notifications_dedup_key ON notifications (dedup_key);
CREATE INDEX notifications_user_lue_date_idx ON notifications (user_id, lue, date_envoi);
CREATE INDEX notifications_intervention_idx ON notifications (intervention_id);
CREATE INDEX notifications_date_envoi_idx ON notifications (date_envoi);
CREATE INDEX notifications_type_date_idx ON notifications (type_notification, date_envoi);
CREATE INDEX notifications_canal_idx ON notifications (canal);

CREATE TABLE notification_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    notification_id INTEGER NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    destinataire    TEXT    NOT NULL,
    sujet           TEXT    NOT NULL,
    corps_texte     TEXT    NOT NULL,
    corps_html      TEXT,
    statut          TEXT    NOT NULL DEFAULT 'en_attente' CHECK (statut IN ('en_attente', 'envoye', 'echec')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TEXT    NOT NULL,
    locked_until    TEXT,
    locked_by       TEXT,
    last_error      TEXT,
    sent_at         TEXT,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    CONSTRAINT notification_outbox_sent_at CHECK ((statut = 'envoye') = (sent_at IS NOT NULL))
);
CREATE UNIQUE INDEX notification_outbox_notification_key ON notification_outbox (notification_id);
CREATE INDEX notification_outbox_statut_next_idx ON notification_outbox (statut, next_attempt_at);

CREATE TABLE documents (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    intervention_id INTEGER NOT NULL REFERENCES interventions (id) ON DELETE CASCADE,
    nom_fichier    TEXT    NOT NULL,
    extension      TEXT    NOT NULL,
    mime_type      TEXT    NOT NULL,
    taille         INTEGER NOT NULL CHECK (taille > 0),
    sha256         TEXT    NOT NULL,
    nom_stockage   TEXT    NOT NULL,
    chiffrement    TEXT    NOT NULL DEFAULT 'fernet' CHECK (chiffrement IN ('fernet')),
    cle_id         TEXT    NOT NULL,
    description    TEXT,
    uploaded_by_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    date_upload    TEXT    NOT NULL
);
CREATE UNIQUE INDEX documents_nom_stockage_key ON documents (nom_stockage);
CREATE INDEX documents_intervention_date_idx ON documents (intervention_id, date_upload);
CREATE INDEX documents_uploaded_by_idx ON documents (uploaded_by_id);
CREATE INDEX documents_date_upload_idx ON documents (date_upload);
CREATE INDEX documents_mime_type_idx ON documents (mime_type);
CREATE INDEX documents_cle_id_idx ON documents (cle_id);

CREATE TABLE scheduler_leases (
    job             TEXT PRIMARY KEY NOT NULL,
    holder          TEXT,
    lease_until     TEXT,
    last_run_at     TEXT,
    last_success_at TEXT,
    last_error      TEXT,
    updated_at      TEXT NOT NULL
);
-- The migration has no clock: the epoch marks "never touched".
INSERT INTO scheduler_leases (job, updated_at) VALUES
    ('planning_generation', '1970-01-01 00:00:00'),
    ('overdue_scan', '1970-01-01 00:00:00'),
    ('housekeeping', '1970-01-01 00:00:00');
