//! [`RegressionSummary`]: MAE, RMSE, MAPE and R² of a regressor, mergeable, in constant
//! memory.
//!
//! | method | scikit-learn | kept |
//! |---|---|---|
//! | `mae` | `mean_absolute_error` | Σ\|e\| (compensated) |
//! | `rmse` | `root_mean_squared_error` | Σe² (compensated) |
//! | `mape` | `mean_absolute_percentage_error`: mean of \|e\| / max(\|y\|, ε), ε = `f64::EPSILON` | Σ of those terms (compensated) |
//! | `r2` | `r2_score` with `force_finite=True` | Σe², and count/mean/M2 of y ([`Moments`]: Welford, Chan merge) |
//!
//! with `e = predicted − actual`. Compensated (Neumaier) sums and the double-double mean of
//! [`Moments`] carry a few ulps of error whatever the number of records and the order of
//! merges, well inside the 1e-9 target against NumPy's pairwise sums.
//!
//! R²: `1 − SS_res / SS_tot`, with sklearn's `force_finite` rule (1.0 when SS_res = 0, else
//! 0.0 when SS_tot = 0) and `None` under two records (sklearn: NaN). One deliberate
//! deviation: for a constant `y_true` whose mean NumPy cannot represent exactly (e.g. three
//! times 0.1), NumPy's two-pass SS_tot is a rounding residue like 6e-34 instead of 0 and
//! sklearn returns absurd values such as −5e29; here SS_tot is exactly 0 for any constant
//! column (and the answer 0.0 or 1.0).

use super::{CompensatedSum, Reader};
use crate::StatsError;
use crate::sketch::Moments;

const VERSION: u8 = 1;

/// Mergeable regression-error summary (see the [module docs](self)).
///
/// ```
/// use riskops_stats::metrics::RegressionSummary;
/// let mut s = RegressionSummary::new();
/// for (actual, predicted) in [(3.0, 2.5), (-0.5, 0.0), (2.0, 2.0), (7.0, 8.0)] {
///     s.add(actual, predicted);
/// }
/// assert_eq!(s.mae(), Some(0.5));
/// assert!((s.r2().unwrap() - 0.9486081370449679).abs() < 1e-15);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RegressionSummary {
    actual: Moments,
    abs_error: CompensatedSum,
    squared_error: CompensatedSum,
    percentage_error: CompensatedSum,
    invalid: u64,
}

impl RegressionSummary {
    /// No records.
    pub fn new() -> Self {
        RegressionSummary {
            actual: Moments::new(),
            abs_error: CompensatedSum::default(),
            squared_error: CompensatedSum::default(),
            percentage_error: CompensatedSum::default(),
            invalid: 0,
        }
    }

    /// The summary of whole columns. Errors when the lengths differ.
    pub fn from_slices(actual: &[f64], predicted: &[f64]) -> Result<Self, StatsError> {
        if actual.len() != predicted.len() {
            return Err(StatsError::InvalidArgument("actual and predicted must have the same length"));
        }
        let mut s = Self::new();
        for (&a, &p) in actual.iter().zip(predicted) {
            s.add(a, p);
        }
        Ok(s)
    }

    /// Counts one labelled record. A record with a NaN or infinite value (sklearn raises) is
    /// only counted in [`invalid`](Self::invalid).
    pub fn add(&mut self, actual: f64, predicted: f64) {
        if !actual.is_finite() || !predicted.is_finite() {
            self.invalid = self.invalid.saturating_add(1);
            return;
        }
        // Welford per value (not a block two-pass): a constant column keeps M2 exactly 0.
        self.actual.add(actual);
        let error = predicted - actual;
        self.abs_error.add(error.abs());
        self.squared_error.add(error * error);
        self.percentage_error.add(error.abs() / actual.abs().max(f64::EPSILON));
    }

    /// Combines `other` into `self`, as if its records had been added to `self` (counts
    /// exact, sums to a few ulps).
    pub fn merge(&mut self, other: &RegressionSummary) {
        self.actual.merge(&other.actual);
        self.abs_error.merge(&other.abs_error);
        self.squared_error.merge(&other.squared_error);
        self.percentage_error.merge(&other.percentage_error);
        self.invalid = self.invalid.saturating_add(other.invalid);
    }

    /// Records counted (finite actual and predicted values).
    pub fn count(&self) -> u64 {
        self.actual.count()
    }

    /// Records left out because a value was NaN or infinite.
    pub fn invalid(&self) -> u64 {
        self.invalid
    }

