//! The risk register: taxonomy, assessment, entries.

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, Caller};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use riskops_api::Document;
use riskops_api::risk::{
    AssessmentView, ControlBody, NewRisk, ProposedRisk, RiskImpact, RiskList, RiskUpdate, RiskView, TaxonomyView,
};
use riskops_core::Error;
use riskops_core::risk::{ControlLink, Impact, RiskEntry, RiskFields, RiskStatus, band};
use riskops_core::service::RiskPatch;
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

/// The risk taxonomy in force: categories, workflow types, failure modes with severities
/// per workflow, modifiers, and the signals that raise likelihoods.
#[utoipa::path(
    get, path = "/api/v1/taxonomy", tag = "risk", security(("bearer" = [])),
    responses((status = 200, body = TaxonomyView), (status = 403, body = ErrorBody))
)]
pub async fn get_taxonomy(State(state): State<AppState>, Caller(ctx): Caller) -> Result<Json<TaxonomyView>, ApiError> {
    let (taxonomy, version) = state.riskops.taxonomy_document(&ctx).await?;
    Ok(Json(TaxonomyView { stored_version: version, taxonomy: Document(taxonomy) }))
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
    ApiJson(Document(body)): ApiJson<Document>,
) -> Result<Json<TaxonomyView>, ApiError> {
    let (_, version) = state.riskops.set_taxonomy(&ctx, &body).await?;
    Ok(Json(TaxonomyView { stored_version: Some(version), taxonomy: Document(body) }))
}

fn impact(i: Impact) -> RiskImpact {
    RiskImpact { financial: i.financial, reputational: i.reputational, regulatory: i.regulatory, safety: i.safety }
}

fn control_views(links: &[ControlLink]) -> Vec<ControlBody> {
    links.iter().map(|c| ControlBody { control: c.control.clone(), effect: c.effect }).collect()
}

fn risk_view(e: RiskEntry) -> RiskView {
    let f = e.fields;
    RiskView {
        id: e.id,
        project: e.project,
        inherent_score: f.inherent_score(),
        residual_score: f.residual_score(),
        band: band(f.inherent_score()).as_str().to_string(),
        impact: impact(f.impact),
        controls: control_views(&f.controls),
        status: f.status.as_str().to_string(),
        failure_mode: f.failure_mode,
        category: f.category,
        severity: f.severity,
        likelihood: f.likelihood,
        owner: f.owner,
        rationale: f.rationale,
        created_at: super::rfc3339(e.created_at),
        updated_at: super::rfc3339(e.updated_at),
        updated_by: e.updated_by,
    }
}

fn proposed_risk(f: &RiskFields) -> ProposedRisk {
    ProposedRisk {
        failure_mode: f.failure_mode.clone(),
        category: f.category.clone(),
        severity: f.severity,
        likelihood: f.likelihood,
        impact: impact(f.impact),
        controls: control_views(&f.controls),
        owner: f.owner.clone(),
        status: f.status.as_str().to_string(),
        rationale: f.rationale.clone(),
        inherent_score: f.inherent_score(),
        residual_score: f.residual_score(),
    }
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
    Ok(Json(RiskList { risks: risks.into_iter().map(risk_view).collect() }))
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
        impact: Impact::from_json("impact", body.impact.as_ref().map_or(&Value::Null, |d| &d.0))?,
        controls: controls(body.controls),
        owner: body.owner,
        status: RiskStatus::parse("status", body.status.as_deref().unwrap_or("open"))?,
        rationale: body.rationale,
    };
    let entry = state.riskops.add_risk(&ctx, &name, fields).await?;
    Ok((StatusCode::CREATED, Json(risk_view(entry))))
}

#[derive(Deserialize, IntoParams)]
pub struct AssessQuery {
    /// Only propose; add nothing.
    #[serde(default)]
    dry_run: bool,
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
        added: a.added.into_iter().map(risk_view).collect(),
        proposed: a.proposed.iter().map(proposed_risk).collect(),
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
    Ok(Json(risk_view(state.riskops.risk(&ctx, id).await?)))
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
        impact: body.impact.as_ref().map(|v| Impact::from_json("impact", &v.0)).transpose()?,
        controls: body.controls.map(controls),
        owner: body.owner,
        status: body.status.as_deref().map(|s| RiskStatus::parse("status", s)).transpose()?,
        rationale: body.rationale,
    };
    Ok(Json(risk_view(state.riskops.update_risk(&ctx, id, patch).await?)))
}
