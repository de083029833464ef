//! Incident, webhook and webhook-delivery rows.

use super::{StoredTime, into_time, json};
use riskops_core::Result;
use riskops_core::alerting::Severity;
use riskops_core::incident::{Delivery, DeliveryState, Incident, IncidentState, RiskAction, Webhook, WebhookFormat};
use riskops_core::secret::Secret;

pub(crate) const INCIDENT_COLUMNS: &str = "id, project, model, version, monitor_id, monitor, severity, state, title, \
    first_window, last_window, windows, evidence, advice, raised_risks, opened_at, updated_at, \
    acknowledged_by, acknowledged_at, resolved_by, resolved_at, note, risk_action";

/// A row of `incidents`, in the order of [`INCIDENT_COLUMNS`]; `T` is the backend's time.
pub(crate) struct IncidentRow<T> {
    pub id: i64,
    pub project: String,
    pub model: String,
    pub version: u32,
    pub monitor_id: String,
    pub monitor: String,
    pub severity: String,
    pub state: String,
    pub title: String,
    pub first_window: i64,
    pub last_window: i64,
    pub windows: u32,
    pub evidence: String,
    pub advice: Option<String>,
    pub raised_risks: String,
    pub opened_at: T,
    pub updated_at: T,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<T>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<T>,
    pub note: String,
    pub risk_action: Option<String>,
}

impl<T: StoredTime> IncidentRow<T> {
    pub fn into_domain(self) -> Result<Incident> {
        Ok(Incident {
            id: self.id,
            project: self.project,
            model: self.model,
            version: self.version,
            monitor_id: self.monitor_id,
            monitor: json(&self.monitor)?,
            severity: Severity::parse("severity", &self.severity)?,
            state: IncidentState::parse("state", &self.state)?,
            title: self.title,
            first_window: self.first_window,
            last_window: self.last_window,
            windows: self.windows,
            evidence: json(&self.evidence)?,
            advice: self.advice.as_deref().map(json).transpose()?,
            raised_risks: serde_json::from_str(&self.raised_risks).unwrap_or_default(),
            opened_at: self.opened_at.into_time()?,
            updated_at: self.updated_at.into_time()?,
            acknowledged_by: self.acknowledged_by,
            acknowledged_at: into_time(self.acknowledged_at)?,
            resolved_by: self.resolved_by,
            resolved_at: into_time(self.resolved_at)?,
            note: self.note,
            risk_action: self.risk_action.as_deref().map(RiskAction::parse).transpose()?,
        })
    }
}

pub(crate) const DELIVERY_COLUMNS: &str = "d.id, d.webhook_id, d.incident_id, d.event, d.state, d.attempts, \
    d.next_attempt_at, d.last_status, d.last_error, d.created_at, d.delivered_at, d.incident_json";

/// A row of `webhook_deliveries`, in the order of [`DELIVERY_COLUMNS`]; `T` is the backend's time.
pub(crate) struct DeliveryRow<T> {
    pub id: i64,
    pub webhook_id: i64,
    pub incident_id: i64,
    pub event: String,
    pub state: String,
    pub attempts: u32,
    pub next_attempt_at: i64,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub created_at: T,
    pub delivered_at: Option<T>,
    /// The incident as it was when the delivery's event happened.
    pub incident_json: Option<String>,
}

impl<T: StoredTime> DeliveryRow<T> {
    pub fn into_domain(self) -> Result<Delivery> {
        Ok(Delivery {
            id: self.id,
            webhook_id: self.webhook_id,
            incident_id: self.incident_id,
            event: self.event,
            state: DeliveryState::parse(&self.state)?,
            attempts: self.attempts,
            next_attempt_at: self.next_attempt_at,
            last_status: self.last_status,
            last_error: self.last_error,
            created_at: self.created_at.into_time()?,
            delivered_at: into_time(self.delivered_at)?,
            incident: self.incident_json.as_deref().map(json).transpose()?,
        })
    }
}

pub(crate) const WEBHOOK_COLUMNS: &str = "id, project, url, secret, format, created_by, created_at";

/// A row of `webhooks`, in the order of [`WEBHOOK_COLUMNS`]; `T` is the backend's time.
pub(crate) struct WebhookRow<T> {
    pub id: i64,
    pub project: String,
    pub url: String,
    pub secret: String,
    pub format: String,
    pub created_by: String,
    pub created_at: T,
}

impl<T: StoredTime> WebhookRow<T> {
    pub fn into_domain(self) -> Result<Webhook> {
        Ok(Webhook {
            id: self.id,
            project: self.project,
            url: self.url,
            secret: Secret::new(self.secret),
            format: WebhookFormat::parse("format", &self.format)?,
            created_by: self.created_by,
            created_at: self.created_at.into_time()?,
        })
    }
}
