//! [`WindowReport`]: what a closed window says, computed from its [`WindowState`] and the
//! version's reference profile.

use crate::drift::{FeatureDrift, column_drift};
use crate::schema::RejectReason;
use crate::window::{ColumnState, Performance, WindowState};
use riskops_data::profile::{ColumnProfile, Dtype, TableProfile};
use riskops_stats::metrics::GroupOutcomes;
use serde_json::{Map, Value, json};

/// What a report is computed against.
#[derive(Debug, Clone, Copy)]
pub struct ReportContext<'a> {
    /// Window bounds, unix seconds (reported as RFC 3339, UTC).
    pub start: i64,
    pub end: i64,
    pub version: &'a str,
    /// The version's reference profile (the schema's source).
    pub reference: &'a TableProfile,
    /// The reference for prediction drift: a reference column holding the model's
    /// predictions (or the target), or a baseline window's
    /// [`prediction_profile`](WindowState::prediction_profile). `None`: no prediction drift.
    pub prediction_reference: Option<&'a ColumnProfile>,
    /// The dataset drifts when at least this share of compared features drifts (Evidently: 0.5).
    pub drift_share: f64,
    /// Fewer records than this and the window's drift is reported `insufficient`: its
    /// statistics are shown, but a test on a handful of records says nothing.
    pub min_records: u64,
}

/// Dataset-level drift of a window.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowDrift {
    /// Share of compared features that drifted.
    pub share: f64,
    pub drifted: bool,
    pub n_drifted: usize,
    /// Features whose verdict may differ from the exact computation's (near the threshold).
    pub n_near_threshold: usize,
    pub features: Vec<FeatureDrift>,
    /// Features not compared, with the reason.
    pub skipped: Vec<(String, String)>,
    /// The window had fewer records than `min_records`: no verdict should be drawn.
    pub insufficient: bool,
    pub min_records: u64,
}

/// The report of one window. [`to_json`](Self::to_json) gives the API's shape.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowReport {
    pub start: i64,
    pub end: i64,
    pub version: String,
    pub records: u64,
    pub labelled: u64,
    pub drift: WindowDrift,
    /// `None` without a prediction reference; `Err(reason)` when not compared.
    pub prediction_drift: Option<Result<FeatureDrift, String>>,
    pub quality: Value,
    pub performance: Option<Value>,
    pub fairness: Value,
    pub latency: Option<Value>,
}

impl WindowReport {
    /// Computes the report.
    pub fn compute(state: &WindowState, ctx: &ReportContext<'_>) -> WindowReport {
        let mut features = Vec::new();
        let mut skipped = Vec::new();
        for column in &state.features {
            match ctx.reference.columns.iter().find(|c| c.name == column.name) {
                None => skipped.push((column.name.clone(), "not in the reference profile".to_string())),
                Some(reference) => match column_drift(reference, column) {
                    Ok(d) => features.push(d),
                    Err(reason) => skipped.push((column.name.clone(), reason)),
                },
            }
        }
        let n_drifted = features.iter().filter(|f| f.drifted).count();
        let share = if features.is_empty() { 0.0 } else { n_drifted as f64 / features.len() as f64 };
        let drift = WindowDrift {
            share,
            drifted: !features.is_empty() && share >= ctx.drift_share,
            n_drifted,
            n_near_threshold: features.iter().filter(|f| f.near_threshold).count(),
            features,
            skipped,
            insufficient: state.records < ctx.min_records,
            min_records: ctx.min_records,
        };
        let prediction_drift = ctx.prediction_reference.map(|r| {
            let mut p = state.prediction.clone();
            p.dtype = r.dtype;
            column_drift(r, &p)
        });
        WindowReport {
            start: ctx.start,
            end: ctx.end,
            version: ctx.version.to_string(),
            records: state.records,
            labelled: state.labelled,
            drift,
            prediction_drift,
            quality: {
                let mut q = quality(state);
                q["unseen_examples"] = unseen_examples(state, ctx.reference);
                q
            },
            performance: performance(&state.performance),
            fairness: fairness(state),
            latency: latency(state),
        }
    }

    /// `{"start","end","version","records","labelled","drift":{…},"prediction_drift":{…}|null,
    /// "quality":{…},"performance":{…}|null,"fairness":{…},"latency":{…}|null}`.
    pub fn to_json(&self) -> Value {
        let prediction_drift = match &self.prediction_drift {
            None => Value::Null,
            Some(Ok(d)) => feature_json(d),
            Some(Err(reason)) => json!({"skipped": reason}),
        };
        json!({
            "start": rfc3339(self.start),
            "end": rfc3339(self.end),
            "version": self.version,
            "records": self.records,
            "labelled": self.labelled,
            "drift": {
                "status": if self.drift.insufficient { "insufficient" } else { "ok" },
                "min_records": self.drift.min_records,
                "share": num(self.drift.share),
                "drifted": self.drift.drifted,
                "n_drifted": self.drift.n_drifted,
                "n_near_threshold": self.drift.n_near_threshold,
                "features": self.drift.features.iter().map(feature_json).collect::<Vec<_>>(),
                "skipped": self.drift.skipped.iter().map(|(n, r)| json!({"name": n, "reason": r})).collect::<Vec<_>>(),
            },
            "prediction_drift": prediction_drift,
            "quality": self.quality,
            "performance": self.performance.clone().unwrap_or(Value::Null),
            "fairness": self.fairness,
            "latency": self.latency.clone().unwrap_or(Value::Null),
        })
    }
}

