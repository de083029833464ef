//! Two-sample Kolmogorov–Smirnov test, two-sided, reproducing
//! `scipy.stats.ks_2samp(a, b, alternative="two-sided", method="auto")`.
//!
//! The statistic is the largest gap between the two empirical CDFs, evaluated at every
//! observation, which handles ties exactly as SciPy's `searchsorted(..., side="right")`.
//! The p-value is exact when both samples have at most 10 000 values (lattice-path
//! counting, Hodges 1958 / Viehmann 2021), otherwise asymptotic through the one-sample
//! distribution `kstwo.sf(d, round(n1·n2/(n1+n2)))`. Like SciPy, an exact computation that
//! produces a value outside `[0, 1]` falls back to the asymptotic one.

use crate::special::kstwo_sf;
use crate::util::{check_sorted, gcd, round_half_even, sorted_copy};
use crate::{StatsError, TestResult};

/// SciPy's `MAX_AUTO_N`: above this sample size `method="auto"` is asymptotic.
const MAX_EXACT_N: usize = 10_000;

/// Two-sided two-sample KS test on unsorted samples (one sorted copy of each is made).
///
/// Errors: [`StatsError::EmptySample`] if either sample is empty,
/// [`StatsError::NonFinite`] if any value is NaN or infinite.
pub fn ks_2samp(a: &[f64], b: &[f64]) -> Result<TestResult, StatsError> {
    let a = sorted_copy(a)?;
    let b = sorted_copy(b)?;
    Ok(ks_2samp_presorted(&a, &b))
}

/// [`ks_2samp`] on samples already sorted ascending; no allocation beyond the exact
/// p-value's working column. Returns [`StatsError::InvalidArgument`] if a slice is not
/// sorted.
pub fn ks_2samp_sorted(a: &[f64], b: &[f64]) -> Result<TestResult, StatsError> {
    check_sorted(a)?;
    check_sorted(b)?;
    Ok(ks_2samp_presorted(a, b))
}

fn ks_2samp_presorted(a: &[f64], b: &[f64]) -> TestResult {
    let (n1, n2) = (a.len(), b.len());
    let d = ks_statistic(a, b);
    if n1.max(n2) <= MAX_EXACT_N {
        let (ok, d_exact, prob) = attempt_exact(n1 as u64, n2 as u64, d);
        if ok {
            return TestResult { statistic: d_exact, p_value: prob.clamp(0.0, 1.0) };
        }
        return asymptotic(n1, n2, d_exact);
    }
    asymptotic(n1, n2, d)
}

/// `max |F_a - F_b|` over all observations, computed the way SciPy does: the largest
/// positive and negative differences separately, the negative one clipped to `[0, 1]`.
pub(crate) fn ks_statistic(a: &[f64], b: &[f64]) -> f64 {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j) = (0usize, 0usize);
    let mut max_diff = f64::NEG_INFINITY;
    let mut min_diff = f64::INFINITY;
    while i < a.len() || j < b.len() {
        let v = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) => x,
            (None, Some(&y)) => y,
            (None, None) => break,
        };
        while i < a.len() && a[i] <= v {
            i += 1;
        }
        while j < b.len() && b[j] <= v {
            j += 1;
        }
        let diff = i as f64 / n1 - j as f64 / n2;
        max_diff = max_diff.max(diff);
        min_diff = min_diff.min(diff);
    }
    let min_s = (-min_diff).clamp(0.0, 1.0);
    if min_s > max_diff { min_s } else { max_diff }
}

fn asymptotic(n1: usize, n2: usize, d: f64) -> TestResult {
    let (m, n) = if n1 >= n2 { (n1 as f64, n2 as f64) } else { (n2 as f64, n1 as f64) };
    let en = m * n / (m + n);
    let n_eff = round_half_even(en).max(1.0) as u64;
    TestResult { statistic: d, p_value: kstwo_sf(n_eff, d).clamp(0.0, 1.0) }
}

