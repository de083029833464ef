//! `profile` and `Profile`: the registry's dataset profiles (riskops-data), computed on Arrow
//! data, merged, and carried as bytes (between Spark executors and the driver, say).

use crate::arrow::read_table;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use riskops_data::profile::{TableProfile, profile_table};

/// A table's profile: per column counts, missing values, distinct counts, moments, quantiles,
/// histograms and frequencies, as mergeable sketches (the same document a dataset version
/// stores).
#[pyclass(module = "riskops._riskops", frozen)]
pub struct Profile {
    pub inner: TableProfile,
}

#[pymethods]
impl Profile {
    /// The profile of the union of both tables' rows. Both must have the same columns in the
    /// same order; a column typed int64 in one part and float64 in the other becomes float64,
    /// as pandas would type the whole.
    fn merge(&self, other: &Profile) -> PyResult<Profile> {
        let mut merged = self.inner.clone();
        merged.merge(&other.inner).map_err(PyValueError::new_err)?;
        Ok(Profile { inner: merged })
    }

    /// The profile document (JSON) as bytes: statistics for people and the encoded sketches.
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.to_json().as_bytes())
    }

    #[staticmethod]
    fn from_bytes(data: &[u8]) -> PyResult<Profile> {
        let doc: serde_json::Value = serde_json::from_slice(data)
            .map_err(|e| PyValueError::new_err(format!("not a riskops profile (not JSON: {e})")))?;
        Self::from_document(&doc)
    }

    /// The profile document as JSON text.
    fn to_json(&self) -> String {
        serde_json::to_string(&self.inner.to_json()).unwrap_or_default()
    }

    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Profile> {
        let doc: serde_json::Value =
            serde_json::from_str(text).map_err(|e| PyValueError::new_err(format!("not JSON: {e}")))?;
        Self::from_document(&doc)
    }

    /// The profile document as a dict: per column `dtype`, `rows`, `count`, `missing`,
    /// `distinct`, and for numbers `min`, `max`, `mean`, `std`, `quantiles`, `rank_error`,
    /// `histogram`; `frequencies` for categories; `sketches` (encoded, for merging).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let json = py.import("json")?;
        json.call_method1("loads", (self.to_json(),))
    }

    #[getter]
    fn rows(&self) -> u64 {
        self.inner.rows
    }

    /// Column names, in the table's order.
    #[getter]
    fn columns(&self) -> Vec<String> {
        self.inner.columns.iter().map(|c| c.name.clone()).collect()
    }

    fn __repr__(&self) -> String {
        format!("<riskops.Profile: {} rows × {} columns>", self.inner.rows, self.inner.columns.len())
    }
}

impl Profile {
    fn from_document(doc: &serde_json::Value) -> PyResult<Profile> {
        // A stored dataset profile may be wrapped in the API's answer.
        let doc = doc.get("profile").unwrap_or(doc);
        TableProfile::from_json(doc).map(|inner| Profile { inner }).map_err(PyValueError::new_err)
    }
}

/// Profiles a table (an object exporting `__arrow_c_stream__`).
#[pyfunction]
pub fn profile(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Profile> {
    let table = read_table(py, data, "data")?;
    let inner = py.detach(|| profile_table(&table.table));
    Ok(Profile { inner })
}
