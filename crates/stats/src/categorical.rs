//! Tests on categorical data given as counts aligned over the union of categories:
//! Evidently's chi-squared goodness of fit, the 2×k contingency chi-squared and G-tests,
//! the pooled two-proportion z-test and Fisher's exact test on a 2×2 table.

use crate::special::{chi2_sf, ndtr};
use crate::{StatsError, TestResult};

/// Result of a contingency-table test: statistic, p-value and degrees of freedom.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContingencyResult {
    /// The test statistic (Pearson's χ² or the G statistic).
    pub statistic: f64,
    /// The p-value from the χ² distribution with `dof` degrees of freedom.
    pub p_value: f64,
    /// Degrees of freedom, `k - 1` for a 2×k table.
    pub dof: usize,
}

/// Counts above 2^53 cannot be represented exactly as `f64`, and larger sums could
/// overflow; no real column comes close.
const MAX_COUNT: u64 = 1 << 53;

/// Sum of counts, rejecting totals that are not exactly representable.
fn total(v: &[u64]) -> Result<u64, StatsError> {
    v.iter()
        .try_fold(0u64, |acc, &x| acc.checked_add(x))
        .filter(|&t| t <= MAX_COUNT)
        .ok_or(StatsError::InvalidArgument("counts too large (total above 2^53)"))
}

/// Validates two aligned count vectors and returns their totals.
fn check_counts(r: &[u64], c: &[u64]) -> Result<(u64, u64), StatsError> {
    if r.is_empty() || c.is_empty() {
        return Err(StatsError::EmptySample);
    }
    if r.len() != c.len() {
        return Err(StatsError::InvalidArgument("count vectors differ in length"));
    }
    let (tr, tc) = (total(r)?, total(c)?);
    if tr == 0 || tc == 0 {
        return Err(StatsError::EmptySample);
    }
    if tr.checked_add(tc).is_none_or(|t| t > MAX_COUNT) {
        return Err(StatsError::InvalidArgument("counts too large (total above 2^53)"));
    }
    Ok((tr, tc))
}

/// Evidently's chi-squared drift test: `scipy.stats.chisquare(f_obs=cur,
/// f_exp=ref · (n_cur / n_ref))`, with `k - 1` degrees of freedom.
///
/// A category present only in the current sample has expected count 0, so the statistic is
/// +inf and the p-value 0, exactly as SciPy. Deviations from SciPy, which would return NaN:
/// categories that are zero in both vectors carry no information and are dropped (they do
/// not count towards the degrees of freedom), and when a single category remains the result
/// is statistic 0, p-value 1.
pub fn chisquare_evidently(ref_counts: &[u64], cur_counts: &[u64]) -> Result<TestResult, StatsError> {
    let (n_ref, n_cur) = check_counts(ref_counts, cur_counts)?;
    let (n_ref, n_cur) = (n_ref as f64, n_cur as f64);
    let k_norm = n_cur / n_ref;
    let mut stat = 0.0;
    let mut k = 0usize;
    for (&r, &c) in ref_counts.iter().zip(cur_counts) {
        if r == 0 && c == 0 {
            continue;
        }
        k += 1;
        let exp = r as f64 * k_norm;
        let d = c as f64 - exp;
        stat += d * d / exp;
    }
    if k < 2 {
        return Ok(TestResult { statistic: 0.0, p_value: 1.0 });
    }
    Ok(TestResult { statistic: stat, p_value: chi2_sf((k - 1) as f64, stat) })
}

/// Pearson's χ² test of independence on the 2×k table `[ref_counts, cur_counts]`, as
/// `scipy.stats.chi2_contingency([ref, cur])` (default `correction=True`: Yates'
/// continuity correction when `dof == 1`, i.e. k = 2).
///
/// A category that is zero in both rows gives a zero expected frequency; SciPy raises
/// there and so does this ([`StatsError::InvalidArgument`]); drop such categories first.
/// With one category, `dof = 0` and the result is statistic 0, p-value 1 (as SciPy).
pub fn chi2_contingency(ref_counts: &[u64], cur_counts: &[u64]) -> Result<ContingencyResult, StatsError> {
    contingency(ref_counts, cur_counts, Lambda::Pearson)
}

