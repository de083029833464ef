//! Distances between two samples of a numeric column: 1-Wasserstein (plus Evidently's
//! normalised variant), energy distance, and the squared maximum mean discrepancy with an
//! RBF kernel.
//!
//! Wasserstein and energy distance reproduce `scipy.stats.wasserstein_distance` and
//! `scipy.stats.energy_distance` (unweighted): both integrate a power of the gap between
//! the two empirical CDFs, which on sorted samples is a single O(n + m) merge.

use crate::StatsError;
use crate::util::{KahanSum, accurate_sum, check_sample, check_sorted, sorted_copy};

/// Largest sample size accepted by the O(n·m) MMD functions. Subsample above it.
pub const MMD_MAX_SAMPLE: usize = 20_000;

/// Floor on the reference standard deviation in [`wasserstein_normed`] (Evidently's).
const NORM_FLOOR: f64 = 0.001;

/// 1-Wasserstein (earth mover's) distance between two samples, as
/// `scipy.stats.wasserstein_distance(u, v)`: `∫ |F_u(t) - F_v(t)| dt`.
pub fn wasserstein_distance(u: &[f64], v: &[f64]) -> Result<f64, StatsError> {
    let u = sorted_copy(u)?;
    let v = sorted_copy(v)?;
    Ok(cdf_distance_sorted(&u, &v, 1))
}

/// [`wasserstein_distance`] on samples already sorted ascending.
pub fn wasserstein_distance_sorted(u: &[f64], v: &[f64]) -> Result<f64, StatsError> {
    check_sorted(u)?;
    check_sorted(v)?;
    Ok(cdf_distance_sorted(u, v, 1))
}

/// Evidently's normalised Wasserstein distance:
/// `wasserstein_distance(reference, current) / max(std(reference), 0.001)`, where `std`
/// is the population standard deviation (ddof = 0) of the reference sample.
pub fn wasserstein_normed(reference: &[f64], current: &[f64]) -> Result<f64, StatsError> {
    let r = sorted_copy(reference)?;
    let c = sorted_copy(current)?;
    Ok(cdf_distance_sorted(&r, &c, 1) / population_std(&r).max(NORM_FLOOR))
}

/// [`wasserstein_normed`] on samples already sorted ascending.
pub fn wasserstein_normed_sorted(reference: &[f64], current: &[f64]) -> Result<f64, StatsError> {
    check_sorted(reference)?;
    check_sorted(current)?;
    Ok(cdf_distance_sorted(reference, current, 1) / population_std(reference).max(NORM_FLOOR))
}

/// Energy distance between two samples, as `scipy.stats.energy_distance(u, v)`:
/// `√2 · (∫ (F_u(t) - F_v(t))² dt)^{1/2}`.
pub fn energy_distance(u: &[f64], v: &[f64]) -> Result<f64, StatsError> {
    let u = sorted_copy(u)?;
    let v = sorted_copy(v)?;
    Ok(std::f64::consts::SQRT_2 * cdf_distance_sorted(&u, &v, 2))
}

/// [`energy_distance`] on samples already sorted ascending.
pub fn energy_distance_sorted(u: &[f64], v: &[f64]) -> Result<f64, StatsError> {
    check_sorted(u)?;
    check_sorted(v)?;
    Ok(std::f64::consts::SQRT_2 * cdf_distance_sorted(u, v, 2))
}

/// [`wasserstein_normed_sorted`] with the number of distinct values over both samples
/// (`-0.0` and `0.0` one value), counted by the same merge: drift reports both, and a
/// second pass over a million values costs about as much as the distance itself.
pub fn wasserstein_normed_sorted_distinct(reference: &[f64], current: &[f64]) -> Result<(f64, usize), StatsError> {
    check_sorted(reference)?;
    check_sorted(current)?;
    let (distance, distinct) = cdf_distance_counted(reference, current, 1);
    Ok((distance / population_std(reference).max(NORM_FLOOR), distinct))
}

/// SciPy's `_cdf_distance` for p = 1 or 2 on sorted, validated samples: the ECDFs are
/// right-continuous step functions, so the integral is a sum over the gaps between
/// consecutive pooled values, each weighted by the ECDF difference at its left end.
fn cdf_distance_sorted(u: &[f64], v: &[f64], p: u8) -> f64 {
    cdf_distance_counted(u, v, p).0
}

