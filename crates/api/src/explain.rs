//! Explanations riskops produces: SHAP values of a tree-ensemble model on a dataset's rows,
//! global importance, and permutation importance.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /api/v1/models/{name}/versions/{version}/explanations`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExplainRequest {
    /// The rows to explain, `NAME@V`.
    pub data: String,
    /// Rows explained (a seeded sample; default 1,000, at most 100,000).
    #[serde(default)]
    pub rows: Option<u64>,
    /// The outcome column: left out of the inputs, and needed for permutation importance.
    #[serde(default)]
    pub label: Option<String>,
    /// The background SHAP integrates over, `NAME@V` (default: `data`); 100 rows are drawn.
    #[serde(default)]
    pub background: Option<String>,
    /// Shuffles per feature for permutation importance (default 5).
    #[serde(default)]
    pub repeats: Option<u32>,
    /// Seeds the samples and the shuffles (default 0).
    #[serde(default)]
    pub seed: Option<u64>,
}

/// One feature's importance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FeatureImportance {
    pub feature: String,
    /// Mean |SHAP value| over the explained rows, in the model's margin.
    pub mean_abs_shap: f64,
    /// Mean drop of the score when the feature is shuffled (scikit-learn's
    /// `permutation_importance`); `null` without a label.
    pub permutation_importance: Option<f64>,
    /// Its standard deviation over the repeats.
    pub std: Option<f64>,
}

/// One explained row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RowAttribution {
    /// The row's position in the dataset.
    pub row: u64,
    /// The model's margin for the row (= base value + Σ contributions).
    pub output: f64,
    /// One value per feature, in the order of `features`.
    pub contributions: Vec<f64>,
}

/// What `riskops explain` found, as filed (the stored report has no `evidence_id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ExplanationReport {
    pub evidence_id: Option<i64>,
    /// `explainability`.
    pub kind: String,
    pub produced_by: String,
    /// The additivity check held on every row.
    pub passed: bool,
    pub model: String,
    pub data: String,
    /// `tree_shap_interventional`.
    pub method: String,
    /// What the values are in: `log_odds` (boosted classifiers), `probability` (forests) or
    /// `raw` (regressors).
    pub output: String,
    /// The expected output over the background.
    pub base_value: f64,
    pub background: String,
    pub background_rows: u64,
    /// The features the trees read: the model's input columns, or the columns its
    /// preprocessing computes (`f0`, `f1`, …) for a pipeline.
    pub features: Vec<String>,
    /// Most important first.
    pub global: Vec<FeatureImportance>,
    /// The permutation importance's score: `roc_auc` or `r2`; `null` without a label.
    pub permutation_metric: Option<String>,
    /// Largest |base value + Σ contributions − output| over the rows.
    pub additivity_max_error: f64,
    pub rows: Vec<RowAttribution>,
}

/// `POST /api/v1/projects/{project}/models/{model}/versions/{version}/explain`: one record
/// (`record`) or several (`records`, at most 1,000), each an object of column → value.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExplainRecordsRequest {
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub record: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub records: Option<Vec<serde_json::Map<String, serde_json::Value>>>,
}

/// One feature's part in a decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ContributionView {
    pub feature: String,
    /// The record's value (`null`: missing, or a feature the model's preprocessing computes).
    pub value: Option<String>,
    /// How far the feature moved the output from the base value.
    pub contribution: f64,
}

/// Why the model decided as it did for one record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RecordExplanationView {
    /// The model's label for the record.
    pub prediction: String,
    /// The output explained (= base value + Σ contributions), in `output_space`.
    pub output: f64,
    pub base_value: f64,
    /// `log_odds`, `probability` or `raw`.
    pub output_space: String,
    /// Largest |contribution| first.
    pub contributions: Vec<ContributionView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RecordExplanations {
    /// One per record, in the order sent.
    pub explanations: Vec<RecordExplanationView>,
}
