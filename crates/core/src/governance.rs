//! Governance rules: risk tiers, environments, the promotion policy and how a promotion
//! request is judged against it. Pure functions over values; the services load the data.
//!
//! A promotion completes when the version has passing evidence of every kind the policy
//! asks for and enough approvals from the roles it names. A person counts once (approvers
//! are matched to the required roles as a bipartite matching), the requester and the
//! version's author never count, and a rejection by any eligible approver rejects.

use crate::auth::Role;
use crate::context::{ProjectContext, Template};
use crate::error::{Error, Result};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt;
use time::OffsetDateTime;

/// How much harm a model can do; decides which gates a promotion passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    Low,
    Medium,
    High,
    Critical,
}

impl Tier {
    pub const ALL: [Tier; 4] = [Tier::Low, Tier::Medium, Tier::High, Tier::Critical];

    /// The tier of a project whose risks nobody has assessed yet. Unknown risk is treated
    /// as high, so an unassessed model cannot slip into production on low-tier gates.
    pub const UNASSESSED: Tier = Tier::High;

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Low => "low",
            Tier::Medium => "medium",
            Tier::High => "high",
            Tier::Critical => "critical",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Tier> {
        Tier::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| Error::invalid(field, format!("unknown tier {s:?}; use low, medium, high or critical")))
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a model version can be deployed. `development` (registered, nowhere yet) and
/// `archived` (was deployed, replaced) are stages, not environments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Environment {
    Staging,
    Production,
}

impl Environment {
    pub const ALL: [Environment; 2] = [Environment::Staging, Environment::Production];

    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Staging => "staging",
            Environment::Production => "production",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Environment> {
        Environment::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| Error::invalid(field, format!("unknown environment {s:?}; use staging or production")))
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Kinds of evidence a policy may require. Later issues produce some automatically.
pub const EVIDENCE_KINDS: [&str; 8] = [
    "validation",
    "fairness",
    "stress_test",
    "explainability",
    "documentation",
    "security",
    "performance",
    "data_quality",
];

pub fn validate_evidence_kind(field: &str, kind: &str) -> Result<()> {
    if EVIDENCE_KINDS.contains(&kind) {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            format!("unknown evidence kind {kind:?}; known kinds: {}", EVIDENCE_KINDS.join(", ")),
        ))
    }
}

/// `count` approvals from people holding `role`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRule {
    pub role: Role,
    pub count: u32,
}

/// What one tier needs to enter one environment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Gate {
    pub evidence: Vec<String>,
    /// The kinds of `evidence` that only count when riskops produced them (`riskops validate`,
    /// `riskops stress`): an uploaded file does not.
    pub produced: Vec<String>,
    pub approvals: Vec<ApprovalRule>,
}

impl Gate {
    /// The roles whose holders may approve or reject under this gate.
    pub fn approver_roles(&self) -> Vec<Role> {
        self.approvals.iter().map(|a| a.role).collect()
    }

    /// Whether evidence of `kind` must be produced by riskops to count.
    pub fn needs_produced(&self, kind: &str) -> bool {
        self.produced.iter().any(|k| k == kind)
    }

    pub fn to_json(&self) -> Value {
        let evidence: Vec<Value> = self
            .evidence
            .iter()
            .map(|k| if self.needs_produced(k) { json!({"kind": k, "produced": true}) } else { json!(k) })
            .collect();
        json!({
            "evidence": evidence,
            "approvals": self.approvals.iter().map(|a| json!({"role": a.role.as_str(), "count": a.count})).collect::<Vec<_>>(),
        })
    }

    pub fn from_json(v: &Value) -> Result<Gate> {
        gate_from_json("gate", v)
    }
}

/// The promotion policy: a gate per tier and environment. Stored as JSON:
/// `{"tiers":{"low":{"staging":{"evidence":[…],"approvals":[{"role":"validator","count":1}]},"production":{…}},…}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    gates: BTreeMap<(Tier, Environment), Gate>,
    /// Per tier, the thresholds produced evidence is judged against (`validation.min_roc_auc`, …).
    thresholds: BTreeMap<Tier, BTreeMap<String, f64>>,
}