/// [`cdf_distance_sorted`] and the number of distinct pooled values it stepped over.
fn cdf_distance_counted(u: &[f64], v: &[f64], p: u8) -> (f64, usize) {
    let (nu, nv) = (u.len() as f64, v.len() as f64);
    let head = |i: usize, j: usize| match (u.get(i), v.get(j)) {
        (Some(&a), Some(&b)) => Some(a.min(b)),
        (Some(&a), None) => Some(a),
        (None, Some(&b)) => Some(b),
        (None, None) => None,
    };
    let (mut i, mut j) = (0usize, 0usize);
    let mut acc = KahanSum::default();
    let mut distinct = 0;
    // Each pooled value once: step past it on both sides, then add the gap to the next.
    let mut pooled = head(0, 0);
    while let Some(cur) = pooled {
        distinct += 1;
        while i < u.len() && u[i] <= cur {
            i += 1;
        }
        while j < v.len() && v[j] <= cur {
            j += 1;
        }
        pooled = head(i, j);
        if let Some(next) = pooled {
            let diff = (i as f64 / nu - j as f64 / nv).abs();
            let delta = next - cur;
            acc.add(if p == 1 { diff * delta } else { diff * diff * delta });
        }
    }
    let s = acc.value();
    (if p == 1 { s } else { s.sqrt() }, distinct)
}

/// Population standard deviation (ddof = 0), two-pass like `numpy.std`.
fn population_std(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mean = accurate_sum(x.iter().copied()) / n;
    let var = accurate_sum(x.iter().map(|v| (v - mean) * (v - mean))) / n;
    var.sqrt()
}

/// Squared maximum mean discrepancy with the RBF kernel `k(a, b) = exp(-γ (a - b)²)`,
/// biased V-statistic form:
/// `MMD² = mean k(x_i, x_j) + mean k(y_i, y_j) - 2 mean k(x_i, y_j)`, all pairs including
/// `i = j`. Mathematically non-negative; rounding below zero is clamped to 0.
///
/// Cost is O((n + m)²) kernel evaluations, so each sample is limited to
/// [`MMD_MAX_SAMPLE`] values ([`StatsError::InvalidArgument`] above it): subsample first.
pub fn mmd_rbf(x: &[f64], y: &[f64], gamma: f64) -> Result<f64, StatsError> {
    check_mmd_inputs(x, y)?;
    if !(gamma.is_finite() && gamma > 0.0) {
        return Err(StatsError::InvalidArgument("gamma must be finite and positive"));
    }
    let kxx = self_kernel_mean(x, gamma);
    let kyy = self_kernel_mean(y, gamma);
    let mut kxy = KahanSum::default();
    for &a in x {
        let mut row = 0.0;
        for &b in y {
            let d = a - b;
            row += (-gamma * (d * d)).exp();
        }
        kxy.add(row);
    }
    let kxy = kxy.value() / (x.len() as f64 * y.len() as f64);
    Ok((kxx + kyy - 2.0 * kxy).max(0.0))
}

/// [`mmd_rbf`] with γ from the median heuristic, see [`mmd_rbf_median_gamma`].
pub fn mmd_rbf_median_heuristic(x: &[f64], y: &[f64]) -> Result<f64, StatsError> {
    let gamma = mmd_rbf_median_gamma(x, y)?;
    mmd_rbf(x, y, gamma)
}

/// Median-heuristic bandwidth: `γ = 1 / (2·med²)` where `med` is the median of the
/// distances `|z_i - z_j|`, `i < j`, over the pooled sample `z = x ∪ y` (exactly
/// `numpy.median(scipy.spatial.distance.pdist(z[:, None]))`). The median is found without
/// materialising the O(N²) distances: a binary search over the bit patterns of
/// non-negative doubles, counting pairs within a distance with two pointers over the
/// sorted pool, so O(64·N) after sorting.
///
/// Returns [`StatsError::InvalidArgument`] when the median distance is 0 (more than half
/// of all pairs tied), where the heuristic is undefined; pass an explicit γ then.
pub fn mmd_rbf_median_gamma(x: &[f64], y: &[f64]) -> Result<f64, StatsError> {
    check_mmd_inputs(x, y)?;
    let mut z: Vec<f64> = x.iter().chain(y).copied().collect();
    z.sort_unstable_by(f64::total_cmp);
    let n = z.len() as u64;
    let pairs = n * (n - 1) / 2;
    if pairs == 0 {
        return Err(StatsError::InvalidArgument("need at least two pooled values"));
    }
    let med = if pairs % 2 == 1 {
        kth_pair_distance(&z, pairs / 2)
    } else {
        (kth_pair_distance(&z, pairs / 2 - 1) + kth_pair_distance(&z, pairs / 2)) / 2.0
    };
    if med <= 0.0 {
        return Err(StatsError::InvalidArgument("median pairwise distance is zero; give gamma explicitly"));
    }
    Ok(1.0 / (2.0 * med * med))
}

