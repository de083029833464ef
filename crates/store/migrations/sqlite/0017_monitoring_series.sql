-- Per window, the values the console charts (drift share, headline performance, lowest
-- parity ratio, volume, worst missing rate, latency p95, business value), written when the
-- monitors judge the window, so a year of windows is drawn without decoding a year of
-- window states. rev: the window's revision the values were computed from (a stale point
-- is recomputed from the state).
CREATE TABLE monitoring_series (
    model    TEXT    NOT NULL,
    version  INTEGER NOT NULL,
    start_ts INTEGER NOT NULL,
    rev      INTEGER NOT NULL,
    point    TEXT    NOT NULL,
    PRIMARY KEY (model, version, start_ts)
);
-- Which windows a range holds and at which revision, read from the index alone: in the
-- table, rev is stored after the state, and reading it would read the state's overflow pages.
CREATE INDEX monitoring_windows_revs ON monitoring_windows (model, start_ts, version, end_ts, rev);
