//! The risk register: entries scored in the context of a project, and the tier they give it.
//!
//! inherent = severity × likelihood (1–25). Each linked control lowers the likelihood by its
//! `effect`; residual = severity × max(1, likelihood − Σ effects). Bands (organisation-set
//! in the field; riskops's defaults): ≤ 4 low, 5–9 medium, 10–16 high, ≥ 17 critical.
//! A project's tier is the highest band of its entries' inherent scores that are not closed:
//! tiering follows what could happen, controls are judged by the gates.

use crate::error::{Error, Result};
use crate::governance::Tier;
use serde_json::{Value, json};
use time::OffsetDateTime;

/// The tier of a 1–25 score.
pub fn band(score: u8) -> Tier {
    match score {
        0..=4 => Tier::Low,
        5..=9 => Tier::Medium,
        10..=16 => Tier::High,
        _ => Tier::Critical,
    }
}

/// Business impact, each 1–5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Impact {
    pub financial: u8,
    pub reputational: u8,
    pub regulatory: u8,
    pub safety: u8,
}

/// The least impact on every axis (scores start at 1).
impl Default for Impact {
    fn default() -> Self {
        Impact { financial: 1, reputational: 1, regulatory: 1, safety: 1 }
    }
}

impl Impact {
    pub fn to_json(self) -> Value {
        json!({"financial": self.financial, "reputational": self.reputational, "regulatory": self.regulatory, "safety": self.safety})
    }

    pub fn from_json(field: &str, v: &Value) -> Result<Impact> {
        let get =
            |k: &str| -> Result<u8> {
                match v.get(k) {
                    None | Some(Value::Null) => Ok(1),
                    Some(x) => x.as_u64().filter(|n| (1..=5).contains(n)).map(|n| n as u8).ok_or_else(|| {
                        Error::invalid(field, format!("{field}.{k} must be a whole number from 1 to 5"))
                    }),
                }
            };
        if let Some(obj) = v.as_object()
            && let Some(k) =
                obj.keys().find(|k| !matches!(k.as_str(), "financial" | "reputational" | "regulatory" | "safety"))
        {
            return Err(Error::invalid(
                field,
                format!("{field}.{k} is not an impact; use financial, reputational, regulatory, safety"),
            ));
        }
        Ok(Impact {
            financial: get("financial")?,
            reputational: get("reputational")?,
            regulatory: get("regulatory")?,
            safety: get("safety")?,
        })
    }
}

/// A control linked to an entry, lowering its likelihood by `effect` (0–4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlLink {
    pub control: String,
    pub effect: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiskStatus {
    Open,
    Mitigated,
    Accepted,
    Closed,
}

impl RiskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RiskStatus::Open => "open",
            RiskStatus::Mitigated => "mitigated",
            RiskStatus::Accepted => "accepted",
            RiskStatus::Closed => "closed",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Self> {
        match s {
            "open" => Ok(RiskStatus::Open),
            "mitigated" => Ok(RiskStatus::Mitigated),
            "accepted" => Ok(RiskStatus::Accepted),
            "closed" => Ok(RiskStatus::Closed),
            other => {
                Err(Error::invalid(field, format!("unknown status {other:?}; use open, mitigated, accepted or closed")))
            }
        }
    }
}

/// The content of an entry (what `risk add` and `risk update` set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskFields {
    pub failure_mode: String,
    pub category: String,
    pub severity: u8,
    pub likelihood: u8,
    pub impact: Impact,
    pub controls: Vec<ControlLink>,
    pub owner: String,
    pub status: RiskStatus,
    pub rationale: String,
}

impl RiskFields {
    pub fn inherent_score(&self) -> u8 {
        self.severity * self.likelihood
    }

    pub fn residual_score(&self) -> u8 {
        let reduction: u8 = self.controls.iter().map(|c| c.effect).fold(0, u8::saturating_add);
        self.severity * self.likelihood.saturating_sub(reduction).max(1)
    }

