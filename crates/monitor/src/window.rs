//! [`WindowState`]: everything a monitoring window keeps, as mergeable bounded summaries.

use crate::MonitorError;
use crate::codec::{Reader, Writer};
use crate::record::{Record, Value, bool_text};
use crate::sample::ExplainSample;
use crate::schema::{FeatureSpec, InputSchema, RejectReason, Rejections, Task, fits};
use riskops_data::profile::{ColumnProfile, Dtype};
use riskops_stats::metrics::{BinaryOutcomes, GroupOutcomes, RegressionSummary};
use riskops_stats::sketch::{Frequencies, Moments, QuantileSketch};
use std::collections::{BTreeMap, HashSet};

/// `k` of a window's quantile sketches: exact up to 3,200 values, then a normalized rank
/// error of 0.35% (99% confidence), ~2,400 retained values (~19 KB) per numeric feature.
pub const WINDOW_K: u16 = 800;
/// `k` of the latency sketch (1.33% rank error).
pub const LATENCY_K: u16 = 200;
/// Distinct values a numeric feature counts exactly (for Evidently's "few values" rule and
/// value-by-value tests), beyond which it only remembers that there were more.
pub const SMALL_CAP: usize = 32;
/// Attributes tracked for fairness when the schema names none; others are counted in
/// `dropped_attributes`.
pub const MAX_ATTRIBUTES: usize = 16;

/// Exact counts of the first [`SMALL_CAP`] distinct finite values of a numeric column.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SmallCounts {
    /// `(bits of the value, count)`, `-0.0` folded into `0.0`.
    values: Vec<(u64, u64)>,
    /// More than `SMALL_CAP` distinct values were seen.
    saturated: bool,
}

impl SmallCounts {
    fn add_n(&mut self, x: f64, n: u64) {
        if self.saturated {
            return;
        }
        let bits = (x + 0.0).to_bits();
        if let Some(slot) = self.values.iter_mut().find(|(b, _)| *b == bits) {
            slot.1 += n;
        } else if self.values.len() < SMALL_CAP {
            self.values.push((bits, n));
        } else {
            self.saturated = true;
            self.values = Vec::new();
        }
    }

    fn merge(&mut self, other: &SmallCounts) {
        if other.saturated {
            self.saturated = true;
            self.values = Vec::new();
        }
        for &(bits, n) in &other.values {
            self.add_n(f64::from_bits(bits), n);
        }
    }

    /// The distinct values with their counts, ascending; `None` when saturated.
    pub fn counts(&self) -> Option<Vec<(f64, u64)>> {
        if self.saturated {
            return None;
        }
        let mut v: Vec<(f64, u64)> = self.values.iter().map(|&(b, n)| (f64::from_bits(b), n)).collect();
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        Some(v)
    }
}

/// One column of a window (a feature, or the prediction): the same sketches as a
/// reference [`ColumnProfile`](riskops_data::profile::ColumnProfile), plus quality counters.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnState {
    pub name: String,
    pub dtype: Dtype,
    /// The prediction column takes numbers and text alike (its dtype is the reference's).
    pub flexible: bool,
    /// Records seen (each record counts once for every feature).
    pub rows: u64,
    /// Null or absent.
    pub missing: u64,
    /// Values of the wrong type (left out of the summaries).
    pub type_violations: u64,
    /// ±inf (left out of the numeric summaries, as the drift engine drops them).
    pub infinite: u64,
    /// Finite numbers outside the reference's [min, max].
    pub out_of_range: u64,
    /// Categories absent from the reference.
    pub unseen: u64,
    /// Whether `unseen` is counted (categorical columns whose reference counts are exact).
    pub tracks_unseen: bool,
    pub moments: Moments,
    pub quantiles: QuantileSketch,
    /// Integer, boolean and text values, as the profile counts them (integers as `3`).
    pub frequencies: Frequencies,
    pub small: SmallCounts,
}

