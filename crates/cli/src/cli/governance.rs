//! The grammar of evidence, promotions and the promotion policy.

use super::*;

#[derive(Subcommand, Debug)]
pub enum EvidenceCommand {
    /// Attach a file as evidence: `riskops evidence add churn@3 --kind validation --file report.pdf --passed true`.
    Add {
        /// `NAME@V`.
        version: String,
        /// validation, fairness, stress_test, explainability, documentation, security, performance or data_quality.
        #[arg(long)]
        kind: String,
        /// The evidence file (a report, a notebook export, a JSON of metrics).
        #[arg(long)]
        file: PathBuf,
        /// Whether the check passed; failed evidence never satisfies a gate.
        #[arg(long)]
        passed: Option<bool>,
        /// One line on what it shows.
        #[arg(long, default_value = "")]
        summary: String,
    },
    /// List a version's evidence.
    List {
        /// `NAME@V`.
        version: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum PromotionCommand {
    /// List requests, newest first.
    List {
        /// Only this model's.
        #[arg(long)]
        model: Option<String>,
        /// pending, completed or rejected.
        #[arg(long)]
        status: Option<String>,
    },
    /// Show a request and what it still needs.
    Show {
        /// The promotion request's id.
        id: i64,
    },
    /// Approve a request (validator, risk_officer, committee, as the gate asks).
    Approve {
        /// The promotion request's id.
        id: i64,
        /// Why (kept with the decision).
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Reject a request; closes it.
    Reject {
        /// The promotion request's id.
        id: i64,
        /// Why (required; kept with the decision).
        #[arg(long)]
        comment: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// Print the policy in force (JSON).
    Show,
    /// Replace the policy with a JSON file (admin, risk_officer): `riskops policy show > p.json`, edit, `riskops policy set p.json`.
    Set {
        /// A JSON file (the shape `show` prints).
        file: PathBuf,
    },
}
