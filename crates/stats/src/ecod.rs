//! ECOD outlier scores (Li et al., 2022, "ECOD: Unsupervised Outlier Detection Using Empirical
//! Cumulative Distribution Functions"), as pyod 2.x's `ECOD` computes them.
//!
//! Per feature, a value's left tail probability `F_l(x) = #{v ≤ x} / n` and right tail
//! probability `F_r(x) = #{v ≥ x} / n` over the pooled data; with `U = −ln F`, the feature's
//! contribution is `max(U_l, U_r, U_skew)`, where `U_skew` is the tail the feature's skewness
//! points to (`U_r` for a positive skew, `U_l` for a negative one, and pyod's formula gives
//! `U_l + U_r` for a skewness of exactly zero). A record's score is the sum over features.
//!
//! pyod's `fit(X)` scores the training rows among themselves ([`Ecod::reference_scores`]);
//! its `decision_function(X)` pools the training rows with the batch `X` and scores the
//! batch's rows ([`Ecod::scores`]). Both are reproduced: the tail counts are the same
//! integers, so scores agree with pyod to a few ulps (its ECDF comes from `np.linspace`,
//! `(k + 1) / n` up to rounding); the tests hold them to 1e-9 relative. The skewness's sign
//! is SciPy's biased `skew`; for a feature whose skewness is zero up to rounding the sign can
//! differ from SciPy's own rounding, which changes that feature's `U_skew` term.
//!
//! Values must be finite (pyod's `check_array` refuses NaN and infinities too).

use crate::StatsError;
use crate::util::check_sample;

/// A reference (training) table prepared for scoring: each feature's values sorted, and its
/// raw moments for the pooled skewness.
#[derive(Debug, Clone)]
pub struct Ecod {
    features: Vec<Feature>,
    rows: usize,
}

#[derive(Debug, Clone)]
struct Feature {
    sorted: Vec<f64>,
    /// The reference's own values in row order, for [`Ecod::reference_scores`].
    values: Vec<f64>,
}

impl Ecod {
    /// Prepares the reference: `columns[j][i]` is feature `j` of row `i`. Every column must
    /// have the same, non-zero, number of finite values.
    pub fn fit(columns: &[&[f64]]) -> Result<Ecod, StatsError> {
        let rows = columns.first().map_or(0, |c| c.len());
        if columns.is_empty() || rows == 0 {
            return Err(StatsError::EmptySample);
        }
        let mut features = Vec::with_capacity(columns.len());
        for column in columns {
            if column.len() != rows {
                return Err(StatsError::InvalidArgument("every feature needs one value per row"));
            }
            check_sample(column)?;
            let mut sorted = column.to_vec();
            sorted.sort_by(f64::total_cmp);
            features.push(Feature { sorted, values: column.to_vec() });
        }
        Ok(Ecod { features, rows })
    }

    /// Features of the reference.
    pub fn features(&self) -> usize {
        self.features.len()
    }

    /// Rows of the reference.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The reference's rows scored among themselves: pyod's `decision_scores_` after `fit`.
    pub fn reference_scores(&self) -> Vec<f64> {
        let mut scores = vec![0.0; self.rows];
        for feature in &self.features {
            let pooled = Pooled { reference: &feature.sorted, batch: &[] };
            let sign = skew_sign(&feature.values, &[]);
            for (score, &x) in scores.iter_mut().zip(&feature.values) {
                *score += pooled.contribution(x, sign);
            }
        }
        scores
    }

    /// The batch's rows scored against the reference pooled with the batch, as pyod's
    /// `decision_function` after `fit` scores them. `columns` as for [`Ecod::fit`], one per
    /// reference feature, in the same order.
    pub fn scores(&self, columns: &[&[f64]]) -> Result<Vec<f64>, StatsError> {
        if columns.len() != self.features.len() {
            return Err(StatsError::InvalidArgument("the batch must have the reference's features"));
        }
        let rows = columns.first().map_or(0, |c| c.len());
        if rows == 0 {
            return Err(StatsError::EmptySample);
        }
        let mut scores = vec![0.0; rows];
        for (feature, column) in self.features.iter().zip(columns) {
            if column.len() != rows {
                return Err(StatsError::InvalidArgument("every feature needs one value per row"));
            }
            check_sample(column)?;
            let mut batch = column.to_vec();
            batch.sort_by(f64::total_cmp);
            let pooled = Pooled { reference: &feature.sorted, batch: &batch };
            let sign = skew_sign(&feature.values, column);
            for (score, &x) in scores.iter_mut().zip(column.iter()) {
                *score += pooled.contribution(x, sign);
            }
        }
        Ok(scores)
    }
}

