//! Histogram binning compatible with NumPy: Sturges bin edges
//! (`numpy.histogram_bin_edges(values, bins="sturges")`) and counts of values in given
//! edges (`numpy.histogram(values, bins=edges)[0]`).
//!
//! Edges are reproduced bit for bit, which needs NumPy's exact arithmetic: the bin count
//! is `ceil((max - min) / width)` with `width = (max - min) / (log2(n) + 1)` — not
//! `ceil(log2(n) + 1)`, which can differ by one when the division rounds up — and the edges
//! come from `linspace`, i.e. `i * step + min` with the last edge set to `max`.

use crate::StatsError;
use crate::util::check_sample;

/// `numpy.histogram_bin_edges(values, bins="sturges")`.
///
/// When all values are equal, NumPy widens the range to `[v - 0.5, v + 0.5]` and uses
/// one bin; so does this. Errors: [`StatsError::EmptySample`], [`StatsError::NonFinite`],
/// and [`StatsError::InvalidArgument`] when the range overflows or the bins would not be
/// strictly increasing (NumPy raises "Too many bins for data range" there).
pub fn histogram_bin_edges_sturges(values: &[f64]) -> Result<Vec<f64>, StatsError> {
    check_sample(values)?;
    let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
    for &v in values {
        min = min.min(v);
        max = max.max(v);
    }
    sturges_bin_edges(min, max, values.len(), false)
}

/// [`histogram_bin_edges_sturges`] from the sample's minimum, maximum and size, for callers
/// that already know them (sorted columns) and must not concatenate two samples to get
/// the edges of their union. `integer_data`: the values have an integer dtype, for which
/// numpy widens a bin narrower than 1 to width 1.
pub fn sturges_bin_edges(min: f64, max: f64, n: usize, integer_data: bool) -> Result<Vec<f64>, StatsError> {
    if n == 0 {
        return Err(StatsError::EmptySample);
    }
    if !min.is_finite() || !max.is_finite() || min > max {
        return Err(StatsError::NonFinite);
    }
    let ptp = max - min;
    if !ptp.is_finite() {
        return Err(StatsError::InvalidArgument("data range overflows a double"));
    }
    let (first, last) = if min == max { (min - 0.5, max + 0.5) } else { (min, max) };
    let mut width = ptp / ((n as f64).log2() + 1.0);
    if integer_data && width != 0.0 && width < 1.0 {
        width = 1.0;
    }
    let n_bins = if width != 0.0 { ((last - first) / width).ceil() } else { 1.0 };
    if !(1.0..=1e7).contains(&n_bins) {
        return Err(StatsError::InvalidArgument("unreasonable number of bins"));
    }
    let edges = linspace(first, last, n_bins as usize + 1);
    if edges.windows(2).any(|w| w[0] >= w[1]) {
        return Err(StatsError::InvalidArgument("too many bins for data range"));
    }
    Ok(edges)
}

/// [`histogram_counts`] for a sorted sample: O(bins · log n) instead of O(n · log bins).
pub fn histogram_counts_sorted(sorted: &[f64], edges: &[f64]) -> Result<Vec<u64>, StatsError> {
    check_edges(edges)?;
    if sorted.first().is_some_and(|v| !v.is_finite()) || sorted.last().is_some_and(|v| !v.is_finite()) {
        return Err(StatsError::NonFinite);
    }
    let n_bins = edges.len() - 1;
    // Bins are [e_i, e_{i+1}), the last one closed: count below each edge, then take differences.
    let below = |e: f64| sorted.partition_point(|&v| v < e) as u64;
    let mut counts = Vec::with_capacity(n_bins);
    for i in 0..n_bins {
        let upper =
            if i + 1 == n_bins { sorted.partition_point(|&v| v <= edges[n_bins]) as u64 } else { below(edges[i + 1]) };
        counts.push(upper - below(edges[i]));
    }
    Ok(counts)
}

