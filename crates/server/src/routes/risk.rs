//! The risk register: taxonomy, assessment, entries.

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, Caller};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use riskops_core::Error;
use riskops_core::risk::{ControlLink, Impact, RiskEntry, RiskFields, RiskStatus, band};
use riskops_core::service::RiskPatch;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

#[derive(Serialize, ToSchema)]
pub struct TaxonomyView {
    /// The stored version, or null while the built-in taxonomy applies.
    stored_version: Option<u32>,
    #[schema(value_type = Object)]
    taxonomy: Value,
}

/// The risk taxonomy in force: categories, workflow types, failure modes with severities
/// per workflow, modifiers, and the signals that raise likelihoods.
#[utoipa::path(
    get, path = "/api/v1/taxonomy", tag = "risk", security(("bearer" = [])),
    responses((status = 200, body = TaxonomyView), (status = 403, body = ErrorBody))
)]
pub async fn get_taxonomy(State(state): State<AppState>, Caller(ctx): Caller) -> Result<Json<TaxonomyView>, ApiError> {
    let (taxonomy, version) = state.riskops.taxonomy_document(&ctx).await?;
    Ok(Json(TaxonomyView { stored_version: version, taxonomy }))
}

/// Replaces the taxonomy (admin, risk_officer). A malformed document is refused with the
/// field at fault named (e.g. `failure_modes.privacy_leak.severity.trading`).
#[utoipa::path(
    put, path = "/api/v1/taxonomy", tag = "risk", security(("bearer" = [])),
    request_body(content = Object),
    responses((status = 200, body = TaxonomyView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn put_taxonomy(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiJson(riskops_api::Document(body)): ApiJson<riskops_api::Document>,
) -> Result<Json<TaxonomyView>, ApiError> {
    let (_, version) = state.riskops.set_taxonomy(&ctx, &body).await?;
    Ok(Json(TaxonomyView { stored_version: Some(version), taxonomy: body }))
}

#[derive(Serialize, ToSchema)]
pub struct RiskView {
    id: i64,
    project: String,
    failure_mode: String,
    category: String,
    severity: u8,
    likelihood: u8,
    /// severity × likelihood.
    inherent_score: u8,
    /// severity × max(1, likelihood − the controls' effects).
    residual_score: u8,
    /// The band of the inherent score: ≤ 4 low, 5–9 medium, 10–16 high, ≥ 17 critical.
    band: &'static str,
    #[schema(value_type = Object)]
    impact: Value,
    #[schema(value_type = Vec<Object>)]
    controls: Value,
    owner: String,
    status: &'static str,
    rationale: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    updated_at: OffsetDateTime,
    updated_by: String,
}

impl From<RiskEntry> for RiskView {
    fn from(e: RiskEntry) -> Self {
        let f = e.fields;
        let json = f.to_json();
        RiskView {
            id: e.id,
            project: e.project,
            inherent_score: f.inherent_score(),
            residual_score: f.residual_score(),
            band: band(f.inherent_score()).as_str(),
            impact: json["impact"].clone(),
            controls: json["controls"].clone(),
            status: f.status.as_str(),
            failure_mode: f.failure_mode,
            category: f.category,
            severity: f.severity,
            likelihood: f.likelihood,
            owner: f.owner,
            rationale: f.rationale,
            created_at: e.created_at,
            updated_at: e.updated_at,
            updated_by: e.updated_by,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RiskList {
    risks: Vec<RiskView>,
}

/// A project's risk register, oldest entry first.
#[utoipa::path(
    get, path = "/api/v1/projects/{name}/risks", tag = "risk", security(("bearer" = [])),
    params(("name" = String, Path)),
    responses((status = 200, body = RiskList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn list_risks(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(name): Path<String>,
) -> Result<Json<RiskList>, ApiError> {
    let risks = state.riskops.risks(&ctx, &name).await?;
    Ok(Json(RiskList { risks: risks.into_iter().map(Into::into).collect() }))
}

fn score(field: &str, v: Option<u8>) -> Result<Option<u8>, Error> {
    match v {
        Some(n) if !(1..=5).contains(&n) => Err(Error::invalid(field, "must be a whole number from 1 to 5")),
        other => Ok(other),
    }
}

fn controls(list: Vec<ControlBody>) -> Vec<ControlLink> {
    list.into_iter().map(|c| ControlLink { control: c.control, effect: c.effect }).collect()
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ControlBody {
    /// A control id of the catalogue, e.g. `C07`.
    control: String,
    /// How much the control lowers the likelihood (0–4).
    effect: u8,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRisk {
    /// A failure mode of the taxonomy.
    failure_mode: String,
    /// Default: the failure mode's category.
    #[serde(default)]
    category: String,
    severity: u8,
    likelihood: u8,
    /// `{"financial":1-5,"reputational":…,"regulatory":…,"safety":…}`; each defaults to 1.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    impact: Option<Value>,
    #[serde(default)]
    controls: Vec<ControlBody>,
    #[serde(default)]
    owner: String,
    /// `open` (default), `mitigated`, `accepted` or `closed`.
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    rationale: String,
}

/// Adds an entry by hand (admin, risk_officer).
#[utoipa::path(
    post, path = "/api/v1/projects/{name}/risks", tag = "risk", security(("bearer" = [])),
    params(("name" = String, Path)), request_body = NewRisk,
    responses((status = 201, body = RiskView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn add_risk(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<NewRisk>,
) -> Result<(StatusCode, Json<RiskView>), ApiError> {
    let fields = RiskFields {
        failure_mode: body.failure_mode,
        category: body.category,
        severity: body.severity,
        likelihood: body.likelihood,
        impact: Impact::from_json("impact", body.impact.as_ref().unwrap_or(&Value::Null))?,
        controls: controls(body.controls),
        owner: body.owner,
        status: RiskStatus::parse("status", body.status.as_deref().unwrap_or("open"))?,
        rationale: body.rationale,
    };
    let entry = state.riskops.add_risk(&ctx, &name, fields).await?;
    Ok((StatusCode::CREATED, Json(entry.into())))
}

#[derive(Deserialize, IntoParams)]
pub struct AssessQuery {
    /// Only propose; add nothing.
    #[serde(default)]
    dry_run: bool,
}

#[derive(Serialize, ToSchema)]
pub struct AssessmentView {
    taxonomy_version: String,
    /// Entries added by this assessment.
    added: Vec<RiskView>,
    /// What the taxonomy proposes for the project's context (failure modes already in the
    /// register are never overwritten).
    #[schema(value_type = Vec<Object>)]
    proposed: Vec<Value>,
}

/// Proposes entries from the taxonomy and the project's context, and adds those whose
/// failure mode the register lacks (admin, risk_officer).
#[utoipa::path(
    post, path = "/api/v1/projects/{name}/risks/assess", tag = "risk", security(("bearer" = [])),
    params(("name" = String, Path), AssessQuery),
    responses((status = 200, body = AssessmentView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, description = "the project has no context", body = ErrorBody))
)]
pub async fn assess(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(name): Path<String>,
    Query(q): Query<AssessQuery>,
) -> Result<Json<AssessmentView>, ApiError> {
    let a = state.riskops.assess(&ctx, &name, q.dry_run).await?;
    Ok(Json(AssessmentView {
        taxonomy_version: a.taxonomy_version,
        added: a.added.into_iter().map(Into::into).collect(),
        proposed: a.proposed.iter().map(RiskFields::to_json).collect(),
    }))
}

/// One entry.
#[utoipa::path(
    get, path = "/api/v1/risks/{id}", tag = "risk", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = RiskView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn get_risk(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<i64>,
) -> Result<Json<RiskView>, ApiError> {
    Ok(Json(state.riskops.risk(&ctx, id).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RiskUpdate {
    severity: Option<u8>,
    likelihood: Option<u8>,
    #[schema(value_type = Option<Object>)]
    impact: Option<Value>,
    /// Replaces the linked controls.
    controls: Option<Vec<ControlBody>>,
    owner: Option<String>,
    status: Option<String>,
    rationale: Option<String>,
}

/// Changes an entry (admin, risk_officer); the trail keeps it before and after.
#[utoipa::path(
    patch, path = "/api/v1/risks/{id}", tag = "risk", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = RiskUpdate,
    responses((status = 200, body = RiskView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn update_risk(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<RiskUpdate>,
) -> Result<Json<RiskView>, ApiError> {
    let patch = RiskPatch {
        severity: score("severity", body.severity)?,
        likelihood: score("likelihood", body.likelihood)?,
        impact: body.impact.as_ref().map(|v| Impact::from_json("impact", v)).transpose()?,
        controls: body.controls.map(controls),
        owner: body.owner,
        status: body.status.as_deref().map(|s| RiskStatus::parse("status", s)).transpose()?,
        rationale: body.rationale,
    };
    Ok(Json(state.riskops.update_risk(&ctx, id, patch).await?.into()))
}
