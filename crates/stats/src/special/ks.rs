//! Kolmogorov–Smirnov distributions.

use super::*;
use crate::util::KahanSum;
use std::f64::consts::{LN_2, PI};

/// Survival function of the limiting Kolmogorov distribution
/// (`scipy.special.kolmogorov`, i.e. `kstwobign.sf`):
/// `P(K > x) = 2 Σ_{k≥1} (-1)^{k-1} e^{-2k²x²}`.
pub fn kolmogorov(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 1.0;
    }
    let sf = if x <= 0.82 {
        // Jacobi-transformed series converges fast for small x:
        // P(K <= x) = √(2π)/x Σ_{k≥1} exp(-(2k-1)²π²/(8x²)).
        let w = (2.0 * PI).sqrt() / x;
        let base = -PI * PI / (8.0 * x * x);
        let mut cdf = 0.0;
        for k in 1..20 {
            let m = f64::from(2 * k - 1);
            let term = (base * m * m).exp();
            cdf += term;
            if term <= cdf * EPS * 0.1 {
                break;
            }
        }
        1.0 - w * cdf
    } else {
        let mut sum = 0.0;
        for k in 1..40 {
            let kf = f64::from(k);
            let term = (-2.0 * kf * kf * x * x).exp();
            if k % 2 == 1 {
                sum += term;
            } else {
                sum -= term;
            }
            if term <= sum.abs() * EPS * 0.1 {
                break;
            }
        }
        2.0 * sum
    };
    sf.clamp(0.0, 1.0)
}

/// `floor(n·x)` and its fractional part, computed exactly (the rounding error of `n*x` is
/// recovered with a fused multiply-add) so that `x = k/n` is recognised reliably.
fn floor_frac(n: f64, x: f64) -> (f64, f64) {
    let p = n * x;
    let e = n.mul_add(x, -p);
    let mut fl = p.floor();
    let mut frac = (p - fl) + e;
    if frac < 0.0 {
        fl -= 1.0;
        frac += 1.0;
    }
    if frac >= 1.0 {
        fl += 1.0;
        frac -= 1.0;
    }
    (fl, frac)
}

/// Survival function of the one-sided Kolmogorov–Smirnov statistic `D_n^+`
/// (`scipy.special.smirnov(n, x)`), by the Birnbaum–Tingey sum
/// `P(D_n^+ >= x) = x Σ_{v=0}^{⌊n(1-x)⌋} C(n,v) (1-x-v/n)^{n-v} (x+v/n)^{v-1}`,
/// whose terms are all positive; each term is evaluated in log space. Uses SciPy's
/// special cases (`x <= 1/n`, `x >= 1-1/n`, underflow, and its closed-form approximation
/// for `n > 1_000_000`) so the same value comes out for the same inputs.
pub fn smirnov(n: u64, x: f64) -> f64 {
    if x.is_nan() || n == 0 || !(0.0..=1.0).contains(&x) {
        return f64::NAN;
    }
    if n == 1 {
        return 1.0 - x;
    }
    if x == 0.0 {
        return 1.0;
    }
    if x == 1.0 {
        return 0.0;
    }
    let nf = n as f64;
    let (nxfl, alpha) = floor_frac(nf, x);
    if nxfl == 0.0 || (nxfl == 1.0 && alpha == 0.0) {
        let cdf = x * ((nf - 1.0) * x.ln_1p()).exp();
        return (1.0 - cdf).clamp(0.0, 1.0);
    }
    if -2.0 * nf * x * x < MIN_LOG {
        return 0.0;
    }
    if nxfl >= nf - 1.0 {
        return (nf * (-x).ln_1p()).exp().clamp(0.0, 1.0);
    }
    if n > 1_000_000 {
        let logp = -(6.0 * nf * x + 1.0).powi(2) / 18.0 / nf;
        let sf = if logp < -LN_2 { logp.exp() } else { 1.0 - (-logp.exp_m1()) };
        return sf.clamp(0.0, 1.0);
    }
    // Last index of the sum; an exact x = k/n would give a zero last term, so skip it.
    let mut last = nf - nxfl - if alpha == 0.0 { 0.0 } else { 1.0 };
    if alpha == 0.0 {
        last -= 1.0;
    }
    let n_terms = last + 1.0;
    let vmid = (n / 2) as f64;
    let mut sum = (nf * (-x).ln_1p()).exp() / x;
    // ln C(n, v), accumulated with compensation: thousands of terms of size ~ln(n/v)
    // would otherwise drift by ~1e-10.
    let mut ln_c = KahanSum::default();
    let mut j = 1.0;
    while j < n_terms {
        let v = j;
        ln_c.add(((nf - v + 1.0) / v).ln());
        // x + v/n from the exact integer and fractional parts of n·x, and
        // ln(1 - x - v/n) through ln_1p: the power n - v multiplies any error here.
        let t1x = ((v + nxfl) + alpha) / nf;
        let t2 = (-t1x).ln_1p();
        let t1 = t1x.ln();
        let aj = (ln_c.value() + (nf - v) * t2 + (v - 1.0) * t1).exp();
        sum += aj;
        if aj != 0.0 {
            if 4.0 * (n_terms - j) * aj < EPS * sum && j != n_terms - 1.0 {
                break;
            }
        } else if j > vmid {
            break;
        }
        j += 1.0;
    }
    (x * sum).clamp(0.0, 1.0)
}