/// The thresholds produced evidence (`riskops validate`, `riskops stress`) is judged against,
/// with their defaults for the low, medium, high and critical tiers. A policy document may
/// override any of them per tier under `thresholds`.
pub const THRESHOLDS: [(&str, [f64; 4]); 10] = [
    ("validation.min_roc_auc", [0.6, 0.65, 0.7, 0.75]),
    ("validation.max_ece", [0.1, 0.1, 0.08, 0.05]),
    ("validation.min_r2", [0.0, 0.1, 0.2, 0.3]),
    ("validation.max_auc_drop_vs_champion", [0.02, 0.02, 0.02, 0.01]),
    ("fairness.min_dp_ratio", [0.8, 0.8, 0.8, 0.8]),
    ("fairness.max_eo_difference", [0.2, 0.2, 0.1, 0.1]),
    ("stress.max_flip_rate", [0.1, 0.1, 0.05, 0.05]),
    ("stress.max_shift_auc_drop", [0.15, 0.15, 0.1, 0.1]),
    ("stress.max_unseen_auc_drop", [0.1, 0.1, 0.05, 0.05]),
    ("stress.max_monotone_violation_rate", [0.0, 0.0, 0.0, 0.0]),
];

fn default_thresholds() -> BTreeMap<Tier, BTreeMap<String, f64>> {
    Tier::ALL
        .iter()
        .enumerate()
        .map(|(i, tier)| (*tier, THRESHOLDS.iter().map(|(name, by_tier)| (name.to_string(), by_tier[i])).collect()))
        .collect()
}

impl Policy {
    /// The policy riskops ships with.
    pub fn default_policy() -> Policy {
        let rule = |role, count| ApprovalRule { role, count };
        let gate = |evidence: &[&str], approvals: Vec<ApprovalRule>| Gate {
            evidence: evidence.iter().map(|s| s.to_string()).collect(),
            produced: Vec::new(),
            approvals,
        };
        // High and critical models reach production on evidence riskops produced itself.
        let produced = |mut g: Gate| {
            g.produced = vec!["validation".to_string(), "stress_test".to_string()];
            g
        };
        let v = || rule(Role::Validator, 1);
        let r = || rule(Role::RiskOfficer, 1);
        let c = || rule(Role::Committee, 2);
        let mut gates = BTreeMap::new();
        use Environment::{Production as P, Staging as S};
        gates.insert((Tier::Low, S), gate(&[], vec![]));
        gates.insert((Tier::Low, P), gate(&["validation"], vec![v()]));
        gates.insert((Tier::Medium, S), gate(&["validation"], vec![v()]));
        gates.insert((Tier::Medium, P), gate(&["validation", "documentation"], vec![v()]));
        gates.insert((Tier::High, S), gate(&["validation"], vec![v(), r()]));
        gates.insert(
            (Tier::High, P),
            produced(gate(&["validation", "stress_test", "fairness", "documentation"], vec![v(), r()])),
        );
        gates.insert((Tier::Critical, S), gate(&["validation", "fairness"], vec![v(), r(), c()]));
        gates.insert(
            (Tier::Critical, P),
            produced(gate(
                &["validation", "fairness", "stress_test", "explainability", "documentation"],
                vec![v(), r(), c()],
            )),
        );
        Policy { gates, thresholds: default_thresholds() }
    }

    pub fn gate(&self, tier: Tier, env: Environment) -> Gate {
        self.gates.get(&(tier, env)).cloned().unwrap_or_default()
    }

    /// The thresholds of a tier, every one of [`THRESHOLDS`] present.
    pub fn thresholds(&self, tier: Tier) -> BTreeMap<String, f64> {
        self.thresholds.get(&tier).cloned().unwrap_or_default()
    }

