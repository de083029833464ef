//! Data drift between a reference and a current table.
//!
//! [`detect_drift`] types each column, picks a test or distance per column, runs them in
//! parallel across columns and decides drift per column and for the dataset. The defaults
//! are Evidently's (`DataDriftPreset`, evidently 0.7.23), written down in [`rules`], so the
//! same data gives the same answers; every choice can be overridden in [`DriftOptions`].
//!
//! No IO: tables come in, a [`DriftReport`] goes out. Tables are consumed so that each
//! column's memory is reused for sorting and freed as soon as the column is done.

mod column;
mod error;
mod method;
mod prepare;
mod prepared;
mod report;
pub mod rules;

pub use error::DriftError;
pub use method::{Method, MethodKind};
use prepared::ReferenceValues;
pub use prepared::{PreparedColumn, PreparedReference};
pub use report::{ColumnDrift, ColumnType, DriftReport, Plot, Skipped};

use riskops_data::Table;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How to compare; `Default` is Evidently's behaviour.
#[derive(Debug, Clone)]
pub struct DriftOptions {
    /// One method for every column, instead of the per-column default.
    pub method: Option<Method>,
    /// A method for a named column; wins over `method`.
    pub column_methods: HashMap<String, Method>,
    /// One threshold for every column, instead of each method's default.
    pub threshold: Option<f64>,
    /// The dataset drifts when the share of drifted columns is at least this.
    pub drift_share: f64,
    /// Columns to treat as numerical / categorical whatever their values look like.
    pub numerical: Vec<String>,
    pub categorical: Vec<String>,
    /// Only these columns (all shared columns when `None`).
    pub columns: Option<Vec<String>>,
    /// Worker threads; 0 means one per available core.
    pub threads: usize,
}

impl Default for DriftOptions {
    fn default() -> Self {
        DriftOptions {
            method: None,
            column_methods: HashMap::new(),
            threshold: None,
            drift_share: rules::DRIFT_SHARE,
            numerical: Vec::new(),
            categorical: Vec::new(),
            columns: None,
            threads: 0,
        }
    }
}

/// Compares `current` with `reference`. `progress(done, total)` is called after each column.
pub fn detect_drift(
    reference: Table,
    current: Table,
    options: &DriftOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<DriftReport, DriftError> {
    options.validate()?;
    let (n_reference, n_current) = (reference.rows, current.rows);
    let jobs = pair_columns(reference, current, options)?;
    run_jobs(jobs, n_reference, n_current, options, progress)
}

/// Compares `current` with a reference prepared once ([`PreparedReference`]): the same
/// per-column computation as [`detect_drift`] on the reference's table, so the report is
/// identical, without sorting or counting the reference again.
pub fn detect_drift_prepared(
    reference: &PreparedReference,
    current: Table,
    options: &DriftOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<DriftReport, DriftError> {
    options.validate()?;
    let n_current = current.rows;
    let ref_names: Vec<String> = reference.names().map(str::to_string).collect();
    let mut current_by_name = check_columns(&ref_names, current, options)?;
    let wanted = wanted_columns(&ref_names, options);
    let mut jobs = Vec::with_capacity(wanted.len());
    for col in &reference.columns {
        if !wanted.contains(&col.name) {
            continue;
        }
        let cur = current_by_name
            .remove(&col.name)
            .ok_or_else(|| DriftError::ColumnMissing { column: col.name.clone(), missing_from: "current" })?;
        jobs.push(column::Job { name: col.name.clone(), reference: ReferenceValues::Prepared(col), current: cur });
    }
    run_jobs(jobs, reference.rows, n_current, options, progress)
}

/// Runs the columns' comparisons on the worker threads, in the reference's column order.
fn run_jobs(
    jobs: Vec<column::Job<'_>>,
    n_reference: usize,
    n_current: usize,
    options: &DriftOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<DriftReport, DriftError> {
    let total = jobs.len();
    let jobs: Vec<Mutex<Option<column::Job>>> = jobs.into_iter().map(|j| Mutex::new(Some(j))).collect();
    let results: Vec<Mutex<Option<Result<column::Outcome, DriftError>>>> =
        (0..total).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        n => n,
    }
    .min(total.max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(slot) = jobs.get(i) else { break };
                    let job = slot.lock().ok().and_then(|mut j| j.take());
                    let Some(job) = job else { continue };
                    let outcome = column::run(job, options);
                    if let Ok(mut r) = results[i].lock() {
                        *r = Some(outcome);
                    }
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
                }
            });
        }
    });
    let mut columns = Vec::with_capacity(total);
    let mut skipped = Vec::new();
    for slot in results {
        let outcome = slot.into_inner().ok().flatten().ok_or(DriftError::Internal("a column was not computed"))?;
        match outcome? {
            column::Outcome::Drift(c) => columns.push(c),
            column::Outcome::Skipped(s) => skipped.push(s),
        }
    }
    Ok(DriftReport::new(n_reference, n_current, columns, skipped, options.drift_share))
}