    pub fn validate(&self) -> Result<()> {
        for (field, v) in [("severity", self.severity), ("likelihood", self.likelihood)] {
            if !(1..=5).contains(&v) {
                return Err(Error::invalid(field, "must be a whole number from 1 to 5"));
            }
        }
        for c in &self.controls {
            if c.effect > 4 {
                return Err(Error::invalid(
                    "controls",
                    format!("{}: an effect lowers likelihood by 0 to 4", c.control),
                ));
            }
        }
        if self.rationale.len() > 4096 || self.owner.len() > 200 {
            return Err(Error::invalid("rationale", "rationale at most 4096 bytes, owner at most 200"));
        }
        Ok(())
    }

    /// The stored and audited form.
    pub fn to_json(&self) -> Value {
        json!({
            "failure_mode": self.failure_mode,
            "category": self.category,
            "severity": self.severity,
            "likelihood": self.likelihood,
            "impact": self.impact.to_json(),
            "controls": self.controls.iter().map(|c| json!({"control": c.control, "effect": c.effect})).collect::<Vec<_>>(),
            "owner": self.owner,
            "status": self.status.as_str(),
            "rationale": self.rationale,
            "inherent_score": self.inherent_score(),
            "residual_score": self.residual_score(),
        })
    }

    pub fn from_json(v: &Value) -> Result<RiskFields> {
        let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        let score = |k: &str| v.get(k).and_then(Value::as_u64).map(|n| n.min(255) as u8).unwrap_or(0);
        let mut controls = Vec::new();
        for c in v.get("controls").and_then(Value::as_array).into_iter().flatten() {
            let control = c.get("control").and_then(Value::as_str).unwrap_or_default().to_string();
            let effect = c.get("effect").and_then(Value::as_u64).unwrap_or(0).min(255) as u8;
            controls.push(ControlLink { control, effect });
        }
        let fields = RiskFields {
            failure_mode: text("failure_mode"),
            category: text("category"),
            severity: score("severity"),
            likelihood: score("likelihood"),
            impact: Impact::from_json("impact", v.get("impact").unwrap_or(&Value::Null))?,
            controls,
            owner: text("owner"),
            status: RiskStatus::parse("status", v.get("status").and_then(Value::as_str).unwrap_or("open"))?,
            rationale: text("rationale"),
        };
        fields.validate()?;
        Ok(fields)
    }
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskEntry {
    pub id: i64,
    pub project: String,
    pub fields: RiskFields,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub updated_by: String,
}

/// The tier a register gives its project: `None` while it holds no open entry.
pub fn register_tier(entries: &[RiskEntry]) -> Option<Tier> {
    entries.iter().filter(|e| e.fields.status != RiskStatus::Closed).map(|e| band(e.fields.inherent_score())).max()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(severity: u8, likelihood: u8, effects: &[u8]) -> RiskFields {
        RiskFields {
            failure_mode: "incorrect_information".into(),
            category: "operational".into(),
            severity,
            likelihood,
            impact: Impact::default(),
            controls: effects.iter().map(|&effect| ControlLink { control: "C07".into(), effect }).collect(),
            owner: String::new(),
            status: RiskStatus::Open,
            rationale: String::new(),
        }
    }

    #[test]
    fn bands_follow_the_stated_thresholds() {
        let bands: Vec<Tier> = [1, 4, 5, 9, 10, 16, 17, 25].into_iter().map(band).collect();
        use Tier::*;
        assert_eq!(bands, [Low, Low, Medium, Medium, High, High, Critical, Critical]);
    }

    #[test]
    fn controls_lower_the_residual_never_below_severity() {
        let f = fields(4, 4, &[1, 1]);
        assert_eq!((f.inherent_score(), f.residual_score()), (16, 8));
        assert_eq!(fields(4, 2, &[3, 4]).residual_score(), 4, "likelihood bottoms out at 1");
        assert!(fields(6, 1, &[]).validate().is_err());
        assert_eq!(RiskFields::from_json(&f.to_json()).unwrap(), f);
    }

    #[test]
    fn the_register_tier_is_the_highest_open_band() {
        let entry = |f: RiskFields| RiskEntry {
            id: 1,
            project: "p".into(),
            fields: f,
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
            updated_by: "x".into(),
        };
        assert_eq!(register_tier(&[]), None);
        let mut closed = fields(5, 5, &[]);
        closed.status = RiskStatus::Closed;
        assert_eq!(
            register_tier(&[entry(fields(2, 2, &[])), entry(fields(3, 4, &[])), entry(closed)]),
            Some(Tier::High)
        );
    }
}
