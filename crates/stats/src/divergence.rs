//! Divergences between two binned distributions given as aligned proportion (or count)
//! vectors: PSI, Kullback–Leibler, Jensen–Shannon, Hellinger and total variation, plus
//! Evidently's rule for replacing empty bins before PSI/KL.
//!
//! Inputs must have the same non-zero length and hold finite, non-negative values.

use crate::StatsError;

/// Replacement for an empty bin when the smallest non-empty proportion is large.
const ZERO_FILL: f64 = 1e-4;

fn check_pair(r: &[f64], c: &[f64]) -> Result<(), StatsError> {
    if r.is_empty() || c.is_empty() {
        return Err(StatsError::EmptySample);
    }
    if r.len() != c.len() {
        return Err(StatsError::InvalidArgument("proportion vectors differ in length"));
    }
    if r.iter().chain(c).any(|v| !v.is_finite()) {
        return Err(StatsError::NonFinite);
    }
    if r.iter().chain(c).any(|&v| v < 0.0) {
        return Err(StatsError::InvalidArgument("proportions must be non-negative"));
    }
    Ok(())
}

/// Both vectors divided by their sums, as SciPy does before KL / JS.
fn normalised(r: &[f64], c: &[f64]) -> Result<(Vec<f64>, Vec<f64>), StatsError> {
    let (sr, sc): (f64, f64) = (r.iter().sum(), c.iter().sum());
    if sr <= 0.0 || sc <= 0.0 {
        return Err(StatsError::InvalidArgument("proportions sum to zero"));
    }
    Ok((r.iter().map(|v| v / sr).collect(), c.iter().map(|v| v / sc).collect()))
}

/// `scipy.special.rel_entr`: `x ln(x/y)`, 0 when `x = 0`, +inf when only `y = 0`.
fn rel_entr(x: f64, y: f64) -> f64 {
    if x > 0.0 && y > 0.0 {
        x * (x / y).ln()
    } else if x == 0.0 && y >= 0.0 {
        0.0
    } else {
        f64::INFINITY
    }
}

/// Evidently's empty-bin rule, applied to one sample's proportions in place: every exact
/// zero becomes `min(non-zero) / 1e6` when that minimum is at most `1e-4`, else `1e-4`.
/// If every entry is zero (Evidently would fail) all entries become `1e-4`.
pub fn fill_zero_proportions(p: &mut [f64]) {
    let min_nonzero = p.iter().copied().filter(|&v| v != 0.0).fold(f64::INFINITY, f64::min);
    let fill = if min_nonzero.is_finite() && min_nonzero <= ZERO_FILL { min_nonzero / 1e6 } else { ZERO_FILL };
    for v in p.iter_mut().filter(|v| **v == 0.0) {
        *v = fill;
    }
}

/// Population stability index `Σ (r_i - c_i) · ln(r_i / c_i)` on proportions as given (no
/// renormalisation). Every entry must be positive: apply [`fill_zero_proportions`] to each
/// vector first, as Evidently does ([`StatsError::InvalidArgument`] otherwise).
pub fn psi(r: &[f64], c: &[f64]) -> Result<f64, StatsError> {
    check_pair(r, c)?;
    if r.iter().chain(c).any(|&v| v == 0.0) {
        return Err(StatsError::InvalidArgument("PSI needs positive proportions; apply fill_zero_proportions first"));
    }
    Ok(r.iter().zip(c).map(|(&a, &b)| (a - b) * (a / b).ln()).sum())
}

/// Kullback–Leibler divergence `KL(r ‖ c)` in nats, as `scipy.stats.entropy(r, c)`: both
/// vectors are normalised to sum 1; a bin with `r_i > 0 = c_i` makes it +inf.
pub fn kl_divergence(r: &[f64], c: &[f64]) -> Result<f64, StatsError> {
    check_pair(r, c)?;
    let (p, q) = normalised(r, c)?;
    Ok(p.iter().zip(&q).map(|(&a, &b)| rel_entr(a, b)).sum())
}

/// Jensen–Shannon distance (the square root of the JS divergence, natural log), as
/// `scipy.spatial.distance.jensenshannon(r, c)`: both vectors normalised to sum 1, zeros
/// allowed. A divergence that rounds to a tiny negative number yields 0 here where SciPy
/// would return NaN.
pub fn jensen_shannon_distance(r: &[f64], c: &[f64]) -> Result<f64, StatsError> {
    check_pair(r, c)?;
    let (p, q) = normalised(r, c)?;
    let mut left = 0.0;
    let mut right = 0.0;
    for (&a, &b) in p.iter().zip(&q) {
        let m = (a + b) / 2.0;
        left += rel_entr(a, m);
        right += rel_entr(b, m);
    }
    Ok(((left + right) / 2.0).max(0.0).sqrt())
}

/// Hellinger distance `sqrt(0.5 · Σ (√r_i - √c_i)²)` on proportions as given (no
/// renormalisation); in `[0, 1]` for probability vectors.
pub fn hellinger(r: &[f64], c: &[f64]) -> Result<f64, StatsError> {
    check_pair(r, c)?;
    let s: f64 = r
        .iter()
        .zip(c)
        .map(|(&a, &b)| {
            let d = a.sqrt() - b.sqrt();
            d * d
        })
        .sum();
    Ok((0.5 * s).sqrt())
}

/// Total variation distance `0.5 · Σ |r_i - c_i|` on proportions as given.
pub fn total_variation(r: &[f64], c: &[f64]) -> Result<f64, StatsError> {
    check_pair(r, c)?;
    Ok(0.5 * r.iter().zip(c).map(|(&a, &b)| (a - b).abs()).sum::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_rule() {
        let mut p = [0.0, 0.5, 0.5];
        fill_zero_proportions(&mut p);
        assert_eq!(p, [1e-4, 0.5, 0.5]);
        let mut p = [0.0, 0.00005, 0.99995];
        fill_zero_proportions(&mut p);
        assert_eq!(p[0], 0.00005 / 1e6);
        let mut p = [0.0, 0.0];
        fill_zero_proportions(&mut p);
        assert_eq!(p, [1e-4, 1e-4]);
    }

    #[test]
    fn errors() {
        assert!(psi(&[0.5, 0.5], &[1.0]).is_err());
        assert!(psi(&[0.0, 1.0], &[0.5, 0.5]).is_err());
        assert!(kl_divergence(&[-0.1, 1.0], &[0.5, 0.5]).is_err());
        assert!(kl_divergence(&[0.0, 0.0], &[0.5, 0.5]).is_err());
        assert!(hellinger(&[], &[]).is_err());
        assert!(total_variation(&[f64::NAN], &[1.0]).is_err());
    }

    #[test]
    fn identical_is_zero() {
        let p = [0.2, 0.3, 0.5];
        assert_eq!(jensen_shannon_distance(&p, &p).unwrap(), 0.0);
        assert_eq!(kl_divergence(&p, &p).unwrap(), 0.0);
        assert_eq!(total_variation(&p, &p).unwrap(), 0.0);
        assert_eq!(kl_divergence(&[1.0, 0.0], &[0.0, 1.0]).unwrap(), f64::INFINITY);
    }
}
