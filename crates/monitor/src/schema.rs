//! The model's input schema, taken from the reference profile: which features exist, their
//! pandas dtypes, and what the reference saw (range, categories) for the quality checks.

use crate::features::{Features, Layout};
use crate::record::{Record, Value};
use riskops_data::profile::{Dtype, TableProfile};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// What the model predicts, which decides how predictions and labels are read.
#[derive(Debug, Clone, PartialEq)]
pub enum Task {
    /// Two classes; `positive` is the positive class as a category (`"1"`, `"True"`,
    /// `"bad"`). A prediction or label is positive when its category equals it (booleans
    /// `true` also match `"1"`, numbers `1` also match `"True"`/`"true"`).
    Binary { positive: String },
    /// Numeric predictions and labels.
    Regression,
}

impl Task {
    /// Whether `v` is the positive class (binary tasks); `None` for null or regression.
    pub fn is_positive(&self, v: &Value) -> Option<bool> {
        let Task::Binary { positive } = self else { return None };
        let category = v.category()?;
        Some(
            category == *positive
                || matches!(v, Value::Bool(true)) && matches!(positive.as_str(), "1" | "true")
                || matches!(v, Value::Number(x) if *x == 1.0) && matches!(positive.as_str(), "True" | "true"),
        )
    }
}

/// How to read the reference profile into a schema.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaOptions {
    /// Reference columns that are not model inputs (the target, an id, a stored prediction).
    pub exclude: Vec<String>,
    pub task: Task,
    /// Attributes to compute fairness for; empty = every attribute records carry, up to
    /// [`MAX_ATTRIBUTES`](crate::MAX_ATTRIBUTES).
    pub sensitive: Vec<String>,
}

/// One feature of the schema.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureSpec {
    pub name: String,
    pub dtype: Dtype,
    /// Finite range of the reference (numeric columns).
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Categories of the reference, for "never seen" counts: text and boolean columns, and
    /// integer columns with at most 10 distinct values (categorical in Evidently's typing).
    /// `None` when the column is not categorical or the reference's counts were capped.
    pub known: Option<HashSet<String>>,
}

/// The input schema: features in the reference's column order.
#[derive(Debug, Clone, PartialEq)]
pub struct InputSchema {
    pub features: Vec<FeatureSpec>,
    pub task: Task,
    pub sensitive: Vec<String>,
    index: HashMap<String, usize>,
    /// The features' names in schema order. Records put in this layout by
    /// [`conform`](InputSchema::conform) are checked and folded position by position.
    layout: Arc<Layout>,
}

/// What [`InputSchema::conform`] worked out for the last layout it saw: records of a batch
/// share a layout, so the positions are found once per batch, not once per record.
#[derive(Debug, Default)]
pub struct Conformer {
    /// The layout, and where each schema feature is in it (`None`: it does not fit).
    last: Option<(Arc<Layout>, Option<Vec<usize>>)>,
}

impl InputSchema {
    pub fn from_profile(profile: &TableProfile, options: &SchemaOptions) -> InputSchema {
        let features: Vec<FeatureSpec> = profile
            .columns
            .iter()
            .filter(|c| !options.exclude.contains(&c.name))
            .map(|c| {
                let numeric = matches!(c.dtype, Dtype::Int64 | Dtype::Float64);
                let categorical = match c.dtype {
                    Dtype::Object | Dtype::Bool => true,
                    Dtype::Int64 => c.distinct.estimate() <= riskops_drift::rules::MAX_INT_CATEGORIES as u64,
                    Dtype::Float64 => false,
                };
                let known = (categorical && c.frequencies.is_exact())
                    .then(|| c.frequencies.iter().map(|(v, _)| v.to_string()).collect());
                FeatureSpec {
                    name: c.name.clone(),
                    dtype: c.dtype,
                    min: if numeric { c.moments.min() } else { None },
                    max: if numeric { c.moments.max() } else { None },
                    known,
                }
            })
            .collect();
        let index = features.iter().enumerate().map(|(i, f)| (f.name.clone(), i)).collect();
        // Profile columns have unique names.
        let layout = Arc::new(Layout::new(features.iter().map(|f| f.name.clone()).collect()).unwrap_or_default());
        InputSchema { features, task: options.task.clone(), sensitive: options.sensitive.clone(), index, layout }
    }

