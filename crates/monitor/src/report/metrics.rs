//! The report's values by name, for monitors: `drift.share`, `quality.missing_rate`,
//! `fairness.sex.demographic_parity_ratio`, … One table of names per section, so the names
//! a monitor may watch ([`is_metric`]) and the values it reads ([`WindowReport::metric`])
//! cannot disagree.

use super::explain::FeatureAttribution;
use super::sections::{AttributeFairness, BinaryPerformance, GroupFairness, Latency, Quality, RegressionPerformance};
use super::{PerformanceReport, WindowReport};
use crate::analysis::Estimated;
use crate::drift::FeatureDrift;

/// What a metric path reads: one number, or one per feature (or attribute), of which a
/// monitor judges the worst.
#[derive(Debug, Clone, PartialEq)]
pub enum Observed {
    One(f64),
    PerName(Vec<(String, f64)>),
}

const DRIFT: &[&str] = &["share", "drifted", "any", "n_drifted", "n_near_threshold"];
const FEATURE_DRIFT: &[&str] = &["statistic", "p_value", "drifted"];
const QUALITY: &[&str] = &["volume", "rejected", "rejected_rate", "records_with_violations", "unknown_features"];
const QUALITY_PER_FEATURE: &[&str] = &[
    "missing_rate",
    "out_of_range_rate",
    "unseen_categories",
    "unseen_counts",
    "type_violations",
    "type_violation_rate",
    "rejected_by_reason",
];
const BINARY: &[&str] =
    &["count", "accuracy", "precision", "recall", "f1", "roc_auc", "roc_auc_max_error", "log_loss", "scored"];
const REGRESSION: &[&str] = &["count", "mae", "rmse", "mape", "r2"];
/// `four_fifths` reads its ratio.
const ATTRIBUTE: &[&str] = &[
    "records",
    "labelled",
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "four_fifths",
    "equalized_odds_difference",
];
const GROUP: &[&str] = &[
    "count",
    "selection_rate",
    "labelled",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "true_positive_rate",
    "false_positive_rate",
];
const LATENCY: &[&str] = &["count", "mean_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms", "rank_error"];
/// `explain.<feature|*>.<name>`: a feature's attribution in the window's sample.
pub const EXPLAIN_FEATURE: &[&str] = &["share", "change", "mean_abs_shap", "reference_share"];
/// `explain.<name>`: the whole window's.
const EXPLAIN: &[&str] = &["shift", "unexplained", "sampled"];

/// Whether a metric path (split at dots) names a value window reports have. Feature,
/// attribute and group names are free (`*` for every attribute).
pub fn is_metric(path: &[&str]) -> bool {
    let known = |list: &[&str], name: &str| list.contains(&name);
    match path {
        ["volume" | "records" | "labelled"] => true,
        ["drift", name] => known(DRIFT, name),
        ["drift", "feature", _] => true,
        ["drift", "feature", _, name] | ["prediction_drift", name] => known(FEATURE_DRIFT, name),
        ["quality", name] => known(QUALITY, name) || known(QUALITY_PER_FEATURE, name),
        ["quality", name, _] => known(QUALITY_PER_FEATURE, name),
        ["performance", name] => known(BINARY, name) || known(REGRESSION, name),
        ["fairness", _, name] => known(ATTRIBUTE, name),
        ["fairness", _, "by_group", _, name] => known(GROUP, name),
        ["latency", name] => known(LATENCY, name),
        ["explain", name] => known(EXPLAIN, name),
        ["explain", _, name] => known(EXPLAIN_FEATURE, name),
        ["estimated", name] | ["estimated", name, "alert"] => known(&Estimated::NAMES, name),
        ["multivariate", "reconstruction_error"] | ["multivariate", "reconstruction_error", "alert"] => true,
        _ => false,
    }
}

/// Every name each section has, for error messages.
pub fn metric_names() -> String {
    let list = |prefix: &str, names: &[&str]| format!("{prefix}.<{}>", names.join("|"));
    [
        "volume".to_string(),
        list("drift", DRIFT),
        "drift.feature.<name>[.statistic|.p_value|.drifted]".to_string(),
        list("prediction_drift", FEATURE_DRIFT),
        list("quality", &[QUALITY, QUALITY_PER_FEATURE].concat()),
        list("performance", &[BINARY, &REGRESSION[1..]].concat()),
        list("fairness.<attribute|*>", ATTRIBUTE),
        list("fairness.<attribute>.by_group.<group>", GROUP),
        list("latency", LATENCY),
        list("explain", EXPLAIN),
        list("explain.<feature|*>", EXPLAIN_FEATURE),
        format!("{}[.alert]", list("estimated", &Estimated::NAMES)),
        "multivariate.reconstruction_error[.alert]".to_string(),
    ]
    .join(", ")
}

