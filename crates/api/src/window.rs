//! A monitoring window's report: drift per feature against the version's reference, data
//! quality, performance once labels arrive, fairness per sensitive attribute, latency and
//! business value.
//!
//! Numbers that may be undefined (a rate over nothing, a metric before labels) are `null`.

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::marker::PhantomData;
use utoipa::ToSchema;

/// Values by name (feature, attribute, group, reason) in the report's order, sent as a JSON
/// object.
#[derive(Debug, Clone, PartialEq)]
pub struct ByName<T>(pub Vec<(String, T)>);

impl<T> Default for ByName<T> {
    fn default() -> Self {
        ByName(Vec::new())
    }
}

impl<T> ByName<T> {
    pub fn get(&self, name: &str) -> Option<&T> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &T)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v))
    }
}

impl<T: Serialize> Serialize for ByName<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ByName<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ByNameVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ByNameVisitor<T> {
            type Value = ByName<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of values by name")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ByName<T>, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(entry) = map.next_entry()? {
                    out.push(entry);
                }
                Ok(ByName(out))
            }
        }
        deserializer.deserialize_map(ByNameVisitor(PhantomData))
    }
}

/// One window of one version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WindowReport {
    pub start: String,
    pub end: String,
    pub version: String,
    /// Records accepted into the window.
    pub records: u64,
    /// Of those, records whose label has arrived.
    pub labelled: u64,
    pub drift: WindowDrift,
    /// The predictions against the version's first window; `null` without one.
    pub prediction_drift: Option<PredictionDrift>,
    pub quality: Quality,
    /// `null` until labels arrive.
    pub performance: Option<Performance>,
    /// Per sensitive attribute.
    #[schema(value_type = std::collections::HashMap<String, WindowFairness>)]
    pub fairness: ByName<WindowFairness>,
    /// `null` when no record carried its latency.
    pub latency: Option<Latency>,
    /// `null` without values per outcome (`riskops kpi set`) or labels.
    pub business: Option<Business>,
    /// Attributions of the window's sampled records against the validation data's: `null`
    /// unless the model keeps a sample (`explain_sample`); `{"skipped": reason}` when they
    /// cannot be computed (a model served over HTTP, not a tree ensemble).
    #[serde(default)]
    pub explain: Option<WindowExplanation>,
    /// Performance estimated without labels (NannyML's CBPE) from a closed window's records
    /// against the reference's scores and labels, with realized values beside it once labels
    /// arrive; `{"skipped": reason}` when there is none (an open window, no score and label
    /// columns configured, a reference that cannot serve). `null` from older servers.
    #[serde(default)]
    pub estimated: Option<WindowEstimated>,
    /// Multivariate drift of a closed window's records: the data-reconstruction error of a
    /// PCA fitted on the reference (NannyML's `DataReconstructionDriftCalculator`);
    /// `{"skipped": reason}` when there is none.
    #[serde(default)]
    pub multivariate: Option<WindowMultivariate>,
}

/// The window's estimated performance, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum WindowEstimated {
    Computed(Box<EstimatedPerformance>),
    Skipped { skipped: String },
}

/// CBPE's estimates for one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EstimatedPerformance {
    /// Records estimated from (those with a score and a readable predicted class).
    pub records: u64,
    /// Whether the reference's scores were calibrated (isotonic regression, when NannyML's
    /// check finds it helps).
    pub calibrated: bool,
    /// Reference rows per chunk the alert thresholds come from.
    pub chunk_size: u64,
    pub roc_auc: EstimatedMetric,
    pub f1: EstimatedMetric,
    pub precision: EstimatedMetric,
    pub recall: EstimatedMetric,
    pub accuracy: EstimatedMetric,
    pub true_positive: EstimatedMetric,
    pub true_negative: EstimatedMetric,
    pub false_positive: EstimatedMetric,
    pub false_negative: EstimatedMetric,
}

/// One estimated metric (`null`: undefined).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EstimatedMetric {
    pub value: Option<f64>,
    pub sampling_error: Option<f64>,
    /// `value ± 3 · sampling_error`, within the metric's range.
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    /// Alert thresholds: the reference chunks' realized values, mean ± 3 std.
    pub lower_threshold: Option<f64>,
    pub upper_threshold: Option<f64>,
    /// Whether the estimate is outside the thresholds.
    pub alert: bool,
    /// The same metric from the window's labelled records; `null` until labels arrive.
    pub realized: Option<f64>,
}

