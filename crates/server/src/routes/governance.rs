//! Governance: the promotion policy, evidence, promotion requests and decisions,
//! emergency rollback, and where each version of a model is deployed.

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, Caller};
use crate::routes::registry_views::{VersionPath, parse_version};
use crate::state::AppState;
use crate::upload;
use axum::Json;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use riskops_api::Document;
use riskops_api::governance::{
    ApprovalView, ConfusionCounts, DecisionRequest, DecisionView, DeploymentView, EnvironmentDeployments, EvidenceList,
    EvidenceMetadata, EvidenceStanding, EvidenceView, GateView, IntegrityProblemView, IntegrityReportView, KpiView,
    MissingReason, OutcomeValues, PolicyView, PromoteRequest, PromotionList, PromotionResponse, RollbackRequest,
    SignatureView, StagesView, VersionKpiView, VersionStage,
};
use riskops_core::Error;
use riskops_core::governance::{Decision, Environment, Gate};
use riskops_core::promotion::{Deployment, Evidence, NewEvidence, PromotionFilter, PromotionStatus};
use riskops_core::registry::VersionRef;
use riskops_core::service::{PromotionView, Stages};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::IntoParams;

/// The promotion policy in force: a gate (evidence kinds and approvals) per tier and
/// environment.
#[utoipa::path(
    get, path = "/api/v1/policy", tag = "governance", security(("bearer" = [])),
    responses((status = 200, body = PolicyView), (status = 403, body = ErrorBody))
)]
pub async fn get_policy(State(state): State<AppState>, Caller(ctx): Caller) -> Result<Json<PolicyView>, ApiError> {
    let (policy, version) = state.riskops.policy(&ctx).await?;
    Ok(Json(PolicyView { version, policy: Document(policy.to_json()) }))
}

/// Replaces the promotion policy (admin, risk_officer); every tier and environment must
/// have a gate. The change is audited with the policy before and after.
#[utoipa::path(
    put, path = "/api/v1/policy", tag = "governance", security(("bearer" = [])),
    request_body(content = Object, description = r#"{"tiers":{"low":{"staging":{"evidence":[],"approvals":[]},"production":{…}},…}}"#),
    responses((status = 200, body = PolicyView), (status = 403, body = ErrorBody), (status = 422, description = "names the field at fault", body = ErrorBody))
)]
pub async fn put_policy(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiJson(Document(body)): ApiJson<Document>,
) -> Result<Json<PolicyView>, ApiError> {
    let (policy, version) = state.riskops.set_policy(&ctx, &body).await?;
    Ok(Json(PolicyView { version: Some(version), policy: Document(policy.to_json()) }))
}

fn evidence_view(e: Evidence) -> EvidenceView {
    EvidenceView {
        id: e.id,
        model: e.model,
        version: e.version,
        kind: e.kind,
        digest: e.digest.as_str().to_string(),
        size: e.size,
        passed: e.passed,
        summary: e.summary,
        produced_by: e.produced_by,
        dataset: e.dataset,
        created_by: e.created_by,
        created_at: super::rfc3339(e.created_at),
    }
}

fn version_ref(path: &VersionPath) -> Result<VersionRef, ApiError> {
    Ok(VersionRef { name: path.name.clone(), version: parse_version(&path.version)? })
}

