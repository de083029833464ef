//! The command-line grammar. Help texts here are the user's manual: each says what the
//! command does and, where it helps, shows an example.

use clap::{Args, Parser, Subcommand, ValueEnum};
use riskops_core::secret::Secret;
use std::net::SocketAddr;
use std::path::PathBuf;

mod audit;
mod compliance;
mod drift;
mod governance;
mod identities;
mod monitoring;
mod project;
mod registry;
mod risk;
mod serve;

pub use audit::*;
pub use compliance::*;
pub use drift::*;
pub use governance::*;
pub use identities::*;
pub use monitoring::*;
pub use project::*;
pub use registry::*;
pub use risk::*;
pub use serve::*;

#[derive(Parser, Debug)]
#[command(
    name = "riskops",
    version,
    about = "Risk management for machine-learning models: versions, risk register, governance, monitoring, audit.",
    long_about = "riskops keeps datasets, models and code versioned and linked, scores their risks in \
                  context, gates promotion to production on evidence and approvals, watches production \
                  for drift, and records every change in a tamper-evident audit trail.\n\n\
                  Start a server with `riskops serve`; every other command talks to it \
                  (--server, --token or RISKOPS_URL, RISKOPS_TOKEN).",
    after_help = "Examples:\n  riskops serve --data-dir ./riskops-data\n  export RISKOPS_TOKEN=rsk_…\n  riskops whoami\n  riskops project create credit-scoring --description \"retail credit decisions\""
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the riskops server (HTTP API) on an embedded SQLite store or on PostgreSQL.
    // Boxed: its many settings would make every command as large.
    Serve(Box<ServeArgs>),
    /// Show who the API token belongs to, and its roles.
    Whoami,
    /// Create, describe, list and show projects (the use cases models serve) and their risk tier.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Compare a current data file with a reference one, column by column, as Evidently does.
    Drift(DriftArgs),
    /// Score each record of a file for how far out of the reference's distribution it lies
    /// (ECOD, as pyod computes it), and count those past the reference's 99th percentile.
    Ood(OodArgs),
    /// Version datasets: push files as immutable versions, show their schema and profile, pull them.
    #[command(subcommand)]
    Dataset(DatasetCommand),
    /// Version models: register artifacts with their data and code, show, pull, compare.
    #[command(subcommand)]
    Model(ModelCommand),
    /// Show where a dataset or model version came from and what was built from it.
    Lineage(LineageArgs),
    /// Score a data file or dataset version with a registered ONNX model, here (batch scoring).
    Predict(PredictArgs),
    /// Validate a model version on a dataset version: the server runs the model and files
    /// validation (and fairness) evidence it produced itself.
    Validate(ValidateArgs),
    /// Stress-test a model version: the server runs it on edge cases, noise, shifted and
    /// unseen data and files stress_test evidence it produced itself.
    Stress(StressArgs),
    /// Explain a tree-ensemble model version's outputs on a dataset version: the server
    /// computes exact TreeSHAP and permutation importance and files explainability evidence.
    Explain(ExplainArgs),
    /// Explain one decision: each feature's contribution to the model's output for a record.
    ExplainRecord(ExplainRecordArgs),
    /// Read, export and verify the tamper-evident audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Manage users and service accounts and their roles (admin).
    #[command(subcommand)]
    User(UserCommand),
    /// Create, list and revoke API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Record evidence (validation, fairness, …) for a model version; promotion gates ask for it.
    #[command(subcommand)]
    Evidence(EvidenceCommand),
    /// List, show, approve and reject promotion requests.
    #[command(subcommand)]
    Promotion(PromotionCommand),
    /// Show or replace the promotion policy (the gates per risk tier and environment).
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// The risk register: assess a project from the taxonomy, add, update, list, show.
    #[command(subcommand)]
    Risk(RiskCommand),
    /// Show or replace the risk taxonomy (failure modes, severities per workflow, modifiers).
    #[command(subcommand)]
    Taxonomy(TaxonomyCommand),
    /// A project's compliance status: each control of the catalogue with its reason, and coverage per framework.
    #[command(subcommand)]
    Compliance(ComplianceCommand),
    /// The control catalogue (NIST AI RMF, EU AI Act, SR 11-7, HIPAA, ISO/IEC 42001) and attestations.
    #[command(subcommand)]
    Control(ControlCommand),
    /// Send a file of prediction logs (NDJSON, a JSON array, CSV or Parquet) to a model, in batches.
    Log(LogArgs),
    /// Send late labels (ground truth for records already logged) from a file, in batches.
    Label(LabelArgs),
    /// Configure a model's monitoring windows and monitors, show its window reports and a project's status.
    #[command(subcommand)]
    Monitor(MonitorGroup),
    /// List, show, acknowledge and resolve the incidents monitors open.
    #[command(subcommand)]
    Incident(IncidentCommand),
    /// Notify a URL (JSON or Slack) of a project's incidents: add, list, remove, and see deliveries.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Reports for a validation committee and a regulator: `riskops report model scorer@3 --format html > scorer-3.html`.
    #[command(subcommand)]
    Report(ReportCommand),
}