impl WindowState {
    /// The window's predictions as a profile column, so a baseline window can serve as
    /// the prediction-drift reference of later ones. `dtype`: how predictions are typed
    /// (float64 for scores and regression, object/int64/bool for classes).
    pub fn prediction_profile(&self, dtype: Dtype) -> ColumnProfile {
        let p = &self.prediction;
        let mut distinct = riskops_stats::sketch::DistinctCounter::new();
        // Distinct values as far as drift typing needs them (a handful, or "many").
        match p.small.counts() {
            Some(values) => values.iter().for_each(|(x, _)| distinct.add_f64(*x)),
            None => p.quantiles.sorted_view().iter().for_each(|(x, _)| distinct.add_f64(*x)),
        }
        for (category, _) in p.frequencies.iter() {
            distinct.add_str(category);
        }
        ColumnProfile {
            name: p.name.clone(),
            dtype,
            rows: p.rows,
            missing: p.missing + p.type_violations,
            infinite: p.infinite,
            distinct,
            moments: p.moments,
            quantiles: p.quantiles.clone(),
            frequencies: if dtype == Dtype::Float64 {
                riskops_stats::sketch::Frequencies::new()
            } else {
                p.frequencies.clone()
            },
        }
    }
}

fn num(x: f64) -> Value {
    serde_json::Number::from_f64(x).map(Value::Number).unwrap_or(Value::Null)
}

fn opt(x: Option<f64>) -> Value {
    x.map(num).unwrap_or(Value::Null)
}

fn feature_json(d: &FeatureDrift) -> Value {
    json!({
        "name": d.name,
        "type": d.column_type.name(),
        "method": d.method.name(),
        "statistic": num(d.statistic),
        "p_value": opt(d.p_value),
        "threshold": num(d.threshold),
        "drifted": d.drifted,
        "n_reference": d.n_reference,
        "n_current": d.n_current,
        "exact": d.exact,
        "approx_error": opt(d.approx_error),
        "p_value_range": d.p_value_range.map(|(a, b)| json!([num(a), num(b)])).unwrap_or(Value::Null),
        "near_threshold": d.near_threshold,
    })
}

fn rate(n: u64, of: u64) -> Value {
    if of == 0 { Value::Null } else { num(n as f64 / of as f64) }
}

/// Unseen categories listed by name in the report, per feature.
const UNSEEN_EXAMPLES: usize = 10;

fn quality(state: &WindowState) -> Value {
    let per = |f: &dyn Fn(&ColumnState) -> Option<Value>| -> Map<String, Value> {
        state.features.iter().filter_map(|c| f(c).map(|v| (c.name.clone(), v))).collect()
    };
    let numeric = |c: &ColumnState| matches!(c.dtype, Dtype::Int64 | Dtype::Float64);
    let rejected = &state.rejected;
    let by_reason: Map<String, Value> =
        RejectReason::ALL.iter().map(|r| (r.name().to_string(), json!(rejected.count(*r)))).collect();
    json!({
        "volume": state.records,
        "rejected": rejected.records,
        // Of the records that arrived for the window, the share refused.
        "rejected_rate": rate(rejected.records, state.records + rejected.records),
        "rejected_by_reason": by_reason,
        "records_with_violations": state.records_with_violations,
        "unknown_features": state.unknown_features,
        "missing_rate": per(&|c| Some(rate(c.missing, c.rows))),
        "out_of_range_rate": per(&|c| numeric(c).then(|| rate(c.out_of_range, c.count()))),
        "unseen_categories": per(&|c| c.tracks_unseen.then(|| rate(c.unseen, c.count()))),
        "unseen_counts": per(&|c| (c.unseen > 0).then(|| json!(c.unseen))),
        "type_violations": per(&|c| Some(json!(c.type_violations))),
        "type_violation_rate": per(&|c| Some(rate(c.type_violations, c.rows))),
    })
}

