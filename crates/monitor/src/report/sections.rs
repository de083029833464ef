//! The parts of a window report beside drift — data quality, performance, fairness,
//! latency — as types, computed from a [`WindowState`].
//!
//! Rates are `None` where their denominator is zero (nothing to take a share of), and
//! per-feature values keep the window's feature order.

use crate::schema::RejectReason;
use crate::window::{ColumnState, Performance, WindowState};
use riskops_data::profile::{Dtype, TableProfile};
use riskops_stats::metrics::{FourFifths, GroupMetrics, GroupOutcomes};

/// Values per feature (or per group, per reason), in the window's order.
pub type Named<T> = Vec<(String, T)>;

/// Unseen categories listed by name in the report, per feature.
const UNSEEN_EXAMPLES: usize = 10;

/// Data quality of a window: what was refused and why, and per feature what arrived
/// missing, out of the reference's range, unseen or of the wrong type.
#[derive(Debug, Clone, PartialEq)]
pub struct Quality {
    /// Records accepted into the window.
    pub volume: u64,
    /// Records refused (not in `volume`).
    pub rejected: u64,
    /// Of the records that arrived for the window, the share refused.
    pub rejected_rate: Option<f64>,
    pub rejected_by_reason: Vec<(RejectReason, u64)>,
    pub records_with_violations: u64,
    pub unknown_features: u64,
    pub missing_rate: Named<Option<f64>>,
    /// Numeric features only.
    pub out_of_range_rate: Named<Option<f64>>,
    /// Features whose categories the reference lists.
    pub unseen_categories: Named<Option<f64>>,
    /// Features with at least one unseen category.
    pub unseen_counts: Named<u64>,
    pub type_violations: Named<u64>,
    pub type_violation_rate: Named<Option<f64>>,
    /// Per feature, up to ten categories the reference never saw, with their counts.
    pub unseen_examples: Named<Named<u64>>,
}

/// The window's performance against the labels that arrived.
#[derive(Debug, Clone, PartialEq)]
pub enum PerformanceReport {
    Binary(BinaryPerformance),
    Regression(RegressionPerformance),
}

/// scikit-learn's classification metrics over the labelled records.
#[derive(Debug, Clone, PartialEq)]
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
    /// `[[tn, fp], [fn, tp]]`, as scikit-learn's `confusion_matrix`.
    pub confusion_matrix: [[u64; 2]; 2],
    /// Labelled records that carried a score.
    pub scored: u64,
}

/// scikit-learn's regression metrics over the labelled records.
#[derive(Debug, Clone, PartialEq)]
pub struct RegressionPerformance {
    pub count: u64,
    pub mae: Option<f64>,
    pub rmse: Option<f64>,
    pub mape: Option<f64>,
    pub r2: Option<f64>,
}

/// fairlearn's metrics for one sensitive attribute: those of predictions alone over every
/// record, those that need the truth over the labelled records (`None` until labels come).
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeFairness {
    pub records: u64,
    pub labelled: u64,
    pub demographic_parity_difference: Option<f64>,
    pub demographic_parity_ratio: Option<f64>,
    pub four_fifths: Option<FourFifths>,
    pub equalized_odds_difference: Option<f64>,
    /// Whether every group was counted exactly (groups past the cap are pooled).
    pub groups_exact: bool,
    pub by_group: Named<GroupFairness>,
}

/// One group of a sensitive attribute.
#[derive(Debug, Clone, PartialEq)]
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

/// Serving latency of the window's records, in milliseconds (KLL quantiles).
#[derive(Debug, Clone, PartialEq)]
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

fn rate(n: u64, of: u64) -> Option<f64> {
    (of > 0).then(|| n as f64 / of as f64)
}

pub(super) fn quality(state: &WindowState, reference: &TableProfile) -> Quality {
    fn per<T>(state: &WindowState, f: impl Fn(&ColumnState) -> Option<T>) -> Named<T> {
        state.features.iter().filter_map(|c| f(c).map(|v| (c.name.clone(), v))).collect()
    }
    let numeric = |c: &ColumnState| matches!(c.dtype, Dtype::Int64 | Dtype::Float64);
    let rejected = &state.rejected;
    Quality {
        volume: state.records,
        rejected: rejected.records,
        rejected_rate: rate(rejected.records, state.records + rejected.records),
        rejected_by_reason: RejectReason::ALL.iter().map(|r| (*r, rejected.count(*r))).collect(),
        records_with_violations: state.records_with_violations,
        unknown_features: state.unknown_features,
        missing_rate: per(state, |c| Some(rate(c.missing, c.rows))),
        out_of_range_rate: per(state, |c| numeric(c).then(|| rate(c.out_of_range, c.count()))),
        unseen_categories: per(state, |c| c.tracks_unseen.then(|| rate(c.unseen, c.count()))),
        unseen_counts: per(state, |c| (c.unseen > 0).then_some(c.unseen)),
        type_violations: per(state, |c| Some(c.type_violations)),
        type_violation_rate: per(state, |c| Some(rate(c.type_violations, c.rows))),
        unseen_examples: unseen_examples(state, reference),
    }
}

