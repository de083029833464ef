//! Governance: the promotion policy, evidence, promotion requests and decisions,
//! emergency rollback, where each version of a model is deployed, and business KPIs.

use crate::Document;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PolicyView {
    /// The stored version, or null while riskops's default policy applies.
    pub version: Option<u32>,
    #[schema(value_type = Object)]
    pub policy: Document,
}

/// The `metadata` part of an evidence upload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceMetadata {
    /// `validation`, `fairness`, `stress_test`, `explainability`, `documentation`,
    /// `security`, `performance` or `data_quality`.
    pub kind: String,
    /// Whether the check passed; failed evidence never satisfies a gate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passed: Option<bool>,
    #[serde(default)]
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EvidenceView {
    pub id: i64,
    pub model: String,
    pub version: u32,
    pub kind: String,
    pub digest: String,
    pub size: u64,
    pub passed: Option<bool>,
    pub summary: String,
    /// `riskops` when riskops produced it (`riskops validate`, `riskops stress`); null when uploaded.
    pub produced_by: Option<String>,
    /// The dataset version (`NAME@V`) produced evidence was computed on.
    pub dataset: Option<String>,
    pub created_by: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EvidenceList {
    pub evidence: Vec<EvidenceStanding>,
}

/// A piece of evidence and whether it counts toward a gate that asks for its kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EvidenceStanding {
    #[serde(flatten)]
    pub evidence: EvidenceView,
    /// It satisfies its kind in a gate: it passed, it is the newest of its kind from someone
    /// who may provide it, and (except documentation) it is not from the version's author or
    /// a pending request's requester.
    pub counts: bool,
    /// Why it does not count, e.g. `it failed`; null when it counts.
    pub does_not_count: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DecisionView {
    pub by: String,
    pub roles: Vec<String>,
    /// `approve` or `reject`.
    pub decision: String,
    pub comment: String,
    #[schema(format = DateTime)]
    pub at: String,
}

/// `count` approvals from people holding `role`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ApprovalView {
    pub role: String,
    pub count: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GateView {
    pub evidence: Vec<String>,
    /// The kinds of `evidence` that count only when riskops produced them (validate, stress).
    #[serde(default)]
    pub produced: Vec<String>,
    /// `{"role":…,"count":…}` each.
    pub approvals: Vec<ApprovalView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PromotionResponse {
    pub id: i64,
    /// `pending`, `completed` or `rejected`.
    pub status: String,
    /// What the request still needs: `evidence:<kind>` per missing kind and
    /// `approval:<role>` per missing approval. Empty once closed.
    pub missing: Vec<String>,
    /// Why each entry of `missing` is missing, in the same order, e.g.
    /// `{"requirement":"evidence:validation","reason":"only evidence from the requester or the
    /// version's author (dana), who may not provide it"}`.
    pub missing_reasons: Vec<MissingReason>,
    pub model: String,
    pub project: String,
    pub version: u32,
    pub environment: String,
    pub tier: String,
    pub gate: GateView,
    pub reason: String,
    pub requested_by: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub closed_at: Option<String>,
    /// Why the request closed when no decision closed it, e.g. `scorer@1 was archived:
    /// replaced in production by scorer@2`; null otherwise.
    pub closed_reason: Option<String>,
    pub decisions: Vec<DecisionView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MissingReason {
    /// An entry of `missing`.
    pub requirement: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoteRequest {
    /// `staging` or `production`.
    pub to: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PromotionList {
    pub promotions: Vec<PromotionResponse>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// Optional for an approval, required for a rejection.
    #[serde(default)]
    pub comment: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SignatureView {
    pub algorithm: String,
    pub key_id: String,
    /// Hex ed25519 signature over
    /// `riskops-model-signature-v1\n{model}\n{version}\n{environment}\n{digest}\n`.
    pub signature: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeploymentView {
    pub model: String,
    pub version: u32,
    pub environment: String,
    #[schema(format = DateTime)]
    pub since: String,
    #[schema(format = DateTime)]
    pub until: Option<String>,
    pub by: String,
    pub promotion_id: Option<i64>,
    pub reason: String,
    /// True for an emergency rollback that skipped the gates.
    pub emergency: bool,
    pub digest: String,
    pub signature: Option<SignatureView>,
    /// For a current deployment the server's last integrity check found wrong: what is
    /// wrong (the artifact no longer matches its digest, the signature does not verify…).
    /// Absent when it verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compromised: Option<String>,
}

/// One current deployment whose integrity check failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IntegrityProblemView {
    pub project: String,
    pub model: String,
    pub version: u32,
    pub environment: String,
    pub problem: String,
}

/// What a verification of every current deployment found (`POST /api/v1/integrity/verify`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IntegrityReportView {
    /// Deployments verified: each artifact hashed again, its digest compared with the
    /// registry's, a production deployment's signature checked.
    pub checked: usize,
    pub problems: Vec<IntegrityProblemView>,
    /// Critical security incidents this verification opened (one per version while
    /// unresolved).
    pub opened_incidents: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackRequest {
    /// The earlier version to put back.
    pub version: u32,
    /// `production` (default) or `staging`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VersionStage {
    pub version: u32,
    /// `production`, `staging`, `archived` or `development` (a version can be in both
    /// environments).
    pub stages: Vec<String>,
}

/// The deployment in each environment (null: none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EnvironmentDeployments {
    pub staging: Option<DeploymentView>,
    pub production: Option<DeploymentView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StagesView {
    pub model: String,
    #[schema(format = DateTime)]
    pub at: String,
    /// The version in each environment at `at` (null: none).
    pub environments: EnvironmentDeployments,
    pub versions: Vec<VersionStage>,
    /// Every deployment up to `at`, oldest first.
    pub history: Vec<DeploymentView>,
}

/// Counts of a confusion matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ConfusionCounts {
    pub tp: u64,
    pub fp: u64,
    #[serde(rename = "fn")]
    pub fn_: u64,
    pub tn: u64,
}

/// The value of each outcome (costs negative).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OutcomeValues {
    pub currency: String,
    pub tp: f64,
    pub fp: f64,
    #[serde(rename = "fn")]
    pub fn_: f64,
    pub tn: f64,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VersionKpiView {
    pub version: u32,
    pub evidence_id: i64,
    /// `{"tp","fp","fn","tn"}` from the evidence file.
    pub confusion_matrix: ConfusionCounts,
    pub decisions: u64,
    /// The classifier's metrics from the same matrix (positive class: fraud, default, …).
    pub accuracy: Option<f64>,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
    /// Expected value per 1,000 decisions (negative: a cost), when values are set.
    pub expected_value_per_1000: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KpiView {
    pub model: String,
    /// `{"currency","tp","fp","fn","tn","description"}`, or null until set.
    pub values: Option<OutcomeValues>,
    pub versions: Vec<VersionKpiView>,
}
