//! Incidents, monitor results and webhooks as the store keeps them.
//!
//! A monitor's observation of each closed window is a [`MonitorResult`]; a run of
//! breaching windows as long as the monitor's persistence opens an [`Incident`], or joins
//! the one still open for the same monitor and version (results remember their incident,
//! so a window joins one incident once). Opening, acknowledging and resolving an incident
//! queue a [`Delivery`] to each of the project's webhooks in the same transaction: a
//! notification is never lost to a crash, and sending never blocks ingestion.

use crate::alerting::Severity;
use crate::error::{Error, Result};
use serde_json::{Value, json};
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentState {
    Open,
    Acknowledged,
    Resolved,
}

impl IncidentState {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentState::Open => "open",
            IncidentState::Acknowledged => "acknowledged",
            IncidentState::Resolved => "resolved",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<IncidentState> {
        match s {
            "open" => Ok(IncidentState::Open),
            "acknowledged" => Ok(IncidentState::Acknowledged),
            "resolved" => Ok(IncidentState::Resolved),
            other => Err(Error::invalid(field, format!("{other:?}: use open, acknowledged or resolved"))),
        }
    }
}

/// A window that has closed and changed since monitors last looked at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueWindow {
    pub model: String,
    pub version: u32,
    pub start: i64,
    pub end: i64,
    pub rev: i64,
}

/// What one monitor saw in one window.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorResult {
    pub version: u32,
    pub window_start: i64,
    pub window_end: i64,
    pub monitor_id: String,
    pub value: Option<f64>,
    /// The feature or attribute the value came from, for per-column metrics.
    pub at: Option<String>,
    pub breached: bool,
    /// The incident the window joined (kept when a window is evaluated again).
    pub incident_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub id: i64,
    pub project: String,
    pub model: String,
    pub version: u32,
    pub monitor_id: String,
    /// The monitor as it was when the incident opened.
    pub monitor: Value,
    pub severity: Severity,
    pub state: IncidentState,
    pub title: String,
    pub first_window: i64,
    pub last_window: i64,
    pub windows: u32,
    /// `{"values":[{"window","value","at"}],…}`: what the monitor saw.
    pub evidence: Value,
    /// The retrain recommendation, for drift and performance monitors.
    pub advice: Option<Value>,
    /// Risk-register entries whose likelihood the incident raised.
    pub raised_risks: Vec<i64>,
    pub opened_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<OffsetDateTime>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<OffsetDateTime>,
    pub note: String,
    /// What the risk register still has to do for this incident (done by the alerting
    /// task, so a crash between the two only delays it).
    pub risk_action: Option<RiskAction>,
}

/// A change the risk register owes an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiskAction {
    /// Opened: raise the likelihood of the risks its signal names.
    Raise,
    /// Resolved: let the risks it raised fall back.
    Lower,
}

impl RiskAction {
    pub fn as_str(self) -> &'static str {
        match self {
            RiskAction::Raise => "raise",
            RiskAction::Lower => "lower",
        }
    }

    pub fn parse(s: &str) -> Result<RiskAction> {
        match s {
            "raise" => Ok(RiskAction::Raise),
            "lower" => Ok(RiskAction::Lower),
            other => Err(Error::internal(format!("unknown risk action {other:?}"))),
        }
    }
}

impl Incident {
    pub fn to_json(&self) -> Value {
        let t = |x: &Option<OffsetDateTime>| x.map(crate::service::rfc3339);
        json!({
            "id": self.id,
            "project": self.project,
            "model": self.model,
            "version": self.version,
            "monitor_id": self.monitor_id,
            "monitor": self.monitor,
            "severity": self.severity.as_str(),
            "state": self.state.as_str(),
            "title": self.title,
            "first_window": riskops_monitor::rfc3339(self.first_window),
            "last_window": riskops_monitor::rfc3339(self.last_window),
            "windows": self.windows,
            "evidence": self.evidence,
            "advice": self.advice,
            "raised_risks": self.raised_risks,
            "opened_at": crate::service::rfc3339(self.opened_at),
            "updated_at": crate::service::rfc3339(self.updated_at),
            "acknowledged_by": self.acknowledged_by,
            "acknowledged_at": t(&self.acknowledged_at),
            "resolved_by": self.resolved_by,
            "resolved_at": t(&self.resolved_at),
            "note": self.note,
        })
    }
}

/// An incident to open, with the windows that make it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIncident {
    pub project: String,
    pub model: String,
    pub version: u32,
    pub monitor_id: String,
    pub monitor: Value,
    pub severity: Severity,
    pub title: String,
    pub windows: Vec<i64>,
    pub evidence: Value,
    pub advice: Option<Value>,
}

/// More windows for an incident still open.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentExtension {
    pub id: i64,
    pub windows: Vec<i64>,
    pub evidence: Value,
    pub advice: Option<Value>,
}

/// An open incident whose windows were judged again: the values they have now.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentRefresh {
    pub id: i64,
    pub evidence: Value,
}

