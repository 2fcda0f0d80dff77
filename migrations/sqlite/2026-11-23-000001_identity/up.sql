-- Identity: client accounts and users (DATA.md §2.1, §2.2). SQLite dialect.
CREATE TABLE clients (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    nom_entreprise    TEXT    NOT NULL,
    email             TEXT,
    is_active         INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    date_creation     TEXT    NOT NULL,
    date_modification TEXT    NOT NULL
);

CREATE TABLE users (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    username            TEXT    NOT NULL,
    username_norm       TEXT    NOT NULL,
    email               TEXT    NOT NULL,
    full_name           TEXT,
    full_name_norm      TEXT,
    hashed_password     TEXT    NOT NULL,
    role                TEXT    NOT NULL CHECK (role IN ('admin', 'responsable', 'technicien', 'client')),
    is_active           INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    client_id           INTEGER REFERENCES clients (id) ON DELETE RESTRICT,
    last_login          TEXT,
    password_changed_at TEXT    NOT NULL,
    created_at          TEXT    NOT NULL,
    updated_at          TEXT    NOT NULL,
    CONSTRAINT users_client_only_for_clients CHECK (client_id IS NULL OR role = 'client')
);

CREATE UNIQUE INDEX users_username_norm_key ON users (username_norm);
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE INDEX users_role_is_active_idx ON users (role, is_active);
CREATE INDEX users_client_id_idx ON users (client_id);
CREATE INDEX users_created_at_idx ON users (created_at);
CREATE INDEX users_last_login_idx ON users (last_login);
