//! The risk taxonomy: categories, workflow types, and failure modes with a severity per
//! workflow, a default likelihood, a business impact and modifiers for sensitive data and
//! autonomy. Data, not code: riskops ships `data/taxonomy.json`, a risk officer may replace
//! it (every version is kept), and [`Taxonomy::from_json`] names the field at fault.
//!
//! `signals` map events (failed evidence, monitoring alerts) to the failure modes whose
//! likelihood they raise: the one hook later features call.

use crate::context::{Autonomy, DataSensitivity, ProjectContext, Template};
use crate::error::{Error, Result};
use crate::risk::{Impact, RiskFields, RiskStatus};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub const BUILTIN: &str = include_str!("../data/taxonomy.json");

/// Changes a context makes to a failure mode's scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Modifier {
    pub severity: i8,
    pub likelihood: i8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureMode {
    pub name: String,
    pub category: String,
    pub description: String,
    pub likelihood: u8,
    /// 0 means the failure mode does not arise in that workflow.
    pub severity: BTreeMap<String, u8>,
    pub impact: Impact,
    /// Keyed by a data sensitivity or autonomy value (`phi`, `autonomous`, …).
    pub modifiers: BTreeMap<String, Modifier>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taxonomy {
    pub version: String,
    pub categories: Vec<String>,
    /// Workflow type → description.
    pub workflows: BTreeMap<String, String>,
    pub failure_modes: BTreeMap<String, FailureMode>,
    pub signals: BTreeMap<String, Vec<String>>,
}

/// The failure modes every taxonomy must define (the minimum), so features that
/// name them (signals, reports) always find them.
pub const REQUIRED_FAILURE_MODES: [&str; 10] = [
    "incorrect_information",
    "biased_outcome",
    "data_drift",
    "model_drift",
    "adversarial_manipulation",
    "privacy_leak",
    "threshold_misalignment",
    "unapproved_deployment",
    "pipeline_error",
    "undocumented_code",
];

fn bad(path: &str, msg: impl std::fmt::Display) -> Error {
    Error::invalid("taxonomy", format!("{path}: {msg}"))
}

fn object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>> {
    v.as_object().ok_or_else(|| bad(path, "must be an object"))
}

fn score(v: Option<&Value>, path: &str, range: std::ops::RangeInclusive<u64>) -> Result<u8> {
    v.and_then(Value::as_u64)
        .filter(|n| range.contains(n))
        .map(|n| n as u8)
        .ok_or_else(|| bad(path, format!("must be a whole number from {} to {}", range.start(), range.end())))
}

fn only_keys(obj: &Map<String, Value>, path: &str, allowed: &[&str]) -> Result<()> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(bad(&format!("{path}.{k}"), format!("unknown field; expected one of {}", allowed.join(", ")))),
        None => Ok(()),
    }
}

impl Taxonomy {
    pub fn builtin() -> Result<Taxonomy> {
        let doc: Value =
            serde_json::from_str(BUILTIN).map_err(|e| Error::internal(format!("built-in taxonomy: {e}")))?;
        Taxonomy::from_json(&doc)
    }