const E128: i32 = 128;
const EP128: f64 = (1u128 << 127) as f64 * 2.0; // 2^128
const EM128: f64 = 1.0 / EP128; // 2^-128

fn ldexp(x: f64, e: i32) -> f64 {
    // Split the scaling so intermediate powers of two stay representable.
    let mut v = x;
    let mut e = e;
    while e > 1000 {
        v *= 2f64.powi(1000);
        e -= 1000;
    }
    while e < -1000 {
        v *= 2f64.powi(-1000);
        e += 1000;
    }
    v * 2f64.powi(e)
}

/// `log(n! / n^n)` via Stirling, as SciPy's `_log_nfactorial_div_n_pow_n`.
fn log_nfactorial_div_n_pow_n(n: f64) -> f64 {
    // Stirling-series coefficients B_2k / (2k(2k-1)), highest power first (SciPy's
    // `_STIRLING_COEFFS`).
    const COEFFS: [f64; 8] = [
        -3617.0 / 122_400.0,
        1.0 / 156.0,
        -691.0 / 360_360.0,
        1.0 / 1188.0,
        -1.0 / 1680.0,
        1.0 / 1260.0,
        -1.0 / 360.0,
        1.0 / 12.0,
    ];
    let rn = 1.0 / n;
    let z = rn / n;
    let mut poly = 0.0;
    for c in COEFFS {
        poly = poly * z + c;
    }
    n.ln() / 2.0 - n + (2.0 * PI).ln() / 2.0 + rn * poly
}

/// Square matrix product for the Durbin matrix method.
fn matmul(a: &[f64], b: &[f64], m: usize) -> Vec<f64> {
    let mut c = vec![0.0; m * m];
    for i in 0..m {
        for k in 0..m {
            let aik = a[i * m + k];
            if aik == 0.0 {
                continue;
            }
            let brow = &b[k * m..(k + 1) * m];
            let crow = &mut c[i * m..(i + 1) * m];
            for (cv, bv) in crow.iter_mut().zip(brow) {
                *cv += aik * bv;
            }
        }
    }
    c
}

