//! `records_ndjson`: a table of prediction logs as the NDJSON batches `riskops log` sends for a
//! Parquet file of the same columns (riskops-monitor's `table_records`), so the Python client
//! logs a DataFrame without a Python loop over its cells.

use crate::arrow::read_table_typed;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use riskops_monitor::table_records;
use riskops_parquet::Typing;

/// `(batches, warnings)`: each batch is `(NDJSON bytes, record ids)`. Columns are read as the
/// file's (`Typing::Stored`: unsigned integers, Arrow timestamps as unix seconds); `version`
/// fills records without one; without an `id` column each record's id is made of its content.
#[pyfunction]
#[pyo3(signature = (data, *, version = None, batch = 10_000))]
#[allow(clippy::type_complexity)]
pub fn records_ndjson<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    version: Option<String>,
    batch: usize,
) -> PyResult<(Vec<(Bound<'py, PyBytes>, Vec<String>)>, Vec<String>)> {
    if batch == 0 {
        return Err(PyValueError::new_err("batch must be at least 1"));
    }
    let read = read_table_typed(py, data, "data", Typing::Stored)?;
    let warnings = table_records::check(&read.table, &read.skipped, false).map_err(PyValueError::new_err)?;
    let batches = py.detach(|| table_records::ndjson_batches(&read.table, version.as_deref(), batch, true));
    let batches = batches.into_iter().map(|b| (PyBytes::new(py, b.body.as_bytes()), b.ids)).collect();
    Ok((batches, warnings))
}