impl ColumnState {
    fn new(name: String, dtype: Dtype, flexible: bool, tracks_unseen: bool) -> ColumnState {
        ColumnState {
            name,
            dtype,
            flexible,
            tracks_unseen,
            rows: 0,
            missing: 0,
            type_violations: 0,
            infinite: 0,
            out_of_range: 0,
            unseen: 0,
            moments: Moments::new(),
            quantiles: QuantileSketch::with_k(WINDOW_K).unwrap_or_default(),
            frequencies: Frequencies::new(),
            small: SmallCounts::default(),
        }
    }

    /// A column seen whole elsewhere (a dataset's profile, say, or the merge of a Spark job's
    /// partition profiles), as a window's column, so two profiles compare as a window and its
    /// reference do. The exact small counts are kept when the profile's sketches are exact
    /// about them (its quantile sketch holds every value, or an integer column's frequencies
    /// are exact); otherwise they count as saturated, as a window's would past the cap.
    pub fn from_profile(profile: &ColumnProfile) -> ColumnState {
        let mut small = SmallCounts::default();
        let exact_values: Option<Vec<(f64, u64)>> = if profile.quantiles.is_exact() {
            Some(profile.quantiles.sorted_view())
        } else if profile.dtype == Dtype::Int64 && profile.frequencies.is_exact() {
            Some(profile.frequencies.iter().filter_map(|(k, n)| k.parse::<f64>().ok().map(|x| (x, n))).collect())
        } else {
            None
        };
        match exact_values {
            Some(values) => values.into_iter().for_each(|(x, n)| small.add_n(x, n)),
            None => small.saturated = true,
        }
        ColumnState {
            name: profile.name.clone(),
            dtype: profile.dtype,
            flexible: false,
            rows: profile.rows,
            missing: profile.missing,
            type_violations: 0,
            infinite: profile.infinite,
            out_of_range: 0,
            unseen: 0,
            tracks_unseen: false,
            moments: profile.moments,
            quantiles: profile.quantiles.clone(),
            frequencies: profile.frequencies.clone(),
            small,
        }
    }

    /// Values summarised (not missing, not of the wrong type).
    pub fn count(&self) -> u64 {
        self.rows - self.missing - self.type_violations
    }

    fn add(&mut self, spec: Option<&FeatureSpec>, v: Option<&Value>) -> bool {
        self.rows += 1;
        let Some(v) = v else {
            self.missing += 1;
            return false;
        };
        if !self.flexible && !fits(self.dtype, v) {
            self.type_violations += 1;
            return false;
        }
        let known = spec.and_then(|s| s.known.as_ref());
        match v {
            Value::Null => self.missing += 1,
            Value::Number(x) => {
                if x.is_finite() {
                    self.moments.add(*x);
                    self.quantiles.add(*x);
                    self.small.add_n(*x, 1);
                    if let Some(s) = spec
                        && (s.min.is_some_and(|m| *x < m) || s.max.is_some_and(|m| *x > m))
                    {
                        self.out_of_range += 1;
                    }
                } else {
                    self.infinite += 1;
                }
                if (self.dtype == Dtype::Int64 || self.flexible) && x.fract() == 0.0 && x.abs() < 9.2e18 {
                    let mut buf = [0u8; 24];
                    let text = riskops_data::profile::itoa(*x as i64, &mut buf);
                    self.frequencies.add(text);
                    self.check_known(known, text);
                } else if self.dtype == Dtype::Int64 && x.is_finite() {
                    // A fraction in a column the reference held as integers: a category of
                    // its own (as pandas would print it), never seen in the reference.
                    let text = x.to_string();
                    self.frequencies.add(&text);
                    self.check_known(known, &text);
                }
            }
            Value::Bool(b) => {
                self.frequencies.add(bool_text(*b));
                self.check_known(known, bool_text(*b));
            }
            Value::Text(t) => {
                self.frequencies.add(t);
                self.check_known(known, t);
            }
            // Only the flexible prediction column gets here with it, and predictions are never
            // nested (the reader refuses them): counted as a type violation all the same.
            Value::Nested => {
                self.type_violations += 1;
                return false;
            }
        }
        true
    }

    fn check_known(&mut self, known: Option<&HashSet<String>>, category: &str) {
        if known.is_some_and(|k| !k.contains(category)) {
            self.unseen += 1;
        }
    }

