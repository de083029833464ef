//! Rank- and ECDF-based two-sample tests: Mann–Whitney U, two-sample Cramér–von Mises and
//! the k-sample Anderson–Darling test, each reproducing SciPy's default method.
//!
//! All three only need the pooled ranks, which on sorted samples come from one merge:
//! tie groups get average ranks ("midranks") like `scipy.stats.rankdata`.

use crate::special::{bessel_k, ln_gamma, ndtr};
use crate::util::{KahanSum, check_sorted, gcd, py_floor_div, sorted_copy};
use crate::{StatsError, TestResult};

// ---------------------------------------------------------------------------------------
// Mann–Whitney U
// ---------------------------------------------------------------------------------------

/// Largest `min(U1, U2) + 1` for which the exact null distribution is tabulated. SciPy has
/// no such cap (its exact method is quadratic in `U` and would not finish); beyond it we
/// use the normal approximation.
const MWU_EXACT_MAX_CELLS: u64 = 2_000_000;

/// Two-sided Mann–Whitney U test, as `scipy.stats.mannwhitneyu(x, y,
/// alternative="two-sided", method="auto", use_continuity=True)`. The statistic is `U1`,
/// the U of `x`.
///
/// SciPy's "auto" rule: exact null distribution when either sample has at most 8 values
/// and there are no ties; otherwise the normal approximation with tie correction and
/// continuity correction. (Deviation: the exact table is capped at 2 million cells (32 MB), which
/// SciPy could not compute in reasonable time anyway; above it the normal approximation
/// is used.)
pub fn mann_whitney_u(x: &[f64], y: &[f64]) -> Result<TestResult, StatsError> {
    let x = sorted_copy(x)?;
    let y = sorted_copy(y)?;
    Ok(mwu_presorted(&x, &y))
}

/// [`mann_whitney_u`] on samples already sorted ascending.
pub fn mann_whitney_u_sorted(x: &[f64], y: &[f64]) -> Result<TestResult, StatsError> {
    check_sorted(x)?;
    check_sorted(y)?;
    Ok(mwu_presorted(x, y))
}

/// Walks the tie groups of two sorted samples, calling `f(count_in_a, count_in_b)` for
/// each distinct value in ascending order.
fn for_each_tie_group(a: &[f64], b: &[f64], mut f: impl FnMut(usize, usize)) {
    let (mut i, mut j) = (0usize, 0usize);
    loop {
        let v = match (a.get(i), b.get(j)) {
            (Some(&p), Some(&q)) => p.min(q),
            (Some(&p), None) => p,
            (None, Some(&q)) => q,
            (None, None) => break,
        };
        let (i0, j0) = (i, j);
        while i < a.len() && a[i] <= v {
            i += 1;
        }
        while j < b.len() && b[j] <= v {
            j += 1;
        }
        f(i - i0, j - j0);
    }
}

fn mwu_presorted(x: &[f64], y: &[f64]) -> TestResult {
    let (n1, n2) = (x.len() as u64, y.len() as u64);
    // 2·U1 = Σ over x of (2·#{y < x_i} + #{y = x_i}), kept in integers so it is exact.
    let mut two_u1: u128 = 0;
    let mut y_below: u64 = 0;
    let mut tie_term = 0.0;
    let mut ties = false;
    for_each_tie_group(x, y, |cx, cy| {
        let (cx, cy) = (cx as u64, cy as u64);
        two_u1 += u128::from(cx) * u128::from(2 * y_below + cy);
        y_below += cy;
        let t = (cx + cy) as f64;
        if cx + cy > 1 {
            ties = true;
        }
        tie_term += t * t * t - t;
    });
    let u1 = two_u1 as f64 / 2.0;
    let nn = n1 as f64 * n2 as f64;
    let u2 = nn - u1;
    let u = u1.max(u2);

    let exact = (n1 <= 8 || n2 <= 8) && !ties;
    let kc = (nn - u) as u64; // min(U1, U2), an integer without ties
    let p = if exact && kc < MWU_EXACT_MAX_CELLS {
        2.0 * mwu_exact_cdf(n1, n2, kc)
    } else {
        let mu = nn / 2.0;
        let n = (n1 + n2) as f64;
        let s = (nn / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)))).sqrt();
        let z = (u - mu - 0.5) / s;
        2.0 * ndtr(-z)
    };
    TestResult { statistic: u1, p_value: if p.is_nan() { 1.0 } else { p.clamp(0.0, 1.0) } }
}

