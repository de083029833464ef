//! What the Prometheus endpoint exports per model version: the report of its latest stored
//! window (drift, performance, fairness) and its incidents not yet resolved.
//!
//! A scrape must stay cheap however long a model has been monitored, so only the latest
//! window of each version is reported (read by index, `Riskops::latest_windows`); a
//! version with no window in the last [`LOOK_BACK_DAYS`] days is not reported.

use super::monitoring::WindowReports;
use super::{RequestContext, Riskops};
use crate::alerting::Severity;
use crate::auth::{self, Operation};
use crate::error::{Error, ErrorKind, Result};
use crate::incident::{IncidentFilter, IncidentState};
use crate::monitoring::MonitoredWindow;
use riskops_monitor::WindowState;
use std::collections::BTreeMap;

/// How old a version's latest window may be and still be exported.
pub const LOOK_BACK_DAYS: i64 = 90;

/// The latest stored window of a model version, with its report.
#[derive(Debug, Clone)]
pub struct LatestWindow {
    /// Unix seconds.
    pub start: i64,
    pub end: i64,
    pub records: u64,
    pub labelled: u64,
    /// The window's report (as `GET …/monitoring` answers it for this window).
    pub report: MonitoredWindow,
}

/// One model version's metrics.
#[derive(Debug, Clone)]
pub struct ModelMetrics {
    pub project: String,
    pub model: String,
    pub version: u32,
    /// `None` when the version has open incidents but no window in the look-back.
    pub latest: Option<LatestWindow>,
    /// Incidents open or acknowledged (not resolved), per severity; every severity is listed,
    /// in [`Severity::ALL`] order.
    pub open_incidents: Vec<(Severity, u64)>,
}

impl ModelMetrics {
    fn new(project: &str, model: &str, version: u32) -> Self {
        ModelMetrics {
            project: project.to_string(),
            model: model.to_string(),
            version,
            latest: None,
            open_incidents: Severity::ALL.into_iter().map(|s| (s, 0)).collect(),
        }
    }
}

impl Riskops {
    /// Per model version the caller may read (registry.read, in the projects where it may):
    /// the latest window's report and the count of incidents not resolved, ordered by
    /// project, model and version.
    pub async fn model_metrics(&self, ctx: &RequestContext) -> Result<Vec<ModelMetrics>> {
        let visible = auth::authorize_listing(&ctx.principal, Operation::RegistryRead)?;
        let now = self.clock.now().unix_timestamp();
        let mut out: BTreeMap<(String, String, u32), ModelMetrics> = BTreeMap::new();
        let mut models = self.store.list_models(None).await?;
        models.retain(|m| visible.sees(&m.project));
        for entry in &models {
            let since = now.saturating_sub(LOOK_BACK_DAYS * 86_400);
            let latest = self.latest_windows(&entry.name, 1..=entry.latest_version, since).await?;
            if latest.is_empty() {
                continue;
            }
            let mut reports = WindowReports::new(self, &entry.name).await?;
            for (version, w) in latest {
                let report = match WindowState::decode(&w.state) {
                    Ok(state) => reports.report(version, w.start, w.end, &state).await,
                    Err(e) => Err(Error::internal(format!("stored window: {e}"))),
                };
                let report = match report {
                    Ok(r) => r,
                    // The store being down fails the scrape; a window that cannot be
                    // reported is left out of it, not every other model with it.
                    Err(e) if e.kind == ErrorKind::Unavailable => return Err(e),
                    Err(e) => {
                        tracing::warn!(model = %entry.name, version, error = %e, "the latest window cannot be reported; it is left out of the metrics");
                        continue;
                    }
                };
                let mut m = ModelMetrics::new(&entry.project, &entry.name, version);
                m.latest =
                    Some(LatestWindow { start: w.start, end: w.end, records: w.records, labelled: w.labelled, report });
                out.insert((entry.project.clone(), entry.name.clone(), version), m);
            }
        }
        for state in [IncidentState::Open, IncidentState::Acknowledged] {
            let filter = IncidentFilter { state: Some(state), ..IncidentFilter::default() };
            for incident in self.store.incidents(&filter).await? {
                if !visible.sees(&incident.project) {
                    continue;
                }
                let key = (incident.project.clone(), incident.model.clone(), incident.version);
                let m = out
                    .entry(key)
                    .or_insert_with(|| ModelMetrics::new(&incident.project, &incident.model, incident.version));
                if let Some((_, n)) = m.open_incidents.iter_mut().find(|(s, _)| *s == incident.severity) {
                    *n += 1;
                }
            }
        }
        Ok(out.into_values().collect())
    }
}