/// `P(D_n <= d)` by Durbin's matrix formula as organised by Marsaglia, Tsang & Wang
/// (SciPy `_kolmogn_DMTW`), including its power-of-two rescaling.
fn kolmogn_dmtw_cdf(n: u64, d: f64) -> f64 {
    if d >= 1.0 {
        return 1.0;
    }
    let nf = n as f64;
    let nd = nf * d;
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;
    let mut v: Vec<f64> = (1..=m).map(|j| 1.0 - h.powi(j as i32)).collect();
    let mut w = vec![0.0; m];
    let mut fac = 1.0;
    for j in 1..=m {
        w[j - 1] = fac;
        fac /= j as f64;
        v[j - 1] *= fac;
    }
    let tt = (2.0 * h - 1.0).max(0.0).powi(m as i32) - 2.0 * h.powi(m as i32);
    v[m - 1] = (1.0 + tt) * fac;

    let mut hm = vec![0.0; m * m];
    for i in 1..m {
        for r in (i - 1)..m {
            hm[r * m + i] = w[r - (i - 1)];
        }
    }
    for r in 0..m {
        hm[r * m] = v[r];
    }
    for c in 0..m {
        hm[(m - 1) * m + c] = v[m - 1 - c];
    }

    let mut hpwr = vec![0.0; m * m];
    for i in 0..m {
        hpwr[i * m + i] = 1.0;
    }
    let mut nn = n;
    let mut expnt: i32 = 0;
    let mut hexpnt: i32 = 0;
    let kk = (k - 1) * m + (k - 1);
    while nn > 0 {
        if nn % 2 == 1 {
            hpwr = matmul(&hpwr, &hm, m);
            expnt += hexpnt;
        }
        hm = matmul(&hm, &hm, m);
        hexpnt *= 2;
        if hm[kk].abs() > EP128 {
            for v in hm.iter_mut() {
                *v /= EP128;
            }
            hexpnt += E128;
        }
        nn /= 2;
    }
    let mut p = hpwr[kk];
    for i in 1..=n {
        p = i as f64 * p / nf;
        if p.abs() < EM128 {
            p *= EP128;
            expnt -= E128;
        }
    }
    if expnt != 0 {
        p = ldexp(p, expnt);
    }
    p.clamp(0.0, 1.0)
}

/// Row bounds for the Pomeranz recursion (SciPy `_pomeranz_compute_j1j2`).
fn pomeranz_j1j2(i: i64, n: i64, ll: i64, ceilf: i64, roundf: i64) -> (i64, i64) {
    let (j1, j2) = if i == 0 {
        (-ll - ceilf - 1, ll + ceilf - 1)
    } else {
        let ip1div2 = (i + 1) / 2;
        let ip1mod2 = (i + 1) % 2;
        if ip1mod2 == 0 {
            if ip1div2 == n + 1 {
                (n - ll - ceilf - 1, n + ll + ceilf - 1)
            } else {
                (ip1div2 - 1 - ll - roundf - 1, ip1div2 + ll - 1 + ceilf - 1)
            }
        } else {
            (ip1div2 - 1 - ll - 1, ip1div2 + ll + roundf - 1)
        }
    };
    ((j1 + 2).max(0), j2.min(n))
}