/// SciPy `_attempt_exact_2kssamp` for the two-sided alternative: returns
/// `(success, d rounded to the lattice, probability)`.
fn attempt_exact(n1: u64, n2: u64, d: f64) -> (bool, f64, f64) {
    let g = gcd(n1, n2);
    let lcm = (n1 / g) * n2;
    let h = round_half_even(d * lcm as f64) as u64;
    let d = h as f64 / lcm as f64;
    if h == 0 {
        return (true, d, 1.0);
    }
    let prob = if n1 == n2 { prob_outside_square(n1, h) } else { outer_prob_inside(n1, n2, g, h) };
    if !(0.0..=1.0).contains(&prob) {
        return (false, d, prob);
    }
    (true, d, prob)
}

/// `P(D_{n,n} >= h/n)` by the alternating reflection sum, evaluated Horner-style as in
/// SciPy's `_compute_prob_outside_square` to avoid cancellation.
fn prob_outside_square(n: u64, h: u64) -> f64 {
    let (nf, hf) = (n as f64, h as f64);
    let mut p = 0.0;
    let mut k = (nf / hf).floor() as i64;
    while k >= 0 {
        let kh = k as f64 * hf;
        let mut p1 = 1.0;
        for j in 0..h {
            let jf = j as f64;
            p1 = (nf - kh - jf) * p1 / (nf + kh + jf + 1.0);
        }
        p = p1 * (1.0 - p);
        k -= 1;
    }
    2.0 * p
}

/// Floor of `num / den` for `den > 0`.
fn floor_div(num: i64, den: i64) -> i64 {
    num.div_euclid(den)
}

/// Ceiling of `num / den` for `den > 0`.
fn ceil_div(num: i64, den: i64) -> i64 {
    -((-num).div_euclid(den))
}

/// Proportion of lattice paths from (0,0) to (m,n) that leave the band
/// `|x/m - y/n| < h/lcm(m,n)` — SciPy's `_compute_outer_prob_inside_method`, which
/// recurses on `1 - p` directly (Viehmann 2021) over a sliding window of one column.
fn outer_prob_inside(m: u64, n: u64, g: u64, h: u64) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (m, n, g, h) = (m as i64, n as i64, g as i64, h as i64);
    let mg = m / g;
    let ng = n / g;
    let mut minj: i64 = 0;
    let mut maxj: i64 = ceil_div(h, mg).min(n + 1);
    let mut curlen = maxj - minj;
    let len_a = (2 * maxj + 2).min(n + 1).max(1) as usize;
    let mut a = vec![1.0f64; len_a];
    for v in a.iter_mut().take(maxj.max(0) as usize) {
        *v = 0.0;
    }
    for i in 1..=m {
        let lastminj = minj;
        let lastlen = curlen;
        minj = (floor_div(ng * i - h, mg) + 1).max(0).min(n);
        maxj = ceil_div(ng * i + h, mg).min(n + 1);
        if maxj <= minj {
            return 1.0;
        }
        let fi = i as f64;
        let mut val = if minj == 0 { 0.0 } else { 1.0 };
        for jj in 0..(maxj - minj) {
            let j = jj + minj;
            let prev = a.get((jj + minj - lastminj) as usize).copied().unwrap_or(1.0);
            val = (prev * fi + val * j as f64) / (fi + j as f64);
            if let Some(slot) = a.get_mut(jj as usize) {
                *slot = val;
            }
        }
        curlen = maxj - minj;
        if lastlen > curlen {
            let start = (maxj - minj) as usize;
            let end = start + (lastlen - curlen) as usize;
            for slot in a.iter_mut().take(end).skip(start) {
                *slot = 1.0;
            }
        }
    }
    a.get((maxj - minj - 1).max(0) as usize).copied().unwrap_or(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_input() {
        assert_eq!(ks_2samp(&[], &[1.0]), Err(StatsError::EmptySample));
        assert_eq!(ks_2samp(&[f64::NAN], &[1.0]), Err(StatsError::NonFinite));
        assert!(matches!(ks_2samp_sorted(&[2.0, 1.0], &[1.0]), Err(StatsError::InvalidArgument(_))));
    }

    #[test]
    fn identical_samples_have_zero_statistic() {
        let a = [1.0, 2.0, 3.0];
        let r = ks_2samp(&a, &a).unwrap();
        assert_eq!(r.statistic, 0.0);
        assert_eq!(r.p_value, 1.0);
    }
}
