//! The grammar of projects and their context.

use super::*;

#[derive(Subcommand, Debug)]
pub enum ProjectCommand {
    /// Create a project, optionally with its context:
    /// `riskops project create callcentre --industry healthcare --workflow billing_information --data-sensitivity phi`.
    Create {
        /// 1–128 characters from letters, digits, '.', '_' and '-'.
        name: String,
        /// What the project is for, in a sentence.
        #[arg(long, default_value = "")]
        description: String,
        #[command(flatten)]
        context: ContextArgs,
    },
    /// List projects.
    List,
    /// Show one project, with its risk tier.
    Show {
        /// The project's name.
        name: String,
    },
    /// Describe a project's use case, or override its risk tier (risk_officer):
    /// `riskops project update credit --tier critical --reason "…"`, `riskops project update credit --autonomy autonomous`.
    Update {
        /// The project's name.
        name: String,
        /// low, medium, high or critical.
        #[arg(long, requires = "reason")]
        tier: Option<String>,
        /// Remove the override.
        #[arg(long, conflicts_with = "tier", requires = "reason")]
        clear_tier: bool,
        /// Why the tier is overridden (kept in the audit trail).
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        context: ContextArgs,
    },
}

/// A project's context: what it is for, on what data, how autonomous.
#[derive(Args, Debug, Default)]
pub struct ContextArgs {
    /// healthcare, finance or other.
    #[arg(long)]
    pub industry: Option<String>,
    /// A workflow type of the taxonomy: casual_conversation, internal_productivity,
    /// patient_support_chatbot, billing_information, clinical_decision_support,
    /// credit_decisioning, fraud_detection, trading.
    #[arg(long)]
    pub workflow: Option<String>,
    /// The workflow in your words (shown with the project's context).
    #[arg(long)]
    pub workflow_description: Option<String>,
    /// public, pii, phi or financial; repeat or separate with commas.
    #[arg(long, value_delimiter = ',')]
    pub data_sensitivity: Vec<String>,
    /// human_in_the_loop, human_on_the_loop or autonomous.
    #[arg(long)]
    pub autonomy: Option<String>,
    /// EU AI Act category: prohibited, high, limited or minimal.
    #[arg(long)]
    pub eu_ai_act: Option<String>,
    /// The Annex III area of a high-risk system.
    #[arg(long)]
    pub annex_iii_area: Option<String>,
    /// An industry pack: healthcare (HIPAA controls, patient impact, extra validation for
    /// clinical workflows) or finance (committee quorum for high tiers, documentation).
    #[arg(long)]
    pub template: Option<String>,
}