fn check_mmd_inputs(x: &[f64], y: &[f64]) -> Result<(), StatsError> {
    check_sample(x)?;
    check_sample(y)?;
    if x.len() > MMD_MAX_SAMPLE || y.len() > MMD_MAX_SAMPLE {
        return Err(StatsError::InvalidArgument("MMD sample larger than MMD_MAX_SAMPLE; subsample first"));
    }
    Ok(())
}

/// Mean of `exp(-γ (a_i - a_j)²)` over all ordered pairs, diagonal included.
fn self_kernel_mean(a: &[f64], gamma: f64) -> f64 {
    let mut off = KahanSum::default();
    for (i, &ai) in a.iter().enumerate() {
        let mut row = 0.0;
        for &aj in &a[i + 1..] {
            let d = ai - aj;
            row += (-gamma * (d * d)).exp();
        }
        off.add(row);
    }
    let n = a.len() as f64;
    (2.0 * off.value() + n) / (n * n)
}

/// Number of pairs `i < j` of the sorted slice with `z_j - z_i <= d`.
fn pairs_within(z: &[f64], d: f64) -> u64 {
    let mut lo = 0usize;
    let mut count = 0u64;
    for j in 0..z.len() {
        while z[j] - z[lo] > d {
            lo += 1;
        }
        count += (j - lo) as u64;
    }
    count
}

/// The k-th smallest (0-based) pairwise distance of a sorted slice. Non-negative doubles
/// order like their bit patterns, so a binary search over `u64` finds the exact value.
fn kth_pair_distance(z: &[f64], k: u64) -> f64 {
    let (first, last) = match (z.first(), z.last()) {
        (Some(&f), Some(&l)) => (f, l),
        _ => return 0.0,
    };
    let mut lo: u64 = 0;
    let mut hi: u64 = (last - first).to_bits();
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pairs_within(z, f64::from_bits(mid)) > k {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    f64::from_bits(lo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_merge_counts_distinct_pooled_values_and_changes_no_distance() {
        let r = [-1.0, -0.0, 0.5, 0.5, 2.0, 7.25];
        let c = [0.0, 0.5, 3.0, 3.0, 7.25, 9.0, 11.0];
        let (d, distinct) = wasserstein_normed_sorted_distinct(&r, &c).unwrap();
        assert_eq!(d.to_bits(), wasserstein_normed_sorted(&r, &c).unwrap().to_bits());
        // -1, 0 (either sign), 0.5, 2, 3, 7.25, 9, 11.
        assert_eq!(distinct, 8);
    }

    #[test]
    fn simple_values() {
        assert_eq!(wasserstein_distance(&[0.0, 1.0, 3.0], &[5.0, 6.0, 8.0]).unwrap(), 5.0);
        assert_eq!(wasserstein_distance(&[1.0], &[1.0]).unwrap(), 0.0);
        let e = energy_distance(&[0.0], &[2.0]).unwrap();
        assert!((e - 2.0).abs() < 1e-15);
    }

    #[test]
    fn normed_uses_floor_for_constant_reference() {
        let w = wasserstein_normed(&[1.0, 1.0], &[2.0, 2.0]).unwrap();
        assert!((w - 1000.0).abs() < 1e-9);
    }

    #[test]
    fn mmd_errors() {
        assert!(mmd_rbf(&[1.0], &[2.0], 0.0).is_err());
        assert!(mmd_rbf(&[], &[2.0], 1.0).is_err());
        let big = vec![0.0; MMD_MAX_SAMPLE + 1];
        assert!(mmd_rbf(&big, &[1.0], 1.0).is_err());
        assert!(mmd_rbf_median_gamma(&[1.0, 1.0], &[1.0]).is_err());
        assert_eq!(mmd_rbf(&[1.0, 2.0], &[1.0, 2.0], 1.0).unwrap(), 0.0);
    }

    #[test]
    fn kth_distance_is_exact() {
        let z = [0.0, 1.0, 3.0, 7.0];
        // distances: 1, 3, 7, 2, 6, 4 -> sorted 1 2 3 4 6 7
        let expect = [1.0, 2.0, 3.0, 4.0, 6.0, 7.0];
        for (k, e) in expect.iter().enumerate() {
            assert_eq!(kth_pair_distance(&z, k as u64), *e);
        }
    }
}
