//! `drift` and `drift_from_profiles`: riskops-drift on two tables, or riskops-monitor's
//! sketch comparison on two profiles, answered as the CLI answers (`riskops drift --format
//! json` and `--format html` are rendered by the same functions).

use crate::arrow::read_table;
use crate::profile::Profile;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use riskops_core::{drift_html, drift_json};
use riskops_drift::{DriftOptions, DriftReport, Method, Skipped, detect_drift, rules};
use riskops_monitor::FeatureDrift;
use serde_json::{Value, json};
use std::collections::HashMap;

/// A drift report as the engine made it; `riskops.DriftReport` wraps it for Python.
#[pyclass(module = "riskops._riskops", frozen)]
pub struct NativeDriftReport {
    report: DriftReport,
    /// From profiles: each compared column's exactness and error bound (absent for tables,
    /// whose statistics are exact).
    bounds: Option<Vec<FeatureDrift>>,
}

#[pymethods]
impl NativeDriftReport {
    /// The report as `riskops drift --format json` prints it; from profiles, each column also
    /// says `exact`, `approx_error` (bound on the statistic's error, 99% confidence, null when
    /// unbounded) and `near_threshold` (the verdict could differ from the exact one).
    fn to_json(&self) -> String {
        let mut doc = drift_json::to_json(&self.report);
        if let Some(bounds) = &self.bounds {
            add_bounds(&mut doc, bounds);
        }
        serde_json::to_string(&doc).unwrap_or_default()
    }

    /// One standalone HTML page, as `riskops drift --format html` writes it.
    #[pyo3(signature = (reference = "reference", current = "current"))]
    fn to_html(&self, reference: &str, current: &str) -> String {
        let labels = drift_html::Labels { reference, current, preface: "" };
        drift_html::render(&self.report, labels, drift_html::Stylesheet::Inline)
    }

    #[getter]
    fn drifted(&self) -> bool {
        self.report.drifted
    }

    #[getter]
    fn share(&self) -> f64 {
        self.report.drift_share
    }
}

fn add_bounds(doc: &mut Value, bounds: &[FeatureDrift]) {
    let number = |x: f64| serde_json::Number::from_f64(x).map(Value::Number).unwrap_or(Value::Null);
    if let Some(columns) = doc.get_mut("columns").and_then(Value::as_array_mut) {
        for (column, bound) in columns.iter_mut().zip(bounds) {
            column["exact"] = json!(bound.exact);
            column["approx_error"] = bound.approx_error.map(number).unwrap_or(Value::Null);
            column["near_threshold"] = json!(bound.near_threshold);
        }
    }
    doc["dataset"]["exact"] = json!(bounds.iter().all(|b| b.exact));
}

/// Compares `current` with `reference` (objects exporting `__arrow_c_stream__`; the Python
/// wrapper turns pandas DataFrames into pyarrow Tables first).
#[pyfunction]
#[pyo3(signature = (reference, current, *, columns = None, method = None, column_methods = None,
    threshold = None, drift_share = None, numerical = None, categorical = None))]
#[allow(clippy::too_many_arguments)]
pub fn drift(
    py: Python<'_>,
    reference: &Bound<'_, PyAny>,
    current: &Bound<'_, PyAny>,
    columns: Option<Vec<String>>,
    method: Option<String>,
    column_methods: Option<HashMap<String, String>>,
    threshold: Option<f64>,
    drift_share: Option<f64>,
    numerical: Option<Vec<String>>,
    categorical: Option<Vec<String>>,
) -> PyResult<NativeDriftReport> {
    let mut options = DriftOptions {
        columns,
        threshold,
        drift_share: drift_share.unwrap_or(rules::DRIFT_SHARE),
        numerical: numerical.unwrap_or_default(),
        categorical: categorical.unwrap_or_default(),
        ..DriftOptions::default()
    };
    options.method = method.as_deref().map(parse_method).transpose()?;
    for (column, name) in column_methods.unwrap_or_default() {
        options.column_methods.insert(column, parse_method(&name)?);
    }
    let reference = read_table(py, reference, "reference")?;
    let current = read_table(py, current, "current")?;
    if options.columns.is_none() {
        same_columns(&reference.table, &current.table)?;
    }
    let skipped: Vec<(String, String)> = reference.skipped.into_iter().chain(current.skipped).collect();
    let (reference, current) = (reference.table, current.table);
    let mut report = py
        .detach(|| detect_drift(reference, current, &options, &|_, _| {}))
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    // Columns of types pandas cannot compare (datetimes, …) are said, not hidden, as the CLI does.
    for (name, reason) in skipped {
        if !report.skipped.iter().any(|s| s.name == name) {
            report.skipped.push(Skipped { name, reason });
        }
    }
    Ok(NativeDriftReport { report, bounds: None })
}

/// Compares two profiles from their sketches (e.g. a training set's profile and the merged
/// profile of a Spark job's partitions), with the error bounds the sketches allow.
#[pyfunction]
#[pyo3(signature = (reference, current, *, drift_share = None))]
pub fn drift_from_profiles(
    reference: &Profile,
    current: &Profile,
    drift_share: Option<f64>,
) -> PyResult<NativeDriftReport> {
    let share = drift_share.unwrap_or(rules::DRIFT_SHARE);
    if !(0.0..=1.0).contains(&share) {
        return Err(PyValueError::new_err(format!("drift_share must be within [0, 1], not {share}")));
    }
    let drift = riskops_monitor::profile_drift(&reference.inner, &current.inner, share);
    Ok(NativeDriftReport { report: drift.report, bounds: Some(drift.features) })
}

/// The method names `method=` accepts.
#[pyfunction]
pub fn methods() -> Vec<&'static str> {
    Method::ALL.iter().map(|m| m.name()).collect()
}

fn parse_method(name: &str) -> PyResult<Method> {
    Method::parse(name).ok_or_else(|| {
        let known: Vec<&str> = Method::ALL.iter().map(|m| m.name()).collect();
        PyValueError::new_err(format!("unknown method {name:?}; known methods: {}", known.join(", ")))
    })
}

/// Every column must be in both tables unless `columns=` picks the shared ones, as the CLI says.
fn same_columns(reference: &riskops_data::Table, current: &riskops_data::Table) -> PyResult<()> {
    let only = |a: &riskops_data::Table, b: &riskops_data::Table| {
        a.names().filter(|n| b.column(n).is_none()).map(|n| format!("{n:?}")).collect::<Vec<_>>()
    };
    let (only_ref, only_cur) = (only(reference, current), only(current, reference));
    let mut problems = Vec::new();
    if !only_ref.is_empty() {
        problems.push(format!("{} only in the reference", only_ref.join(", ")));
    }
    if !only_cur.is_empty() {
        problems.push(format!("{} only in the current data", only_cur.join(", ")));
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(PyValueError::new_err(format!(
        "the tables have different columns: {} (compare the shared ones with columns=[...])",
        problems.join("; ")
    )))
}
