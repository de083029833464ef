//! Evidence riskops produces itself: `riskops validate` (and later `riskops stress`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// `POST /api/v1/models/{name}/versions/{version}/validations`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidationRequest {
    /// The dataset version to score, `NAME@V`.
    pub data: String,
    /// The column holding the outcome.
    pub label: String,
    /// Protected attributes: fairness evidence is filed too when any are given.
    #[serde(default)]
    pub protected: Vec<String>,
    /// Columns to look for weak segments in; absent: every feature (`auto`).
    #[serde(default)]
    pub segments: Option<Vec<String>>,
    /// Decision threshold on the positive class's probability; absent: the model's label.
    #[serde(default)]
    pub threshold: Option<f64>,
    /// `production`: also score the version in production on the same rows.
    #[serde(default)]
    pub compare_with: Option<String>,
    /// Seeds the bootstrap (default 0), so a report can be reproduced.
    #[serde(default)]
    pub seed: Option<u64>,
}

/// A metric with its 95% confidence interval (DeLong for ROC AUC, seeded bootstrap otherwise).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Estimate {
    pub value: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CalibrationBin {
    pub lower: f64,
    pub upper: f64,
    pub n: u64,
    pub mean_predicted: Option<f64>,
    pub fraction_positive: Option<f64>,
}

/// Reliability of the positive class's probability: ten equal-width bins and the expected
/// calibration error (Σ n_b/N · |fraction positive − mean predicted|).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Calibration {
    pub ece: f64,
    pub bins: Vec<CalibrationBin>,
}

/// A slice of the rows whose metric is compared with the whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SegmentResult {
    /// e.g. `AGE in [21, 28)` or `SEX = 2`.
    pub segment: String,
    pub n: u64,
    pub metric: String,
    pub value: f64,
    /// value − the whole's value.
    pub gap: f64,
    /// One-sided p-value that the segment is below the whole, Holm-adjusted over all segments.
    pub p_value: f64,
    /// p_value < 0.05.
    pub significant: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GroupResult {
    pub group: String,
    pub n: u64,
    pub selection_rate: Option<f64>,
    pub true_positive_rate: Option<f64>,
    pub false_positive_rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AttributeFairness {
    pub attribute: String,
    pub groups: Vec<GroupResult>,
    pub demographic_parity_ratio: Option<f64>,
    pub demographic_parity_difference: Option<f64>,
    pub equalized_odds_difference: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FairnessResult {
    pub attributes: Vec<AttributeFairness>,
}

/// The version in production scored on the same rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ChampionResult {
    pub model: String,
    pub version: u32,
    pub metrics: BTreeMap<String, Estimate>,
    /// Challenger − champion ROC AUC, with its paired DeLong interval.
    pub roc_auc_difference: Option<Estimate>,
}

/// One comparison with a policy threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CheckResult {
    pub name: String,
    pub value: Option<f64>,
    pub threshold: f64,
    pub passed: bool,
}

/// What `riskops validate` found, as filed (the stored report has no `evidence_id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ValidationReport {
    pub evidence_id: Option<i64>,
    /// `validation` (or `fairness` for the fairness evidence's report).
    pub kind: String,
    pub produced_by: String,
    pub passed: bool,
    pub model: String,
    pub data: String,
    pub task: String,
    pub label: String,
    /// The class whose probability is the score (binary classifiers).
    pub positive_class: Option<String>,
    pub n: u64,
    pub metrics: BTreeMap<String, Estimate>,
    pub calibration: Option<Calibration>,
    /// How segments were tested.
    pub segment_test: String,
    pub segments: Vec<SegmentResult>,
    pub fairness: Option<FairnessResult>,
    pub champion: Option<ChampionResult>,
    pub checks: Vec<CheckResult>,
    /// The fairness evidence filed with it, when protected attributes were given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fairness_evidence_id: Option<i64>,
}

/// `POST /api/v1/models/{name}/versions/{version}/stress-tests`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StressRequest {
    /// The dataset version to perturb, `NAME@V`.
    pub data: String,
    /// The outcome column: needed for `shift_degradation` and `unseen_data`.
    #[serde(default)]
    pub label: Option<String>,
    /// Data the model has not seen (e.g. a later period), `NAME@V`, compared with `data`.
    #[serde(default)]
    pub unseen: Option<String>,
    /// Declared monotone constraints, `COL:+` (increasing) or `COL:-` (decreasing).
    #[serde(default)]
    pub monotone: Vec<String>,
    /// Seeds the sampling and the noise (default 0), so a run is reproduced.
    #[serde(default)]
    pub seed: Option<u64>,
}

/// An input that made the model fail a check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StressFailure {
    /// The values changed from a real row: column → value (`null` for missing).
    pub input: BTreeMap<String, Option<String>>,
    /// What the model gave (or the error).
    pub output: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StressCheck {
    /// `edge_cases`, `noise_robustness`, `shift_degradation`, `unseen_data` or `monotonicity`.
    pub name: String,
    pub passed: bool,
    pub value: Option<f64>,
    /// From the policy (`stress.max_flip_rate`, …); null where any failure fails.
    pub threshold: Option<f64>,
    /// Per feature (or per level), the numbers behind `value`.
    pub by_feature: BTreeMap<String, BTreeMap<String, f64>>,
    pub failures: Vec<StressFailure>,
    /// What was done and how `value` is read.
    pub detail: String,
}

/// What `riskops stress` found, as filed (the stored report has no `evidence_id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StressReport {
    pub evidence_id: Option<i64>,
    pub kind: String,
    pub produced_by: String,
    pub passed: bool,
    pub model: String,
    pub data: String,
    pub seed: u64,
    pub checks: Vec<StressCheck>,
}