/// `P(U <= k)` under the null for sample sizes `n1`, `n2` and no ties. The counts of
/// arrangements by U are the coefficients of the Gaussian binomial
/// `Π_{i=1}^{m} (1 - q^{n+i}) / (1 - q^i)` with `m = min(n1, n2)`, truncated at degree k:
/// one division and one multiplication by a sparse factor per i, O(m·k), exact in `u128`
/// while `C(n1+n2, m)` fits (otherwise in `f64`).
fn mwu_exact_cdf(n1: u64, n2: u64, k: u64) -> f64 {
    let (m, n) = (n1.min(n2), n1.max(n2));
    let len = k as usize + 1;
    let mut total: Option<u128> = Some(1);
    for i in 1..=m {
        // C(n+i, i) = C(n+i-1, i-1) · (n+i) / i, exact at every step.
        total = total.and_then(|t| t.checked_mul(u128::from(n + i))).map(|t| t / u128::from(i));
    }
    match total {
        Some(total) => {
            let mut c = vec![0u128; len];
            c[0] = 1;
            for i in 1..=m {
                let i = i as usize;
                for idx in i..len {
                    c[idx] += c[idx - i];
                }
                let shift = (n as usize) + i;
                for idx in (shift..len).rev() {
                    c[idx] -= c[idx - shift];
                }
            }
            let below: u128 = c.iter().sum();
            below as f64 / total as f64
        }
        None => {
            let mut c = vec![0f64; len];
            c[0] = 1.0;
            for i in 1..=m {
                let i = i as usize;
                for idx in i..len {
                    c[idx] += c[idx - i];
                }
                let shift = (n as usize) + i;
                for idx in (shift..len).rev() {
                    c[idx] -= c[idx - shift];
                }
            }
            let mut ln_total = 0.0;
            for i in 1..=m {
                ln_total += ((n + i) as f64 / i as f64).ln();
            }
            (c.iter().sum::<f64>().ln() - ln_total).exp()
        }
    }
}

// ---------------------------------------------------------------------------------------
// Cramér–von Mises
// ---------------------------------------------------------------------------------------

/// Two-sample Cramér–von Mises test, as `scipy.stats.cramervonmises_2samp(x, y,
/// method="auto")`: exact p-value when both samples have at most 20 values (enumeration
/// of Xiao, Gordon & Yakovlev 2006), otherwise Anderson's (1962) normalisation and the
/// limiting distribution (Csörgő & Faraway 1996 series, truncated like SciPy at terms
/// below 1e-7).
///
/// Each sample needs at least two values ([`StatsError::InvalidArgument`]).
pub fn cramervonmises_2samp(x: &[f64], y: &[f64]) -> Result<TestResult, StatsError> {
    let x = sorted_copy(x)?;
    let y = sorted_copy(y)?;
    cvm_presorted(&x, &y)
}

/// [`cramervonmises_2samp`] on samples already sorted ascending.
pub fn cramervonmises_2samp_sorted(x: &[f64], y: &[f64]) -> Result<TestResult, StatsError> {
    check_sorted(x)?;
    check_sorted(y)?;
    cvm_presorted(x, y)
}

fn cvm_presorted(x: &[f64], y: &[f64]) -> Result<TestResult, StatsError> {
    let (nx, ny) = (x.len(), y.len());
    if nx < 2 || ny < 2 {
        return Err(StatsError::InvalidArgument("Cramér–von Mises needs at least two values per sample"));
    }
    // u = nx Σ (r_i - i)² + ny Σ (s_j - j)² with midranks r (of x) and s (of y).
    let mut sx = KahanSum::default();
    let mut sy = KahanSum::default();
    let (mut ix, mut iy, mut pos) = (0usize, 0usize, 0usize);
    for_each_tie_group(x, y, |cx, cy| {
        let t = cx + cy;
        let rank = pos as f64 + (t as f64 + 1.0) / 2.0;
        for _ in 0..cx {
            ix += 1;
            let d = rank - ix as f64;
            sx.add(d * d);
        }
        for _ in 0..cy {
            iy += 1;
            let d = rank - iy as f64;
            sy.add(d * d);
        }
        pos += t;
    });
    let (nxf, nyf) = (nx as f64, ny as f64);
    let u = nxf * sx.value() + nyf * sy.value();
    let k = nxf * nyf;
    let n = nxf + nyf;
    let t = u / (k * n) - (4.0 * k - 1.0) / (6.0 * n);
    let p = if nx.max(ny) > 20 {
        let et = (1.0 + 1.0 / n) / 6.0;
        let vt = (n + 1.0) * (4.0 * k * n - 3.0 * (nxf * nxf + nyf * nyf) - 2.0 * k) / (45.0 * n * n * 4.0 * k);
        let tn = 1.0 / 6.0 + (t - et) / (45.0 * vt).sqrt();
        if tn >= 0.003 { (1.0 - cdf_cvm_inf(tn)).max(0.0) } else { 1.0 }
    } else {
        cvm_exact_pvalue(u, nx as u64, ny as u64)
    };
    Ok(TestResult { statistic: t, p_value: p.clamp(0.0, 1.0) })
}

