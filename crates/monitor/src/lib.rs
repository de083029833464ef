//! Production monitoring windows, without IO: the state a window keeps and the report it
//! gives when it closes.
//!
//! - [`Record`]: one prediction log record, already parsed ([`Record::from_json`]).
//! - [`InputSchema`]: the model's inputs, read from the version's reference
//!   [`TableProfile`](riskops_data::profile::TableProfile); [`InputSchema::check`] answers
//!   whether a record can be kept (no unknown or missing feature, a readable outcome);
//!   a feature value of the wrong kind is kept as that feature's type violation.
//! - [`WindowState`]: per feature the reference profile's own sketches (moments, KLL
//!   quantiles, frequencies) plus quality counters; the prediction's summary; performance
//!   ([`BinaryOutcomes`](riskops_stats::metrics::BinaryOutcomes) or
//!   [`RegressionSummary`](riskops_stats::metrics::RegressionSummary)); per sensitive
//!   attribute [`GroupOutcomes`](riskops_stats::metrics::GroupOutcomes) of the labelled
//!   outcomes and of every record's predictions (selection rates need no labels); refused
//!   records by reason; latency.
//!   Mergeable (hours roll up into days) and encodable ([`WindowState::encode`]).
//!   Late labels: [`WindowState::add_outcome`] with the stored record's prediction.
//! - [`WindowReport`]: drift per feature sketch against sketch with riskops-drift's
//!   (Evidently's) rules, prediction drift, data quality, performance, fairness, latency.
//!
//! Times are arguments: nothing here reads a clock.
//!
//! # Memory
//! A window's size does not depend on the number of records: per numeric feature a KLL
//! sketch with `k` = [`WINDOW_K`] (≤ ~2,400 retained values, ~19 KB) plus 56 bytes of
//! moments and ≤ [`SMALL_CAP`] exact value counts; per int64/bool/text feature a
//! frequency table capped at 10,000 categories (then one `other` count); the prediction
//! likewise; performance summaries (ROC AUC exact up to 4,096 distinct scores, then 4,096
//! bins); per attribute (≤ [`MAX_ATTRIBUTES`] when not configured) ≤ 1,000 groups.
//!
//! # Exact and approximate
//! See ARCHITECTURE.md, "Monitoring windows: what is exact and what is approximate".
//! Counts, rates, categorical drift (chi-square, Z-test, Jensen–Shannon on frequency
//! tables), performance and fairness are exact; KS and Wasserstein drift on KLL sketches
//! come with an `approx_error` bound and a `near_threshold` flag.

pub mod analysis;
mod codec;
pub mod columns;
pub mod drift;
mod drift_report;
pub mod estimation;
mod features;
pub mod ood;
mod record;
mod report;
mod sample;
mod schema;
pub mod table_records;
mod window;

pub use columns::{RecordBuilder, RecordColumn};
pub use drift::{FeatureDrift, column_drift, ks_p_value};
pub use drift_report::{ProfileDrift, drift_report, profile_drift};
pub use features::{Features, Layout};
pub use record::{Record, RecordReader, Text, Value, bool_text, number_category};
pub use report::{
    AttributeFairness, BinaryPerformance, EXPLAIN_FEATURE, Explanation, FeatureAttribution, GroupFairness, Latency,
    Named, Observed, PerformanceReport, Quality, RegressionPerformance, ReportContext, WindowDrift, WindowReport,
    is_metric, metric_names, rfc3339,
};
/// The column types and methods a [`FeatureDrift`] names.
pub use riskops_drift::{ColumnType, Method};
pub use sample::{ExplainSample, MAX_EXPLAIN_SAMPLE};
pub use schema::{Conformer, FeatureSpec, InputSchema, RejectReason, Rejections, SchemaOptions, Task, type_violation};
pub use window::{ColumnState, LATENCY_K, MAX_ATTRIBUTES, Performance, SMALL_CAP, SmallCounts, WINDOW_K, WindowState};

/// Why a window operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MonitorError {
    /// Two windows (or a window and a schema) do not describe the same thing.
    Mismatch(String),
    /// Bytes that are not a window state.
    Decode(String),
    /// An outcome whose prediction or label cannot be read for the task.
    Outcome(String),
    /// A back-test (`analysis::analyze`) whose inputs cannot be analyzed; the text says why.
    Analysis(String),
}

impl std::fmt::Display for MonitorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MonitorError::Mismatch(m) => write!(f, "windows do not match: {m}"),
            MonitorError::Decode(m) => write!(f, "cannot decode window state: {m}"),
            MonitorError::Outcome(m) => write!(f, "cannot read outcome: {m}"),
            MonitorError::Analysis(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for MonitorError {}
