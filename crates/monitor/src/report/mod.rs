//! [`WindowReport`]: what a closed window says, computed from its [`WindowState`] and the
//! version's reference profile.

mod explain;
mod metrics;
mod sections;

pub use explain::{Explanation, FeatureAttribution};
pub use metrics::{EXPLAIN_FEATURE, Observed, is_metric, metric_names};
pub use sections::{
    AttributeFairness, BinaryPerformance, GroupFairness, Latency, Named, PerformanceReport, Quality,
    RegressionPerformance,
};

use crate::analysis::Multivariate;
use crate::drift::{FeatureDrift, column_drift};
use crate::estimation::WindowEstimate;
use crate::window::WindowState;
use riskops_data::profile::{ColumnProfile, Dtype, TableProfile};

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
    /// Computed from the window's raw records exactly as `riskops drift` computes it (a
    /// closed window); false: from the sketches, each feature with its error bound.
    pub exact: bool,
    /// When the exact result was computed (unix seconds).
    pub computed_at: Option<i64>,
    /// What a reader should know about where the result comes from (segments expired and
    /// the last exact result kept, raw records not kept, …).
    pub note: Option<String>,
}

impl WindowDrift {
    /// Drift from per-feature results, with Evidently's dataset rule (drifted when at least
    /// `drift_share` of the compared features drift).
    pub fn of_features(
        features: Vec<FeatureDrift>,
        skipped: Vec<(String, String)>,
        drift_share: f64,
        insufficient: bool,
        min_records: u64,
    ) -> WindowDrift {
        let n_drifted = features.iter().filter(|f| f.drifted).count();
        let share = if features.is_empty() { 0.0 } else { n_drifted as f64 / features.len() as f64 };
        WindowDrift {
            share,
            drifted: !features.is_empty() && share >= drift_share,
            n_drifted,
            n_near_threshold: features.iter().filter(|f| f.near_threshold).count(),
            features,
            skipped,
            insufficient,
            min_records,
            exact: false,
            computed_at: None,
            note: None,
        }
    }
}

/// The report of one window: what the API's `GET …/monitoring` answers (the server turns
/// it into the wire type) and what monitors read ([`metric`](Self::metric)).
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
    pub quality: Quality,
    /// `None` until labels arrive.
    pub performance: Option<PerformanceReport>,
    /// Per sensitive attribute, in byte order.
    pub fairness: Named<AttributeFairness>,
    /// `None` when no record carried its latency.
    pub latency: Option<Latency>,
    /// Attributions of the window's sample against the reference's: `None` when the model
    /// keeps no sample (`explain_sample` 0); `Err(reason)` when they cannot be computed (a
    /// model served over HTTP, not a tree ensemble, no reference data). Filled in by the
    /// caller, which runs the model: [`compute`](Self::compute) leaves it `None`.
    pub explain: Option<Result<Explanation, String>>,
    /// Performance estimated without labels (CBPE) from a closed window's records against
    /// the version's reference scores and labels; `Err(reason)` when there is none (an open
    /// window, a reference without scores or labels, a regression model). Filled in by the
    /// caller, which reads the records: [`compute`](Self::compute) leaves it `None`.
    pub estimated: Option<Result<WindowEstimate, String>>,
    /// Multivariate drift (data reconstruction error) of a closed window's records, as
    /// `estimated`.
    pub multivariate: Option<Result<Multivariate, String>>,
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
        let drift = WindowDrift::of_features(
            features,
            skipped,
            ctx.drift_share,
            state.records < ctx.min_records,
            ctx.min_records,
        );
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
            quality: sections::quality(state, ctx.reference),
            performance: sections::performance(&state.performance),
            fairness: sections::fairness(state),
            latency: sections::latency(state),
            explain: None,
            estimated: None,
            multivariate: None,
        }
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
