//! Statistics for riskops: two-sample tests and distances used for drift detection.
//!
//! This crate does no IO: no files, no async, no serde. Every function takes slices and
//! returns numbers, so it can be tested alone against reference vectors and reused as a
//! library.
