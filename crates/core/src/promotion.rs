//! The records of governance: evidence, promotion requests, deployments and policy
//! versions, as the store keeps them. The rules that judge them live in `governance`.

use crate::artifact::Digest;
use crate::error::{Error, Result};
use crate::governance::{Decision, Environment, Gate, Tier};
use serde_json::Value;
use time::OffsetDateTime;

/// Evidence to record for a model version (its file is already in the artifact store).
#[derive(Debug, Clone)]
pub struct NewEvidence {
    pub model: String,
    pub version: u32,
    pub kind: String,
    pub digest: Digest,
    pub size: u64,
    pub passed: Option<bool>,
    pub summary: String,
    /// `riskops` for evidence riskops produced itself (validate, stress); None when uploaded.
    pub produced_by: Option<String>,
    /// The dataset version (`NAME@V`) produced evidence was computed on.
    pub dataset: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub id: i64,
    pub model: String,
    pub version: u32,
    pub kind: String,
    pub digest: Digest,
    pub size: u64,
    pub passed: Option<bool>,
    pub summary: String,
    pub produced_by: Option<String>,
    pub dataset: Option<String>,
    pub created_by: String,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromotionStatus {
    Pending,
    Completed,
    Rejected,
}

impl PromotionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PromotionStatus::Pending => "pending",
            PromotionStatus::Completed => "completed",
            PromotionStatus::Rejected => "rejected",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Self> {
        match s {
            "pending" => Ok(PromotionStatus::Pending),
            "completed" => Ok(PromotionStatus::Completed),
            "rejected" => Ok(PromotionStatus::Rejected),
            other => {
                Err(Error::invalid(field, format!("unknown status {other:?}; use pending, completed or rejected")))
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewPromotion {
    pub model: String,
    pub version: u32,
    pub environment: Environment,
    pub reason: String,
    /// The project's tier when the request was opened.
    pub tier: Tier,
    /// The gate it must pass, fixed when it was opened: a later change of tier or policy
    /// applies to new requests, never to open ones.
    pub gate: Gate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promotion {
    pub id: i64,
    pub model: String,
    pub project: String,
    pub version: u32,
    pub environment: Environment,
    pub reason: String,
    pub requested_by: String,
    pub tier: Tier,
    pub gate: Gate,
    pub status: PromotionStatus,
    pub created_at: OffsetDateTime,
    pub closed_at: Option<OffsetDateTime>,
    /// Why it closed when no decision closed it (e.g. its version was archived).
    pub closed_reason: Option<String>,
    /// Oldest first.
    pub decisions: Vec<Decision>,
}

/// Which promotions to list.
#[derive(Debug, Clone, Default)]
pub struct PromotionFilter {
    pub model: Option<String>,
    pub status: Option<PromotionStatus>,
}

/// The server's signature over a version that entered production.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSignature {
    pub key_id: String,
    /// Hex of the 64-byte ed25519 signature over `signing::model_signature_message`.
    pub signature: String,
}

/// A version entering an environment: through a completed promotion, or an emergency
/// rollback (`promotion_id == None`, `emergency == true`).
#[derive(Debug, Clone)]
pub struct NewDeployment {
    pub model: String,
    pub version: u32,
    pub environment: Environment,
    pub promotion_id: Option<i64>,
    pub reason: String,
    pub emergency: bool,
    pub digest: Digest,
    pub signature: Option<ModelSignature>,
}

/// A version's stay in an environment: from `since` until replaced (`until`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub model: String,
    pub version: u32,
    pub environment: Environment,
    pub since: OffsetDateTime,
    pub until: Option<OffsetDateTime>,
    pub by: String,
    pub promotion_id: Option<i64>,
    pub reason: String,
    pub emergency: bool,
    pub digest: Digest,
    pub signature: Option<ModelSignature>,
}

impl Deployment {
    pub fn active_at(&self, at: OffsetDateTime) -> bool {
        self.since <= at && self.until.is_none_or(|u| at < u)
    }
}

/// A stored version of a document riskops keeps as data (the promotion policy, the risk
/// taxonomy): replaced as a whole, every version kept.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionedDocument {
    pub version: u32,
    pub document: Value,
    pub created_by: String,
    pub created_at: OffsetDateTime,
}
