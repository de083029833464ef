//! The grammar of datasets, models, lineage, scoring with a registered model, and the
//! validation and stress tests riskops runs on it.

use super::*;

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
    /// Register a model as the next version, with its lineage: its artifact (--artifact), or
    /// the endpoint where it is served (--endpoint).
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
#[command(after_help = "Examples:\n  riskops model register churn --artifact model.onnx --framework onnx \\\n    \
    --training-data customers@3 --validation-data customers-holdout@1 \\\n    \
    --code-repo https://git.example.com/ml/churn.git --code-commit 9f1c2ab --params params.json --metrics metrics.json\n\n\
A model served over HTTP (MLServer, KServe, Triton; or an MLflow scoring server):\n  \
riskops model register churn --endpoint http://mlserver:8080/v2/models/churn --protocol v2 \\\n    \
--classes 0,1 --framework sklearn --training-data customers@3\n  \
riskops model register churn --endpoint http://mlflow:5000 --protocol mlflow --classes 0,1")]
pub struct RegisterArgs {
    /// Model name: letters, digits, '.', '_' and '-'.
    pub name: String,
    /// The model file (ONNX, pickle, …). riskops runs ONNX models itself (validate, stress,
    /// predict); other files are recorded only.
    #[arg(long, required_unless_present = "endpoint", conflicts_with = "endpoint")]
    pub artifact: Option<PathBuf>,
    /// Instead of a file: the URL where the model is served. riskops asks it what it takes
    /// and gives before registering (nothing is stored when it does not answer), then scores
    /// through it wherever it scores a model (validate, stress, predict). With --protocol v2
    /// (KServe, Triton, MLServer) this is the model's URL,
    /// http://HOST:PORT/v2/models/NAME (or …/NAME/versions/V); with --protocol mlflow, the
    /// scoring server's URL (riskops posts to /invocations).
    #[arg(long, value_name = "URL", requires = "protocol")]
    pub endpoint: Option<String>,
    /// How to talk to --endpoint: v2 (the Open Inference Protocol) or mlflow.
    #[arg(long, value_parser = ["v2", "mlflow"], requires = "endpoint")]
    pub protocol: Option<String>,
    /// With --endpoint, a classifier's classes in the order of its probability columns
    /// (scikit-learn: model.classes_, sorted), e.g. --classes 0,1. riskops then asks a v2
    /// endpoint for predict_proba as well as predict, so validation gets scores (ROC AUC).
    /// Without it the endpoint is taken for a regressor (its predictions are values).
    #[arg(long, value_delimiter = ',', requires = "endpoint")]
    pub classes: Option<Vec<String>>,
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
#[command(after_help = "The server explains the model's outputs on a seeded sample of the dataset version's rows \
    against --background-rows rows drawn from --background (default: the same dataset), with the additivity check \
    (base value + contributions = output) on every row, global importance as mean |SHAP|, dependence summaries of the \
    top five features (mean SHAP per value bin) and, with --label, scikit-learn's permutation importance (ROC AUC or \
    R² drop over --repeats shuffles per feature, mean and standard deviation).\n\n\
    Methods (--method):\n  \
    tree         exact interventional TreeSHAP, as shap's TreeExplainer with feature_perturbation=\"interventional\", \
    in the trees' margin (log-odds for boosted classifiers, probability for forests, raw for regressors): tree \
    ensembles riskops runs (ONNX from scikit-learn, XGBoost, LightGBM); default --rows 1,000.\n  \
    tree-path    exact path-dependent TreeSHAP, as shap's default TreeExplainer(model): the trees' covers are \
    replayed from the version's training data (--covers counts: rows, for scikit-learn without subsampling or \
    bootstrap and LightGBM without bagging; hessians: XGBoost's binary logistic objective). A bootstrapped forest's \
    covers cannot be replayed: use tree.\n  \
    permutation  shap's PermutationExplainer for any model, HTTP endpoints included: --permutations random feature \
    orderings per row, each walked forwards and backwards, in log-odds (binary classifiers) or raw (regressors); \
    adds up exactly, states its largest standard error, and is exact for linear models (error 0 up to float32 rounding); default --rows \
    100 (each row costs permutations × 2 × features × background-rows model calls).\n  \
    auto         tree where it applies, else permutation.\n\n\
    The report is filed as `explainability` evidence produced by riskops, which gates asking for produced evidence \
    accept; it names the background rows used, so shap can reproduce the values.\n\n\
    Example:\n  riskops explain scorer@2 --data holdout@1 --label default --rows 2000")]
