//! Monitors, incidents, webhooks and their deliveries, and a project's monitoring status.

use crate::Document;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A monitor: a metric of the window report compared with a threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Monitor {
    /// `m1`, `m2`, … for the model's own; `default:<name>` for its tier's defaults.
    pub id: String,
    /// A path into the window report: `drift.share`, `performance.f1`, …
    pub metric: String,
    /// `above` (breaches at the threshold or more) or `below` (under it).
    pub comparison: String,
    pub threshold: f64,
    /// Compared with the change from the reference rather than the value itself.
    pub relative: bool,
    /// Consecutive breaching windows before it fires.
    #[serde(rename = "for")]
    pub persistence: u32,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// The monitor in words.
    pub description: String,
    /// `model` (the model's own) or `tier default`; absent where it goes without saying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

/// A model's monitors in force.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MonitorList {
    pub model: String,
    pub project: String,
    /// The project's risk tier, whose default monitors apply.
    pub tier: String,
    pub monitors: Vec<Monitor>,
    /// Tier defaults switched off for this model.
    pub disabled_defaults: Vec<String>,
}

/// An incident: a monitor that breached for its persistence, and what followed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Incident {
    pub id: i64,
    /// `monitor` (a configured monitor breached) or `security` (the server's own checks:
    /// a deployed artifact or signature that no longer verifies).
    #[serde(default = "monitor_kind")]
    pub kind: String,
    pub project: String,
    pub model: String,
    pub version: u32,
    pub monitor_id: String,
    /// The monitor as it was when the incident opened.
    pub monitor: Monitor,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// `open`, `acknowledged` or `resolved`.
    pub state: String,
    pub title: String,
    /// Start of the first window that breached.
    pub first_window: String,
    /// Start of the latest window that joined it.
    pub last_window: String,
    /// How many windows joined it.
    pub windows: u32,
    /// `{"values":[{"window","value","at","breached"?}],…}`: what the monitor saw, with the
    /// windows' current values when they were judged again.
    pub evidence: Document,
    /// The retrain recommendation, for drift and performance monitors.
    pub advice: Option<Document>,
    /// Risk-register entries whose likelihood it raised.
    pub raised_risks: Vec<i64>,
    pub opened_at: String,
    pub updated_at: String,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<String>,
    /// A person, or `system` when riskops resolved it (its windows no longer breach).
    pub resolved_by: Option<String>,
    pub resolved_at: Option<String>,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IncidentList {
    /// Newest first.
    pub incidents: Vec<Incident>,
}

/// A project's webhook; its secret is never shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Webhook {
    pub id: i64,
    pub project: String,
    /// Scheme and host only (`https://hooks.example.com/…`): a receiver's path or query is
    /// often its credential.
    pub url: String,
    /// `json` or `slack`.
    pub format: String,
    pub created_by: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WebhookList {
    pub webhooks: Vec<Webhook>,
}

/// One notification of one incident event to one webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Delivery {
    pub id: i64,
    pub webhook_id: i64,
    pub incident_id: i64,
    /// `incident.opened`, `incident.acknowledged` or `incident.resolved`.
    pub event: String,
    /// `pending`, `delivered` or `failed` (gave up).
    pub state: String,
    pub attempts: u32,
    /// While pending.
    pub next_attempt_at: Option<String>,
    pub last_status: Option<u16>,
    /// Why the last attempt failed (`no HTTP answer from <host>`, …).
    pub last_error: Option<String>,
    pub created_at: String,
    pub delivered_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryList {
    /// Newest first.
    pub deliveries: Vec<Delivery>,
}

/// An incident not resolved yet, in a status line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OpenIncident {
    pub id: i64,
    pub severity: String,
    pub title: String,
    pub state: String,
    /// Start of its first window.
    pub since: String,
}

/// One model in a project's monitoring status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ModelStatus {
    pub model: String,
    pub tier: String,
    /// The version in each environment that has one: `{"production": 3}`.
    pub stages: std::collections::BTreeMap<String, u32>,
    /// The latest window of the last 30 days, summarised; null without one.
    pub last_window: Option<crate::window::LastWindow>,
    /// Newest first.
    pub open_incidents: Vec<OpenIncident>,
    /// The retrain advice of the open incidents.
    pub advice: Vec<Document>,
}

/// Each model of a project: stage, tier, latest window, open incidents, advice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MonitoringStatus {
    pub project: String,
    pub tier: String,
    pub models: Vec<ModelStatus>,
}

fn monitor_kind() -> String {
    "monitor".to_string()
}
