//! [`ExplainSample`]: a seeded sample of a window's records, kept so that the model's
//! attributions (mean |SHAP| per feature) can be computed for the window when it is reported.
//!
//! The sample is a bottom-k sketch: the `capacity` records whose id hashes lowest. That makes
//! it what a window needs of a sample: independent of arrival order and of how batches were
//! split or retried (a record's place depends on its id only), mergeable exactly (the bottom-k
//! of two windows' union is the bottom-k of their two samples, so hours roll up into days),
//! seeded (the hash is fixed, so the same traffic gives the same sample on every server), and
//! cheap on the ingest path: one hash per record and, once the sample is full, a comparison;
//! features are copied only for the ~k·ln(n/k) records that enter it.
//!
//! Why in the window state and not read back from the raw segments at close: segments are per
//! batch (a window of an hour would read every batch's Parquet file again), may be switched
//! off or expired, and windows of N records cannot be told apart by time alone.

use crate::MonitorError;
use crate::codec::{Reader, Writer};
use crate::record::Value;

/// The most records a window keeps for explanations: TreeSHAP of 1,000 rows against 100
/// background rows is well under a second, and 1,000 × 30 values stay a few hundred KB.
pub const MAX_EXPLAIN_SAMPLE: u32 = 1000;

/// A bottom-k sample of a window's records.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExplainSample {
    capacity: u32,
    /// Ascending by key, keys distinct, at most `capacity` entries.
    entries: Vec<Sampled>,
}

/// One sampled record.
#[derive(Debug, Clone, PartialEq)]
struct Sampled {
    /// A hash of its id.
    key: u64,
    /// Its feature values in the schema's order (`Null` where absent).
    values: Vec<Value>,
    /// The output it was logged with: the positive class's score (binary) or the predicted
    /// number (regression); `None` when it carried none.
    output: Option<f64>,
}

