//! The command-line grammar. Help texts here are the user's manual: each says what the
//! command does and, where it helps, shows an example.

use clap::{Args, Parser, Subcommand, ValueEnum};
use riskops_core::secret::Secret;
use std::net::SocketAddr;
use std::path::PathBuf;

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
    Serve(ServeArgs),
    /// Show who the API token belongs to, and its roles.
    Whoami,
    /// Create, describe, list and show projects (the use cases models serve) and their risk tier.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Compare a current data file with a reference one, column by column, as Evidently does.
    Drift(DriftArgs),
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
}

#[derive(Args, Debug)]
#[command(after_help = "Checks, each judged against the policy's thresholds for the project's tier:\n\
    edge_cases: every feature at its minimum, maximum, 0.1%/99.9% quantiles, 10x its range beyond either end and \
    missing; text features missing, an unseen category and an empty string: outputs must be finite and in range \
    (probabilities in [0, 1] summing to 1); failures list the input.\n\
    noise_robustness: Gaussian noise at 1/5/10% of each numeric feature's standard deviation, category swaps at 1/5%: \
    flip rate and score change per feature and overall (stress.max_flip_rate, on the overall 5%).\n\
    shift_degradation (with --label): performance as each feature shifts by 0.25/0.5/1/2 standard deviations \
    (stress.max_shift_auc_drop at 1 sd), and the most fragile features.\n\
    unseen_data (with --unseen and --label): ROC AUC on the data and the unseen data, with intervals.\n\
    monotonicity (with --monotone COL:+|-): the score must not move against the declared direction.\n\
    Sampling and noise are seeded by --seed, so a run is reproduced.\n\n\
    Example:\n  riskops stress scorer@2 --data holdout@1 --label default --unseen q3@1 --monotone PAY_0:+")]
pub struct StressArgs {
    /// The model version, `NAME@V`.
    pub version: String,
    /// The dataset version to perturb, `NAME@V`.
    #[arg(long)]
    pub data: String,
    /// The column holding the outcome (for shift_degradation and unseen_data).
    #[arg(long)]
    pub label: Option<String>,
    /// Data the model has not seen (e.g. a later period), `NAME@V`.
    #[arg(long)]
    pub unseen: Option<String>,
    /// A declared monotone constraint, `COL:+` or `COL:-`; repeatable.
    #[arg(long)]
    pub monotone: Vec<String>,
    /// Seed of the sampling and the noise.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[derive(Args, Debug)]
#[command(after_help = "The server scores every row of the dataset version with the model (an ONNX model riskops \
    runs) and computes: metrics with 95% intervals (ROC AUC by DeLong, the others by a bootstrap seeded with --seed), \
    calibration (ECE, ten reliability bins), weak segments (slices of one or two features, numbers cut at quartiles, \
    whose ROC AUC is significantly below the whole's: one-sided DeLong z-test, Holm-corrected), the version in production \
    on the same rows (--compare-with production), fairness per --protected attribute, and checks against the \
    policy's thresholds for the project's tier (validation.min_roc_auc, fairness.min_dp_ratio, …). The report is \
    filed as `validation` evidence (and `fairness` with --protected) produced by riskops, which gates asking for \
    produced evidence accept; an uploaded file does not. Needs the permission to add evidence.\n\n\
    Example:\n  riskops validate scorer@2 --data holdout@1 --label default --protected SEX --compare-with production")]
pub struct ValidateArgs {
    /// The model version, `NAME@V`.
    pub version: String,
    /// The dataset version to validate on, `NAME@V`.
    #[arg(long)]
    pub data: String,
    /// The column holding the outcome.
    #[arg(long)]
    pub label: String,
    /// Protected attributes (columns) for fairness: `A,B`.
    #[arg(long, value_delimiter = ',')]
    pub protected: Vec<String>,
    /// `auto` (every feature) or the columns to look for weak segments in: `A,B`.
    #[arg(long, default_value = "auto")]
    pub segments: String,
    /// Decision threshold on the positive class's probability (default: the model's label).
    #[arg(long)]
    pub threshold: Option<f64>,
    /// `production`: compare with the version in production on the same rows.
    #[arg(long)]
    pub compare_with: Option<String>,
    /// Seed of the bootstrap intervals.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[derive(Args, Debug)]
#[command(after_help = "The model's artifact (and the dataset, for D@V) is fetched through the API and run here with \
    riskops' ONNX runtime. Columns map to the model's inputs by name (one input per column); a model with one \
    2-D input takes the feature columns in file order, leaving out the --label column and id-like columns (id, \
    *_id), or the --features listed. --input-map is a JSON file {\"input_or_feature\": \"column\"} for names \
    that differ.\n\n\
    Output: the id-like columns as read, then `prediction` (the label, or the value of a regressor) and \
    `proba_<class>` per class; CSV, or Parquet when --output ends in .parquet; CSV on standard output \
    without --output.\n\n\
    Example:\n  riskops predict scorer@2 --data holdout@1 --label default --output scores.parquet")]
pub struct PredictArgs {
    /// The model version, `NAME@V` (registered with --framework onnx).
    pub version: String,
    /// A CSV or Parquet file, or a dataset version `NAME@V`.
    #[arg(long)]
    pub data: String,
    /// The label column: left out of the features (kept out of the output).
    #[arg(long)]
    pub label: Option<String>,
    /// The feature columns of a model with one 2-D input, in the model's order: `a,b,c`.
    #[arg(long, value_delimiter = ',')]
    pub features: Option<Vec<String>>,
    /// A JSON file mapping model input (or feature) names to the data's column names.
    #[arg(long)]
    pub input_map: Option<PathBuf>,
    /// Where to write the scores (.parquet for Parquet, else CSV); standard output when absent.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

#[derive(Args, Debug)]
#[command(
    after_help = "Records: {\"id\",\"timestamp\" (unix seconds),\"version\"?,\"features\":{…},\"prediction\",\"score\"?,\"label\"?,\"attributes\":{…}?}.\n\
    CSV: columns id, timestamp, version, prediction, score, label, latency_ms, attr.<name> for attributes, every other column a feature.\n\
    Parquet (known by its PAR1 magic bytes, whatever the file's name): the same columns as CSV, values as the file types them; \
    timestamp in unix seconds or a Parquet timestamp (UTC); id text or integers. The whole file is checked before anything is sent.\n\
    Batches are partial: the others go on when a record is rejected; ids already sent count once, so re-sending a file is safe.\n\n\
    One summary follows: records accepted, already sent and rejected, the rejected ones counted by reason, and the first few.\n\
    Exit status: 0 when every record was accepted or already sent; 1 when any was rejected (0 with --allow-rejected); 2 on an error."
)]
pub struct LogArgs {
    /// .ndjson/.jsonl, .json (an array), .csv or Parquet.
    pub file: PathBuf,
    /// The model's project.
    #[arg(long)]
    pub project: String,
    /// The model.
    #[arg(long)]
    pub model: String,
    /// The model version the records come from [default: each record's, else the one in production].
    #[arg(long)]
    pub version: Option<u32>,
    /// Records per request.
    #[arg(long, default_value_t = 10_000)]
    pub batch: usize,
    /// Exit with status 0 even when records were rejected (the summary still counts them).
    #[arg(long)]
    pub allow_rejected: bool,
}

