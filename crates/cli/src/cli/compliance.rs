//! The grammar of compliance reports, attestations and the model report.

use super::*;

#[derive(Subcommand, Debug)]
pub enum ComplianceCommand {
    /// Each control as satisfied, unsatisfied, not_applicable or attested, with the reason computed from
    /// live data, and the coverage per framework:
    /// `riskops compliance report credit --framework sr-11-7 --format markdown > controls.md`.
    #[command(after_help = "--format: text (default), json, markdown (tables to paste into a review) or html (one \
        self-contained page). Which controls apply depends on the project: HIPAA counts only for projects that \
        handle phi data; deployment controls once a version is in production.")]
    Report {
        /// The project.
        project: String,
        /// Only the controls of one framework: nist-ai-rmf, eu-ai-act, sr-11-7, hipaa or iso-42001.
        #[arg(long)]
        framework: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ControlCommand {
    /// List the control catalogue: each control, how it is checked and its clauses per framework.
    List,
    /// Attest that a control holds for a project (admin, risk_officer, validator), with an optional evidence
    /// file: `riskops control attest credit C11 --statement "residual risk accepted by the committee" --file minutes.pdf`.
    Attest {
        /// The project.
        project: String,
        /// A control id of the catalogue, e.g. C11.
        control: String,
        /// What holds and how you know.
        #[arg(long)]
        statement: String,
        /// A document backing the statement; stored content-addressed like evidence.
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// List a project's attestations, oldest first.
    Attestations {
        /// The project.
        project: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ReportCommand {
    /// The model report of one version: intended use (the project's context and workflow), data and code
    /// lineage, the risk register with scores, validation, fairness and stress results (with charts for
    /// evidence riskops produced), explanations, approvals and deployments with their signatures, monitoring
    /// and open incidents: `riskops report model scorer@3 --format html > scorer-3.html`.
    #[command(after_help = "--format: text (default; the Markdown), markdown, json (everything gathered, the \
        evidence's JSON reports included) or html (one self-contained page: inline CSS and SVG charts, no scripts \
        or remote files, a print stylesheet; print it to PDF from a browser). Evidence produced by riskops \
        (validate, stress) is shown with its metrics, reliability diagram, weak segments and checks; uploaded \
        evidence is listed with its verdict, author, time and digest as filed.")]
    Model {
        /// The model version, `NAME@V` (or `NAME@latest`).
        version: String,
    },
}
