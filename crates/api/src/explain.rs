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
    /// `auto` (default: exact TreeSHAP for tree ensembles riskops runs, else
    /// `permutation`), `tree` (interventional), `tree-path` (path-dependent, covers from the
    /// version's training data) or `permutation` (sampled feature orderings, any model).
    #[serde(default)]
    pub method: Option<String>,
    /// `tree-path`: what a node's cover counts — `counts` of training rows (scikit-learn,
    /// LightGBM; default) or `hessians` (XGBoost's binary logistic objective).
    #[serde(default)]
    pub covers: Option<String>,
    /// Background rows drawn (default 100).
    #[serde(default)]
    pub background_rows: Option<u64>,
    /// Feature orderings sampled per row by the permutation method (default 10).
    #[serde(default)]
    pub permutations: Option<u32>,
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
    /// `tree_shap_interventional`, `tree_shap_path_dependent` (exact) or `permutation_shap`
    /// (sampled).
    pub method: String,
    /// What the values are in: `log_odds` (boosted classifiers), `probability` (forests) or
    /// `raw` (regressors).
    pub output: String,
    /// The expected output over the background.
    pub base_value: f64,
    pub background: String,
    pub background_rows: u64,
    /// The background's rows by position in its dataset, so the values can be reproduced.
    #[serde(default)]
    pub background_sample: Vec<u64>,
    /// Sampled methods: orderings per row, and the largest standard error of a value over
    /// them (0 for a model additive in its output, e.g. a linear one); `null` when exact.
    #[serde(default)]
    pub orderings: Option<u32>,
    #[serde(default)]
    pub sampling_error: Option<f64>,
    /// The features the trees read: the model's input columns, or the columns its
    /// preprocessing computes (`f0`, `f1`, …) for a pipeline.
    pub features: Vec<String>,
    /// Most important first.
    pub global: Vec<FeatureImportance>,
    /// The permutation importance's score: `roc_auc` or `r2`; `null` without a label.
    pub permutation_metric: Option<String>,
    /// Largest |base value + Σ contributions − output| over the rows.
    pub additivity_max_error: f64,
    /// How the top features' values move the output.
    #[serde(default)]
    pub dependence: Vec<Dependence>,
    pub rows: Vec<RowAttribution>,
    /// Where the rows' values are served as a Parquet table (`row`, `output`, one column per
    /// feature); set in answers, not stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_artifact: Option<String>,
}

/// One feature's SHAP values by its value: the explained rows grouped into bins (each
/// distinct value when there are few, else quantile bins; text values by category).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Dependence {
    pub feature: String,
    pub bins: Vec<DependenceBin>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DependenceBin {
    /// The bin's values: `[low, high]` for numbers (one value when equal), the category for text,
    /// `missing` for missing values.
    pub label: String,
    pub rows: u64,
    /// Mean of the feature's values in the bin (numbers only).
    pub mean_value: Option<f64>,
    pub mean_shap: f64,
    pub min_shap: f64,
    pub max_shap: f64,
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
    /// Add the principal reasons for an adverse decision (default: for projects of the
    /// finance industry pack).
    #[serde(default)]
    pub reasons: Option<bool>,
    /// Which way of the output is adverse: `increase` (default; e.g. the log-odds of
    /// default) or `decrease` (e.g. the log-odds of approval).
    #[serde(default)]
    pub adverse: Option<String>,
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
    /// Up to four principal reasons for an adverse decision, strongest first, in words for
    /// a notice to the customer (ECOA / Regulation B); empty unless asked for or in a finance
    /// project, and when no feature pushed toward the adverse side.
    #[serde(default)]
    pub reasons: Vec<ReasonView>,
}

/// One principal reason for an adverse decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReasonView {
    pub rank: u32,
    pub feature: String,
    pub value: Option<String>,
    /// How far the feature moved the output toward the adverse side.
    pub weight: f64,
    /// The version's reviewed wording (`params.reason_texts`), else the feature and its value.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RecordExplanations {
    /// One per record, in the order sent.
    pub explanations: Vec<RecordExplanationView>,
}
