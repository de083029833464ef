//! `ood`: ECOD outlier scores of a table's records against a reference, as `riskops ood`
//! computes them (riskops-monitor's `ood`, equal to pyod's ECOD).

use crate::arrow::read_table;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use riskops_monitor::ood::ood_scores;

/// `(scores, threshold, features)`: each record's score (`None` where a feature is missing),
/// the 99th percentile of the reference's own scores, and the features used.
#[pyfunction]
#[pyo3(signature = (reference, data, *, columns = None))]
#[allow(clippy::type_complexity)]
pub fn ood(
    py: Python<'_>,
    reference: &Bound<'_, PyAny>,
    data: &Bound<'_, PyAny>,
    columns: Option<Vec<String>>,
) -> PyResult<(Vec<Option<f64>>, f64, Vec<String>)> {
    let reference = read_table(py, reference, "reference")?.table;
    let records = read_table(py, data, "data")?.table;
    let ood = py.detach(|| ood_scores(&reference, &records, columns.as_deref())).map_err(PyValueError::new_err)?;
    Ok((ood.scores, ood.threshold, ood.features))
}