fn check_edges(edges: &[f64]) -> Result<(), StatsError> {
    if edges.len() < 2 {
        return Err(StatsError::InvalidArgument("need at least two bin edges"));
    }
    if edges.iter().any(|e| !e.is_finite()) {
        return Err(StatsError::NonFinite);
    }
    if edges.windows(2).any(|w| w[0] > w[1]) {
        return Err(StatsError::InvalidArgument("bin edges must increase monotonically"));
    }
    Ok(())
}

fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    let div = (num - 1) as f64;
    let delta = stop - start;
    let step = delta / div;
    let mut out: Vec<f64> = if step == 0.0 {
        // NumPy's fallback when the step underflows: scale after dividing.
        (0..num).map(|i| i as f64 / div * delta + start).collect()
    } else {
        (0..num).map(|i| i as f64 * step + start).collect()
    };
    if let Some(last) = out.last_mut() {
        *last = stop;
    }
    out
}

/// Counts of `values` in the bins defined by `edges`, as `numpy.histogram(values,
/// bins=edges)[0]`: bin `i` holds `edges[i] <= v < edges[i+1]`, the last bin is closed on
/// the right, and values outside `[edges[0], edges[last]]` are not counted.
///
/// `edges` needs at least two finite, non-decreasing values. Values must be finite
/// (NaN is rejected rather than silently dropped). O(n log k).
pub fn histogram_counts(values: &[f64], edges: &[f64]) -> Result<Vec<u64>, StatsError> {
    check_edges(edges)?;
    if values.iter().any(|v| !v.is_finite()) {
        return Err(StatsError::NonFinite);
    }
    let n_bins = edges.len() - 1;
    let (lo, hi) = (edges[0], edges[n_bins]);
    let mut counts = vec![0u64; n_bins];
    for &v in values {
        if v < lo || v > hi {
            continue;
        }
        // Index of the last edge <= v; v == last edge belongs to the last bin.
        let idx = edges.partition_point(|&e| e <= v).saturating_sub(1).min(n_bins - 1);
        counts[idx] += 1;
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_sample_gets_one_unit_bin() {
        assert_eq!(histogram_bin_edges_sturges(&[3.0, 3.0]).unwrap(), vec![2.5, 3.5]);
    }

    #[test]
    fn counts_close_last_bin() {
        let c = histogram_counts(&[0.0, 0.5, 1.0, 2.0, -1.0, 3.0], &[0.0, 1.0, 2.0]).unwrap();
        assert_eq!(c, vec![2, 2]);
    }

    #[test]
    fn sorted_counts_equal_plain_counts() {
        let mut values: Vec<f64> = (0..1000).map(|i| ((i * 37) % 101) as f64 / 7.0).collect();
        let edges = histogram_bin_edges_sturges(&values).unwrap();
        let plain = histogram_counts(&values, &edges).unwrap();
        values.sort_by(f64::total_cmp);
        assert_eq!(histogram_counts_sorted(&values, &edges).unwrap(), plain);
        let outside = histogram_counts_sorted(&[-5.0, 0.0, 1.0, 2.0, 9.0], &[0.0, 1.0, 2.0]).unwrap();
        assert_eq!(outside, vec![1, 2]);
        assert_eq!(sturges_bin_edges(0.0, 100.0 / 7.0, 1000, false).unwrap(), edges);
        // numpy: integer data with ptp 20 over 2^21 values would get 0.91-wide bins; it uses 1.
        assert_eq!(sturges_bin_edges(0.0, 20.0, 1 << 21, true).unwrap().len(), 21);
        assert_eq!(sturges_bin_edges(0.0, 20.0, 1 << 21, false).unwrap().len(), 23);
    }

    #[test]
    fn bad_edges() {
        assert!(histogram_counts(&[1.0], &[1.0]).is_err());
        assert!(histogram_counts(&[1.0], &[2.0, 1.0]).is_err());
        assert!(histogram_counts(&[f64::NAN], &[0.0, 1.0]).is_err());
        assert!(histogram_bin_edges_sturges(&[]).is_err());
        assert!(histogram_bin_edges_sturges(&[-1e308, 1e308]).is_err());
    }
}
