//! What [`super::evaluate`] looks at: the facts the service gathers from the store, and
//! attestations.

use crate::artifact::Digest;
use crate::context::{DataSensitivity, ProjectContext};
use crate::governance::{Environment, Gate, Tier};
use crate::promotion::{Deployment, Evidence, Promotion};
use crate::registry::ModelVersion;
use crate::risk::RiskEntry;
use crate::service::TierSource;
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;

/// A file attached to an attestation (already in the artifact store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedFile {
    pub digest: Digest,
    pub size: u64,
}

/// An attestation to record.
#[derive(Debug, Clone)]
pub struct NewAttestation {
    pub project: String,
    pub control: String,
    pub statement: String,
    pub evidence: Option<AttachedFile>,
}

/// A person's statement that a control holds for a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attestation {
    pub id: i64,
    pub project: String,
    pub control: String,
    pub statement: String,
    pub evidence: Option<AttachedFile>,
    pub created_by: String,
    pub created_at: OffsetDateTime,
}

/// What riskops knows about one model of the project.
#[derive(Debug, Clone)]
pub struct ModelFacts {
    pub name: String,
    /// Oldest first.
    pub versions: Vec<ModelVersion>,
    /// Every stay of every version in any environment, oldest first.
    pub deployments: Vec<Deployment>,
    /// The evidence of each version deployed now.
    pub evidence: BTreeMap<u32, Vec<Evidence>>,
    /// Completed promotion requests (any environment).
    pub promotions: Vec<Promotion>,
    pub monitoring: MonitoringFacts,
}

/// What production monitoring knows of a model.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MonitoringFacts {
    /// The monitors in force (the model's own and its tier's defaults), described.
    pub monitors: Vec<String>,
    /// Per version with windows: the end of its latest window (unix seconds).
    pub last_window: BTreeMap<u32, i64>,
    /// Raw-record segments kept, and for how long.
    pub segments: u64,
    pub retention_days: u32,
    /// Every incident of the model, newest first.
    pub incidents: Vec<crate::incident::Incident>,
}

/// The audit trail as verification found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditFacts {
    pub ok: bool,
    pub events: u64,
    /// The seq of the newest checkpoint whose signature verified.
    pub checkpoint_seq: Option<i64>,
    pub problem: Option<String>,
    /// Append-only triggers missing from the database (someone dropped them).
    pub missing_guards: Vec<String>,
}

/// Identities and tokens, summarised.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IdentityFacts {
    pub users: u32,
    pub service_accounts: u32,
    /// The bootstrap admin's first token (made at first start, from configuration) is
    /// neither revoked nor expired.
    pub bootstrap_token_active: bool,
    /// Active tokens of people (not service accounts) that never expire, as `name#id`.
    pub user_tokens_without_expiry: Vec<String>,
}

/// Everything [`evaluate`] looks at, gathered by the service from the store.
#[derive(Debug, Clone)]
pub struct ComplianceFacts {
    pub project: String,
    pub project_created_by: String,
    pub context: Option<ProjectContext>,
    pub tier: Tier,
    pub tier_source: TierSource,
    /// The reason recorded with the tier override in force (from the audit trail).
    pub tier_override_reason: Option<String>,
    pub risk_entries: Vec<RiskEntry>,
    pub models: Vec<ModelFacts>,
    pub audit: AuditFacts,
    pub identities: IdentityFacts,
    /// The production gate of each tier: the policy in force after the project's industry pack.
    pub production_gates: BTreeMap<Tier, Gate>,
    /// Oldest first.
    pub attestations: Vec<Attestation>,
    pub now: OffsetDateTime,
}

impl ComplianceFacts {
    pub(super) fn handles_phi(&self) -> bool {
        self.context.as_ref().is_some_and(|c| c.handles(DataSensitivity::Phi))
    }

    /// Each version deployed now, in any environment.
    pub(super) fn current(&self) -> impl Iterator<Item = (&ModelFacts, &Deployment)> {
        self.models.iter().flat_map(|m| m.deployments.iter().filter(|d| d.until.is_none()).map(move |d| (m, d)))
    }

    /// Each version in production now.
    pub(super) fn production(&self) -> impl Iterator<Item = (&ModelFacts, &Deployment)> {
        self.current().filter(|(_, d)| d.environment == Environment::Production)
    }

    /// Each version deployed now, once (a version can be in staging and production).
    pub(super) fn deployed_versions(&self) -> Vec<(&ModelFacts, &Deployment)> {
        let mut seen = BTreeSet::new();
        self.current().filter(|(m, d)| seen.insert((m.name.as_str(), d.version))).collect()
    }

    pub(super) fn gate(&self) -> Gate {
        self.production_gates.get(&self.tier).cloned().unwrap_or_default()
    }
}

impl ModelFacts {
    pub(super) fn version(&self, v: u32) -> Option<&ModelVersion> {
        self.versions.iter().find(|m| m.version == v)
    }

    /// The newest evidence of `kind` for version `v` that did not fail.
    /// The evidence of `kind` that satisfies it, judged as promotion gates judge it: the
    /// newest from someone other than the version's author (anyone, for documentation)
    /// decides, and counts when it states it passed (see `governance::evidence_counts`).
    /// With `produced_only` (the gate asks for evidence riskops produced), uploaded files are
    /// not considered.
    pub(super) fn evidence_of(&self, v: u32, kind: &str, produced_only: bool) -> Option<&Evidence> {
        let author = self.versions.iter().find(|mv| mv.version == v).map(|mv| mv.author.as_str()).unwrap_or_default();
        let newest = self.evidence.get(&v)?.iter().rev().find(|e| {
            e.kind == kind
                && (kind == "documentation" || e.created_by != author)
                && (!produced_only || e.produced_by.is_some())
        })?;
        crate::governance::evidence_counts(kind, newest.passed, &newest.created_by, &[author]).then_some(newest)
    }

    /// The newest failed evidence of `kind` for version `v` that still stands: no evidence
    /// that would count toward a gate (a pass by someone other than the author) came after
    /// it. A failure counts whoever reported it, the author too: an author's pass proves
    /// nothing, but an author's failure is still a threshold not met. A pass recorded at the
    /// same instant as a failure does not overturn it.
    pub(super) fn standing_failure_of(&self, v: u32, kind: &str) -> Option<&Evidence> {
        let author = self.version(v).map(|mv| mv.author.as_str()).unwrap_or_default();
        let of_kind = || self.evidence.get(&v).into_iter().flatten().filter(|e| e.kind == kind);
        let failed = of_kind().filter(|e| e.passed == Some(false)).max_by_key(|e| (e.created_at, e.id))?;
        let overturned = of_kind().any(|e| {
            e.created_at > failed.created_at
                && crate::governance::evidence_counts(kind, e.passed, &e.created_by, &[author])
        });
        (!overturned).then_some(failed)
    }

    pub(super) fn failed_evidence_of(&self, v: u32, kind: &str) -> bool {
        self.evidence.get(&v).is_some_and(|es| es.iter().any(|e| e.kind == kind && e.passed == Some(false)))
    }
}