    fn merge(&mut self, other: &ColumnState) -> Result<(), MonitorError> {
        if self.name != other.name
            || self.dtype != other.dtype
            || self.flexible != other.flexible
            || self.tracks_unseen != other.tracks_unseen
        {
            return Err(MonitorError::Mismatch(format!(
                "column {:?} ({}) cannot merge with {:?} ({})",
                self.name,
                self.dtype.name(),
                other.name,
                other.dtype.name()
            )));
        }
        self.rows += other.rows;
        self.missing += other.missing;
        self.type_violations += other.type_violations;
        self.infinite += other.infinite;
        self.out_of_range += other.out_of_range;
        self.unseen += other.unseen;
        self.moments.merge(&other.moments);
        self.quantiles.merge(&other.quantiles);
        self.frequencies.merge(&other.frequencies);
        self.small.merge(&other.small);
        Ok(())
    }

    fn encode(&self, w: &mut Writer) {
        w.str(&self.name);
        w.u8(dtype_code(self.dtype));
        w.u8(u8::from(self.flexible) | (u8::from(self.tracks_unseen) << 1));
        for n in [self.rows, self.missing, self.type_violations, self.infinite, self.out_of_range, self.unseen] {
            w.u64(n);
        }
        self.moments.encode(&mut w.out);
        self.quantiles.encode(&mut w.out);
        self.frequencies.encode(&mut w.out);
        w.u8(u8::from(self.small.saturated));
        w.u32(self.small.values.len() as u32);
        for &(bits, n) in &self.small.values {
            w.u64(bits);
            w.u64(n);
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<ColumnState, MonitorError> {
        let name = r.str()?;
        let dtype = dtype_of(r.u8()?)?;
        let flags = r.u8()?;
        let mut c = ColumnState::new(name, dtype, flags & 1 != 0, flags & 2 != 0);
        c.rows = r.u64()?;
        c.missing = r.u64()?;
        c.type_violations = r.u64()?;
        c.infinite = r.u64()?;
        c.out_of_range = r.u64()?;
        c.unseen = r.u64()?;
        if c.missing.checked_add(c.type_violations).is_none_or(|n| n > c.rows) {
            return Err(MonitorError::Decode(format!("column {:?}: counts exceed rows", c.name)));
        }
        c.moments = r.sketch(Moments::decode)?;
        c.quantiles = r.sketch(QuantileSketch::decode)?;
        c.frequencies = r.sketch(Frequencies::decode)?;
        c.small.saturated = r.u8()? != 0;
        let n = r.u32()? as usize;
        if n > SMALL_CAP {
            return Err(MonitorError::Decode("too many small counts".into()));
        }
        for _ in 0..n {
            let bits = r.u64()?;
            let count = r.u64()?;
            c.small.values.push((bits, count));
        }
        Ok(c)
    }
}

/// Labelled performance: binary classification or regression.
#[derive(Debug, Clone, PartialEq)]
pub enum Performance {
    Binary(BinaryOutcomes),
    Regression(RegressionSummary),
}

/// The state of one monitoring window of one model version (the window's identity, start,
/// end and version, is the caller's key). See the [crate docs](crate) for the memory bound.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowState {
    /// Records added.
    pub records: u64,
    /// Outcomes added (labels with the record, or later through `add_outcome`).
    pub labelled: u64,
    /// Records with at least one schema violation (unknown or absent feature, wrong type).
    pub records_with_violations: u64,
    /// Feature values under names the schema does not know.
    pub unknown_features: u64,
    /// Outcomes whose prediction or label could not be read for the task.
    pub unreadable_outcomes: u64,
    /// Attribute values not tracked because [`MAX_ATTRIBUTES`] attributes already were.
    pub dropped_attributes: u64,
    /// Records refused (unknown or missing feature, an unreadable outcome) whose timestamp
    /// fell in this window; not in `records`.
    pub rejected: Rejections,
    /// In the schema's feature order.
    pub features: Vec<ColumnState>,
    pub prediction: ColumnState,
    pub performance: Performance,
    /// Per sensitive attribute, the labelled outcomes by group (binary tasks): what TPR,
    /// FPR, equalized odds and per-group accuracy need.
    pub fairness: BTreeMap<String, GroupOutcomes>,
    /// Per sensitive attribute, every record's prediction by group (binary tasks), labelled
    /// or not: selection rates, demographic parity and the four-fifths rule need no labels.
    /// Kept as outcomes whose actual class is unknown (counted as negative), so only the
    /// selection metrics of these summaries mean anything.
    pub selections: BTreeMap<String, GroupOutcomes>,
    pub latency: Moments,
    pub latency_quantiles: QuantileSketch,
    /// A seeded sample of the records' features for attributions (capacity 0: none kept);
    /// see [`ExplainSample`].
    pub explain_sample: ExplainSample,
}

const MAGIC: &[u8; 4] = b"RKMW";
/// 2 added the rejected records' counts after the counters; 3 the selections per attribute
/// after the fairness summaries. Earlier versions are still read (nothing rejected, no
/// selections: reports fall back to the labelled outcomes). 4 the explanation sample at the
/// end (earlier versions: no sample).
const VERSION: u8 = 4;

impl WindowState {
    /// An empty window for the schema's features and task.
    pub fn new(schema: &InputSchema) -> WindowState {
        WindowState {
            records: 0,
            labelled: 0,
            records_with_violations: 0,
            unknown_features: 0,
            unreadable_outcomes: 0,
            dropped_attributes: 0,
            rejected: Rejections::default(),
            features: schema
                .features
                .iter()
                .map(|f| ColumnState::new(f.name.clone(), f.dtype, false, f.known.is_some()))
                .collect(),
            prediction: ColumnState::new("prediction".into(), Dtype::Object, true, false),
            performance: match schema.task {
                Task::Binary { .. } => Performance::Binary(BinaryOutcomes::new()),
                Task::Regression => Performance::Regression(RegressionSummary::new()),
            },
            fairness: BTreeMap::new(),
            selections: BTreeMap::new(),
            latency: Moments::new(),
            latency_quantiles: QuantileSketch::with_k(LATENCY_K).unwrap_or_default(),
            explain_sample: ExplainSample::new(0),
        }
    }

