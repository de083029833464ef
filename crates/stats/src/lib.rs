//! Statistics for riskops: two-sample tests and distances used for drift detection.
//!
//! This crate does no IO: no files, no async, no serde. Every function takes slices and
//! returns numbers, so it can be tested alone against reference vectors and reused as a
//! library.
//!
//! Every public function reproduces a named SciPy/NumPy routine (the version the
//! reference vectors were generated with is recorded in `tests/data/reference.txt`):
//! statistics agree to 1e-9 relative and p-values to 1e-9 absolute. Where SciPy would
//! return NaN or raise, these functions return a [`StatsError`] instead; each function's
//! documentation states the deviations.
//!
//! Module map:
//! - [`special`]: special functions (normal tails, log-gamma, incomplete gamma,
//!   Kolmogorov/Smirnov distributions, Bessel K).
//! - [`ks`]: two-sample Kolmogorov–Smirnov test.
//! - [`distance`]: Wasserstein, energy distance and RBF-kernel MMD on raw samples.
//! - [`histogram`]: NumPy-compatible Sturges bin edges and histogram counts.
//! - [`divergence`]: PSI, KL, Jensen–Shannon, Hellinger and total variation on proportions.
//! - [`categorical`]: chi-squared, G-test, two-proportion z-test and Fisher's exact test.
//! - [`rank`]: Mann–Whitney U, Cramér–von Mises and k-sample Anderson–Darling tests.
//! - [`sort`]: a radix sort for float columns, in `total_cmp` order.
//! - [`sketch`]: mergeable, bounded-memory column summaries (moments, KLL quantiles,
//!   distinct counts, category frequencies) with a binary encoding.
//! - [`monitoring`]: NannyML's performance estimation (CBPE) and multivariate drift.
//! - [`ecod`]: pyod's ECOD outlier scores (out-of-distribution records).
//! - [`metrics`]: mergeable per-window summaries of labelled predictions and the
//!   performance (scikit-learn) and fairness (fairlearn) metrics computed from them.
//!
//! Functions that sort take unsorted slices and allocate one sorted copy; each also has a
//! `*_sorted` variant for callers that sort a column once and run several tests on it.

#![warn(missing_docs)]

pub mod categorical;
mod codec;
pub mod distance;
pub mod divergence;
pub mod ecod;
mod error;
pub mod histogram;
pub mod ks;
pub mod metrics;
pub mod monitoring;
pub mod rank;
pub mod sketch;
pub mod sort;
pub mod special;
mod util;

pub use categorical::{
    ContingencyResult, chi2_contingency, chisquare_evidently, fisher_exact, g_test, ztest_proportions,
};
pub use distance::{
    MMD_MAX_SAMPLE, energy_distance, energy_distance_sorted, mmd_rbf, mmd_rbf_median_gamma, mmd_rbf_median_heuristic,
    wasserstein_distance, wasserstein_distance_sorted, wasserstein_normed, wasserstein_normed_sorted,
    wasserstein_normed_sorted_distinct,
};
pub use divergence::{fill_zero_proportions, hellinger, jensen_shannon_distance, kl_divergence, psi, total_variation};
pub use error::StatsError;
pub use histogram::{histogram_bin_edges_sturges, histogram_counts, histogram_counts_sorted, sturges_bin_edges};
pub use ks::{ks_2samp, ks_2samp_sorted};
pub use metrics::{BinaryOutcomes, GroupOutcomes, RegressionSummary, ScoreSummary};
pub use rank::{
    anderson_ksamp, anderson_ksamp_sorted, cramervonmises_2samp, cramervonmises_2samp_sorted, mann_whitney_u,
    mann_whitney_u_sorted,
};
pub use sketch::{DistinctCounter, Frequencies, Moments, QuantileSketch};
pub use sort::{sort_floats, sort_floats_vec, sorted_finite, sorted_from_ints};

/// Outcome of a hypothesis test: the test statistic and its p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TestResult {
    /// The test statistic, as SciPy reports it for the same test.
    pub statistic: f64,
    /// The p-value, in `[0, 1]`.
    pub p_value: f64,
}