/// `P(D_n <= x)` by the Pomeranz recursion (SciPy `_kolmogn_Pomeranz`), used for n <= 140.
fn kolmogn_pomeranz_cdf(n: u64, x: f64) -> f64 {
    let ni = n as i64;
    let nf = n as f64;
    let t = nf * x;
    let llf = t.floor();
    let ll = llf as i64;
    let f = t - llf;
    let g = f.min(1.0 - f);
    let ceilf = i64::from(f > 0.0);
    let roundf = i64::from(f > 0.5);
    let npwrs = (2 * (ll + 1)) as usize;
    let mut gpower = vec![0.0; npwrs];
    let mut twogpower = vec![0.0; npwrs];
    let mut onem2gpower = vec![0.0; npwrs];
    gpower[0] = 1.0;
    twogpower[0] = 1.0;
    onem2gpower[0] = 1.0;
    let mut expnt: i32 = 0;
    let (g_over_n, two_g_over_n, one_minus_two_g_over_n) = (g / nf, 2.0 * g / nf, (1.0 - 2.0 * g) / nf);
    for m in 1..npwrs {
        let mf = m as f64;
        gpower[m] = gpower[m - 1] * g_over_n / mf;
        twogpower[m] = twogpower[m - 1] * two_g_over_n / mf;
        onem2gpower[m] = onem2gpower[m - 1] * one_minus_two_g_over_n / mf;
    }
    let mut v0 = vec![0.0; npwrs];
    let mut v1 = vec![0.0; npwrs];
    v1[0] = 1.0;
    let (mut v0s, mut v1s) = (0i64, 0i64);
    let mut j1 = pomeranz_j1j2(0, ni, ll, ceilf, roundf).0;
    for i in 1..(2 * ni + 2) {
        let k1 = j1;
        std::mem::swap(&mut v0, &mut v1);
        std::mem::swap(&mut v0s, &mut v1s);
        v1.iter_mut().for_each(|v| *v = 0.0);
        let (row_j1, j2) = pomeranz_j1j2(i, ni, ll, ceilf, roundf);
        j1 = row_j1;
        let pwrs = if i == 1 || i == 2 * ni + 1 {
            &gpower
        } else if i % 2 == 1 {
            &twogpower
        } else {
            &onem2gpower
        };
        let ln2 = j2 - k1 + 1;
        if ln2 > 0 {
            // conv = np.convolve(V0[k1-V0s : k1-V0s+ln2], pwrs[:ln2]); keep the slice
            // conv[j1-k1 : j1-k1 + (j2-j1+1)].
            let start = k1 - v0s;
            let seg_len = ln2.min(npwrs as i64 - start).max(0);
            let plen = ln2.min(npwrs as i64);
            let conv_start = j1 - k1;
            let conv_len = j2 - j1 + 1;
            for out in 0..conv_len.max(0) {
                let idx = conv_start + out;
                let mut acc = 0.0;
                let lo = (idx - plen + 1).max(0);
                let hi = idx.min(seg_len - 1);
                let mut p = lo;
                while p <= hi {
                    let a = v0.get((start + p) as usize).copied().unwrap_or(0.0);
                    let b = pwrs.get((idx - p) as usize).copied().unwrap_or(0.0);
                    acc += a * b;
                    p += 1;
                }
                if let Some(slot) = v1.get_mut(out as usize) {
                    *slot = acc;
                }
            }
            let vmax = v1.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if 0.0 < vmax && vmax < EM128 {
                v1.iter_mut().for_each(|v| *v *= EP128);
                expnt -= E128;
            }
            v1s = v0s + j1 - k1;
        }
    }
    let mut ans = v1.get((ni - v1s) as usize).copied().unwrap_or(0.0);
    for m in 1..=n {
        if ans.abs() > EP128 {
            ans *= EM128;
            expnt += E128;
        }
        ans *= m as f64;
    }
    if expnt != 0 {
        ans = ldexp(ans, expnt);
    }
    ans.clamp(0.0, 1.0)
}

