//! Monitoring records as the store keeps them: window states (encoded
//! `riskops_monitor::WindowState`, one row per model version and window) and, per accepted
//! prediction, the fields a late label needs (its window, prediction, score, attributes):
//! never the features, which the windows summarise.

use crate::error::{Error, Result};

/// How a model's windows are cut: by UTC hour or day, or every N records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowSpec {
    Hour,
    Day,
    /// Tumbling windows of N accepted records per version, in arrival order. A window's
    /// start is its first record's timestamp (one second after the previous window's start
    /// when that is later, so starts stay unique), its end one second after its latest
    /// record.
    Records(u32),
}

/// The largest N of `records:N`.
pub const MAX_WINDOW_RECORDS: u32 = 10_000_000;

impl WindowSpec {
    pub fn parse(field: &str, s: &str) -> Result<WindowSpec> {
        match s {
            "hour" => Ok(WindowSpec::Hour),
            "day" => Ok(WindowSpec::Day),
            other => match other.strip_prefix("records:").map(str::parse::<u32>) {
                Some(Ok(n)) if (1..=MAX_WINDOW_RECORDS).contains(&n) => Ok(WindowSpec::Records(n)),
                Some(_) => {
                    Err(Error::invalid(field, format!("{other:?}: N of records:N must be 1 to {MAX_WINDOW_RECORDS}")))
                }
                None => Err(Error::invalid(field, format!("{other:?}: use hour, day or records:N"))),
            },
        }
    }

    pub fn name(self) -> String {
        match self {
            WindowSpec::Hour => "hour".into(),
            WindowSpec::Day => "day".into(),
            WindowSpec::Records(n) => format!("records:{n}"),
        }
    }

    /// The length of a time window; `None` for windows of N records.
    pub fn seconds(self) -> Option<i64> {
        match self {
            WindowSpec::Hour => Some(3600),
            WindowSpec::Day => Some(86_400),
            WindowSpec::Records(_) => None,
        }
    }

    /// The time window `[start, end)` holding a timestamp (UTC, aligned); windows of N
    /// records are cut by count instead, so for them this is the one-second span.
    pub fn window_of(self, timestamp: i64) -> (i64, i64) {
        let Some(len) = self.seconds() else { return (timestamp, timestamp + 1) };
        let start = timestamp.div_euclid(len) * len;
        (start, start + len)
    }

    /// Whether windows cut this way are rolled up into `target` windows (hours into days;
    /// windows of N records into hours or days by their start).
    pub fn rolls_up_into(self, target: WindowSpec) -> bool {
        match (self.seconds(), target.seconds()) {
            (Some(own), Some(t)) => t > own,
            (None, Some(_)) => true,
            (_, None) => false,
        }
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

/// A stored window without its state, with its chart values (a [`crate::series::SeriesPoint`]
/// as JSON text) when they were stored for the window's current revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesRow {
    pub version: u32,
    pub start: i64,
    pub end: i64,
    pub rev: i64,
    pub point: Option<String>,
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
    /// Ids of records refused and counted in their window now (a refused id counts once).
    pub refused: Vec<String>,
    /// The batch's raw records, already in the artifact store.
    pub segment: Option<Segment>,
}

/// A closed window's (or rolled-up range's) drift computed exactly from its raw records,
/// as stored: kept after its segments expire.
#[derive(Debug, Clone, PartialEq)]
pub struct ExactDriftRow {
    pub model: String,
    pub version: u32,
    /// Unix seconds, the window's (or range's) bounds.
    pub start: i64,
    pub end: i64,
    /// Records it was computed from.
    pub records: u64,
    /// Unix seconds.
    pub computed_at: i64,
    /// Core's JSON of the per-feature results (`service::monitoring::exact`).
    pub drift: String,
}

/// A closed window's performance estimates and reconstruction error, as stored (see
/// `service::monitoring::estimates`).
#[derive(Debug, Clone, PartialEq)]
pub struct WindowEstimatesRow {
    pub model: String,
    pub version: u32,
    /// Unix seconds, the window's (or range's) bounds.
    pub start: i64,
    pub end: i64,
    /// Records they were computed from.
    pub records: u64,
    /// Unix seconds.
    pub computed_at: i64,
    /// Core's JSON of both results.
    pub estimates: String,
}

/// A batch's accepted raw records as one compressed columnar file (Parquet, zstd) in the
/// artifact store, kept until `expires_at` (the model's retention from when it arrived).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub model: String,
    pub digest: crate::artifact::Digest,
    pub records: u64,
    pub size: u64,
    /// Unix seconds of the earliest and latest record.
    pub first_ts: i64,
    pub last_ts: i64,
    /// Unix seconds.
    pub created_at: i64,
    pub expires_at: i64,
}

impl Segment {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "digest": self.digest.as_str(),
            "records": self.records,
            "size": self.size,
            "first_record": riskops_monitor::rfc3339(self.first_ts),
            "last_record": riskops_monitor::rfc3339(self.last_ts),
            "created_at": riskops_monitor::rfc3339(self.created_at),
            "expires_at": riskops_monitor::rfc3339(self.expires_at),
        })
    }
}

/// A window's report as the API answers it and monitors read it: the monitor crate's
/// report plus what core adds, the business value of its labelled decisions.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitoredWindow {
    pub report: riskops_monitor::WindowReport,
    /// `None` without values per outcome or labels.
    pub business: Option<Business>,
}

/// The window's decisions valued with the model's values per outcome (costs are the
/// negated values, so a monitor can fire on `business.cost_per_1000 --above X`).
#[derive(Debug, Clone, PartialEq)]
pub struct Business {
    pub currency: String,
    pub value_per_1000: f64,
    pub value: f64,
    /// Labelled decisions valued.
    pub decisions: u64,
}

impl Business {
    pub fn cost_per_1000(&self) -> f64 {
        -self.value_per_1000
    }

    pub fn cost(&self) -> f64 {
        -self.value
    }

    /// The names a monitor may watch (`business.<name>`).
    pub const METRICS: [&'static str; 5] = ["value_per_1000", "cost_per_1000", "value", "cost", "decisions"];

    pub fn metric(&self, name: &str) -> Option<f64> {
        match name {
            "value_per_1000" => Some(self.value_per_1000),
            "cost_per_1000" => Some(self.cost_per_1000()),
            "value" => Some(self.value),
            "cost" => Some(self.cost()),
            "decisions" => Some(self.decisions as f64),
            _ => None,
        }
    }
}

impl MonitoredWindow {
    /// The value a monitor's metric path names (see [`riskops_monitor::WindowReport::metric`]).
    pub fn metric(&self, path: &[&str]) -> Option<riskops_monitor::Observed> {
        match path {
            ["business", name] => {
                self.business.as_ref()?.metric(name).filter(|x| x.is_finite()).map(riskops_monitor::Observed::One)
            }
            _ => self.report.metric(path),
        }
    }
}

/// A model's latest window in brief, for the project's status.
#[derive(Debug, Clone, PartialEq)]
pub struct LastWindow {
    pub start: i64,
    pub end: i64,
    pub version: u32,
    pub records: u64,
    pub labelled: u64,
    pub drift_share: f64,
    pub drifted_features: Vec<String>,
    pub performance: Option<riskops_monitor::PerformanceReport>,
    /// The sensitive attribute with the lowest demographic parity ratio, and that ratio.
    pub lowest_parity: Option<(String, f64)>,
    pub business: Option<Business>,
}
