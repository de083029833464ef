//! Alerting: a model's monitors, the incidents they open, a project's webhooks and their
//! deliveries, and a project's monitoring status.

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, Caller};
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use riskops_api::Document;
use riskops_api::alerting::{
    Delivery, DeliveryList, Incident, IncidentList, ModelStatus, Monitor, MonitorList, MonitoringStatus, OpenIncident,
    Webhook, WebhookList,
};
use riskops_core::Error;
use riskops_core::incident::{IncidentFilter, IncidentState, WebhookFormat};
use riskops_core::secret::Secret;
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
pub struct ModelPath {
    project: String,
    model: String,
}

#[derive(Deserialize, IntoParams)]
pub struct MonitorPath {
    project: String,
    model: String,
    /// `m1`, … for the model's own monitors, `default:<name>` for its tier's defaults.
    id: String,
}

#[derive(Deserialize, IntoParams)]
pub struct ProjectPath {
    pub(crate) project: String,
}

#[derive(Deserialize, IntoParams)]
pub struct WebhookPath {
    project: String,
    id: i64,
}

/// 404 unless the project exists (for listings, which are empty otherwise).
async fn check_project(state: &AppState, project: &str) -> Result<(), ApiError> {
    Ok(state.riskops.project_exists(project).await?)
}

/// A JSON object body, or `{}` when the body is empty; 400 when it is not JSON, 422 when
/// it is not an object or has a field not in `allowed`.
fn object_body(body: &Bytes, allowed: &[&str]) -> Result<Map<String, Value>, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|e| Error::bad_request(format!("the body is not JSON: {e}")))?;
    crate::extract::refuse_duplicate_keys("the body", body)?;
    let Value::Object(obj) = value else { return Err(Error::invalid("body", "must be a JSON object")) };
    if let Some(k) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(Error::invalid(k.as_str(), format!("unknown field; expected {}", allowed.join(", "))));
    }
    Ok(obj)
}

/// A string field of a body: `None` when absent or null, 422 when not a string.
fn text_field(obj: &Map<String, Value>, field: &str) -> Result<Option<String>, Error> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Error::invalid(field, "must be a string")),
    }
}

