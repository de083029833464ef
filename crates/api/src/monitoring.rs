//! Prediction logs and labels in, windows out, and a model's monitoring settings.

use crate::window::WindowReport;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A record of a batch that was not accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Rejected {
    /// Position in the batch (0-based).
    pub index: usize,
    pub id: Option<String>,
    pub reasons: Vec<String>,
}

/// What a batch of predictions or labels did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IngestAnswer {
    /// Records stored now (committed before this answer).
    pub accepted: u64,
    /// Records whose id was already accepted: counted once.
    pub duplicates: u64,
    pub rejected: Vec<Rejected>,
}

/// A late label: `{"id","label"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Label {
    /// The prediction's id (a string, or a number as sent).
    #[schema(value_type = String)]
    pub id: serde_json::Value,
    /// The true outcome.
    #[schema(value_type = Object)]
    pub label: serde_json::Value,
}

/// Window reports, oldest first: drift per feature against the version's reference
/// dataset, data quality, performance, fairness per sensitive attribute, latency, business
/// value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MonitoringView {
    pub windows: Vec<WindowReport>,
}

/// How a model is monitored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MonitorConfig {
    /// `hour`, `day` or `records:N`.
    pub window: String,
    /// `binary` or `regression`.
    pub task: String,
    /// The positive class of a binary task.
    pub positive: Option<String>,
    /// Reference columns that are not model inputs (the target, ids).
    pub exclude: Vec<String>,
    /// Record attributes fairness is computed for (empty: all that records carry).
    pub sensitive: Vec<String>,
    /// How long raw records are kept, in days.
    pub retention_days: u32,
    /// The fewest records a window needs before its drift is judged.
    pub min_records: u64,
    /// Records per window sampled to explain with the model (attribution drift); 0: none.
    #[serde(default)]
    pub explain_sample: u32,
    /// Reference columns for performance estimated without labels (CBPE): the model's
    /// score of the positive class, the label and the predicted class (`null`: a score
    /// above 0.5 predicts the positive class). `null`: not estimated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_column: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_column: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prediction_column: Option<String>,
}

/// One ingested batch's accepted records, kept as Parquet (zstd).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Segment {
    /// `sha256:<hex>`.
    pub digest: String,
    pub records: u64,
    /// Bytes.
    pub size: u64,
    pub first_record: String,
    pub last_record: String,
    pub created_at: String,
    pub expires_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SegmentList {
    /// Oldest first.
    pub segments: Vec<Segment>,
}
