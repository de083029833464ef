//! Tabular data for riskops: files read into typed, columnar memory.
//!
//! Columns are typed as pandas' `read_csv` types them, because the drift engine must decide
//! column kinds exactly as Evidently (which reads through pandas) does: a column of integers
//! with one missing value is float; `True`/`False` is boolean; anything else is a string.
//! Strings are dictionary-encoded, numbers are plain vectors: no allocation per value.

mod column;
mod csv_reader;
mod error;
pub mod fxhash;
pub mod profile;

pub use column::{Column, MISSING_CODE, StrColumn, Table, Values};
pub use csv_reader::{
    CsvOptions, MISSING_TOKENS, Record, open_with_delimiter, read_csv, read_csv_from, sniff_delimiter,
};
pub use error::DataError;
