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

use crate::artifact::Digest;
use crate::context::{DataSensitivity, EuAiAct, ProjectContext};
use crate::error::{Error, Result};
use crate::governance::{Environment, Gate, Tier};
use crate::promotion::{Deployment, Evidence, Promotion, PromotionStatus};
use crate::registry::ModelVersion;
use crate::risk::RiskEntry;
use crate::service::TierSource;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;

/// The catalogue riskops ships with.
const BUILTIN: &str = include_str!("../data/controls.json");

/// Longest accepted attestation statement.
pub const MAX_STATEMENT_LEN: usize = 4096;

/// Revalidation cadence in days: high and critical tiers yearly, the others every two years.
pub fn revalidation_days(tier: Tier) -> i64 {
    if tier >= Tier::High { 365 } else { 730 }
}

/// A framework the catalogue maps controls to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Framework {
    NistAiRmf,
    EuAiAct,
    Sr117,
    Hipaa,
    Iso42001,
}

impl Framework {
    pub const ALL: [Framework; 5] =
        [Framework::NistAiRmf, Framework::EuAiAct, Framework::Sr117, Framework::Hipaa, Framework::Iso42001];

    pub fn as_str(self) -> &'static str {
        match self {
            Framework::NistAiRmf => "nist-ai-rmf",
            Framework::EuAiAct => "eu-ai-act",
            Framework::Sr117 => "sr-11-7",
            Framework::Hipaa => "hipaa",
            Framework::Iso42001 => "iso-42001",
        }
    }

    /// The framework's name for people.
    pub fn title(self) -> &'static str {
        match self {
            Framework::NistAiRmf => "NIST AI RMF 1.0",
            Framework::EuAiAct => "EU AI Act",
            Framework::Sr117 => "SR 11-7 / SR 26-2",
            Framework::Hipaa => "HIPAA 45 CFR 164.312",
            Framework::Iso42001 => "ISO/IEC 42001",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Framework> {
        Framework::ALL.into_iter().find(|f| f.as_str() == s).ok_or_else(|| {
            let known: Vec<&str> = Framework::ALL.iter().map(|f| f.as_str()).collect();
            Error::invalid(field, format!("unknown framework {s:?}; use {}", known.join(", ")))
        })
    }
}

/// How a control is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// From riskops's own data.
    Auto,
    /// By a person's attestation.
    Attest,
}

impl Check {
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Auto => "auto",
            Check::Attest => "attest",
        }
    }
}

/// When a control applies to a project. A control with several rules applies when any holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    Always,
    /// The project's context declares `phi` data.
    Phi,
    /// The project's tier is at least this.
    TierAtLeast(Tier),
    /// The project's context says it is a high-risk system under the EU AI Act.
    EuHighRisk,
    /// A version of one of the project's models is in production now.
    Deployed,
}

impl Applies {
    /// The rule vocabulary, for error messages.
    pub const VOCABULARY: &'static str = "always, phi, tier>=low|medium|high|critical, eu_high_risk, deployed";

    pub fn parse(s: &str) -> Option<Applies> {
        match s {
            "always" => Some(Applies::Always),
            "phi" => Some(Applies::Phi),
            "eu_high_risk" => Some(Applies::EuHighRisk),
            "deployed" => Some(Applies::Deployed),
            _ => {
                let tier = s.strip_prefix("tier>=")?;
                Tier::ALL.into_iter().find(|t| t.as_str() == tier).map(Applies::TierAtLeast)
            }
        }
    }

    pub fn as_string(self) -> String {
        match self {
            Applies::Always => "always".into(),
            Applies::Phi => "phi".into(),
            Applies::TierAtLeast(t) => format!("tier>={t}"),
            Applies::EuHighRisk => "eu_high_risk".into(),
            Applies::Deployed => "deployed".into(),
        }
    }
}

/// One control of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control {
    pub id: String,
    pub title: String,
    pub check: Check,
    /// Any of these makes the control apply.
    pub applies: Vec<Applies>,
    /// Clause references per framework (never empty).
    pub frameworks: BTreeMap<Framework, Vec<String>>,
    /// Other references (GMLP, FDA PCCP, …).
    pub notes: String,
}

/// The control catalogue: versioned data, read from JSON and validated field by field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalogue {
    pub version: String,
    pub source: String,
    pub controls: Vec<Control>,
}

impl Catalogue {
    /// The catalogue riskops ships with (`crates/core/data/controls.json`).
    pub fn builtin() -> Result<Catalogue> {
        let doc: Value = serde_json::from_str(BUILTIN)
            .map_err(|e| Error::internal(format!("the built-in control catalogue is not JSON: {e}")))?;
        Catalogue::from_json(&doc)
    }

    pub fn control(&self, id: &str) -> Option<&Control> {
        self.controls.iter().find(|c| c.id == id)
    }

    /// Reads a catalogue document, naming the field at fault (`controls[3].check`).
    pub fn from_json(doc: &Value) -> Result<Catalogue> {
        let obj = doc.as_object().ok_or_else(|| bad("catalogue", "must be a JSON object"))?;
        if let Some(k) = obj.keys().find(|k| !matches!(k.as_str(), "version" | "source" | "controls")) {
            return Err(bad(k, "unknown field; a catalogue has version, source and controls"));
        }
        let version = obj
            .get("version")
            .and_then(Value::as_str)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| bad("version", "must be a non-empty string"))?;
        let source = match obj.get("source") {
            None => String::new(),
            Some(v) => v.as_str().ok_or_else(|| bad("source", "must be a string"))?.to_string(),
        };
        let list = obj.get("controls").and_then(Value::as_array).ok_or_else(|| bad("controls", "must be an array"))?;
        if list.is_empty() {
            return Err(bad("controls", "must hold at least one control"));
        }
        let mut controls: Vec<Control> = Vec::with_capacity(list.len());
        for (i, c) in list.iter().enumerate() {
            let at = format!("controls[{i}]");
            let control = control_from_json(&at, c)?;
            if controls.iter().any(|other| other.id == control.id) {
                return Err(bad(&format!("{at}.id"), &format!("{:?} appears twice", control.id)));
            }
            controls.push(control);
        }
        Ok(Catalogue { version: version.to_string(), source, controls })
    }

    pub fn to_json(&self) -> Value {
        json!({
            "version": self.version,
            "source": self.source,
            "controls": self.controls.iter().map(Control::to_json).collect::<Vec<_>>(),
        })
    }
}

impl Control {
    pub fn to_json(&self) -> Value {
        let applies: Value = match self.applies.as_slice() {
            [one] => one.as_string().into(),
            many => many.iter().map(|a| a.as_string()).collect::<Vec<_>>().into(),
        };
        json!({
            "id": self.id,
            "title": self.title,
            "check": self.check.as_str(),
            "applies": applies,
            "frameworks": frameworks_json(&self.frameworks),
            "notes": self.notes,
        })
    }
}

/// Clause references by framework name.
pub fn frameworks_json(frameworks: &BTreeMap<Framework, Vec<String>>) -> Value {
    Value::Object(frameworks.iter().map(|(f, refs)| (f.as_str().to_string(), json!(refs))).collect())
}

fn bad(path: &str, msg: &str) -> Error {
    Error::invalid("catalogue", format!("{path}: {msg}"))
}