/// A model's monitors in force: its own and its tier's defaults not switched off.
#[utoipa::path(
    get, path = "/api/v1/projects/{project}/models/{model}/monitors", tag = "alerting", security(("bearer" = [])),
    params(ModelPath),
    responses((status = 200, body = MonitorList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn list_monitors(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(path): Path<ModelPath>,
) -> Result<Json<MonitorList>, ApiError> {
    super::check_model_in_project(&state, &ctx, &path.project, &path.model).await?;
    let view = state.riskops.monitors(&ctx, &path.model).await?;
    Ok(Json(MonitorList {
        model: view.model,
        project: view.project,
        tier: view.tier.as_str().to_string(),
        monitors: view.monitors.iter().map(|(m, origin)| monitor(m, Some(origin))).collect(),
        disabled_defaults: view.disabled_defaults,
    }))
}

/// Adds a monitor (admin, risk_officer, data_scientist):
/// `{"metric":"performance.f1","below":-0.05,"relative":true,"for":3,"severity":"high"}`.
/// `metric` is a path in the window report (`drift.share`, `drift.any`,
/// `drift.feature.<name>`, `performance.f1`, `fairness.<attribute|*>.demographic_parity_ratio`,
/// `quality.missing_rate`, `volume`, `latency.p95_ms`, `business.cost_per_1000`); `above`
/// breaches at the value or more, `below` under it; `relative` compares the change from
/// the reference (the version's registered metric, else its first window); `for`: the
/// consecutive windows before it fires (default 1); `severity`: low, medium (default),
/// high or critical.
#[utoipa::path(
    post, path = "/api/v1/projects/{project}/models/{model}/monitors", tag = "alerting", security(("bearer" = [])),
    params(ModelPath), request_body(content = Object),
    responses((status = 201, body = Monitor), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn add_monitor(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(path): Path<ModelPath>,
    ApiJson(body): ApiJson<Document>,
) -> Result<(StatusCode, Json<Monitor>), ApiError> {
    super::check_model_in_project(&state, &ctx, &path.project, &path.model).await?;
    let added = state.riskops.add_monitor(&ctx, &path.model, &body.0).await?;
    Ok((StatusCode::CREATED, Json(monitor(&added, Some("model")))))
}

/// Removes one of the model's monitors (admin, risk_officer, data_scientist), or switches
/// one of its tier's defaults off (`default:drift_share`; admin, risk_officer, never an
/// author of the model).
#[utoipa::path(
    delete, path = "/api/v1/projects/{project}/models/{model}/monitors/{id}", tag = "alerting", security(("bearer" = [])),
    params(MonitorPath),
    responses((status = 204, description = "removed"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn remove_monitor(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(path): Path<MonitorPath>,
) -> Result<StatusCode, ApiError> {
    super::check_model_in_project(&state, &ctx, &path.project, &path.model).await?;
    state.riskops.remove_monitor(&ctx, &path.model, &path.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
pub struct IncidentQuery {
    pub(crate) project: Option<String>,
    pub(crate) model: Option<String>,
    /// `open`, `acknowledged` or `resolved`.
    pub(crate) state: Option<String>,
    /// `monitor` or `security`.
    pub(crate) kind: Option<String>,
}

/// Incidents the caller may read, newest first.
#[utoipa::path(
    get, path = "/api/v1/incidents", tag = "alerting", security(("bearer" = [])),
    params(IncidentQuery),
    responses((status = 200, body = IncidentList), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn list_incidents(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Query(q): Query<IncidentQuery>,
) -> Result<Json<IncidentList>, ApiError> {
    if let Some(m) = &q.model {
        riskops_core::project::validate_name("model", m)?;
    }
    let filter = IncidentFilter {
        project: q.project,
        model: q.model,
        state: q.state.as_deref().map(|s| IncidentState::parse("state", s)).transpose()?,
    };
    if let Some(kind) = q.kind.as_deref().filter(|k| !matches!(*k, "monitor" | "security")) {
        return Err(Error::invalid("kind", format!("unknown kind {kind:?}; use monitor or security")).into());
    }
    let incidents = state.riskops.incidents(&ctx, &filter).await?;
    let incidents: Vec<Incident> = incidents.iter().map(incident).collect::<Result<_, _>>()?;
    let incidents = incidents.into_iter().filter(|i| q.kind.as_ref().is_none_or(|k| *k == i.kind)).collect();
    Ok(Json(IncidentList { incidents }))
}

/// One incident: the monitor, the windows and values that opened it, the retrain advice
/// (drift and performance monitors), the risks it raised, who acknowledged or resolved it.
#[utoipa::path(
    get, path = "/api/v1/incidents/{id}", tag = "alerting", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Incident), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn get_incident(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<i64>,
) -> Result<Json<Incident>, ApiError> {
    Ok(Json(incident(&state.riskops.incident(&ctx, id).await?)?))
}

/// The body of acknowledge and resolve (documentation only: it is read by hand, so an
/// empty body is accepted too).
#[derive(ToSchema)]
pub struct IncidentNote {
    /// Why (at most 4,000 bytes); optional, and the body may be empty.
    pub note: Option<String>,
}

async fn move_incident(
    state: &AppState,
    ctx: &riskops_core::service::RequestContext,
    id: i64,
    to: IncidentState,
    body: &Bytes,
) -> Result<Json<Incident>, ApiError> {
    let obj = object_body(body, &["note"])?;
    let note = text_field(&obj, "note")?.unwrap_or_default();
    Ok(Json(incident(&state.riskops.set_incident_state(ctx, id, to, &note).await?)?))
}

/// Acknowledges an open incident (admin, risk_officer, validator, data_scientist), with an
/// optional `{"note"}`; webhooks hear `incident.acknowledged`.
#[utoipa::path(
    post, path = "/api/v1/incidents/{id}/acknowledge", tag = "alerting", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body(content = Option<IncidentNote>),
    responses((status = 200, body = Incident), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "already acknowledged or resolved", body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn acknowledge_incident(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Json<Incident>, ApiError> {
    move_incident(&state, &ctx, id, IncidentState::Acknowledged, &body).await
}

/// Resolves an incident (admin, risk_officer, validator, data_scientist), with an optional
/// `{"note"}`; lowers the risks it raised, and webhooks hear `incident.resolved`.
#[utoipa::path(
    post, path = "/api/v1/incidents/{id}/resolve", tag = "alerting", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body(content = Option<IncidentNote>),
    responses((status = 200, body = Incident), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "already resolved", body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn resolve_incident(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Json<Incident>, ApiError> {
    move_incident(&state, &ctx, id, IncidentState::Resolved, &body).await
}

/// A project's webhooks (never their secrets).
#[utoipa::path(
    get, path = "/api/v1/projects/{project}/webhooks", tag = "alerting", security(("bearer" = [])),
    params(ProjectPath),
    responses((status = 200, body = WebhookList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn list_webhooks(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(path): Path<ProjectPath>,
) -> Result<Json<WebhookList>, ApiError> {
    let webhooks = state.riskops.webhooks(&ctx, &path.project).await?;
    check_project(&state, &path.project).await?;
    Ok(Json(WebhookList { webhooks: webhooks.iter().map(webhook).collect() }))
}

/// The body of a new webhook (documentation only: it is read by hand, so each missing or
/// wrong field is named).
#[derive(ToSchema)]
pub struct NewWebhook {
    /// http:// or https://, without credentials.
    pub url: String,
    /// 16 to 512 bytes; signs each payload (`X-Riskops-Signature: sha256=<HMAC-SHA256 of "<timestamp>.<body>">`).
    pub secret: String,
    /// `json` (default) or `slack` (Slack's incoming-webhook shape).
    pub format: Option<String>,
}

/// Adds a webhook to a project (admin, risk_officer). Incidents opened, acknowledged and
/// resolved are POSTed to it, signed with the secret, which is never shown again.
#[utoipa::path(
    post, path = "/api/v1/projects/{project}/webhooks", tag = "alerting", security(("bearer" = [])),
    params(ProjectPath), request_body = NewWebhook,
    responses((status = 201, body = Webhook), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn add_webhook(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(path): Path<ProjectPath>,
    body: Bytes,
) -> Result<(StatusCode, Json<Webhook>), ApiError> {
    let obj = object_body(&body, &["url", "secret", "format"])?;
    let url = text_field(&obj, "url")?.ok_or_else(|| Error::invalid("url", "is required"))?;
    let secret = Secret::new(text_field(&obj, "secret")?.ok_or_else(|| Error::invalid("secret", "is required"))?);
    let format = WebhookFormat::parse("format", text_field(&obj, "format")?.as_deref().unwrap_or("json"))?;
    let webhook = state.riskops.add_webhook(&ctx, &path.project, &url, secret, format).await?;
    Ok((StatusCode::CREATED, Json(self::webhook(&webhook))))
}

/// Removes a webhook (admin, risk_officer); its pending deliveries fail.
#[utoipa::path(
    delete, path = "/api/v1/projects/{project}/webhooks/{id}", tag = "alerting", security(("bearer" = [])),
    params(WebhookPath),
    responses((status = 204, description = "removed"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn remove_webhook(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(path): Path<WebhookPath>,
) -> Result<StatusCode, ApiError> {
    state.riskops.remove_webhook(&ctx, &path.project, path.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
pub struct DeliveryQuery {
    /// One webhook's deliveries only.
    webhook: Option<i64>,
    /// At most this many, newest first (1–1000, default 100).
    limit: Option<usize>,
}

/// A project's webhook deliveries, newest first: pending, delivered or failed, with the
/// last status or error.
#[utoipa::path(
    get, path = "/api/v1/projects/{project}/webhooks/deliveries", tag = "alerting", security(("bearer" = [])),
    params(ProjectPath, DeliveryQuery),
    responses((status = 200, body = DeliveryList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn list_deliveries(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(path): Path<ProjectPath>,
    Query(q): Query<DeliveryQuery>,
) -> Result<Json<DeliveryList>, ApiError> {
    let deliveries = state.riskops.deliveries(&ctx, &path.project, q.webhook, q.limit.unwrap_or(100)).await?;
    check_project(&state, &path.project).await?;
    Ok(Json(DeliveryList { deliveries: deliveries.iter().map(delivery).collect() }))
}

/// Each model of a project: the version in each environment, the tier, the latest window
/// (drift share, drifted features, performance), the incidents not resolved yet and their
/// retrain advice.
#[utoipa::path(
    get, path = "/api/v1/projects/{project}/monitoring/status", tag = "alerting", security(("bearer" = [])),
    params(ProjectPath),
    responses((status = 200, body = MonitoringStatus), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn monitoring_status(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(path): Path<ProjectPath>,
) -> Result<Json<MonitoringStatus>, ApiError> {
    let status = state.riskops.monitoring_status(&ctx, &path.project).await?;
    Ok(Json(MonitoringStatus {
        project: status.project,
        tier: status.tier.as_str().to_string(),
        models: status.models.iter().map(model_status).collect(),
    }))
}

// ---- riskops-core's types as the API shows them ------------------------------------------

use super::rfc3339;

fn monitor(m: &riskops_core::alerting::Monitor, origin: Option<&str>) -> Monitor {
    Monitor {
        id: m.id.clone(),
        metric: m.metric.clone(),
        comparison: m.comparison.as_str().to_string(),
        threshold: m.threshold,
        relative: m.relative,
        persistence: m.persistence,
        severity: m.severity.as_str().to_string(),
        description: m.describe(),
        origin: origin.map(str::to_string),
    }
}

fn incident(i: &riskops_core::incident::Incident) -> Result<Incident, Error> {
    // The monitor is kept as it was when the incident opened. Security incidents come from
    // the server's own checks, not from a configured monitor.
    let (kind, monitor_view) = if i.monitor_id == riskops_core::service::INTEGRITY_MONITOR {
        ("security", integrity_monitor(i))
    } else if i.monitor_id.starts_with(riskops_core::access::ACCESS_MONITOR_PREFIX) {
        ("security", access_monitor(i))
    } else {
        ("monitor", monitor(&riskops_core::alerting::Monitor::from_json(&i.monitor)?, None))
    };
    Ok(Incident {
        kind: kind.to_string(),
        id: i.id,
        project: i.project.clone(),
        model: i.model.clone(),
        version: i.version,
        monitor_id: i.monitor_id.clone(),
        monitor: monitor_view,
        severity: i.severity.as_str().to_string(),
        state: i.state.as_str().to_string(),
        title: i.title.clone(),
        first_window: riskops_monitor::rfc3339(i.first_window),
        last_window: riskops_monitor::rfc3339(i.last_window),
        windows: i.windows,
        evidence: Document(i.evidence.clone()),
        advice: i.advice.clone().map(Document),
        raised_risks: i.raised_risks.clone(),
        opened_at: rfc3339(i.opened_at),
        updated_at: rfc3339(i.updated_at),
        acknowledged_by: i.acknowledged_by.clone(),
        acknowledged_at: i.acknowledged_at.map(rfc3339),
        resolved_by: i.resolved_by.clone(),
        resolved_at: i.resolved_at.map(rfc3339),
        note: i.note.clone(),
    })
}

/// The deployment integrity check, shown as the monitor of the incidents it opens.
fn integrity_monitor(i: &riskops_core::incident::Incident) -> Monitor {
    Monitor {
        id: riskops_core::service::INTEGRITY_MONITOR.to_string(),
        metric: riskops_core::service::INTEGRITY_MONITOR.to_string(),
        comparison: "above".to_string(),
        threshold: 0.0,
        relative: false,
        persistence: 1,
        severity: i.severity.as_str().to_string(),
        description: "deployment integrity: the artifact's digest, the registry's digest and the production \
                      signature, verified at start and on a schedule"
            .to_string(),
        origin: Some("server".to_string()),
    }
}

/// An access rule (`security.access.<rule>:<subject>`), shown as the monitor of the
/// incidents it opens, with the threshold it had then.
fn access_monitor(i: &riskops_core::incident::Incident) -> Monitor {
    let text = |key: &str| i.monitor.get(key).and_then(serde_json::Value::as_str).unwrap_or_default().to_string();
    let threshold = i.evidence.pointer("/threshold/count").and_then(serde_json::Value::as_f64).unwrap_or(1.0);
    Monitor {
        id: i.monitor_id.clone(),
        metric: text("metric"),
        comparison: "above".to_string(),
        threshold,
        relative: false,
        persistence: 1,
        severity: i.severity.as_str().to_string(),
        description: text("description"),
        origin: Some("server".to_string()),
    }
}

fn webhook(w: &riskops_core::incident::Webhook) -> Webhook {
    Webhook {
        id: w.id,
        project: w.project.clone(),
        url: riskops_core::incident::shown_url(&w.url),
        format: w.format.as_str().to_string(),
        created_by: w.created_by.clone(),
        created_at: rfc3339(w.created_at),
    }
}

fn delivery(d: &riskops_core::incident::Delivery) -> Delivery {
    let pending = d.state == riskops_core::incident::DeliveryState::Pending;
    Delivery {
        id: d.id,
        webhook_id: d.webhook_id,
        incident_id: d.incident_id,
        event: d.event.clone(),
        state: d.state.as_str().to_string(),
        attempts: d.attempts,
        next_attempt_at: pending.then(|| riskops_monitor::rfc3339(d.next_attempt_at)),
        last_status: d.last_status,
        last_error: d.last_error.clone(),
        created_at: rfc3339(d.created_at),
        delivered_at: d.delivered_at.map(rfc3339),
    }
}

fn model_status(m: &riskops_core::service::ModelStatus) -> ModelStatus {
    ModelStatus {
        model: m.model.clone(),
        tier: m.tier.as_str().to_string(),
        stages: m.stages.iter().map(|(env, version)| (env.as_str().to_string(), *version)).collect(),
        last_window: m.last_window.as_ref().map(super::window_views::last_window),
        open_incidents: m
            .open_incidents
            .iter()
            .map(|i| OpenIncident {
                id: i.id,
                severity: i.severity.as_str().to_string(),
                title: i.title.clone(),
                state: i.state.as_str().to_string(),
                since: riskops_monitor::rfc3339(i.first_window),
            })
            .collect(),
        advice: m.open_incidents.iter().filter_map(|i| i.advice.clone()).map(Document).collect(),
    }
}