/// Limiting CDF of the Cramér–von Mises statistic (Csörgő & Faraway 1996, eq. 1.2/1.3):
/// `Σ_k Γ(k+½)/(Γ(k+1) π^{3/2} √x) · √(4k+1) · e^{-q} K_{1/4}(q)`, `q = (4k+1)²/(16x)`,
/// stopping after the first term below 1e-7 as SciPy's `_cdf_cvm_inf` does.
fn cdf_cvm_inf(x: f64) -> f64 {
    let pi15 = std::f64::consts::PI.powf(1.5);
    let mut tot = 0.0;
    for k in 0..1000u32 {
        let kf = f64::from(k);
        let u = (ln_gamma(kf + 0.5) - ln_gamma(kf + 1.0)).exp() / (pi15 * x.sqrt());
        let y = 4.0 * kf + 1.0;
        let q = y * y / (16.0 * x);
        let term = u * y.sqrt() * (-q).exp() * bessel_k(0.25, q);
        tot += term;
        if term.abs() < 1e-7 {
            break;
        }
    }
    tot
}

/// Exact p-value `P(U >= u)` by Xiao, Gordon & Yakovlev's recursion (SciPy
/// `_pval_cvm_2samp_exact`): frequency tables of the partial sums of `(a·v - b·u)²` along
/// all lattice paths, with `a = lcm/m`, `b = lcm/n`.
fn cvm_exact_pvalue(s: f64, m: u64, n: u64) -> f64 {
    let g = gcd(m, n);
    let lcm = m / g * n;
    let a = (lcm / m) as i64;
    let b = (lcm / n) as i64;
    let mn = m * n;
    // zeta = lcm²(m+n)(6s - mn(4mn-1)) // (6 mn²), in floating point like SciPy.
    let lhs = (lcm * lcm * (m + n)) as f64 * (6.0 * s - (mn * (4 * mn - 1)) as f64);
    let zeta = py_floor_div(lhs, (6 * mn * mn) as f64);

    // gs[v]: sorted (value, frequency) pairs.
    let mut gs: Vec<Vec<(i64, u64)>> = vec![Vec::new(); m as usize + 1];
    gs[0].push((0, 1));
    for u in 0..=n as i64 {
        let mut next: Vec<Vec<(i64, u64)>> = Vec::with_capacity(gs.len());
        let mut tmp: Vec<(i64, u64)> = Vec::new();
        for (v, g) in gs.iter().enumerate() {
            tmp = merge_freq(&tmp, g);
            let d = a * v as i64 - b * u;
            let res = d * d;
            for e in tmp.iter_mut() {
                e.0 += res;
            }
            next.push(tmp.clone());
        }
        gs = next;
    }
    let combinations = binom_u128(m + n, m) as f64;
    let hits: u64 =
        gs.last().map(|t| t.iter().filter(|(val, _)| *val as f64 >= zeta).map(|(_, f)| *f).sum()).unwrap_or(0);
    hits as f64 / combinations
}

/// Union of two sorted frequency tables, adding frequencies of equal values.
fn merge_freq(a: &[(i64, u64)], b: &[(i64, u64)]) -> Vec<(i64, u64)> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push((a[i].0, a[i].1 + b[j].1));
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

fn binom_u128(n: u64, k: u64) -> u128 {
    let mut r: u128 = 1;
    for i in 1..=k {
        r = r * u128::from(n - k + i) / u128::from(i);
    }
    r
}

// ---------------------------------------------------------------------------------------
// Anderson–Darling k-sample
// ---------------------------------------------------------------------------------------

