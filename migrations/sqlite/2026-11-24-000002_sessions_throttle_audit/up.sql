-- Sessions, refresh tokens, login throttling and the audit trail (DATA.md §2.3–2.7). SQLite.
CREATE TABLE auth_sessions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at     TEXT    NOT NULL,
    last_seen_at   TEXT    NOT NULL,
    expires_at     TEXT    NOT NULL,
    revoked_at     TEXT,
    revoked_reason TEXT CHECK (revoked_reason IN ('logout', 'reuse_detected', 'password_changed', 'user_deactivated', 'role_changed')),
    user_agent     TEXT,
    ip_address     TEXT
);
CREATE INDEX auth_sessions_user_id_revoked_at_idx ON auth_sessions (user_id, revoked_at);
CREATE INDEX auth_sessions_expires_at_idx ON auth_sessions (expires_at);

CREATE TABLE refresh_tokens (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id     INTEGER NOT NULL REFERENCES auth_sessions (id) ON DELETE CASCADE,
    token_hash     TEXT    NOT NULL,
    created_at     TEXT    NOT NULL,
    expires_at     TEXT    NOT NULL,
    rotated_at     TEXT,
    revoked_at     TEXT,
    replaced_by_id INTEGER REFERENCES refresh_tokens (id) ON DELETE SET NULL,
    user_agent     TEXT,
    ip_address     TEXT
);
CREATE UNIQUE INDEX refresh_tokens_token_hash_key ON refresh_tokens (token_hash);
CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);

CREATE TABLE login_throttle (
    scope             TEXT    NOT NULL CHECK (scope IN ('username', 'ip')),
    key               TEXT    NOT NULL,
    failure_count     INTEGER NOT NULL DEFAULT 0,
    window_started_at TEXT,
    lockout_level     INTEGER NOT NULL DEFAULT 0,
    locked_until      TEXT,
    last_failure_at   TEXT,
    updated_at        TEXT    NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX login_throttle_last_failure_at_idx ON login_throttle (last_failure_at);

CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    occurred_at TEXT    NOT NULL,
    event_type  TEXT    NOT NULL,
    success     INTEGER NOT NULL CHECK (success IN (0, 1)),
    user_id     INTEGER REFERENCES users (id) ON DELETE SET NULL,
    username    TEXT,
    ip_address  TEXT,
    user_agent  TEXT,
    request_id  TEXT,
    resource    TEXT,
    action      TEXT,
    details     TEXT
);
CREATE INDEX audit_events_occurred_at_id_idx ON audit_events (occurred_at, id);
CREATE INDEX audit_events_event_type_idx ON audit_events (event_type, occurred_at);
CREATE INDEX audit_events_user_id_idx ON audit_events (user_id, occurred_at);
CREATE INDEX audit_events_ip_address_idx ON audit_events (ip_address, occurred_at);
CREATE INDEX audit_events_request_id_idx ON audit_events (request_id);
