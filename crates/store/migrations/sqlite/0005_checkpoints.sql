-- Signing keys and signed audit checkpoints (numbered 5: 4 is taken by another change;
-- migrations apply by number, each once, so the order of arrival does not matter).
-- Both tables are append-only like audit_events: a verifier trusts what they held.
CREATE TABLE signing_keys (
    key_id     TEXT PRIMARY KEY,
    public_key TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

-- A signature over (seq, hash) of the chain's head at signing time.
CREATE TABLE audit_checkpoints (
    seq       INTEGER PRIMARY KEY,
    hash      TEXT    NOT NULL,
    key_id    TEXT    NOT NULL,
    signature TEXT    NOT NULL,
    signed_at TEXT    NOT NULL
);

CREATE TRIGGER signing_keys_no_update BEFORE UPDATE ON signing_keys
BEGIN
    SELECT RAISE(ABORT, 'signing_keys is append-only');
END;
CREATE TRIGGER signing_keys_no_delete BEFORE DELETE ON signing_keys
BEGIN
    SELECT RAISE(ABORT, 'signing_keys is append-only');
END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit_checkpoints is append-only');
END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit_checkpoints is append-only');
END;
