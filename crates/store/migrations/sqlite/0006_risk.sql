-- The risk register: project context, documents kept as data (the taxonomy), and entries.
ALTER TABLE projects ADD COLUMN context_json TEXT;

CREATE TABLE documents (
    kind       TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    document   TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    created_by TEXT    NOT NULL,
    PRIMARY KEY (kind, version)
);
CREATE TRIGGER documents_no_update BEFORE UPDATE ON documents
BEGIN
    SELECT RAISE(ABORT, 'document versions are append-only');
END;
CREATE TRIGGER documents_no_delete BEFORE DELETE ON documents
BEGIN
    SELECT RAISE(ABORT, 'document versions are append-only');
END;

-- Entries change (likelihood rises, controls are linked); each change is an audit event
-- with the entry before and after, so the history lives in the trail.
CREATE TABLE risk_entries (
    id          INTEGER PRIMARY KEY,
    project     TEXT    NOT NULL,
    fields_json TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    updated_by  TEXT    NOT NULL
);
CREATE INDEX risk_entries_project ON risk_entries (project);
CREATE TRIGGER risk_entries_no_delete BEFORE DELETE ON risk_entries
BEGIN
    SELECT RAISE(ABORT, 'risk entries are closed, never deleted');
END;