fn control_from_json(at: &str, v: &Value) -> Result<Control> {
    let obj = v.as_object().ok_or_else(|| bad(at, "must be an object"))?;
    if let Some(k) =
        obj.keys().find(|k| !matches!(k.as_str(), "id" | "title" | "check" | "applies" | "frameworks" | "notes"))
    {
        return Err(bad(
            &format!("{at}.{k}"),
            "unknown field; a control has id, title, check, applies, frameworks, notes",
        ));
    }
    let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    let id = text("id").ok_or_else(|| bad(&format!("{at}.id"), "must be a non-empty string"))?;
    if id.len() > 32 || !id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
        return Err(bad(&format!("{at}.id"), "must be 1 to 32 letters, digits, '.', '_' or '-'"));
    }
    let title = text("title").ok_or_else(|| bad(&format!("{at}.title"), "must be a non-empty string"))?;
    let check = match obj.get("check").and_then(Value::as_str) {
        Some("auto") => Check::Auto,
        Some("attest") => Check::Attest,
        _ => return Err(bad(&format!("{at}.check"), "must be \"auto\" or \"attest\"")),
    };
    let rule = |path: String, v: &Value| -> Result<Applies> {
        v.as_str()
            .and_then(Applies::parse)
            .ok_or_else(|| bad(&path, &format!("must be one of {}", Applies::VOCABULARY)))
    };
    let applies = match obj.get("applies") {
        Some(Value::Array(rules)) if !rules.is_empty() => {
            rules.iter().enumerate().map(|(i, r)| rule(format!("{at}.applies[{i}]"), r)).collect::<Result<Vec<_>>>()?
        }
        Some(v @ Value::String(_)) => vec![rule(format!("{at}.applies"), v)?],
        _ => {
            return Err(bad(
                &format!("{at}.applies"),
                &format!("must be a rule or a non-empty list of rules ({})", Applies::VOCABULARY),
            ));
        }
    };
    let map = obj
        .get("frameworks")
        .and_then(Value::as_object)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| bad(&format!("{at}.frameworks"), "must map at least one framework to its clauses"))?;
    let mut frameworks = BTreeMap::new();
    for (name, refs) in map {
        let path = format!("{at}.frameworks.{name}");
        let framework = Framework::parse("catalogue", name).map_err(|e| bad(&path, &e.message))?;
        let refs = refs.as_array().filter(|r| !r.is_empty()).ok_or_else(|| bad(&path, "must be a non-empty list"))?;
        let mut clauses = Vec::with_capacity(refs.len());
        for (i, r) in refs.iter().enumerate() {
            let clause = r
                .as_str()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| bad(&format!("{path}[{i}]"), "must be a non-empty string"))?;
            clauses.push(clause.to_string());
        }
        frameworks.insert(framework, clauses);
    }
    let notes = match obj.get("notes") {
        None => String::new(),
        Some(v) => v.as_str().ok_or_else(|| bad(&format!("{at}.notes"), "must be a string"))?.to_string(),
    };
    Ok(Control { id: id.to_string(), title: title.to_string(), check, applies, frameworks, notes })
}

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
    fn handles_phi(&self) -> bool {
        self.context.as_ref().is_some_and(|c| c.handles(DataSensitivity::Phi))
    }

    /// Each version deployed now, in any environment.
    fn current(&self) -> impl Iterator<Item = (&ModelFacts, &Deployment)> {
        self.models.iter().flat_map(|m| m.deployments.iter().filter(|d| d.until.is_none()).map(move |d| (m, d)))
    }

    /// Each version in production now.
    fn production(&self) -> impl Iterator<Item = (&ModelFacts, &Deployment)> {
        self.current().filter(|(_, d)| d.environment == Environment::Production)
    }

    /// Each version deployed now, once (a version can be in staging and production).
    fn deployed_versions(&self) -> Vec<(&ModelFacts, &Deployment)> {
        let mut seen = BTreeSet::new();
        self.current().filter(|(m, d)| seen.insert((m.name.as_str(), d.version))).collect()
    }

    fn gate(&self) -> Gate {
        self.production_gates.get(&self.tier).cloned().unwrap_or_default()
    }
}

impl ModelFacts {
    fn version(&self, v: u32) -> Option<&ModelVersion> {
        self.versions.iter().find(|m| m.version == v)
    }

    /// The newest evidence of `kind` for version `v` that did not fail.
    /// The evidence of `kind` that satisfies it, judged as promotion gates judge it: the
    /// newest from someone other than the version's author (anyone, for documentation)
    /// decides, and counts when it states it passed (see `governance::evidence_counts`).
    fn evidence_of(&self, v: u32, kind: &str) -> Option<&Evidence> {
        let author = self.versions.iter().find(|mv| mv.version == v).map(|mv| mv.author.as_str()).unwrap_or_default();
        let newest = self
            .evidence
            .get(&v)?
            .iter()
            .rev()
            .find(|e| e.kind == kind && (kind == "documentation" || e.created_by != author))?;
        crate::governance::evidence_counts(kind, newest.passed, &newest.created_by, &[author]).then_some(newest)
    }

    /// The newest failed evidence of `kind` for version `v` that still stands: no evidence
    /// that would count toward a gate (a pass by someone other than the author) came after
    /// it. A failure counts whoever reported it, the author too: an author's pass proves
    /// nothing, but an author's failure is still a threshold not met. A pass recorded at the
    /// same instant as a failure does not overturn it.
    fn standing_failure_of(&self, v: u32, kind: &str) -> Option<&Evidence> {
        let author = self.version(v).map(|mv| mv.author.as_str()).unwrap_or_default();
        let of_kind = || self.evidence.get(&v).into_iter().flatten().filter(|e| e.kind == kind);
        let failed = of_kind().filter(|e| e.passed == Some(false)).max_by_key(|e| (e.created_at, e.id))?;
        let overturned = of_kind().any(|e| {
            e.created_at > failed.created_at
                && crate::governance::evidence_counts(kind, e.passed, &e.created_by, &[author])
        });
        (!overturned).then_some(failed)
    }

    fn failed_evidence_of(&self, v: u32, kind: &str) -> bool {
        self.evidence.get(&v).is_some_and(|es| es.iter().any(|e| e.kind == kind && e.passed == Some(false)))
    }
}

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

fn verdict(gaps: Vec<String>, ok: impl FnOnce() -> String) -> (ControlStatus, String) {
    if gaps.is_empty() { (ControlStatus::Satisfied, ok()) } else { (ControlStatus::Unsatisfied, gaps.join("; ")) }
}

fn label(d: &Deployment) -> String {
    format!("{}@{}", d.model, d.version)
}

fn list(items: &[String]) -> String {
    const SHOWN: usize = 5;
    if items.len() <= SHOWN {
        items.join(", ")
    } else {
        format!("{} and {} more", items[..SHOWN].join(", "), items.len() - SHOWN)
    }
}

fn result_of(e: &Evidence) -> &'static str {
    match e.passed {
        Some(true) => "passed",
        Some(false) => "failed",
        None => "result not stated",
    }
}

