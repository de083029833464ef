//! Exact verdicts: a closed window's drift computed from its raw records (the segments)
//! against the version's reference data, with riskops-drift's `detect_drift` code path
//! (`detect_drift_prepared`), so it equals `riskops drift` on the same rows.
//!
//! Reading files is the server's ([`RecordTables`]: Parquet segments, the dataset's CSV or
//! Parquet). The reference's columns are prepared once per dataset version and column set
//! (sorted numbers, counted categories) and kept in a bounded cache, so closing a window
//! costs reading and sorting its own records. Each result is stored with the number of
//! records it was computed from: a window only gains records, so an equal count means it
//! is still current; when the segments no longer hold all of a window's records (expired
//! under the retention) the last stored result is kept and says so.

use super::estimates::WindowOutputs;
use super::{MonitorConfig, Riskops};
use crate::error::{Error, Result};
use crate::monitoring::{ExactDriftRow, Segment, WindowSpec};
use crate::registry::ModelVersion;
use riskops_data::Table;
use riskops_data::profile::{Dtype, TableProfile};
use riskops_drift::{ColumnType, DriftOptions, Method, PreparedReference};
use riskops_monitor::{FeatureDrift, Task, WindowDrift, WindowState};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Reads what exact drift needs from files: the server's reads Parquet and CSV.
pub trait RecordTables: Send + Sync {
    /// A dataset file (CSV or Parquet), only `columns`, typed as `riskops drift` types it.
    fn dataset(&self, file: &Path, columns: &[String]) -> Result<Table>;

    /// The feature `columns` of the records of `version` whose timestamp is in `[from, to)`
    /// in these segment files, each typed as a CSV of those records would be typed against
    /// the reference's dtype (see the server's implementation).
    fn records(
        &self,
        files: &[PathBuf],
        version: u32,
        from: i64,
        to: i64,
        columns: &[(String, Dtype)],
    ) -> Result<Table>;

    /// The model outputs of the same records, in the same order as [`records`](Self::records):
    /// each one's score of `task`'s positive class and whether it predicted that class.
    fn outputs(&self, files: &[PathBuf], version: u32, from: i64, to: i64, task: &Task) -> Result<WindowOutputs>;
}

/// Prepared references by (dataset digest, compared columns), most recently used last.
pub(in crate::service) type PreparedCache = super::recent::Recent<(String, Vec<String>), PreparedReference>;

/// Prepared references kept at most, and their bytes at most: a large validation set's
/// columns are 8 bytes a value.
const MAX_PREPARED: usize = 16;
const MAX_PREPARED_BYTES: usize = 1 << 30;

/// What a request has read of a model's raw records: the model's segment list (read once),
/// and the feature columns of the last window whose estimates were computed, which its exact
/// drift then takes instead of decoding the same segments again.
#[derive(Default)]
pub(in crate::service) struct RecordsRead {
    segments: Option<Vec<Segment>>,
    /// `((start, end), columns)`: the window's records as `RecordTables::records` gives them.
    pub(super) window: Option<((i64, i64), Table)>,
}

/// The version's first window, whose predictions later windows' are compared with
/// (prediction drift), and how those predictions are typed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(in crate::service) struct Baseline {
    pub start: i64,
    pub end: i64,
    pub records: u64,
    pub dtype: Dtype,
}

/// A closed window's prediction drift computed from the records of both windows.
#[derive(Debug, Clone)]
pub(in crate::service) enum ExactPrediction {
    /// As `riskops drift` compares the two windows' `prediction` columns.
    Compared(FeatureDrift),
    /// The drift engine leaves the column out: why.
    Skipped(String),
    /// The records are not all there: the sketches' result stands (marked approximate).
    Unavailable(String),
}

/// Where a closed window's drift comes from.
pub(in crate::service) enum ClosedDrift {
    /// Computed from the records (now or before, for the same records).
    Exact(WindowDrift),
    /// The records are not all there any more: the last exact result, with a note.
    Kept(WindowDrift),
    /// No exact result: why (the sketches' report stands, marked approximate).
    Unavailable(String),
}