/// Records evidence for a model version (multipart: `metadata` JSON, then `file`); the file
/// is stored content-addressed like artifacts. Pending promotions of the version are
/// judged again.
#[utoipa::path(
    post, path = "/api/v1/models/{name}/versions/{version}/evidence", tag = "governance", security(("bearer" = [])),
    params(VersionPath),
    request_body(content = EvidenceMetadata, content_type = "multipart/form-data", description = "parts: `metadata`, then `file`"),
    responses((status = 201, body = EvidenceView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn add_evidence(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(path): Path<VersionPath>,
    multipart: Multipart,
) -> Result<(StatusCode, Json<EvidenceView>), ApiError> {
    let r = version_ref(&path)?;
    let riskops = &state.riskops;
    let (meta, (permit, version), received) =
        upload::receive(multipart, &state.tmp_dir, state.upload_limit, async |m: &EvidenceMetadata| {
            riskops.check_evidence_add(&ctx, &r, &m.kind).await
        })
        .await?;
    let new = NewEvidence {
        model: version.name,
        version: version.version,
        kind: meta.kind,
        digest: received.digest.clone(),
        size: received.size,
        passed: meta.passed,
        summary: meta.summary,
        produced_by: None,
        dataset: None,
    };
    let evidence = riskops.add_evidence(&ctx, permit, &received.path, new).await?;
    Ok((StatusCode::CREATED, Json(evidence_view(evidence))))
}

/// The evidence of a model version, oldest first.
#[utoipa::path(
    get, path = "/api/v1/models/{name}/versions/{version}/evidence", tag = "governance", security(("bearer" = [])),
    params(VersionPath),
    responses((status = 200, body = EvidenceList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn list_evidence(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(path): Path<VersionPath>,
) -> Result<Json<EvidenceList>, ApiError> {
    let evidence = state.riskops.evidence_standing(&ctx, &version_ref(&path)?).await?;
    let evidence = evidence
        .into_iter()
        .map(|(e, why_not)| EvidenceStanding {
            evidence: evidence_view(e),
            counts: why_not.is_none(),
            does_not_count: why_not,
        })
        .collect();
    Ok(Json(EvidenceList { evidence }))
}

/// The path of one piece of evidence.
#[derive(Debug, Deserialize, IntoParams)]
pub struct EvidencePath {
    /// Model name.
    pub name: String,
    /// A version number, or `latest`.
    pub version: String,
    /// The evidence id (from the version's evidence list).
    pub id: i64,
}

/// The file of one piece of a version's evidence (for produced evidence, its JSON report),
/// checked against its digest before it is sent.
#[utoipa::path(
    get, path = "/api/v1/models/{name}/versions/{version}/evidence/{id}/file", tag = "governance",
    security(("bearer" = [])), params(EvidencePath),
    responses(
        (status = 200, description = "the evidence file, with its digest in `x-riskops-digest`", content_type = "application/octet-stream"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 500, description = "integrity_error", body = ErrorBody)
    )
)]
pub async fn evidence_file(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(path): Path<EvidencePath>,
) -> Result<axum::response::Response, ApiError> {
    let r = VersionRef { name: path.name.clone(), version: parse_version(&path.version)? };
    let (evidence, file) = state.riskops.evidence_file(&ctx, &r, path.id).await?;
    let filename = format!("{}-v{}-evidence-{}.bin", evidence.model, evidence.version, evidence.id);
    crate::routes::registry_views::file_response(file, &evidence.digest, &filename).await
}

fn decision_view(d: &Decision) -> DecisionView {
    DecisionView {
        by: d.by.clone(),
        roles: d.roles.iter().map(|r| r.as_str().to_string()).collect(),
        decision: if d.approve { "approve" } else { "reject" }.to_string(),
        comment: d.comment.clone(),
        at: super::rfc3339(d.at),
    }
}

fn gate_view(g: &Gate) -> GateView {
    GateView {
        evidence: g.evidence.clone(),
        produced: g.produced.clone(),
        approvals: g
            .approvals
            .iter()
            .map(|a| ApprovalView { role: a.role.as_str().to_string(), count: a.count })
            .collect(),
    }
}

fn promotion_response(v: PromotionView) -> PromotionResponse {
    let p = v.promotion;
    let missing_reasons = v
        .missing
        .iter()
        .zip(v.missing_reasons)
        .map(|(requirement, reason)| MissingReason { requirement: requirement.clone(), reason })
        .collect();
    PromotionResponse {
        id: p.id,
        status: p.status.as_str().to_string(),
        missing_reasons,
        missing: v.missing,
        decisions: p.decisions.iter().map(decision_view).collect(),
        model: p.model,
        project: p.project,
        version: p.version,
        environment: p.environment.as_str().to_string(),
        tier: v.tier.as_str().to_string(),
        gate: gate_view(&v.gate),
        reason: p.reason,
        requested_by: p.requested_by,
        created_at: super::rfc3339(p.created_at),
        closed_at: p.closed_at.map(super::rfc3339),
        closed_reason: p.closed_reason,
    }
}

/// Asks for a model version to enter an environment. The answer says what is missing; the
/// request completes by itself once the policy's evidence and approvals are in.
#[utoipa::path(
    post, path = "/api/v1/models/{name}/versions/{version}/promotions", tag = "governance", security(("bearer" = [])),
    params(VersionPath), request_body = PromoteRequest,
    responses(
        (status = 201, body = PromotionResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "a request for this version and environment is already pending", body = ErrorBody),
        (status = 500, description = "the stored artifact does not match its digest", body = ErrorBody),
    )
)]
pub async fn promote(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(path): Path<VersionPath>,
    ApiJson(body): ApiJson<PromoteRequest>,
) -> Result<(StatusCode, Json<PromotionResponse>), ApiError> {
    let env = Environment::parse("to", &body.to)?;
    let view = state.riskops.request_promotion(&ctx, &version_ref(&path)?, env, &body.reason).await?;
    Ok((StatusCode::CREATED, Json(promotion_response(view))))
}

