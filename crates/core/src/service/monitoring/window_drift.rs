//! One stored window's drift against its version's reference, per feature with the charts
//! of both distributions: what the console shows as the CLI's drift report. A closed
//! window's statistics and verdicts are the exact ones (its records, as the window reports
//! have them); the charts are drawn from its sketches either way.

use super::exact::{self, ClosedDrift, RecordsRead};
use super::{RequestContext, Riskops};
use crate::auth::Operation;
use crate::error::{Error, Result};
use crate::registry::VersionRef;
use riskops_drift::{ColumnDrift, DriftReport, Plot, Skipped};
use riskops_monitor::{WindowState, rfc3339};
use std::collections::HashMap;

/// Evidently's dataset drift share, as the window reports use.
const DRIFT_SHARE: f64 = 0.5;

/// A window's drift report and what it compares.
#[derive(Debug, Clone)]
pub struct WindowDrift {
    pub model: String,
    pub version: u32,
    /// Unix seconds.
    pub start: i64,
    pub end: i64,
    /// The reference dataset version (`name@version`).
    pub reference: String,
    pub report: DriftReport,
    /// Whether the statistics and verdicts are exact (computed from the window's records).
    pub exact: bool,
    /// Where the statistics come from, for the reader.
    pub source: String,
}

impl Riskops {
    /// The drift of `model`'s window of `version` starting at `start` (unix seconds) against
    /// the version's reference: who may read the model's monitoring may read it; a 404 when
    /// there is no such window.
    pub async fn window_drift(
        &self,
        ctx: &RequestContext,
        model: &str,
        version: u32,
        start: i64,
    ) -> Result<WindowDrift> {
        let (found, _) = self
            .model_version_for(ctx, Operation::RegistryRead, &VersionRef { name: model.into(), version: Some(version) })
            .await?;
        let config = self.stored_monitor_config(model).await?;
        let stored = self
            .store
            .windows(model, Some(version), start, start + 1)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Error::not_found(format!("no window of {model}@{version} starts at {start}")))?;
        let state = WindowState::decode(&stored.state).map_err(|e| Error::internal(format!("stored window: {e}")))?;
        let mut cache = HashMap::new();
        let reference = self
            .cached_reference(&mut cache, model, version, &config)
            .await?
            .ok_or_else(|| Error::internal("a monitored version vanished"))?;
        let link = found.validation_data.as_ref().or(found.training_data.as_ref()).map(|l| l.to_string());
        let sketched = riskops_monitor::drift_report(&state, &reference.profile, DRIFT_SHARE);
        let now = self.clock.now().unix_timestamp();
        let (report, exact, source) = if !exact::is_closed(config.window, stored.end, state.records, now) {
            let source = "Approximate: the window is open, so its statistics come from sketches \
                          (the window reports give each feature's error bound)";
            (sketched, false, source.to_string())
        } else {
            let rule = riskops_monitor::WindowDrift::of_features(
                Vec::new(),
                Vec::new(),
                DRIFT_SHARE,
                state.records < config.min_records,
                config.min_records,
            );
            let mut read = RecordsRead::default();
            let (start, end, profile) = (stored.start, stored.end, &reference.profile);
            let (closed, _) =
                self.exact_drift(model, &found, start, end, &state, profile, &config, &rule, None, &mut read).await;
            match closed {
                ClosedDrift::Exact(d) | ClosedDrift::Kept(d) => {
                    let mut source = format!(
                        "Exact: statistics and verdicts computed from the window's {} records at {}, as riskops \
                         drift computes them on the same rows; the charts are drawn from the window's sketches",
                        state.records,
                        d.computed_at.map(rfc3339).unwrap_or_default()
                    );
                    if let Some(note) = &d.note {
                        source = format!("{source} ({note})");
                    }
                    (with_exact(sketched, &d), true, source)
                }
                ClosedDrift::Unavailable(reason) => (sketched, false, format!("Approximate, from sketches: {reason}")),
            }
        };
        Ok(WindowDrift {
            model: model.to_string(),
            version,
            start: stored.start,
            end: stored.end,
            reference: link.unwrap_or_default(),
            report,
            exact,
            source,
        })
    }
}

/// The sketched report with the exact per-feature results in place of its statistics and
/// verdicts (each keeps its chart from the sketches), and the exact dataset verdict.
fn with_exact(sketched: DriftReport, exact: &riskops_monitor::WindowDrift) -> DriftReport {
    let mut charts = sketched.columns;
    let columns: Vec<ColumnDrift> = exact
        .features
        .iter()
        .map(|f| {
            let chart = charts.iter().position(|c| c.name == f.name).map(|i| charts.swap_remove(i));
            let (n_values, plot) = match chart {
                Some(c) => (c.n_values, c.plot),
                // Compared exactly, left out by the sketches: no chart to draw.
                None => (0, Plot::Bars { labels: Vec::new(), reference: Vec::new(), current: Vec::new(), other: None }),
            };
            ColumnDrift {
                name: f.name.clone(),
                column_type: f.column_type,
                method: f.method,
                statistic: f.statistic,
                p_value: f.p_value,
                threshold: f.threshold,
                drifted: f.drifted,
                n_reference: f.n_reference as usize,
                n_current: f.n_current as usize,
                n_values,
                plot,
            }
        })
        .collect();
    let skipped = exact.skipped.iter().map(|(name, reason)| Skipped { name: name.clone(), reason: reason.clone() });
    DriftReport {
        n_reference: sketched.n_reference,
        n_current: sketched.n_current,
        columns,
        skipped: skipped.collect(),
        n_drifted: exact.n_drifted,
        drift_share: exact.share,
        drift_share_threshold: DRIFT_SHARE,
        drifted: exact.drifted,
    }
}
