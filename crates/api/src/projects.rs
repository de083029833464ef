//! Projects: the use cases everything else belongs to, with their context and risk tier.

use crate::Document;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

/// The context fields, as create and update take them (all optional on update).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContextFields {
    /// `healthcare`, `finance` or `other`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub industry: Option<String>,
    /// A workflow type of the taxonomy: `casual_conversation`, `billing_information`,
    /// `clinical_decision_support`, `credit_decisioning`, `fraud_detection`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_description: Option<String>,
    /// Any of `public`, `pii`, `phi`, `financial`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_sensitivity: Option<Vec<String>>,
    /// `human_in_the_loop` (default), `human_on_the_loop` or `autonomous`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autonomy: Option<String>,
    /// `prohibited`, `high`, `limited` or `minimal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eu_ai_act: Option<String>,
    /// The Annex III area, for `eu_ai_act: high`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annex_iii_area: Option<String>,
    /// An industry pack: `healthcare` or `finance`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
}

impl ContextFields {
    /// No field given.
    pub fn is_empty(&self) -> bool {
        *self == ContextFields::default()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreateProject {
    /// 1–128 characters from `[A-Za-z0-9._-]`, not starting with `.` or `-`; unique.
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(flatten)]
    pub context: ContextFields,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProjectView {
    pub name: String,
    pub description: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    pub created_by: String,
    /// The tier that decides the promotion gates of the project's models.
    pub tier: String,
    /// `override` (a risk officer's), `register` (the highest band of the risk register) or
    /// `unassessed` (no register yet: governed as high).
    pub tier_source: String,
    /// A tier set by a risk officer, if any.
    pub tier_override: Option<String>,
    /// The use case: industry, workflow, data sensitivity, autonomy, EU AI Act category.
    #[schema(value_type = Option<Object>)]
    pub context: Option<Document>,
}

/// `null` and absent differ: `"tier": null` clears the override, no `tier` keeps it.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UpdateProject {
    /// `low`, `medium`, `high` or `critical` overrides the tier; `null` clears the
    /// override (admin, risk_officer; needs `reason`).
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub tier: Option<Option<String>>,
    /// Why the tier is overridden; kept in the audit trail.
    #[serde(default)]
    pub reason: String,
    /// Context fields to change (admin, risk_officer); the rest stays.
    #[serde(flatten)]
    pub context: ContextFields,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProjectList {
    pub projects: Vec<ProjectView>,
}