    /// Reads a policy document, naming the field at fault. Every tier and environment
    /// must be present, so nobody gets an open gate by leaving one out.
    pub fn from_json(doc: &Value) -> Result<Policy> {
        let bad = |path: String, msg: &str| Error::invalid("policy", format!("{path}: {msg}"));
        let obj = doc.as_object().ok_or_else(|| bad("policy".into(), "must be a JSON object"))?;
        if let Some(k) = obj.keys().find(|k| *k != "tiers" && *k != "thresholds") {
            return Err(bad(k.clone(), "unknown field; the policy has `tiers` and `thresholds`"));
        }
        let tiers = obj.get("tiers").and_then(Value::as_object).ok_or_else(|| bad("tiers".into(), "missing object"))?;
        let mut gates = BTreeMap::new();
        for (tier_name, envs) in tiers {
            let tier =
                Tier::parse("policy", tier_name).map_err(|_| bad(format!("tiers.{tier_name}"), "unknown tier"))?;
            let envs = envs.as_object().ok_or_else(|| bad(format!("tiers.{tier_name}"), "must be an object"))?;
            for (env_name, gate) in envs {
                let path = format!("tiers.{tier_name}.{env_name}");
                let env =
                    Environment::parse("policy", env_name).map_err(|_| bad(path.clone(), "unknown environment"))?;
                gates.insert((tier, env), gate_from_json(&path, gate)?);
            }
        }
        for tier in Tier::ALL {
            for env in Environment::ALL {
                if !gates.contains_key(&(tier, env)) {
                    return Err(bad(format!("tiers.{tier}.{env}"), "missing; every tier needs a gate per environment"));
                }
            }
        }
        // A floor no policy may go under: high and critical models reach production only
        // with validation evidence and at least one approval.
        for tier in [Tier::High, Tier::Critical] {
            let Some(gate) = gates.get(&(tier, Environment::Production)) else { continue };
            if gate.approvals.is_empty() || !gate.evidence.iter().any(|e| e == "validation") {
                return Err(bad(
                    format!("tiers.{tier}.production"),
                    "a high or critical tier needs validation evidence and at least one approval for production",
                ));
            }
        }
        let thresholds = thresholds_from_json(obj.get("thresholds"))?;
        Ok(Policy { gates, thresholds })
    }

    pub fn to_json(&self) -> Value {
        let mut tiers = serde_json::Map::new();
        for ((tier, env), gate) in &self.gates {
            let entry = tiers.entry(tier.as_str()).or_insert_with(|| json!({}));
            entry[env.as_str()] = gate.to_json();
        }
        let thresholds: serde_json::Map<String, Value> =
            self.thresholds.iter().map(|(tier, t)| (tier.as_str().to_string(), json!(t))).collect();
        json!({ "tiers": tiers, "thresholds": thresholds })
    }
}

/// `{"high": {"validation.min_roc_auc": 0.72}, …}`: each given value replaces the default.
fn thresholds_from_json(v: Option<&Value>) -> Result<BTreeMap<Tier, BTreeMap<String, f64>>> {
    let bad = |path: String, msg: &str| Error::invalid("policy", format!("{path}: {msg}"));
    let mut thresholds = default_thresholds();
    let Some(v) = v else { return Ok(thresholds) };
    let obj = v.as_object().ok_or_else(|| bad("thresholds".into(), "must be an object"))?;
    for (tier_name, values) in obj {
        let at = format!("thresholds.{tier_name}");
        let tier = Tier::parse("policy", tier_name).map_err(|_| bad(at.clone(), "unknown tier"))?;
        let values = values.as_object().ok_or_else(|| bad(at.clone(), "must be an object"))?;
        let of_tier = thresholds.entry(tier).or_default();
        for (name, value) in values {
            let at = format!("{at}.{name}");
            if !THRESHOLDS.iter().any(|(known, _)| known == name) {
                let known: Vec<&str> = THRESHOLDS.iter().map(|(k, _)| *k).collect();
                return Err(bad(at, &format!("unknown threshold; known: {}", known.join(", "))));
            }
            let value = value.as_f64().filter(|x| x.is_finite()).ok_or_else(|| bad(at, "must be a number"))?;
            of_tier.insert(name.clone(), value);
        }
    }
    Ok(thresholds)
}

