//! Windows out: window reports against the reference profile, with prediction drift and
//! business values.

use super::estimates;
use super::exact::{self, ClosedDrift, ExactPrediction};
use super::*;
use super::{RequestContext, Riskops};
use crate::auth::Operation;
use crate::error::{Error, Result};
use crate::kpi::{Confusion, OutcomeValues};
use crate::monitoring::{Business, MonitoredWindow, WindowSpec};
use crate::registry::VersionRef;
use riskops_data::profile::{ColumnProfile, Dtype};
use riskops_monitor::{PerformanceReport, ReportContext, Task, WindowReport, WindowState};
use std::collections::{BTreeMap, HashMap};

impl Riskops {
    /// The latest stored window of each of `versions` that started at `since` or later
    /// (windows ahead of the clock included): two indexed reads per version, however long
    /// the model has been monitored.
    pub(in crate::service) async fn latest_windows(
        &self,
        model: &str,
        versions: impl IntoIterator<Item = u32>,
        since: i64,
    ) -> Result<BTreeMap<u32, crate::monitoring::StoredWindow>> {
        let mut out = BTreeMap::new();
        for version in versions {
            let Some((start, _, _)) = self.store.latest_window(model, version).await? else { continue };
            if start < since {
                continue;
            }
            if let Some(w) = self.store.windows(model, Some(version), start, start + 1).await?.into_iter().next() {
                out.insert(version, w);
            }
        }
        Ok(out)
    }

    /// Window reports of a model in `[from, to)` (unix seconds), at the configured length or
    /// rolled up to days.
    pub async fn monitoring(
        &self,
        ctx: &RequestContext,
        model: &str,
        from: i64,
        to: i64,
        granularity: Option<WindowSpec>,
    ) -> Result<Vec<MonitoredWindow>> {
        self.model_version_for(ctx, Operation::RegistryRead, &VersionRef { name: model.into(), version: None }).await?;
        let config = self.stored_monitor_config(model).await?;
        let stored = self.store.windows(model, None, from, to).await?;
        let target = granularity.unwrap_or(config.window);
        // Per rolled-up window, one state per shape: windows made before and after the
        // model's feature set changed are reported side by side, not merged.
        let mut merged: BTreeMap<(i64, u32), Vec<(i64, WindowState)>> = BTreeMap::new();
        for w in stored {
            let state = WindowState::decode(&w.state).map_err(|e| Error::internal(format!("stored window: {e}")))?;
            let (start, end) =
                if config.window.rolls_up_into(target) { target.window_of(w.start) } else { (w.start, w.end) };
            let shapes = merged.entry((start, w.version)).or_default();
            match shapes.iter_mut().find(|(_, into)| into.same_shape(&state)) {
                Some((_, into)) => into.merge(&state).map_err(|e| Error::internal(format!("rolling up: {e}")))?,
                None => shapes.push((end, state)),
            }
        }
        let mut reports = WindowReports::new(self, model).await?;
        reports.granularity = if config.window.rolls_up_into(target) { target } else { config.window };
        let mut out = Vec::new();
        for ((start, version), shapes) in merged {
            for (end, state) in shapes {
                out.push(reports.report(version, start, end, &state).await?);
            }
        }
        Ok(out)
    }
}

/// Makes window reports of one model: its settings, references and business values read
/// once.
pub(in crate::service) struct WindowReports<'a> {
    riskops: &'a Riskops,
    model: String,
    config: MonitorConfig,
    values: Option<OutcomeValues>,
    references: HashMap<u32, Reference>,
    /// Per version: its first window and predictions (the prediction-drift baseline).
    baselines: HashMap<u32, Option<(exact::Baseline, ColumnProfile)>>,
    /// The versions reported, read once (their windows' explanations need them).
    versions: HashMap<u32, crate::registry::ModelVersion>,
    /// False: reports leave prediction drift out (its baseline is another window to read).
    prediction_drift: bool,
    /// How the reported windows are cut (the configured window, or a roll-up): decides
    /// when one is closed, so its drift is computed exactly from its records.
    granularity: WindowSpec,
    /// The model's raw-record segments, listed once for the closed windows' exact drift and
    /// estimates, and the last window's records read.
    segments: exact::RecordsRead,
}

