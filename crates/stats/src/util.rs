//! Small shared helpers: input validation, sorting, accurate summation and NumPy-style
//! rounding. Kept private so the public API stays about statistics.

use crate::StatsError;

/// Rejects an empty sample or one holding NaN/±inf.
pub(crate) fn check_sample(x: &[f64]) -> Result<(), StatsError> {
    if x.is_empty() {
        return Err(StatsError::EmptySample);
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(StatsError::NonFinite);
    }
    Ok(())
}

/// Like [`check_sample`], and also requires non-decreasing order (for `*_sorted` APIs).
/// One pass: in a sorted slice every value is finite when the ends are and no NaN sits in
/// between (a NaN makes one of its neighbouring comparisons false).
pub(crate) fn check_sorted(x: &[f64]) -> Result<(), StatsError> {
    let (Some(first), Some(last)) = (x.first(), x.last()) else { return Err(StatsError::EmptySample) };
    if !first.is_finite() || !last.is_finite() {
        return Err(StatsError::NonFinite);
    }
    if x.windows(2).any(|w| w[0].partial_cmp(&w[1]).is_none_or(|o| o == std::cmp::Ordering::Greater)) {
        return Err(if x.iter().any(|v| v.is_nan()) {
            StatsError::NonFinite
        } else {
            StatsError::InvalidArgument("sample is not sorted ascending")
        });
    }
    Ok(())
}

/// Validated, sorted copy of a sample. Validation comes first so the total order used to
/// sort never meets a NaN; `-0.0` and `0.0` end up adjacent, and every algorithm below
/// compares with IEEE `<`/`==`, which treats them as ties exactly like NumPy.
pub(crate) fn sorted_copy(x: &[f64]) -> Result<Vec<f64>, StatsError> {
    check_sample(x)?;
    let mut v = x.to_vec();
    v.sort_unstable_by(f64::total_cmp);
    Ok(v)
}

/// Neumaier-compensated running sum. Columns reach 10 million values, where a naive sum
/// can lose ~1e-9 relative; compensation keeps us within a few ulps of NumPy's pairwise
/// summation.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct KahanSum {
    sum: f64,
    comp: f64,
}

impl KahanSum {
    pub(crate) fn add(&mut self, v: f64) {
        let t = self.sum + v;
        if self.sum.abs() >= v.abs() {
            self.comp += (self.sum - t) + v;
        } else {
            self.comp += (v - t) + self.sum;
        }
        self.sum = t;
    }

    pub(crate) fn value(&self) -> f64 {
        self.sum + self.comp
    }
}

/// Sum of an iterator with compensation.
pub(crate) fn accurate_sum<I: IntoIterator<Item = f64>>(it: I) -> f64 {
    let mut s = KahanSum::default();
    for v in it {
        s.add(v);
    }
    s.value()
}

/// `np.round`: round half to even.
pub(crate) fn round_half_even(x: f64) -> f64 {
    x.round_ties_even()
}

/// Python/NumPy float floor division `a // b`, which floors the exact quotient of the two
/// doubles rather than the rounded `a / b` (CPython's `float_floor_div` algorithm).
pub(crate) fn py_floor_div(a: f64, b: f64) -> f64 {
    let m = a % b;
    let mut div = (a - m) / b;
    if m != 0.0 && ((b < 0.0) != (m < 0.0)) {
        div -= 1.0;
    }
    if div != 0.0 {
        let mut fd = div.floor();
        if div - fd > 0.5 {
            fd += 1.0;
        }
        fd
    } else {
        (0.0f64).copysign(a / b)
    }
}

/// Greatest common divisor.
pub(crate) fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        let t = a % b;
        a = b;
        b = t;
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_half_even_matches_numpy() {
        assert_eq!(round_half_even(0.5), 0.0);
        assert_eq!(round_half_even(1.5), 2.0);
        assert_eq!(round_half_even(2.5), 2.0);
        assert_eq!(round_half_even(-2.5), -2.0);
        assert_eq!(round_half_even(2.4), 2.0);
        assert_eq!(round_half_even(2.6), 3.0);
    }

    #[test]
    fn floor_div_matches_python() {
        assert_eq!(py_floor_div(7.0, 2.0), 3.0);
        assert_eq!(py_floor_div(-7.0, 2.0), -4.0);
        assert_eq!(py_floor_div(6.0, 3.0), 2.0);
        assert_eq!(py_floor_div(1.0, 0.1), 9.0);
    }

    #[test]
    fn compensated_sum() {
        let v = [1e16, 1.0, -1e16, 1.0];
        assert_eq!(accurate_sum(v), 2.0);
    }
}
