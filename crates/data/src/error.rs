//! Errors that name the file (and line or column) at fault.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Malformed { path: PathBuf, message: String },
    #[error("{path} has no rows")]
    Empty { path: PathBuf },
    #[error("{path}: column {name:?} appears more than once in the header")]
    DuplicateColumn { path: PathBuf, name: String },
    #[error("{path}: no column named {name:?} (columns: {available})")]
    UnknownColumn { path: PathBuf, name: String, available: String },
}