/// Matches columns by name, in the reference's order; every compared column must be in
/// both tables.
fn pair_columns(
    reference: Table,
    current: Table,
    options: &DriftOptions,
) -> Result<Vec<column::Job<'static>>, DriftError> {
    let ref_names: Vec<String> = reference.names().map(str::to_string).collect();
    let mut current_by_name = check_columns(&ref_names, current, options)?;
    let wanted = wanted_columns(&ref_names, options);
    let mut jobs = Vec::with_capacity(wanted.len());
    for col in reference.columns {
        if !wanted.contains(&col.name) {
            continue;
        }
        let cur = current_by_name
            .remove(&col.name)
            .ok_or_else(|| DriftError::ColumnMissing { column: col.name.clone(), missing_from: "current" })?;
        jobs.push(column::Job { name: col.name, reference: ReferenceValues::Raw(col.values), current: cur });
    }
    Ok(jobs)
}

fn wanted_columns(ref_names: &[String], options: &DriftOptions) -> Vec<String> {
    options.columns.clone().unwrap_or_else(|| ref_names.to_vec())
}

/// Checks that every compared column is in both tables; the current table's columns by name.
fn check_columns(
    ref_names: &[String],
    current: Table,
    options: &DriftOptions,
) -> Result<HashMap<String, riskops_data::Values>, DriftError> {
    let cur_names: Vec<String> = current.names().map(str::to_string).collect();
    if options.columns.is_none()
        && let Some(missing) = cur_names.iter().find(|n| !ref_names.contains(n))
    {
        return Err(DriftError::ColumnMissing { column: missing.clone(), missing_from: "reference" });
    }
    let wanted = wanted_columns(ref_names, options);
    for name in wanted.iter().chain(&options.numerical).chain(&options.categorical).chain(options.column_methods.keys())
    {
        if !ref_names.contains(name) {
            return Err(DriftError::ColumnMissing { column: name.clone(), missing_from: "reference" });
        }
        if !cur_names.contains(name) {
            return Err(DriftError::ColumnMissing { column: name.clone(), missing_from: "current" });
        }
    }
    Ok(current.columns.into_iter().map(|c| (c.name, c.values)).collect())
}

impl DriftOptions {
    fn validate(&self) -> Result<(), DriftError> {
        if !(0.0..=1.0).contains(&self.drift_share) {
            return Err(DriftError::BadOption(format!(
                "drift share must be between 0 and 1, not {}",
                self.drift_share
            )));
        }
        if let Some(t) = self.threshold
            && !(t.is_finite() && t >= 0.0)
        {
            return Err(DriftError::BadOption(format!("threshold must be a non-negative number, not {t}")));
        }
        if let Some(both) = self.numerical.iter().find(|n| self.categorical.contains(n)) {
            return Err(DriftError::BadOption(format!("column {both:?} cannot be both numerical and categorical")));
        }
        Ok(())
    }
}
