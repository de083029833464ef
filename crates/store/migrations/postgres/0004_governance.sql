-- Governance: token labels, project tier overrides, evidence, promotion requests and
-- their decisions, and deployments (a version's stay in an environment). Model versions are
-- named by (model, version) like notes: names never change. The policy is a document (0006).
ALTER TABLE api_tokens ADD COLUMN label TEXT NOT NULL DEFAULT '';
ALTER TABLE projects ADD COLUMN tier TEXT CHECK (tier IN ('low', 'medium', 'high', 'critical'));

CREATE TABLE evidence (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model      TEXT        NOT NULL,
    version    INTEGER     NOT NULL,
    kind       TEXT        NOT NULL,
    digest     TEXT        NOT NULL,
    size       BIGINT      NOT NULL,
    passed     BOOLEAN,
    summary    TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    created_by TEXT        NOT NULL
);
CREATE INDEX evidence_version ON evidence (model, version);
CREATE INDEX evidence_digest ON evidence (digest);
CREATE FUNCTION evidence_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'evidence is append-only';
END
$$;
CREATE TRIGGER evidence_append_only BEFORE UPDATE OR DELETE ON evidence
    FOR EACH ROW EXECUTE FUNCTION evidence_append_only();

CREATE TABLE promotions (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model        TEXT        NOT NULL,
    version      INTEGER     NOT NULL,
    environment  TEXT        NOT NULL CHECK (environment IN ('staging', 'production')),
    reason       TEXT        NOT NULL,
    requested_by TEXT        NOT NULL,
    -- The tier and gate the request was opened under; it is judged by them to the end.
    tier         TEXT        NOT NULL CHECK (tier IN ('low', 'medium', 'high', 'critical')),
    gate_json    TEXT        NOT NULL,
    status       TEXT        NOT NULL CHECK (status IN ('pending', 'completed', 'rejected')),
    created_at   TIMESTAMPTZ NOT NULL,
    closed_at    TIMESTAMPTZ
);
-- At most one open request per version and environment.
CREATE UNIQUE INDEX promotions_one_pending ON promotions (model, version, environment) WHERE status = 'pending';
CREATE INDEX promotions_model ON promotions (model);
-- The only change: a pending request is closed (completed or rejected, with its closing
-- time). Nothing else changes and nothing is deleted.
CREATE FUNCTION promotions_close_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'promotion requests are kept';
    END IF;
    IF OLD.status <> 'pending' OR NEW.status NOT IN ('completed', 'rejected') OR NEW.closed_at IS NULL
       OR (NEW.id, NEW.model, NEW.version, NEW.environment, NEW.reason, NEW.requested_by, NEW.created_at, NEW.tier, NEW.gate_json)
          IS DISTINCT FROM (OLD.id, OLD.model, OLD.version, OLD.environment, OLD.reason, OLD.requested_by, OLD.created_at, OLD.tier, OLD.gate_json)
    THEN
        RAISE EXCEPTION 'a promotion request only ever changes from pending to closed';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER promotions_close_only BEFORE UPDATE OR DELETE ON promotions
    FOR EACH ROW EXECUTE FUNCTION promotions_close_only();

-- roles: the approver roles held when deciding, as a comma-separated list of role names.
-- id only keeps the order decisions were made in.
CREATE TABLE promotion_decisions (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    promotion_id BIGINT      NOT NULL REFERENCES promotions (id),
    decided_by   TEXT        NOT NULL,
    roles        TEXT        NOT NULL,
    approve      BOOLEAN     NOT NULL,
    comment      TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (promotion_id, decided_by)
);
CREATE FUNCTION promotion_decisions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'decisions are append-only';
END
$$;
CREATE TRIGGER promotion_decisions_append_only BEFORE UPDATE OR DELETE ON promotion_decisions
    FOR EACH ROW EXECUTE FUNCTION promotion_decisions_append_only();

CREATE TABLE deployments (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model        TEXT        NOT NULL,
    version      INTEGER     NOT NULL,
    environment  TEXT        NOT NULL CHECK (environment IN ('staging', 'production')),
    since        TIMESTAMPTZ NOT NULL,
    until        TIMESTAMPTZ,
    deployed_by  TEXT        NOT NULL,
    promotion_id BIGINT REFERENCES promotions (id),
    reason       TEXT        NOT NULL,
    emergency    BOOLEAN     NOT NULL,
    digest       TEXT        NOT NULL,
    key_id       TEXT,
    signature    TEXT
);
-- One version at a time per model and environment.
CREATE UNIQUE INDEX deployments_one_current ON deployments (model, environment) WHERE until IS NULL;
CREATE INDEX deployments_model ON deployments (model);
-- A stay only ever ends (until is set once); nothing else changes and nothing is deleted.
CREATE FUNCTION deployments_end_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'deployment history is kept';
    END IF;
    IF OLD.until IS NOT NULL OR NEW.until IS NULL
       OR (NEW.id, NEW.model, NEW.version, NEW.environment, NEW.since, NEW.deployed_by, NEW.promotion_id, NEW.reason,
           NEW.emergency, NEW.digest, NEW.key_id, NEW.signature)
          IS DISTINCT FROM (OLD.id, OLD.model, OLD.version, OLD.environment, OLD.since, OLD.deployed_by,
           OLD.promotion_id, OLD.reason, OLD.emergency, OLD.digest, OLD.key_id, OLD.signature)
    THEN
        RAISE EXCEPTION 'a deployment record only gets its end time';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER deployments_end_only BEFORE UPDATE OR DELETE ON deployments
    FOR EACH ROW EXECUTE FUNCTION deployments_end_only();
