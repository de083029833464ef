//! NannyML's alert thresholds and chunks, shared by performance estimation and
//! multivariate drift: size-based chunks (the incomplete last chunk kept), and
//! `StandardDeviationThreshold`: mean ± 3 standard deviations of the reference chunks'
//! values (NaNs ignored), a threshold beyond a metric's theoretical limit replaced by it.

use std::ops::Range;

/// NannyML's `SizeBasedChunker(chunk_size, incomplete="keep")`: rows `i·size …
/// (i+1)·size − 1`, and the remaining rows as a last, smaller chunk. Empty for `size` 0.
pub fn size_chunks(rows: usize, size: usize) -> Vec<Range<usize>> {
    if size == 0 {
        return Vec::new();
    }
    (0..rows).step_by(size).map(|start| start..(start + size).min(rows)).collect()
}

/// A lower and upper alert threshold; NaN when the reference gave no value to derive them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Values below alert (NaN: never).
    pub lower: f64,
    /// Values above alert (NaN: never).
    pub upper: f64,
}

impl Thresholds {
    /// `nanmean ± 3·nanstd` of `values`, each clamped to its limit when it reaches it.
    pub fn standard_deviation(values: &[f64], lower_limit: Option<f64>, upper_limit: Option<f64>) -> Thresholds {
        let finite: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
        let (mean, std) = mean_std(&finite);
        let mut lower = mean - 3.0 * std;
        let mut upper = mean + 3.0 * std;
        if let Some(limit) = lower_limit.filter(|l| lower <= *l) {
            lower = limit;
        }
        if let Some(limit) = upper_limit.filter(|l| upper >= *l) {
            upper = limit;
        }
        Thresholds { lower, upper }
    }

    /// Whether `value` is outside the thresholds (NaN compares false, as in NannyML).
    pub fn alert(&self, value: f64) -> bool {
        value < self.lower || value > self.upper
    }
}

/// Mean and population standard deviation (`np.std`, ddof 0), two passes; NaN when empty.
pub(crate) fn mean_std(values: &[f64]) -> (f64, f64) {
    if values.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_keep_the_incomplete_last() {
        assert_eq!(size_chunks(7, 3), vec![0..3, 3..6, 6..7]);
        assert_eq!(size_chunks(6, 3), vec![0..3, 3..6]);
    }

    #[test]
    fn thresholds_clamp_to_limits() {
        let t = Thresholds::standard_deviation(&[0.9, 1.0, f64::NAN], Some(0.0), Some(1.0));
        assert!((t.lower - (0.95 - 0.15)).abs() < 1e-12);
        assert_eq!(t.upper, 1.0);
        assert!(t.alert(0.5) && !t.alert(0.9));
    }
}