/// G-test (log-likelihood ratio) of independence on the 2×k table `[ref, cur]`, as
/// `scipy.stats.chi2_contingency([ref, cur], lambda_="log-likelihood")`. SciPy applies the
/// Yates correction whenever `dof == 1` regardless of `lambda_`, and so does this.
/// Errors as [`chi2_contingency`].
pub fn g_test(ref_counts: &[u64], cur_counts: &[u64]) -> Result<ContingencyResult, StatsError> {
    contingency(ref_counts, cur_counts, Lambda::LogLikelihood)
}

#[derive(Clone, Copy)]
enum Lambda {
    Pearson,
    LogLikelihood,
}

fn contingency(r: &[u64], c: &[u64], lambda: Lambda) -> Result<ContingencyResult, StatsError> {
    let (tr, tc) = check_counts(r, c)?;
    let rows = [r, c];
    let row_sums = [tr as f64, tc as f64];
    let col_sums: Vec<f64> = r.iter().zip(c).map(|(&a, &b)| a as f64 + b as f64).collect();
    let total: f64 = row_sums.iter().sum();
    if col_sums.contains(&0.0) {
        return Err(StatsError::InvalidArgument("a category is zero in both samples (zero expected frequency)"));
    }
    let k = r.len();
    let dof = k - 1;
    if dof == 0 {
        return Ok(ContingencyResult { statistic: 0.0, p_value: 1.0, dof });
    }
    let mut stat = 0.0;
    for (row, &rs) in rows.iter().zip(&row_sums) {
        for (&o, &cs) in row.iter().zip(&col_sums) {
            let exp = rs * cs / total;
            let mut obs = o as f64;
            if dof == 1 {
                // Yates: move each observed count half a unit towards its expectation.
                let diff = exp - obs;
                obs += diff.abs().min(0.5) * sign(diff);
            }
            stat += match lambda {
                Lambda::Pearson => (obs - exp) * (obs - exp) / exp,
                Lambda::LogLikelihood => 2.0 * xlogy(obs, obs / exp),
            };
        }
    }
    Ok(ContingencyResult { statistic: stat, p_value: chi2_sf(dof as f64, stat), dof })
}

/// `numpy.sign`: -1, 0 or 1.
fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// `scipy.special.xlogy`: `x ln y`, 0 when `x = 0`.
fn xlogy(x: f64, y: f64) -> f64 {
    if x == 0.0 { 0.0 } else { x * y.ln() }
}

/// Pooled two-proportion z-test (Evidently's `z_stat_test`): `ones` of `n` in each sample,
/// `z = (p_ref - p_cur) / sqrt(P(1-P)(1/n_ref + 1/n_cur))` with the pooled proportion `P`,
/// two-sided `p = 2(1 - Φ(|z|))`, computed literally as Evidently does (so it reaches 0
/// for |z| above ~8.3, and tiny p-values carry Evidently's rounding rather than the exact tail).
/// When `P` is 0 or 1 both samples are the same constant and the result is statistic 0,
/// p-value 1.
///
/// Errors: [`StatsError::EmptySample`] if a sample size is 0,
/// [`StatsError::InvalidArgument`] if `ones > n`.
pub fn ztest_proportions(ref_ones: u64, n_ref: u64, cur_ones: u64, n_cur: u64) -> Result<TestResult, StatsError> {
    if n_ref == 0 || n_cur == 0 {
        return Err(StatsError::EmptySample);
    }
    if ref_ones > n_ref || cur_ones > n_cur {
        return Err(StatsError::InvalidArgument("more successes than trials"));
    }
    if n_ref > MAX_COUNT || n_cur > MAX_COUNT {
        return Err(StatsError::InvalidArgument("counts too large (above 2^53)"));
    }
    let (n1, n2) = (n_ref as f64, n_cur as f64);
    let p1 = ref_ones as f64 / n1;
    let p2 = cur_ones as f64 / n2;
    let pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
    let var = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2);
    if ref_ones + cur_ones == 0 || ref_ones + cur_ones == n_ref + n_cur || var <= 0.0 {
        return Ok(TestResult { statistic: 0.0, p_value: 1.0 });
    }
    let z = (p1 - p2) / var.sqrt();
    Ok(TestResult { statistic: z, p_value: (2.0 * (1.0 - ndtr(z.abs()))).clamp(0.0, 1.0) })
}

