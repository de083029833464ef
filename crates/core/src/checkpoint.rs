//! Signed audit checkpoints: the server's signature over the chain's head.
//!
//! The hash chain ([`crate::audit`]) finds an edited, deleted or reordered event, but not
//! the newest events cut off: a shorter chain is still a valid chain. A checkpoint signs
//! `(seq, hash)` of the head with the server's key ([`crate::signing`]), so a trail whose
//! last event is older than its newest checkpoint has lost events. [`TrailVerifier`] checks
//! the chain and the checkpoints together, in every place a trail is verified (the server,
//! a data directory, an export).
//!
//! Writing a checkpoint is not itself an audit event: an event would move the head the
//! checkpoint signs, so the newest event could never be covered.

use crate::audit::{ChainReport, ChainVerifier};
use crate::error::{Error, ErrorKind, Result};
use crate::signing::{PublicKey, Signature, SigningKey, checkpoint_message};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A signed statement that the event at `seq` has hash `hash`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    /// [`PublicKey::key_id`] of the key that signed.
    pub key_id: String,
    pub signature: Signature,
    pub signed_at: OffsetDateTime,
}

impl Checkpoint {
    /// Signs the head `(seq, hash)`.
    pub fn sign(key: &SigningKey, seq: i64, hash: &str, at: OffsetDateTime) -> Checkpoint {
        Checkpoint {
            seq,
            hash: hash.to_string(),
            key_id: key.public_key().key_id(),
            signature: key.sign(&checkpoint_message(seq, hash)),
            signed_at: at,
        }
    }

    /// Ok when `key` is the named key and its signature covers exactly `(seq, hash)`.
    pub fn verify(&self, key: &PublicKey) -> Result<()> {
        if key.key_id() != self.key_id {
            return Err(Error::new(
                ErrorKind::Integrity,
                format!("checkpoint {} names key {}, not {}", self.seq, self.key_id, key.key_id()),
            ));
        }
        key.verify(&checkpoint_message(self.seq, &self.hash), &self.signature)
    }

    /// `signed_at` in RFC 3339, as exported and reported.
    pub fn signed_at_text(&self) -> String {
        self.signed_at.format(&Rfc3339).unwrap_or_default()
    }

    /// The checkpoint as exported and served.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "seq": self.seq,
            "hash": self.hash,
            "key_id": self.key_id,
            "signature": self.signature.to_hex(),
            "signed_at": self.signed_at_text(),
        })
    }

    /// Reads [`Checkpoint::to_json`]'s form back.
    pub fn from_json(v: &Value) -> Result<Checkpoint> {
        let bad = |what: &str| Error::new(ErrorKind::Integrity, format!("checkpoint: {what}"));
        let text = |k: &str| v.get(k).and_then(Value::as_str).ok_or_else(|| bad(&format!("missing {k}")));
        Ok(Checkpoint {
            seq: v.get("seq").and_then(Value::as_i64).ok_or_else(|| bad("missing seq"))?,
            hash: text("hash")?.to_string(),
            key_id: text("key_id")?.to_string(),
            signature: Signature::from_hex(text("signature")?).map_err(|e| bad(&e.message))?,
            signed_at: OffsetDateTime::parse(text("signed_at")?, &Rfc3339)
                .map_err(|e| bad(&format!("bad signed_at: {e}")))?,
        })
    }
}

/// Checks a trail, events in sequence order, against its checkpoints:
/// - every checkpoint's signature verifies with its key (the pinned one when given: then
///   a checkpoint by any other key fails, so a replaced key table is caught);
/// - the event at each checkpoint's seq has exactly the signed hash (else the chain up to
///   it was rewritten and re-hashed);
/// - no checkpoint is newer than the last event (else the newest events were cut off).
#[derive(Debug)]
pub struct TrailVerifier {
    chain: ChainVerifier,
    /// Signed hash by seq, for checkpoints whose signature verified.
    signed: BTreeMap<i64, String>,
    /// The newest checkpoint whose signature verified.
    latest: Option<Checkpoint>,
    /// Seq of the newest event that verified.
    last_seq: i64,
    /// Seq of the newest checkpoint matched by its event.
    last_matched: i64,
    /// The earliest failure found by checkpoint checks (the chain keeps its own).
    failure: Option<(i64, String)>,
}

