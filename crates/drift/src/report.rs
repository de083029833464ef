//! The result of a drift comparison.

use crate::method::Method;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Numerical,
    Categorical,
}

impl ColumnType {
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Numerical => "numerical",
            ColumnType::Categorical => "categorical",
        }
    }
}

/// What the two distributions look like, for a chart: shares of each sample per bin or
/// per category (each side sums to 1 over what is shown, except an "other" remainder).
#[derive(Debug, Clone, PartialEq)]
pub enum Plot {
    /// `edges.len() == reference.len() + 1`.
    Histogram { edges: Vec<f64>, reference: Vec<f64>, current: Vec<f64> },
    /// The most frequent categories; the rest, if any, summed under `other`.
    Bars { labels: Vec<String>, reference: Vec<f64>, current: Vec<f64>, other: Option<(f64, f64)> },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDrift {
    pub name: String,
    pub column_type: ColumnType,
    pub method: Method,
    /// The test statistic (tests) or the distance (distances).
    pub statistic: f64,
    /// For tests only.
    pub p_value: Option<f64>,
    pub threshold: f64,
    pub drifted: bool,
    /// Values compared, after dropping missing and infinite ones.
    pub n_reference: usize,
    pub n_current: usize,
    /// Distinct values over both samples.
    pub n_values: usize,
    pub plot: Plot,
}

impl ColumnDrift {
    /// The number the verdict is based on: the p-value of a test, the distance otherwise.
    pub fn score(&self) -> f64 {
        self.p_value.unwrap_or(self.statistic)
    }
}

/// A column left out, and why (free text, for now).
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    pub name: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DriftReport {
    pub n_reference: usize,
    pub n_current: usize,
    /// In the reference's column order.
    pub columns: Vec<ColumnDrift>,
    pub skipped: Vec<Skipped>,
    pub n_drifted: usize,
    pub drift_share: f64,
    pub drift_share_threshold: f64,
    pub drifted: bool,
}

impl DriftReport {
    pub(crate) fn new(
        n_reference: usize,
        n_current: usize,
        columns: Vec<ColumnDrift>,
        skipped: Vec<Skipped>,
        drift_share_threshold: f64,
    ) -> Self {
        let n_drifted = columns.iter().filter(|c| c.drifted).count();
        let drift_share = if columns.is_empty() { 0.0 } else { n_drifted as f64 / columns.len() as f64 };
        DriftReport {
            n_reference,
            n_current,
            n_drifted,
            drift_share,
            drift_share_threshold,
            drifted: !columns.is_empty() && drift_share >= drift_share_threshold,
            columns,
            skipped,
        }
    }

    /// One report from the reports of consecutive column groups of the same two tables
    /// (compared group by group to bound memory): their columns and skipped columns in
    /// order, the dataset's verdict taken over all of them. Equal to comparing the tables
    /// whole, since each column's result depends on that column alone.
    pub fn combine(parts: Vec<DriftReport>, drift_share_threshold: f64) -> DriftReport {
        let (n_reference, n_current) = parts.first().map_or((0, 0), |p| (p.n_reference, p.n_current));
        let mut columns = Vec::new();
        let mut skipped = Vec::new();
        for part in parts {
            columns.extend(part.columns);
            skipped.extend(part.skipped);
        }
        DriftReport::new(n_reference, n_current, columns, skipped, drift_share_threshold)
    }
}