/// Whether a window is closed, so its drift is computed from its records: a window of N
/// records once it holds N, any window of time (or a rolled-up range) once it has ended.
pub(in crate::service) fn is_closed(spec: WindowSpec, end: i64, records: u64, now: i64) -> bool {
    match spec {
        WindowSpec::Records(n) => records >= u64::from(n),
        WindowSpec::Hour | WindowSpec::Day => end <= now,
    }
}

impl Riskops {
    /// Reads segment and dataset files with `tables`, so closed windows get exact drift.
    pub fn with_record_tables(mut self, tables: Arc<dyn RecordTables>) -> Self {
        self.record_tables = Some(tables);
        self
    }

    /// The exact drift of a closed window `[start, end)` of `version` whose state is `state`.
    #[allow(clippy::too_many_arguments)]
    pub(in crate::service) async fn exact_drift(
        &self,
        model: &str,
        version: &ModelVersion,
        start: i64,
        end: i64,
        state: &WindowState,
        profile: &TableProfile,
        config: &MonitorConfig,
        sketched: &WindowDrift,
        baseline: Option<Baseline>,
        listed: &mut RecordsRead,
    ) -> (ClosedDrift, Option<ExactPrediction>) {
        let stored = match self.store.exact_drift(model, version.version, start, end).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(model, error = %e.message, "reading a stored exact drift failed");
                None
            }
        };
        let stored_prediction = stored.as_ref().and_then(|row| baseline.and_then(|b| decode_prediction(row, b)));
        if let Some(row) = &stored
            && row.records == state.records
            && (baseline.is_none() || stored_prediction.is_some())
            && let Some(mut drift) = decode(row, sketched)
        {
            // Still the window's records; say so when they are no longer kept.
            if let Ok(false) = self.records_kept(model, (start, end), state.records, listed).await {
                drift.note = Some(format!(
                    "the raw records expired under the retention ({} days): exact result computed at {} kept",
                    config.retention_days,
                    riskops_monitor::rfc3339(row.computed_at)
                ));
            }
            return (ClosedDrift::Exact(drift), stored_prediction);
        }
        let window = (start, end);
        let fresh = self.compute_exact(model, version, window, state, profile, config, baseline, listed).await;
        let reason = match fresh {
            Ok(Ok((report, prediction))) => {
                let now = self.clock.now().unix_timestamp();
                let row = ExactDriftRow {
                    model: model.to_string(),
                    version: version.version,
                    start,
                    end,
                    records: state.records,
                    computed_at: now,
                    drift: encode(&report, baseline.zip(prediction.as_ref())).to_string(),
                };
                if let Err(e) = self.store.put_exact_drift(&row).await {
                    tracing::warn!(model, error = %e.message, "storing an exact drift failed");
                }
                if let Some(drift) = decode(&row, sketched) {
                    return (ClosedDrift::Exact(drift), prediction);
                }
                "the exact result could not be read back".to_string()
            }
            Ok(Err(reason)) => reason,
            Err(e) => {
                tracing::warn!(model, version = version.version, start, error = %e.message, "exact drift failed");
                "the exact drift could not be computed now (see the server log)".to_string()
            }
        };
        let closed = match stored.as_ref().and_then(|row| decode(row, sketched).map(|d| (row, d))) {
            Some((row, mut drift)) => {
                drift.note = Some(format!(
                    "{reason}: this is the last exact result, computed at {} from {} of the window's {} records",
                    riskops_monitor::rfc3339(row.computed_at),
                    row.records,
                    state.records
                ));
                ClosedDrift::Kept(drift)
            }
            None => ClosedDrift::Unavailable(reason),
        };
        (closed, stored_prediction)
    }

    /// `Ok(Err(reason))` when the records are not all available.
    #[allow(clippy::too_many_arguments)]
    async fn compute_exact(
        &self,
        model: &str,
        version: &ModelVersion,
        (start, end): (i64, i64),
        state: &WindowState,
        profile: &TableProfile,
        config: &MonitorConfig,
        baseline: Option<Baseline>,
        listed: &mut RecordsRead,
    ) -> Result<std::result::Result<(riskops_drift::DriftReport, Option<ExactPrediction>), String>> {
        let Some(tables) = self.record_tables.clone() else {
            return Ok(Err("this server does not read raw records".into()));
        };
        if self.segment_writer.is_none() {
            return Ok(Err("this server keeps no raw records".into()));
        }
        let columns: Vec<(String, Dtype)> = state
            .features
            .iter()
            .filter_map(|f| profile.columns.iter().find(|c| c.name == f.name).map(|c| (c.name.clone(), c.dtype)))
            .collect();
        let segments = self.segments_of(model, start, end, listed).await?;
        if segments.iter().map(|s| s.records).sum::<u64>() < state.records {
            return Ok(Err(format!(
                "the raw records are no longer all kept (retention {} days)",
                config.retention_days
            )));
        }
        let reference = self.prepared_reference(version, &columns, tables.as_ref()).await?;
        let ready = listed.window.take().filter(|(bounds, _)| *bounds == (start, end)).map(|(_, t)| t);
        let mut opened = Vec::with_capacity(segments.len());
        if ready.is_none() || baseline.is_some() {
            for s in &segments {
                opened.push(self.artifacts.open_verified(&s.digest).await?);
            }
        }
        // The baseline window's segments, when they still hold all its records.
        let mut first = Vec::new();
        let mut first_missing = None;
        if let Some(b) = baseline {
            let kept = self.segments_of(model, b.start, b.end, listed).await?;
            if kept.iter().map(|s| s.records).sum::<u64>() < b.records {
                first_missing = Some(format!(
                    "the first window's raw records are no longer all kept (retention {} days)",
                    config.retention_days
                ));
            } else {
                for s in &kept {
                    first.push(self.artifacts.open_verified(&s.digest).await?);
                }
            }
        }
        let files: Vec<PathBuf> = opened.iter().map(|f| f.path.clone()).collect();
        let first_files: Vec<PathBuf> = first.iter().map(|f| f.path.clone()).collect();
        let (number, expected) = (version.version, state.records);
        let answer = tokio::task::spawn_blocking(move || {
            let current = match ready {
                Some(table) => table,
                None => tables.records(&files, number, start, end, &columns)?,
            };
            if current.rows as u64 != expected {
                return Ok(Err(format!(
                    "the raw records kept ({} in the window's time range) are not the window's {expected}",
                    current.rows
                )));
            }
            let names: Vec<String> = columns.into_iter().map(|(n, _)| n).collect();
            let report = drift_of(&reference, current, names)?;
            let prediction = match (baseline, first_missing) {
                (None, _) => None,
                (Some(_), Some(reason)) => Some(ExactPrediction::Unavailable(reason)),
                (Some(b), None) => {
                    let window = Window { files: &files, version: number, start, end, records: expected };
                    let first =
                        Window { files: &first_files, version: number, start: b.start, end: b.end, records: b.records };
                    Some(prediction_of(tables.as_ref(), &first, &window, b.dtype)?)
                }
            };
            Ok(Ok((report, prediction)))
        })
        .await
        .map_err(|e| Error::internal(format!("exact drift stopped: {e}")))?;
        drop(opened);
        drop(first);
        answer
    }

    /// Segments holding records of the time range `[start, end)` (of any version); the
    /// model's list is read once per `listed` (a request's reports share it).
    pub(super) async fn segments_of(
        &self,
        model: &str,
        start: i64,
        end: i64,
        listed: &mut RecordsRead,
    ) -> Result<Vec<Segment>> {
        if listed.segments.is_none() {
            listed.segments = Some(self.store.segments(model).await?);
        }
        let all = listed.segments.as_deref().unwrap_or_default();
        Ok(all.iter().filter(|s| s.first_ts < end && s.last_ts >= start).cloned().collect())
    }

    /// Whether the segments can still hold a window's `records` (a cheap check on their
    /// counts: an expired segment is gone from the list).
    pub(super) async fn records_kept(
        &self,
        model: &str,
        (start, end): (i64, i64),
        records: u64,
        listed: &mut RecordsRead,
    ) -> Result<bool> {
        if self.segment_writer.is_none() {
            return Ok(false);
        }
        Ok(self.segments_of(model, start, end, listed).await?.iter().map(|s| s.records).sum::<u64>() >= records)
    }

    /// The version's reference data prepared for `columns`, from the cache when it holds it.
    async fn prepared_reference(
        &self,
        version: &ModelVersion,
        columns: &[(String, Dtype)],
        tables: &dyn RecordTables,
    ) -> Result<Arc<PreparedReference>> {
        let dataset = self.reference_dataset(version).await?;
        let names: Vec<String> = columns.iter().map(|(n, _)| n.clone()).collect();
        let key = (dataset.digest.as_str().to_string(), names.clone());
        if let Some(prepared) = self.prepared_references.get(&key) {
            return Ok(prepared);
        }
        let file = self.artifacts.open_verified(&dataset.digest).await?;
        let table = tables.dataset(&file.path, &names)?;
        let prepared = tokio::task::spawn_blocking(move || PreparedReference::new(table, 0))
            .await
            .map_err(|e| Error::internal(format!("preparing a reference stopped: {e}")))?;
        drop(file);
        let prepared = Arc::new(prepared);
        self.prepared_references.put(key, prepared.clone(), |kept| {
            kept.len() > MAX_PREPARED || kept.iter().map(|(_, p)| p.size()).sum::<usize>() > MAX_PREPARED_BYTES
        });
        Ok(prepared)
    }
}

