-- Signing keys and signed audit checkpoints (numbered 5: 4 is taken by another change;
-- migrations apply by number, each once, so the order of arrival does not matter).
-- Both tables are append-only like audit_events: a verifier trusts what they held.
CREATE TABLE signing_keys (
    key_id     TEXT        PRIMARY KEY,
    public_key TEXT        NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL
);

-- A signature over (seq, hash) of the chain's head at signing time.
CREATE TABLE audit_checkpoints (
    seq       BIGINT      PRIMARY KEY,
    hash      TEXT        NOT NULL,
    key_id    TEXT        NOT NULL,
    signature TEXT        NOT NULL,
    signed_at TIMESTAMPTZ NOT NULL
);

CREATE FUNCTION signing_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;
CREATE TRIGGER signing_keys_no_change BEFORE UPDATE OR DELETE ON signing_keys
    FOR EACH ROW EXECUTE FUNCTION signing_append_only();
CREATE TRIGGER signing_keys_no_truncate BEFORE TRUNCATE ON signing_keys
    FOR EACH STATEMENT EXECUTE FUNCTION signing_append_only();
CREATE TRIGGER audit_checkpoints_no_change BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION signing_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION signing_append_only();
