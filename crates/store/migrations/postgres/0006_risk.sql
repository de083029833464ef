-- The risk register: project context, documents kept as data (the taxonomy), and entries.
-- The context and documents are kept as the exact JSON text that was stored.
ALTER TABLE projects ADD COLUMN context_json TEXT;

CREATE TABLE documents (
    kind       TEXT        NOT NULL,
    version    INTEGER     NOT NULL,
    document   TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    created_by TEXT        NOT NULL,
    PRIMARY KEY (kind, version)
);
CREATE FUNCTION documents_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'document versions are append-only';
END
$$;
CREATE TRIGGER documents_append_only BEFORE UPDATE OR DELETE ON documents
    FOR EACH ROW EXECUTE FUNCTION documents_append_only();
CREATE TRIGGER documents_no_truncate BEFORE TRUNCATE ON documents
    FOR EACH STATEMENT EXECUTE FUNCTION documents_append_only();

-- Entries change (likelihood rises, controls are linked); each change is an audit event
-- with the entry before and after, so the history lives in the trail.
CREATE TABLE risk_entries (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project     TEXT        NOT NULL,
    fields_json TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    updated_by  TEXT        NOT NULL
);
CREATE INDEX risk_entries_project ON risk_entries (project);
CREATE FUNCTION risk_entries_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'risk entries are closed, never deleted';
END
$$;
CREATE TRIGGER risk_entries_no_delete BEFORE DELETE ON risk_entries
    FOR EACH ROW EXECUTE FUNCTION risk_entries_no_delete();
CREATE TRIGGER risk_entries_no_truncate BEFORE TRUNCATE ON risk_entries
    FOR EACH STATEMENT EXECUTE FUNCTION risk_entries_no_delete();
