//! The grammar of prediction logs and labels in, windows, monitors, incidents and webhooks.

use super::*;

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
        /// Records per window to explain with the model (a seeded sample, 0 to 1000): the
        /// window report then shows mean |SHAP| per feature, its share and the change
        /// from the validation data's (`explain.<feature>.share`, `.change`, `explain.shift`),
        /// for ONNX tree ensembles riskops runs [default: 0, none].
        #[arg(long, value_name = "N")]
        explain_sample: Option<u32>,
        /// The reference data's column holding the model's score of the positive class:
        /// with --label-column, each closed window gets its performance estimated without
        /// labels (NannyML's CBPE: estimated.roc_auc, .f1, … with bands and alerts). These
        /// columns are not model inputs and are left out of the schema.
        #[arg(long, value_name = "C", requires = "label_column")]
        score_column: Option<String>,
        /// The reference data's label column (on every row), for --score-column.
        #[arg(long, value_name = "C", requires = "score_column")]
        label_column: Option<String>,
        /// The reference data's predicted class [default: a score above 0.5 predicts the
        /// positive class].
        #[arg(long, value_name = "C", requires = "score_column")]
        prediction_column: Option<String>,
    },
    /// Back-test a historical file of predictions offline, chunk by chunk as NannyML
    /// chunks it: univariate drift, performance estimated without labels (CBPE), realized
    /// performance where labels exist, and multivariate drift (reconstruction error).
    #[command(alias = "backfill", after_help = ANALYZE_HELP)]
    Analyze(AnalyzeArgs),
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

const ANALYZE_HELP: &str = "Chunk i holds rows i·N … (i+1)·N − 1 of the analysis file (N = --chunk-size; the last, \
    smaller chunk is kept), as NannyML's chunk_size makes them. The reference (a file with the model's score, predicted \
    class and label on every row, e.g. its validation data) fits the performance estimator (NannyML 0.13.1's CBPE, \
    binary classification, with its isotonic calibration of scores when its check finds it helps) and the \
    data-reconstruction model (PCA to 65% of variance); thresholds are the reference chunks' mean ± 3 std. Features: \
    every reference column but the score, prediction and label (and a prediction log's id, timestamp, \
    version, latency_ms, attr.*, proba.*), or --columns. Drift per chunk is `riskops drift`'s on \
    those rows. Labels may be missing (late) in the analysis file: realized metrics are shown where they exist. \
    Without a score column nothing is estimated.\n\n\
    JSON: {\"chunk_size\",\"reference\":{…},\"chunks\":[{\"start\",\"end\",\"records\",\"drift\":{\"share\",\"drifted\",\"features\":[{\"name\",\"method\",\"statistic\",\"p_value\",\"threshold\",\"drifted\"}],\"skipped\"},\
    \"estimated\":{\"roc_auc\":{\"value\",\"sampling_error\",\"lower\",\"upper\",\"lower_threshold\",\"upper_threshold\",\"alert\"},…}|null,\
    \"realized\":{…}|null,\"multivariate\":{\"reconstruction_error\":{…}}|null}]}.\n\n\
    Example:\n  riskops monitor analyze --reference validation.csv --analysis predictions.csv --chunk-size 5000 --format html -o backtest.html";

#[derive(Args, Debug)]
pub struct AnalyzeArgs {
    /// The reference: a CSV or Parquet file with features, scores, predictions and labels,
    /// or a registered dataset version NAME@V (fetched from the server).
    #[arg(long)]
    pub reference: String,
    /// The predictions to analyze: CSV or Parquet, the same columns (labels may be missing).
    #[arg(long)]
    pub analysis: PathBuf,
    /// Rows per chunk.
    #[arg(long, value_name = "N")]
    pub chunk_size: usize,
    /// The model's probability of the positive class.
    #[arg(long, default_value = "score")]
    pub score_column: String,
    /// The predicted class (0/1 or true/false).
    #[arg(long, default_value = "prediction")]
    pub prediction_column: String,
    /// The actual class (0/1 or true/false; empty where not known yet).
    #[arg(long, default_value = "label")]
    pub label_column: String,
    /// The feature columns, comma-separated [default: every reference column but the score,
    /// prediction and label, and a prediction log's id, timestamp, version, latency_ms,
    /// attr.* and proba.*].
    #[arg(long, value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// CSV field delimiter [default: sniffed].
    #[arg(long)]
    pub delimiter: Option<String>,
    /// Write the report to this file instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
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
    explain.<feature|*>.share   its share of mean |SHAP| (explain.features.<feature> in the JSON);\n                          \
    or change (from the validation data's share), mean_abs_shap, …\n  \
    explain.shift           how much of the model's reliance moved between features (0 to 1)\n  \
    explain.unexplained     share of the logged outputs the attributions do not account for\n  \
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
        /// monitor (a configured monitor breached) or security (the server's own checks,
        /// e.g. a deployed artifact that no longer verifies).
        #[arg(long)]
        kind: Option<String>,
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
