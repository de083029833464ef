-- Governance: token labels, project tier overrides, evidence, promotion requests and
-- their decisions, and deployments (a version's stay in an environment). Model versions are
-- named by (model, version) like notes: names never change. The policy is a document (0006).
ALTER TABLE api_tokens ADD COLUMN label TEXT NOT NULL DEFAULT '';
ALTER TABLE projects ADD COLUMN tier TEXT CHECK (tier IN ('low', 'medium', 'high', 'critical'));

CREATE TABLE evidence (
    id         INTEGER PRIMARY KEY,
    model      TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    digest     TEXT    NOT NULL,
    size       INTEGER NOT NULL,
    passed     INTEGER CHECK (passed IN (0, 1)),
    summary    TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    created_by TEXT    NOT NULL
);
CREATE INDEX evidence_version ON evidence (model, version);
CREATE INDEX evidence_digest ON evidence (digest);
CREATE TRIGGER evidence_no_update BEFORE UPDATE ON evidence
BEGIN
    SELECT RAISE(ABORT, 'evidence is append-only');
END;
CREATE TRIGGER evidence_no_delete BEFORE DELETE ON evidence
BEGIN
    SELECT RAISE(ABORT, 'evidence is append-only');
END;

CREATE TABLE promotions (
    id           INTEGER PRIMARY KEY,
    model        TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    environment  TEXT    NOT NULL CHECK (environment IN ('staging', 'production')),
    reason       TEXT    NOT NULL,
    requested_by TEXT    NOT NULL,
    -- The tier and gate the request was opened under; it is judged by them to the end.
    tier         TEXT    NOT NULL CHECK (tier IN ('low', 'medium', 'high', 'critical')),
    gate_json    TEXT    NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('pending', 'completed', 'rejected')),
    created_at   TEXT    NOT NULL,
    closed_at    TEXT
);
-- At most one open request per version and environment.
CREATE UNIQUE INDEX promotions_one_pending ON promotions (model, version, environment) WHERE status = 'pending';
CREATE INDEX promotions_model ON promotions (model);
-- Only the status may change, and only away from pending.
CREATE TRIGGER promotions_close_only BEFORE UPDATE ON promotions
WHEN OLD.status <> 'pending' OR NEW.status = 'pending' OR NEW.closed_at IS NULL
  OR NEW.id <> OLD.id OR NEW.model <> OLD.model OR NEW.version <> OLD.version
  OR NEW.environment <> OLD.environment OR NEW.reason <> OLD.reason
  OR NEW.requested_by <> OLD.requested_by OR NEW.created_at <> OLD.created_at
  OR NEW.tier <> OLD.tier OR NEW.gate_json <> OLD.gate_json
BEGIN
    SELECT RAISE(ABORT, 'a closed promotion request never changes');
END;
CREATE TRIGGER promotions_no_delete BEFORE DELETE ON promotions
BEGIN
    SELECT RAISE(ABORT, 'promotion requests are kept');
END;

CREATE TABLE promotion_decisions (
    promotion_id INTEGER NOT NULL REFERENCES promotions (id),
    decided_by   TEXT    NOT NULL,
    roles        TEXT    NOT NULL,
    approve      INTEGER NOT NULL CHECK (approve IN (0, 1)),
    comment      TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    UNIQUE (promotion_id, decided_by)
);
CREATE TRIGGER promotion_decisions_no_update BEFORE UPDATE ON promotion_decisions
BEGIN
    SELECT RAISE(ABORT, 'decisions are append-only');
END;
CREATE TRIGGER promotion_decisions_no_delete BEFORE DELETE ON promotion_decisions
BEGIN
    SELECT RAISE(ABORT, 'decisions are append-only');
END;

CREATE TABLE deployments (
    id           INTEGER PRIMARY KEY,
    model        TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    environment  TEXT    NOT NULL CHECK (environment IN ('staging', 'production')),
    since        TEXT    NOT NULL,
    until        TEXT,
    deployed_by  TEXT    NOT NULL,
    promotion_id INTEGER REFERENCES promotions (id),
    reason       TEXT    NOT NULL,
    emergency    INTEGER NOT NULL CHECK (emergency IN (0, 1)),
    digest       TEXT    NOT NULL,
    key_id       TEXT,
    signature    TEXT
);
-- One version at a time per model and environment.
CREATE UNIQUE INDEX deployments_one_current ON deployments (model, environment) WHERE until IS NULL;
CREATE INDEX deployments_model ON deployments (model);
-- A stay only ever ends (until is set once); nothing else changes and nothing is deleted.
CREATE TRIGGER deployments_end_only BEFORE UPDATE ON deployments
WHEN OLD.until IS NOT NULL OR NEW.until IS NULL OR NEW.id <> OLD.id
  OR NEW.model <> OLD.model OR NEW.version <> OLD.version OR NEW.environment <> OLD.environment
  OR NEW.since <> OLD.since OR NEW.deployed_by <> OLD.deployed_by
  OR NEW.promotion_id IS NOT OLD.promotion_id OR NEW.reason <> OLD.reason
  OR NEW.emergency <> OLD.emergency OR NEW.digest <> OLD.digest
  OR NEW.key_id IS NOT OLD.key_id OR NEW.signature IS NOT OLD.signature
BEGIN
    SELECT RAISE(ABORT, 'a deployment record only gets its end time');
END;
CREATE TRIGGER deployments_no_delete BEFORE DELETE ON deployments
BEGIN
    SELECT RAISE(ABORT, 'deployment history is kept');
END;