fn gate_from_json(path: &str, v: &Value) -> Result<Gate> {
    let bad = |sub: &str, msg: String| Error::invalid("policy", format!("{path}{sub}: {msg}"));
    let obj = v.as_object().ok_or_else(|| bad("", "must be an object".into()))?;
    if let Some(k) = obj.keys().find(|k| !matches!(k.as_str(), "evidence" | "approvals")) {
        return Err(bad(&format!(".{k}"), "unknown field; a gate has `evidence` and `approvals`".into()));
    }
    let mut gate = Gate::default();
    for (i, entry) in obj.get("evidence").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let at = format!(".evidence[{i}]");
        let (kind, produced) = evidence_requirement(entry).map_err(|msg| bad(&at, msg))?;
        validate_evidence_kind("policy", kind).map_err(|e| bad(&at, e.message))?;
        if gate.evidence.iter().any(|k| k == kind) {
            return Err(bad(&at, format!("{kind} appears twice")));
        }
        gate.evidence.push(kind.to_string());
        if produced {
            gate.produced.push(kind.to_string());
        }
    }
    for (i, rule) in obj.get("approvals").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let at = format!(".approvals[{i}]");
        let role = rule.get("role").and_then(Value::as_str).ok_or_else(|| bad(&at, "needs a `role` string".into()))?;
        let role = Role::parse(role).map_err(|e| bad(&format!("{at}.role"), e.message))?;
        if !matches!(role, Role::Validator | Role::RiskOfficer | Role::Committee | Role::Admin) {
            return Err(bad(&format!("{at}.role"), format!("{role} cannot approve promotions")));
        }
        let count = rule
            .get("count")
            .and_then(Value::as_u64)
            .filter(|c| (1..=20).contains(c))
            .ok_or_else(|| bad(&format!("{at}.count"), "must be a whole number from 1 to 20".into()))?;
        if gate.approvals.iter().any(|a| a.role == role) {
            return Err(bad(&format!("{at}.role"), format!("{role} appears twice; give one rule with a count")));
        }
        gate.approvals.push(ApprovalRule { role, count: count as u32 });
    }
    Ok(gate)
}

/// An evidence requirement: `"kind"`, or `{"kind": "kind", "produced": true}` for evidence that
/// counts only when riskops produced it.
fn evidence_requirement(entry: &Value) -> std::result::Result<(&str, bool), String> {
    if let Some(kind) = entry.as_str() {
        return Ok((kind, false));
    }
    let obj = entry.as_object().ok_or("must be a kind or {\"kind\", \"produced\"}")?;
    if let Some(k) = obj.keys().find(|k| !matches!(k.as_str(), "kind" | "produced")) {
        return Err(format!("unknown field {k}; an evidence requirement has `kind` and `produced`"));
    }
    let kind = obj.get("kind").and_then(Value::as_str).ok_or("needs a `kind` string")?;
    let produced = match obj.get("produced") {
        None => false,
        Some(v) => v.as_bool().ok_or("`produced` must be true or false")?,
    };
    Ok((kind, produced))
}

/// Workflows where a model's output informs care: the healthcare pack asks for a second,
/// independent validation before production (multi-level validation).
pub const CLINICAL_WORKFLOWS: [&str; 2] = ["clinical_decision_support", "patient_support_chatbot"];

/// The gate after a project's industry pack: healthcare adds a validator for clinical
/// workflows in production; finance asks a model risk committee quorum (2) for high and
/// critical tiers and documentation evidence for production.
pub fn with_pack(mut gate: Gate, context: Option<&ProjectContext>, tier: Tier, env: Environment) -> Gate {
    let Some(context) = context else { return gate };
    match context.template {
        Some(Template::Healthcare)
            if env == Environment::Production && CLINICAL_WORKFLOWS.contains(&context.workflow.as_str()) =>
        {
            match gate.approvals.iter_mut().find(|a| a.role == Role::Validator) {
                Some(rule) => rule.count += 1,
                None => gate.approvals.push(ApprovalRule { role: Role::Validator, count: 2 }),
            }
        }
        Some(Template::Finance) => {
            if tier >= Tier::High {
                match gate.approvals.iter_mut().find(|a| a.role == Role::Committee) {
                    Some(rule) => rule.count = rule.count.max(2),
                    None => gate.approvals.push(ApprovalRule { role: Role::Committee, count: 2 }),
                }
            }
            if env == Environment::Production && !gate.evidence.iter().any(|e| e == "documentation") {
                gate.evidence.push("documentation".to_string());
            }
        }
        _ => {}
    }
    gate
}

