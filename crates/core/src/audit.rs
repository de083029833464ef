//! The audit trail: append-only events in a SHA-256 hash chain.
//!
//! A store writes an event in the same transaction as the change it records, by calling
//! [`seal`] with the head of the chain. Each event's hash covers a canonical serialization
//! of all its fields and the previous event's hash, so editing, deleting or reordering any
//! event breaks [`verify_chain`] at the first affected sequence number.

use crate::action::Action;
use crate::auth::Permit;
use crate::checkpoint::Checkpoint;
use crate::encode::hex;
use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The `prev_hash` of the first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A change about to be recorded. Made only from a [`Permit`], so the actor is always the
/// identity whose permission was checked.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    actor: String,
    pub action: String,
    pub target: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub request_id: Option<String>,
}

impl AuditRecord {
    /// An event of `action` by the permit's holder. The action must be one the permit's
    /// operation may cause (`Action::allowed_by`, the one table): checked in every test run.
    pub fn new(permit: &Permit, action: Action, target: impl Into<String>) -> Self {
        debug_assert!(
            action.allowed_by(permit.operation()),
            "{action} recorded under a permit for {}",
            permit.operation().as_str()
        );
        AuditRecord {
            actor: permit.actor().to_string(),
            action: action.as_str().to_string(),
            target: target.into(),
            before: None,
            after: None,
            request_id: None,
        }
    }

    pub fn before(mut self, value: Value) -> Self {
        self.before = Some(value);
        self
    }

    pub fn after(mut self, value: Value) -> Self {
        self.after = Some(value);
        self
    }

    pub fn request_id(mut self, id: Option<String>) -> Self {
        self.request_id = id;
        self
    }

    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// Sets one field of `after` (an object); stores use it to record values they assign,
    /// such as a new version number.
    pub fn set_after(&mut self, key: &str, value: Value) {
        match &mut self.after {
            Some(Value::Object(map)) => {
                map.insert(key.to_string(), value);
            }
            _ => {
                let mut map = serde_json::Map::new();
                map.insert(key.to_string(), value);
                self.after = Some(Value::Object(map));
            }
        }
    }
}

/// A recorded event, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub seq: i64,
    pub time: OffsetDateTime,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub request_id: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// Turns a record into the next event of the chain whose head is `(prev_seq, prev_hash)`.
pub fn seal(record: AuditRecord, prev_seq: i64, prev_hash: &str, time: OffsetDateTime) -> AuditEvent {
    let mut event = AuditEvent {
        seq: prev_seq + 1,
        time,
        actor: record.actor,
        action: record.action,
        target: record.target,
        before: record.before,
        after: record.after,
        request_id: record.request_id,
        prev_hash: prev_hash.to_string(),
        hash: String::new(),
    };
    event.hash = event_hash(&event);
    event
}

/// SHA-256 over the canonical serialization of every field but `hash` itself.
pub fn event_hash(event: &AuditEvent) -> String {
    let time = event.time.format(&Rfc3339).unwrap_or_default();
    let content = serde_json::json!({
        "seq": event.seq,
        "time": time,
        "actor": event.actor,
        "action": event.action,
        "target": event.target,
        "before": event.before,
        "after": event.after,
        "request_id": event.request_id,
        "prev_hash": event.prev_hash,
    });
    let mut canonical = String::new();
    write_canonical(&content, &mut canonical);
    hex(&Sha256::digest(canonical.as_bytes()))
}

/// Parses JSON text, refusing an object that names a key twice. serde_json would keep the
/// last value silently, so two different texts would read (and hash) as one event.
pub fn parse_json_strict(text: &str) -> Result<Value, String> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = StrictValue::deserialize(&mut de).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(value.0)
}

/// Parses a stored JSON column, which must be exactly the canonical text of its value
/// (what [`canonical_json`] wrote and the hash covers): no duplicate keys, white space,
/// reordered keys or respelled numbers, so no other text verifies as the same event.
pub fn parse_canonical_json(text: &str) -> Result<Value, String> {
    let value = parse_json_strict(text)?;
    if canonical_json(&value) != text {
        return Err("is not in canonical form (white space, key order or number spelling differ)".to_string());
    }
    Ok(value)
}