/// A window's records in segment files.
struct Window<'a> {
    files: &'a [PathBuf],
    version: u32,
    start: i64,
    end: i64,
    records: u64,
}

/// The window's `prediction` column against the baseline window's, as `riskops drift`
/// compares two files of them (the baseline's as the reference).
fn prediction_of(
    tables: &dyn RecordTables,
    first: &Window<'_>,
    window: &Window<'_>,
    dtype: Dtype,
) -> Result<ExactPrediction> {
    let column = [(PREDICTION.to_string(), dtype)];
    let read = |w: &Window<'_>| tables.records(w.files, w.version, w.start, w.end, &column);
    let (reference, current) = (read(first)?, read(window)?);
    for (table, w) in [(&reference, first), (&current, window)] {
        if table.rows as u64 != w.records {
            return Ok(ExactPrediction::Unavailable(format!(
                "the raw records kept ({} in a window's time range) are not its {}",
                table.rows, w.records
            )));
        }
    }
    let reference = PreparedReference::new(reference, 0);
    let report = drift_of(&reference, current, vec![PREDICTION.to_string()])?;
    Ok(match (report.columns.first(), report.skipped.first()) {
        (Some(c), _) => ExactPrediction::Compared(FeatureDrift::from_exact(c)),
        (None, Some(s)) => ExactPrediction::Skipped(s.reason.clone()),
        (None, None) => ExactPrediction::Skipped("not compared".into()),
    })
}

