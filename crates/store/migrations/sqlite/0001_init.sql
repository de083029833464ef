-- Identities, tokens, projects and the audit trail.
CREATE TABLE identities (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    kind          TEXT    NOT NULL CHECK (kind IN ('user', 'service_account')),
    password_hash TEXT,
    created_at    TEXT    NOT NULL,
    disabled_at   TEXT
);

-- project = '' means the role applies to every project (NULL would defeat UNIQUE).
CREATE TABLE role_bindings (
    identity_id INTEGER NOT NULL REFERENCES identities (id),
    role        TEXT    NOT NULL,
    project     TEXT    NOT NULL DEFAULT '',
    UNIQUE (identity_id, role, project)
);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    identity_id  INTEGER NOT NULL REFERENCES identities (id),
    token_hash   TEXT    NOT NULL UNIQUE,
    created_at   TEXT    NOT NULL,
    expires_at   TEXT,
    revoked_at   TEXT
);

CREATE TABLE projects (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    description TEXT    NOT NULL DEFAULT '',
    created_at  TEXT    NOT NULL,
    created_by  TEXT    NOT NULL
);

-- The hash chain. before/after hold canonical JSON text, exactly as hashed.
CREATE TABLE audit_events (
    seq         INTEGER PRIMARY KEY,
    time        TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    target      TEXT    NOT NULL,
    before_json TEXT,
    after_json  TEXT,
    request_id  TEXT,
    prev_hash   TEXT    NOT NULL,
    hash        TEXT    NOT NULL
);
CREATE INDEX audit_events_target ON audit_events (target);
CREATE INDEX audit_events_actor ON audit_events (actor);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