/// A JSON value read by [`parse_json_strict`].
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = StrictValue;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<StrictValue, E> {
        serde_json::Number::from_f64(v)
            .map(|n| StrictValue(Value::Number(n)))
            .ok_or_else(|| E::custom("a number that is not finite"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::String(v.to_string())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::String(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Null))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<StrictValue, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(StrictValue(Value::Array(items)))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<StrictValue, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let StrictValue(value) = map.next_value()?;
            if object.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate key {key:?}")));
            }
            object.insert(key, value);
        }
        Ok(StrictValue(Value::Object(object)))
    }
}

/// JSON with object keys sorted at every level and no white space, whatever map type
/// serde_json was built with, so the same content always hashes the same.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(key) {
                    write_canonical(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

impl AuditEvent {
    /// The event as exported and served: every field, `time` in RFC 3339.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "seq": self.seq,
            "time": self.time.format(&Rfc3339).unwrap_or_default(),
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "before": self.before,
            "after": self.after,
            "request_id": self.request_id,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        })
    }

    /// Reads an exported event back (for verifying an export). Its time must be written as
    /// the hash writes it: another spelling of the same instant (`+00:00` for `Z`) is not
    /// the event that was sealed.
    pub fn from_json(v: &Value) -> Result<AuditEvent, String> {
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string).ok_or_else(|| format!("missing {k}"));
        let time_text = text("time")?;
        let time = OffsetDateTime::parse(&time_text, &Rfc3339).map_err(|e| format!("bad time: {e}"))?;
        let canonical_time = time.format(&Rfc3339).unwrap_or_default();
        if time_text != canonical_time {
            return Err(format!("time {time_text:?} is not in canonical form ({canonical_time:?})"));
        }
        let optional = |k: &str| v.get(k).filter(|x| !x.is_null()).cloned();
        Ok(AuditEvent {
            seq: v.get("seq").and_then(Value::as_i64).ok_or("missing seq")?,
            time,
            actor: text("actor")?,
            action: text("action")?,
            target: text("target")?,
            before: optional("before"),
            after: optional("after"),
            request_id: v.get("request_id").and_then(Value::as_str).map(str::to_string),
            prev_hash: text("prev_hash")?,
            hash: text("hash")?,
        })
    }
}

/// The outcome of checking a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub ok: bool,
    pub events: u64,
    /// Hash of the last event that verified.
    pub head: String,
    pub first_bad_seq: Option<i64>,
    pub reason: Option<String>,
    /// The newest checkpoint whose signature verified (set by
    /// [`crate::checkpoint::TrailVerifier`]; a bare chain check has none).
    pub checkpoint: Option<Checkpoint>,
    /// Events newer than that checkpoint: not (yet) covered by a signature.
    pub unsigned_tail: u64,
}

/// Checks events in sequence order: numbering without gaps from 1, each `prev_hash` equal
/// to the previous event's hash, and each hash recomputed from the content.
pub fn verify_chain<'a>(events: impl IntoIterator<Item = &'a AuditEvent>) -> ChainReport {
    let mut verifier = ChainVerifier::default();
    for event in events {
        if !verifier.push(event) {
            break;
        }
    }
    verifier.finish()
}

/// Streaming form of [`verify_chain`], for chains too long to hold in memory.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    expected_seq: i64,
    head: String,
    events: u64,
    failure: Option<(i64, String)>,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier { expected_seq: 1, head: GENESIS_HASH.to_string(), events: 0, failure: None }
    }
}

impl ChainVerifier {
    /// Records that the event after the last good one could not even be read (a column
    /// edited into something that is not an event).
    pub fn unreadable(&mut self, seq: i64, reason: String) {
        if self.failure.is_none() {
            self.failure = Some((seq.min(self.expected_seq), reason));
        }
    }

    /// Adds the next event; returns false once the chain is known to be broken.
    pub fn push(&mut self, event: &AuditEvent) -> bool {
        if self.failure.is_some() {
            return false;
        }
        let problem = if event.seq != self.expected_seq {
            Some(format!("expected sequence number {}, found {}", self.expected_seq, event.seq))
        } else if event.prev_hash != self.head {
            Some("prev_hash does not match the previous event's hash".to_string())
        } else if event_hash(event) != event.hash {
            Some("content does not match its hash".to_string())
        } else {
            None
        };
        if let Some(reason) = problem {
            self.failure = Some((self.expected_seq.min(event.seq), reason));
            return false;
        }
        self.expected_seq += 1;
        self.head = event.hash.clone();
        self.events += 1;
        true
    }