#[derive(Args, Debug)]
#[command(
    after_help = "Labels: NDJSON or a JSON array of {\"id\",\"label\"} (other fields are ignored, so a prediction log \
    with labels can be sent as is), or CSV or Parquet with the columns id and label. Each label is folded into the \
    window of its record once: a label sent again counts as already sent. The whole file is checked before anything \
    is sent.\n\n\
    Exit status: 0 when every label was accepted or already sent; 1 when any was rejected (0 with --allow-rejected); \
    2 on an error.\n\n\
    Example:\n  riskops label outcomes.csv --project credit --model scorer"
)]
pub struct LabelArgs {
    /// .ndjson/.jsonl, .json (an array), .csv or Parquet, with `id` and `label` per record.
    pub file: PathBuf,
    /// The model's project.
    #[arg(long)]
    pub project: String,
    /// The model whose records the labels belong to.
    #[arg(long)]
    pub model: String,
    /// Labels per request.
    #[arg(long, default_value_t = 5_000)]
    pub batch: usize,
    /// Exit with status 0 even when labels were rejected (the summary still counts them).
    #[arg(long)]
    pub allow_rejected: bool,
}

#[derive(Subcommand, Debug)]
pub enum MonitorCommand {
    /// How a model's windows are cut and read:
    /// `riskops monitor configure --project P --model M --window hour --exclude target --sensitive sex`.
    Configure {
        /// The model's project.
        #[arg(long)]
        project: String,
        /// The model.
        #[arg(long)]
        model: String,
        /// hour, day (UTC-aligned tumbling windows) or records:N (every N accepted records of
        /// a version, in arrival order; e.g. records:10000).
        #[arg(long, default_value = "hour")]
        window: String,
        /// binary or regression.
        #[arg(long, default_value = "binary")]
        task: String,
        /// The positive class of a binary model, as text.
        #[arg(long, default_value = "1")]
        positive: String,
        /// Reference columns that are not model inputs (the target, ids); comma-separated.
        #[arg(long, value_delimiter = ',')]
        exclude: Vec<String>,
        /// Attributes to compute fairness for [default: all that records carry].
        #[arg(long, value_delimiter = ',')]
        sensitive: Vec<String>,
        /// How long raw records are kept, in days from their arrival (1 to 3653; the EU AI
        /// Act asks at least six months of a high-risk system's logs) [default: 183].
        #[arg(long)]
        retention_days: Option<u32>,
        /// Records a window needs before its drift is judged: a smaller window reports
        /// its drift as "insufficient" and no drift, performance or fairness monitor fires
        /// on it (performance counts labelled records) [default: 100].
        #[arg(long, value_name = "N")]
        min_records: Option<u64>,
    },
    /// Window reports: one line per window (drift, F1 or R², worst parity ratio, worst
    /// missing rate, p95 latency, business value), then the newest window in detail.
    #[command(after_help = BUSINESS_SIGN)]
    Show {
        /// The model's project.
        #[arg(long)]
        project: String,
        /// The model.
        #[arg(long)]
        model: String,
        /// RFC 3339, a date, or unix seconds [default: 7 days before --to].
        #[arg(long)]
        from: Option<String>,
        /// RFC 3339, a date, or unix seconds [default: now].
        #[arg(long)]
        to: Option<String>,
        /// hour or day: roll the stored windows up (hours into days; windows of N records
        /// into the hour or day they start in) [default: the configured window].
        #[arg(long)]
        granularity: Option<String>,
    },
}