/// The records' column of the model's predictions (riskops-monitor's `columns`).
const PREDICTION: &str = "prediction";

/// riskops-drift on the window's rows. A column without values on either side is left out
/// with its reason, as the sketches' report leaves it out, instead of failing the window
/// (the drift engine refuses such a column).
fn drift_of(reference: &PreparedReference, current: Table, columns: Vec<String>) -> Result<riskops_drift::DriftReport> {
    let mut left_out = Vec::new();
    let mut compared = Vec::with_capacity(columns.len());
    for name in columns {
        let in_window = current.column(&name).is_some_and(|c| has_values(&c.values));
        if !in_window {
            left_out.push(riskops_drift::Skipped { name, reason: "no values in the window".into() });
        } else if !reference.has_values(&name) {
            left_out.push(riskops_drift::Skipped { name, reason: "no values in the reference".into() });
        } else {
            compared.push(name);
        }
    }
    let options = DriftOptions { columns: Some(compared), ..DriftOptions::default() };
    let mut report = riskops_drift::detect_drift_prepared(reference, current, &options, &|_, _| {})
        .map_err(|e| Error::internal(format!("exact drift: {e}")))?;
    report.skipped.extend(left_out);
    Ok(report)
}

/// Whether a column holds a value the drift engine compares (finite numbers, any text).
fn has_values(values: &riskops_data::Values) -> bool {
    match values {
        riskops_data::Values::Float(v) => v.iter().any(|x| x.is_finite()),
        riskops_data::Values::Int(v) => !v.is_empty(),
        riskops_data::Values::Bool(v) => !v.is_empty(),
        riskops_data::Values::Str(s) => s.codes.iter().any(|&c| c != riskops_data::MISSING_CODE),
    }
}