/// A recorded decision on a promotion request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub by: String,
    /// The approver roles the person held in the project when deciding.
    pub roles: Vec<Role>,
    pub approve: bool,
    pub comment: String,
    pub at: OffsetDateTime,
}

/// Evidence as the judge sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceFact {
    pub kind: String,
    pub passed: Option<bool>,
    /// Who recorded it.
    pub by: String,
    /// riskops produced it (validate, stress) rather than someone uploading a file.
    pub produced: bool,
}

/// Whether a piece of evidence can satisfy a gate. It must say it passed (documentation
/// only must not say it failed), and every kind but documentation must come from someone
/// other than the `excluded` (the version's author, the promotion's requester): validation
/// is independent or it is not validation (SR 11-7's effective challenge).
pub fn evidence_counts(kind: &str, passed: Option<bool>, by: &str, excluded: &[&str]) -> bool {
    if kind == "documentation" { passed != Some(false) } else { passed == Some(true) && !excluded.contains(&by) }
}

/// Per piece of evidence (in the order given, oldest first): `None` when it counts toward a
/// gate asking for its kind, else why not. The rule is `judge`'s: the newest piece of a kind
/// from someone who may provide it decides, and it must pass (`evidence_counts`).
pub fn evidence_standing(evidence: &[EvidenceFact], excluded: &[&str]) -> Vec<Option<String>> {
    let may_provide = |e: &EvidenceFact| e.kind == "documentation" || !excluded.contains(&e.by.as_str());
    evidence
        .iter()
        .enumerate()
        .map(|(i, e)| {
            if !may_provide(e) {
                return Some(format!(
                    "from {}, the requester or the version's author: {} evidence must come from someone else",
                    e.by, e.kind
                ));
            }
            if evidence[i + 1..].iter().any(|later| later.kind == e.kind && may_provide(later)) {
                return Some(format!("newer {} evidence replaces it", e.kind));
            }
            if evidence_counts(&e.kind, e.passed, &e.by, excluded) {
                return None;
            }
            Some(if e.passed == Some(false) {
                "it failed".to_string()
            } else {
                "it does not say it passed".to_string()
            })
        })
        .collect()
}

/// How a request stands against its gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub rejected: bool,
    /// `evidence:<kind>` per missing kind, `approval:<role>` per missing approval.
    pub missing: Vec<String>,
    /// Why each entry of `missing` is missing, in the same order: what is on file and why
    /// it does not count, or that nothing is.
    pub reasons: Vec<String>,
}

impl Judgement {
    pub fn complete(&self) -> bool {
        !self.rejected && self.missing.is_empty()
    }
}

/// Judges a request: which evidence and approvals are still missing, or whether an
/// eligible approver rejected it. `excluded` are the people who may not count (the
/// requester and the version's author).
pub fn judge(gate: &Gate, evidence: &[EvidenceFact], decisions: &[Decision], excluded: &[&str]) -> Judgement {
    let counted: Vec<&Decision> = decisions.iter().filter(|d| !excluded.contains(&d.by.as_str())).collect();
    let eligible = |d: &Decision| d.roles.iter().any(|r| *r == Role::Admin || gate.approver_roles().contains(r));
    let rejected = counted.iter().any(|d| !d.approve && eligible(d));
    let (mut missing, mut reasons) = (Vec::new(), Vec::new());
    // Per kind, the newest evidence from someone who may provide it decides: a later
    // failure withdraws an earlier pass, a later pass (after a fix) replaces a failure.
    let standing = evidence_standing(evidence, excluded);
    // Where the gate asks for produced evidence, uploaded files are not considered at all.
    let produced: Vec<EvidenceFact> = evidence.iter().filter(|e| e.produced).cloned().collect();
    let produced_standing = evidence_standing(&produced, excluded);
    for kind in &gate.evidence {
        let (facts, standing): (&[EvidenceFact], &[Option<String>]) =
            if gate.needs_produced(kind) { (&produced, &produced_standing) } else { (evidence, &standing) };
        let of_kind: Vec<(&EvidenceFact, &Option<String>)> =
            facts.iter().zip(standing).filter(|(e, _)| &e.kind == kind).collect();
        if of_kind.iter().any(|(_, why_not)| why_not.is_none()) {
            continue;
        }
        missing.push(format!("evidence:{kind}"));
        let uploaded = evidence.iter().filter(|e| &e.kind == kind && !e.produced).count();
        reasons.push(if gate.needs_produced(kind) && of_kind.is_empty() && uploaded > 0 {
            format!(
                "only uploaded {kind} evidence on file ({uploaded}); the gate asks for {kind} evidence riskops produced ({})",
                if kind == "stress_test" { "riskops stress" } else { "riskops validate" }
            )
        } else {
            missing_evidence_reason(kind, &of_kind, excluded)
        });
    }
    // One slot per required approval; each approver fills at most one slot.
    let slots: Vec<Role> = gate.approvals.iter().flat_map(|a| std::iter::repeat_n(a.role, a.count as usize)).collect();
    let approvers: Vec<&Decision> = counted.into_iter().filter(|d| d.approve).collect();
    let filled = max_matching(&slots, &approvers);
    for (slot, role) in slots.iter().enumerate() {
        if filled[slot].is_none() {
            missing.push(format!("approval:{role}"));
            reasons.push(missing_approval_reason(*role, decisions, excluded));
        }
    }
    Judgement { rejected, missing, reasons }
}

