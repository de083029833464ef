//! What `riskops monitor analyze` reports per chunk, in the shape the issue promised:
//! `{"chunks":[{"start","end","records","drift":{…},"estimated":{…},"realized":{…}|null,
//! "multivariate":{…}}]}`. Undefined numbers (NannyML's NaN) are `null`.

use riskops_stats::monitoring::Estimate;
use serde::{Deserialize, Deserializer, Serialize};

/// The whole analysis.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    /// Rows per chunk (the last chunk may hold fewer).
    pub chunk_size: usize,
    /// What was fitted on the reference.
    pub reference: ReferenceSummary,
    /// The analysis file's chunks, in order.
    pub chunks: Vec<ChunkReport>,
}

/// The reference as fitted.
#[derive(Debug, Clone, Serialize)]
pub struct ReferenceSummary {
    /// Rows in the reference.
    pub records: usize,
    /// Its chunks (thresholds come from their values).
    pub chunks: usize,
    /// The feature columns compared (drift) and reconstructed (multivariate).
    pub features: Vec<String>,
    /// Whether NannyML's check chose to calibrate the scores (`None`: no estimation).
    pub calibrated: Option<bool>,
    /// Principal components kept by the reconstruction (`None`: no multivariate drift).
    pub components: Option<usize>,
}

/// One chunk: rows `start ..= end` of the analysis file.
#[derive(Debug, Clone, Serialize)]
pub struct ChunkReport {
    /// First row (0-based).
    pub start: usize,
    /// Last row, inclusive (as NannyML's `end_index`).
    pub end: usize,
    /// Rows in the chunk.
    pub records: usize,
    /// Univariate drift against the reference, as `riskops drift` computes it on these rows.
    pub drift: ChunkDrift,
    /// CBPE's estimates (`None` without a score column).
    pub estimated: Option<Estimated>,
    /// Metrics from the chunk's labels (`None` when it has none yet).
    pub realized: Option<Realized>,
    /// Data-reconstruction drift (`None` without feature columns to reconstruct).
    pub multivariate: Option<Multivariate>,
}

/// Univariate drift of one chunk.
#[derive(Debug, Clone, Serialize)]
pub struct ChunkDrift {
    /// Share of features that drifted.
    #[serde(serialize_with = "finite")]
    pub share: f64,
    /// Whether the share reached the dataset threshold.
    pub drifted: bool,
    /// Per feature, in the reference's order.
    pub features: Vec<FeatureDrift>,
    /// Features with no value in the chunk, not compared.
    pub skipped: Vec<String>,
}

/// One feature's drift in one chunk.
#[derive(Debug, Clone, Serialize)]
pub struct FeatureDrift {
    /// Column name.
    pub name: String,
    /// The method's name (`ks`, `wasserstein`, …).
    pub method: String,
    /// Statistic or distance.
    #[serde(serialize_with = "finite")]
    pub statistic: f64,
    /// The p-value, for tests.
    #[serde(serialize_with = "finite_opt")]
    pub p_value: Option<f64>,
    /// The method's threshold.
    #[serde(serialize_with = "finite")]
    pub threshold: f64,
    /// The verdict.
    pub drifted: bool,
}

/// One estimated metric.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EstimatedValue {
    /// The estimate.
    #[serde(serialize_with = "finite", deserialize_with = "nan_if_null")]
    pub value: f64,
    /// Its standard error.
    #[serde(serialize_with = "finite", deserialize_with = "nan_if_null")]
    pub sampling_error: f64,
    /// `value ± 3 · sampling_error`, within the metric's range.
    #[serde(serialize_with = "finite", deserialize_with = "nan_if_null")]
    pub lower: f64,
    /// See `lower`.
    #[serde(serialize_with = "finite", deserialize_with = "nan_if_null")]
    pub upper: f64,
    /// Alert thresholds from the reference chunks' realized values.
    #[serde(serialize_with = "finite", deserialize_with = "nan_if_null")]
    pub lower_threshold: f64,
    /// See `lower_threshold`.
    #[serde(serialize_with = "finite", deserialize_with = "nan_if_null")]
    pub upper_threshold: f64,
    /// Whether the estimate is outside the thresholds.
    pub alert: bool,
}

/// CBPE's estimates for a chunk (stored by the server for closed windows, hence
/// `Deserialize`; `null` reads back as NaN).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimated {
    pub roc_auc: EstimatedValue,
    pub f1: EstimatedValue,
    pub precision: EstimatedValue,
    pub recall: EstimatedValue,
    pub accuracy: EstimatedValue,
    pub true_positive: EstimatedValue,
    pub true_negative: EstimatedValue,
    pub false_positive: EstimatedValue,
    pub false_negative: EstimatedValue,
}