    /// The window keeps a sample of up to `capacity` records for attributions (set on a
    /// fresh window, before records are added).
    pub fn with_explain_sample(mut self, capacity: u32) -> WindowState {
        self.explain_sample = ExplainSample::new(capacity);
        self
    }

    /// Adds one record. Never fails: schema violations are counted (per feature and per
    /// record), wrong-typed values left out of the summaries. A label that comes with the
    /// record is added as an outcome (see [`add_outcome`](Self::add_outcome)).
    ///
    /// The schema must be the one the window was made with (same features, same order).
    pub fn add(&mut self, schema: &InputSchema, record: &Record) {
        self.records += 1;
        let mut violation = false;
        let mut unknown = 0u64;
        let features = &mut self.features;
        schema.align(
            record,
            |i, value| {
                let (Some(spec), Some(state)) = (schema.features.get(i), features.get_mut(i)) else { return };
                let before = state.type_violations;
                state.add(Some(spec), value);
                violation |= value.is_none() || state.type_violations != before;
            },
            |_| unknown += 1,
        );
        if unknown > 0 {
            self.unknown_features += unknown;
            violation = true;
        }
        self.records_with_violations += u64::from(violation);
        if let Some(key) = self.explain_sample.admits(&record.id) {
            let mut values = vec![Value::Null; schema.features.len()];
            schema.align(
                record,
                |i, v| {
                    if let (Some(slot), Some(v)) = (values.get_mut(i), v.filter(|v| !matches!(v, Value::Nested))) {
                        *slot = v.clone();
                    }
                },
                |_| {},
            );
            let output = match &schema.task {
                Task::Binary { positive } => record.positive_score(positive),
                Task::Regression => match record.prediction {
                    Value::Number(x) => Some(x),
                    _ => None,
                },
            };
            self.explain_sample.insert(key, values, output.filter(|x| x.is_finite()));
        }
        self.prediction.add(None, Some(&record.prediction));
        self.add_selection(schema, record);
        if let Some(l) = record.latency_ms.filter(|l| l.is_finite()) {
            self.latency.add(l);
            self.latency_quantiles.add(l);
        }
        if let Some(label) = &record.label {
            let score = match &schema.task {
                Task::Binary { positive } => record.positive_score(positive),
                Task::Regression => None,
            };
            // An unreadable outcome is counted in `unreadable_outcomes`.
            let _ = self.add_outcome(schema, label, &record.prediction, score, &record.attributes);
        }
    }

