//! Alerting: a model's monitors, the incidents they open, a project's webhooks and their
//! deliveries, and a project's monitoring status.

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, Caller};
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use riskops_core::Error;
use riskops_core::incident::{IncidentFilter, IncidentState, WebhookFormat};
use riskops_core::secret::Secret;
use serde::{Deserialize, Serialize};
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
    project: String,
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

#[derive(Serialize, ToSchema)]
pub struct MonitorList {
    model: String,
    project: String,
    /// The project's risk tier, whose default monitors apply.
    tier: String,
    /// `{"id","metric","comparison","threshold","relative","for","severity","description","origin"}`;
    /// origin is `model` or `tier default`.
    #[schema(value_type = Vec<Object>)]
    monitors: Vec<Value>,
    /// Tier defaults switched off for this model.
    disabled_defaults: Vec<String>,
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
) -> Result<Json<Value>, ApiError> {
    super::check_model_in_project(&state, &ctx, &path.project, &path.model).await?;
    Ok(Json(state.riskops.monitors(&ctx, &path.model).await?.to_json()))
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
    responses((status = 201, body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn add_monitor(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(path): Path<ModelPath>,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    super::check_model_in_project(&state, &ctx, &path.project, &path.model).await?;
    let monitor = state.riskops.add_monitor(&ctx, &path.model, &body).await?;
    let mut view = monitor.to_json();
    view["origin"] = Value::from("model");
    Ok((StatusCode::CREATED, Json(view)))
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
    project: Option<String>,
    model: Option<String>,
    /// `open`, `acknowledged` or `resolved`.
    state: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct IncidentList {
    /// Newest first.
    #[schema(value_type = Vec<Object>)]
    incidents: Vec<Value>,
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
    let incidents = state.riskops.incidents(&ctx, &filter).await?;
    Ok(Json(IncidentList { incidents: incidents.iter().map(|i| i.to_json()).collect() }))
}

/// One incident: the monitor, the windows and values that opened it, the retrain advice
/// (drift and performance monitors), the risks it raised, who acknowledged or resolved it.
#[utoipa::path(
    get, path = "/api/v1/incidents/{id}", tag = "alerting", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn get_incident(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(state.riskops.incident(&ctx, id).await?.to_json()))
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
) -> Result<Json<Value>, ApiError> {
    let obj = object_body(body, &["note"])?;
    let note = text_field(&obj, "note")?.unwrap_or_default();
    Ok(Json(state.riskops.set_incident_state(ctx, id, to, &note).await?.to_json()))
}

/// Acknowledges an open incident (admin, risk_officer, validator, data_scientist), with an
/// optional `{"note"}`; webhooks hear `incident.acknowledged`.
#[utoipa::path(
    post, path = "/api/v1/incidents/{id}/acknowledge", tag = "alerting", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body(content = Option<IncidentNote>),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "already acknowledged or resolved", body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn acknowledge_incident(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    move_incident(&state, &ctx, id, IncidentState::Acknowledged, &body).await
}

/// Resolves an incident (admin, risk_officer, validator, data_scientist), with an optional
/// `{"note"}`; lowers the risks it raised, and webhooks hear `incident.resolved`.
#[utoipa::path(
    post, path = "/api/v1/incidents/{id}/resolve", tag = "alerting", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body(content = Option<IncidentNote>),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "already resolved", body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn resolve_incident(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    move_incident(&state, &ctx, id, IncidentState::Resolved, &body).await
}

#[derive(Serialize, ToSchema)]
pub struct WebhookList {
    /// `{"id","project","url","format","created_by","created_at"}`; secrets are never shown.
    #[schema(value_type = Vec<Object>)]
    webhooks: Vec<Value>,
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
    Ok(Json(WebhookList { webhooks: webhooks.iter().map(|w| w.to_json()).collect() }))
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
    responses((status = 201, body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn add_webhook(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(path): Path<ProjectPath>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let obj = object_body(&body, &["url", "secret", "format"])?;
    let url = text_field(&obj, "url")?.ok_or_else(|| Error::invalid("url", "is required"))?;
    let secret = Secret::new(text_field(&obj, "secret")?.ok_or_else(|| Error::invalid("secret", "is required"))?);
    let format = WebhookFormat::parse("format", text_field(&obj, "format")?.as_deref().unwrap_or("json"))?;
    let webhook = state.riskops.add_webhook(&ctx, &path.project, &url, secret, format).await?;
    Ok((StatusCode::CREATED, Json(webhook.to_json())))
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

#[derive(Serialize, ToSchema)]
pub struct DeliveryList {
    /// `{"id","webhook_id","incident_id","event","state","attempts","next_attempt_at","last_status","last_error","created_at","delivered_at"}`.
    #[schema(value_type = Vec<Object>)]
    deliveries: Vec<Value>,
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
    Ok(Json(DeliveryList { deliveries: deliveries.iter().map(|d| d.to_json()).collect() }))
}

/// Each model of a project: the version in each environment, the tier, the latest window
/// (drift share, drifted features, performance), the incidents not resolved yet and their
/// retrain advice.
#[utoipa::path(
    get, path = "/api/v1/projects/{project}/monitoring/status", tag = "alerting", security(("bearer" = [])),
    params(ProjectPath),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn monitoring_status(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(path): Path<ProjectPath>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(state.riskops.monitoring_status(&ctx, &path.project).await?.to_json()))
}
