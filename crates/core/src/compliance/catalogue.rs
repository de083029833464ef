//! The control catalogue: versioned data, read from JSON and validated field by field.

use crate::error::{Error, Result};
use crate::governance::Tier;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The catalogue riskops ships with.
const BUILTIN: &str = include_str!("../../data/controls.json");

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
