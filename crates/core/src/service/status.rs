//! A project's monitoring at a glance: for each model, where its versions are deployed,
//! the tier that governs it, its latest window and the incidents still open with their
//! advice. Composed from the registry, governance, monitoring and alerting services; it
//! writes nothing.

use super::monitoring::WindowReports;
use super::{RequestContext, Riskops};
use crate::auth::{self, Operation, Scope};
use crate::error::{Error, Result};
use crate::governance::{Environment, Tier};
use crate::incident::{Incident, IncidentFilter, IncidentState};
use crate::monitoring::{LastWindow, StoredWindow};
use crate::project::validate_name;
use riskops_monitor::WindowState;

/// How far back the latest window is looked for.
const LOOK_BACK: i64 = 30 * 86_400;

/// One model's monitoring status.
#[derive(Debug, Clone)]
pub struct ModelStatus {
    pub model: String,
    pub tier: Tier,
    /// The version active in each environment that has one.
    pub stages: Vec<(Environment, u32)>,
    /// The latest window of the last 30 days (or later), summarised; `None` without one.
    pub last_window: Option<LastWindow>,
    /// Incidents not resolved yet (open or acknowledged), newest first.
    pub open_incidents: Vec<Incident>,
}

/// Every model of a project, by name.
#[derive(Debug, Clone)]
pub struct MonitoringStatus {
    pub project: String,
    pub tier: Tier,
    pub models: Vec<ModelStatus>,
}

impl Riskops {
    /// The monitoring status of each model of a project (reads need registry.read).
    pub async fn monitoring_status(&self, ctx: &RequestContext, project: &str) -> Result<MonitoringStatus> {
        validate_name("project", project)?;
        auth::authorize(&ctx.principal, Operation::RegistryRead, Scope::Project(project))?;
        let found = self
            .store
            .project(project)
            .await?
            .ok_or_else(|| Error::not_found(format!("no project named {project:?}")))?;
        let (tier, _) = self.project_tier(&found).await?;
        let mut unresolved = Vec::new();
        for state in [IncidentState::Open, IncidentState::Acknowledged] {
            let filter = IncidentFilter { project: Some(project.to_string()), model: None, state: Some(state) };
            unresolved.extend(self.store.incidents(&filter).await?);
        }
        unresolved.sort_by_key(|i| std::cmp::Reverse(i.id));
        let mut entries = self.list_models(ctx, Some(project)).await?;
        entries.retain(|e| e.project == project);
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        let mut models = Vec::with_capacity(entries.len());
        for entry in entries {
            let stages = self.stages(ctx, &entry.name, None).await?;
            let deployed: Vec<(Environment, u32)> =
                stages.environments.iter().filter_map(|(env, d)| d.as_ref().map(|d| (*env, d.version))).collect();
            let production = deployed.iter().find(|(env, _)| *env == Environment::Production).map(|(_, v)| *v);
            let last_window = self.last_window(&entry.name, entry.latest_version, production).await?;
            let open_incidents = unresolved.iter().filter(|i| i.model == entry.name).cloned().collect();
            models.push(ModelStatus { model: entry.name, tier, stages: deployed, last_window, open_incidents });
        }
        Ok(MonitoringStatus { project: project.to_string(), tier, models })
    }

    /// The model's latest window, summarised from its report. Where versions share the
    /// latest window, the one in production counts, else the one with most records.
    async fn last_window(
        &self,
        model: &str,
        latest_version: u32,
        production: Option<u32>,
    ) -> Result<Option<LastWindow>> {
        let now = self.clock.now().unix_timestamp();
        // Windows after now (a sender's clock ahead) count too: they are the latest.
        let windows = self.latest_windows(model, 1..=latest_version, now - LOOK_BACK).await?;
        let Some(latest) = windows.values().map(|w| w.start).max() else { return Ok(None) };
        let chosen: Option<&StoredWindow> = windows
            .values()
            .filter(|w| w.start == latest)
            .max_by_key(|w| (Some(w.version) == production, w.records, w.version));
        let Some(w) = chosen else { return Ok(None) };
        let state = WindowState::decode(&w.state).map_err(|e| Error::internal(format!("stored window: {e}")))?;
        // The summary shows no prediction drift: its baseline window is not read.
        let mut reports = WindowReports::new(self, model).await?.without_prediction_drift();
        let window = reports.report(w.version, w.start, w.end, &state).await?;
        let report = window.report;
        let lowest_parity = report
            .fairness
            .iter()
            .filter_map(|(a, f)| f.demographic_parity_ratio.filter(|r| r.is_finite()).map(|r| (a.clone(), r)))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        Ok(Some(LastWindow {
            start: report.start,
            end: report.end,
            version: w.version,
            records: w.records,
            labelled: w.labelled,
            drift_share: report.drift.share,
            drifted_features: report.drift.features.into_iter().filter(|f| f.drifted).map(|f| f.name).collect(),
            performance: report.performance,
            lowest_parity,
            business: window.business,
        }))
    }
}