/// The window's multivariate drift, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum WindowMultivariate {
    Computed(MultivariateDrift),
    Skipped { skipped: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MultivariateDrift {
    pub reconstruction_error: ReconstructionError,
}

/// The mean reconstruction error of the window's records (`null`: undefined).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReconstructionError {
    pub value: Option<f64>,
    pub sampling_error: Option<f64>,
    /// `value ± 3 · sampling_error`.
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    /// `null`: no lower threshold (NannyML drops one ≤ 0).
    pub lower_threshold: Option<f64>,
    pub upper_threshold: Option<f64>,
    /// Whether the error is outside the thresholds.
    pub alert: bool,
}

/// The window's attributions, or why there are none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum WindowExplanation {
    Computed(Attribution),
    Skipped { skipped: String },
}

/// Mean |SHAP| per feature over the window's sample, its share of the total and its change
/// from the share on the version's validation data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Attribution {
    /// Records of the window explained.
    pub sampled: u64,
    /// Rows of the validation data explained.
    pub reference_rows: u64,
    pub method: String,
    /// `log_odds`, `probability` or `raw`.
    pub output_space: String,
    /// ½ Σ |change|: the share of the model's reliance that moved between features.
    pub shift: f64,
    /// Of the logged outputs, the share the model's attributions of the logged features do
    /// not account for (0 when every logged output is the model's own on those features);
    /// `null` when records carry no score (binary) or numeric prediction (regression).
    pub unexplained: Option<f64>,
    /// Per feature, largest share first.
    #[schema(value_type = std::collections::HashMap<String, FeatureAttribution>)]
    pub features: ByName<FeatureAttribution>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FeatureAttribution {
    pub mean_abs_shap: f64,
    /// Of the sum of every feature's mean |SHAP|.
    pub share: f64,
    pub reference_mean_abs_shap: f64,
    pub reference_share: f64,
    /// `share − reference_share`.
    pub change: f64,
}

/// Whether a window had enough records for its drift to be judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DriftStatus {
    Ok,
    /// Fewer records than `min_records`: statistics are shown, verdicts mean little.
    Insufficient,
}

/// Dataset-level drift of a window (Evidently's rule: drifted when at least half the
/// compared features drift).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WindowDrift {
    pub status: DriftStatus,
    pub min_records: u64,
    /// Share of compared features that drifted.
    pub share: f64,
    pub drifted: bool,
    pub n_drifted: u64,
    /// Features whose verdict may differ from the exact computation's.
    pub n_near_threshold: u64,
    pub features: Vec<FeatureDrift>,
    /// Features not compared, with the reason.
    pub skipped: Vec<SkippedFeature>,
    /// `true`: computed from the window's raw records exactly as `riskops drift` computes
    /// it on the same rows (a closed window). `false`: from the sketches (an open window, or
    /// raw records unavailable), each feature with its `approx_error`. Absent from older
    /// servers, read as `false`.
    #[serde(default)]
    pub exact: bool,
    /// When the exact result was computed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub computed_at: Option<String>,
    /// Where the result comes from when that needs saying: an open window's sketches, raw
    /// records expired under the retention (the last exact result kept), none kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SkippedFeature {
    pub name: String,
    pub reason: String,
}

/// One feature's drift in a window, sketch against the reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FeatureDrift {
    pub name: String,
    /// `num` or `cat`.
    #[serde(rename = "type")]
    pub column_type: String,
    /// `ks`, `wasserstein`, `chisquare`, `ztest`, `jensenshannon`, …
    pub method: String,
    /// The test statistic or the distance; `null` when undefined.
    pub statistic: Option<f64>,
    pub p_value: Option<f64>,
    pub threshold: f64,
    pub drifted: bool,
    pub n_reference: u64,
    pub n_current: u64,
    /// Whether the statistic is what the raw values would give.
    pub exact: bool,
    /// Bound on |statistic − exact| (99% confidence); `null` when unbounded.
    pub approx_error: Option<f64>,
    /// The p-values the exact statistic could have (KS).
    pub p_value_range: Option<[f64; 2]>,
    /// The verdict may differ from the exact computation's.
    pub near_threshold: bool,
}

/// Prediction drift: compared, or why not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum PredictionDrift {
    Compared(FeatureDrift),
    Skipped { skipped: String },
}