    pub fn finish(self) -> ChainReport {
        match self.failure {
            None => ChainReport {
                ok: true,
                events: self.events,
                head: self.head,
                first_bad_seq: None,
                reason: None,
                checkpoint: None,
                unsigned_tail: self.events,
            },
            Some((seq, reason)) => ChainReport {
                ok: false,
                events: self.events,
                head: self.head,
                first_bad_seq: Some(seq),
                reason: Some(reason),
                checkpoint: None,
                unsigned_tail: self.events,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    fn chain(n: i64) -> Vec<AuditEvent> {
        let permit = Permit::system();
        let mut events: Vec<AuditEvent> = Vec::new();
        for i in 0..n {
            let (seq, prev) = events.last().map(|e| (e.seq, e.hash.clone())).unwrap_or((0, GENESIS_HASH.into()));
            let record = AuditRecord::new(&permit, Action::ProjectCreate, format!("project:p{i}"))
                .after(json!({"name": format!("p{i}"), "n": i}));
            events.push(seal(record, seq, &prev, datetime!(2026-01-01 00:00 UTC) + time::Duration::seconds(i)));
        }
        events
    }

    #[test]
    fn an_intact_chain_verifies() {
        let events = chain(5);
        let report = verify_chain(&events);
        assert!(report.ok, "{report:?}");
        assert_eq!(report.events, 5);
        assert_eq!(report.head, events[4].hash);
    }

    #[test]
    fn an_edit_is_found_at_its_sequence_number() {
        let mut events = chain(5);
        events[2].after = Some(json!({"name": "evil"}));
        let report = verify_chain(&events);
        assert_eq!(report.first_bad_seq, Some(3));
        assert_eq!(report.events, 2);
    }

    #[test]
    fn a_deletion_and_a_reordering_are_found() {
        let mut deleted = chain(5);
        deleted.remove(1);
        assert_eq!(verify_chain(&deleted).first_bad_seq, Some(2));

        let mut swapped = chain(5);
        swapped.swap(3, 4);
        assert_eq!(verify_chain(&swapped).first_bad_seq, Some(4));
    }

    #[test]
    fn events_round_trip_through_their_json_form() {
        let events = chain(3);
        let back: Vec<AuditEvent> = events.iter().map(|e| AuditEvent::from_json(&e.to_json()).unwrap()).collect();
        assert_eq!(back, events);
        assert!(verify_chain(&back).ok);
    }

    #[test]
    fn strict_parsing_refuses_duplicate_keys_and_stored_text_must_be_canonical() {
        assert_eq!(
            parse_json_strict(r#"{"a":[1,{"b":2.5}],"c":null}"#).unwrap(),
            json!({"a": [1, {"b": 2.5}], "c": null})
        );
        let dup = parse_json_strict(r#"{"a":{"b":1,"b":1}}"#).unwrap_err();
        assert!(dup.contains("duplicate key \"b\""), "{dup}");
        assert!(parse_json_strict("{} trailing").is_err());
        let events = chain(2);
        let stored = canonical_json(events[1].after.as_ref().unwrap());
        assert_eq!(parse_canonical_json(&stored).unwrap(), events[1].after.clone().unwrap());
        for respelled in [format!(" {stored}"), stored.replace(':', ": "), r#"{"name":"p1","n":1}"#.to_string()] {
            assert!(parse_canonical_json(&respelled).is_err(), "{respelled}");
        }
        assert!(parse_canonical_json(r#"{"n":1,"n":1,"name":"p1"}"#).unwrap_err().contains("duplicate"));
    }

    #[test]
    fn an_exported_time_in_another_spelling_is_not_the_sealed_event() {
        let mut json = chain(1)[0].to_json();
        let time = json["time"].as_str().unwrap().to_string();
        assert!(time.ends_with('Z'), "{time}");
        json["time"] = Value::String(time.replace('Z', "+00:00"));
        assert!(AuditEvent::from_json(&json).unwrap_err().contains("canonical"));
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let v = json!({"b": 1, "a": {"d": [1, {"z": 0, "y": 1}], "c": null}});
        assert_eq!(canonical_json(&v), r#"{"a":{"c":null,"d":[1,{"y":1,"z":0}]},"b":1}"#);
    }
}