/// Fisher's exact test on a 2×2 table `[[a, b], [c, d]]`, two-sided, as
/// `scipy.stats.fisher_exact(table)`: statistic is the sample odds ratio `ad / bc` (+inf
/// when `bc = 0`), the p-value sums the probabilities of all tables with the same margins
/// that are no more likely than the observed one, with SciPy's relative tolerance
/// `1 + 1e-14` for ties.
///
/// As in SciPy, when a row or column sums to zero the result is statistic NaN, p-value 1.
///
/// Hypergeometric probabilities are built by ratio recurrences from the mode in
/// double-double arithmetic, so ties between mathematically equal probabilities are
/// decided as reliably as SciPy's; O(min(row, column total)).
pub fn fisher_exact(table: [[u64; 2]; 2]) -> Result<TestResult, StatsError> {
    let [[a, b], [c, d]] = table;
    if total(&[a, b, c, d]).is_err() {
        return Err(StatsError::InvalidArgument("counts too large (total above 2^53)"));
    }
    let n1 = a + b;
    let n2 = c + d;
    let n = a + c;
    if n1 == 0 || n2 == 0 || n == 0 || b + d == 0 {
        return Ok(TestResult { statistic: f64::NAN, p_value: 1.0 });
    }
    let odds = if c > 0 && b > 0 {
        (u128::from(a) * u128::from(d)) as f64 / (u128::from(c) * u128::from(b)) as f64
    } else {
        f64::INFINITY
    };
    let p = fisher_two_sided(a, n1, n2, n);
    Ok(TestResult { statistic: odds, p_value: p.min(1.0) })
}

/// Two-sided p-value for `X = x` where `X ~ Hypergeom(population n1+n2, n1 successes,
/// n draws)`.
fn fisher_two_sided(x: u64, n1: u64, n2: u64, n: u64) -> f64 {
    const GAMMA: f64 = 1.0 + 1e-14;
    let lo = n.saturating_sub(n2);
    let hi = n1.min(n);
    let m_total = n1 + n2;
    let mode_f = ((u128::from(n) + 1) * (u128::from(n1) + 1)) as f64 / (m_total + 2) as f64;
    let mode = (mode_f as u64).clamp(lo, hi);
    // ratio(k) = pmf(k+1) / pmf(k)
    let ratio = |k: u64| -> Dd {
        let num = Dd::prod((n1 - k) as f64, (n - k) as f64);
        let den = Dd::prod((k + 1) as f64, (n2 + k + 1 - n) as f64);
        num.div(den)
    };
    // Weight of the observed table relative to the mode.
    let mut wx = Dd::ONE;
    if x > mode {
        for k in mode..x {
            wx = wx.mul(ratio(k));
        }
    } else {
        for k in (x..mode).rev() {
            wx = wx.div(ratio(k));
        }
    }
    let pexact = wx.hi;
    if (pexact - 1.0).abs() / pexact.max(1.0) <= 1e-14 {
        return 1.0;
    }
    let thresh = pexact * GAMMA;
    let mut total = Dd::ZERO;
    let mut selected = Dd::ZERO;
    let mut visit = |k: u64, w: Dd| {
        total = total.add(w);
        let take = if x < mode {
            // Lower tail up to x, and upper-side tables strictly below the threshold.
            k <= x || (k > mode && w.hi < thresh)
        } else {
            k >= x || (k < mode && w.hi <= thresh)
        };
        if take {
            selected = selected.add(w);
        }
    };
    // Walk outward from the mode; once weights underflow the rest contribute nothing.
    visit(mode, Dd::ONE);
    let mut w = Dd::ONE;
    let mut k = mode;
    while k < hi {
        w = w.mul(ratio(k));
        k += 1;
        if w.hi == 0.0 {
            break;
        }
        visit(k, w);
    }
    let mut w = Dd::ONE;
    let mut k = mode;
    while k > lo {
        k -= 1;
        w = w.div(ratio(k));
        if w.hi == 0.0 {
            break;
        }
        visit(k, w);
    }
    selected.hi / total.hi
}