/// What arrived missing, out of range, unseen or of the wrong type, and what was refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Quality {
    pub volume: u64,
    pub rejected: u64,
    /// Of the records that arrived for the window, the share refused.
    pub rejected_rate: Option<f64>,
    #[schema(value_type = std::collections::HashMap<String, u64>)]
    pub rejected_by_reason: ByName<u64>,
    pub records_with_violations: u64,
    pub unknown_features: u64,
    #[schema(value_type = std::collections::HashMap<String, Option<f64>>)]
    pub missing_rate: ByName<Option<f64>>,
    /// Numeric features.
    #[schema(value_type = std::collections::HashMap<String, Option<f64>>)]
    pub out_of_range_rate: ByName<Option<f64>>,
    /// Features whose categories the reference lists.
    #[schema(value_type = std::collections::HashMap<String, Option<f64>>)]
    pub unseen_categories: ByName<Option<f64>>,
    #[schema(value_type = std::collections::HashMap<String, u64>)]
    pub unseen_counts: ByName<u64>,
    #[schema(value_type = std::collections::HashMap<String, u64>)]
    pub type_violations: ByName<u64>,
    #[schema(value_type = std::collections::HashMap<String, Option<f64>>)]
    pub type_violation_rate: ByName<Option<f64>>,
    /// Per feature, up to ten unseen categories as `[value, count]` pairs.
    #[schema(value_type = std::collections::HashMap<String, Vec<Vec<Object>>>)]
    pub unseen_examples: ByName<Vec<(String, u64)>>,
}

/// Performance against the labels that arrived: a classifier's or a regressor's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Performance {
    Binary(BinaryPerformance),
    Regression(RegressionPerformance),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BinaryPerformance {
    pub count: u64,
    pub accuracy: Option<f64>,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
    pub roc_auc: Option<f64>,
    /// Bound on |roc_auc − exact| once scores are binned.
    pub roc_auc_max_error: Option<f64>,
    pub log_loss: Option<f64>,
    /// `[[tn, fp], [fn, tp]]`.
    #[schema(value_type = Vec<Vec<u64>>)]
    pub confusion_matrix: [[u64; 2]; 2],
    /// Labelled records that carried a score.
    pub scored: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RegressionPerformance {
    pub count: u64,
    pub mae: Option<f64>,
    pub rmse: Option<f64>,
    pub mape: Option<f64>,
    pub r2: Option<f64>,
}

/// fairlearn's metrics for one sensitive attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WindowFairness {
    pub records: u64,
    pub labelled: u64,
    pub demographic_parity_difference: Option<f64>,
    pub demographic_parity_ratio: Option<f64>,
    pub four_fifths: Option<FourFifths>,
    /// Needs labels.
    pub equalized_odds_difference: Option<f64>,
    pub groups_exact: bool,
    #[schema(value_type = std::collections::HashMap<String, GroupFairness>)]
    pub by_group: ByName<GroupFairness>,
}

/// The four-fifths rule on selection rates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FourFifths {
    pub ratio: f64,
    pub passes: bool,
    pub lowest: String,
    pub highest: String,
}

/// One group of a sensitive attribute; the metrics that need labels are `null` until
/// they arrive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GroupFairness {
    pub count: u64,
    pub selection_rate: f64,
    pub labelled: u64,
    pub accuracy: Option<f64>,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
    pub true_positive_rate: Option<f64>,
    pub false_positive_rate: Option<f64>,
}

/// Serving latency in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Latency {
    pub count: u64,
    pub mean_ms: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
    /// The quantiles' normalized rank error.
    pub rank_error: f64,
}

/// The window's decisions valued with the model's values per outcome (costs are negated
/// values).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Business {
    pub currency: String,
    pub value_per_1000: f64,
    pub cost_per_1000: f64,
    pub value: f64,
    pub cost: f64,
    /// Labelled decisions valued.
    pub decisions: u64,
}

/// A model's latest window in brief.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LastWindow {
    pub start: String,
    pub end: String,
    pub version: u32,
    pub records: u64,
    pub labelled: u64,
    pub drift_share: f64,
    pub drifted_features: Vec<String>,
    pub performance: Option<Performance>,
    /// The sensitive attribute with the lowest demographic parity ratio.
    pub lowest_parity_attribute: Option<String>,
    pub lowest_parity_ratio: Option<f64>,
    /// `null` without values per outcome or labels.
    pub business: Option<Business>,
}