/// An open incident none of whose windows breaches any more: resolved by riskops.
#[derive(Debug, Clone, PartialEq)]
pub struct AutoResolution {
    pub id: i64,
    pub project: String,
    /// Its windows' current values.
    pub evidence: Value,
    /// Why, kept as the incident's note.
    pub reason: String,
}

/// One evaluation pass over a model's due windows, written in one transaction.
#[derive(Debug, Clone, Default)]
pub struct EvaluationWrite {
    pub model: String,
    /// `(version, start, rev)`: windows now evaluated at that revision.
    pub evaluated: Vec<(u32, i64, i64)>,
    pub results: Vec<MonitorResult>,
    pub opened: Vec<NewIncident>,
    pub extended: Vec<IncidentExtension>,
    pub refreshed: Vec<IncidentRefresh>,
    /// Resolved by the system (actor `system`), each queueing `incident.resolved`.
    pub resolved: Vec<AutoResolution>,
}

#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    pub project: Option<String>,
    pub model: Option<String>,
    pub state: Option<IncidentState>,
}

/// How a webhook's payload is shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookFormat {
    Json,
    /// Slack's incoming-webhook shape (`text` and `blocks`).
    Slack,
}

impl WebhookFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookFormat::Json => "json",
            WebhookFormat::Slack => "slack",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<WebhookFormat> {
        match s {
            "json" => Ok(WebhookFormat::Json),
            "slack" => Ok(WebhookFormat::Slack),
            other => Err(Error::invalid(field, format!("{other:?}: use json or slack"))),
        }
    }
}

/// A project's webhook. The secret signs payloads; it is never shown back.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    pub id: i64,
    pub project: String,
    pub url: String,
    pub secret: crate::secret::Secret<String>,
    pub format: WebhookFormat,
    pub created_by: String,
    pub created_at: OffsetDateTime,
}

/// A webhook URL as riskops shows it: scheme and host only. A receiver's path or query
/// often is its credential (a Slack hook's path is), so it is not shown, logged or audited.
pub fn shown_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let more = rest.len() > host.len() && rest[host.len()..] != *"/";
    format!("{scheme}://{host}{}", if more { "/…" } else { "" })
}

impl Webhook {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "project": self.project,
            "url": shown_url(&self.url),
            "format": self.format.as_str(),
            "created_by": self.created_by,
            "created_at": crate::service::rfc3339(self.created_at),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewWebhook {
    pub project: String,
    pub url: String,
    pub secret: crate::secret::Secret<String>,
    pub format: WebhookFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Delivered,
    /// Gave up after the last attempt.
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Result<DeliveryState> {
        match s {
            "pending" => Ok(DeliveryState::Pending),
            "delivered" => Ok(DeliveryState::Delivered),
            "failed" => Ok(DeliveryState::Failed),
            other => Err(Error::internal(format!("unknown delivery state {other:?}"))),
        }
    }
}

/// One notification of one incident event to one webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: i64,
    pub webhook_id: i64,
    pub incident_id: i64,
    /// `incident.opened`, `incident.acknowledged`, `incident.resolved`.
    pub event: String,
    pub state: DeliveryState,
    pub attempts: u32,
    /// Unix seconds of the next attempt, while pending.
    pub next_attempt_at: i64,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
    pub delivered_at: Option<OffsetDateTime>,
    /// The incident's JSON as it was when the event happened, kept when the delivery is
    /// queued, so a later acknowledgement or resolution does not rewrite what this event
    /// tells. `None` for deliveries queued before snapshots were kept.
    pub incident: Option<Value>,
}

impl Delivery {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "webhook_id": self.webhook_id,
            "incident_id": self.incident_id,
            "event": self.event,
            "state": self.state.as_str(),
            "attempts": self.attempts,
            "next_attempt_at": (self.state == DeliveryState::Pending).then(|| riskops_monitor::rfc3339(self.next_attempt_at)),
            "last_status": self.last_status,
            "last_error": self.last_error,
            "created_at": crate::service::rfc3339(self.created_at),
            "delivered_at": self.delivered_at.map(crate::service::rfc3339),
        })
    }
}

/// How one delivery attempt went.
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptOutcome {
    Delivered {
        status: u16,
    },
    /// `retry_at`: unix seconds of the next attempt; `None` gives up.
    Failed {
        status: Option<u16>,
        error: String,
        retry_at: Option<i64>,
    },
}

#[cfg(test)]
mod tests {
    #[test]
    fn webhook_urls_show_their_host_only() {
        assert_eq!(super::shown_url("https://hooks.slack.com/services/T0/B0/secret"), "https://hooks.slack.com/…");
        assert_eq!(super::shown_url("http://127.0.0.1:9000/hook?token=x"), "http://127.0.0.1:9000/…");
        assert_eq!(super::shown_url("http://example.com/"), "http://example.com");
    }
}
