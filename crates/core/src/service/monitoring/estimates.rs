//! What a closed window's raw records give beyond drift: its performance estimated without
//! labels (NannyML's CBPE: `estimated.roc_auc`, `.f1`, … with sampling-error bands and
//! alerts) and its multivariate drift (the data-reconstruction error), each from models
//! fitted once per reference dataset and settings on the version's reference data, the
//! same models `riskops monitor analyze` fits (riskops-monitor's `estimation` and
//! `analysis::MultivariateModel`).
//!
//! As exact drift (`exact`), the records are the segments' rows of the version in the
//! window's time range, which must be exactly the window's; results are stored with the
//! number of records and the settings they were computed from, so each window is computed
//! once, and a window whose segments expired keeps its last result.
//!
//! Thresholds come from the reference cut in chunks as NannyML cuts it: windows of N
//! records use chunks of N reference rows; windows of time, whose sizes vary, NannyML's
//! default of ten chunks. A window's sampling errors are always its own size's.

use super::exact::{RecordTables, RecordsRead};
use super::{MonitorConfig, Riskops};
use crate::error::{Error, Result};
use crate::monitoring::{WindowEstimatesRow, WindowSpec};
use crate::registry::ModelVersion;
use riskops_data::Table;
use riskops_data::profile::{Dtype, TableProfile};
use riskops_monitor::analysis::{Estimated, Multivariate, MultivariateModel};
use riskops_monitor::estimation::{PerformanceEstimator, WindowEstimate};
use riskops_monitor::{Task, WindowState};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;

/// A window's records' model outputs, in the order [`RecordTables::records`] gives them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WindowOutputs {
    /// The score of the positive class (`score`, else `proba.<positive>`); NaN: none.
    pub scores: Vec<f64>,
    /// Whether the prediction is the positive class; `None`: no readable class.
    pub predictions: Vec<Option<bool>>,
}

/// Fitted models by their settings (reference digest, features, columns, chunks), most
/// recently used last.
pub(in crate::service) type FittedCache = super::recent::Recent<String, Fitted>;

/// Fitted model pairs kept at most (a fit reads the reference once; the models are small).
const MAX_FITTED: usize = 16;

/// The models of one reference and settings; each `Err` says why there is none.
pub(in crate::service) struct Fitted {
    estimator: std::result::Result<PerformanceEstimator, String>,
    multivariate: std::result::Result<MultivariateModel, String>,
}

/// A closed window's estimates, or why each is missing.
pub(in crate::service) struct Estimates {
    pub estimated: std::result::Result<WindowEstimate, String>,
    pub multivariate: std::result::Result<Multivariate, String>,
}

impl Estimates {
    fn neither(reason: &str) -> Estimates {
        Estimates { estimated: Err(reason.to_string()), multivariate: Err(reason.to_string()) }
    }
}

/// Why a window of a model without estimation settings has no estimates.
pub(in crate::service) fn not_estimated(config: &MonitorConfig) -> String {
    match config.task {
        Task::Regression => "performance is estimated for binary classifiers only (CBPE); DLE for regression is \
                             not implemented"
            .into(),
        Task::Binary { .. } => "the reference's score and label columns are not configured (riskops monitor \
                                configure --score-column C --label-column C)"
            .into(),
    }
}