/// `riskops monitor …`: the window commands and the alerting ones in one group.
#[derive(Subcommand, Debug)]
pub enum MonitorGroup {
    #[command(flatten)]
    Windows(MonitorCommand),
    #[command(flatten)]
    Alerts(MonitorAlertCommand),
}

/// The sign convention of `business.*`, shown by `monitor show --help` and `monitor add --help`.
macro_rules! business_sign {
    () => {
        "business.* signs: the values per outcome (`riskops model kpi --tp … --fp -25 --fn -400`) \
    are worth per decision, gains positive and costs negative. business.value_per_1000 and business.value are \
    their sum over the window's confusion matrix (per 1,000 decisions, and in total): positive means the model \
    earns. business.cost_per_1000 and business.cost are the same numbers negated: positive means it costs, so \
    `--metric business.cost_per_1000 --above 5000` fires when 1,000 decisions cost 5,000 or more."
    };
}
const BUSINESS_SIGN: &str = business_sign!();

/// How monitors read metrics; shown by `riskops monitor add --help`.
const METRIC_HELP: &str = concat!(
    "METRIC is a path in a window's monitoring JSON (`riskops monitor show --format json`):\n  \
    drift.share             share of features that drifted (0 to 1)\n  \
    drift.any               1 when any feature drifted\n  \
    drift.feature.<name>    1 when that feature drifted (needs no threshold)\n  \
    performance.f1          or accuracy, precision, recall, roc_auc, r2, … (needs labels)\n  \
    fairness.<attribute|*>.demographic_parity_ratio   (* takes the worst attribute)\n  \
    quality.missing_rate    the worst feature's; or out_of_range_rate, …\n  \
    volume                  records in the window\n  \
    latency.p95_ms          or p50_ms, p99_ms\n  \
    business.cost_per_1000  from the model's values per outcome (see below)\n\n\
    --above X fires when the value is X or more, --below X when it is under X. --relative compares \
    the change from the reference instead (the version's registered metric, else its first window).\n\n\
    Examples:\n  \
    riskops monitor add --project P --model M --metric drift.share --above 0.3 --for 2\n  \
    riskops monitor add --project P --model M --metric performance.f1 --relative --below -0.05\n      \
    (F1 dropped by more than 0.05 from the reference)\n  \
    riskops monitor add --project P --model M --metric 'fairness.*.demographic_parity_ratio' \\\n      \
    --below 0.8 --severity high\n\n",
    business_sign!()
);