/// k-sample Anderson–Darling test (Scholz & Stephens 1987, midrank version `A²akN`), as
/// `scipy.stats.anderson_ksamp(samples)` with its default `midrank=True`/`variant="midrank"`
/// and no `method`: the statistic is the normalised `(A²akN - (k-1)) / σ`, and the p-value
/// is interpolated from Scholz & Stephens' table by a quadratic fit in log-probability,
/// **capped to `[0.001, 0.25]`** (SciPy warns in those cases; here the cap is silent).
///
/// Needs at least two samples, none empty, at least two distinct values overall, and at
/// least 4 values in total (SciPy divides by zero below that)
/// ([`StatsError::InvalidArgument`]).
pub fn anderson_ksamp(samples: &[&[f64]]) -> Result<TestResult, StatsError> {
    let sorted: Vec<Vec<f64>> = samples.iter().map(|s| sorted_copy(s)).collect::<Result<_, _>>()?;
    let refs: Vec<&[f64]> = sorted.iter().map(Vec::as_slice).collect();
    ad_presorted(&refs)
}

/// [`anderson_ksamp`] on samples already sorted ascending.
pub fn anderson_ksamp_sorted(samples: &[&[f64]]) -> Result<TestResult, StatsError> {
    for s in samples {
        check_sorted(s)?;
    }
    ad_presorted(samples)
}

fn ad_presorted(samples: &[&[f64]]) -> Result<TestResult, StatsError> {
    let k = samples.len();
    if k < 2 {
        return Err(StatsError::InvalidArgument("need at least two samples"));
    }
    let n: Vec<f64> = samples.iter().map(|s| s.len() as f64).collect();
    let big_n: usize = samples.iter().map(|s| s.len()).sum();
    if big_n < 4 {
        return Err(StatsError::InvalidArgument("need at least 4 observations in total"));
    }
    let nf = big_n as f64;

    // Walk the distinct pooled values in order with one cursor per sample.
    let mut cursor = vec![0usize; k];
    let mut below = 0usize; // pooled values strictly below the current one
    let mut inner = vec![KahanSum::default(); k];
    let mut distinct = 0usize;
    let mut f = vec![0usize; k]; // per-sample multiplicity of the current value
    loop {
        let mut v = f64::INFINITY;
        let mut any = false;
        for (s, &c) in samples.iter().zip(&cursor) {
            if let Some(&x) = s.get(c) {
                v = v.min(x);
                any = true;
            }
        }
        if !any {
            break;
        }
        distinct += 1;
        f.iter_mut().for_each(|c| *c = 0);
        for (i, s) in samples.iter().enumerate() {
            while cursor[i] < s.len() && s[cursor[i]] <= v {
                cursor[i] += 1;
                f[i] += 1;
            }
        }
        let lj: usize = f.iter().sum();
        let ljf = lj as f64;
        let bj = below as f64 + ljf / 2.0;
        let denom = bj * (nf - bj) - nf * ljf / 4.0;
        for i in 0..k {
            let mij = cursor[i] as f64 - f[i] as f64 / 2.0;
            let d = nf * mij - bj * n[i];
            inner[i].add(ljf / nf * (d * d) / denom);
        }
        below += lj;
    }
    if distinct < 2 {
        return Err(StatsError::InvalidArgument("need more than one distinct observation"));
    }
    let mut a2akn = 0.0;
    for i in 0..k {
        a2akn += inner[i].value() / n[i];
    }
    a2akn *= (nf - 1.0) / nf;

    let h_small: f64 = n.iter().map(|v| 1.0 / v).sum();
    // hs_cs = cumsum(1/(N-1), 1/(N-2), ..., 1/2); h = hs_cs[-1] + 1; g = Σ hs_cs[j]/(j+2).
    let mut cum = 0.0;
    let mut g = KahanSum::default();
    for (j, i) in (2..big_n).rev().enumerate() {
        cum += 1.0 / i as f64;
        g.add(cum / (j + 2) as f64);
    }
    let h = cum + 1.0;
    let g = g.value();
    let kf = k as f64;
    let a = (4.0 * g - 6.0) * (kf - 1.0) + (10.0 - 6.0 * g) * h_small;
    let b = (2.0 * g - 4.0) * kf * kf + 8.0 * h * kf + (2.0 * g - 14.0 * h - 4.0) * h_small - 8.0 * h + 4.0 * g - 6.0;
    let c = (6.0 * h + 2.0 * g - 2.0) * kf * kf + (4.0 * h - 4.0 * g + 6.0) * kf + (2.0 * h - 6.0) * h_small + 4.0 * h;
    let d = (2.0 * h + 6.0) * kf * kf - 4.0 * h * kf;
    let sigmasq = (a * nf.powi(3) + b * nf.powi(2) + c * nf + d) / ((nf - 1.0) * (nf - 2.0) * (nf - 3.0));
    let m = kf - 1.0;
    let a2 = (a2akn - m) / sigmasq.sqrt();

    // Scholz & Stephens (1987) Table 2 interpolation coefficients.
    const B0: [f64; 7] = [0.675, 1.281, 1.645, 1.96, 2.326, 2.573, 3.085];
    const B1: [f64; 7] = [-0.245, 0.25, 0.678, 1.149, 1.822, 2.364, 3.615];
    const B2: [f64; 7] = [-0.105, -0.305, -0.362, -0.391, -0.396, -0.345, -0.154];
    const SIG: [f64; 7] = [0.25, 0.1, 0.05, 0.025, 0.01, 0.005, 0.001];
    let mut critical = [0.0; 7];
    for i in 0..7 {
        critical[i] = B0[i] + B1[i] / m.sqrt() + B2[i] / m;
    }
    let cmin = critical.iter().copied().fold(f64::INFINITY, f64::min);
    let cmax = critical.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let p = if a2 < cmin {
        0.25
    } else if a2 > cmax {
        0.001
    } else {
        let logsig = SIG.map(f64::ln);
        let coef = polyfit2(&critical, &logsig);
        (coef[0] * a2 * a2 + coef[1] * a2 + coef[2]).exp()
    };
    Ok(TestResult { statistic: a2, p_value: p })
}

