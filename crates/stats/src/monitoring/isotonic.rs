//! scikit-learn's `IsotonicRegression(out_of_bounds="clip", increasing=True)`, NannyML's
//! default calibrator: duplicates of x averaged (x within `1e-15` of a group's first value
//! is a duplicate, as `_make_unique` has it), pool-adjacent-violators, and prediction by
//! linear interpolation between the fitted points, clipped to the fitted range.

/// A fitted isotonic regression.
#[derive(Debug, Clone, PartialEq)]
pub struct Isotonic {
    x: Vec<f64>,
    y: Vec<f64>,
}

/// `np.finfo(np.float64).resolution`.
const RESOLUTION: f64 = 1e-15;

impl Isotonic {
    /// Fits on `(x, y)` pairs with unit weights. `x` and `y` must be finite, of equal,
    /// non-zero length (the caller checks).
    pub fn fit(x: &[f64], y: &[f64]) -> Isotonic {
        // np.lexsort((y, X)): by x, then y.
        let mut order: Vec<usize> = (0..x.len()).collect();
        order.sort_by(|&a, &b| x[a].total_cmp(&x[b]).then(y[a].total_cmp(&y[b])));
        let (mut ux, mut uy, mut uw) = (Vec::new(), Vec::new(), Vec::new());
        let (mut cx, mut cy, mut cw) = (x[order[0]], 0.0, 0.0);
        for &j in &order {
            if x[j] - cx >= RESOLUTION {
                ux.push(cx);
                uw.push(cw);
                uy.push(cy / cw);
                cx = x[j];
                cw = 1.0;
                cy = y[j];
            } else {
                cw += 1.0;
                cy += y[j];
            }
        }
        ux.push(cx);
        uw.push(cw);
        uy.push(cy / cw);
        pava(&mut uy, &mut uw);
        // Drop interior points equal to both neighbours: they do not change the interpolant.
        let n = uy.len();
        let keep: Vec<bool> =
            (0..n).map(|i| i == 0 || i + 1 == n || uy[i] != uy[i - 1] || uy[i] != uy[i + 1]).collect();
        let x = ux.iter().zip(&keep).filter(|(_, k)| **k).map(|(v, _)| *v).collect();
        let y = uy.iter().zip(&keep).filter(|(_, k)| **k).map(|(v, _)| *v).collect();
        Isotonic { x, y }
    }

    /// The calibrated value of `t`: clipped to the fitted range, then interpolated.
    pub fn predict(&self, t: f64) -> f64 {
        let (x, y) = (&self.x, &self.y);
        if x.len() == 1 {
            return y[0];
        }
        let t = t.clamp(x[0], x[x.len() - 1]);
        // scipy's interp1d: searchsorted(side="left"), clipped to 1..len-1.
        let hi = x.partition_point(|v| *v < t).clamp(1, x.len() - 1);
        let lo = hi - 1;
        let slope = (y[hi] - y[lo]) / (x[hi] - x[lo]);
        slope * (t - x[lo]) + y[lo]
    }
}

/// scikit-learn's `_inplace_contiguous_isotonic_regression`, line for line.
fn pava(y: &mut [f64], w: &mut [f64]) {
    let n = y.len();
    let mut target: Vec<usize> = (0..n).collect();
    let mut i = 0;
    while i < n {
        let mut k = target[i] + 1;
        if k == n {
            break;
        }
        if y[i] < y[k] {
            i = k;
            continue;
        }
        let mut sum_wy = w[i] * y[i];
        let mut sum_w = w[i];
        loop {
            let prev_y = y[k];
            sum_wy += w[k] * y[k];
            sum_w += w[k];
            k = target[k] + 1;
            if k == n || prev_y < y[k] {
                y[i] = sum_wy / sum_w;
                w[i] = sum_w;
                target[i] = k - 1;
                target[k - 1] = i;
                if i > 0 {
                    i = target[i - 1];
                }
                break;
            }
        }
    }
    let mut i = 0;
    while i < n {
        let k = target[i] + 1;
        let v = y[i];
        y[i + 1..k].iter_mut().for_each(|e| *e = v);
        i = k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_violators_and_interpolates() {
        // sklearn: IsotonicRegression(out_of_bounds="clip").fit([1,2,3,4,5],[1,3,2,4,3])
        // → thresholds x [1,2,3,4,5], y [1,2.5,2.5,3.5,3.5]; predict(2.5) = 2.5, predict(9) = 3.5.
        let iso = Isotonic::fit(&[1.0, 2.0, 3.0, 4.0, 5.0], &[1.0, 3.0, 2.0, 4.0, 3.0]);
        assert_eq!(iso.predict(2.5), 2.5);
        assert_eq!(iso.predict(1.5), 1.75);
        assert_eq!(iso.predict(9.0), 3.5);
        assert_eq!(iso.predict(-1.0), 1.0);
    }
}