#[derive(Deserialize, IntoParams)]
pub struct PromotionQuery {
    pub(crate) model: Option<String>,
    /// `pending`, `completed` or `rejected`.
    pub(crate) status: Option<String>,
}

/// Promotion requests, newest first.
#[utoipa::path(
    get, path = "/api/v1/promotions", tag = "governance", security(("bearer" = [])), params(PromotionQuery),
    responses((status = 200, body = PromotionList), (status = 403, body = ErrorBody))
)]
pub async fn list_promotions(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Query(q): Query<PromotionQuery>,
) -> Result<Json<PromotionList>, ApiError> {
    let status = q.status.as_deref().map(|s| PromotionStatus::parse("status", s)).transpose()?;
    let views = state.riskops.promotions(&ctx, &PromotionFilter { model: q.model, status }).await?;
    Ok(Json(PromotionList { promotions: views.into_iter().map(promotion_response).collect() }))
}

/// One promotion request.
#[utoipa::path(
    get, path = "/api/v1/promotions/{id}", tag = "governance", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = PromotionResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn get_promotion(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<i64>,
) -> Result<Json<PromotionResponse>, ApiError> {
    Ok(Json(promotion_response(state.riskops.promotion(&ctx, id).await?)))
}

/// Approves a pending request (a holder of a role the gate asks for; never the requester
/// or the version's author).
#[utoipa::path(
    post, path = "/api/v1/promotions/{id}/approve", tag = "governance", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = DecisionRequest,
    responses((status = 200, body = PromotionResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody))
)]
pub async fn approve(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<DecisionRequest>,
) -> Result<Json<PromotionResponse>, ApiError> {
    Ok(Json(promotion_response(state.riskops.decide(&ctx, id, true, &body.comment).await?)))
}

