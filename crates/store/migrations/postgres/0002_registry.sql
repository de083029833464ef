-- The versioned registry: datasets, models, their immutable versions and lineage links.
CREATE TABLE datasets (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT        NOT NULL UNIQUE,
    project_id BIGINT      NOT NULL REFERENCES projects (id),
    created_at TIMESTAMPTZ NOT NULL,
    created_by TEXT        NOT NULL
);

CREATE TABLE dataset_versions (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dataset_id   BIGINT      NOT NULL REFERENCES datasets (id),
    version      INTEGER     NOT NULL,
    digest       TEXT        NOT NULL,
    size         BIGINT      NOT NULL,
    format       TEXT        NOT NULL,
    rows         BIGINT      NOT NULL,
    schema_json  TEXT        NOT NULL,
    profile_json TEXT        NOT NULL,
    description  TEXT        NOT NULL,
    tags_json    TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT        NOT NULL,
    UNIQUE (dataset_id, version),
    UNIQUE (dataset_id, digest)
);
CREATE INDEX dataset_versions_digest ON dataset_versions (digest);

CREATE TABLE models (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT        NOT NULL UNIQUE,
    project_id BIGINT      NOT NULL REFERENCES projects (id),
    created_at TIMESTAMPTZ NOT NULL,
    created_by TEXT        NOT NULL
);

CREATE TABLE model_versions (
    id                    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model_id              BIGINT      NOT NULL REFERENCES models (id),
    version               INTEGER     NOT NULL,
    digest                TEXT        NOT NULL,
    size                  BIGINT      NOT NULL,
    framework             TEXT        NOT NULL,
    training_version_id   BIGINT REFERENCES dataset_versions (id),
    validation_version_id BIGINT REFERENCES dataset_versions (id),
    code_repo             TEXT,
    code_commit           TEXT,
    params_json           TEXT        NOT NULL,
    metrics_json          TEXT        NOT NULL,
    description           TEXT        NOT NULL,
    tags_json             TEXT        NOT NULL,
    author                TEXT        NOT NULL,
    created_at            TIMESTAMPTZ NOT NULL,
    UNIQUE (model_id, version)
);
CREATE INDEX model_versions_training ON model_versions (training_version_id);
CREATE INDEX model_versions_validation ON model_versions (validation_version_id);
CREATE INDEX model_versions_digest ON model_versions (digest);

-- A version's content and links never change; nothing is deleted.
CREATE FUNCTION registry_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are immutable', TG_TABLE_NAME;
END
$$;
CREATE TRIGGER dataset_versions_immutable
    BEFORE UPDATE OF dataset_id, version, digest, size, format, rows, schema_json, profile_json OR DELETE ON dataset_versions
    FOR EACH ROW EXECUTE FUNCTION registry_versions_immutable();
CREATE TRIGGER model_versions_immutable
    BEFORE UPDATE OF model_id, version, digest, size, framework, training_version_id, validation_version_id, code_repo,
        code_commit, params_json, metrics_json, author OR DELETE ON model_versions
    FOR EACH ROW EXECUTE FUNCTION registry_versions_immutable();