/// The alerting commands of `riskops monitor`.
#[derive(Subcommand, Debug)]
pub enum MonitorAlertCommand {
    /// Add a monitor: an incident opens when METRIC breaches the threshold for --for consecutive windows.
    #[command(after_help = METRIC_HELP)]
    Add {
        /// The project.
        #[arg(long)]
        project: String,
        /// The model.
        #[arg(long)]
        model: String,
        /// A path in the window report, e.g. drift.share or performance.f1 (see below).
        #[arg(long)]
        metric: String,
        /// Fires when the value (or its change, with --relative) is X or more.
        #[arg(long, value_name = "X", allow_negative_numbers = true, conflicts_with = "below")]
        above: Option<f64>,
        /// Fires when the value (or its change, with --relative) is under X.
        #[arg(long, value_name = "X", allow_negative_numbers = true)]
        below: Option<f64>,
        /// Compare the change from the reference (the version's registered metric, else its first window).
        #[arg(long)]
        relative: bool,
        /// Consecutive breaching windows before an incident opens [default: 1].
        #[arg(long = "for", value_name = "N")]
        persistence: Option<u32>,
        /// low, medium, high or critical [default: medium]; a high or critical tier raises it.
        #[arg(long)]
        severity: Option<String>,
    },
    /// List a model's monitors in force: its own and its tier's defaults.
    List {
        /// Only this project's.
        #[arg(long)]
        project: String,
        /// Only this model's.
        #[arg(long)]
        model: String,
    },
    /// Remove a model's monitor (`m1`), or switch a tier default off (`default:drift_share`).
    Remove {
        /// The model's project.
        #[arg(long)]
        project: String,
        /// The model.
        #[arg(long)]
        model: String,
        /// The id (`list` shows it).
        id: String,
    },
    /// Each model of a project: stages, tier, last window, open incidents and advice.
    Status {
        /// The project.
        #[arg(long)]
        project: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum IncidentCommand {
    /// List incidents, newest first: `riskops incident list --project credit --state open`.
    List {
        /// Only this project's.
        #[arg(long)]
        project: Option<String>,
        /// Only this model's.
        #[arg(long)]
        model: Option<String>,
        /// open, acknowledged or resolved.
        #[arg(long)]
        state: Option<String>,
    },
    /// Show an incident: the monitor, the values that breached, the retrain advice.
    Show {
        /// The incident's id.
        id: i64,
    },
    /// Acknowledge an incident (someone is on it); webhooks are told.
    Ack {
        /// The incident's id.
        id: i64,
        /// What is being done (sent to webhooks).
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Resolve an incident; the risks it raised are lowered again and webhooks are told.
    Resolve {
        /// The incident's id.
        id: i64,
        /// How it was resolved (sent to webhooks).
        #[arg(long, default_value = "")]
        note: String,
    },
}

#[derive(Subcommand, Debug)]
#[command(
    after_help = "Each payload is signed: X-Riskops-Signature: sha256=<hex HMAC-SHA256 of \"<X-Riskops-Timestamp>.<body>\" \
    with the secret>. Failed deliveries are retried with backoff; `riskops webhook deliveries` shows how they went."
)]
pub enum WebhookCommand {
    /// Add a webhook (admin, risk_officer):
    /// `RISKOPS_WEBHOOK_SECRET=… riskops webhook add --project credit --url https://hooks.example.com/riskops`.
    Add {
        /// The project.
        #[arg(long)]
        project: String,
        /// http:// or https://.
        #[arg(long)]
        url: String,
        /// Signs each payload (16 to 512 bytes); never shown again. Prefer the environment variable
        /// so it stays out of the shell history.
        #[arg(long, env = "RISKOPS_WEBHOOK_SECRET", hide_env_values = true, value_parser = secret)]
        secret: Secret<String>,
        /// How payloads are shaped: json (riskops' incident JSON) or slack (a Slack incoming
        /// webhook's `text` and `blocks`). `--format slack` says the same; `--format json` also
        /// prints the answer as JSON [default: json].
        #[arg(long, value_name = "json|slack")]
        payload: Option<String>,
    },
    /// List a project's webhooks (never their secrets).
    List {
        /// Only this project's.
        #[arg(long)]
        project: String,
    },
    /// Remove a webhook by id.
    Remove {
        /// The project.
        #[arg(long)]
        project: String,
        /// The id (`list` shows it).
        id: i64,
    },
    /// A project's deliveries, newest first: pending, delivered or failed.
    Deliveries {
        /// The project.
        #[arg(long)]
        project: String,
        /// One webhook's only.
        #[arg(long)]
        webhook: Option<i64>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
}

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

#[derive(Subcommand, Debug)]
#[command(after_help = "Roles: admin, risk_officer, validator, data_scientist, committee, auditor, viewer, ingest;
    each for every project (`validator`) or one (`validator@credit`). See docs/permissions.md.

