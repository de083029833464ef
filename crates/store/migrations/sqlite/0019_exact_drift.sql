-- Per closed window (or rolled-up range) of a model version, its drift computed exactly from
-- the raw records (segments) against the reference data: kept so that a window whose
-- segments expired under the retention still shows its last exact result. records: how
-- many records it was computed from (a window only gains records, so a different count
-- means it changed since). drift: riskops-core's JSON of the per-feature results.
CREATE TABLE monitoring_exact_drift (
    model       TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    start_ts    INTEGER  NOT NULL,
    end_ts      INTEGER  NOT NULL,
    records     INTEGER  NOT NULL,
    computed_at INTEGER  NOT NULL,
    drift       TEXT    NOT NULL,
    PRIMARY KEY (model, version, start_ts, end_ts)
);
