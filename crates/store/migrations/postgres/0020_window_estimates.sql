-- Per closed window (or rolled-up range) of a model version, what its raw records give
-- beyond drift: performance estimated without labels (CBPE) and the data-reconstruction
-- error, each computed once from the segments against models fitted on the reference, and
-- kept (like monitoring_exact_drift) so a window whose segments expired still shows them.
-- records: how many records they were computed from (a different count means the window
-- changed since). estimates: riskops-core's JSON of both results (or why there is none).
CREATE TABLE monitoring_window_estimates (
    model       TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    start_ts    BIGINT  NOT NULL,
    end_ts      BIGINT  NOT NULL,
    records     BIGINT  NOT NULL,
    computed_at BIGINT  NOT NULL,
    estimates   TEXT    NOT NULL,
    PRIMARY KEY (model, version, start_ts, end_ts)
);