    /// Count, mean and spread of the actual values.
    pub fn actual(&self) -> &Moments {
        &self.actual
    }

    fn mean_of(&self, sum: &CompensatedSum) -> Option<f64> {
        let n = self.count();
        (n > 0).then(|| sum.value() / n as f64)
    }

    /// `mean_absolute_error`. `None` when empty.
    pub fn mae(&self) -> Option<f64> {
        self.mean_of(&self.abs_error)
    }

    /// `mean_squared_error`. `None` when empty.
    pub fn mse(&self) -> Option<f64> {
        self.mean_of(&self.squared_error)
    }

    /// `root_mean_squared_error`. `None` when empty.
    pub fn rmse(&self) -> Option<f64> {
        self.mse().map(f64::sqrt)
    }

    /// `mean_absolute_percentage_error` (a fraction, not percent; `|y| < ε` divides by ε, so
    /// zeros in `y_true` give huge values, as in sklearn). `None` when empty.
    pub fn mape(&self) -> Option<f64> {
        self.mean_of(&self.percentage_error)
    }

    /// `r2_score` (`force_finite=True`; see the [module docs](self)). `None` under two
    /// records.
    pub fn r2(&self) -> Option<f64> {
        let n = self.count();
        if n < 2 {
            return None;
        }
        let ss_res = self.squared_error.value();
        let constant = self.actual.min() == self.actual.max();
        let ss_tot = if constant { 0.0 } else { self.actual.variance(0)? * n as f64 };
        Some(if ss_res == 0.0 {
            1.0
        } else if ss_tot == 0.0 {
            0.0
        } else {
            1.0 - ss_res / ss_tot
        })
    }

    /// Appends the binary encoding: tag, version, the invalid count (u64), the three error
    /// sums (two f64 each: sum and compensation; absolute, squared, percentage), then the
    /// [`Moments`] encoding of the actual values.
    pub fn encode(&self, out: &mut Vec<u8>) {
        super::put_header(out, super::TAG_REGRESSION, VERSION);
        super::put_u64(out, self.invalid);
        self.abs_error.encode(out);
        self.squared_error.encode(out);
        self.percentage_error.encode(out);
        self.actual.encode(out);
    }

    /// Decodes a summary written by [`encode`](Self::encode) from the start of `bytes`;
    /// returns it and the number of bytes read.
    pub fn decode(bytes: &[u8]) -> Result<(Self, usize), StatsError> {
        const BAD: StatsError = StatsError::InvalidArgument("encoded RegressionSummary is inconsistent");
        let mut r = Reader::new(bytes);
        r.header(super::TAG_REGRESSION, VERSION, "not an encoded RegressionSummary")?;
        let invalid = r.count(BAD)?;
        let abs_error = CompensatedSum::decode(&mut r)?;
        let squared_error = CompensatedSum::decode(&mut r)?;
        let percentage_error = CompensatedSum::decode(&mut r)?;
        let (actual, used) = Moments::decode(r.rest())?;
        r.take(used)?;
        // Sums of non-negative terms; NaN never enters (non-finite records are rejected).
        if [abs_error, squared_error, percentage_error].iter().any(|s| s.value().is_nan() || s.value() < 0.0) {
            return Err(BAD);
        }
        Ok((RegressionSummary { actual, abs_error, squared_error, percentage_error, invalid }, r.position()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r2_edge_cases_follow_force_finite() {
        let s = RegressionSummary::from_slices(&[0.1, 0.1, 0.1], &[0.1, 0.1, 0.2]).unwrap_or_default();
        assert_eq!(s.r2(), Some(0.0));
        let s = RegressionSummary::from_slices(&[0.1, 0.1, 0.1], &[0.1, 0.1, 0.1]).unwrap_or_default();
        assert_eq!(s.r2(), Some(1.0));
        let s = RegressionSummary::from_slices(&[4.0], &[5.0]).unwrap_or_default();
        assert_eq!((s.r2(), s.mae()), (None, Some(1.0)));
        assert_eq!(RegressionSummary::new().mae(), None);
    }

    #[test]
    fn non_finite_records_are_counted_apart() {
        let s = RegressionSummary::from_slices(&[1.0, f64::NAN, 2.0], &[1.5, 1.0, f64::INFINITY]).unwrap_or_default();
        assert_eq!((s.count(), s.invalid(), s.mae()), (1, 2, Some(0.5)));
    }
}