/// The automatic check of a control, by id. A control without one is unsatisfied until
/// someone attests it.
fn auto_check(id: &str, f: &ComplianceFacts) -> (ControlStatus, String) {
    match id {
        "C01" => inventory(f),
        "C02" => digests(f),
        "C03" => data_links(f),
        "C04" => code_links(f),
        "C05" => lineage(f),
        "C06" => independent_approval(f),
        "C07" => evidence_kind(f, "validation"),
        "C08" => revalidation(f),
        "C09" => assessed_before_go_live(f),
        "C10" => tier_rationale(f),
        "C12" => evidence_kind(f, "documentation"),
        "C14" => gated_thresholds(f),
        "C15" => monitoring_plan(f),
        "C16" => inference_logging(f),
        "C17" => audit_trail(f),
        "C18" => individual_identities(f),
        "C19" => production_roles(f),
        "C20" => (
            ControlStatus::Unsatisfied,
            "riskops serves HTTP; TLS is terminated by your proxy — attest it, with how the data directory, \
             database and artifact store are encrypted at rest"
                .to_string(),
        ),
        "C21" => session_expiry(f),
        "C22" => incident_register(f),
        "C23" => rollback_path(f),
        "C26" => (
            ControlStatus::NotApplicable,
            "riskops does not record retirement yet, so no version of this project has been retired".to_string(),
        ),
        "C27" => (
            ControlStatus::Satisfied,
            "this report gives each control's status with its reason and the coverage per framework; the gaps are \
             the controls marked unsatisfied"
                .to_string(),
        ),
        _ => (ControlStatus::Unsatisfied, "riskops has no automatic check for this control; attest it".to_string()),
    }
}

/// C01: every deployed version's project has a context, an owner and a tier.
fn inventory(f: &ComplianceFacts) -> (ControlStatus, String) {
    let deployed: Vec<String> = f.current().map(|(_, d)| format!("{} ({})", label(d), d.environment)).collect();
    let (owner, whose) = match f.risk_entries.iter().find(|e| !e.fields.owner.trim().is_empty()) {
        Some(e) => (e.fields.owner.clone(), "risk owner"),
        None => (f.project_created_by.clone(), "project creator"),
    };
    match &f.context {
        None => (
            ControlStatus::Unsatisfied,
            format!(
                "{} deployed, but project {} has no recorded context (industry, workflow, data, autonomy): its intended \
                 use is not in the inventory",
                list(&deployed),
                f.project
            ),
        ),
        Some(c) => (
            ControlStatus::Satisfied,
            format!(
                "{} in the inventory of project {}: context {} / {}, owner {owner} ({whose}), tier {} ({})",
                list(&deployed),
                f.project,
                c.industry.as_str(),
                c.workflow,
                f.tier,
                f.tier_source.as_str()
            ),
        ),
    }
}

/// C02: each current deployment records its version's digest.
fn digests(f: &ComplianceFacts) -> (ControlStatus, String) {
    let mut gaps = Vec::new();
    let mut checked = Vec::new();
    for (m, d) in f.current() {
        match m.version(d.version) {
            None => gaps.push(format!("{} ({}) has no version record", label(d), d.environment)),
            Some(v) if v.digest != d.digest => gaps.push(format!(
                "{} ({}) was deployed with digest {} but the version's digest is {}",
                label(d),
                d.environment,
                d.digest,
                v.digest
            )),
            Some(_) => checked.push(format!("{} ({})", label(d), d.environment)),
        }
    }
    verdict(gaps, || {
        format!(
            "each deployment records its version's content digest ({}); riskops re-reads the artifact and checks it \
             against that digest before every deployment, and production entries are signed",
            list(&checked)
        )
    })
}

/// C03: training and validation data linked to each deployed version.
fn data_links(f: &ComplianceFacts) -> (ControlStatus, String) {
    let mut gaps = Vec::new();
    let mut found = Vec::new();
    for (m, d) in f.deployed_versions() {
        let Some(v) = m.version(d.version) else { continue };
        match (&v.training_data, &v.validation_data) {
            (Some(t), Some(val)) => found.push(format!("{} trained on {t}, validated on {val}", label(d))),
            (t, val) => {
                let mut missing = Vec::new();
                if t.is_none() {
                    missing.push("training");
                }
                if val.is_none() {
                    missing.push("validation");
                }
                gaps.push(format!("{} has no {} data linked", label(d), missing.join(" or ")));
            }
        }
    }
    verdict(gaps, || format!("{} (dataset versions are pinned by digest)", list(&found)))
}

/// C04: the code commit of each deployed version.
fn code_links(f: &ComplianceFacts) -> (ControlStatus, String) {
    let mut gaps = Vec::new();
    let mut found = Vec::new();
    for (m, d) in f.deployed_versions() {
        let Some(v) = m.version(d.version) else { continue };
        match &v.code {
            Some(code) => found.push(format!("{} built from {} at {}", label(d), code.repo, code.commit)),
            None => gaps.push(format!("{} has no code commit recorded", label(d))),
        }
    }
    verdict(gaps, || list(&found))
}

/// C05: lineage holds when data and code are both linked.
fn lineage(f: &ComplianceFacts) -> (ControlStatus, String) {
    let gaps: Vec<String> = [data_links(f), code_links(f)]
        .into_iter()
        .filter(|(s, _)| *s != ControlStatus::Satisfied)
        .map(|(_, r)| r)
        .collect();
    if gaps.is_empty() {
        (
            ControlStatus::Satisfied,
            "data → model → deployment is recorded for every deployed version (riskops lineage NAME@V)".to_string(),
        )
    } else {
        (ControlStatus::Unsatisfied, format!("lineage is incomplete: {}", gaps.join("; ")))
    }
}

/// C06: the promotion that put each production version there was approved by someone who
/// neither requested it nor authored the version. Emergency rollbacks are noted.
fn independent_approval(f: &ComplianceFacts) -> (ControlStatus, String) {
    let mut gaps = Vec::new();
    let mut found = Vec::new();
    for (m, d) in f.production() {
        let completed = |p: &&Promotion| {
            p.status == PromotionStatus::Completed && p.environment == Environment::Production && p.version == d.version
        };
        let promotion = match d.promotion_id {
            Some(id) => m.promotions.iter().find(|p| p.id == id),
            // An emergency rollback: the version entered production earlier through a promotion.
            None => m.promotions.iter().filter(completed).max_by_key(|p| p.id),
        };
        let Some(p) = promotion else {
            gaps.push(format!("{} is in production without a completed promotion on record", label(d)));
            continue;
        };
        let author = m.version(d.version).map(|v| v.author.as_str()).unwrap_or_default();
        let approvers: Vec<&str> = p
            .decisions
            .iter()
            .filter(|x| x.approve && x.by != p.requested_by && x.by != author)
            .map(|x| x.by.as_str())
            .collect();
        if approvers.is_empty() {
            gaps.push(format!(
                "promotion {} put {} into production with no approval by anyone other than its requester {} and \
                 author {author}",
                p.id,
                label(d),
                p.requested_by
            ));
        } else {
            found.push(format!(
                "{} approved by {} (requested by {}, authored by {author})",
                label(d),
                approvers.join(", "),
                p.requested_by
            ));
        }
    }
    let (status, reason) = verdict(gaps, || list(&found));
    let note = emergency_note(f);
    (status, format!("{reason}{note}"))
}