impl TrailVerifier {
    /// `keys` are the registered public keys; `pinned`, when given, is the only key trusted.
    pub fn new(checkpoints: Vec<Checkpoint>, keys: &[PublicKey], pinned: Option<&PublicKey>) -> TrailVerifier {
        let keys: HashMap<String, &PublicKey> = keys.iter().map(|k| (k.key_id(), k)).collect();
        let mut v = TrailVerifier {
            chain: ChainVerifier::default(),
            signed: BTreeMap::new(),
            latest: None,
            last_seq: 0,
            last_matched: 0,
            failure: None,
        };
        for cp in checkpoints {
            let key = match pinned {
                Some(p) => Some(p),
                None => keys.get(&cp.key_id).copied(),
            };
            let checked = match key {
                Some(key) => cp.verify(key).map_err(|e| e.message),
                None => Err(format!("checkpoint {} is signed by key {}, which is not registered", cp.seq, cp.key_id)),
            };
            match checked {
                Ok(()) => {
                    v.signed.insert(cp.seq, cp.hash.clone());
                    if v.latest.as_ref().is_none_or(|l| cp.seq > l.seq) {
                        v.latest = Some(cp);
                    }
                }
                Err(reason) => v.fail(cp.seq, format!("checkpoint at seq {} is forged: {reason}", cp.seq)),
            }
        }
        if let Some(p) = pinned
            && v.latest.is_none()
            && v.failure.is_none()
        {
            // Nothing vouches for the trail; the caller asked that something must.
            v.fail(1, format!("no checkpoint signed by the pinned key {}", p.key_id()));
        }
        v
    }

    /// A checkpoint row that could not even be read (its columns edited into nonsense).
    pub fn unreadable_checkpoint(&mut self, seq: i64, reason: String) {
        self.fail(seq, format!("checkpoint at seq {seq} is unreadable: {reason}"));
    }

    /// The next event could not be read; see [`ChainVerifier::unreadable`].
    pub fn unreadable(&mut self, seq: i64, reason: String) {
        self.chain.unreadable(seq, reason);
    }

    /// Adds the next event; returns false once the trail is known to be broken.
    pub fn push(&mut self, event: &crate::audit::AuditEvent) -> bool {
        if !self.chain.push(event) {
            return false;
        }
        self.last_seq = event.seq;
        match self.signed.get(&event.seq) {
            Some(hash) if *hash != event.hash => {
                let from = self.last_matched + 1;
                self.fail(
                    from,
                    format!(
                        "events after seq {} were rewritten: event {} differs from its signed checkpoint",
                        self.last_matched, event.seq
                    ),
                );
                false
            }
            Some(_) => {
                self.last_matched = event.seq;
                true
            }
            None => true,
        }
    }

    pub fn finish(mut self) -> ChainReport {
        let mut report = std::mem::take(&mut self.chain).finish();
        if report.ok && report.events == 0 {
            // riskops records its own bootstrap, so a trail is never empty: nothing to check
            // (an empty or emptied file) proves nothing.
            self.fail(1, "the trail holds no events".to_string());
        }
        if report.ok
            && let Some(latest) = &self.latest
            && latest.seq > self.last_seq
        {
            let (last, newest) = (self.last_seq, latest.seq);
            self.fail(
                last + 1,
                format!("events after seq {last} are missing: a signed checkpoint covers seq {newest}"),
            );
        }
        if let Some((seq, reason)) = self.failure
            && report.first_bad_seq.is_none_or(|s| seq < s)
        {
            report.ok = false;
            report.first_bad_seq = Some(seq);
            report.reason = Some(reason);
        }
        report.unsigned_tail = match &self.latest {
            Some(cp) => (self.last_seq - cp.seq).max(0) as u64,
            None => report.events,
        };
        report.checkpoint = self.latest;
        report
    }

