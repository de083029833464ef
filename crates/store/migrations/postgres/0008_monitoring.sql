-- Monitoring: one row per model version and window holding its encoded state (bounded
-- sketches, whatever the traffic), and per accepted prediction only what a late label
-- needs (no features). rev guards read-merge-write of window states.
CREATE TABLE monitoring_windows (
    model       TEXT        NOT NULL,
    version     INTEGER     NOT NULL,
    start_ts    BIGINT      NOT NULL,
    end_ts      BIGINT      NOT NULL,
    state       BYTEA       NOT NULL,
    records     BIGINT      NOT NULL,
    labelled    BIGINT      NOT NULL,
    rev         BIGINT      NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (model, version, start_ts)
);
CREATE INDEX monitoring_windows_time ON monitoring_windows (model, start_ts);

CREATE TABLE monitoring_records (
    model        TEXT             NOT NULL,
    record_id    TEXT             NOT NULL,
    version      INTEGER          NOT NULL,
    window_start BIGINT           NOT NULL,
    prediction   TEXT             NOT NULL,
    score        DOUBLE PRECISION,
    attributes   TEXT             NOT NULL,
    labelled     BOOLEAN          NOT NULL,
    PRIMARY KEY (model, record_id)
);