impl<'a> WindowReports<'a> {
    pub(in crate::service) async fn new(riskops: &'a Riskops, model: &str) -> Result<WindowReports<'a>> {
        let values = match riskops.store.document(&format!("kpi:{model}")).await? {
            Some(d) => OutcomeValues::from_json(&d.document).ok(),
            None => None,
        };
        let config = riskops.stored_monitor_config(model).await?;
        Ok(WindowReports {
            riskops,
            model: model.to_string(),
            granularity: config.window,
            segments: exact::RecordsRead::default(),
            config,
            values,
            references: HashMap::new(),
            baselines: HashMap::new(),
            versions: HashMap::new(),
            prediction_drift: true,
        })
    }

    /// Reports without prediction drift, for summaries that do not show it: one window read
    /// and decoded less per version.
    pub(in crate::service) fn without_prediction_drift(mut self) -> Self {
        self.prediction_drift = false;
        self
    }

    /// The window's report, with the expected business value when the model has values
    /// per outcome and the window labels.
    pub(in crate::service) async fn report(
        &mut self,
        version: u32,
        start: i64,
        end: i64,
        state: &WindowState,
    ) -> Result<MonitoredWindow> {
        let Some(reference) =
            self.riskops.cached_reference(&mut self.references, &self.model, version, &self.config).await?
        else {
            return Err(Error::internal("a monitored version vanished"));
        };
        let profile = reference.profile.clone();
        let min_records = self.config.min_records;
        let baseline = if self.prediction_drift { self.baseline(version).await? } else { None };
        let is_baseline = baseline.is_some_and(|(first, _)| first.start == start);
        // Closed windows compare their predictions with the first window's records.
        let exact_baseline = baseline.filter(|_| !is_baseline).map(|(first, _)| *first);
        let version_text = version.to_string();
        let ctx = ReportContext {
            start,
            end,
            version: &version_text,
            reference: &profile,
            prediction_reference: baseline.filter(|_| !is_baseline).map(|(_, p)| p),
            drift_share: 0.5,
            min_records,
        };
        let mut report = WindowReport::compute(state, &ctx);
        if is_baseline {
            report.prediction_drift = Some(Err(
                "this is the version's first window: later windows' predictions are compared with it".to_string(),
            ));
        }
        if let Some(v) = self.version(version).await? {
            report.explain = self.riskops.window_explanation(&v, start, state, &self.config).await;
            let now = self.riskops.clock.now().unix_timestamp();
            if exact::is_closed(self.granularity, end, state.records, now) {
                let (model, config, listed) = (&self.model, &self.config, &mut self.segments);
                // Estimates first: the records they read are handed to exact drift.
                let e = self.riskops.window_estimates(model, &v, (start, end), state, &profile, config, listed).await;
                report.estimated = Some(e.estimated);
                report.multivariate = Some(e.multivariate);
                let (drift, first) = (&report.drift, exact_baseline);
                let (closed, prediction) = self
                    .riskops
                    .exact_drift(model, &v, start, end, state, &profile, config, drift, first, listed)
                    .await;
                match closed {
                    ClosedDrift::Exact(d) | ClosedDrift::Kept(d) => report.drift = d,
                    ClosedDrift::Unavailable(reason) => {
                        report.drift.note = Some(format!("approximate, from sketches: {reason}"));
                    }
                }
                match prediction {
                    Some(ExactPrediction::Compared(d)) => report.prediction_drift = Some(Ok(d)),
                    Some(ExactPrediction::Skipped(reason)) => report.prediction_drift = Some(Err(reason)),
                    // The sketches' result stands; it says it is approximate, with its bound.
                    Some(ExactPrediction::Unavailable(_)) | None => {}
                }
                // Never carried to another window.
                listed.window = None;
            } else {
                report.drift.note =
                    Some("the window is open: approximate, from sketches (each feature with its error bound)".into());
                let open = "the window is open: computed from its records once it closes".to_string();
                let estimated = if self.config.estimation.is_none() {
                    estimates::not_estimated(&self.config)
                } else {
                    open.clone()
                };
                report.estimated = Some(Err(estimated));
                report.multivariate = Some(Err(open));
            }
        }
        let business = business(&report, self.values.as_ref());
        Ok(MonitoredWindow { report, business })
    }

    async fn version(&mut self, version: u32) -> Result<Option<crate::registry::ModelVersion>> {
        if !self.versions.contains_key(&version)
            && let Some(v) = self.riskops.store.model_version(&self.model, Some(version)).await?
        {
            self.versions.insert(version, v);
        }
        Ok(self.versions.get(&version).cloned())
    }

    /// Records a window needs before sample statistics are judged.
    pub(in crate::service) fn min_records(&self) -> u64 {
        self.config.min_records
    }

    /// The version's first window's predictions, read once.
    async fn baseline(&mut self, version: u32) -> Result<Option<&(exact::Baseline, ColumnProfile)>> {
        if !self.baselines.contains_key(&version) {
            let store = &self.riskops.store;
            let mut found = None;
            if let Some(first) = store.first_window_start(&self.model, version).await?
                && let Some(w) = store.windows(&self.model, Some(version), first, first + 1).await?.into_iter().next()
            {
                let state =
                    WindowState::decode(&w.state).map_err(|e| Error::internal(format!("stored window: {e}")))?;
                let dtype = prediction_dtype(&state, &self.config.task);
                let first = exact::Baseline { start: first, end: w.end, records: state.records, dtype };
                found = Some((first, state.prediction_profile(dtype)));
            }
            self.baselines.insert(version, found);
        }
        Ok(self.baselines.get(&version).and_then(Option::as_ref))
    }
}

/// How a version's predictions are typed for drift, as pandas would type the column:
/// numbers for regression; for classes, text when any is text, else whole numbers as
/// int64 (0/1 classes are compared as categories), else float64.
fn prediction_dtype(state: &WindowState, task: &Task) -> Dtype {
    let p = &state.prediction;
    if matches!(task, Task::Regression) {
        return Dtype::Float64;
    }
    if p.frequencies.iter().next().is_some() {
        return Dtype::Object;
    }
    match p.small.counts() {
        Some(values) if values.iter().all(|(x, _)| x.fract() == 0.0) => Dtype::Int64,
        _ => Dtype::Float64,
    }
}

/// The value of the window's labelled decisions from its confusion matrix and the model's
/// values per outcome; `None` without either.
fn business(report: &WindowReport, values: Option<&OutcomeValues>) -> Option<Business> {
    let values = values?;
    let Some(PerformanceReport::Binary(performance)) = &report.performance else { return None };
    let [[tn, fp], [fn_, tp]] = performance.confusion_matrix;
    let matrix = Confusion { true_negatives: tn, false_positives: fp, false_negatives: fn_, true_positives: tp };
    let per_thousand = values.per_thousand(&matrix)?;
    Some(Business {
        currency: values.currency.clone(),
        value_per_1000: per_thousand,
        value: per_thousand * matrix.count() as f64 / 1000.0,
        decisions: matrix.count(),
    })
}

pub(super) fn positive_of(task: &Task) -> String {
    match task {
        Task::Binary { positive } => positive.clone(),
        Task::Regression => String::new(),
    }
}