    fn fail(&mut self, seq: i64, reason: String) {
        if self.failure.as_ref().is_none_or(|(s, _)| seq < *s) {
            self.failure = Some((seq, reason));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::Action;
    use crate::audit::{AuditEvent, AuditRecord, GENESIS_HASH, seal};
    use crate::auth::Permit;
    use serde_json::json;
    use time::macros::datetime;

    const AT: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

    fn chain(n: i64) -> Vec<AuditEvent> {
        let permit = Permit::system();
        let mut events: Vec<AuditEvent> = Vec::new();
        for i in 0..n {
            let (seq, prev) = events.last().map(|e| (e.seq, e.hash.clone())).unwrap_or((0, GENESIS_HASH.into()));
            let record =
                AuditRecord::new(&permit, Action::ProjectCreate, format!("project:p{i}")).after(json!({"n": i}));
            events.push(seal(record, seq, &prev, AT));
        }
        events
    }

    fn verify(events: &[AuditEvent], cps: Vec<Checkpoint>, keys: &[PublicKey], pin: Option<&PublicKey>) -> ChainReport {
        let mut v = TrailVerifier::new(cps, keys, pin);
        for e in events {
            if !v.push(e) {
                break;
            }
        }
        v.finish()
    }

    #[test]
    fn checkpoints_vouch_for_the_trail_and_report_the_unsigned_tail() {
        let (key, _) = SigningKey::generate().unwrap();
        let events = chain(6);
        let cps = vec![Checkpoint::sign(&key, 2, &events[1].hash, AT), Checkpoint::sign(&key, 4, &events[3].hash, AT)];
        let r = verify(&events, cps.clone(), &[key.public_key()], None);
        assert!(r.ok, "{r:?}");
        assert_eq!((r.checkpoint.as_ref().map(|c| c.seq), r.unsigned_tail), (Some(4), 2));
        assert!(verify(&events, cps, &[], Some(&key.public_key())).ok);

        let none = verify(&events, vec![], &[key.public_key()], None);
        assert!(none.ok && none.checkpoint.is_none() && none.unsigned_tail == 6);
    }

    #[test]
    fn a_cut_tail_is_found_after_the_last_event() {
        let (key, _) = SigningKey::generate().unwrap();
        let events = chain(6);
        let cps = vec![Checkpoint::sign(&key, 6, &events[5].hash, AT)];
        let r = verify(&events[..4], cps, &[key.public_key()], None);
        assert!(!r.ok);
        assert_eq!(r.first_bad_seq, Some(5));
        assert!(r.reason.unwrap().contains("after seq 4 are missing"));
    }

    #[test]
    fn forged_misattributed_and_rewritten_checkpoints_fail() {
        let (key, _) = SigningKey::generate().unwrap();
        let (mallory, _) = SigningKey::generate().unwrap();
        let events = chain(5);
        let mut forged = Checkpoint::sign(&key, 3, &events[2].hash, AT);
        forged.hash = events[3].hash.clone();
        let r = verify(&events, vec![forged], &[key.public_key()], None);
        assert_eq!((r.ok, r.first_bad_seq), (false, Some(3)), "{r:?}");

        // A key the store does not know, and a substituted key under a pin.
        let by_mallory = Checkpoint::sign(&mallory, 5, &events[4].hash, AT);
        assert!(!verify(&events, vec![by_mallory.clone()], &[key.public_key()], None).ok);
        assert!(verify(&events, vec![by_mallory.clone()], &[mallory.public_key()], None).ok);
        let pinned = verify(&events, vec![by_mallory], &[mallory.public_key()], Some(&key.public_key()));
        assert_eq!(pinned.first_bad_seq, Some(5));
        // With a pin, a trail with no checkpoint at all is not vouched for.
        assert_eq!(verify(&events, vec![], &[], Some(&key.public_key())).first_bad_seq, Some(1));

        // A checkpoint whose hash is not the event's: the chain was re-hashed after seq 2.
        let cps = vec![Checkpoint::sign(&key, 2, &events[1].hash, AT), Checkpoint::sign(&key, 4, &"00".repeat(32), AT)];
        let r = verify(&events, cps, &[key.public_key()], None);
        assert_eq!((r.ok, r.first_bad_seq), (false, Some(3)), "{r:?}");
    }

    #[test]
    fn an_empty_trail_does_not_verify() {
        let report = verify(&[], Vec::new(), &[], None);
        assert!(!report.ok);
        assert_eq!((report.first_bad_seq, report.reason.as_deref()), (Some(1), Some("the trail holds no events")));
    }

    #[test]
    fn checkpoints_round_trip_through_json() {
        let (key, _) = SigningKey::generate().unwrap();
        let cp = Checkpoint::sign(&key, 9, &"cd".repeat(32), AT);
        assert_eq!(Checkpoint::from_json(&cp.to_json()).unwrap(), cp);
        assert!(Checkpoint::from_json(&json!({"seq": 1})).is_err());
    }
}
