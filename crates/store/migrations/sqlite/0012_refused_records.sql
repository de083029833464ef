-- Ids of prediction records their version's schema refused (unknown or missing feature,
-- unreadable outcome). Refused records are counted in their window once: a batch sent
-- again (a retry) finds its refused ids here and leaves them out of the counts.
CREATE TABLE monitoring_refused (
    model     TEXT NOT NULL,
    record_id TEXT NOT NULL,
    PRIMARY KEY (model, record_id)
);