impl Riskops {
    /// The estimates of a closed window `[start, end)` of `version` whose state is `state`.
    #[allow(clippy::too_many_arguments)]
    pub(in crate::service) async fn window_estimates(
        &self,
        model: &str,
        version: &ModelVersion,
        (start, end): (i64, i64),
        state: &WindowState,
        profile: &TableProfile,
        config: &MonitorConfig,
        listed: &mut RecordsRead,
    ) -> Estimates {
        let columns: Vec<(String, Dtype)> = state
            .features
            .iter()
            .filter_map(|f| profile.columns.iter().find(|c| c.name == f.name).map(|c| (c.name.clone(), c.dtype)))
            .collect();
        let settings = settings(version, &columns, config);
        let stored = match self.store.window_estimates(model, version.version, start, end).await {
            Ok(s) => s.and_then(|row| decode(&row.estimates, &settings).map(|e| (row.records, e))),
            Err(e) => {
                tracing::warn!(model, error = %e.message, "reading stored window estimates failed");
                None
            }
        };
        if let Some(records) = stored.as_ref().map(|(r, _)| *r) {
            // Only the records kept can be estimated from; when they are gone, the last
            // result stands.
            let current = records == state.records;
            if (current || matches!(self.records_kept(model, (start, end), state.records, listed).await, Ok(false)))
                && let Some((_, estimates)) = stored
            {
                return estimates;
            }
        }
        let computed = self.compute_estimates(model, version, (start, end), state, &columns, config, listed).await;
        match computed {
            Ok(Ok(estimates)) => {
                let row = WindowEstimatesRow {
                    model: model.to_string(),
                    version: version.version,
                    start,
                    end,
                    records: state.records,
                    computed_at: self.clock.now().unix_timestamp(),
                    estimates: encode(&estimates, &settings).to_string(),
                };
                if let Err(e) = self.store.put_window_estimates(&row).await {
                    tracing::warn!(model, error = %e.message, "storing window estimates failed");
                }
                estimates
            }
            // The records are not all there any more: the last result stands.
            Ok(Err(reason)) => match stored {
                Some((_, estimates)) => estimates,
                None => Estimates::neither(&reason),
            },
            Err(e) => {
                tracing::warn!(model, version = version.version, start, error = %e.message, "window estimates failed");
                Estimates::neither("the estimates could not be computed now (see the server log)")
            }
        }
    }

    /// `Ok(Err(reason))` when the records are not all available.
    #[allow(clippy::too_many_arguments)]
    async fn compute_estimates(
        &self,
        model: &str,
        version: &ModelVersion,
        (start, end): (i64, i64),
        state: &WindowState,
        columns: &[(String, Dtype)],
        config: &MonitorConfig,
        listed: &mut RecordsRead,
    ) -> Result<std::result::Result<Estimates, String>> {
        let Some(tables) = self.record_tables.clone() else {
            return Ok(Err("this server does not read raw records".into()));
        };
        if self.segment_writer.is_none() {
            return Ok(Err("this server keeps no raw records".into()));
        }
        let segments = self.segments_of(model, start, end, listed).await?;
        if segments.iter().map(|s| s.records).sum::<u64>() < state.records {
            return Ok(Err(format!(
                "the raw records are no longer all kept (retention {} days)",
                config.retention_days
            )));
        }
        let fitted = self.fitted_models(version, columns, config, tables.clone()).await?;
        let mut opened = Vec::with_capacity(segments.len());
        for s in &segments {
            opened.push(self.artifacts.open_verified(&s.digest).await?);
        }
        let files: Vec<PathBuf> = opened.iter().map(|f| f.path.clone()).collect();
        let (number, expected, task, columns) = (version.version, state.records, config.task.clone(), columns.to_vec());
        type Answer = std::result::Result<(Estimates, Option<Table>), String>;
        let answer = tokio::task::spawn_blocking(move || -> Result<Answer> {
            let estimated = match &fitted.estimator {
                Ok(estimator) => {
                    let outputs = tables.outputs(&files, number, start, end, &task)?;
                    if outputs.scores.len() as u64 != expected {
                        return Ok(Err(mismatch(outputs.scores.len(), expected)));
                    }
                    Ok(estimator.estimate(&outputs.scores, &outputs.predictions))
                }
                Err(reason) => Err(reason.clone()),
            };
            let (multivariate, current) = match &fitted.multivariate {
                Ok(m) => {
                    let current = tables.records(&files, number, start, end, &columns)?;
                    if current.rows as u64 != expected {
                        return Ok(Err(mismatch(current.rows, expected)));
                    }
                    (m.chunk(&current).map_err(|e| e.to_string()), Some(current))
                }
                Err(reason) => (Err(reason.clone()), None),
            };
            Ok(Ok((Estimates { estimated, multivariate }, current)))
        })
        .await
        .map_err(|e| Error::internal(format!("window estimates stopped: {e}")))?;
        drop(opened);
        Ok(answer?.map(|(estimates, current)| {
            // The window's exact drift, computed next, reads the same columns.
            listed.window = current.map(|t| ((start, end), t));
            estimates
        }))
    }