    pub fn from_json(doc: &Value) -> Result<Taxonomy> {
        let root = object(doc, "taxonomy")?;
        only_keys(root, "taxonomy", &["version", "categories", "workflows", "failure_modes", "signals"])?;
        let version = root
            .get("version")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| bad("version", "must be a non-empty string"))?
            .to_string();
        let mut categories = Vec::new();
        for (i, c) in root
            .get("categories")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("categories", "must be a list"))?
            .iter()
            .enumerate()
        {
            categories
                .push(c.as_str().ok_or_else(|| bad(&format!("categories[{i}]"), "must be a string"))?.to_string());
        }
        let mut workflows = BTreeMap::new();
        for (name, d) in object(root.get("workflows").unwrap_or(&Value::Null), "workflows")? {
            let d = d.as_str().ok_or_else(|| bad(&format!("workflows.{name}"), "must be a description string"))?;
            workflows.insert(name.clone(), d.to_string());
        }
        if workflows.is_empty() {
            return Err(bad("workflows", "must name at least one workflow type"));
        }
        let mut failure_modes = BTreeMap::new();
        for (name, fm) in object(root.get("failure_modes").unwrap_or(&Value::Null), "failure_modes")? {
            let path = format!("failure_modes.{name}");
            let fm = parse_failure_mode(name, fm, &path, &categories, &workflows)?;
            failure_modes.insert(name.clone(), fm);
        }
        if let Some(missing) = REQUIRED_FAILURE_MODES.iter().find(|m| !failure_modes.contains_key(**m)) {
            return Err(bad(&format!("failure_modes.{missing}"), "is required"));
        }
        let mut signals = BTreeMap::new();
        if let Some(s) = root.get("signals") {
            for (key, modes) in object(s, "signals")? {
                let path = format!("signals.{key}");
                let list = modes.as_array().ok_or_else(|| bad(&path, "must be a list of failure modes"))?;
                let mut names = Vec::new();
                for (i, m) in list.iter().enumerate() {
                    let m = m.as_str().filter(|m| failure_modes.contains_key(*m));
                    names.push(
                        m.ok_or_else(|| bad(&format!("{path}[{i}]"), "must name a failure mode of this taxonomy"))?
                            .to_string(),
                    );
                }
                signals.insert(key.clone(), names);
            }
        }
        Ok(Taxonomy { version, categories, workflows, failure_modes, signals })
    }

    /// Checks that a workflow type exists in this taxonomy.
    pub fn check_workflow(&self, field: &str, workflow: &str) -> Result<()> {
        if self.workflows.contains_key(workflow) {
            return Ok(());
        }
        let known: Vec<&str> = self.workflows.keys().map(String::as_str).collect();
        Err(Error::invalid(field, format!("unknown workflow {workflow:?}; this taxonomy has: {}", known.join(", "))))
    }

    /// The failure modes an event (`evidence:validation`, `monitor:data_drift`) makes more likely.
    pub fn signal(&self, key: &str) -> &[String] {
        self.signals.get(key).map(Vec::as_slice).unwrap_or_default()
    }

    /// Scores a failure mode in a context: `None` when it does not arise in the workflow.
    pub fn score(&self, failure_mode: &str, context: &ProjectContext) -> Option<RiskFields> {
        let fm = self.failure_modes.get(failure_mode)?;
        let base = *fm.severity.get(&context.workflow)?;
        if base == 0 {
            return None;
        }
        let mut severity = i16::from(base);
        let mut likelihood = i16::from(fm.likelihood);
        let mut applied = Vec::new();
        let keys =
            context.data_sensitivity.iter().map(|d| d.as_str()).chain(std::iter::once(context.autonomy.as_str()));
        for key in keys {
            if let Some(m) = fm.modifiers.get(key) {
                severity += i16::from(m.severity);
                likelihood += i16::from(m.likelihood);
                applied.push(key);
            }
        }
        let mut impact = fm.impact;
        // The healthcare pack classes every failure by its impact on patients.
        if context.template == Some(Template::Healthcare) {
            impact.safety = (impact.safety + 1).min(5);
        }
        let clamp = |v: i16| v.clamp(1, 5) as u8;
        let mut rationale = format!(
            "taxonomy {}: severity {base} in {} workflows, likelihood {}",
            self.version, context.workflow, fm.likelihood
        );
        if !applied.is_empty() {
            rationale.push_str(&format!("; adjusted for {}", applied.join(", ")));
        }
        Some(RiskFields {
            failure_mode: failure_mode.to_string(),
            category: fm.category.clone(),
            severity: clamp(severity),
            likelihood: clamp(likelihood),
            impact,
            controls: Vec::new(),
            owner: String::new(),
            status: RiskStatus::Open,
            rationale,
        })
    }

    /// Proposes an entry per failure mode that arises in the context.
    pub fn assess(&self, context: &ProjectContext) -> Vec<RiskFields> {
        self.failure_modes.keys().filter_map(|name| self.score(name, context)).collect()
    }
}