/// C07 and C12: each production version has (non-failed) evidence of `kind`.
fn evidence_kind(f: &ComplianceFacts, kind: &str) -> (ControlStatus, String) {
    let mut gaps = Vec::new();
    let mut found = Vec::new();
    for (m, d) in f.production() {
        match m.evidence_of(d.version, kind) {
            Some(e) => found.push(format!(
                "{}: {kind} evidence {} by {} on {} ({})",
                label(d),
                e.id,
                e.created_by,
                e.created_at.date(),
                result_of(e)
            )),
            None if m.failed_evidence_of(d.version, kind) => {
                gaps.push(format!("{}: production version {} has only failed {kind} evidence", m.name, d.version))
            }
            None if m.evidence.get(&d.version).is_some_and(|es| es.iter().any(|e| e.kind == kind)) => gaps.push(format!(
                "{}: production version {} has {kind} evidence, but none that states it passed and comes from someone other than the version's author",
                m.name, d.version
            )),
            None => gaps.push(format!("{}: production version {} has no {kind} evidence", m.name, d.version)),
        }
    }
    verdict(gaps, || list(&found))
}

/// C08: the newest validation of each production version is within the tier's cadence.
fn revalidation(f: &ComplianceFacts) -> (ControlStatus, String) {
    let cadence = revalidation_days(f.tier);
    let mut gaps = Vec::new();
    let mut found = Vec::new();
    for (m, d) in f.production() {
        let Some(e) = m.evidence_of(d.version, "validation") else {
            gaps.push(format!("{}: production version {} was never validated", m.name, d.version));
            continue;
        };
        let age = (f.now - e.created_at).whole_days();
        if age > cadence {
            gaps.push(format!(
                "{} was last validated {age} days ago ({}); {} tier revalidates every {cadence} days",
                label(d),
                e.created_at.date(),
                f.tier
            ));
        } else {
            let due = (e.created_at + time::Duration::days(cadence)).date();
            found.push(format!("{} validated {age} days ago, due again by {due}", label(d)));
        }
    }
    let (status, reason) = verdict(gaps, || list(&found));
    if status == ControlStatus::Satisfied {
        (status, format!("{reason} ({} tier: every {cadence} days)", f.tier))
    } else {
        (status, reason)
    }
}

/// C09: the register had entries before the first production deployment.
fn assessed_before_go_live(f: &ComplianceFacts) -> (ControlStatus, String) {
    let go_live = f
        .models
        .iter()
        .flat_map(|m| &m.deployments)
        .filter(|d| d.environment == Environment::Production)
        .map(|d| d.since)
        .min();
    let first = f.risk_entries.iter().map(|e| e.created_at).min();
    match (first, go_live) {
        (None, _) => (
            ControlStatus::Unsatisfied,
            format!("the risk register of project {} has no entries: no failure mode was scored", f.project),
        ),
        (Some(first), Some(live)) if first > live => (
            ControlStatus::Unsatisfied,
            format!(
                "the first risk entry ({}) was recorded after the first production deployment ({}): risks were not \
                 assessed before go-live",
                first.date(),
                live.date()
            ),
        ),
        (Some(first), live) => (
            ControlStatus::Satisfied,
            format!(
                "{} risk entries scored (likelihood × severity), the first on {}{}",
                f.risk_entries.len(),
                first.date(),
                live.map(|l| format!(", before the first production deployment on {}", l.date())).unwrap_or_default()
            ),
        ),
    }
}

/// C10: the tier comes from the register or from an override with a reason.
fn tier_rationale(f: &ComplianceFacts) -> (ControlStatus, String) {
    match f.tier_source {
        TierSource::Register => {
            let open = f.risk_entries.iter().filter(|e| e.fields.status != crate::risk::RiskStatus::Closed).count();
            (
                ControlStatus::Satisfied,
                format!(
                    "tier {} from the risk register: the highest band of the inherent scores (severity × likelihood) \
                     of {open} open entries",
                    f.tier
                ),
            )
        }
        TierSource::Override => match &f.tier_override_reason {
            Some(reason) => {
                (ControlStatus::Satisfied, format!("tier {} set by a risk officer's override: {reason:?}", f.tier))
            }
            None => (ControlStatus::Unsatisfied, format!("tier {} is an override with no recorded reason", f.tier)),
        },
        TierSource::Unassessed => (
            ControlStatus::Unsatisfied,
            format!(
                "no risk assessed: the project is governed as {} until its risk register has entries or a risk \
                 officer sets the tier with a reason",
                f.tier
            ),
        ),
    }
}

/// C14: the production gate asks for performance, fairness or stress-test evidence, each
/// production version has it, and no production version has a failed performance, fairness
/// or stress test standing against it, whether or not the gate asks for that kind: a
/// threshold the version is known to miss is not passed, and only a later passing result
/// (one that would count toward a gate) overturns a failure.
fn gated_thresholds(f: &ComplianceFacts) -> (ControlStatus, String) {
    const KINDS: [&str; 3] = ["performance", "fairness", "stress_test"];
    let gate = f.gate();
    let required: Vec<&str> = KINDS.into_iter().filter(|k| gate.evidence.iter().any(|e| e == k)).collect();
    if required.is_empty() {
        return (
            ControlStatus::Unsatisfied,
            format!("the {}-tier production gate asks for no performance, fairness or stress_test evidence", f.tier),
        );
    }
    let mut gaps = Vec::new();
    let mut found = Vec::new();
    for (m, d) in f.production() {
        for kind in KINDS {
            if let Some(e) = m.standing_failure_of(d.version, kind) {
                gaps.push(format!(
                    "{}: production version {} failed its {kind} evidence (recorded by {} on {}) and no later \
                     passing {kind} evidence overturns it",
                    m.name,
                    d.version,
                    e.created_by,
                    e.created_at.date()
                ));
            }
        }
        for kind in &required {
            match m.evidence_of(d.version, kind) {
                Some(e) => found.push(format!("{} {kind} ({})", label(d), result_of(e))),
                None => {
                    gaps.push(format!("{}: production version {} has no passing {kind} evidence", m.name, d.version))
                }
            }
        }
    }
    verdict(gaps, || format!("the {}-tier production gate requires {}: {}", f.tier, required.join(", "), list(&found)))
}

/// C17: the chain verifies and a signed checkpoint covers it.
fn audit_trail(f: &ComplianceFacts) -> (ControlStatus, String) {
    let a = &f.audit;
    if !a.missing_guards.is_empty() {
        return (
            ControlStatus::Unsatisfied,
            format!(
                "the audit trail is no longer append-only: the triggers {} are missing",
                a.missing_guards.join(", ")
            ),
        );
    }
    match (a.ok, a.checkpoint_seq) {
        (false, _) => (
            ControlStatus::Unsatisfied,
            format!("the audit trail does not verify: {}", a.problem.as_deref().unwrap_or("unknown problem")),
        ),
        (true, None) => (
            ControlStatus::Unsatisfied,
            format!(
                "the hash chain of {} audit events verifies, but no signed checkpoint covers it, so a cut-off tail \
                 would go unnoticed (run the server with its signing key)",
                a.events
            ),
        ),
        (true, Some(seq)) => (
            ControlStatus::Satisfied,
            format!(
                "the audit trail is append-only (its database triggers are in place); its hash chain of {} events \
                 verifies, signed up to event {seq}",
                a.events
            ),
        ),
    }
}

