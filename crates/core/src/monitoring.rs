//! Monitoring records as the store keeps them: window states (encoded
//! `riskops_monitor::WindowState`, one row per model version and window) and, per accepted
//! prediction, the fields a late label needs (its window, prediction, score, attributes):
//! never the features, which the windows summarise.

use crate::error::{Error, Result};

/// How a model's windows are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowSpec {
    Hour,
    Day,
}

impl WindowSpec {
    pub fn parse(field: &str, s: &str) -> Result<WindowSpec> {
        match s {
            "hour" => Ok(WindowSpec::Hour),
            "day" => Ok(WindowSpec::Day),
            other if other.starts_with("records:") => {
                Err(Error::invalid(field, "windows of N records are not supported yet; use hour or day"))
            }
            other => Err(Error::invalid(field, format!("{other:?}: use hour or day"))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            WindowSpec::Hour => "hour",
            WindowSpec::Day => "day",
        }
    }

    pub fn seconds(self) -> i64 {
        match self {
            WindowSpec::Hour => 3600,
            WindowSpec::Day => 86_400,
        }
    }

    /// The window `[start, end)` holding a record's timestamp (UTC, aligned).
    pub fn window_of(self, timestamp: i64) -> (i64, i64) {
        let len = self.seconds();
        let start = timestamp.div_euclid(len) * len;
        (start, start + len)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredWindow {
    pub version: u32,
    pub start: i64,
    pub end: i64,
    pub state: Vec<u8>,
    pub records: u64,
    pub labelled: u64,
    /// Bumped by each write: writers check it (optimistic concurrency).
    pub rev: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    pub id: String,
    pub version: u32,
    pub window_start: i64,
    /// The prediction as JSON text.
    pub prediction: String,
    pub score: Option<f64>,
    /// Attributes as a JSON object text.
    pub attributes: String,
    pub labelled: bool,
}

/// A window to write: `expected_rev` is `None` for a new window.
#[derive(Debug, Clone)]
pub struct WindowWrite {
    pub version: u32,
    pub start: i64,
    pub end: i64,
    pub state: Vec<u8>,
    pub records: u64,
    pub labelled: u64,
    pub expected_rev: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct IngestWrite {
    pub model: String,
    pub windows: Vec<WindowWrite>,
    pub new_records: Vec<StoredRecord>,
    pub labelled: Vec<String>,
}
