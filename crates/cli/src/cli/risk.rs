//! The grammar of the risk register and its taxonomy.

use super::*;

#[derive(Subcommand, Debug)]
#[command(after_help = "Scores: inherent = severity × likelihood (1–25); residual lowers likelihood by the linked \
    controls' effects. Bands: ≤ 4 low, 5–9 medium, 10–16 high, ≥ 17 critical; a project's tier is the \
    highest band of its open entries.")]
pub enum RiskCommand {
    /// Propose entries from the taxonomy and the project's context; adds the failure modes not yet registered.
    Assess {
        /// The project.
        project: String,
        /// Only show the proposals.
        #[arg(long)]
        dry_run: bool,
    },
    /// Add an entry: `riskops risk add fraud --failure-mode threshold_misalignment --severity 4 --likelihood 3`.
    Add {
        /// The project.
        project: String,
        /// A failure mode of the taxonomy, e.g. threshold_misalignment.
        #[arg(long)]
        failure_mode: String,
        /// Its category [default: the failure mode's in the taxonomy].
        #[arg(long)]
        category: Option<String>,
        /// 1 (negligible) to 5 (severe).
        #[arg(long)]
        severity: u8,
        /// 1 (rare) to 5 (almost certain).
        #[arg(long)]
        likelihood: u8,
        #[command(flatten)]
        details: RiskDetails,
    },
    /// Change an entry: `riskops risk update 7 --likelihood 2 --control C07:1 --status mitigated`.
    Update {
        /// The register entry's id.
        id: i64,
        /// 1 (negligible) to 5 (severe).
        #[arg(long)]
        severity: Option<u8>,
        /// 1 (rare) to 5 (almost certain).
        #[arg(long)]
        likelihood: Option<u8>,
        #[command(flatten)]
        details: RiskDetails,
    },
    /// List a project's register.
    List {
        /// Only this project's.
        project: String,
    },
    /// Show one entry.
    Show {
        /// The register entry's id.
        id: i64,
    },
}

#[derive(Args, Debug, Default)]
pub struct RiskDetails {
    /// Business impact, e.g. `financial=4,reputational=3` (each 1–5).
    #[arg(long)]
    pub impact: Option<String>,
    /// A linked control and how much it lowers likelihood, `C07:1`; repeatable.
    #[arg(long = "control", value_name = "ID:EFFECT")]
    pub controls: Vec<String>,
    /// Who owns the risk.
    #[arg(long)]
    pub owner: Option<String>,
    /// open, mitigated, accepted or closed.
    #[arg(long)]
    pub status: Option<String>,
    /// Why it is scored so.
    #[arg(long)]
    pub rationale: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum TaxonomyCommand {
    /// Print the taxonomy in force (JSON).
    Show,
    /// Replace it with a JSON file (admin, risk_officer); a malformed file names the field.
    Set {
        /// A JSON file (the shape `show` prints).
        file: PathBuf,
    },
}