/// C18: identities are individual; the bootstrap token, handed out through configuration,
/// is no longer active.
fn individual_identities(f: &ComplianceFacts) -> (ControlStatus, String) {
    let i = &f.identities;
    if i.bootstrap_token_active {
        (
            ControlStatus::Unsatisfied,
            "the bootstrap admin token (set at first start, often shared through configuration) is still active: \
             give administrators personal identities and revoke it"
                .to_string(),
        )
    } else {
        (
            ControlStatus::Satisfied,
            format!(
                "{} users and {} service accounts, each with its own tokens (256-bit, stored hashed; a token belongs \
                 to one identity); the bootstrap admin token is revoked or expired",
                i.users, i.service_accounts
            ),
        )
    }
}

/// C19: the production gate for the project's tier requires at least one approval.
fn production_roles(f: &ComplianceFacts) -> (ControlStatus, String) {
    let gate = f.gate();
    if gate.approvals.is_empty() {
        return (
            ControlStatus::Unsatisfied,
            format!(
                "the {}-tier production gate requires no approval: a data scientist's request alone deploys",
                f.tier
            ),
        );
    }
    let needed: Vec<String> = gate.approvals.iter().map(|a| format!("{} ×{}", a.role, a.count)).collect();
    (
        ControlStatus::Satisfied,
        format!(
            "production is protected by roles: the {}-tier gate needs approval by {}; the requester and the version's \
             author never count, and roles are granted per project",
            f.tier,
            needed.join(", ")
        ),
    )
}

/// C21: every active token of a person expires.
/// C21: every active token of a person expires; emergency access (rollbacks) is noted for review.
fn session_expiry(f: &ComplianceFacts) -> (ControlStatus, String) {
    let never = &f.identities.user_tokens_without_expiry;
    let (status, reason) = if never.is_empty() {
        (ControlStatus::Satisfied, "every active token of a person expires (sign-in tokens always do)".to_string())
    } else {
        (ControlStatus::Unsatisfied, format!("{} active token(s) of people never expire: {}", never.len(), list(never)))
    };
    (status, format!("{reason}{}", emergency_note(f)))
}

/// `; N emergency rollback(s) skipped the gates, review them: …`, or nothing.
fn emergency_note(f: &ComplianceFacts) -> String {
    let rollbacks: Vec<String> = f
        .models
        .iter()
        .flat_map(|m| &m.deployments)
        .filter(|d| d.emergency && d.environment == Environment::Production)
        .map(|d| format!("{} on {} by {}", label(d), d.since.date(), d.by))
        .collect();
    if rollbacks.is_empty() {
        String::new()
    } else {
        format!("; {} emergency rollback(s) skipped the gates, review them: {}", rollbacks.len(), list(&rollbacks))
    }
}

/// C15: every production version is watched by monitors and its prediction logs arrive.
fn monitoring_plan(f: &ComplianceFacts) -> (ControlStatus, String) {
    let finance = f.context.as_ref().is_some_and(|c| c.template == Some(crate::context::Template::Finance));
    let pack = if finance { " (the finance pack requires real-time anomaly monitoring in production)" } else { "" };
    let mut gaps = Vec::new();
    let mut found = Vec::new();
    for (m, d) in f.production() {
        let watch = &m.monitoring;
        if watch.monitors.is_empty() {
            gaps.push(format!("{} has no monitors in force (riskops monitor add){pack}", label(d)));
        } else if let Some(end) = watch.last_window.get(&d.version) {
            found.push(format!(
                "{}: {} monitors ({}), latest window ending {}",
                label(d),
                watch.monitors.len(),
                list(&watch.monitors),
                riskops_monitor::rfc3339(*end)
            ));
        } else {
            gaps.push(format!(
                "{} is in production but no prediction logs have arrived, so its {} monitors judge nothing (riskops log){pack}",
                label(d),
                watch.monitors.len()
            ));
        }
    }
    verdict(gaps, || list(&found))
}

/// Raw records kept this long at least for high-risk systems (EU AI Act Art. 19: six months).
const HIGH_RISK_RETENTION_DAYS: u32 = 183;

/// C16: production versions' raw prediction logs are kept, six months at least when the
/// project is high-risk.
fn inference_logging(f: &ComplianceFacts) -> (ControlStatus, String) {
    let high_risk = f.tier >= Tier::High || f.context.as_ref().is_some_and(|c| c.eu_ai_act == Some(EuAiAct::High));
    let mut gaps = Vec::new();
    let mut found = Vec::new();
    for (m, d) in f.production() {
        let watch = &m.monitoring;
        if watch.segments == 0 {
            gaps.push(format!("{}: no raw prediction logs are kept yet (send them with riskops log)", label(d)));
        } else if high_risk && watch.retention_days < HIGH_RISK_RETENTION_DAYS {
            gaps.push(format!(
                "{}: logs are kept {} days; a high-risk system keeps them at least {HIGH_RISK_RETENTION_DAYS} \
                 (riskops monitor configure --retention-days)",
                m.name, watch.retention_days
            ));
        } else {
            found.push(format!("{}: {} log segments kept {} days", m.name, watch.segments, watch.retention_days));
        }
    }
    verdict(gaps, || list(&found))
}

/// C22: incidents are opened by monitors on production versions and name their version.
fn incident_register(f: &ComplianceFacts) -> (ControlStatus, String) {
    let mut gaps = Vec::new();
    let mut found = Vec::new();
    for (m, d) in f.production() {
        let watch = &m.monitoring;
        if watch.monitors.is_empty() {
            gaps.push(format!("{}: no monitors, so no incident can open (riskops monitor add)", label(d)));
            continue;
        }
        let open: Vec<String> = watch
            .incidents
            .iter()
            .filter(|i| i.state != crate::incident::IncidentState::Resolved)
            .map(|i| format!("#{} {} {} ({})", i.id, i.severity.as_str(), i.title, i.state.as_str()))
            .collect();
        found.push(format!(
            "{}: {} incidents on record, {} open{}",
            m.name,
            watch.incidents.len(),
            open.len(),
            if open.is_empty() { String::new() } else { format!(": {}", list(&open)) }
        ));
    }
    verdict(gaps, || list(&found))
}