    /// Counts a record's prediction in its groups (binary tasks), labelled or not.
    fn add_selection(&mut self, schema: &InputSchema, record: &Record) {
        let Some(selected) = schema.task.is_positive(&record.prediction) else { return };
        for (attribute, group) in &record.attributes {
            let wanted = if schema.sensitive.is_empty() {
                self.selections.contains_key(attribute) || self.selections.len() < MAX_ATTRIBUTES
            } else {
                schema.sensitive.contains(attribute)
            };
            if wanted {
                self.selections.entry(attribute.clone()).or_default().add(group, false, selected);
            } else if schema.sensitive.is_empty() {
                self.dropped_attributes += 1;
            }
        }
    }

    /// Counts a record that was refused, with the kinds of its reasons.
    pub fn reject(&mut self, kinds: impl IntoIterator<Item = RejectReason>) {
        self.rejected.add(kinds);
    }

    /// Adds one labelled outcome: the ground truth `actual` of a record whose prediction
    /// (and score, for binary tasks) the caller kept, with the record's attributes.
    ///
    /// This is how late labels arrive: the window keeps no records, so the caller looks up
    /// the stored record by id and calls this on the window the record belongs to (never
    /// for a record whose label was already counted).
    ///
    /// Errors when `actual` or `predicted` cannot be read for the task (null, text in a
    /// regression); nothing is counted then but `unreadable_outcomes`.
    pub fn add_outcome(
        &mut self,
        schema: &InputSchema,
        actual: &Value,
        predicted: &Value,
        score: Option<f64>,
        attributes: &BTreeMap<String, String>,
    ) -> Result<(), MonitorError> {
        let unreadable = |what: &str, v: &Value| MonitorError::Outcome(format!("{what} is {}", v.kind()));
        match (&mut self.performance, &schema.task) {
            (Performance::Binary(outcomes), task @ Task::Binary { .. }) => {
                let (Some(a), Some(p)) = (task.is_positive(actual), task.is_positive(predicted)) else {
                    self.unreadable_outcomes += 1;
                    let bad =
                        if task.is_positive(actual).is_none() { ("label", actual) } else { ("prediction", predicted) };
                    return Err(unreadable(bad.0, bad.1));
                };
                match score.filter(|s| s.is_finite()) {
                    Some(s) => outcomes.add_scored(a, p, s),
                    None => outcomes.add(a, p),
                }
                // The attributes the records' selections track (dropped ones are counted there).
                for (attribute, group) in attributes {
                    let wanted = if schema.sensitive.is_empty() {
                        self.fairness.contains_key(attribute)
                            || (self.fairness.len() < MAX_ATTRIBUTES
                                && (self.selections.is_empty() || self.selections.contains_key(attribute)))
                    } else {
                        schema.sensitive.contains(attribute)
                    };
                    if wanted {
                        self.fairness.entry(attribute.clone()).or_default().add(group, a, p);
                    }
                }
            }
            (Performance::Regression(summary), Task::Regression) => {
                let (Value::Number(a), Value::Number(p)) = (actual, predicted) else {
                    self.unreadable_outcomes += 1;
                    let bad =
                        if matches!(actual, Value::Number(_)) { ("prediction", predicted) } else { ("label", actual) };
                    return Err(unreadable(bad.0, bad.1));
                };
                summary.add(*a, *p);
            }
            _ => return Err(MonitorError::Mismatch("the window was made for another task".into())),
        }
        self.labelled += 1;
        Ok(())
    }

