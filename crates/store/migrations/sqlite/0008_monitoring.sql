-- Monitoring: one row per model version and window holding its encoded state (bounded
-- sketches, whatever the traffic), and per accepted prediction only what a late label
-- needs (no features). rev guards read-merge-write of window states.
CREATE TABLE monitoring_windows (
    model       TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    start_ts    INTEGER NOT NULL,
    end_ts      INTEGER NOT NULL,
    state       BLOB    NOT NULL,
    records     INTEGER NOT NULL,
    labelled    INTEGER NOT NULL,
    rev         INTEGER NOT NULL,
    updated_at  TEXT    NOT NULL,
    PRIMARY KEY (model, version, start_ts)
);
CREATE INDEX monitoring_windows_time ON monitoring_windows (model, start_ts);

CREATE TABLE monitoring_records (
    model        TEXT    NOT NULL,
    record_id    TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    prediction   TEXT    NOT NULL,
    score        REAL,
    attributes   TEXT    NOT NULL,
    labelled     INTEGER NOT NULL CHECK (labelled IN (0, 1)),
    PRIMARY KEY (model, record_id)
) WITHOUT ROWID;
