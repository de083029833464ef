//! The audit trail: listing events and verifying the hash chain.

use crate::error::{ApiError, ErrorBody};
use crate::extract::Caller;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Query, State};
use riskops_core::Error;
use riskops_core::audit::ChainReport;
use riskops_core::checkpoint::Checkpoint;
use riskops_core::service::AuditFilter;
use riskops_core::signing::PublicKey;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::{IntoParams, ToSchema};

/// Most events one request returns.
const MAX_LIMIT: u32 = 10_000;

#[derive(Deserialize, IntoParams)]
pub struct EventQuery {
    /// Only this actor's events.
    actor: Option<String>,
    /// Only this target (`project:fraud`), or a kind of target (`dataset:`).
    target: Option<String>,
    /// Only events at or after this time (RFC 3339).
    since: Option<String>,
    /// Only events after this sequence number (for paging).
    after: Option<i64>,
    /// At most this many events (default 100, at most 10,000).
    limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct EventList {
    /// Each `{"seq","time","actor","action","target","before","after","request_id","prev_hash","hash"}`.
    #[schema(value_type = Vec<Object>)]
    events: Vec<Value>,
}

#[derive(Serialize, ToSchema)]
pub struct VerifyReport {
    ok: bool,
    events: u64,
    /// Hash of the last event that verified.
    head: String,
    first_bad_seq: Option<i64>,
    reason: Option<String>,
    /// The newest checkpoint whose signature verified, if any.
    checkpoint: Option<CheckpointSummary>,
    /// Events newer than that checkpoint (not yet signed; not an error).
    unsigned_tail: u64,
}

#[derive(Serialize, ToSchema)]
pub struct CheckpointSummary {
    seq: i64,
    /// RFC 3339.
    signed_at: String,
    key_id: String,
}

impl From<ChainReport> for VerifyReport {
    fn from(r: ChainReport) -> Self {
        let checkpoint =
            r.checkpoint.map(|c| CheckpointSummary { seq: c.seq, signed_at: c.signed_at_text(), key_id: c.key_id });
        VerifyReport {
            ok: r.ok,
            events: r.events,
            head: r.head,
            first_bad_seq: r.first_bad_seq,
            reason: r.reason,
            checkpoint,
            unsigned_tail: r.unsigned_tail,
        }
    }
}

#[derive(Deserialize, IntoParams)]
pub struct VerifyQuery {
    /// Trust only this Ed25519 public key (64 hex digits) for checkpoints, whatever keys
    /// the store lists: catches a replaced key table.
    public_key: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CheckpointList {
    /// Each `{"checkpoint":{"seq","hash","key_id","signature","signed_at"},"public_key"}`,
    /// in seq order; `public_key` is null when the store does not know the signing key.
    #[schema(value_type = Vec<Object>)]
    checkpoints: Vec<Value>,
}

/// The JSON-lines form of a checkpoint in exports and in [`CheckpointList`].
fn checkpoint_line(checkpoint: &Checkpoint, key: Option<&PublicKey>) -> Value {
    serde_json::json!({"checkpoint": checkpoint.to_json(), "public_key": key.map(PublicKey::to_hex)})
}

/// Audit events in sequence order.
#[utoipa::path(
    get, path = "/api/v1/audit/events", tag = "audit", security(("bearer" = [])), params(EventQuery),
    responses((status = 200, body = EventList), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn events(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Query(q): Query<EventQuery>,
) -> Result<Json<EventList>, ApiError> {
    let since = match &q.since {
        Some(text) => Some(OffsetDateTime::parse(text, &Rfc3339).map_err(|e| {
            Error::invalid("since", format!("must be an RFC 3339 time such as 2026-01-31T00:00:00Z ({e})"))
        })?),
        None => None,
    };
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(Error::invalid("limit", format!("must be 1 to {MAX_LIMIT}")).into());
    }
    let filter = AuditFilter { actor: q.actor, target: q.target, since, after_seq: q.after.unwrap_or(0), limit };
    let events = state.riskops.audit_events(&ctx, &filter).await?;
    Ok(Json(EventList { events: events.iter().map(|e| e.to_json()).collect() }))
}

/// Recomputes every event's hash and link and checks the signed checkpoints: `ok` is false
/// at the first edited, deleted or reordered event, or after the last event when a signed
/// checkpoint covers newer ones (the newest events were cut off), named by `first_bad_seq`.
#[utoipa::path(
    get, path = "/api/v1/audit/verify", tag = "audit", security(("bearer" = [])), params(VerifyQuery),
    responses((status = 200, body = VerifyReport), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn verify(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Query(q): Query<VerifyQuery>,
) -> Result<Json<VerifyReport>, ApiError> {
    let pinned = match &q.public_key {
        Some(hex) => Some(PublicKey::from_hex(hex).map_err(|e| Error::invalid("public_key", e.message))?),
        None => None,
    };
    Ok(Json(state.riskops.verify_audit(&ctx, pinned.as_ref()).await?.into()))
}

/// The signed checkpoints with their public keys, for exports.
#[utoipa::path(
    get, path = "/api/v1/audit/checkpoints", tag = "audit", security(("bearer" = [])),
    responses((status = 200, body = CheckpointList), (status = 401, body = ErrorBody))
)]
pub async fn checkpoints(State(state): State<AppState>, Caller(ctx): Caller) -> Result<Json<CheckpointList>, ApiError> {
    let all = state.riskops.audit_checkpoints(&ctx).await?;
    Ok(Json(CheckpointList { checkpoints: all.iter().map(|(c, k)| checkpoint_line(c, k.as_ref())).collect() }))
}