    /// The version's fitted models for these settings, from the cache when it holds them.
    async fn fitted_models(
        &self,
        version: &ModelVersion,
        columns: &[(String, Dtype)],
        config: &MonitorConfig,
        tables: Arc<dyn RecordTables>,
    ) -> Result<Arc<Fitted>> {
        let key = settings(version, columns, config);
        if let Some(fitted) = self.fitted_models.get(&key) {
            return Ok(fitted);
        }
        let dataset = self.reference_dataset(version).await?;
        let profile = TableProfile::from_json(&dataset.profile).map_err(Error::internal)?;
        let features: Vec<String> = columns.iter().map(|(n, _)| n.clone()).collect();
        // Only the columns the dataset has: a missing score column is the estimator's
        // reason, not a failed read.
        let wanted: Vec<String> = features
            .iter()
            .chain(
                config
                    .estimation
                    .iter()
                    .flat_map(|e| [Some(&e.score), Some(&e.label), e.prediction.as_ref()])
                    .flatten(),
            )
            .filter(|n| profile.columns.iter().any(|c| &c.name == *n))
            .cloned()
            .collect();
        let file = self.artifacts.open_verified(&dataset.digest).await?;
        let (estimation, task, window) = (config.estimation.clone(), config.task.clone(), config.window);
        let unset = not_estimated(config);
        let path = file.path.clone();
        let fitted = tokio::task::spawn_blocking(move || -> Result<Fitted> {
            let reference = tables.dataset(&path, &wanted)?;
            let chunk_size = threshold_chunk(window, reference.rows);
            let estimator = match &estimation {
                Some(columns) => PerformanceEstimator::fit(&reference, columns, &task, chunk_size),
                None => Err(unset),
            };
            let multivariate = match MultivariateModel::fit(&reference, &features, chunk_size) {
                Ok(Some(m)) => Ok(m),
                Ok(None) => Err("the model has no features to reconstruct".to_string()),
                Err(e) => Err(e.to_string()),
            };
            Ok(Fitted { estimator, multivariate })
        })
        .await
        .map_err(|e| Error::internal(format!("fitting the reference models stopped: {e}")))??;
        drop(file);
        let fitted = Arc::new(fitted);
        self.fitted_models.put(key, fitted.clone(), |kept| kept.len() > MAX_FITTED);
        Ok(fitted)
    }
}

/// Reference rows per chunk the thresholds come from: a window's own size for windows of N
/// records; for windows of time, whose sizes vary, NannyML's default of ten chunks.
fn threshold_chunk(window: WindowSpec, reference_rows: usize) -> usize {
    match window {
        WindowSpec::Records(n) => (n as usize).max(1),
        WindowSpec::Hour | WindowSpec::Day => (reference_rows / 10).max(1),
    }
}

fn mismatch(kept: usize, expected: u64) -> String {
    format!("the raw records kept ({kept} in the window's time range) are not the window's {expected}")
}

/// Everything the fitted models and so a stored result depend on, as one key: a change of
/// settings (columns, positive class, window length) computes the estimates again.
fn settings(version: &ModelVersion, columns: &[(String, Dtype)], config: &MonitorConfig) -> String {
    let reference = version.validation_data.as_ref().or(version.training_data.as_ref()).map(ToString::to_string);
    let positive = match &config.task {
        Task::Binary { positive } => positive.as_str(),
        Task::Regression => "",
    };
    let estimation = config.estimation.as_ref().map(|e| json!([e.score, e.label, e.prediction]));
    json!({
        "reference": reference,
        "features": columns.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        "estimation": estimation,
        "positive": positive,
        "window": config.window.name(),
    })
    .to_string()
}