/// The stored form: per feature what the report shows (the charts stay the sketches'), and
/// the prediction drift against the baseline it was computed with.
fn encode(report: &riskops_drift::DriftReport, prediction: Option<(Baseline, &ExactPrediction)>) -> Value {
    let mut stored = json!({
        "features": report.columns.iter().map(|c| encode_feature(&FeatureDrift::from_exact(c))).collect::<Vec<_>>(),
        "skipped": report.skipped.iter().map(|s| json!([s.name, s.reason])).collect::<Vec<_>>(),
    });
    if let Some((b, p)) = prediction {
        let (kind, value) = match p {
            ExactPrediction::Compared(f) => ("compared", encode_feature(f)),
            ExactPrediction::Skipped(reason) => ("skipped", json!(reason)),
            ExactPrediction::Unavailable(reason) => ("unavailable", json!(reason)),
        };
        stored["prediction"] = json!({"baseline": [b.start, b.end, b.records, b.dtype.name()], kind: value});
    }
    stored
}

fn encode_feature(c: &FeatureDrift) -> Value {
    let number = |x: f64| if x.is_finite() { json!(x) } else { Value::Null };
    json!({
        "name": c.name,
        "type": c.column_type.name(),
        "method": c.method.name(),
        "statistic": number(c.statistic),
        "p_value": c.p_value.map(number),
        "threshold": c.threshold,
        "drifted": c.drifted,
        "n_reference": c.n_reference,
        "n_current": c.n_current,
    })
}

/// The stored prediction drift, when it was computed against `baseline`.
fn decode_prediction(row: &ExactDriftRow, baseline: Baseline) -> Option<ExactPrediction> {
    let v: Value = serde_json::from_str(&row.drift).ok()?;
    let p = v.get("prediction")?;
    let b = p.get("baseline")?;
    let same = b.get(0)?.as_i64()? == baseline.start
        && b.get(1)?.as_i64()? == baseline.end
        && b.get(2)?.as_u64()? == baseline.records
        && b.get(3)?.as_str()? == baseline.dtype.name();
    if !same {
        return None;
    }
    if let Some(f) = p.get("compared") {
        return decode_feature(f).map(ExactPrediction::Compared);
    }
    let text = |key: &str| p.get(key).and_then(Value::as_str).map(str::to_string);
    text("skipped").map(ExactPrediction::Skipped).or_else(|| text("unavailable").map(ExactPrediction::Unavailable))
}

fn decode_feature(f: &Value) -> Option<FeatureDrift> {
    let column_type = match f.get("type")?.as_str()? {
        "numerical" => ColumnType::Numerical,
        "categorical" => ColumnType::Categorical,
        _ => return None,
    };
    Some(FeatureDrift {
        name: f.get("name")?.as_str()?.to_string(),
        column_type,
        method: Method::parse(f.get("method")?.as_str()?)?,
        statistic: f.get("statistic")?.as_f64().unwrap_or(f64::NAN),
        p_value: f.get("p_value").and_then(|p| if p.is_null() { None } else { Some(p.as_f64().unwrap_or(f64::NAN)) }),
        threshold: f.get("threshold")?.as_f64()?,
        drifted: f.get("drifted")?.as_bool()?,
        n_reference: f.get("n_reference")?.as_u64()?,
        n_current: f.get("n_current")?.as_u64()?,
        exact: true,
        approx_error: Some(0.0),
        p_value_range: None,
        near_threshold: false,
    })
}

/// A stored result as the window's drift (keeping the sketched report's record counts
/// rule); `None` when it does not read (an older form), so it is computed again.
fn decode(row: &ExactDriftRow, sketched: &WindowDrift) -> Option<WindowDrift> {
    let v: Value = serde_json::from_str(&row.drift).ok()?;
    let mut features = Vec::new();
    for f in v.get("features")?.as_array()? {
        features.push(decode_feature(f)?);
    }
    let mut skipped = Vec::new();
    for s in v.get("skipped")?.as_array()? {
        skipped.push((s.get(0)?.as_str()?.to_string(), s.get(1)?.as_str()?.to_string()));
    }
    let mut drift = WindowDrift::of_features(
        features,
        skipped,
        riskops_drift::rules::DRIFT_SHARE,
        sketched.insufficient,
        sketched.min_records,
    );
    drift.exact = true;
    drift.computed_at = Some(row.computed_at);
    Some(drift)
}
