//! The risk register: taxonomy, assessment, entries.

use crate::Document;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TaxonomyView {
    /// The stored version, or null while the built-in taxonomy applies.
    pub stored_version: Option<u32>,
    #[schema(value_type = Object)]
    pub taxonomy: Document,
}

/// The impact of a failure on each axis, 1–5.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RiskImpact {
    pub financial: u8,
    pub reputational: u8,
    pub regulatory: u8,
    pub safety: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ControlBody {
    /// A control id of the catalogue, e.g. `C07`.
    pub control: String,
    /// How much the control lowers the likelihood (0–4).
    pub effect: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RiskView {
    pub id: i64,
    pub project: String,
    pub failure_mode: String,
    pub category: String,
    pub severity: u8,
    pub likelihood: u8,
    /// severity × likelihood.
    pub inherent_score: u8,
    /// severity × max(1, likelihood − the controls' effects).
    pub residual_score: u8,
    /// The band of the inherent score: ≤ 4 low, 5–9 medium, 10–16 high, ≥ 17 critical.
    pub band: String,
    pub impact: RiskImpact,
    pub controls: Vec<ControlBody>,
    pub owner: String,
    pub status: String,
    pub rationale: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    pub updated_by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RiskList {
    pub risks: Vec<RiskView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRisk {
    /// A failure mode of the taxonomy.
    pub failure_mode: String,
    /// Default: the failure mode's category.
    #[serde(default)]
    pub category: String,
    pub severity: u8,
    pub likelihood: u8,
    /// `{"financial":1-5,"reputational":…,"regulatory":…,"safety":…}`; each defaults to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub impact: Option<Document>,
    #[serde(default)]
    pub controls: Vec<ControlBody>,
    #[serde(default)]
    pub owner: String,
    /// `open` (default), `mitigated`, `accepted` or `closed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default)]
    pub rationale: String,
}

/// An entry the taxonomy proposes for a project's context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProposedRisk {
    pub failure_mode: String,
    pub category: String,
    pub severity: u8,
    pub likelihood: u8,
    pub impact: RiskImpact,
    pub controls: Vec<ControlBody>,
    pub owner: String,
    pub status: String,
    pub rationale: String,
    pub inherent_score: u8,
    pub residual_score: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AssessmentView {
    pub taxonomy_version: String,
    /// Entries added by this assessment.
    pub added: Vec<RiskView>,
    /// What the taxonomy proposes for the project's context (failure modes already in the
    /// register are never overwritten).
    pub proposed: Vec<ProposedRisk>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RiskUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub likelihood: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub impact: Option<Document>,
    /// Replaces the linked controls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controls: Option<Vec<ControlBody>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
}
