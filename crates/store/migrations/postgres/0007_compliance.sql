-- Compliance: attestations that a control of the catalogue holds for a project (who, when,
-- a statement, an optional evidence file kept content-addressed like evidence). Append-only:
-- a newer attestation supersedes an older one, and both stay on record.
CREATE TABLE attestations (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project         TEXT        NOT NULL,
    control         TEXT        NOT NULL,
    statement       TEXT        NOT NULL,
    evidence_digest TEXT,
    evidence_size   BIGINT,
    created_at      TIMESTAMPTZ NOT NULL,
    created_by      TEXT        NOT NULL,
    CHECK ((evidence_digest IS NULL) = (evidence_size IS NULL))
);
CREATE INDEX attestations_project ON attestations (project);
CREATE INDEX attestations_digest ON attestations (evidence_digest);
CREATE FUNCTION attestations_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'attestations are append-only';
END
$$;
CREATE TRIGGER attestations_append_only BEFORE UPDATE OR DELETE ON attestations
    FOR EACH ROW EXECUTE FUNCTION attestations_append_only();
CREATE TRIGGER attestations_no_truncate BEFORE TRUNCATE ON attestations
    FOR EACH STATEMENT EXECUTE FUNCTION attestations_append_only();
