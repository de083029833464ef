//! The audit trail: events, the chain's verification, signed checkpoints.

use crate::Document;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One audit event, as listed and exported (one per line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditEvent {
    pub seq: i64,
    /// RFC 3339, exactly as hashed.
    pub time: String,
    pub actor: String,
    /// `project.create`, `dataset.push`, …
    pub action: String,
    /// `project:fraud`, `dataset:credit@2`, …
    pub target: String,
    /// The object before the change, where there was one.
    pub before: Option<Document>,
    /// The object after the change.
    pub after: Option<Document>,
    pub request_id: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EventList {
    /// Each `{"seq","time","actor","action","target","before","after","request_id","prev_hash","hash"}`.
    pub events: Vec<AuditEvent>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VerifyReport {
    pub ok: bool,
    pub events: u64,
    /// Hash of the last event that verified.
    pub head: String,
    pub first_bad_seq: Option<i64>,
    pub reason: Option<String>,
    /// The newest checkpoint whose signature verified, if any.
    pub checkpoint: Option<CheckpointSummary>,
    /// Events newer than that checkpoint (not yet signed; not an error).
    pub unsigned_tail: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CheckpointSummary {
    pub seq: i64,
    /// RFC 3339.
    pub signed_at: String,
    pub key_id: String,
}

/// A signature over the head `(seq, hash)` of the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    /// Names the key that signed: 16 hex digits of SHA-256 of the public key.
    pub key_id: String,
    /// Ed25519, as hex.
    pub signature: String,
    /// RFC 3339.
    pub signed_at: String,
}

/// A checkpoint with its public key, as listed and exported (one per line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CheckpointLine {
    pub checkpoint: Checkpoint,
    /// 64 hex digits; null when the store does not know the signing key.
    pub public_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CheckpointList {
    /// Each `{"checkpoint":{"seq","hash","key_id","signature","signed_at"},"public_key"}`,
    /// in seq order; `public_key` is null when the store does not know the signing key.
    pub checkpoints: Vec<CheckpointLine>,
}
