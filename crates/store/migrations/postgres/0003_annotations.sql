-- Notes on dataset and model versions: added later, never edited or removed.
CREATE TABLE version_notes (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       TEXT        NOT NULL CHECK (kind IN ('dataset', 'model')),
    name       TEXT        NOT NULL,
    version    INTEGER     NOT NULL,
    text       TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    created_by TEXT        NOT NULL
);
CREATE INDEX version_notes_target ON version_notes (kind, name, version);
CREATE FUNCTION version_notes_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'notes are append-only';
END
$$;
CREATE TRIGGER version_notes_append_only BEFORE UPDATE OR DELETE ON version_notes
    FOR EACH ROW EXECUTE FUNCTION version_notes_append_only();