/// Metrics from a chunk's labels, on its labelled rows.
#[derive(Debug, Clone, Serialize)]
pub struct Realized {
    /// Labelled rows the values are computed on.
    pub labelled: usize,
    #[serde(serialize_with = "finite")]
    pub roc_auc: f64,
    #[serde(serialize_with = "finite")]
    pub f1: f64,
    #[serde(serialize_with = "finite")]
    pub precision: f64,
    #[serde(serialize_with = "finite")]
    pub recall: f64,
    #[serde(serialize_with = "finite")]
    pub accuracy: f64,
    #[serde(serialize_with = "finite")]
    pub true_positive: f64,
    #[serde(serialize_with = "finite")]
    pub true_negative: f64,
    #[serde(serialize_with = "finite")]
    pub false_positive: f64,
    #[serde(serialize_with = "finite")]
    pub false_negative: f64,
}

/// Multivariate drift of a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Multivariate {
    pub reconstruction_error: ReconstructionValue,
}

/// The reconstruction error of a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReconstructionValue {
    #[serde(serialize_with = "finite", deserialize_with = "nan_if_null")]
    pub value: f64,
    #[serde(serialize_with = "finite", deserialize_with = "nan_if_null")]
    pub sampling_error: f64,
    /// `value ± 3 · sampling_error` (lower not below 0).
    #[serde(serialize_with = "finite", deserialize_with = "nan_if_null")]
    pub lower: f64,
    #[serde(serialize_with = "finite", deserialize_with = "nan_if_null")]
    pub upper: f64,
    /// `null`: no lower threshold (NannyML drops one ≤ 0).
    #[serde(serialize_with = "finite", deserialize_with = "nan_if_null")]
    pub lower_threshold: f64,
    #[serde(serialize_with = "finite", deserialize_with = "nan_if_null")]
    pub upper_threshold: f64,
    pub alert: bool,
}

/// NaN and ±inf as `null`: JSON has neither.
fn finite<S: serde::Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    if x.is_finite() { s.serialize_f64(*x) } else { s.serialize_none() }
}

fn finite_opt<S: serde::Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match x {
        Some(v) if v.is_finite() => s.serialize_f64(*v),
        _ => s.serialize_none(),
    }
}

/// `null` (how `finite` writes NaN) back as NaN.
fn nan_if_null<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

impl EstimatedValue {
    fn of(x: &Estimate) -> EstimatedValue {
        EstimatedValue {
            value: x.value,
            sampling_error: x.sampling_error,
            lower: x.lower,
            upper: x.upper,
            lower_threshold: x.thresholds.lower,
            upper_threshold: x.thresholds.upper,
            alert: x.alert,
        }
    }
}

impl Estimated {
    /// The metrics monitors may watch as `estimated.<name>`, in NannyML's order.
    pub const NAMES: [&'static str; 9] = [
        "roc_auc",
        "f1",
        "precision",
        "recall",
        "accuracy",
        "true_positive",
        "true_negative",
        "false_positive",
        "false_negative",
    ];

    /// CBPE's answer for one chunk, in `Metric::ALL`'s order.
    pub fn from_estimates(e: &[Estimate; 9]) -> Estimated {
        let [roc_auc, f1, precision, recall, accuracy, true_positive, true_negative, false_positive, false_negative] =
            e.each_ref().map(EstimatedValue::of);
        Estimated {
            roc_auc,
            f1,
            precision,
            recall,
            accuracy,
            true_positive,
            true_negative,
            false_positive,
            false_negative,
        }
    }

    /// The metric of that name (one of [`Estimated::NAMES`]).
    pub fn get(&self, name: &str) -> Option<&EstimatedValue> {
        Some(match name {
            "roc_auc" => &self.roc_auc,
            "f1" => &self.f1,
            "precision" => &self.precision,
            "recall" => &self.recall,
            "accuracy" => &self.accuracy,
            "true_positive" => &self.true_positive,
            "true_negative" => &self.true_negative,
            "false_positive" => &self.false_positive,
            "false_negative" => &self.false_negative,
            _ => return None,
        })
    }

    /// Every metric with its name, in [`Estimated::NAMES`]' order.
    pub fn values(&self) -> impl Iterator<Item = (&'static str, &EstimatedValue)> {
        Self::NAMES.into_iter().filter_map(|n| self.get(n).map(|v| (n, v)))
    }
}