    /// Whether `other` keeps the same things (features by name, type and tracking, the
    /// prediction, the task), so that the two can [`merge`](Self::merge). Windows made
    /// before and after a model's feature set changed (its `exclude`) do not.
    pub fn same_shape(&self, other: &WindowState) -> bool {
        let column = |a: &ColumnState, b: &ColumnState| {
            a.name == b.name && a.dtype == b.dtype && a.flexible == b.flexible && a.tracks_unseen == b.tracks_unseen
        };
        self.features.len() == other.features.len()
            && self.features.iter().zip(&other.features).all(|(a, b)| column(a, b))
            && column(&self.prediction, &other.prediction)
            && std::mem::discriminant(&self.performance) == std::mem::discriminant(&other.performance)
    }

    /// Folds `other` (another window of the same model version and schema, e.g. the next
    /// hour) into this one. Counts merge exactly; sketches as documented in the crate docs.
    pub fn merge(&mut self, other: &WindowState) -> Result<(), MonitorError> {
        if self.features.len() != other.features.len() {
            return Err(MonitorError::Mismatch("the windows have different features".into()));
        }
        // Check everything before changing anything.
        for (a, b) in self.features.iter().zip(&other.features) {
            if a.name != b.name || a.dtype != b.dtype {
                return Err(MonitorError::Mismatch(format!("feature {:?} differs from {:?}", a.name, b.name)));
            }
        }
        match (&mut self.performance, &other.performance) {
            (Performance::Binary(a), Performance::Binary(b)) => a.merge(b),
            (Performance::Regression(a), Performance::Regression(b)) => a.merge(b),
            _ => return Err(MonitorError::Mismatch("the windows are for different tasks".into())),
        }
        for (a, b) in self.features.iter_mut().zip(&other.features) {
            a.merge(b)?;
        }
        self.prediction.merge(&other.prediction)?;
        self.records += other.records;
        self.labelled += other.labelled;
        self.records_with_violations += other.records_with_violations;
        self.unknown_features += other.unknown_features;
        self.unreadable_outcomes += other.unreadable_outcomes;
        self.dropped_attributes += other.dropped_attributes;
        self.rejected.merge(&other.rejected);
        for (attribute, groups) in &other.fairness {
            if self.fairness.contains_key(attribute) || self.fairness.len() < MAX_ATTRIBUTES {
                self.fairness.entry(attribute.clone()).or_default().merge(groups);
            }
        }
        for (attribute, groups) in &other.selections {
            if self.selections.contains_key(attribute) || self.selections.len() < MAX_ATTRIBUTES {
                self.selections.entry(attribute.clone()).or_default().merge(groups);
            } else {
                self.dropped_attributes += groups.groups().map(|(_, c)| c.count()).sum::<u64>();
            }
        }
        self.latency.merge(&other.latency);
        self.latency_quantiles.merge(&other.latency_quantiles);
        self.explain_sample.merge(&other.explain_sample);
        Ok(())
    }

    /// The binary encoding: `RKMW`, a version byte, the counters, then each column's
    /// counters and sketch encodings (riskops-stats' formats), the performance summary, the
    /// per-attribute group outcomes (labelled, then selections) and the latency summaries.
    /// Little-endian throughout.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer { out: Vec::with_capacity(4096) };
        w.out.extend_from_slice(MAGIC);
        w.u8(VERSION);
        for n in [
            self.records,
            self.labelled,
            self.records_with_violations,
            self.unknown_features,
            self.unreadable_outcomes,
            self.dropped_attributes,
        ] {
            w.u64(n);
        }
        for n in self.rejected.counts() {
            w.u64(n);
        }
        w.u32(self.features.len() as u32);
        for f in &self.features {
            f.encode(&mut w);
        }
        self.prediction.encode(&mut w);
        match &self.performance {
            Performance::Binary(b) => {
                w.u8(0);
                b.encode(&mut w.out);
            }
            Performance::Regression(r) => {
                w.u8(1);
                r.encode(&mut w.out);
            }
        }
        for per_attribute in [&self.fairness, &self.selections] {
            w.u32(per_attribute.len() as u32);
            for (attribute, groups) in per_attribute {
                w.str(attribute);
                groups.encode(&mut w.out);
            }
        }
        self.latency.encode(&mut w.out);
        self.latency_quantiles.encode(&mut w.out);
        self.explain_sample.encode(&mut w);
        w.out
    }