impl WindowReport {
    /// Names of the features that drifted, in report order.
    pub fn drifted_features(&self) -> Vec<&str> {
        self.drift.features.iter().filter(|f| f.drifted).map(|f| f.name.as_str()).collect()
    }

    /// The attribute with the lowest demographic parity ratio, and that ratio.
    pub fn worst_parity_ratio(&self) -> Option<(&str, f64)> {
        self.fairness
            .iter()
            .filter_map(|(a, f)| f.demographic_parity_ratio.map(|r| (a, r)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
    }
}

impl ByName<Option<f64>> {
    /// The highest defined value and its name (the worst of a rate).
    pub fn highest(&self) -> Option<(&str, f64)> {
        self.iter().filter_map(|(n, x)| x.map(|x| (n, x))).max_by(|a, b| a.1.total_cmp(&b.1))
    }
}

impl Performance {
    /// The defined metrics by name, headline ones first (counts left out).
    pub fn values(&self) -> Vec<(&'static str, f64)> {
        let fields: Vec<(&'static str, Option<f64>)> = match self {
            Performance::Binary(b) => vec![
                ("roc_auc", b.roc_auc),
                ("f1", b.f1),
                ("accuracy", b.accuracy),
                ("precision", b.precision),
                ("recall", b.recall),
                ("log_loss", b.log_loss),
            ],
            Performance::Regression(r) => vec![("r2", r.r2), ("rmse", r.rmse), ("mae", r.mae), ("mape", r.mape)],
        };
        fields.into_iter().filter_map(|(n, x)| x.map(|x| (n, x))).collect()
    }

    /// One metric by name.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.values().into_iter().find(|(n, _)| *n == name).map(|(_, x)| x)
    }
}

#[cfg(test)]
mod tests {
    use super::{WindowDrift, WindowEstimated, WindowMultivariate};

    /// An older server's drift (no `exact`, `computed_at`, `note`) still reads: as approximate.
    #[test]
    fn an_older_servers_drift_reads_as_approximate() {
        let old = r#"{"status":"ok","min_records":100,"share":0.0,"drifted":false,"n_drifted":0,
            "n_near_threshold":0,"features":[],"skipped":[]}"#;
        let d: WindowDrift = serde_json::from_str(old).unwrap();
        assert!(!d.exact && d.computed_at.is_none() && d.note.is_none());
        let sent = serde_json::to_value(&d).unwrap();
        assert_eq!(sent["exact"], false);
        assert!(sent.get("note").is_none(), "absent options are not sent: {sent}");
    }

    /// Estimates read as computed or as the reason there are none.
    #[test]
    fn estimates_read_as_computed_or_skipped() {
        let skipped: WindowEstimated = serde_json::from_str(r#"{"skipped":"the window is open"}"#).unwrap();
        assert_eq!(skipped, WindowEstimated::Skipped { skipped: "the window is open".into() });
        let metric = r#"{"value":0.8,"sampling_error":0.01,"lower":0.77,"upper":0.83,"lower_threshold":null,
            "upper_threshold":0.9,"alert":false,"realized":null}"#;
        let names = ["roc_auc", "f1", "precision", "recall", "accuracy"].into_iter().chain([
            "true_positive",
            "true_negative",
            "false_positive",
            "false_negative",
        ]);
        let fields: Vec<String> = names.map(|n| format!("\"{n}\":{metric}")).collect();
        let computed = format!(r#"{{"records":10,"calibrated":true,"chunk_size":5,{}}}"#, fields.join(","));
        match serde_json::from_str::<WindowEstimated>(&computed).unwrap() {
            WindowEstimated::Computed(e) => {
                assert_eq!((e.records, e.roc_auc.value, e.roc_auc.lower_threshold), (10, Some(0.8), None));
            }
            other => panic!("{other:?}"),
        }
        let m: WindowMultivariate = serde_json::from_str(
            r#"{"reconstruction_error":{"value":1.2,"sampling_error":0.1,"lower":0.9,"upper":1.5,
                "lower_threshold":null,"upper_threshold":1.1,"alert":true}}"#,
        )
        .unwrap();
        assert!(matches!(m, WindowMultivariate::Computed(ref d) if d.reconstruction_error.alert), "{m:?}");
    }
}
