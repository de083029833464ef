//! Alerting services: monitors in, incidents out, webhooks notified, risks raised.
//!
//! [`Riskops::evaluate_monitors`] runs in the background (the server's alerting task): it
//! takes windows that closed or changed since last looked at (late labels change closed
//! windows), computes their reports, records what each monitor saw, and opens or extends
//! incidents where a monitor breached for its persistence. Opening an incident queues
//! webhook deliveries in the same transaction and raises the matching risks' likelihood;
//! resolving it lowers them again. [`Riskops::deliver_webhooks`] sends what is due, signed,
//! retrying with backoff. Neither blocks ingestion.
//!
//! Submodules follow the seams: `monitors` (monitors in), `evaluation` (windows judged,
//! incidents opened, extended, resolved), `incidents` (people's view, the risk register)
//! and `webhooks` (notifications out).

mod evaluation;
mod incidents;
mod monitors;
#[cfg(test)]
mod tests;
mod webhooks;

pub use evaluation::EvaluationSummary;
pub use monitors::MonitorsView;
pub use webhooks::{MAX_ATTEMPTS, WebhookTransport, signature};

use super::Riskops;
use crate::alerting::{Monitor, MonitorSet};
use crate::compliance::MonitoringFacts;
use crate::error::{Error, Result};
use crate::governance::Tier;
use crate::incident::IncidentFilter;
use std::collections::BTreeMap;

fn monitors_kind(model: &str) -> String {
    format!("monitors:{model}")
}

impl Riskops {
    async fn monitor_set(&self, model: &str) -> Result<MonitorSet> {
        match self.store.document(&monitors_kind(model)).await? {
            Some(d) => MonitorSet::from_json(&d.document),
            None => Ok(MonitorSet::default()),
        }
    }

    async fn tier_of(&self, project: &str) -> Result<Tier> {
        let project =
            self.store.project(project).await?.ok_or_else(|| Error::internal(format!("project {project} vanished")))?;
        Ok(self.project_tier(&project).await?.0)
    }

    /// What the compliance report needs of a model's monitoring: monitors in force, the
    /// latest window of each version, segments kept and incidents.
    pub(super) async fn monitoring_facts(&self, model: &str, versions: &[u32], tier: Tier) -> Result<MonitoringFacts> {
        let monitors = self.monitor_set(model).await?.effective(tier).iter().map(Monitor::describe).collect();
        let mut last_window = BTreeMap::new();
        for v in versions {
            if let Some((_, end, _)) = self.store.latest_window(model, *v).await? {
                last_window.insert(*v, end);
            }
        }
        let filter = IncidentFilter { model: Some(model.to_string()), ..IncidentFilter::default() };
        Ok(MonitoringFacts {
            monitors,
            last_window,
            segments: self.store.segments(model).await?.len() as u64,
            retention_days: self.stored_monitor_config(model).await?.retention_days,
            incidents: self.store.incidents(&filter).await?,
        })
    }
}

fn rfc3339_unix(secs: i64) -> String {
    riskops_monitor::rfc3339(secs)
}