/// Options of every command that talks to a server; accepted before or after the command.
#[derive(Args, Debug, Clone)]
pub struct ClientArgs {
    /// The riskops server.
    #[arg(long, env = "RISKOPS_URL", default_value = "http://127.0.0.1:8080", global = true)]
    pub server: String,
    /// API token (the first start of the server prints the admin token once).
    #[arg(long, env = "RISKOPS_TOKEN", hide_env_values = true, global = true, value_parser = secret)]
    pub token: Option<Secret<String>>,
    /// A PEM CA certificate to trust for an https:// --server (a private CA), besides the
    /// system's.
    #[arg(long, env = "RISKOPS_CA_CERT", global = true, value_name = "FILE")]
    pub ca_cert: Option<std::path::PathBuf>,
    /// Output: a readable text or one JSON document on stdout; a few commands offer more
    /// (each command's --help lists what it accepts).
    #[arg(long, value_enum, default_value_t = Format::Text, global = true)]
    pub format: Format,
}

/// The output formats a command accepts, by its path of subcommand names (`["lineage"]`,
/// `["compliance", "report"]`). The one place that says it: each command's `--format` is
/// built from it (so its --help lists exactly these) and `main` refuses anything else.
pub fn formats_of(path: &[&str]) -> &'static [Format] {
    use Format::{Dot, Html, Json, Markdown, Openlineage, Slack, Text};
    match path {
        ["serve"] => &[Text],
        ["drift"] | ["monitor", "analyze"] => &[Text, Json, Html],
        ["lineage"] => &[Text, Json, Dot, Openlineage],
        ["compliance", "report"] => &[Text, Json, Markdown, Html],
        ["report", "model"] => &[Text, Json, Markdown, Html],
        ["validate"] | ["stress"] => &[Text, Json, Html],
        ["webhook", "add"] => &[Text, Json, Slack],
        _ => &[Text, Json],
    }
}

/// The grammar, with each command's own `--format`: the global flag's values narrowed to the
/// command's (`formats_of`), so `--help` shows them and clap refuses the others by name.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    with_own_formats(Cli::command(), &mut Vec::new())
}

fn with_own_formats(mut command: clap::Command, path: &mut Vec<String>) -> clap::Command {
    let names: Vec<String> = command.get_subcommands().map(|s| s.get_name().to_string()).collect();
    if names.is_empty() && !path.is_empty() {
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        return command.arg(format_arg(formats_of(&path)));
    }
    for name in names {
        path.push(name.clone());
        command = command.mut_subcommand(&name, |sub| with_own_formats(sub, path));
        path.pop();
    }
    command
}

/// `--format` accepting only `formats`, parsed into the same `Format` as the global flag.
fn format_arg(formats: &'static [Format]) -> clap::Arg {
    use clap::builder::{PossibleValuesParser, TypedValueParser};
    let names: Vec<&'static str> = formats.iter().map(|f| f.name()).collect();
    let parser =
        PossibleValuesParser::new(names.clone()).map(|name| Format::from_str(&name, false).unwrap_or(Format::Text));
    clap::Arg::new("format")
        .long("format")
        .value_name("FORMAT")
        .value_parser(parser)
        .default_value("text")
        .help("How to print the answer (text for people, json for scripts; the values this command accepts follow)")
}

impl Format {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Html => "html",
            Format::Dot => "dot",
            Format::Openlineage => "openlineage",
            Format::Markdown => "markdown",
            Format::Slack => "slack",
        }
    }
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    /// A self-contained HTML report (commands that make reports).
    Html,
    /// A Graphviz graph (lineage).
    Dot,
    /// OpenLineage run events (lineage).
    Openlineage,
    /// A Markdown document (compliance report).
    Markdown,
    /// Slack-shaped payloads (webhook add).
    Slack,
}