/// Least-squares quadratic `[c2, c1, c0]` through `(x, y)` like `numpy.polyfit(x, y, 2)`:
/// column-scaled Vandermonde matrix, modified Gram–Schmidt QR, back substitution.
fn polyfit2(x: &[f64; 7], y: &[f64; 7]) -> [f64; 3] {
    let mut cols = [[0.0f64; 7]; 3];
    for i in 0..7 {
        cols[0][i] = x[i] * x[i];
        cols[1][i] = x[i];
        cols[2][i] = 1.0;
    }
    let mut scale = [0.0f64; 3];
    for j in 0..3 {
        scale[j] = cols[j].iter().map(|v| v * v).sum::<f64>().sqrt();
        for v in cols[j].iter_mut() {
            *v /= scale[j];
        }
    }
    let mut r = [[0.0f64; 3]; 3];
    for j in 0..3 {
        for p in 0..j {
            let dot: f64 = (0..7).map(|i| cols[p][i] * cols[j][i]).sum();
            r[p][j] = dot;
            let qp = cols[p];
            for (cj, q) in cols[j].iter_mut().zip(qp) {
                *cj -= dot * q;
            }
        }
        let norm = cols[j].iter().map(|v| v * v).sum::<f64>().sqrt();
        r[j][j] = norm;
        for v in cols[j].iter_mut() {
            *v /= norm;
        }
    }
    let mut qty = [0.0f64; 3];
    for j in 0..3 {
        qty[j] = (0..7).map(|i| cols[j][i] * y[i]).sum();
    }
    let mut c = [0.0f64; 3];
    for j in (0..3).rev() {
        let mut s = qty[j];
        for p in (j + 1)..3 {
            s -= r[j][p] * c[p];
        }
        c[j] = s / r[j][j];
    }
    [c[0] / scale[0], c[1] / scale[1], c[2] / scale[2]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mwu_small_exact() {
        // No overlap, n = 3 vs 3: U1 = 0, exact p = 2 / C(6,3) = 0.1.
        let r = mann_whitney_u(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]).unwrap();
        assert_eq!(r.statistic, 0.0);
        assert!((r.p_value - 0.1).abs() < 1e-15);
    }

    #[test]
    fn errors() {
        assert!(cramervonmises_2samp(&[1.0], &[1.0, 2.0]).is_err());
        assert!(anderson_ksamp(&[&[1.0, 2.0]]).is_err());
        assert!(anderson_ksamp(&[&[1.0, 1.0], &[1.0, 1.0]]).is_err());
        assert!(anderson_ksamp(&[&[1.0], &[2.0]]).is_err());
        assert!(mann_whitney_u(&[], &[1.0]).is_err());
    }

    #[test]
    fn all_tied_samples_give_p_one() {
        let r = mann_whitney_u(&[2.0; 10], &[2.0; 12]).unwrap();
        assert_eq!((r.statistic, r.p_value), (60.0, 1.0));
    }

    #[test]
    fn gaussian_binomial_total() {
        // Σ of all coefficients equals C(n1+n2, n1).
        assert!((mwu_exact_cdf(3, 4, 12) - 1.0).abs() < 1e-15);
        assert!((mwu_exact_cdf(2, 2, 0) - 1.0 / 6.0).abs() < 1e-15);
    }
}
