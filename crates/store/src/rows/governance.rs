//! Evidence, promotion-request and deployment rows.

use super::{StoredTime, into_time};
use riskops_core::artifact::Digest;
use riskops_core::governance::{Decision, Environment, Gate, Tier};
use riskops_core::promotion::{Deployment, Evidence, ModelSignature, Promotion, PromotionStatus};
use riskops_core::{Error, Result};

pub(crate) const PROMOTION_SELECT: &str = "SELECT r.id, r.model, p.name, r.version, r.environment, r.reason, \
     r.requested_by, r.status, r.created_at, r.closed_at, r.tier, r.gate_json, r.closed_reason FROM promotions r \
     JOIN models m ON m.name = r.model JOIN projects p ON p.id = m.project_id";

/// A row of [`PROMOTION_SELECT`]; `T` is the backend's time. Its decisions are read apart.
pub(crate) struct PromotionRow<T> {
    pub id: i64,
    pub model: String,
    pub project: String,
    pub version: u32,
    pub environment: String,
    pub reason: String,
    pub requested_by: String,
    pub status: String,
    pub created_at: T,
    pub closed_at: Option<T>,
    pub tier: String,
    pub gate_json: String,
    pub closed_reason: Option<String>,
}

impl<T: StoredTime> PromotionRow<T> {
    pub fn into_domain(self, decisions: Vec<Decision>) -> Result<Promotion> {
        let id = self.id;
        let gate: serde_json::Value =
            serde_json::from_str(&self.gate_json).map_err(|e| Error::internal(format!("promotion {id}: gate: {e}")))?;
        Ok(Promotion {
            tier: Tier::parse("tier", &self.tier)?,
            gate: Gate::from_json(&gate)?,
            id,
            model: self.model,
            project: self.project,
            version: self.version,
            environment: Environment::parse("environment", &self.environment)?,
            reason: self.reason,
            requested_by: self.requested_by,
            status: PromotionStatus::parse("status", &self.status)?,
            created_at: self.created_at.into_time()?,
            closed_at: into_time(self.closed_at)?,
            closed_reason: self.closed_reason,
            decisions,
        })
    }
}

pub(crate) const DEPLOYMENT_COLUMNS: &str =
    "version, environment, since, until, deployed_by, promotion_id, reason, emergency, digest, key_id, signature";

/// A row of `deployments`, in the order of [`DEPLOYMENT_COLUMNS`]; `T` is the backend's time.
pub(crate) struct DeploymentRow<T> {
    pub version: u32,
    pub environment: String,
    pub since: T,
    pub until: Option<T>,
    pub deployed_by: String,
    pub promotion_id: Option<i64>,
    pub reason: String,
    pub emergency: bool,
    pub digest: String,
    pub key_id: Option<String>,
    pub signature: Option<String>,
}

impl<T: StoredTime> DeploymentRow<T> {
    pub fn into_domain(self, model: &str) -> Result<Deployment> {
        Ok(Deployment {
            model: model.to_string(),
            version: self.version,
            environment: Environment::parse("environment", &self.environment)?,
            since: self.since.into_time()?,
            until: into_time(self.until)?,
            by: self.deployed_by,
            promotion_id: self.promotion_id,
            reason: self.reason,
            emergency: self.emergency,
            digest: Digest::parse(&self.digest)?,
            signature: self.key_id.zip(self.signature).map(|(key_id, signature)| ModelSignature { key_id, signature }),
        })
    }
}

pub(crate) const EVIDENCE_COLUMNS: &str =
    "id, kind, digest, size, passed, summary, created_at, created_by, produced_by, dataset";

/// A row of `evidence`, in the order of [`EVIDENCE_COLUMNS`]; `T` is the backend's time.
pub(crate) struct EvidenceRow<T> {
    pub id: i64,
    pub kind: String,
    pub digest: String,
    pub size: i64,
    pub passed: Option<bool>,
    pub summary: String,
    pub created_at: T,
    pub created_by: String,
    pub produced_by: Option<String>,
    pub dataset: Option<String>,
}

impl<T: StoredTime> EvidenceRow<T> {
    pub fn into_domain(self, model: &str, version: u32) -> Result<Evidence> {
        Ok(Evidence {
            id: self.id,
            model: model.to_string(),
            version,
            kind: self.kind,
            digest: Digest::parse(&self.digest)?,
            size: self.size.max(0) as u64,
            passed: self.passed,
            summary: self.summary,
            produced_by: self.produced_by,
            dataset: self.dataset,
            created_by: self.created_by,
            created_at: self.created_at.into_time()?,
        })
    }
}