/// The reference's and the batch's sorted values of one feature, counted as one sample.
struct Pooled<'a> {
    reference: &'a [f64],
    batch: &'a [f64],
}

impl Pooled<'_> {
    fn len(&self) -> usize {
        self.reference.len() + self.batch.len()
    }

    /// `#{v ≤ x}`.
    fn at_most(&self, x: f64) -> usize {
        self.reference.partition_point(|&v| v <= x) + self.batch.partition_point(|&v| v <= x)
    }

    /// `#{v ≥ x}`.
    fn at_least(&self, x: f64) -> usize {
        self.len() - self.reference.partition_point(|&v| v < x) - self.batch.partition_point(|&v| v < x)
    }

    /// One feature's term of the score of the value `x` (which is in the pooled sample, so
    /// both counts are at least one).
    fn contribution(&self, x: f64, skew_sign: f64) -> f64 {
        let n = self.len() as f64;
        let left = -(self.at_most(x) as f64 / n).ln();
        let right = -(self.at_least(x) as f64 / n).ln();
        // pyod: U_skew = U_l · (−sign(s − 1)) + U_r · sign(s + 1), with s = sign(skewness).
        let skewed = left * -(skew_sign - 1.0).signum_or_zero() + right * (skew_sign + 1.0).signum_or_zero();
        left.max(right).max(skewed)
    }
}

/// NumPy's `sign`: −1, 0 or 1 (`f64::signum` gives 1 for +0).
trait SignOrZero {
    fn signum_or_zero(self) -> f64;
}

impl SignOrZero for f64 {
    fn signum_or_zero(self) -> f64 {
        if self > 0.0 {
            1.0
        } else if self < 0.0 {
            -1.0
        } else {
            0.0
        }
    }
}

/// The sign of SciPy's biased skewness `m3 / m2^1.5` of the two samples pooled; 0 for a
/// constant feature (SciPy's NaN, which pyod turns into 0).
fn skew_sign(a: &[f64], b: &[f64]) -> f64 {
    let n = (a.len() + b.len()) as f64;
    let mean = a.iter().chain(b).sum::<f64>() / n;
    let (mut m2, mut m3) = (0.0, 0.0);
    for &x in a.iter().chain(b) {
        let d = x - mean;
        m2 += d * d;
        m3 += d * d * d;
    }
    if m2 == 0.0 { 0.0 } else { m3.signum_or_zero() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_count_ties_as_the_ecdf_does() {
        // One feature: 1, 2, 2, 3. F_l(2) = 3/4, F_r(2) = 3/4.
        let column = [1.0, 2.0, 2.0, 3.0];
        let ecod = Ecod::fit(&[&column]).unwrap();
        let pooled = Pooled { reference: &ecod.features[0].sorted, batch: &[] };
        assert_eq!((pooled.at_most(2.0), pooled.at_least(2.0)), (3, 3));
        assert_eq!((pooled.at_most(1.0), pooled.at_least(1.0)), (1, 4));
        // Symmetric: skewness 0, so the 'skewed' term is U_l + U_r.
        let scores = ecod.reference_scores();
        let u = |p: f64| -p.ln();
        assert!((scores[0] - (u(0.25) + u(1.0))).abs() < 1e-15);
        assert!((scores[1] - (u(0.75) + u(0.75))).abs() < 1e-15);
    }

    #[test]
    fn bad_input_is_refused() {
        assert_eq!(Ecod::fit(&[]).unwrap_err(), StatsError::EmptySample);
        assert!(Ecod::fit(&[&[1.0, f64::NAN]]).is_err());
        assert!(Ecod::fit(&[&[1.0, 2.0], &[1.0]]).is_err());
        let ecod = Ecod::fit(&[&[1.0, 2.0, 3.0]]).unwrap();
        assert!(ecod.scores(&[&[1.0], &[2.0]]).is_err());
        assert_eq!(ecod.scores(&[&[]]).unwrap_err(), StatsError::EmptySample);
    }
}
