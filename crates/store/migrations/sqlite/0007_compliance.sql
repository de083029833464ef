-- Compliance: attestations that a control of the catalogue holds for a project (who, when,
-- a statement, an optional evidence file kept content-addressed like evidence). Append-only:
-- a newer attestation supersedes an older one, and both stay on record.
CREATE TABLE attestations (
    id              INTEGER PRIMARY KEY,
    project         TEXT    NOT NULL,
    control         TEXT    NOT NULL,
    statement       TEXT    NOT NULL,
    evidence_digest TEXT,
    evidence_size   INTEGER,
    created_at      TEXT    NOT NULL,
    created_by      TEXT    NOT NULL,
    CHECK ((evidence_digest IS NULL) = (evidence_size IS NULL))
);
CREATE INDEX attestations_project ON attestations (project);
CREATE INDEX attestations_digest ON attestations (evidence_digest);
CREATE TRIGGER attestations_no_update BEFORE UPDATE ON attestations
BEGIN
    SELECT RAISE(ABORT, 'attestations are append-only');
END;
CREATE TRIGGER attestations_no_delete BEFORE DELETE ON attestations
BEGIN
    SELECT RAISE(ABORT, 'attestations are append-only');
END;