/// Rejects a pending request, which closes it.
#[utoipa::path(
    post, path = "/api/v1/promotions/{id}/reject", tag = "governance", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = DecisionRequest,
    responses((status = 200, body = PromotionResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn reject(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<DecisionRequest>,
) -> Result<Json<PromotionResponse>, ApiError> {
    Ok(Json(promotion_response(state.riskops.decide(&ctx, id, false, &body.comment).await?)))
}

fn deployment_view(d: Deployment, riskops: &riskops_core::Riskops) -> DeploymentView {
    let compromised = d.until.is_none().then(|| riskops.compromised(&d.model, d.version, d.environment));
    DeploymentView {
        compromised: compromised.flatten(),
        model: d.model,
        version: d.version,
        environment: d.environment.as_str().to_string(),
        since: super::rfc3339(d.since),
        until: d.until.map(super::rfc3339),
        by: d.by,
        promotion_id: d.promotion_id,
        reason: d.reason,
        emergency: d.emergency,
        digest: d.digest.as_str().to_string(),
        signature: d.signature.map(|s| SignatureView {
            algorithm: "ed25519".to_string(),
            key_id: s.key_id,
            signature: s.signature,
        }),
    }
}

/// Emergency rollback (admin, risk_officer): puts an earlier version back at once, without
/// the gates. The audit trail marks it as an emergency.
#[utoipa::path(
    post, path = "/api/v1/models/{name}/rollback", tag = "governance", security(("bearer" = [])),
    params(("name" = String, Path)), request_body = RollbackRequest,
    responses((status = 200, body = DeploymentView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn rollback(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<RollbackRequest>,
) -> Result<Json<DeploymentView>, ApiError> {
    let env = Environment::parse("environment", body.environment.as_deref().unwrap_or("production"))?;
    let r = VersionRef { name, version: Some(body.version) };
    Ok(Json(deployment_view(state.riskops.rollback(&ctx, &r, env, &body.reason).await?, &state.riskops)))
}

#[derive(Deserialize, IntoParams)]
pub struct StageQuery {
    /// RFC 3339 time; default now.
    pub(crate) at: Option<String>,
}

fn stages_view(s: Stages, riskops: &riskops_core::Riskops) -> StagesView {
    let mut environments = EnvironmentDeployments { staging: None, production: None };
    for (env, d) in s.environments {
        let slot = match env {
            Environment::Staging => &mut environments.staging,
            Environment::Production => &mut environments.production,
        };
        *slot = d.map(|d| deployment_view(d, riskops));
    }
    StagesView {
        model: s.model,
        at: super::rfc3339(s.at),
        environments,
        versions: s
            .versions
            .into_iter()
            .map(|(version, stages)| VersionStage { version, stages: stages.iter().map(|s| s.to_string()).collect() })
            .collect(),
        history: s.history.into_iter().map(|d| deployment_view(d, riskops)).collect(),
    }
}

/// Where each version of a model is deployed, now or at a past time, and the history of
/// transitions.
#[utoipa::path(
    get, path = "/api/v1/models/{name}/stages", tag = "governance", security(("bearer" = [])),
    params(("name" = String, Path), StageQuery),
    responses((status = 200, body = StagesView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn stages(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(name): Path<String>,
    Query(q): Query<StageQuery>,
) -> Result<Json<StagesView>, ApiError> {
    let at =
        q.at.as_deref()
            .map(|t| {
                OffsetDateTime::parse(t, &Rfc3339)
                    .map_err(|e| Error::invalid("at", format!("{t:?} is not an RFC 3339 time: {e}")))
            })
            .transpose()?;
    Ok(Json(stages_view(state.riskops.stages(&ctx, &name, at).await?, &state.riskops)))
}

fn kpi_view(r: riskops_core::service::KpiReport) -> KpiView {
    KpiView {
        model: r.model,
        values: r.values.map(|v| OutcomeValues {
            currency: v.currency,
            tp: v.tp,
            fp: v.fp,
            fn_: v.fn_,
            tn: v.tn,
            description: v.description,
        }),
        versions: r
            .versions
            .into_iter()
            .map(|v| VersionKpiView {
                version: v.version,
                evidence_id: v.evidence_id,
                confusion_matrix: ConfusionCounts {
                    tp: v.matrix.true_positives,
                    fp: v.matrix.false_positives,
                    fn_: v.matrix.false_negatives,
                    tn: v.matrix.true_negatives,
                },
                decisions: v.matrix.count(),
                accuracy: v.matrix.accuracy(),
                precision: v.matrix.precision(),
                recall: v.matrix.recall(),
                f1: v.matrix.f1(),
                expected_value_per_1000: v.per_thousand,
            })
            .collect(),
    }
}

/// A model's business KPIs: the value of each outcome and the expected value per 1,000
/// decisions of every version with confusion-matrix evidence (a JSON evidence file of kind
/// `performance` or `validation` holding `confusion_matrix`).
#[utoipa::path(
    get, path = "/api/v1/models/{name}/kpi", tag = "governance", security(("bearer" = [])),
    params(("name" = String, Path)),
    responses((status = 200, body = KpiView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn get_kpi(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(name): Path<String>,
) -> Result<Json<KpiView>, ApiError> {
    Ok(Json(kpi_view(state.riskops.kpi(&ctx, &name).await?)))
}

/// Sets the value of each outcome: `{"currency":"EUR","tp":0,"fp":-25,"fn":-400,"tn":0}`
/// (costs negative). Versioned and audited.
#[utoipa::path(
    put, path = "/api/v1/models/{name}/kpi", tag = "governance", security(("bearer" = [])),
    params(("name" = String, Path)), request_body(content = Object),
    responses((status = 200, body = KpiView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn put_kpi(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(name): Path<String>,
    ApiJson(Document(body)): ApiJson<Document>,
) -> Result<Json<KpiView>, ApiError> {
    state.riskops.set_kpi(&ctx, &name, &body).await?;
    Ok(Json(kpi_view(state.riskops.kpi(&ctx, &name).await?)))
}

/// Verifies every current deployment now (auditors, admins): each artifact hashed again and
/// its digest compared with the registry's, each production signature checked. A problem
/// opens a critical security incident and marks the deployment `compromised` in its stages
/// and in /metrics. The server also does this at start and every `--integrity-interval`.
#[utoipa::path(
    post, path = "/api/v1/integrity/verify", tag = "governance", security(("bearer" = [])),
    responses((status = 200, body = IntegrityReportView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody))
)]
pub async fn verify_integrity(
    State(state): State<AppState>,
    Caller(ctx): Caller,
) -> Result<Json<IntegrityReportView>, ApiError> {
    let report = state.riskops.verify_deployments_for(&ctx).await?;
    Ok(Json(IntegrityReportView {
        checked: report.checked,
        problems: report
            .problems
            .into_iter()
            .map(|p| IntegrityProblemView {
                project: p.project,
                model: p.model,
                version: p.version,
                environment: p.environment.as_str().to_string(),
                problem: p.problem,
            })
            .collect(),
        opened_incidents: report.opened,
    }))
}
