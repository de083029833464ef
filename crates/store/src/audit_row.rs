//! Converting audit events to and from their stored columns, shared by both backends.

use riskops_core::audit::canonical_json;
use riskops_core::{Error, Result};
use serde_json::Value;

/// JSON columns hold canonical text so the bytes hashed are the bytes stored.
pub(crate) fn json_column(value: &Option<Value>) -> Option<String> {
    value.as_ref().map(canonical_json)
}

pub(crate) fn parse_json_column(seq: i64, column: &str, text: Option<String>) -> Result<Option<Value>> {
    match text {
        None => Ok(None),
        Some(t) => serde_json::from_str(&t)
            .map(Some)
            // An unparsable column is tampering or corruption; say where, don't hide it.
            .map_err(|e| {
                Error::new(riskops_core::ErrorKind::Integrity, format!("audit event {seq}: {column} is not JSON: {e}"))
            }),
    }
}

/// Every column of an audit event, in the order both backends select them.
pub(crate) const AUDIT_COLUMNS: &str =
    "seq, time, actor, action, target, before_json, after_json, request_id, prev_hash, hash";