/// The stored form: each result, or why there is none, with the settings it was made under.
fn encode(e: &Estimates, settings: &str) -> Value {
    let estimated = match &e.estimated {
        Ok(w) => json!({
            "records": w.records,
            "calibrated": w.calibrated,
            "chunk_size": w.chunk_size,
            "metrics": serde_json::to_value(&w.estimated).unwrap_or(Value::Null),
        }),
        Err(reason) => json!({"skipped": reason}),
    };
    let multivariate = match &e.multivariate {
        Ok(m) => serde_json::to_value(m).unwrap_or(Value::Null),
        Err(reason) => json!({"skipped": reason}),
    };
    json!({"settings": settings, "estimated": estimated, "multivariate": multivariate})
}

/// A stored result made under `settings`; `None` otherwise (or unreadable), so it is
/// computed again.
fn decode(text: &str, settings: &str) -> Option<Estimates> {
    let v: Value = serde_json::from_str(text).ok()?;
    if v.get("settings")?.as_str()? != settings {
        return None;
    }
    let skipped = |part: &Value| part.get("skipped").and_then(Value::as_str).map(str::to_string);
    let e = v.get("estimated")?;
    let estimated = match skipped(e) {
        Some(reason) => Err(reason),
        None => Ok(WindowEstimate {
            records: e.get("records")?.as_u64()?,
            calibrated: e.get("calibrated")?.as_bool()?,
            chunk_size: usize::try_from(e.get("chunk_size")?.as_u64()?).ok()?,
            estimated: serde_json::from_value::<Estimated>(e.get("metrics")?.clone()).ok()?,
        }),
    };
    let m = v.get("multivariate")?;
    let multivariate = match skipped(m) {
        Some(reason) => Err(reason),
        None => Ok(serde_json::from_value::<Multivariate>(m.clone()).ok()?),
    };
    Some(Estimates { estimated, multivariate })
}

#[cfg(test)]
mod tests {
    use super::*;
    use riskops_monitor::estimation::EstimationColumns;

    #[test]
    fn thresholds_come_from_chunks_of_a_window_or_a_tenth_of_the_reference() {
        assert_eq!(threshold_chunk(WindowSpec::Records(500), 2_000), 500);
        assert_eq!(threshold_chunk(WindowSpec::Hour, 2_000), 200);
        assert_eq!(threshold_chunk(WindowSpec::Day, 7), 1);
    }

    #[test]
    fn stored_estimates_read_back_only_under_their_settings() {
        let reference = riskops_data::Table {
            columns: vec![
                riskops_data::Column {
                    name: "score".into(),
                    values: riskops_data::Values::Float(vec![0.1, 0.9, 0.3, 0.7]),
                },
                riskops_data::Column { name: "label".into(), values: riskops_data::Values::Int(vec![0, 1, 1, 0]) },
            ],
            rows: 4,
        };
        let columns = EstimationColumns { score: "score".into(), label: "label".into(), prediction: None };
        let task = Task::Binary { positive: "1".into() };
        let estimator = PerformanceEstimator::fit(&reference, &columns, &task, 2).unwrap();
        let estimates = Estimates {
            estimated: Ok(estimator.estimate(&[0.2, 0.8, f64::NAN], &[Some(false), Some(true), Some(true)])),
            multivariate: Err("no features".into()),
        };
        let text = encode(&estimates, "s1").to_string();
        let back = decode(&text, "s1").unwrap();
        let (a, b) = (back.estimated.unwrap(), estimates.estimated.unwrap());
        assert_eq!((a.records, a.chunk_size), (2, 2));
        // NaN (undefined) values are stored as null and read back as NaN.
        for ((name, x), (_, y)) in a.estimated.values().zip(b.estimated.values()) {
            assert!(x.value == y.value || (x.value.is_nan() && y.value.is_nan()), "{name}");
            assert_eq!(x.alert, y.alert, "{name}");
        }
        assert_eq!(back.multivariate.unwrap_err(), "no features");
        assert!(decode(&text, "s2").is_none(), "other settings compute again");
    }
}