/// C23: a rollback was exercised, or an earlier production version can be put back.
fn rollback_path(f: &ComplianceFacts) -> (ControlStatus, String) {
    let mut gaps = Vec::new();
    let mut found = Vec::new();
    for (m, d) in f.production() {
        let prod = || m.deployments.iter().filter(|x| x.environment == Environment::Production);
        if let Some(r) = prod().rev().find(|x| x.emergency) {
            found.push(format!("rollback exercised: {} put back on {} by {}", label(r), r.since.date(), r.by));
        } else if let Some(earlier) = prod().rev().find(|x| x.version != d.version) {
            found.push(format!(
                "{} was in production before {} and can be put back at once (riskops model rollback)",
                label(earlier),
                label(d)
            ));
        } else {
            gaps.push(format!(
                "{} is the first version of {} in production: there is no earlier version to roll back to",
                label(d),
                m.name
            ));
        }
    }
    verdict(gaps, || list(&found))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::{Autonomy, Industry};
    use crate::governance::{Decision, Policy};
    use crate::registry::{CodeRef, Framework as ModelFramework, VersionRef};
    use crate::risk::{Impact, RiskFields, RiskStatus};
    use time::Duration;

    const DAY: Duration = Duration::days(1);

    fn t(days: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::days(20_000 + days)
    }

    fn digest(n: u8) -> Digest {
        Digest::parse(&format!("sha256:{}", format!("{n:02x}").repeat(32))).unwrap()
    }

    fn version(v: u32, author: &str) -> ModelVersion {
        ModelVersion {
            name: "scorer".into(),
            project: "credit".into(),
            version: v,
            digest: digest(v as u8),
            size: 10,
            framework: ModelFramework::Other,
            training_data: Some(VersionRef::exact("loans", 1)),
            validation_data: Some(VersionRef::exact("holdout", 1)),
            code: Some(CodeRef { repo: "https://git.example/scorer.git".into(), commit: "a1b2c3d".into() }),
            params: Value::Null,
            metrics: Value::Null,
            description: String::new(),
            tags: Default::default(),
            signature: None,
            author: author.into(),
            created_at: t(0),
        }
    }

    fn evidence(v: u32, kind: &str, passed: Option<bool>, at: OffsetDateTime) -> Evidence {
        Evidence {
            id: 1,
            model: "scorer".into(),
            version: v,
            kind: kind.into(),
            digest: digest(99),
            size: 3,
            passed,
            summary: String::new(),
            created_by: "victor".into(),
            created_at: at,
        }
    }

    fn deployment(v: u32, promotion: Option<i64>, since: OffsetDateTime, until: Option<OffsetDateTime>) -> Deployment {
        Deployment {
            model: "scorer".into(),
            version: v,
            environment: Environment::Production,
            since,
            until,
            by: "rita".into(),
            promotion_id: promotion,
            reason: String::new(),
            emergency: promotion.is_none(),
            digest: digest(v as u8),
            signature: None,
        }
    }

    fn promotion(id: i64, v: u32, approvers: &[&str]) -> Promotion {
        Promotion {
            id,
            model: "scorer".into(),
            project: "credit".into(),
            version: v,
            environment: Environment::Production,
            reason: String::new(),
            requested_by: "dana".into(),
            tier: Tier::High,
            gate: crate::governance::Policy::default_policy().gate(Tier::High, Environment::Production),
            status: PromotionStatus::Completed,
            created_at: t(1),
            closed_at: Some(t(2)),
            closed_reason: None,
            decisions: approvers
                .iter()
                .map(|by| Decision { by: (*by).into(), roles: vec![], approve: true, comment: String::new(), at: t(2) })
                .collect(),
        }
    }

    fn entry(at: OffsetDateTime) -> RiskEntry {
        RiskEntry {
            id: 1,
            project: "credit".into(),
            fields: RiskFields {
                failure_mode: "incorrect_information".into(),
                category: "operational".into(),
                severity: 4,
                likelihood: 3,
                impact: Impact::default(),
                controls: vec![],
                owner: "rita".into(),
                status: RiskStatus::Open,
                rationale: String::new(),
            },
            created_at: at,
            updated_at: at,
            updated_by: "rita".into(),
        }
    }

    /// Version 1 in production through promotion 1, approved by victor; validation and
    /// documentation evidence; the register assessed beforehand.
    fn facts() -> ComplianceFacts {
        let policy = Policy::default_policy();
        let mut evidence_map = BTreeMap::new();
        evidence_map.insert(
            1,
            vec![
                evidence(1, "validation", Some(true), t(1)),
                evidence(1, "documentation", Some(true), t(1)),
                evidence(1, "fairness", Some(true), t(1)),
            ],
        );
        ComplianceFacts {
            project: "credit".into(),
            project_created_by: "admin".into(),
            context: Some(ProjectContext {
                industry: Industry::Finance,
                workflow: "credit_decision".into(),
                workflow_description: String::new(),
                data_sensitivity: vec![DataSensitivity::Financial],
                autonomy: Autonomy::HumanInTheLoop,
                eu_ai_act: None,
                annex_iii_area: None,
                template: None,
            }),
            tier: Tier::High,
            tier_source: TierSource::Register,
            tier_override_reason: None,
            risk_entries: vec![entry(t(0))],
            models: vec![ModelFacts {
                name: "scorer".into(),
                versions: vec![version(1, "dana")],
                deployments: vec![deployment(1, Some(1), t(2), None)],
                evidence: evidence_map,
                promotions: vec![promotion(1, 1, &["victor", "rita"])],
                monitoring: MonitoringFacts::default(),
            }],
            audit: AuditFacts { ok: true, events: 40, checkpoint_seq: Some(40), problem: None, missing_guards: vec![] },
            identities: IdentityFacts { users: 4, service_accounts: 0, ..Default::default() },
            production_gates: Tier::ALL.into_iter().map(|t| (t, policy.gate(t, Environment::Production))).collect(),
            attestations: vec![],
            now: t(10),
        }
    }

    fn status<'a>(r: &'a ComplianceReport, id: &str) -> (ControlStatus, &'a str) {
        let c = r.controls.iter().find(|c| c.id == id).unwrap();
        (c.status, c.reason.as_str())
    }

    #[test]
    fn the_builtin_catalogue_holds_the_27_controls_with_their_mappings() {
        let c = Catalogue::builtin().unwrap();
        assert_eq!(c.version, "riskops-controls-2026.11");
        let ids: Vec<&str> = c.controls.iter().map(|c| c.id.as_str()).collect();
        let expected: Vec<String> = (1..=27).map(|i| format!("C{i:02}")).collect();
        assert_eq!(ids, expected);
        let c02 = c.control("C02").unwrap();
        assert_eq!(c02.frameworks[&Framework::Hipaa], ["164.312(c)(1)", "164.312(c)(2)"]);
        assert_eq!(c.control("C01").unwrap().frameworks[&Framework::EuAiAct], ["Art. 11", "Art. 49"]);
        assert_eq!(c.control("C16").unwrap().frameworks[&Framework::Iso42001], ["A.6.2.8"]);
        let attest: Vec<&str> = c.controls.iter().filter(|c| c.check == Check::Attest).map(|c| c.id.as_str()).collect();
        assert_eq!(attest, ["C11", "C13", "C24", "C25"]);
        // Every automatic control has a check of its own.
        let f = facts();
        for control in c.controls.iter().filter(|c| c.check == Check::Auto) {
            assert!(!auto_check(&control.id, &f).1.contains("no automatic check"), "{}", control.id);
        }
        assert_eq!(Catalogue::from_json(&c.to_json()).unwrap(), c);
    }

    #[test]
    fn malformed_catalogues_name_the_field() {
        let doc = Catalogue::builtin().unwrap().to_json();
        let message = |edit: &dyn Fn(&mut Value)| {
            let mut d = doc.clone();
            edit(&mut d);
            Catalogue::from_json(&d).unwrap_err().message
        };
        assert!(message(&|d| d["controls"][3]["check"] = json!("manual")).contains("controls[3].check"));
        assert!(message(&|d| d["controls"][0]["applies"] = json!("tier>=huge")).contains("controls[0].applies"));
        assert!(message(&|d| d["controls"][0]["applies"] = json!(["phi", "x"])).contains("controls[0].applies[1]"));
        assert!(
            message(&|d| d["controls"][2]["frameworks"]["gdpr"] = json!(["5"])).contains("controls[2].frameworks.gdpr")
        );
        assert!(message(&|d| d["controls"][1]["id"] = json!("C01")).contains("controls[1].id"));
        assert!(message(&|d| d["controls"][1]["owner"] = json!("x")).contains("controls[1].owner"));
        assert!(message(&|d| d["version"] = json!("")).contains("version"));
    }

    #[test]
    fn a_governed_production_version_satisfies_the_evidence_controls_with_reasons() {
        let r = evaluate(&Catalogue::builtin().unwrap(), &facts(), None);
        for id in [
            "C01", "C02", "C03", "C04", "C05", "C06", "C07", "C08", "C09", "C10", "C12", "C14", "C17", "C18", "C19",
            "C27",
        ] {
            assert_eq!(status(&r, id).0, ControlStatus::Satisfied, "{id}: {}", status(&r, id).1);
        }
        assert!(status(&r, "C06").1.contains("approved by victor, rita"), "{}", status(&r, "C06").1);
        for id in ["C11", "C15", "C16", "C20", "C22", "C23", "C24", "C25"] {
            assert_eq!(status(&r, id).0, ControlStatus::Unsatisfied, "{id}");
        }
        assert_eq!(status(&r, "C11").1, "no attestation recorded");
        assert!(status(&r, "C15").1.contains("scorer@1 has no monitors in force"), "{}", status(&r, "C15").1);
        assert_eq!(status(&r, "C26").0, ControlStatus::NotApplicable);
        assert_eq!(status(&r, "C21").0, ControlStatus::NotApplicable, "HIPAA-only, no phi");
        assert!(!r.coverage.contains_key(&Framework::Hipaa));
        assert_eq!(r.frameworks_not_applicable.len(), 1);
        assert!(r.coverage[&Framework::NistAiRmf].ratio() > 0.0 && r.coverage[&Framework::NistAiRmf].ratio() < 1.0);
    }

    #[test]
    fn monitoring_logging_and_incidents_are_judged_from_what_monitoring_knows() {
        let catalogue = Catalogue::builtin().unwrap();
        let mut f = facts();
        f.tier = Tier::High;
        f.models[0].monitoring.monitors = vec!["drift.share ≥ 0.3 for 2 windows".into()];
        let r = evaluate(&catalogue, &f, None);
        assert!(status(&r, "C15").1.contains("no prediction logs have arrived"), "{}", status(&r, "C15").1);
        assert!(status(&r, "C16").1.contains("no raw prediction logs"), "{}", status(&r, "C16").1);
        assert_eq!(status(&r, "C22").0, ControlStatus::Satisfied, "monitors in force: incidents can open");

        f.models[0].monitoring.last_window.insert(1, 1_790_000_000);
        f.models[0].monitoring.segments = 3;
        f.models[0].monitoring.retention_days = 30;
        let r = evaluate(&catalogue, &f, None);
        assert_eq!(status(&r, "C15").0, ControlStatus::Satisfied, "{}", status(&r, "C15").1);
        assert!(status(&r, "C15").1.contains("latest window ending 2026-09-21T"), "{}", status(&r, "C15").1);
        assert!(status(&r, "C16").1.contains("kept 30 days; a high-risk system keeps them at least 183"));
        f.models[0].monitoring.retention_days = 183;
        f.models[0].monitoring.incidents = vec![crate::incident::Incident {
            id: 7,
            project: "credit".into(),
            model: "scorer".into(),
            version: 1,
            monitor_id: "m1".into(),
            monitor: serde_json::json!({}),
            severity: crate::alerting::Severity::High,
            state: crate::incident::IncidentState::Open,
            title: "scorer@1: drift.share ≥ 0.3 for 2 windows".into(),
            first_window: 0,
            last_window: 0,
            windows: 2,
            evidence: serde_json::json!({}),
            advice: None,
            raised_risks: vec![],
            opened_at: t(9),
            updated_at: t(9),
            acknowledged_by: None,
            acknowledged_at: None,
            resolved_by: None,
            resolved_at: None,
            note: String::new(),
            risk_action: None,
        }];
        let r = evaluate(&catalogue, &f, None);
        assert_eq!(status(&r, "C16").0, ControlStatus::Satisfied, "{}", status(&r, "C16").1);
        assert!(status(&r, "C22").1.contains("1 open: #7 high scorer@1"), "{}", status(&r, "C22").1);
    }

    #[test]
    fn missing_evidence_is_named_and_adding_it_flips_the_control_and_the_coverage() {
        let catalogue = Catalogue::builtin().unwrap();
        let mut f = facts();
        f.models[0].versions.push(version(3, "dana"));
        f.models[0].deployments[0].until = Some(t(5));
        f.models[0].deployments.push(deployment(3, Some(2), t(5), None));
        f.models[0].promotions.push(promotion(2, 3, &["victor"]));
        f.models[0].evidence = BTreeMap::from([(3, vec![evidence(3, "fairness", Some(true), t(4))])]);
        let before = evaluate(&catalogue, &f, None);
        assert_eq!(
            status(&before, "C07"),
            (ControlStatus::Unsatisfied, "scorer: production version 3 has no validation evidence")
        );
        assert_eq!(status(&before, "C12").0, ControlStatus::Unsatisfied);
        assert!(status(&before, "C23").1.contains("scorer@1 was in production before scorer@3"));

        f.models[0].evidence.get_mut(&3).unwrap().push(evidence(3, "validation", Some(true), t(6)));
        let after = evaluate(&catalogue, &f, None);
        assert_eq!(status(&after, "C07").0, ControlStatus::Satisfied, "{}", status(&after, "C07").1);
        let nist = |r: &ComplianceReport| r.coverage[&Framework::NistAiRmf];
        assert_eq!(nist(&after).met, nist(&before).met + 2, "C07 and C08 (MS-1.3…, GV-1.5) flip");
        assert!(nist(&after).ratio() > nist(&before).ratio());

        // Failed evidence is said as such.
        f.models[0].evidence.get_mut(&3).unwrap().retain(|e| e.kind != "validation");
        f.models[0].evidence.get_mut(&3).unwrap().push(evidence(3, "validation", Some(false), t(6)));
        assert!(status(&evaluate(&catalogue, &f, None), "C07").1.contains("only failed validation"));
    }

    #[test]
    fn an_emergency_rollback_exercises_the_rollback_path_and_is_flagged_for_review() {
        let mut f = facts();
        f.models[0].versions.push(version(2, "dana"));
        f.models[0].deployments[0].until = Some(t(4));
        f.models[0].deployments.push(deployment(2, Some(2), t(4), Some(t(5))));
        f.models[0].promotions.push(promotion(2, 2, &["victor"]));
        f.models[0].deployments.push(deployment(1, None, t(5), None));
        let r = evaluate(&Catalogue::builtin().unwrap(), &f, None);
        let (s, reason) = status(&r, "C23");
        assert_eq!(s, ControlStatus::Satisfied);
        assert!(reason.starts_with("rollback exercised: scorer@1 put back on"), "{reason}");
        let (s, reason) = status(&r, "C06");
        assert_eq!(s, ControlStatus::Satisfied, "the version back in production was approved when first promoted");
        assert!(reason.contains("1 emergency rollback(s) skipped the gates, review them: scorer@1"), "{reason}");
    }

    #[test]
    fn revalidation_follows_the_cadence_of_the_tier() {
        let catalogue = Catalogue::builtin().unwrap();
        let mut f = facts();
        f.now = t(1) + DAY * 366;
        let report = evaluate(&catalogue, &f, None);
        let (s, reason) = status(&report, "C08");
        assert_eq!(s, ControlStatus::Unsatisfied);
        assert!(reason.contains("366 days ago") && reason.contains("every 365 days"), "{reason}");
        f.tier = Tier::Medium;
        assert_eq!(status(&evaluate(&catalogue, &f, None), "C08").0, ControlStatus::Satisfied);
    }

    #[test]
    fn unapproved_promotions_unassessed_tiers_and_late_registers_are_gaps() {
        let catalogue = Catalogue::builtin().unwrap();
        let mut f = facts();
        f.models[0].promotions = vec![promotion(1, 1, &["dana"])];
        f.tier_source = TierSource::Unassessed;
        f.risk_entries = vec![entry(t(3))];
        f.production_gates.insert(Tier::High, Gate::default());
        let r = evaluate(&catalogue, &f, None);
        assert!(status(&r, "C06").1.contains("no approval by anyone other than its requester dana"));
        assert!(status(&r, "C10").1.starts_with("no risk assessed"));
        assert!(status(&r, "C09").1.contains("after the first production deployment"));
        assert_eq!(status(&r, "C19").0, ControlStatus::Unsatisfied);
        assert_eq!(status(&r, "C14").0, ControlStatus::Unsatisfied);
        f.tier_source = TierSource::Override;
        f.tier_override_reason = Some("board decision 12".into());
        assert!(status(&evaluate(&catalogue, &f, None), "C10").1.contains("board decision 12"));
    }

    #[test]
    fn a_failed_threshold_test_on_a_production_version_stands_until_a_later_pass() {
        let catalogue = Catalogue::builtin().unwrap();
        let mut f = facts();
        assert_eq!(status(&evaluate(&catalogue, &f, None), "C14").0, ControlStatus::Satisfied);
        // A stress test the high-tier gate does not ask for, failed after deployment, by the
        // author: a threshold the version is known to miss.
        let mut failed = evidence(1, "stress_test", Some(false), t(5));
        failed.created_by = "dana".into();
        f.models[0].evidence.get_mut(&1).unwrap().push(failed);
        let report = evaluate(&catalogue, &f, None);
        let (s, reason) = status(&report, "C14");
        assert_eq!(s, ControlStatus::Unsatisfied);
        assert!(
            reason.contains("scorer: production version 1 failed its stress_test evidence (recorded by dana"),
            "{reason}"
        );
        // A pass at the same instant, or a later one by the author, does not overturn it.
        let mut by_author = evidence(1, "stress_test", Some(true), t(6));
        by_author.created_by = "dana".into();
        f.models[0].evidence.get_mut(&1).unwrap().extend([evidence(1, "stress_test", Some(true), t(5)), by_author]);
        assert_eq!(status(&evaluate(&catalogue, &f, None), "C14").0, ControlStatus::Unsatisfied);
        // A later independent pass does; a failed required kind newer than its pass does not.
        f.models[0].evidence.get_mut(&1).unwrap().push(evidence(1, "stress_test", Some(true), t(7)));
        assert_eq!(status(&evaluate(&catalogue, &f, None), "C14").0, ControlStatus::Satisfied);
        f.models[0].evidence.get_mut(&1).unwrap().push(evidence(1, "fairness", Some(false), t(8)));
        let report = evaluate(&catalogue, &f, None);
        let (s, reason) = status(&report, "C14");
        assert_eq!(s, ControlStatus::Unsatisfied);
        assert!(reason.contains("failed its fairness evidence"), "{reason}");
    }

    #[test]
    fn hipaa_counts_only_with_phi_and_the_framework_filter_limits_the_report() {
        let catalogue = Catalogue::builtin().unwrap();
        let mut f = facts();
        let hipaa = evaluate(&catalogue, &f, Some(Framework::Hipaa));
        assert!(hipaa.controls.iter().all(|c| c.status == ControlStatus::NotApplicable));
        assert!(hipaa.coverage.is_empty());
        f.context.as_mut().unwrap().data_sensitivity.push(DataSensitivity::Phi);
        f.identities.user_tokens_without_expiry = vec!["dana#3".into()];
        let hipaa = evaluate(&catalogue, &f, Some(Framework::Hipaa));
        assert!(hipaa.controls.iter().all(|c| c.frameworks.contains_key(&Framework::Hipaa)));
        assert_eq!(hipaa.coverage.keys().collect::<Vec<_>>(), [&Framework::Hipaa]);
        assert_eq!(
            status(&hipaa, "C21"),
            (ControlStatus::Unsatisfied, "1 active token(s) of people never expire: dana#3")
        );
        assert!(evaluate(&catalogue, &f, None).coverage.contains_key(&Framework::Hipaa));
    }

    #[test]
    fn attestations_flip_attest_controls_and_unsatisfied_automatic_ones() {
        let catalogue = Catalogue::builtin().unwrap();
        let mut f = facts();
        for control in ["C11", "C20", "C07"] {
            f.attestations.push(Attestation {
                id: 1,
                project: "credit".into(),
                control: control.into(),
                statement: "residual risk accepted at the May committee".into(),
                evidence: Some(AttachedFile { digest: digest(7), size: 4 }),
                created_by: "rita".into(),
                created_at: t(9),
            });
        }
        let r = evaluate(&catalogue, &f, None);
        let (s, reason) = status(&r, "C11");
        assert_eq!(s, ControlStatus::Attested);
        assert!(reason.starts_with("attested by rita on ") && reason.contains("May committee"), "{reason}");
        assert_eq!(status(&r, "C20").0, ControlStatus::Attested);
        assert!(status(&r, "C20").1.contains("automatic check: riskops serves HTTP"));
        assert_eq!(status(&r, "C07").0, ControlStatus::Satisfied, "an attestation never lowers a satisfied check");
        let without = evaluate(&catalogue, &facts(), None);
        assert_eq!(r.coverage[&Framework::NistAiRmf].met, without.coverage[&Framework::NistAiRmf].met + 2);
    }

    #[test]
    fn nothing_in_production_makes_deployment_controls_not_applicable() {
        let mut f = facts();
        f.models[0].deployments[0].until = Some(t(3));
        let r = evaluate(&Catalogue::builtin().unwrap(), &f, None);
        let (s, reason) = status(&r, "C07");
        assert_eq!(s, ControlStatus::NotApplicable);
        assert!(reason.contains("none is"), "{reason}");
        assert_eq!(status(&r, "C13").0, ControlStatus::Unsatisfied, "high tier: human oversight applies");
        f.tier = Tier::Low;
        let report = evaluate(&Catalogue::builtin().unwrap(), &f, None);
        let (s, reason) = status(&report, "C13");
        assert_eq!(s, ControlStatus::NotApplicable);
        assert!(reason.contains("from high tier up") && reason.contains("EU AI Act"), "{reason}");
    }
}
