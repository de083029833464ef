//! Evidently's defaults (`DataDriftPreset`, evidently 0.7.23), in one place.
//!
//! Column types are decided on the *current* data, as Evidently does (its report takes the
//! data definition of the current dataset); the method depends on the number of reference
//! values and of distinct values in both samples. `tools/evidently/RULES.md` says where
//! each rule comes from in Evidently's source.

use crate::method::Method;
use crate::report::ColumnType;

/// The dataset drifts when at least this share of columns drifts.
pub const DRIFT_SHARE: f64 = 0.5;
/// Default threshold of the p-value tests.
pub const P_VALUE_THRESHOLD: f64 = 0.05;
/// Default threshold of the distances.
pub const DISTANCE_THRESHOLD: f64 = 0.1;
/// An integer column with at most this many distinct values is categorical.
pub const MAX_INT_CATEGORIES: usize = 10;
/// A text column whose distinct values exceed this share of its values is free text.
pub const TEXT_UNIQUE_SHARE: f64 = 0.5;
/// Up to this many reference values, tests; above, distances.
pub const SMALL_SAMPLE: usize = 1000;
/// A numerical column needs more distinct values than this for KS or Wasserstein.
pub const FEW_VALUES: usize = 5;
/// Numerical columns with more distinct reference values than this are binned (Sturges)
/// for PSI, KL and Jensen–Shannon; others are compared value by value.
pub const BINNING_MIN_VALUES: usize = 20;

/// What a column's values say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inferred {
    Typed(ColumnType),
    /// Free text: not compared (Evidently trains a text classifier instead).
    Text,
    /// Booleans with missing values: pandas keeps them as Python objects, which Evidently
    /// cannot type and leaves out.
    Unknown,
}

/// pandas dtype + distinct count → column type (Evidently's `infer_column_type`).
pub fn infer(values: &riskops_data::Values, distinct: usize, non_missing: usize) -> Inferred {
    let boolean_text = matches!(values, riskops_data::Values::Str(s) if is_boolean_text(s));
    infer_dtype(values.dtype(), distinct as u64, non_missing as u64, boolean_text)
}

/// The same rule from a summary (a dataset profile): the pandas dtype name, distinct and
/// non-missing counts, and whether a text column holds only booleans.
pub fn infer_dtype(dtype: &str, distinct: u64, non_missing: u64, boolean_text: bool) -> Inferred {
    match dtype {
        "float64" => Inferred::Typed(ColumnType::Numerical),
        "int64" if distinct <= MAX_INT_CATEGORIES as u64 => Inferred::Typed(ColumnType::Categorical),
        "int64" => Inferred::Typed(ColumnType::Numerical),
        "bool" => Inferred::Typed(ColumnType::Categorical),
        _ if boolean_text => Inferred::Unknown,
        _ if distinct as f64 > TEXT_UNIQUE_SHARE * non_missing as f64 => Inferred::Text,
        _ => Inferred::Typed(ColumnType::Categorical),
    }
}

impl Inferred {
    /// `numerical`, `categorical`, `text` or `unknown`.
    pub fn name(self) -> &'static str {
        match self {
            Inferred::Typed(t) => t.name(),
            Inferred::Text => "text",
            Inferred::Unknown => "unknown",
        }
    }
}

/// A text column that is really booleans with gaps: pandas reads `True`/`False` with a
/// missing value as an `object` column of Python booleans.
fn is_boolean_text(s: &riskops_data::StrColumn) -> bool {
    const BOOLEANS: [&str; 6] = ["True", "False", "true", "false", "TRUE", "FALSE"];
    !s.dictionary.is_empty() && s.dictionary.iter().all(|v| BOOLEANS.contains(&v.as_str()))
}

/// The default method: `n_reference` non-missing reference values, `n_values` distinct
/// values over both samples.
pub fn default_method(column_type: ColumnType, n_reference: usize, n_values: usize) -> Method {
    let numeric_spread = column_type == ColumnType::Numerical && n_values > FEW_VALUES;
    match (n_reference <= SMALL_SAMPLE, numeric_spread) {
        (true, true) => Method::Ks,
        (true, false) if n_values > 2 => Method::ChiSquare,
        (true, false) => Method::ZTest,
        (false, true) => Method::Wasserstein,
        (false, false) => Method::JensenShannon,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_follow_sample_size_and_spread() {
        use ColumnType::*;
        assert_eq!(default_method(Numerical, 1000, 6), Method::Ks);
        assert_eq!(default_method(Numerical, 1000, 5), Method::ChiSquare);
        assert_eq!(default_method(Numerical, 1000, 2), Method::ZTest);
        assert_eq!(default_method(Categorical, 50, 3), Method::ChiSquare);
        assert_eq!(default_method(Categorical, 50, 2), Method::ZTest);
        assert_eq!(default_method(Numerical, 1001, 6), Method::Wasserstein);
        assert_eq!(default_method(Numerical, 1001, 5), Method::JensenShannon);
        assert_eq!(default_method(Categorical, 5000, 40), Method::JensenShannon);
    }
}
