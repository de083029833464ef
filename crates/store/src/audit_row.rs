//! Converting audit events to and from their stored columns, shared by both backends.

use riskops_core::audit::{canonical_json, parse_canonical_json};
use riskops_core::{Error, Result};
use serde_json::Value;

/// JSON columns hold canonical text so the bytes hashed are the bytes stored.
pub(crate) fn json_column(value: &Option<Value>) -> Option<String> {
    value.as_ref().map(canonical_json)
}

/// Reads a JSON column back. Only the canonical text that was written is accepted: an
/// unparsable column, a duplicate key, added white space or reordered keys is tampering or
/// corruption; say where, don't hide it.
pub(crate) fn parse_json_column(seq: i64, column: &str, text: Option<String>) -> Result<Option<Value>> {
    match text {
        None => Ok(None),
        Some(t) => parse_canonical_json(&t).map(Some).map_err(|e| {
            Error::new(riskops_core::ErrorKind::Integrity, format!("audit event {seq}: {column} {}", described(&e)))
        }),
    }
}

/// A parse failure as the end of a sentence ("is not JSON: …", "is not in canonical form").
fn described(reason: &str) -> String {
    if reason.starts_with("is ") { reason.to_string() } else { format!("is not JSON: {reason}") }
}

/// Every column of an audit event, in the order both backends select them.
pub(crate) const AUDIT_COLUMNS: &str =
    "seq, time, actor, action, target, before_json, after_json, request_id, prev_hash, hash";