/// Per feature, up to [`UNSEEN_EXAMPLES`] categories the reference never saw, with counts.
fn unseen_examples(state: &WindowState, reference: &TableProfile) -> Named<Named<u64>> {
    let mut out = Vec::new();
    for c in &state.features {
        let Some(r) = reference.columns.iter().find(|r| r.name == c.name) else { continue };
        if c.unseen == 0 || !r.frequencies.is_exact() {
            continue;
        }
        let examples = c
            .frequencies
            .iter()
            .filter(|(v, _)| r.frequencies.get(v) == 0)
            .take(UNSEEN_EXAMPLES)
            .map(|(v, n)| (v.to_string(), n))
            .collect();
        out.push((c.name.clone(), examples));
    }
    out
}

pub(super) fn performance(p: &Performance) -> Option<PerformanceReport> {
    match p {
        Performance::Binary(b) if b.count() > 0 => {
            let auc = b.roc_auc();
            Some(PerformanceReport::Binary(BinaryPerformance {
                count: b.count(),
                accuracy: b.accuracy(),
                precision: b.precision(),
                recall: b.recall(),
                f1: b.f1(),
                roc_auc: auc.as_ref().map(|a| a.value),
                roc_auc_max_error: auc.as_ref().map(|a| a.max_error),
                log_loss: b.log_loss(),
                confusion_matrix: b.confusion_matrix(),
                scored: b.scored(),
            }))
        }
        Performance::Regression(r) if r.count() > 0 => Some(PerformanceReport::Regression(RegressionPerformance {
            count: r.count(),
            mae: r.mae(),
            rmse: r.rmse(),
            mape: r.mape(),
            r2: r.r2(),
        })),
        _ => None,
    }
}

/// Per sensitive attribute (in byte order), its fairness over the window.
pub(super) fn fairness(state: &WindowState) -> Named<AttributeFairness> {
    let empty = GroupOutcomes::new();
    let attributes: std::collections::BTreeSet<&String> =
        state.fairness.keys().chain(state.selections.keys()).collect();
    attributes
        .into_iter()
        .map(|a| {
            let labelled = state.fairness.get(a).unwrap_or(&empty);
            // Windows stored before selections were kept have only the labelled outcomes.
            let selections = state.selections.get(a).filter(|s| !s.is_empty()).unwrap_or(labelled);
            (a.clone(), attribute(selections, labelled))
        })
        .collect()
}

fn attribute(selections: &GroupOutcomes, labelled: &GroupOutcomes) -> AttributeFairness {
    let labels = labelled.by_group();
    let by_group = selections
        .by_group()
        .into_iter()
        .map(|m| {
            let truth = labels.iter().find(|l| l.group == m.group);
            let with_labels = |f: fn(&GroupMetrics) -> f64| truth.map(f);
            let group = GroupFairness {
                count: m.count,
                selection_rate: m.selection_rate,
                labelled: truth.map_or(0, |t| t.count),
                accuracy: with_labels(|t| t.accuracy),
                precision: with_labels(|t| t.precision),
                recall: with_labels(|t| t.recall),
                f1: with_labels(|t| t.f1),
                true_positive_rate: with_labels(|t| t.true_positive_rate),
                false_positive_rate: with_labels(|t| t.false_positive_rate),
            };
            (m.group, group)
        })
        .collect();
    AttributeFairness {
        records: selections.groups().map(|(_, c)| c.count()).sum(),
        labelled: labels.iter().map(|l| l.count).sum(),
        demographic_parity_difference: selections.demographic_parity_difference(),
        demographic_parity_ratio: selections.demographic_parity_ratio(),
        four_fifths: selections.four_fifths(),
        equalized_odds_difference: labelled.equalized_odds_difference(),
        groups_exact: selections.is_exact() && labelled.is_exact(),
        by_group,
    }
}

pub(super) fn latency(state: &WindowState) -> Option<Latency> {
    let m = &state.latency;
    if m.count() == 0 {
        return None;
    }
    let q = state.latency_quantiles.quantiles(&[0.5, 0.95, 0.99]).unwrap_or_default();
    Some(Latency {
        count: m.count(),
        mean_ms: m.mean(),
        p50_ms: q.first().copied(),
        p95_ms: q.get(1).copied(),
        p99_ms: q.get(2).copied(),
        max_ms: m.max(),
        rank_error: state.latency_quantiles.normalized_rank_error(false),
    })
}