    /// Reads [`encode`](Self::encode)'s bytes; malformed input is an error, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<WindowState, MonitorError> {
        let mut r = Reader::new(bytes);
        if r.take(4)? != MAGIC {
            return Err(MonitorError::Decode("not a window state (bad magic)".into()));
        }
        let version = r.u8()?;
        if !(1..=VERSION).contains(&version) {
            return Err(MonitorError::Decode(format!("window state version {version} is not supported")));
        }
        let mut counters = [0u64; 6];
        for c in counters.iter_mut() {
            *c = r.u64()?;
        }
        let rejected = if version >= 2 {
            let records = r.u64()?;
            let mut by_reason = [0u64; 3];
            for c in by_reason.iter_mut() {
                *c = r.u64()?;
            }
            if by_reason.iter().any(|&n| n > records) {
                return Err(MonitorError::Decode("rejections by reason exceed the rejected records".into()));
            }
            Rejections::from_counts(records, by_reason)
        } else {
            Rejections::default()
        };
        let n = r.u32()? as usize;
        // Each column takes well over 16 bytes: refuse counts the input cannot hold.
        if n > r.remaining() / 16 {
            return Err(MonitorError::Decode("feature count exceeds the input".into()));
        }
        let mut features = Vec::with_capacity(n);
        for _ in 0..n {
            features.push(ColumnState::decode(&mut r)?);
        }
        let prediction = ColumnState::decode(&mut r)?;
        let performance = match r.u8()? {
            0 => Performance::Binary(r.sketch(BinaryOutcomes::decode)?),
            1 => Performance::Regression(r.sketch(RegressionSummary::decode)?),
            t => return Err(MonitorError::Decode(format!("unknown performance tag {t}"))),
        };
        let fairness = decode_groups(&mut r)?;
        let selections = if version >= 3 { decode_groups(&mut r)? } else { BTreeMap::new() };
        let latency = r.sketch(Moments::decode)?;
        let latency_quantiles = r.sketch(QuantileSketch::decode)?;
        let explain_sample = if version >= 4 { ExplainSample::decode(&mut r)? } else { ExplainSample::new(0) };
        if explain_sample.rows().any(|row| row.len() != features.len()) {
            return Err(MonitorError::Decode("an explanation sample row does not have the window's features".into()));
        }
        if r.remaining() != 0 {
            return Err(MonitorError::Decode("trailing bytes after the window state".into()));
        }
        let [records, labelled, records_with_violations, unknown_features, unreadable_outcomes, dropped_attributes] =
            counters;
        Ok(WindowState {
            records,
            labelled,
            records_with_violations,
            unknown_features,
            unreadable_outcomes,
            dropped_attributes,
            rejected,
            features,
            prediction,
            performance,
            fairness,
            selections,
            latency,
            latency_quantiles,
            explain_sample,
        })
    }
}

/// Group summaries per attribute, as [`WindowState::encode`] writes them.
fn decode_groups(r: &mut Reader<'_>) -> Result<BTreeMap<String, GroupOutcomes>, MonitorError> {
    let attributes = r.u32()? as usize;
    if attributes > MAX_ATTRIBUTES.max(r.remaining() / 8) {
        return Err(MonitorError::Decode("attribute count exceeds the input".into()));
    }
    let mut out = BTreeMap::new();
    for _ in 0..attributes {
        let name = r.str()?;
        out.insert(name, r.sketch(GroupOutcomes::decode)?);
    }
    Ok(out)
}

fn dtype_code(d: Dtype) -> u8 {
    match d {
        Dtype::Int64 => 0,
        Dtype::Float64 => 1,
        Dtype::Bool => 2,
        Dtype::Object => 3,
    }
}

fn dtype_of(code: u8) -> Result<Dtype, MonitorError> {
    Ok(match code {
        0 => Dtype::Int64,
        1 => Dtype::Float64,
        2 => Dtype::Bool,
        3 => Dtype::Object,
        c => return Err(MonitorError::Decode(format!("unknown dtype code {c}"))),
    })
}
