//! Compliance: the control catalogue (versioned data, `data/controls.json`), attestations,
//! and [`evaluate`], which gives every control a status and the reason for it from the
//! facts the service gathers. Pure: no IO, no clock (the facts carry `now`).
//!
//! A control is checked automatically where riskops's own data can tell (`auto`), or
//! recorded as an attestation by a person (`attest`): who, when, a statement and an
//! optional evidence file. An attestation also turns an unsatisfied automatic check into
//! `attested` (a person vouches for what riskops cannot see, such as TLS at the proxy).
//!
//! Which controls apply depends on the context: each control declares a small rule
//! (`always`, `phi`, `tier>=high`, `eu_high_risk`, `deployed`, or a list meaning any of
//! them), and the HIPAA framework counts only for projects that handle `phi` data.
//! Coverage per framework = (satisfied + attested) / applicable controls mapped to it.
//!
//! The module follows those seams: [`catalogue`] (the controls as data), [`facts`] (what the
//! service gathers, and attestations), [`evaluation`] (statuses and coverage) and `checks`
//! (one automatic check per control).

pub mod catalogue;
mod checks;
pub mod evaluation;
pub mod facts;
#[cfg(test)]
mod tests;

pub use catalogue::{Applies, Catalogue, Check, Control, Framework, frameworks_json};
pub use evaluation::{ComplianceReport, ControlResult, ControlStatus, Coverage, evaluate};
pub use facts::{
    AttachedFile, Attestation, AuditFacts, ComplianceFacts, IdentityFacts, ModelFacts, MonitoringFacts, NewAttestation,
};

use crate::governance::Tier;

/// Longest accepted attestation statement.
pub const MAX_STATEMENT_LEN: usize = 4096;

/// Revalidation cadence in days: high and critical tiers yearly, the others every two years.
pub fn revalidation_days(tier: Tier) -> i64 {
    if tier >= Tier::High { 365 } else { 730 }
}
