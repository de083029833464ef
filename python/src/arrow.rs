//! Tabular data from Python, through the Arrow C stream interface (the `__arrow_c_stream__`
//! PyCapsule protocol that pyarrow, polars and pandas speak): the batches are read straight
//! from the producer's buffers into riskops-data columns, typed as `pandas.read_parquet`
//! would type a file of the same schema (riskops-parquet), so a DataFrame compares exactly as
//! `riskops drift` compares the file it was written to.

use arrow_array::RecordBatchReader;
use arrow_array::ffi_stream::{FFI_ArrowArrayStream, RecordBatchStreamReader};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyCapsuleMethods};
use riskops_parquet::{ParquetTable, Typing, read_batches};
use std::ffi::CStr;

/// The capsule name the protocol gives an `ArrowArrayStream`.
const STREAM_CAPSULE: &CStr = c"arrow_array_stream";

/// Reads an object that exports `__arrow_c_stream__` (a pyarrow Table or RecordBatchReader,
/// a polars DataFrame…) whole. `what` names it in errors ("reference", "current"...).
pub fn read_table(py: Python<'_>, data: &Bound<'_, PyAny>, what: &str) -> PyResult<ParquetTable> {
    read_table_typed(py, data, what, Typing::Pandas)
}

/// [`read_table`] with the [`Typing`] chosen (`Stored` for records to send).
pub fn read_table_typed(py: Python<'_>, data: &Bound<'_, PyAny>, what: &str, typing: Typing) -> PyResult<ParquetTable> {
    if !data.hasattr("__arrow_c_stream__")? {
        return Err(PyTypeError::new_err(format!(
            "{what}: expected a pandas or polars DataFrame or a pyarrow Table, not {}",
            data.get_type().name()?
        )));
    }
    let capsule = data.call_method0("__arrow_c_stream__")?;
    let capsule = capsule
        .cast::<PyCapsule>()
        .map_err(|_| PyTypeError::new_err(format!("{what}: __arrow_c_stream__ did not return a capsule")))?;
    let pointer = capsule.pointer_checked(Some(STREAM_CAPSULE))?;
    // SAFETY: the capsule is named `arrow_array_stream`, so by the protocol its pointer is a
    // valid `ArrowArrayStream`. `from_raw` moves the stream out and marks the capsule's copy
    // released (its `release` set to null), so the capsule's destructor does not free what
    // the reader now owns; the producer's buffers stay alive until the reader releases them.
    #[allow(unsafe_code)]
    let stream = unsafe { FFI_ArrowArrayStream::from_raw(pointer.as_ptr().cast::<FFI_ArrowArrayStream>()) };
    let reader = RecordBatchStreamReader::try_new(stream)
        .map_err(|e| PyValueError::new_err(format!("{what}: not a readable Arrow stream: {e}")))?;
    // The batches are decoded without Python: other threads may run meanwhile.
    py.detach(|| {
        let schema = reader.schema();
        read_batches(&schema, reader, typing)
    })
    .map_err(|e| PyValueError::new_err(format!("{what}: {e}")))
}
