//! The audit trail: listing events and verifying the hash chain.

use crate::error::{ApiError, ErrorBody};
use crate::extract::Caller;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Query, State};
use riskops_api::Document;
use riskops_api::audit::{AuditEvent, CheckpointLine, CheckpointList, CheckpointSummary, EventList, VerifyReport};
use riskops_core::Error;
use riskops_core::audit::ChainReport;
use riskops_core::checkpoint::Checkpoint;
use riskops_core::service::AuditFilter;
use riskops_core::signing::PublicKey;
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::IntoParams;

/// Most events one request returns.
const MAX_LIMIT: u32 = 10_000;

#[derive(Deserialize, IntoParams)]
pub struct EventQuery {
    /// Only this actor's events.
    pub(crate) actor: Option<String>,
    /// Only this target (`project:fraud`), or a kind of target (`dataset:`).
    pub(crate) target: Option<String>,
    /// Only events at or after this time (RFC 3339).
    pub(crate) since: Option<String>,
    /// Only events after this sequence number (for paging).
    pub(crate) after: Option<i64>,
    /// At most this many events (default 100, at most 10,000).
    pub(crate) limit: Option<u32>,
}

fn verify_report(r: ChainReport) -> VerifyReport {
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

fn audit_event(e: &riskops_core::audit::AuditEvent) -> AuditEvent {
    AuditEvent {
        seq: e.seq,
        time: super::rfc3339(e.time),
        actor: e.actor.clone(),
        action: e.action.clone(),
        target: e.target.clone(),
        before: e.before.clone().map(Document),
        after: e.after.clone().map(Document),
        request_id: e.request_id.clone(),
        prev_hash: e.prev_hash.clone(),
        hash: e.hash.clone(),
    }
}

#[derive(Deserialize, IntoParams)]
pub struct VerifyQuery {
    /// Trust only this Ed25519 public key (64 hex digits) for checkpoints, whatever keys
    /// the store lists: catches a replaced key table.
    pub(crate) public_key: Option<String>,
}

/// The line form of a checkpoint in exports and in [`CheckpointList`].
fn checkpoint_line(checkpoint: &Checkpoint, key: Option<&PublicKey>) -> CheckpointLine {
    CheckpointLine {
        checkpoint: riskops_api::audit::Checkpoint {
            seq: checkpoint.seq,
            hash: checkpoint.hash.clone(),
            key_id: checkpoint.key_id.clone(),
            signature: checkpoint.signature.to_hex(),
            signed_at: checkpoint.signed_at_text(),
        },
        public_key: key.map(PublicKey::to_hex),
    }
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
    Ok(Json(EventList { events: events.iter().map(audit_event).collect() }))
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
    Ok(Json(verify_report(state.riskops.verify_audit(&ctx, pinned.as_ref()).await?)))
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
