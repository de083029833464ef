//! What can go wrong, naming the column at fault.

#[derive(Debug, thiserror::Error)]
pub enum DriftError {
    #[error("column {column:?} is not in the {missing_from} data")]
    ColumnMissing { column: String, missing_from: &'static str },
    #[error("column {column:?} has no values in the {side} data (empty, missing or infinite only)")]
    NoValues { column: String, side: &'static str },
    #[error("method {method} does not fit column {column:?}: {reason}")]
    MethodDoesNotFit { column: String, method: &'static str, reason: String },
    #[error("column {column:?} holds text ({example:?}), so it cannot be numerical")]
    TextAsNumerical { column: String, example: String },
    #[error("column {column:?}: {source}")]
    Stats { column: String, source: riskops_stats::StatsError },
    #[error("{0}")]
    BadOption(String),
    #[error("internal error: {0}")]
    Internal(&'static str),
}