/// A duration such as `90s`, `30m`, `1h` or `2d` (a bare number is seconds).
fn duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().map_err(|_| format!("{text:?} is not a duration like 90s, 30m, 1h or 2d"))?;
    let seconds = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(format!("{text:?} is not a duration like 90s, 30m, 1h or 2d")),
    };
    n.checked_mul(seconds).map(std::time::Duration::from_secs).ok_or_else(|| format!("{text:?} is too long"))
}

/// Parses a value that must never be printed (tokens, URLs with passwords).
fn secret(value: &str) -> Result<Secret<String>, std::convert::Infallible> {
    Ok(Secret::new(value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::FromArgMatches;

    /// Every argument of every command, as `riskops a b --flag`, that has no help text.
    fn without_help(command: &clap::Command, path: &str, out: &mut Vec<String>) {
        for arg in command.get_arguments() {
            let builtin = matches!(arg.get_id().as_str(), "help" | "version");
            if !builtin && arg.get_help().is_none() && arg.get_long_help().is_none() {
                out.push(format!(
                    "{path} {}",
                    arg.get_long().map_or_else(|| arg.get_id().to_string(), |l| format!("--{l}"))
                ));
            }
        }
        for sub in command.get_subcommands() {
            without_help(sub, &format!("{path} {}", sub.get_name()), out);
        }
    }

    #[test]
    fn every_argument_of_every_command_has_help() {
        let mut missing = Vec::new();
        let mut command = command();
        command.build();
        without_help(&command, "riskops", &mut missing);
        assert!(missing.is_empty(), "arguments without help text:\n{}", missing.join("\n"));
    }

    #[test]
    fn each_command_offers_and_accepts_only_its_own_formats() {
        let help = |args: &[&str]| -> String {
            let mut c = command();
            let mut out = Vec::new();
            let mut full = vec!["riskops"];
            full.extend_from_slice(args);
            full.push("--help");
            let text = match c.try_get_matches_from_mut(full) {
                Err(e) => e.render().to_string(),
                Ok(_) => {
                    c.write_help(&mut out).ok();
                    String::from_utf8(out).unwrap_or_default()
                }
            };
            // Wrapped lines joined, so a phrase can be looked for whatever the terminal width.
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        };
        let lineage = help(&["lineage"]);
        assert!(lineage.contains("[possible values: text, json, dot, openlineage]"), "{lineage}");
        let report = help(&["compliance", "report"]);
        assert!(report.contains("[possible values: text, json, markdown, html]"), "{report}");
        let list = help(&["project", "list"]);
        assert!(list.contains("[possible values: text, json]"), "{list}");

        let parse = |args: &[&str]| command().try_get_matches_from(args.iter().copied());
        let refused = parse(&["riskops", "project", "list", "--format", "html"]).unwrap_err().render().to_string();
        assert!(
            refused.contains("invalid value 'html'") && refused.contains("[possible values: text, json]"),
            "{refused}"
        );
        // Accepted values reach the same `Format` the commands read.
        let matches = parse(&["riskops", "lineage", "m@1", "--format", "dot"]).unwrap();
        assert_eq!(Cli::from_arg_matches(&matches).unwrap().client.format, Format::Dot);
        let matches = parse(&["riskops", "--format", "json", "project", "list"]).unwrap();
        assert_eq!(Cli::from_arg_matches(&matches).unwrap().client.format, Format::Json);
        let matches = parse(&["riskops", "project", "list"]).unwrap();
        assert_eq!(Cli::from_arg_matches(&matches).unwrap().client.format, Format::Text);
        // Every command path has a table entry that includes text (the default).
        fn leaves(c: &clap::Command, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
            if c.get_subcommands().next().is_none() {
                out.push(path.clone());
            }
            for s in c.get_subcommands() {
                path.push(s.get_name().to_string());
                leaves(s, path, out);
                path.pop();
            }
        }
        let mut all = Vec::new();
        leaves(&command(), &mut Vec::new(), &mut all);
        for path in all.iter().filter(|p| !p.is_empty()) {
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            assert!(formats_of(&path).contains(&Format::Text), "{path:?}");
        }
    }
}
