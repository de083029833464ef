//! Each control's status and reason, and the coverage per framework.

use super::catalogue::*;
use super::checks::auto_check;
use super::facts::*;
use crate::context::EuAiAct;
use crate::governance::Tier;
use crate::promotion::{Deployment, Evidence};
use crate::service::TierSource;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// A control's status in a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlStatus {
    Satisfied,
    Unsatisfied,
    NotApplicable,
    Attested,
}

impl ControlStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ControlStatus::Satisfied => "satisfied",
            ControlStatus::Unsatisfied => "unsatisfied",
            ControlStatus::NotApplicable => "not_applicable",
            ControlStatus::Attested => "attested",
        }
    }
}

/// One control in a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlResult {
    pub id: String,
    pub title: String,
    pub check: Check,
    pub status: ControlStatus,
    /// Why, computed from the facts.
    pub reason: String,
    pub frameworks: BTreeMap<Framework, Vec<String>>,
}

/// How much of a framework's applicable controls hold (satisfied or attested).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coverage {
    pub met: u32,
    pub applicable: u32,
}

impl Coverage {
    /// 0.0–1.0.
    pub fn ratio(self) -> f64 {
        if self.applicable == 0 { 0.0 } else { f64::from(self.met) / f64::from(self.applicable) }
    }
}

/// A project's compliance status.
#[derive(Debug, Clone)]
pub struct ComplianceReport {
    pub catalogue_version: String,
    pub project: String,
    pub tier: Tier,
    pub tier_source: TierSource,
    /// The framework the report was limited to, if any.
    pub framework: Option<Framework>,
    pub generated_at: OffsetDateTime,
    pub controls: Vec<ControlResult>,
    /// Per framework that applies and has applicable controls.
    pub coverage: BTreeMap<Framework, Coverage>,
    /// Frameworks that do not apply to the project, and why.
    pub frameworks_not_applicable: Vec<(Framework, String)>,
}

/// Gives each control of the catalogue (or those mapped to `framework`) a status and its
/// reason, and the coverage per framework.
pub fn evaluate(catalogue: &Catalogue, facts: &ComplianceFacts, framework: Option<Framework>) -> ComplianceReport {
    let framework_not_applicable = |f: Framework| -> Option<String> {
        if f != Framework::Hipaa || facts.handles_phi() {
            return None;
        }
        Some(match &facts.context {
            None => format!(
                "HIPAA applies to projects that handle phi data; project {} has no recorded context",
                facts.project
            ),
            Some(c) => {
                let data: Vec<&str> = c.data_sensitivity.iter().map(|d| d.as_str()).collect();
                let data = if data.is_empty() { "none declared".to_string() } else { data.join(", ") };
                format!("HIPAA applies to projects that handle phi data; project {}'s data: {data}", facts.project)
            }
        })
    };
    let mut controls = Vec::new();
    for c in &catalogue.controls {
        if framework.is_some_and(|f| !c.frameworks.contains_key(&f)) {
            continue;
        }
        let (status, reason) = if let Some(why) = framework.and_then(framework_not_applicable) {
            (ControlStatus::NotApplicable, why)
        } else if let Some(why) = not_applicable(c, facts) {
            (ControlStatus::NotApplicable, why)
        } else {
            let (status, reason) = match c.check {
                Check::Auto => auto_check(&c.id, facts),
                Check::Attest => (ControlStatus::Unsatisfied, "no attestation recorded".to_string()),
            };
            with_attestation(c, status, reason, facts)
        };
        controls.push(ControlResult {
            id: c.id.clone(),
            title: c.title.clone(),
            check: c.check,
            status,
            reason,
            frameworks: c.frameworks.clone(),
        });
    }
    let mut coverage = BTreeMap::new();
    let mut frameworks_not_applicable = Vec::new();
    for f in Framework::ALL {
        if framework.is_some_and(|only| only != f) {
            continue;
        }
        if let Some(why) = framework_not_applicable(f) {
            frameworks_not_applicable.push((f, why));
            continue;
        }
        let mapped =
            controls.iter().filter(|r| r.frameworks.contains_key(&f) && r.status != ControlStatus::NotApplicable);
        let (mut met, mut applicable) = (0, 0);
        for r in mapped {
            applicable += 1;
            if matches!(r.status, ControlStatus::Satisfied | ControlStatus::Attested) {
                met += 1;
            }
        }
        if applicable > 0 {
            coverage.insert(f, Coverage { met, applicable });
        }
    }
    ComplianceReport {
        catalogue_version: catalogue.version.clone(),
        project: facts.project.clone(),
        tier: facts.tier,
        tier_source: facts.tier_source,
        framework,
        generated_at: facts.now,
        controls,
        coverage,
        frameworks_not_applicable,
    }
}

/// Why a control does not apply to the project, or `None` when it does.
fn not_applicable(c: &Control, f: &ComplianceFacts) -> Option<String> {
    let mut reasons = Vec::new();
    for rule in &c.applies {
        let why = match rule {
            Applies::Always => return None,
            Applies::Phi if f.handles_phi() => return None,
            Applies::Phi => "applies to projects that handle phi data".to_string(),
            Applies::TierAtLeast(t) if f.tier >= *t => return None,
            Applies::TierAtLeast(t) => format!("applies from {t} tier up; the project is {} tier", f.tier),
            Applies::EuHighRisk if f.context.as_ref().is_some_and(|c| c.eu_ai_act == Some(EuAiAct::High)) => {
                return None;
            }
            Applies::EuHighRisk => "applies to high-risk systems under the EU AI Act".to_string(),
            Applies::Deployed if f.production().next().is_some() => return None,
            Applies::Deployed => "applies once a model of the project is in production; none is".to_string(),
        };
        reasons.push(why);
    }
    Some(reasons.join("; it also "))
}

/// An attestation turns an unsatisfied control into `attested`; the newest one counts.
fn with_attestation(
    c: &Control,
    status: ControlStatus,
    reason: String,
    f: &ComplianceFacts,
) -> (ControlStatus, String) {
    let Some(a) = f.attestations.iter().rev().find(|a| a.control == c.id) else { return (status, reason) };
    if status != ControlStatus::Unsatisfied {
        return (status, reason);
    }
    let file = a.evidence.as_ref().map(|e| format!(" with evidence {}", e.digest)).unwrap_or_default();
    let mut text = format!("attested by {} on {}: {:?}{file}", a.created_by, a.created_at.date(), a.statement);
    if c.check == Check::Auto {
        text.push_str(&format!(" (automatic check: {reason})"));
    }
    (ControlStatus::Attested, text)
}

pub(super) fn verdict(gaps: Vec<String>, ok: impl FnOnce() -> String) -> (ControlStatus, String) {
    if gaps.is_empty() { (ControlStatus::Satisfied, ok()) } else { (ControlStatus::Unsatisfied, gaps.join("; ")) }
}

pub(super) fn label(d: &Deployment) -> String {
    format!("{}@{}", d.model, d.version)
}

pub(super) fn list(items: &[String]) -> String {
    const SHOWN: usize = 5;
    if items.len() <= SHOWN {
        items.join(", ")
    } else {
        format!("{} and {} more", items[..SHOWN].join(", "), items.len() - SHOWN)
    }
}

pub(super) fn result_of(e: &Evidence) -> &'static str {
    match e.passed {
        Some(true) => "passed",
        Some(false) => "failed",
        None => "result not stated",
    }
}
