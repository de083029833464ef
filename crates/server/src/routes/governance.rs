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
use riskops_core::Error;
use riskops_core::governance::{Decision, Environment, Gate};
use riskops_core::promotion::{Deployment, Evidence, NewEvidence, PromotionFilter, PromotionStatus};
use riskops_core::registry::VersionRef;
use riskops_core::service::{PromotionView, Stages};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::{IntoParams, ToSchema};

#[derive(Serialize, ToSchema)]
pub struct PolicyView {
    /// The stored version, or null while riskops's default policy applies.
    version: Option<u32>,
    #[schema(value_type = Object)]
    policy: Value,
}

/// The promotion policy in force: a gate (evidence kinds and approvals) per tier and
/// environment.
#[utoipa::path(
    get, path = "/api/v1/policy", tag = "governance", security(("bearer" = [])),
    responses((status = 200, body = PolicyView), (status = 403, body = ErrorBody))
)]
pub async fn get_policy(State(state): State<AppState>, Caller(ctx): Caller) -> Result<Json<PolicyView>, ApiError> {
    let (policy, version) = state.riskops.policy(&ctx).await?;
    Ok(Json(PolicyView { version, policy: policy.to_json() }))
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
    ApiJson(riskops_api::Document(body)): ApiJson<riskops_api::Document>,
) -> Result<Json<PolicyView>, ApiError> {
    let (policy, version) = state.riskops.set_policy(&ctx, &body).await?;
    Ok(Json(PolicyView { version: Some(version), policy: policy.to_json() }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceMetadata {
    /// `validation`, `fairness`, `stress_test`, `explainability`, `documentation`,
    /// `security`, `performance` or `data_quality`.
    kind: String,
    /// Whether the check passed; failed evidence never satisfies a gate.
    passed: Option<bool>,
    #[serde(default)]
    summary: String,
}

#[derive(Serialize, ToSchema)]
pub struct EvidenceView {
    id: i64,
    model: String,
    version: u32,
    kind: String,
    digest: String,
    size: u64,
    passed: Option<bool>,
    summary: String,
    created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
}

impl From<Evidence> for EvidenceView {
    fn from(e: Evidence) -> Self {
        EvidenceView {
            id: e.id,
            model: e.model,
            version: e.version,
            kind: e.kind,
            digest: e.digest.as_str().to_string(),
            size: e.size,
            passed: e.passed,
            summary: e.summary,
            created_by: e.created_by,
            created_at: e.created_at,
        }
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
    };
    let evidence = riskops.add_evidence(&ctx, permit, &received.path, new).await?;
    Ok((StatusCode::CREATED, Json(evidence.into())))
}

#[derive(Serialize, ToSchema)]
pub struct EvidenceList {
    evidence: Vec<EvidenceStanding>,
}

/// A piece of evidence and whether it counts toward a gate that asks for its kind.
#[derive(Serialize, ToSchema)]
pub struct EvidenceStanding {
    #[serde(flatten)]
    evidence: EvidenceView,
    /// It satisfies its kind in a gate: it passed, it is the newest of its kind from someone
    /// who may provide it, and (except documentation) it is not from the version's author or
    /// a pending request's requester.
    counts: bool,
    /// Why it does not count, e.g. `it failed`; null when it counts.
    does_not_count: Option<String>,
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
        .map(|(e, why_not)| EvidenceStanding { evidence: e.into(), counts: why_not.is_none(), does_not_count: why_not })
        .collect();
    Ok(Json(EvidenceList { evidence }))
}

#[derive(Serialize, ToSchema)]
pub struct DecisionView {
    by: String,
    roles: Vec<&'static str>,
    /// `approve` or `reject`.
    decision: &'static str,
    comment: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    at: OffsetDateTime,
}

impl From<&Decision> for DecisionView {
    fn from(d: &Decision) -> Self {
        DecisionView {
            by: d.by.clone(),
            roles: d.roles.iter().map(|r| r.as_str()).collect(),
            decision: if d.approve { "approve" } else { "reject" },
            comment: d.comment.clone(),
            at: d.at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct GateView {
    evidence: Vec<String>,
    /// `{"role":…,"count":…}` each.
    #[schema(value_type = Vec<Object>)]
    approvals: Vec<Value>,
}

impl From<&Gate> for GateView {
    fn from(g: &Gate) -> Self {
        GateView {
            evidence: g.evidence.clone(),
            approvals: g
                .approvals
                .iter()
                .map(|a| serde_json::json!({"role": a.role.as_str(), "count": a.count}))
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PromotionResponse {
    id: i64,
    /// `pending`, `completed` or `rejected`.
    status: &'static str,
    /// What the request still needs: `evidence:<kind>` per missing kind and
    /// `approval:<role>` per missing approval. Empty once closed.
    missing: Vec<String>,
    /// Why each entry of `missing` is missing, in the same order, e.g.
    /// `{"requirement":"evidence:validation","reason":"only evidence from the requester or the
    /// version's author (dana), who may not provide it"}`.
    missing_reasons: Vec<MissingReason>,
    model: String,
    project: String,
    version: u32,
    environment: &'static str,
    tier: &'static str,
    gate: GateView,
    reason: String,
    requested_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    closed_at: Option<OffsetDateTime>,
    /// Why the request closed when no decision closed it, e.g. `scorer@1 was archived:
    /// replaced in production by scorer@2`; null otherwise.
    closed_reason: Option<String>,
    decisions: Vec<DecisionView>,
}

#[derive(Serialize, ToSchema)]
pub struct MissingReason {
    /// An entry of `missing`.
    requirement: String,
    reason: String,
}

impl From<PromotionView> for PromotionResponse {
    fn from(v: PromotionView) -> Self {
        let p = v.promotion;
        let missing_reasons = v
            .missing
            .iter()
            .zip(v.missing_reasons)
            .map(|(requirement, reason)| MissingReason { requirement: requirement.clone(), reason })
            .collect();
        PromotionResponse {
            id: p.id,
            status: p.status.as_str(),
            missing_reasons,
            missing: v.missing,
            decisions: p.decisions.iter().map(Into::into).collect(),
            model: p.model,
            project: p.project,
            version: p.version,
            environment: p.environment.as_str(),
            tier: v.tier.as_str(),
            gate: (&v.gate).into(),
            reason: p.reason,
            requested_by: p.requested_by,
            created_at: p.created_at,
            closed_at: p.closed_at,
            closed_reason: p.closed_reason,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoteRequest {
    /// `staging` or `production`.
    to: String,
    #[serde(default)]
    reason: String,
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
    Ok((StatusCode::CREATED, Json(view.into())))
}

#[derive(Deserialize, IntoParams)]
pub struct PromotionQuery {
    model: Option<String>,
    /// `pending`, `completed` or `rejected`.
    status: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PromotionList {
    promotions: Vec<PromotionResponse>,
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
    Ok(Json(PromotionList { promotions: views.into_iter().map(Into::into).collect() }))
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
    Ok(Json(state.riskops.promotion(&ctx, id).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// Optional for an approval, required for a rejection.
    #[serde(default)]
    comment: String,
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
    Ok(Json(state.riskops.decide(&ctx, id, true, &body.comment).await?.into()))
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
    Ok(Json(state.riskops.decide(&ctx, id, false, &body.comment).await?.into()))
}

#[derive(Serialize, ToSchema)]
pub struct SignatureView {
    algorithm: &'static str,
    key_id: String,
    /// Hex ed25519 signature over
    /// `riskops-model-signature-v1\n{model}\n{version}\n{environment}\n{digest}\n`.
    signature: String,
}

#[derive(Serialize, ToSchema)]
pub struct DeploymentView {
    model: String,
    version: u32,
    environment: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    since: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    until: Option<OffsetDateTime>,
    by: String,
    promotion_id: Option<i64>,
    reason: String,
    /// True for an emergency rollback that skipped the gates.
    emergency: bool,
    digest: String,
    signature: Option<SignatureView>,
}

impl From<Deployment> for DeploymentView {
    fn from(d: Deployment) -> Self {
        DeploymentView {
            model: d.model,
            version: d.version,
            environment: d.environment.as_str(),
            since: d.since,
            until: d.until,
            by: d.by,
            promotion_id: d.promotion_id,
            reason: d.reason,
            emergency: d.emergency,
            digest: d.digest.as_str().to_string(),
            signature: d.signature.map(|s| SignatureView {
                algorithm: "ed25519",
                key_id: s.key_id,
                signature: s.signature,
            }),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackRequest {
    /// The earlier version to put back.
    version: u32,
    /// `production` (default) or `staging`.
    #[serde(default)]
    environment: Option<String>,
    reason: String,
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
    Ok(Json(state.riskops.rollback(&ctx, &r, env, &body.reason).await?.into()))
}

#[derive(Deserialize, IntoParams)]
pub struct StageQuery {
    /// RFC 3339 time; default now.
    at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct VersionStage {
    version: u32,
    /// `production`, `staging`, `archived` or `development` (a version can be in both
    /// environments).
    stages: Vec<&'static str>,
}

#[derive(Serialize, ToSchema)]
pub struct StagesView {
    model: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    at: OffsetDateTime,
    /// The version in each environment at `at` (null: none).
    #[schema(value_type = Object)]
    environments: serde_json::Map<String, Value>,
    versions: Vec<VersionStage>,
    /// Every deployment up to `at`, oldest first.
    history: Vec<DeploymentView>,
}

impl From<Stages> for StagesView {
    fn from(s: Stages) -> Self {
        let environments = s
            .environments
            .into_iter()
            .map(|(env, d)| {
                let v = d.map(|d| serde_json::to_value(DeploymentView::from(d)).unwrap_or(Value::Null));
                (env.as_str().to_string(), v.unwrap_or(Value::Null))
            })
            .collect();
        StagesView {
            model: s.model,
            at: s.at,
            environments,
            versions: s.versions.into_iter().map(|(version, stages)| VersionStage { version, stages }).collect(),
            history: s.history.into_iter().map(Into::into).collect(),
        }
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
    Ok(Json(state.riskops.stages(&ctx, &name, at).await?.into()))
}

#[derive(Serialize, ToSchema)]
pub struct VersionKpiView {
    version: u32,
    evidence_id: i64,
    /// `{"tp","fp","fn","tn"}` from the evidence file.
    #[schema(value_type = Object)]
    confusion_matrix: Value,
    decisions: u64,
    /// The classifier's metrics from the same matrix (positive class: fraud, default, …).
    accuracy: Option<f64>,
    precision: Option<f64>,
    recall: Option<f64>,
    f1: Option<f64>,
    /// Expected value per 1,000 decisions (negative: a cost), when values are set.
    expected_value_per_1000: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct KpiView {
    model: String,
    /// `{"currency","tp","fp","fn","tn","description"}`, or null until set.
    #[schema(value_type = Option<Object>)]
    values: Option<Value>,
    versions: Vec<VersionKpiView>,
}

impl From<riskops_core::service::KpiReport> for KpiView {
    fn from(r: riskops_core::service::KpiReport) -> Self {
        KpiView {
            model: r.model,
            values: r.values.as_ref().map(|v| v.to_json()),
            versions: r
                .versions
                .into_iter()
                .map(|v| VersionKpiView {
                    version: v.version,
                    evidence_id: v.evidence_id,
                    confusion_matrix: serde_json::json!({
                        "tp": v.matrix.true_positives,
                        "fp": v.matrix.false_positives,
                        "fn": v.matrix.false_negatives,
                        "tn": v.matrix.true_negatives,
                    }),
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
    Ok(Json(state.riskops.kpi(&ctx, &name).await?.into()))
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
    ApiJson(riskops_api::Document(body)): ApiJson<riskops_api::Document>,
) -> Result<Json<KpiView>, ApiError> {
    state.riskops.set_kpi(&ctx, &name, &body).await?;
    Ok(Json(state.riskops.kpi(&ctx, &name).await?.into()))
}