pub struct ExplainArgs {
    /// The model version, `NAME@V`.
    pub version: String,
    /// The rows to explain, `NAME@V`.
    #[arg(long)]
    pub data: String,
    /// Rows explained (a seeded sample; default 1,000 for tree, 100 for permutation).
    #[arg(long)]
    pub rows: Option<u64>,
    /// The outcome column: left out of the inputs; permutation importance needs it.
    #[arg(long)]
    pub label: Option<String>,
    /// What SHAP integrates over, `NAME@V` (default: --data).
    #[arg(long)]
    pub background: Option<String>,
    /// Shuffles per feature for permutation importance.
    #[arg(long, default_value_t = 5)]
    pub repeats: u32,
    /// Seed of the samples and the shuffles.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// How SHAP values are computed (see below).
    #[arg(long, value_parser = ["auto", "tree", "tree-path", "permutation"], default_value = "auto")]
    pub method: String,
    /// tree-path: what a node's cover counts (XGBoost: hessians).
    #[arg(long, value_parser = ["counts", "hessians"])]
    pub covers: Option<String>,
    /// Also write the rows' SHAP values to this Parquet file (`row`, `output`, one column per
    /// feature).
    #[arg(long, value_name = "FILE")]
    pub rows_out: Option<std::path::PathBuf>,
    /// Background rows drawn from --background.
    #[arg(long, default_value_t = 100)]
    pub background_rows: u64,
    /// Feature orderings sampled per row (permutation method).
    #[arg(long, default_value_t = 10)]
    pub permutations: u32,
}

#[derive(Args, Debug)]
#[command(after_help = "Why the model decided as it did for one record (or each of a JSON array of records): the \
    server answers the model's label, its output (log-odds for boosted classifiers, probability for forests, raw for \
    regressors), the base value and each feature's SHAP contribution (exact interventional TreeSHAP against 100 rows \
    of the version's validation data, else its training data), largest first; base value + contributions = output. \
    Nothing is filed: it is a read.\n\n\
    Adverse action (ECOA / Regulation B): in finance projects, or with --reasons, each record also gets up to four \
    principal reasons — the features that pushed the output furthest toward the adverse side (--adverse), never one \
    that helped — in the wording the version was registered with (params.reason_texts: {\"PAY_0\": \"Recent \
    delinquency on your account\", …}), else the feature and its value.\n\n\
    Example:\n  echo '{\"LIMIT_BAL\": 20000, \"PAY_0\": 2, …}' > applicant.json\n  \
    riskops explain-record scorer@2 --project credit --record applicant.json --reasons")]
pub struct ExplainRecordArgs {
    /// The model version, `NAME@V`.
    pub version: String,
    /// The model's project.
    #[arg(long)]
    pub project: String,
    /// A JSON file: one object of column → value, or an array of them.
    #[arg(long)]
    pub record: std::path::PathBuf,
    /// Contributions shown per record (text output; JSON has them all).
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Add the principal reasons for an adverse decision (always on in finance projects).
    #[arg(long)]
    pub reasons: bool,
    /// Which way of the output is adverse (the output is the log-odds of the model's second
    /// class, e.g. default).
    #[arg(long, value_parser = ["increase", "decrease"], default_value = "increase")]
    pub adverse: String,
}
