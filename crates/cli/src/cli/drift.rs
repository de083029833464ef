//! The grammar of drift between two local tables.

use super::*;

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
    /// Memory the tables may take (e.g. 512M, 2G; default a quarter of the machine's): larger
    /// tables are read and compared a group of columns at a time, with the same results.
    #[arg(long, value_name = "SIZE")]
    pub memory_limit: Option<String>,
}

/// `riskops ood --reference REF FILE`.
#[derive(Args, Debug)]
#[command(after_help = "Each record of FILE gets an ECOD outlier score (Li et al. 2022; equal to pyod's \
    ECOD().fit(reference).decision_function(FILE) to 1e-9): per feature, the tail probabilities of its value among \
    the reference and FILE's records pooled, as −log, summed over the features. A record is out of distribution \
    when its score is above the 99th percentile of the reference's own scores; the share of such records is the \
    OOD rate. Features are the numeric columns both files share, less a prediction log's id, timestamp, version, \
    prediction, score, label, latency_ms, attr.* and proba.*; rows with a missing value get no score.\n\n\
    Examples:\n  riskops ood --reference train.csv predictions.csv --output scores.csv\n  \
    riskops ood --reference customers@2 today.parquet --format json")]
pub struct OodArgs {
    /// The reference: a CSV or Parquet file, or a registered dataset version NAME@V (fetched).
    #[arg(long)]
    pub reference: String,
    /// The records to score: CSV or Parquet.
    pub file: PathBuf,
    /// Use only these features, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// Write each record's score as CSV (row, ood_score, ood) to this file instead of stdout.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
}
