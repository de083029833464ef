//! What the Prometheus endpoint exports per model version: the report of its latest stored
//! window (drift, performance, fairness) and its incidents not yet resolved.
//!
//! A scrape must stay cheap however long a model has been monitored, so only the latest
//! window of each version is reported. Windows are looked for in widening spans of the
//! last [`LOOK_BACK_DAYS`] days: one query over every version for the most recent span
//! (where an actively monitored version is found), then per version still missing for the
//! older spans; a version with no window in the last 90 days is not reported.

use super::monitoring::WindowReports;
use super::{RequestContext, Riskops};
use crate::alerting::Severity;
use crate::auth::{self, Operation};
use crate::error::{Error, ErrorKind, Result};
use crate::incident::{IncidentFilter, IncidentState};
use crate::monitoring::StoredWindow;
use riskops_monitor::WindowState;
use serde_json::Value;
use std::collections::BTreeMap;

/// The spans windows are looked for in, newest first: `[now - days, end of the previous)`.
pub const LOOK_BACK_DAYS: [i64; 4] = [1, 7, 30, 90];

/// The latest stored window of a model version, with its report.
#[derive(Debug, Clone)]
pub struct LatestWindow {
    /// Unix seconds.
    pub start: i64,
    pub end: i64,
    pub records: u64,
    pub labelled: u64,
    /// The API's window report (as `GET …/monitoring` answers it for this window).
    pub report: Value,
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
            let latest = self.latest_windows(&entry.name, entry.latest_version, now).await?;
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

    /// The latest stored window of each version of a model (versions `1..=latest_version`)
    /// within the look-back.
    async fn latest_windows(&self, model: &str, latest_version: u32, now: i64) -> Result<BTreeMap<u32, StoredWindow>> {
        let mut latest: BTreeMap<u32, StoredWindow> = BTreeMap::new();
        // Windows may start ahead of the server's clock (records carry their own time).
        let mut to = i64::MAX;
        for (i, days) in LOOK_BACK_DAYS.into_iter().enumerate() {
            let from = now.saturating_sub(days * 86_400);
            if i == 0 {
                keep_latest(&mut latest, self.store.windows(model, None, from, to).await?);
            } else {
                let missing: Vec<u32> = (1..=latest_version).filter(|v| !latest.contains_key(v)).collect();
                for version in missing {
                    keep_latest(&mut latest, self.store.windows(model, Some(version), from, to).await?);
                }
            }
            if latest.len() >= latest_version as usize {
                break;
            }
            to = from;
        }
        Ok(latest)
    }
}

/// Keeps, per version, the window with the latest start.
fn keep_latest(latest: &mut BTreeMap<u32, StoredWindow>, windows: Vec<StoredWindow>) {
    for w in windows {
        match latest.get(&w.version) {
            Some(kept) if kept.start >= w.start => {}
            _ => {
                latest.insert(w.version, w);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(version: u32, start: i64) -> StoredWindow {
        StoredWindow { version, start, end: start + 3600, state: Vec::new(), records: 1, labelled: 0, rev: 1 }
    }

    #[test]
    fn only_the_latest_window_of_each_version_is_kept() {
        let mut latest = BTreeMap::new();
        keep_latest(&mut latest, vec![window(1, 0), window(2, 3600), window(1, 7200), window(1, 3600)]);
        keep_latest(&mut latest, vec![window(2, 0)]);
        let starts: Vec<(u32, i64)> = latest.values().map(|w| (w.version, w.start)).collect();
        assert_eq!(starts, [(1, 7200), (2, 3600)]);
    }
}
