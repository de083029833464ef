-- Alerting: which revision of each window monitors have looked at, what each monitor saw
-- per window, incidents, webhooks and their delivery queue (an outbox: deliveries are
-- queued in the transaction that opens or changes an incident, and sent afterwards).
ALTER TABLE monitoring_windows ADD COLUMN evaluated_rev BIGINT NOT NULL DEFAULT 0;
-- Unix seconds of the last write, to tell a window still being filled from a closed one.
ALTER TABLE monitoring_windows ADD COLUMN touched_unix BIGINT NOT NULL DEFAULT 0;
-- Windows written before monitors existed are history, not news: none is judged on upgrade.
UPDATE monitoring_windows SET evaluated_rev = rev;
-- Partial: holds only the windows changed since monitors looked (few), which is what
-- due_windows reads (an index on (evaluated_rev, rev) cannot serve `evaluated_rev < rev`).
CREATE INDEX monitoring_windows_due ON monitoring_windows (model, start_ts) WHERE evaluated_rev < rev;

CREATE TABLE incidents (
    id              BIGSERIAL PRIMARY KEY,
    project         TEXT    NOT NULL,
    model           TEXT    NOT NULL,
    version         INTEGER NOT NULL,
    monitor_id      TEXT    NOT NULL,
    monitor         TEXT    NOT NULL,
    severity        TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
    title           TEXT    NOT NULL,
    first_window    BIGINT NOT NULL,
    last_window     BIGINT NOT NULL,
    windows         INTEGER NOT NULL,
    evidence        TEXT    NOT NULL,
    advice          TEXT,
    raised_risks    TEXT    NOT NULL DEFAULT '[]',
    opened_at       TIMESTAMPTZ    NOT NULL,
    updated_at      TIMESTAMPTZ    NOT NULL,
    acknowledged_by TEXT,
    acknowledged_at TIMESTAMPTZ,
    resolved_by     TEXT,
    resolved_at     TIMESTAMPTZ,
    note            TEXT    NOT NULL DEFAULT '',
    -- 'raise' or 'lower' while the risk register still has to follow the incident.
    risk_action     TEXT CHECK (risk_action IN ('raise', 'lower'))
);
CREATE INDEX incidents_project ON incidents (project, state);
CREATE INDEX incidents_monitor ON incidents (model, version, monitor_id, state);
-- One unresolved incident per monitor and version, even with two servers evaluating.
CREATE UNIQUE INDEX incidents_one_unresolved ON incidents (model, version, monitor_id) WHERE state <> 'resolved';
CREATE INDEX incidents_risk_action ON incidents (risk_action) WHERE risk_action IS NOT NULL;

CREATE TABLE monitor_results (
    model        TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    window_start BIGINT NOT NULL,
    monitor_id   TEXT    NOT NULL,
    window_end   BIGINT NOT NULL,
    value        DOUBLE PRECISION,
    at           TEXT,
    breached     BOOLEAN NOT NULL,
    incident_id  BIGINT REFERENCES incidents (id),
    PRIMARY KEY (model, version, monitor_id, window_start)
);

CREATE TABLE webhooks (
    id         BIGSERIAL PRIMARY KEY,
    project    TEXT    NOT NULL,
    url        TEXT    NOT NULL,
    secret     TEXT    NOT NULL,
    format     TEXT    NOT NULL CHECK (format IN ('json', 'slack')),
    created_by TEXT    NOT NULL,
    created_at TIMESTAMPTZ    NOT NULL,
    removed    BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX webhooks_project ON webhooks (project);

CREATE TABLE webhook_deliveries (
    id              BIGSERIAL PRIMARY KEY,
    webhook_id      BIGINT  NOT NULL REFERENCES webhooks (id),
    incident_id     BIGINT  NOT NULL REFERENCES incidents (id),
    event           TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      TIMESTAMPTZ    NOT NULL,
    delivered_at    TIMESTAMPTZ
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);