/// Pelz–Good asymptotic series for `P(D_n <= x)` (SciPy `_kolmogn_PelzGood`).
fn kolmogn_pelz_good_cdf(n: u64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let nf = n as f64;
    let z = nf.sqrt() * x;
    let (zsquared, zthree, zfour, zsix) = (z.powi(2), z.powi(3), z.powi(4), z.powi(6));
    let pi2 = PI * PI;
    let pi4 = pi2 * pi2;
    let pi6 = pi4 * pi2;
    let qlog = -pi2 / 8.0 / zsquared;
    if qlog < -708.0 {
        return 0.0;
    }
    let q = qlog.exp();
    let k1a = -zsquared;
    let k1b = pi2 / 4.0;
    let k2a = 6.0 * zsix + 2.0 * zfour;
    let k2b = (2.0 * zfour - 5.0 * zsquared) * pi2 / 4.0;
    let k2c = pi4 * (1.0 - 2.0 * zsquared) / 16.0;
    let k3d = pi6 * (5.0 - 30.0 * zsquared) / 64.0;
    let k3c = pi4 * (-60.0 * zsquared + 212.0 * zfour) / 16.0;
    let k3b = pi2 * (135.0 * zfour - 96.0 * zsix) / 4.0;
    let k3a = -30.0 * zsix - 90.0 * z.powi(8);

    let mut k = [0.0f64; 4];
    let maxk = (16.0 * z / PI).ceil() as i64;
    let mut kk = maxk;
    while kk > 0 {
        let m = (2 * kk - 1) as f64;
        let (msq, m4, m6) = (m * m, m.powi(4), m.powi(6));
        let qpower = q.powf((8 * kk) as f64);
        let coeffs = [1.0, k1a + k1b * msq, k2a + k2b * msq + k2c * m4, k3a + k3b * msq + k3c * m4 + k3d * m6];
        for i in 0..4 {
            k[i] = k[i] * qpower + coeffs[i];
        }
        kk -= 1;
    }
    let sqrt2pi = (2.0 * PI).sqrt();
    let denoms = [z, 6.0 * zfour, 72.0 * z.powi(7), 6480.0 * z.powi(10)];
    for i in 0..4 {
        k[i] = k[i] * q * sqrt2pi / denoms[i];
    }
    let q2 = (-pi2 / 2.0 / zsquared).exp();
    let sqrt3z = 3f64.sqrt() * z;
    let mut k2extra = 0.0;
    let mut k3extra = 0.0;
    let mut kk = maxk;
    while kk > 0 {
        let ksq = (kk * kk) as f64;
        let qp = q2.powf(ksq);
        k2extra += ksq * qp;
        let kspi = PI * kk as f64;
        k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ksq * qp;
        kk -= 1;
    }
    k[2] += k2extra * pi2 * sqrt2pi / (-36.0 * zthree);
    k[3] += k3extra * pi2 * sqrt2pi / (216.0 * zsix);
    for (i, v) in k.iter_mut().enumerate() {
        *v /= nf.powf(i as f64 / 2.0);
    }
    k.iter().sum()
}

/// Survival function of the exact two-sided one-sample KS statistic `D_n`
/// (`scipy.stats.kstwo.sf(x, n)`), choosing SciPy's algorithm for each region of
/// `(n, x)` (Simard & L'Ecuyer 2011).
pub fn kstwo_sf(n: u64, x: f64) -> f64 {
    if x.is_nan() || n == 0 {
        return f64::NAN;
    }
    let nf = n as f64;
    // rv_continuous.sf: 1 at or below the support's lower end 0.5/n, 0 at or above 1.
    if x <= 0.5 / nf {
        return 1.0;
    }
    if x >= 1.0 {
        return 0.0;
    }
    let t = nf * x;
    if t <= 1.0 {
        // Ruben–Gambino: 1/(2n) <= x <= 1/n.
        if t <= 0.5 {
            return 1.0;
        }
        let prob = if n <= 140 {
            let mut p = 1.0;
            for i in 1..=n {
                p *= i as f64 * (1.0 / nf) * (2.0 * t - 1.0);
            }
            p
        } else {
            (log_nfactorial_div_n_pow_n(nf) + nf * (2.0 * t - 1.0).ln()).exp()
        };
        return (1.0 - prob).clamp(0.0, 1.0);
    }
    if t >= nf - 1.0 {
        return (2.0 * (1.0 - x).powf(nf)).clamp(0.0, 1.0);
    }
    if x >= 0.5 {
        return (2.0 * smirnov(n, x)).clamp(0.0, 1.0);
    }
    let nxsquared = t * x;
    if n <= 140 {
        if nxsquared <= 0.754693 {
            return (1.0 - kolmogn_dmtw_cdf(n, x)).clamp(0.0, 1.0);
        }
        if nxsquared <= 4.0 {
            return (1.0 - kolmogn_pomeranz_cdf(n, x)).clamp(0.0, 1.0);
        }
        return (2.0 * smirnov(n, x)).clamp(0.0, 1.0);
    }
    if nxsquared >= 370.0 {
        return 0.0;
    }
    if nxsquared >= 2.2 {
        return (2.0 * smirnov(n, x)).clamp(0.0, 1.0);
    }
    let cdf = if nxsquared >= 18.0 {
        1.0
    } else if n <= 100_000 && nf * x.powf(1.5) <= 1.4 {
        kolmogn_dmtw_cdf(n, x)
    } else {
        kolmogn_pelz_good_cdf(n, x)
    };
    (1.0 - cdf).clamp(0.0, 1.0)
}
