//! One stored window's drift against its version's reference, per feature with the charts
//! of both distributions: what the console shows as the CLI's drift report.

use super::{RequestContext, Riskops};
use crate::auth::Operation;
use crate::error::{Error, Result};
use crate::registry::VersionRef;
use riskops_drift::DriftReport;
use riskops_monitor::WindowState;
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
        Ok(WindowDrift {
            model: model.to_string(),
            version,
            start: stored.start,
            end: stored.end,
            reference: link.unwrap_or_default(),
            report: riskops_monitor::drift_report(&state, &reference.profile, DRIFT_SHARE),
        })
    }
}