impl ExplainSample {
    /// An empty sample of up to `capacity` records (capped at [`MAX_EXPLAIN_SAMPLE`]); 0
    /// keeps nothing.
    pub fn new(capacity: u32) -> ExplainSample {
        ExplainSample { capacity: capacity.min(MAX_EXPLAIN_SAMPLE), entries: Vec::new() }
    }

    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Tells samples apart: the same records give the same fingerprint (a hash of their
    /// keys), so a computed explanation can be reused until the sample changes.
    pub fn fingerprint(&self) -> u64 {
        self.entries.iter().fold(self.entries.len() as u64, |h, e| (h ^ e.key).wrapping_mul(0x0000_0100_0000_01b3))
    }

    /// The sampled records' feature values, in key order (the schema's feature order within).
    pub fn rows(&self) -> impl Iterator<Item = &[Value]> {
        self.entries.iter().map(|e| e.values.as_slice())
    }

    /// The sampled records' logged outputs, in the order of [`rows`](Self::rows).
    pub fn outputs(&self) -> impl Iterator<Item = Option<f64>> {
        self.entries.iter().map(|e| e.output)
    }

    /// The key of a record with this id when it would enter the sample; `None` when it
    /// would not (then its values need not be gathered).
    pub fn admits(&self, id: &str) -> Option<u64> {
        if self.capacity == 0 {
            return None;
        }
        let key = record_key(id);
        let full = self.entries.len() >= self.capacity as usize;
        match self.entries.binary_search_by_key(&key, |e| e.key) {
            Ok(_) => None,
            Err(at) if full && at >= self.entries.len() => None,
            Err(_) => Some(key),
        }
    }

    /// Puts a record admitted under `key` in the sample (the highest key leaves when full).
    pub fn insert(&mut self, key: u64, values: Vec<Value>, output: Option<f64>) {
        if let Err(at) = self.entries.binary_search_by_key(&key, |e| e.key) {
            self.entries.insert(at, Sampled { key, values, output });
            self.entries.truncate(self.capacity as usize);
        }
    }

    /// The bottom-k of both samples' records, k the larger capacity: exactly the sample of
    /// the union when both parts were kept at that capacity. The larger, so that a window
    /// part that kept nothing (made before sampling was switched on, or holding only refused
    /// records) does not switch it off; a capacity raised in the middle of a window samples
    /// from the records since.
    pub fn merge(&mut self, other: &ExplainSample) {
        self.capacity = self.capacity.max(other.capacity);
        let mut merged = Vec::with_capacity((self.entries.len() + other.entries.len()).min(self.capacity as usize));
        let (mut a, mut b) =
            (std::mem::take(&mut self.entries).into_iter().peekable(), other.entries.iter().peekable());
        while merged.len() < self.capacity as usize {
            let (ka, kb) = (a.peek().map(|e| e.key), b.peek().map(|e| e.key));
            let next = match (ka, kb) {
                (None, None) => break,
                (Some(x), Some(y)) if x == y => {
                    b.next();
                    a.next()
                }
                (Some(x), Some(y)) if x < y => a.next(),
                (Some(_), None) => a.next(),
                _ => b.next().cloned(),
            };
            merged.extend(next);
        }
        self.entries = merged;
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u32(self.capacity);
        w.u32(self.entries.len() as u32);
        for Sampled { key, values, output } in &self.entries {
            w.u64(*key);
            match output {
                None => w.u8(0),
                Some(x) => {
                    w.u8(1);
                    w.u64(x.to_bits());
                }
            }
            w.u32(values.len() as u32);
            for v in values {
                match v {
                    Value::Null | Value::Nested => w.u8(0),
                    Value::Bool(b) => {
                        w.u8(1);
                        w.u8(u8::from(*b));
                    }
                    Value::Number(x) => {
                        w.u8(2);
                        w.u64(x.to_bits());
                    }
                    Value::Text(t) => {
                        w.u8(3);
                        w.str(t);
                    }
                }
            }
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<ExplainSample, MonitorError> {
        let bad = |m: &str| MonitorError::Decode(format!("explanation sample: {m}"));
        let capacity = r.u32()?;
        let n = r.u32()? as usize;
        if capacity > MAX_EXPLAIN_SAMPLE || n > capacity as usize {
            return Err(bad("more records than its capacity"));
        }
        let mut entries: Vec<Sampled> = Vec::with_capacity(n);
        for _ in 0..n {
            let key = r.u64()?;
            if entries.last().is_some_and(|e| e.key >= key) {
                return Err(bad("keys out of order"));
            }
            let output = match r.u8()? {
                0 => None,
                1 => Some(f64::from_bits(r.u64()?)),
                t => return Err(bad(&format!("unknown output tag {t}"))),
            };
            let m = r.u32()? as usize;
            if m > r.remaining() {
                return Err(bad("value count exceeds the input"));
            }
            let mut values = Vec::with_capacity(m);
            for _ in 0..m {
                values.push(match r.u8()? {
                    0 => Value::Null,
                    1 => Value::Bool(r.u8()? != 0),
                    2 => Value::Number(f64::from_bits(r.u64()?)),
                    3 => Value::Text(r.str()?.into()),
                    t => return Err(bad(&format!("unknown value tag {t}"))),
                });
            }
            entries.push(Sampled { key, values, output });
        }
        Ok(ExplainSample { capacity, entries })
    }
}

/// A record's place in every sample: FNV-1a of its id, then SplitMix64's finaliser so that
/// ids differing in their last characters (`r1`, `r2`, …) spread over the whole range. Fixed
/// here, never a per-process seed: the same traffic must give the same sample everywhere.
fn record_key(id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(s: &mut ExplainSample, id: &str) {
        if let Some(key) = s.admits(id) {
            s.insert(key, vec![Value::Text(id.into())], None);
        }
    }

    fn ids(s: &ExplainSample) -> Vec<String> {
        s.rows().map(|r| format!("{:?}", r[0])).collect()
    }

    #[test]
    fn the_sample_is_the_same_whatever_the_order_and_the_split() {
        let all: Vec<String> = (0..500).map(|i| format!("r{i}")).collect();
        let mut whole = ExplainSample::new(20);
        all.iter().for_each(|id| offer(&mut whole, id));
        let mut reversed = ExplainSample::new(20);
        all.iter().rev().for_each(|id| offer(&mut reversed, id));
        let (mut first, mut second) = (ExplainSample::new(20), ExplainSample::new(20));
        all[..170].iter().for_each(|id| offer(&mut first, id));
        all[170..].iter().for_each(|id| offer(&mut second, id));
        first.merge(&second);
        assert_eq!(whole.len(), 20);
        assert_eq!(ids(&whole), ids(&reversed));
        assert_eq!(ids(&whole), ids(&first));
        // A record seen twice (a merge of overlapping parts) counts once.
        let copy = whole.clone();
        whole.merge(&copy);
        assert_eq!(ids(&whole), ids(&copy));
    }

    #[test]
    fn merging_keeps_the_larger_capacity_and_zero_keeps_nothing() {
        let mut off = ExplainSample::new(0);
        offer(&mut off, "a");
        assert!(off.is_empty());
        let mut on = ExplainSample::new(5);
        (0..50).for_each(|i| offer(&mut on, &format!("x{i}")));
        off.merge(&on);
        assert_eq!((off.capacity(), ids(&off)), (5, ids(&on)));
        let mut small = ExplainSample::new(2);
        (0..50).for_each(|i| offer(&mut small, &format!("x{i}")));
        small.merge(&on);
        assert_eq!((small.capacity(), ids(&small)), (5, ids(&on)));
    }

    #[test]
    fn encoding_round_trips_and_refuses_nonsense() {
        let mut s = ExplainSample::new(3);
        for (i, v) in
            [Value::Number(1.5), Value::Bool(true), Value::Text("x".into()), Value::Null].into_iter().enumerate()
        {
            if let Some(k) = s.admits(&format!("id{i}")) {
                s.insert(k, vec![v.clone(), Value::Number(-0.0)], (i % 2 == 0).then_some(0.25));
            }
        }
        let mut w = Writer { out: Vec::new() };
        s.encode(&mut w);
        let back = ExplainSample::decode(&mut Reader::new(&w.out)).unwrap();
        assert_eq!(back, s);
        let mut huge = Writer { out: Vec::new() };
        huge.u32(MAX_EXPLAIN_SAMPLE + 1);
        huge.u32(0);
        assert!(ExplainSample::decode(&mut Reader::new(&huge.out)).is_err());
    }
}