fn flag(b: bool) -> f64 {
    f64::from(u8::from(b))
}

/// A number a monitor can compare: finite, or nothing.
fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

impl WindowReport {
    /// The value a metric path names in this report; `None` where the report has none
    /// (no labels yet, an attribute not seen, an unknown name).
    pub fn metric(&self, path: &[&str]) -> Option<Observed> {
        let one = |x: Option<f64>| x.and_then(finite).map(Observed::One);
        match path {
            ["volume" | "records"] => one(Some(self.records as f64)),
            ["labelled"] => one(Some(self.labelled as f64)),
            ["drift", "share"] => one(Some(self.drift.share)),
            ["drift", "drifted"] => one(Some(flag(self.drift.drifted))),
            ["drift", "any"] => one(Some(flag(self.drift.n_drifted > 0))),
            ["drift", "n_drifted"] => one(Some(self.drift.n_drifted as f64)),
            ["drift", "n_near_threshold"] => one(Some(self.drift.n_near_threshold as f64)),
            ["drift", "feature", name, rest @ ..] => {
                let feature = self.drift.features.iter().find(|f| f.name == *name)?;
                one(feature_field(feature, rest.first().copied().unwrap_or("drifted")))
            }
            ["prediction_drift", name] => one(feature_field(self.prediction_drift.as_ref()?.as_ref().ok()?, name)),
            ["quality", name] => quality_field(&self.quality, name),
            ["quality", name, feature] => match quality_field(&self.quality, name)? {
                Observed::PerName(values) => {
                    values.into_iter().find(|(n, _)| n == feature).map(|(_, x)| Observed::One(x))
                }
                Observed::One(_) => None,
            },
            ["performance", name] => one(match self.performance.as_ref()? {
                PerformanceReport::Binary(b) => binary_field(b, name),
                PerformanceReport::Regression(r) => regression_field(r, name),
            }),
            ["fairness", "*", rest @ ..] => {
                let values: Vec<(String, f64)> = self
                    .fairness
                    .iter()
                    .filter_map(|(a, f)| attribute_path(f, rest).and_then(finite).map(|x| (a.clone(), x)))
                    .collect();
                (!values.is_empty()).then_some(Observed::PerName(values))
            }
            ["fairness", attribute, rest @ ..] => {
                let (_, f) = self.fairness.iter().find(|(a, _)| a == attribute)?;
                one(attribute_path(f, rest))
            }
            ["latency", name] => one(latency_field(self.latency.as_ref()?, name)),
            ["explain", name] => {
                let e = self.explain.as_ref()?.as_ref().ok()?;
                one(match *name {
                    "shift" => Some(e.shift),
                    "unexplained" => e.unexplained,
                    "sampled" => Some(e.sampled as f64),
                    _ => None,
                })
            }
            ["explain", "*", name] => {
                let e = self.explain.as_ref()?.as_ref().ok()?;
                let values: Vec<(String, f64)> = e
                    .features
                    .iter()
                    .filter_map(|f| attribution_field(f, name).and_then(finite).map(|x| (f.feature.clone(), x)))
                    .collect();
                (!values.is_empty()).then_some(Observed::PerName(values))
            }
            ["estimated", name, rest @ ..] => {
                let e = self.estimated.as_ref()?.as_ref().ok()?.estimated.get(name)?;
                one(match rest {
                    [] => Some(e.value),
                    ["alert"] => Some(flag(e.alert)),
                    _ => None,
                })
            }
            ["multivariate", "reconstruction_error", rest @ ..] => {
                let r = &self.multivariate.as_ref()?.as_ref().ok()?.reconstruction_error;
                one(match rest {
                    [] => Some(r.value),
                    ["alert"] => Some(flag(r.alert)),
                    _ => None,
                })
            }
            ["explain", feature, name] => {
                let e = self.explain.as_ref()?.as_ref().ok()?;
                one(attribution_field(e.features.iter().find(|f| f.feature == *feature)?, name))
            }
            _ => None,
        }
    }
}

fn attribution_field(f: &FeatureAttribution, name: &str) -> Option<f64> {
    match name {
        "share" => Some(f.share),
        "change" => Some(f.change),
        "mean_abs_shap" => Some(f.mean_abs_shap),
        "reference_share" => Some(f.reference_share),
        _ => None,
    }
}

fn feature_field(f: &FeatureDrift, name: &str) -> Option<f64> {
    match name {
        "statistic" => Some(f.statistic),
        "p_value" => f.p_value,
        "drifted" => Some(flag(f.drifted)),
        _ => None,
    }
}