fn parse_failure_mode(
    name: &str,
    v: &Value,
    path: &str,
    categories: &[String],
    workflows: &BTreeMap<String, String>,
) -> Result<FailureMode> {
    let obj = object(v, path)?;
    only_keys(obj, path, &["category", "description", "likelihood", "severity", "impact", "modifiers"])?;
    let category = obj.get("category").and_then(Value::as_str).unwrap_or_default();
    if !categories.iter().any(|c| c == category) {
        return Err(bad(&format!("{path}.category"), format!("{category:?} is not one of the taxonomy's categories")));
    }
    let likelihood = score(obj.get("likelihood"), &format!("{path}.likelihood"), 1..=5)?;
    let sev = object(obj.get("severity").unwrap_or(&Value::Null), &format!("{path}.severity"))?;
    let mut severity = BTreeMap::new();
    for wf in workflows.keys() {
        let p = format!("{path}.severity.{wf}");
        severity.insert(wf.clone(), score(sev.get(wf), &p, 0..=5)?);
    }
    if let Some(k) = sev.keys().find(|k| !workflows.contains_key(*k)) {
        return Err(bad(&format!("{path}.severity.{k}"), "is not a workflow type of the taxonomy"));
    }
    let impact = Impact::from_json("impact", obj.get("impact").unwrap_or(&Value::Null))
        .map_err(|e| bad(&format!("{path}.impact"), e.message))?;
    let mut modifiers = BTreeMap::new();
    if let Some(m) = obj.get("modifiers") {
        for (key, change) in object(m, &format!("{path}.modifiers"))? {
            let p = format!("{path}.modifiers.{key}");
            let known = DataSensitivity::ALL.iter().any(|d| d.as_str() == key)
                || Autonomy::ALL.iter().any(|a| a.as_str() == key);
            if !known {
                return Err(bad(
                    &p,
                    "modifiers are keyed by a data sensitivity (public, pii, phi, financial) or an autonomy level",
                ));
            }
            let change = object(change, &p)?;
            only_keys(change, &p, &["severity", "likelihood"])?;
            let delta = |k: &str| -> Result<i8> {
                match change.get(k) {
                    None => Ok(0),
                    Some(v) => v
                        .as_i64()
                        .filter(|n| (-4..=4).contains(n))
                        .map(|n| n as i8)
                        .ok_or_else(|| bad(&format!("{p}.{k}"), "must be a whole number from -4 to 4")),
                }
            };
            modifiers.insert(key.clone(), Modifier { severity: delta("severity")?, likelihood: delta("likelihood")? });
        }
    }
    Ok(FailureMode {
        name: name.to_string(),
        category: category.to_string(),
        description: obj.get("description").and_then(Value::as_str).unwrap_or_default().to_string(),
        likelihood,
        severity,
        impact,
        modifiers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::{Autonomy, DataSensitivity, Industry};
    use crate::governance::Tier;
    use crate::risk::band;

    fn context(workflow: &str, data: &[DataSensitivity], autonomy: Autonomy) -> ProjectContext {
        ProjectContext {
            industry: Industry::Other,
            workflow: workflow.into(),
            workflow_description: String::new(),
            data_sensitivity: data.to_vec(),
            autonomy,
            eu_ai_act: None,
            annex_iii_area: None,
            template: None,
        }
    }

    #[test]
    fn the_briefs_examples_score_as_it_says() {
        let t = Taxonomy::builtin().unwrap();
        let casual = t
            .score(
                "incorrect_information",
                &context("casual_conversation", &[DataSensitivity::Public], Autonomy::HumanInTheLoop),
            )
            .unwrap();
        assert_eq!(band(casual.inherent_score()), Tier::Low);
        let billing = context("billing_information", &[DataSensitivity::Phi], Autonomy::HumanOnTheLoop);
        let hospital = t.score("incorrect_information", &billing).unwrap();
        assert!(band(hospital.inherent_score()) >= Tier::High, "{hospital:?}");
        let fraud = t
            .score(
                "threshold_misalignment",
                &context("fraud_detection", &[DataSensitivity::Financial], Autonomy::Autonomous),
            )
            .unwrap();
        assert!(fraud.impact.financial >= 4 && fraud.impact.reputational >= 3);
        // A casual chat project is low tier over all its proposed entries.
        let all = t.assess(&context("casual_conversation", &[DataSensitivity::Public], Autonomy::HumanInTheLoop));
        assert!(all.iter().all(|f| band(f.inherent_score()) == Tier::Low), "{all:?}");
        assert!(!all.iter().any(|f| f.failure_mode == "threshold_misalignment"), "does not arise in chat");
    }

    #[test]
    fn malformed_taxonomies_name_the_field() {
        let good: Value = serde_json::from_str(BUILTIN).unwrap();
        type Breakage = (&'static str, fn(&mut Value));
        let cases: [Breakage; 6] = [
            ("failure_modes.biased_outcome.likelihood", |d| {
                d["failure_modes"]["biased_outcome"]["likelihood"] = 9.into()
            }),
            ("failure_modes.data_drift.category", |d| d["failure_modes"]["data_drift"]["category"] = "weather".into()),
            ("failure_modes.privacy_leak.severity.trading", |d| {
                d["failure_modes"]["privacy_leak"]["severity"].as_object_mut().unwrap().remove("trading");
            }),
            ("failure_modes.privacy_leak.modifiers.vip", |d| {
                d["failure_modes"]["privacy_leak"]["modifiers"]["vip"] = serde_json::json!({"severity": 1})
            }),
            ("failure_modes.pipeline_error", |d| {
                d["failure_modes"].as_object_mut().unwrap().remove("pipeline_error");
            }),
            ("signals.evidence:validation[0]", |d| d["signals"]["evidence:validation"][0] = "gremlins".into()),
        ];
        for (field, break_it) in cases {
            let mut doc = good.clone();
            break_it(&mut doc);
            let err = Taxonomy::from_json(&doc).unwrap_err();
            assert!(err.message.contains(field), "{field}: {}", err.message);
        }
    }
}
