//! The crate's single error type: bad input is reported, never panicked on.

use std::fmt;

/// Why a statistic could not be computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsError {
    /// A sample (or a count vector's total) was empty.
    EmptySample,
    /// A value was NaN or infinite.
    NonFinite,
    /// The arguments are not valid for this function; the text says why.
    InvalidArgument(&'static str),
}

impl fmt::Display for StatsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatsError::EmptySample => f.write_str("empty sample"),
            StatsError::NonFinite => f.write_str("sample contains a NaN or infinite value"),
            StatsError::InvalidArgument(why) => write!(f, "invalid argument: {why}"),
        }
    }
}

impl std::error::Error for StatsError {}
