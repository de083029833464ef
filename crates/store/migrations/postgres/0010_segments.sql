-- Raw prediction records: one row per batch segment (a Parquet file in the artifact
-- store), never one per record. Expired segments are dropped by the alerting task.
CREATE TABLE monitoring_segments (
    model      TEXT    NOT NULL,
    digest     TEXT    NOT NULL,
    records    BIGINT  NOT NULL,
    size       BIGINT  NOT NULL,
    first_ts   BIGINT  NOT NULL,
    last_ts    BIGINT  NOT NULL,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    PRIMARY KEY (model, digest)
);
CREATE INDEX monitoring_segments_expiry ON monitoring_segments (expires_at);
CREATE INDEX monitoring_segments_digest ON monitoring_segments (digest);
