//! `riskops._riskops`: the native half of the riskops Python package. Thin by design: the
//! drift engine, the profiles and the renderers are riskops's own crates, called on tables
//! read from Arrow data (`arrow`); the Python half (`riskops/`) makes the answers pleasant
//! (DataFrames, notebooks) and holds the HTTP client.

mod arrow;
mod drift;
mod ood;
mod profile;
mod records;

use pyo3::prelude::*;

#[pymodule]
fn _riskops(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(drift::drift, m)?)?;
    m.add_function(wrap_pyfunction!(drift::drift_from_profiles, m)?)?;
    m.add_function(wrap_pyfunction!(drift::methods, m)?)?;
    m.add_function(wrap_pyfunction!(profile::profile, m)?)?;
    m.add_function(wrap_pyfunction!(records::records_ndjson, m)?)?;
    m.add_function(wrap_pyfunction!(ood::ood, m)?)?;
    m.add_class::<drift::NativeDriftReport>()?;
    m.add_class::<profile::Profile>()?;
    Ok(())
}
