-- The versioned registry: datasets, models, their immutable versions and lineage links.
CREATE TABLE datasets (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    created_at TEXT    NOT NULL,
    created_by TEXT    NOT NULL
);

CREATE TABLE dataset_versions (
    id           INTEGER PRIMARY KEY,
    dataset_id   INTEGER NOT NULL REFERENCES datasets (id),
    version      INTEGER NOT NULL,
    digest       TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    format       TEXT    NOT NULL,
    rows         INTEGER NOT NULL,
    schema_json  TEXT    NOT NULL,
    profile_json TEXT    NOT NULL,
    description  TEXT    NOT NULL,
    tags_json    TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    created_by   TEXT    NOT NULL,
    UNIQUE (dataset_id, version),
    UNIQUE (dataset_id, digest)
);
CREATE INDEX dataset_versions_digest ON dataset_versions (digest);

CREATE TABLE models (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    created_at TEXT    NOT NULL,
    created_by TEXT    NOT NULL
);

CREATE TABLE model_versions (
    id                  INTEGER PRIMARY KEY,
    model_id            INTEGER NOT NULL REFERENCES models (id),
    version             INTEGER NOT NULL,
    digest              TEXT    NOT NULL,
    size                INTEGER NOT NULL,
    framework           TEXT    NOT NULL,
    training_version_id   INTEGER REFERENCES dataset_versions (id),
    validation_version_id INTEGER REFERENCES dataset_versions (id),
    code_repo           TEXT,
    code_commit         TEXT,
    params_json         TEXT    NOT NULL,
    metrics_json        TEXT    NOT NULL,
    description         TEXT    NOT NULL,
    tags_json           TEXT    NOT NULL,
    author              TEXT    NOT NULL,
    created_at          TEXT    NOT NULL,
    UNIQUE (model_id, version)
);
CREATE INDEX model_versions_training ON model_versions (training_version_id);
CREATE INDEX model_versions_validation ON model_versions (validation_version_id);
CREATE INDEX model_versions_digest ON model_versions (digest);

-- A version's content and links never change; nothing is deleted.
CREATE TRIGGER dataset_versions_immutable BEFORE UPDATE OF dataset_id, version, digest, size, format, rows, schema_json, profile_json ON dataset_versions
BEGIN
    SELECT RAISE(ABORT, 'dataset versions are immutable');
END;
CREATE TRIGGER dataset_versions_no_delete BEFORE DELETE ON dataset_versions
BEGIN
    SELECT RAISE(ABORT, 'dataset versions are immutable');
END;
CREATE TRIGGER model_versions_immutable BEFORE UPDATE OF model_id, version, digest, size, framework, training_version_id, validation_version_id, code_repo, code_commit, params_json, metrics_json, author ON model_versions
BEGIN
    SELECT RAISE(ABORT, 'model versions are immutable');
END;
CREATE TRIGGER model_versions_no_delete BEFORE DELETE ON model_versions
BEGIN
    SELECT RAISE(ABORT, 'model versions are immutable');
END;
