-- Notes on dataset and model versions: added later, never edited or removed.
CREATE TABLE version_notes (
    id         INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL CHECK (kind IN ('dataset', 'model')),
    name       TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    text       TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    created_by TEXT    NOT NULL
);
CREATE INDEX version_notes_target ON version_notes (kind, name, version);
CREATE TRIGGER version_notes_append_only BEFORE UPDATE ON version_notes
BEGIN
    SELECT RAISE(ABORT, 'notes are append-only');
END;
CREATE TRIGGER version_notes_no_delete BEFORE DELETE ON version_notes
BEGIN
    SELECT RAISE(ABORT, 'notes are append-only');
END;