    Example:
  riskops user create alice --role data_scientist@credit --role viewer --expires-in 90d")]
pub enum UserCommand {
    /// Create a user (or --service-account) with roles; prints its first API token once.
    Create {
        /// The identity's name.
        name: String,
        /// `ROLE` or `ROLE@PROJECT`; repeatable.
        #[arg(long = "role", value_name = "ROLE[@PROJECT]", required = true)]
        roles: Vec<String>,
        /// A machine identity (e.g. an ingest job) rather than a person.
        #[arg(long)]
        service_account: bool,
        /// Read a password (for the dashboard sign-in) from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
        /// Lifetime of the first token, e.g. `30d`, `12h`, `90m`; default: no expiry.
        #[arg(long, value_name = "DURATION")]
        expires_in: Option<String>,
    },
    /// List identities and their roles (admin, auditor).
    List,
    /// Grant a role: `riskops user grant alice validator@credit`.
    Grant {
        /// The identity.
        name: String,
        /// `ROLE` or `ROLE@PROJECT`.
        role: String,
    },
    /// Revoke a role: `riskops user revoke alice validator@credit`.
    Revoke {
        /// The identity.
        name: String,
        /// `ROLE` or `ROLE@PROJECT`.
        role: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create a token for yourself (or, as admin, for --user); printed once.
    Create {
        /// Whose token (admin only).
        #[arg(long)]
        user: Option<String>,
        /// e.g. `30d`, `12h`; default: no expiry.
        #[arg(long, value_name = "DURATION")]
        expires_in: Option<String>,
        /// What the token is for.
        #[arg(long, default_value = "")]
        label: String,
    },
    /// List your tokens (or --user's, or --all, as admin or auditor). Tokens themselves are never shown again.
    List {
        /// Another identity's tokens (admin, auditor).
        #[arg(long, conflicts_with = "all")]
        user: Option<String>,
        /// Every identity's tokens (admin, auditor).
        #[arg(long)]
        all: bool,
    },
    /// Revoke a token by id.
    Revoke {
        /// The token id (`riskops token list`).
        id: i64,
    },
}

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

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// List events: `riskops audit log --target dataset: --since 2026-01-01T00:00:00Z`.
    Log {
        /// Only events by this identity.
        #[arg(long)]
        actor: Option<String>,
        /// A target (`project:fraud`) or a kind of target (`dataset:`).
        #[arg(long)]
        target: Option<String>,
        /// RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
        /// At most this many events, newest first.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Every event as JSON lines, for auditors: `riskops audit export -o trail.jsonl`. The
    /// signed checkpoints follow the events, one `{"checkpoint":…,"public_key":…}` per line.
    Export {
        /// Write here instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Check that no event was edited, deleted, reordered or cut off the end (the server signs
    /// the newest event into a checkpoint moments after each change): against the server,
    /// directly on a data directory (or a copy of one, no server needed), or on an exported
    /// file. Exit status 1 when the trail is broken.
    Verify {
        /// A data directory (its riskops.sqlite is opened read-only).
        #[arg(long, conflicts_with = "file")]
        data_dir: Option<PathBuf>,
        /// A JSON-lines export.
        #[arg(long)]
        file: Option<PathBuf>,
        /// Trust only this Ed25519 public key (hex, from `GET /api/v1/signing-key`) for
        /// checkpoints, whatever keys the trail lists: catches a replaced key and a trail
        /// stripped of every checkpoint.
        #[arg(long, value_name = "HEX")]
        public_key: Option<String>,
        /// A checkpoint kept outside the data (`riskops audit checkpoint > kept.jsonl`, any
        /// number of lines): the trail must reach it, so cutting the newest events together
        /// with the newest checkpoints is caught. With --data-dir or --file.
        #[arg(long, value_name = "FILE")]
        checkpoint: Vec<PathBuf>,
    },
    /// Print the newest signed checkpoint as one JSON line, to keep outside riskops (a ticket,
    /// a WORM bucket, an email to the auditor) and pass to `audit verify --checkpoint` later.
    Checkpoint,
}

#[derive(Subcommand, Debug)]
pub enum DatasetCommand {
    /// Push a CSV or Parquet file as the next version: `riskops dataset push sales data.csv`.
    /// Identical bytes return the existing version.
    Push {
        /// Dataset name: letters, digits, '.', '_' and '-'.
        name: String,
        /// The CSV or Parquet file.
        file: PathBuf,
        /// Project of a new dataset [default: default].
        #[arg(long)]
        project: Option<String>,
        /// What this version holds.
        #[arg(long, default_value = "")]
        description: String,
        /// A label, `key=value`; repeatable.
        #[arg(long = "tag", value_name = "KEY=VALUE")]
        tags: Vec<String>,
    },
    /// List datasets with their latest version.
    List {
        /// Only this project's.
        #[arg(long)]
        project: Option<String>,
    },
    /// Show a version's schema and profile: `riskops dataset show sales@2` (latest without @V).
    Show {
        /// `NAME@V` (the latest without @V).
        version: String,
    },
    /// Download a version's exact bytes, checked against its digest: `riskops dataset pull sales@2 -o sales.csv`.
    Pull {
        version: String,
        /// Where to write the file (replaced atomically once its digest checks out).
        #[arg(long, short)]
        output: PathBuf,
    },
    /// Compare two versions: schema changes and a drift report: `riskops dataset diff sales@1 sales@2`.
    Diff {
        /// The older version, `NAME@V`.
        from: String,
        /// The newer version, `NAME@V`.
        to: String,
    },
    /// Add labels to a version: `riskops dataset tag sales@2 reviewed=yes`.
    Tag {
        version: String,
        /// Labels to add, `key=value`.
        #[arg(value_name = "KEY=VALUE", required = true)]
        tags: Vec<String>,
    },
    /// Add a note to a version: `riskops dataset note sales@2 "March rows re-exported"`.
    Note {
        /// `NAME@V`.
        version: String,
        /// The note.
        text: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ModelCommand {
    /// Register a model artifact as the next version, with its lineage.
    Register(Box<RegisterArgs>),
    /// List models with their latest version.
    List {
        /// Only this project's.
        #[arg(long)]
        project: Option<String>,
    },
    /// Show a version: `riskops model show churn@3` (latest without @V).
    Show {
        /// `NAME@V` (the latest without @V).
        version: String,
    },
    /// Download a version's artifact, checked against its digest.
    Pull {
        version: String,
        /// Where to write the file (replaced atomically once its digest checks out).
        #[arg(long, short)]
        output: PathBuf,
    },
    /// Compare two versions' parameters, metrics and training data.
    Diff {
        /// The older version, `NAME@V`.
        from: String,
        /// The newer version, `NAME@V`.
        to: String,
    },
    /// Add labels to a version: `riskops model tag churn@3 candidate=yes`.
    Tag {
        version: String,
        /// Labels to add, `key=value`.
        #[arg(value_name = "KEY=VALUE", required = true)]
        tags: Vec<String>,
    },
    /// Add a note to a version: `riskops model note churn@3 "retrained after the schema fix"`.
    Note {
        /// `NAME@V`.
        version: String,
        /// The note.
        text: String,
    },
    /// Ask for a version to enter staging or production; answers what is still missing.
    /// With --wait, blocks until the request completes (exit 0), is rejected or closed (exit 1)
    /// or --timeout passes (exit 1), so a CI job can gate on it:
    /// `riskops model promote scorer@3 --to production --wait --timeout 2h`.
    Promote {
        /// `NAME@V` (or `NAME` for the latest version).
        version: String,
        /// staging or production.
        #[arg(long)]
        to: String,
        /// Why this version should go there (kept with the request).
        #[arg(long, default_value = "")]
        reason: String,
        /// Wait until the request is decided: completed (exit 0), rejected or closed (exit 1).
        #[arg(long)]
        wait: bool,
        /// With --wait: give up (exit 1) after this long, e.g. 90s, 30m, 1h, 2d.
        #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = duration, requires = "wait")]
        timeout: std::time::Duration,
    },
    /// Emergency: put an earlier version back into production at once, skipping the gates (risk_officer).
    Rollback {
        /// The model.
        name: String,
        /// The version to put back.
        #[arg(long = "to")]
        version: u32,
        /// Why (kept in the audit trail).
        #[arg(long)]
        reason: String,
        /// The environment to put it back into: production or staging.
        #[arg(long, default_value = "production")]
        environment: String,
    },
    /// Business KPIs: set what each outcome is worth (costs negative) and see, per version with
    /// confusion-matrix evidence, precision, recall, F1 and the expected value per 1,000
    /// decisions: `riskops model kpi fraud --currency EUR --fp -25 --fn -400`. The evidence is a
    /// JSON file `{"confusion_matrix":[[tn,fp],[fn,tp]]}` (or `{"tp":…,"fp":…,"fn":…,"tn":…}`)
    /// added with `riskops evidence add NAME@V --kind performance --file cm.json --passed true`.
    Kpi {
        /// The model.
        name: String,
        /// Currency of the values, e.g. EUR [default: USD].
        #[arg(long)]
        currency: Option<String>,
        /// Value of a true positive per decision (gains positive, costs negative).
        #[arg(long, allow_hyphen_values = true)]
        tp: Option<f64>,
        /// Value of a false positive per decision, e.g. -25.
        #[arg(long, allow_hyphen_values = true)]
        fp: Option<f64>,
        /// Value of a false negative per decision, e.g. -400.
        #[arg(long = "fn", allow_hyphen_values = true)]
        fn_: Option<f64>,
        /// Value of a true negative per decision.
        #[arg(long, allow_hyphen_values = true)]
        tn: Option<f64>,
        /// How the values were estimated.
        #[arg(long)]
        description: Option<String>,
    },
    /// Which version is in each environment, now or --at a past time, and the history.
    Stage {
        /// The model.
        name: String,
        /// RFC 3339 time, e.g. 2026-11-01T00:00:00Z.
        #[arg(long)]
        at: Option<String>,
    },
    /// Check a local file against a version's record and the server's signature. Exit status 1 on mismatch.
    Verify {
        /// `NAME@V`.
        version: String,
        /// The local model file to check.
        file: PathBuf,
        /// The server's public key (hex), to check without trusting the server's answer for it.
        #[arg(long)]
        public_key: Option<String>,
        /// A saved `riskops model stage NAME --format json`: with --public-key, verify offline.
        #[arg(long, requires = "public_key")]
        record: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
#[command(after_help = "Example:\n  riskops model register churn --artifact model.onnx --framework onnx \\\n    \
    --training-data customers@3 --validation-data customers-holdout@1 \\\n    \
    --code-repo https://git.example.com/ml/churn.git --code-commit 9f1c2ab --params params.json --metrics metrics.json")]
pub struct RegisterArgs {
    /// Model name: letters, digits, '.', '_' and '-'.
    pub name: String,
    /// The model file (ONNX, pickle, …).
    #[arg(long)]
    pub artifact: PathBuf,
    /// Project of a new model [default: default].
    #[arg(long)]
    pub project: Option<String>,
    /// onnx, sklearn, xgboost, lightgbm, pytorch or other.
    #[arg(long, default_value = "other")]
    pub framework: String,
    /// The dataset version it was trained on, `NAME@V`.
    #[arg(long)]
    pub training_data: Option<String>,
    /// The dataset version it was validated on, `NAME@V`.
    #[arg(long)]
    pub validation_data: Option<String>,
    /// Repository of the training code.
    #[arg(long, requires = "code_commit")]
    pub code_repo: Option<String>,
    /// Commit of the training code.
    #[arg(long, requires = "code_repo")]
    pub code_commit: Option<String>,
    /// A JSON file of hyper-parameters.
    #[arg(long)]
    pub params: Option<PathBuf>,
    /// A JSON file of metrics (an object of numbers).
    #[arg(long)]
    pub metrics: Option<PathBuf>,
    /// What this version is.
    #[arg(long, default_value = "")]
    pub description: String,
    /// A label, `key=value`; repeatable.
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    pub tags: Vec<String>,
}

#[derive(Args, Debug)]
#[command(after_help = "--format: text (default), json ({nodes, edges}), dot (Graphviz) or openlineage (run events).")]
pub struct LineageArgs {
    /// `NAME@V` (or `NAME` for the latest version).
    pub version: String,
    /// Whether NAME is a dataset or a model [default: model if a model has that name, else dataset].
    #[arg(long, value_parser = ["dataset", "model"])]
    pub kind: Option<String>,
}

/// `riskops drift REFERENCE CURRENT`.
#[derive(Args, Debug)]
#[command(after_help = "Each column gets Evidently's default method unless told otherwise: \
    with up to 1000 reference values, the Kolmogorov–Smirnov test for numerical columns with more than 5 \
    distinct values, else chi-square (more than 2 values) or the Z-test; above 1000, the normed Wasserstein \
    distance, else Jensen–Shannon. Tests drift below p = 0.05 (KS: at or below), distances at 0.1 and above. \
    The dataset drifts when at least half of the columns do.\n\n\
    Methods: ks wasserstein jensenshannon psi kl hellinger tvd chisquare chisquare_contingency ztest \
    anderson cramervonmises energy mannwhitney fisher gtest mmd\n\n\
    Exit status: 0 when done (1 with --fail-on-drift when the dataset drifts), 2 on an error.\n\n\
    Examples:\n  riskops drift train.csv today.csv\n  riskops drift ref.parquet cur.csv --method psi --format html --output drift.html\n  \
    riskops drift ref.csv cur.csv --method age=ks --categorical zip --fail-on-drift")]
pub struct DriftArgs {
    /// The reference data (CSV), e.g. the training set.
    pub reference: PathBuf,
    /// The current data (CSV), e.g. recent production inputs.
    pub current: PathBuf,
    /// A method for every column (`--method psi`) or for one (`--method age=ks`); repeatable.
    #[arg(long = "method", value_name = "[COLUMN=]METHOD")]
    pub methods: Vec<String>,
    /// Drift threshold for every column (p-value for tests, distance for distances).
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Share of drifted columns at which the dataset drifts.
    #[arg(long, default_value_t = 0.5)]
    pub drift_share: f64,
    /// Columns to treat as numerical, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub numerical: Vec<String>,
    /// Columns to treat as categorical, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub categorical: Vec<String>,
    /// Compare only these columns, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// Field separator of the CSV files (detected when absent); `\\t` for tab.
    #[arg(long)]
    pub delimiter: Option<String>,
    /// Write the result to this file instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Exit with status 1 when the dataset drifts (for CI pipelines).
    #[arg(long)]
    pub fail_on_drift: bool,
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
        ["drift"] => &[Text, Json, Html],
        ["lineage"] => &[Text, Json, Dot, Openlineage],
        ["compliance", "report"] => &[Text, Json, Markdown, Html],
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

/// `riskops serve`. Each setting comes from its flag, else its RISKOPS_* variable, else the
/// config file (`--config`, or ./riskops.toml when present), else its default.
#[derive(Args, Debug, Default)]
#[command(after_help = "The first start on an empty store creates the user `admin`. Its API token is \
                        RISKOPS_BOOTSTRAP_TOKEN when set, otherwise a random token printed once to stderr.\n\n\
                        Logs go to stderr; RISKOPS_LOG sets the level (e.g. `debug` or `info,riskops_store=debug`).")]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "RISKOPS_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Directory for the SQLite file and the artifacts/ folder [default: ./riskops-data].
    #[arg(long, env = "RISKOPS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Keep metadata in PostgreSQL instead of SQLite: postgres://user@host:5432/db.
    #[arg(long, env = "RISKOPS_DATABASE_URL", hide_env_values = true, value_parser = secret)]
    pub database_url: Option<Secret<String>>,
    /// Keep artifacts in S3-compatible storage: s3://bucket/prefix (AWS_ENDPOINT_URL,
    /// AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ALLOW_HTTP configure it)
    /// [default: the artifacts/ folder in the data directory].
    #[arg(long, env = "RISKOPS_ARTIFACT_STORE")]
    pub artifact_store: Option<String>,
    /// Largest accepted request body, e.g. 2MiB, 512KiB or a number of bytes [default: 2MiB].
    #[arg(long, env = "RISKOPS_BODY_LIMIT")]
    pub body_limit: Option<String>,
    /// Largest accepted dataset or model file, e.g. 16GiB [default: 16GiB].
    #[arg(long, env = "RISKOPS_UPLOAD_LIMIT")]
    pub upload_limit: Option<String>,
    /// Largest prediction or label batch, as sent and once decompressed (a gzip body is
    /// refused with 413 as soon as it would expand past it) [default: 64MiB].
    #[arg(long, env = "RISKOPS_BATCH_LIMIT")]
    pub batch_limit: Option<String>,
    /// Log lines as text or as JSON objects [default: text].
    #[arg(long, env = "RISKOPS_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// The Ed25519 private key (PKCS#8) that signs audit checkpoints and production models;
    /// created with mode 0600 on first start [default: signing-key.pk8 in the data directory].
    #[arg(long, env = "RISKOPS_SIGNING_KEY_FILE")]
    pub signing_key_file: Option<PathBuf>,
    /// How long a monitoring window that has ended must go without new records before it
    /// closes and monitors judge it, in seconds (a record of a later window closes it at
    /// once) [default: 10].
    #[arg(long, env = "RISKOPS_WINDOW_QUIET")]
    pub window_quiet: Option<u64>,
    /// A webhook receiver allowed although it is at a loopback, private or link-local
    /// address (refused by default, so project users cannot make the server call internal
    /// services): HOST for every port or HOST:PORT; repeat for several.
    #[arg(long = "webhook-allow-host", value_name = "HOST[:PORT]")]
    pub webhook_allow_host: Vec<String>,
    /// A TOML file with the same settings (listen, data_dir, database_url, artifact_store,
    /// body_limit, upload_limit, batch_limit, log_format, signing_key_file, bootstrap_token, window_quiet,
    /// webhook_allow_hosts)
    /// [default: ./riskops.toml if it exists].
    #[arg(long, env = "RISKOPS_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
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
