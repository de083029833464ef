//! Compliance: the control catalogue, attestations, and a project's compliance report.

use crate::Document;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CatalogueControl {
    pub id: String,
    pub title: String,
    /// `auto` (checked from riskops's data) or `attest` (a person's attestation).
    pub check: String,
    /// When the control applies (any of): `always`, `phi`, `tier>=high`, `eu_high_risk`,
    /// `deployed` (a version of the project is in production).
    pub applies: Vec<String>,
    /// Clause references per framework: `{"nist-ai-rmf":["GV-1.6"],…}`.
    #[schema(value_type = Object)]
    pub frameworks: Document,
    pub notes: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CatalogueView {
    pub version: String,
    pub source: String,
    pub controls: Vec<CatalogueControl>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ControlView {
    pub id: String,
    pub title: String,
    /// `auto` or `attest`.
    pub check: String,
    /// `satisfied`, `unsatisfied`, `not_applicable` or `attested`.
    pub status: String,
    /// Why, computed from the project's data (e.g. "scorer: production version 3 has no
    /// validation evidence").
    pub reason: String,
    /// Clause references per framework.
    #[schema(value_type = Object)]
    pub frameworks: Document,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CoverageDetail {
    /// Applicable controls mapped to the framework that are satisfied or attested.
    pub met: u32,
    /// Applicable controls mapped to the framework.
    pub applicable: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FrameworkNotApplicable {
    pub framework: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StatusCounts {
    pub satisfied: u32,
    pub unsatisfied: u32,
    pub not_applicable: u32,
    pub attested: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ComplianceView {
    pub project: String,
    pub tier: String,
    /// `override`, `register` or `unassessed`.
    pub tier_source: String,
    /// The framework the report is limited to, if any.
    pub framework: Option<String>,
    pub catalogue_version: String,
    #[schema(format = DateTime)]
    pub generated_at: String,
    pub controls: Vec<ControlView>,
    /// Per framework that applies: (satisfied + attested) / applicable controls mapped to
    /// it, 0.0–1.0. A framework that does not apply (HIPAA without phi data) is absent.
    #[schema(value_type = Object)]
    pub coverage: BTreeMap<String, f64>,
    #[schema(value_type = Object)]
    pub coverage_detail: BTreeMap<String, CoverageDetail>,
    pub frameworks_not_applicable: Vec<FrameworkNotApplicable>,
    pub summary: StatusCounts,
}

/// The `metadata` part (or the JSON body) of an attestation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttestationMetadata {
    /// A control id of the catalogue, e.g. `C11`.
    pub control: String,
    /// What holds and how you know (at most 4096 bytes).
    pub statement: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AttachedFileView {
    pub digest: String,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AttestationView {
    pub id: i64,
    pub project: String,
    pub control: String,
    pub statement: String,
    /// The evidence file, if one was attached.
    pub evidence: Option<AttachedFileView>,
    pub created_by: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AttestationList {
    pub attestations: Vec<AttestationView>,
}