/// Why no evidence of `kind` counts, from the pieces of that kind on file and their standing.
fn missing_evidence_reason(kind: &str, of_kind: &[(&EvidenceFact, &Option<String>)], excluded: &[&str]) -> String {
    let eligible: Vec<&EvidenceFact> = of_kind
        .iter()
        .map(|(e, _)| *e)
        .filter(|e| e.kind == "documentation" || !excluded.contains(&e.by.as_str()))
        .collect();
    match eligible.last() {
        Some(newest) if newest.passed == Some(false) => format!("the newest {kind} evidence (by {}) failed", newest.by),
        Some(newest) => format!("the newest {kind} evidence (by {}) does not say it passed", newest.by),
        None if of_kind.is_empty() => format!("no {kind} evidence on file"),
        None => {
            let mut by: Vec<&str> = of_kind.iter().map(|(e, _)| e.by.as_str()).collect();
            by.dedup();
            format!(
                "only evidence from the requester or the version's author ({}), who may not provide it",
                by.join(", ")
            )
        }
    }
}

/// Why a slot for `role` is still open: approvals that do not count, or none yet.
fn missing_approval_reason(role: Role, decisions: &[Decision], excluded: &[&str]) -> String {
    let holds = |d: &&Decision| d.approve && d.roles.iter().any(|r| *r == role || *r == Role::Admin);
    let not_counted: Vec<&str> =
        decisions.iter().filter(holds).filter(|d| excluded.contains(&d.by.as_str())).map(|d| d.by.as_str()).collect();
    if !not_counted.is_empty() {
        return format!(
            "approved by {} only, the requester or the version's author, whose approval does not count",
            not_counted.join(", ")
        );
    }
    let counted = decisions.iter().filter(holds).count();
    if counted > 0 {
        return format!("each person counts once: every {role} who approved already fills another approval");
    }
    format!("no approval by a {role} yet")
}

/// Maximum bipartite matching of approvers to slots (Kuhn's algorithm; both sides are tiny).
/// An admin may fill any slot.
fn max_matching(slots: &[Role], approvers: &[&Decision]) -> Vec<Option<usize>> {
    fn fits(slot: Role, d: &Decision) -> bool {
        d.roles.iter().any(|r| *r == slot || *r == Role::Admin)
    }
    fn try_assign(
        a: usize,
        slots: &[Role],
        approvers: &[&Decision],
        seen: &mut [bool],
        owner: &mut [Option<usize>],
    ) -> bool {
        for s in 0..slots.len() {
            if !seen[s] && fits(slots[s], approvers[a]) {
                seen[s] = true;
                if owner[s].is_none_or(|other| try_assign(other, slots, approvers, seen, owner)) {
                    owner[s] = Some(a);
                    return true;
                }
            }
        }
        false
    }
    let mut owner = vec![None; slots.len()];
    for a in 0..approvers.len() {
        let mut seen = vec![false; slots.len()];
        try_assign(a, slots, approvers, &mut seen, &mut owner);
    }
    owner
}

#[cfg(test)]
mod tests;