    /// Position of a feature.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// Calls `each(position, value)` for every feature of the schema with the record's value
    /// (`None`: absent), in schema order, and `unknown(name)` for each record feature the
    /// schema lacks.
    pub fn align<'r>(
        &self,
        record: &'r Record,
        mut each: impl FnMut(usize, Option<&'r Value>),
        mut unknown: impl FnMut(&'r str),
    ) {
        let features = &record.features;
        if Arc::ptr_eq(features.layout(), &self.layout) {
            for (i, v) in features.values().iter().enumerate() {
                each(i, Some(v));
            }
            return;
        }
        let mut present: Vec<Option<&'r Value>> = vec![None; self.features.len()];
        for (name, v) in features.iter() {
            match self.position(name) {
                Some(i) => present[i] = Some(v),
                None => unknown(name),
            }
        }
        for (i, v) in present.into_iter().enumerate() {
            each(i, v);
        }
    }

    /// Puts a record's features in schema order when it has exactly the schema's features
    /// (in any order), so that [`align`](InputSchema::align) walks them by position. Records
    /// with missing or unknown features are left as they are.
    pub fn conform(&self, features: Features, memo: &mut Conformer) -> Features {
        if Arc::ptr_eq(features.layout(), &self.layout) {
            return features;
        }
        let fits = match &memo.last {
            Some((layout, fits)) if Arc::ptr_eq(layout, features.layout()) => fits,
            _ => {
                let from: Option<Vec<usize>> = (features.len() == self.layout.len())
                    .then(|| self.layout.names().iter().map(|n| features.layout().position(n)).collect())
                    .flatten();
                &memo.last.insert((features.layout().clone(), from)).1
            }
        };
        match fits {
            Some(from) if from.iter().enumerate().all(|(i, &j)| i == j) => features.relabelled(&self.layout),
            Some(from) => features.rearranged(&self.layout, from),
            None => features,
        }
    }

    /// Checks that a record can be kept: every feature of the schema present (null is a
    /// missing value, allowed), no feature the schema lacks, and a prediction, label, score
    /// and latency that can be read for the task. `Err` lists every reason with its kind.
    ///
    /// A feature value of the wrong kind (text in a numeric column) does not reject the
    /// record: the window counts it as that feature's type violation and leaves it out of
    /// the summaries, as it would a missing value.
    pub fn check(&self, record: &Record) -> Result<(), Vec<(RejectReason, String)>> {
        let mut reasons = Vec::new();
        // Missing features in schema order (`align` reports the unknown ones first).
        let mut missing: Vec<(RejectReason, String)> = Vec::new();
        self.align(
            record,
            |i, value| {
                if value.is_none() {
                    missing
                        .push((RejectReason::MissingFeature, format!("missing feature {:?}", self.features[i].name)));
                }
            },
            |name| reasons.push((RejectReason::UnknownFeature, format!("unknown feature {name:?}"))),
        );
        reasons.extend(missing);
        let outcome_problem = |what: &str, v: &Value| -> Option<(RejectReason, String)> {
            let why = match (&self.task, v) {
                (_, Value::Null) => format!("{what} is null"),
                (Task::Regression, Value::Number(x)) if x.is_finite() => return None,
                (Task::Regression, other) => format!("{what} must be a finite number, not {}", other.kind()),
                (Task::Binary { .. }, Value::Number(x)) if !x.is_finite() => format!("{what} is not finite"),
                (Task::Binary { .. }, _) => return None,
            };
            Some((RejectReason::Type, why))
        };
        reasons.extend(outcome_problem("prediction", &record.prediction));
        if let Some(label) = &record.label {
            reasons.extend(outcome_problem("label", label));
        }
        if let Some(s) = record.score
            && !s.is_finite()
        {
            reasons.push((RejectReason::Type, "score is not finite".into()));
        }
        if let Some(l) = record.latency_ms
            && !(l.is_finite() && l >= 0.0)
        {
            reasons.push((RejectReason::Type, "latency_ms must be a non-negative number".into()));
        }
        if reasons.is_empty() { Ok(()) } else { Err(reasons) }
    }
}

/// Why a record was rejected, as windows count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RejectReason {
    /// A feature the schema does not have.
    UnknownFeature,
    /// A feature of the schema absent from the record (null is not absent).
    MissingFeature,
    /// A prediction, label, score or latency that cannot be read for the task.
    Type,
}

impl RejectReason {
    pub const ALL: [RejectReason; 3] = [RejectReason::UnknownFeature, RejectReason::MissingFeature, RejectReason::Type];

    pub fn name(self) -> &'static str {
        match self {
            RejectReason::UnknownFeature => "unknown_feature",
            RejectReason::MissingFeature => "missing_feature",
            RejectReason::Type => "type",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Rejected records by reason; a record with reasons of two kinds counts under both,
/// and once in `records`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rejections {
    pub records: u64,
    by_reason: [u64; 3],
}

impl Rejections {
    /// Counts one rejected record with its reasons' kinds.
    pub fn add(&mut self, kinds: impl IntoIterator<Item = RejectReason>) {
        self.records += 1;
        let mut seen = [false; 3];
        for k in kinds {
            seen[k.index()] = true;
        }
        for (n, s) in self.by_reason.iter_mut().zip(seen) {
            *n += u64::from(s);
        }
    }

    pub fn count(&self, reason: RejectReason) -> u64 {
        self.by_reason[reason.index()]
    }

    pub fn merge(&mut self, other: &Rejections) {
        self.records += other.records;
        for (a, b) in self.by_reason.iter_mut().zip(other.by_reason) {
            *a += b;
        }
    }

    pub(crate) fn from_counts(records: u64, by_reason: [u64; 3]) -> Rejections {
        Rejections { records, by_reason }
    }

    pub(crate) fn counts(&self) -> [u64; 4] {
        [self.records, self.by_reason[0], self.by_reason[1], self.by_reason[2]]
    }
}

/// Whether `v` can be a value of a `dtype` column (null always can: it is missing).
///
/// float64 and int64 take numbers (a number is never a type violation in a numeric
/// column: 10697.5 where the reference held only integers is a number, as pandas would
/// read it); bool takes booleans; object (text) takes strings. Nothing is coerced: `"3"`
/// in a numeric column and `3` in a text column do not fit.
#[inline]
pub fn fits(dtype: Dtype, v: &Value) -> bool {
    matches!(
        (dtype, v),
        (_, Value::Null)
            | (Dtype::Float64 | Dtype::Int64, Value::Number(_))
            | (Dtype::Bool, Value::Bool(_))
            | (Dtype::Object, Value::Text(_))
    )
}

/// Why `v` cannot be a value of a `dtype` column (see [`fits`]).
#[inline]
pub fn type_violation(dtype: Dtype, v: &Value) -> Option<String> {
    (!fits(dtype, v)).then(|| format!("expected {}, got {}", expected(dtype), v.kind()))
}

fn expected(dtype: Dtype) -> &'static str {
    match dtype {
        Dtype::Float64 => "a number (float64)",
        Dtype::Int64 => "a number (int64)",
        Dtype::Bool => "a boolean (bool)",
        Dtype::Object => "a string (object)",
    }
}