/// Minimal double-double number (value = hi + lo, |lo| <= ulp(hi)/2).
#[derive(Clone, Copy, Debug)]
struct Dd {
    hi: f64,
    lo: f64,
}

impl Dd {
    const ONE: Dd = Dd { hi: 1.0, lo: 0.0 };
    const ZERO: Dd = Dd { hi: 0.0, lo: 0.0 };

    fn two_sum(a: f64, b: f64) -> Dd {
        let s = a + b;
        let bb = s - a;
        let e = (a - (s - bb)) + (b - bb);
        Dd { hi: s, lo: e }
    }

    fn quick_two_sum(a: f64, b: f64) -> Dd {
        let s = a + b;
        Dd { hi: s, lo: b - (s - a) }
    }

    /// Exact product of two doubles.
    fn prod(a: f64, b: f64) -> Dd {
        let p = a * b;
        Dd { hi: p, lo: a.mul_add(b, -p) }
    }

    fn add(self, o: Dd) -> Dd {
        let s = Dd::two_sum(self.hi, o.hi);
        let t = Dd::two_sum(self.lo, o.lo);
        let r = Dd::quick_two_sum(s.hi, s.lo + t.hi);
        Dd::quick_two_sum(r.hi, r.lo + t.lo)
    }

    fn mul(self, o: Dd) -> Dd {
        let p = Dd::prod(self.hi, o.hi);
        Dd::quick_two_sum(p.hi, p.lo + (self.hi * o.lo + self.lo * o.hi))
    }

    fn div(self, o: Dd) -> Dd {
        let q1 = self.hi / o.hi;
        let r = self.add(o.mul(Dd { hi: -q1, lo: 0.0 }));
        let q2 = r.hi / o.hi;
        let r = r.add(o.mul(Dd { hi: -q2, lo: 0.0 }));
        let q3 = r.hi / o.hi;
        Dd::quick_two_sum(q1, q2).add(Dd { hi: q3, lo: 0.0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ztest_constant_samples() {
        let r = ztest_proportions(0, 10, 0, 20).unwrap();
        assert_eq!(r.p_value, 1.0);
        let r = ztest_proportions(10, 10, 20, 20).unwrap();
        assert_eq!(r.p_value, 1.0);
        assert!(ztest_proportions(1, 0, 1, 1).is_err());
        assert!(ztest_proportions(2, 1, 1, 1).is_err());
    }

    #[test]
    fn contingency_errors() {
        assert!(chi2_contingency(&[1, 0], &[1, 0]).is_err());
        assert!(chi2_contingency(&[1, 2], &[1]).is_err());
        assert!(chi2_contingency(&[0, 0], &[1, 2]).is_err());
        let r = chi2_contingency(&[5], &[7]).unwrap();
        assert_eq!((r.statistic, r.p_value, r.dof), (0.0, 1.0, 0));
    }

    #[test]
    fn chisquare_edge_cases() {
        let r = chisquare_evidently(&[10, 0], &[5, 5]).unwrap();
        assert_eq!(r.statistic, f64::INFINITY);
        assert_eq!(r.p_value, 0.0);
        let r = chisquare_evidently(&[10, 0], &[5, 0]).unwrap();
        assert_eq!((r.statistic, r.p_value), (0.0, 1.0));
    }

    #[test]
    fn huge_counts_are_rejected_not_overflowed() {
        assert!(fisher_exact([[u64::MAX, 1], [1, 1]]).is_err());
        assert!(chi2_contingency(&[u64::MAX, 1], &[1, 1]).is_err());
        assert!(chisquare_evidently(&[u64::MAX, u64::MAX], &[1, 1]).is_err());
        assert!(ztest_proportions(1, u64::MAX, 1, u64::MAX).is_err());
    }

    #[test]
    fn fisher_symmetric_table_is_one() {
        let r = fisher_exact([[3, 3], [3, 3]]).unwrap();
        assert_eq!(r.p_value, 1.0);
        let r = fisher_exact([[0, 0], [1, 2]]).unwrap();
        assert!(r.statistic.is_nan());
        assert_eq!(r.p_value, 1.0);
    }
}