fn quality_field(q: &Quality, name: &str) -> Option<Observed> {
    let one = |x: Option<f64>| x.and_then(finite).map(Observed::One);
    let rates = |v: &[(String, Option<f64>)]| {
        Observed::PerName(v.iter().filter_map(|(n, x)| x.and_then(finite).map(|x| (n.clone(), x))).collect())
    };
    let counts = |v: &[(String, u64)]| Observed::PerName(v.iter().map(|(n, x)| (n.clone(), *x as f64)).collect());
    match name {
        "volume" => one(Some(q.volume as f64)),
        "rejected" => one(Some(q.rejected as f64)),
        "rejected_rate" => one(q.rejected_rate),
        "records_with_violations" => one(Some(q.records_with_violations as f64)),
        "unknown_features" => one(Some(q.unknown_features as f64)),
        "missing_rate" => Some(rates(&q.missing_rate)),
        "out_of_range_rate" => Some(rates(&q.out_of_range_rate)),
        "unseen_categories" => Some(rates(&q.unseen_categories)),
        "unseen_counts" => Some(counts(&q.unseen_counts)),
        "type_violations" => Some(counts(&q.type_violations)),
        "type_violation_rate" => Some(rates(&q.type_violation_rate)),
        "rejected_by_reason" => Some(Observed::PerName(
            q.rejected_by_reason.iter().map(|(r, n)| (r.name().to_string(), *n as f64)).collect(),
        )),
        _ => None,
    }
}

fn binary_field(b: &BinaryPerformance, name: &str) -> Option<f64> {
    match name {
        "count" => Some(b.count as f64),
        "accuracy" => b.accuracy,
        "precision" => b.precision,
        "recall" => b.recall,
        "f1" => b.f1,
        "roc_auc" => b.roc_auc,
        "roc_auc_max_error" => b.roc_auc_max_error,
        "log_loss" => b.log_loss,
        "scored" => Some(b.scored as f64),
        _ => None,
    }
}

fn regression_field(r: &RegressionPerformance, name: &str) -> Option<f64> {
    match name {
        "count" => Some(r.count as f64),
        "mae" => r.mae,
        "rmse" => r.rmse,
        "mape" => r.mape,
        "r2" => r.r2,
        _ => None,
    }
}

/// `<metric>` or `by_group.<group>.<metric>` of one attribute.
fn attribute_path(f: &AttributeFairness, path: &[&str]) -> Option<f64> {
    match path {
        ["records"] => Some(f.records as f64),
        ["labelled"] => Some(f.labelled as f64),
        ["demographic_parity_difference"] => f.demographic_parity_difference,
        ["demographic_parity_ratio"] => f.demographic_parity_ratio,
        ["four_fifths"] => f.four_fifths.as_ref().map(|x| x.ratio),
        ["equalized_odds_difference"] => f.equalized_odds_difference,
        ["by_group", group, name] => group_field(&f.by_group.iter().find(|(g, _)| g == group)?.1, name),
        _ => None,
    }
}

fn group_field(g: &GroupFairness, name: &str) -> Option<f64> {
    match name {
        "count" => Some(g.count as f64),
        "selection_rate" => Some(g.selection_rate),
        "labelled" => Some(g.labelled as f64),
        "accuracy" => g.accuracy,
        "precision" => g.precision,
        "recall" => g.recall,
        "f1" => g.f1,
        "true_positive_rate" => g.true_positive_rate,
        "false_positive_rate" => g.false_positive_rate,
        _ => None,
    }
}

fn latency_field(l: &Latency, name: &str) -> Option<f64> {
    match name {
        "count" => Some(l.count as f64),
        "mean_ms" => l.mean_ms,
        "p50_ms" => l.p50_ms,
        "p95_ms" => l.p95_ms,
        "p99_ms" => l.p99_ms,
        "max_ms" => l.max_ms,
        "rank_error" => Some(l.rank_error),
        _ => None,
    }
}

impl PerformanceReport {
    /// Every metric the report defines, by name, in the order of the names monitors use.
    pub fn values(&self) -> Vec<(&'static str, f64)> {
        let read = |names: &[&'static str], field: &dyn Fn(&str) -> Option<f64>| -> Vec<(&'static str, f64)> {
            names.iter().filter_map(|n| field(n).and_then(finite).map(|x| (*n, x))).collect()
        };
        match self {
            PerformanceReport::Binary(b) => read(BINARY, &|n| binary_field(b, n)),
            PerformanceReport::Regression(r) => read(REGRESSION, &|n| regression_field(r, n)),
        }
    }
}
