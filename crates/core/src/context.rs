//! The context of a project (its use case): what industry, which workflow, what data, how
//! autonomous, and where it falls under the EU AI Act. Risk depends on it: the same failure
//! is minor in casual conversation and serious when it touches patient care or billing.

use crate::error::{Error, Result};
use serde_json::{Value, json};

macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(field: &str, s: &str) -> Result<Self> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(Error::invalid(field, format!(
                        "unknown value {other:?}; use one of: {}",
                        [$($text),+].join(", ")
                    ))),
                }
            }
        }
    };
}

named_enum!(Industry { Healthcare = "healthcare", Finance = "finance", Other = "other" });
named_enum!(
    /// What the data a project handles reveals about people.
    DataSensitivity { Public = "public", Pii = "pii", Phi = "phi", Financial = "financial" }
);
named_enum!(
    /// How much a person stands between the model and the decision.
    Autonomy { HumanInTheLoop = "human_in_the_loop", HumanOnTheLoop = "human_on_the_loop", Autonomous = "autonomous" }
);
named_enum!(
    /// The EU AI Act's risk category (Art. 5 prohibited, Art. 6 + Annex III high, Art. 50
    /// transparency obligations, minimal).
    EuAiAct { Prohibited = "prohibited", High = "high", Limited = "limited", Minimal = "minimal" }
);
named_enum!(
    /// An industry pack applied at creation.
    Template { Healthcare = "healthcare", Finance = "finance" }
);

/// A project's context. `workflow` names a workflow type of the taxonomy in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectContext {
    pub industry: Industry,
    pub workflow: String,
    pub workflow_description: String,
    pub data_sensitivity: Vec<DataSensitivity>,
    pub autonomy: Autonomy,
    pub eu_ai_act: Option<EuAiAct>,
    pub annex_iii_area: Option<String>,
    pub template: Option<Template>,
}

impl ProjectContext {
    pub fn handles(&self, s: DataSensitivity) -> bool {
        self.data_sensitivity.contains(&s)
    }

    /// Checks the rules that hold whatever the taxonomy says.
    pub fn validate(&self) -> Result<()> {
        if self.workflow_description.len() > 4096 {
            return Err(Error::invalid("workflow_description", "must be at most 4096 bytes"));
        }
        match (self.eu_ai_act, &self.annex_iii_area) {
            (Some(EuAiAct::High), None) => {
                Err(Error::invalid("annex_iii_area", "a high-risk system under the EU AI Act names its Annex III area"))
            }
            (c, Some(_)) if c != Some(EuAiAct::High) => Err(Error::invalid(
                "annex_iii_area",
                "only a high-risk system (--eu-ai-act high) has an Annex III area",
            )),
            _ => Ok(()),
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "industry": self.industry.as_str(),
            "workflow": self.workflow,
            "workflow_description": self.workflow_description,
            "data_sensitivity": self.data_sensitivity.iter().map(|d| d.as_str()).collect::<Vec<_>>(),
            "autonomy": self.autonomy.as_str(),
            "eu_ai_act": self.eu_ai_act.map(EuAiAct::as_str),
            "annex_iii_area": self.annex_iii_area,
            "template": self.template.map(Template::as_str),
        })
    }

    /// Reads the stored form (the output of [`ProjectContext::to_json`]).
    pub fn from_json(v: &Value) -> Result<Self> {
        let text = |k: &str| v.get(k).and_then(Value::as_str);
        let required = |k: &str| text(k).ok_or_else(|| Error::invalid(k, "is required"));
        let mut data_sensitivity = Vec::new();
        for s in v.get("data_sensitivity").and_then(Value::as_array).into_iter().flatten() {
            data_sensitivity.push(DataSensitivity::parse("data_sensitivity", s.as_str().unwrap_or_default())?);
        }
        Ok(ProjectContext {
            industry: Industry::parse("industry", required("industry")?)?,
            workflow: required("workflow")?.to_string(),
            workflow_description: text("workflow_description").unwrap_or_default().to_string(),
            data_sensitivity,
            autonomy: Autonomy::parse("autonomy", text("autonomy").unwrap_or("human_in_the_loop"))?,
            eu_ai_act: text("eu_ai_act").map(|s| EuAiAct::parse("eu_ai_act", s)).transpose()?,
            annex_iii_area: text("annex_iii_area").map(str::to_string),
            template: text("template").map(|s| Template::parse("template", s)).transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_round_trip_and_annex_iii_goes_with_high_risk() {
        let c = ProjectContext {
            industry: Industry::Healthcare,
            workflow: "billing_information".into(),
            workflow_description: "hospital call centre".into(),
            data_sensitivity: vec![DataSensitivity::Phi, DataSensitivity::Financial],
            autonomy: Autonomy::HumanOnTheLoop,
            eu_ai_act: Some(EuAiAct::High),
            annex_iii_area: Some("5(a) access to essential public services".into()),
            template: Some(Template::Healthcare),
        };
        assert_eq!(ProjectContext::from_json(&c.to_json()).unwrap(), c);
        assert!(c.validate().is_ok());
        let no_area = ProjectContext { annex_iii_area: None, ..c.clone() };
        assert_eq!(no_area.validate().unwrap_err().field.as_deref(), Some("annex_iii_area"));
        assert_eq!(Autonomy::parse("autonomy", "robot").unwrap_err().field.as_deref(), Some("autonomy"));
    }
}