/// Per feature, up to [`UNSEEN_EXAMPLES`] categories the reference never saw, with counts.
fn unseen_examples(state: &WindowState, reference: &TableProfile) -> Value {
    let mut out = Map::new();
    for c in &state.features {
        let Some(r) = reference.columns.iter().find(|r| r.name == c.name) else { continue };
        if c.unseen == 0 || !r.frequencies.is_exact() {
            continue;
        }
        let examples: Vec<Value> = c
            .frequencies
            .iter()
            .filter(|(v, _)| r.frequencies.get(v) == 0)
            .take(UNSEEN_EXAMPLES)
            .map(|(v, n)| json!([v, n]))
            .collect();
        out.insert(c.name.clone(), Value::Array(examples));
    }
    Value::Object(out)
}

fn performance(p: &Performance) -> Option<Value> {
    match p {
        Performance::Binary(b) if b.count() > 0 => {
            let auc = b.roc_auc();
            Some(json!({
                "count": b.count(),
                "accuracy": opt(b.accuracy()),
                "precision": opt(b.precision()),
                "recall": opt(b.recall()),
                "f1": opt(b.f1()),
                "roc_auc": opt(auc.as_ref().map(|a| a.value)),
                "roc_auc_max_error": opt(auc.as_ref().map(|a| a.max_error)),
                "log_loss": opt(b.log_loss()),
                "confusion_matrix": b.confusion_matrix(),
                "scored": b.scored(),
            }))
        }
        Performance::Regression(r) if r.count() > 0 => Some(json!({
            "count": r.count(),
            "mae": opt(r.mae()),
            "rmse": opt(r.rmse()),
            "mape": opt(r.mape()),
            "r2": opt(r.r2()),
        })),
        _ => None,
    }
}

/// Per sensitive attribute, fairlearn's metrics: those of predictions alone (selection
/// rates, demographic parity, four-fifths) over every record, labelled or not; those that
/// need the truth (equalized odds, per-group accuracy, precision, recall, F1, TPR, FPR) over
/// the labelled records, `null` until labels arrive.
fn fairness(state: &WindowState) -> Value {
    let empty = GroupOutcomes::new();
    let attributes: std::collections::BTreeSet<&String> =
        state.fairness.keys().chain(state.selections.keys()).collect();
    let out: Map<String, Value> = attributes
        .into_iter()
        .map(|a| {
            let labelled = state.fairness.get(a).unwrap_or(&empty);
            // Windows stored before selections were kept have only the labelled outcomes.
            let selections = state.selections.get(a).filter(|s| !s.is_empty()).unwrap_or(labelled);
            (a.clone(), attribute_json(selections, labelled))
        })
        .collect();
    Value::Object(out)
}

fn attribute_json(selections: &GroupOutcomes, labelled: &GroupOutcomes) -> Value {
    let labels = labelled.by_group();
    let by_group: Map<String, Value> = selections
        .by_group()
        .into_iter()
        .map(|m| {
            let truth = labels.iter().find(|l| l.group == m.group);
            let with_labels = |f: fn(&riskops_stats::metrics::GroupMetrics) -> f64| truth.map(f).map(num);
            (
                m.group.clone(),
                json!({
                    "count": m.count,
                    "selection_rate": num(m.selection_rate),
                    "labelled": truth.map_or(0, |t| t.count),
                    "accuracy": with_labels(|t| t.accuracy),
                    "precision": with_labels(|t| t.precision),
                    "recall": with_labels(|t| t.recall),
                    "f1": with_labels(|t| t.f1),
                    "true_positive_rate": with_labels(|t| t.true_positive_rate),
                    "false_positive_rate": with_labels(|t| t.false_positive_rate),
                }),
            )
        })
        .collect();
    let labelled_count: u64 = labels.iter().map(|l| l.count).sum();
    json!({
        "records": selections.groups().map(|(_, c)| c.count()).sum::<u64>(),
        "labelled": labelled_count,
        "demographic_parity_difference": opt(selections.demographic_parity_difference()),
        "demographic_parity_ratio": opt(selections.demographic_parity_ratio()),
        "four_fifths": selections.four_fifths().map(|f| json!({"ratio": num(f.ratio), "passes": f.passes, "lowest": f.lowest, "highest": f.highest})).unwrap_or(Value::Null),
        "equalized_odds_difference": opt(labelled.equalized_odds_difference()),
        "groups_exact": selections.is_exact() && labelled.is_exact(),
        "by_group": by_group,
    })
}

fn latency(state: &WindowState) -> Option<Value> {
    let m = &state.latency;
    if m.count() == 0 {
        return None;
    }
    let q = state.latency_quantiles.quantiles(&[0.5, 0.95, 0.99]).unwrap_or_default();
    let at = |i: usize| q.get(i).copied().map(num).unwrap_or(Value::Null);
    Some(json!({
        "count": m.count(),
        "mean_ms": opt(m.mean()),
        "p50_ms": at(0),
        "p95_ms": at(1),
        "p99_ms": at(2),
        "max_ms": opt(m.max()),
        "rank_error": num(state.latency_quantiles.normalized_rank_error(false)),
    }))
}

/// Unix seconds as RFC 3339 in UTC (`1970-01-01T00:00:00Z`).
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}
