//! Drift of one column, sketch against sketch: a window's [`ColumnState`] against the
//! reference's [`ColumnProfile`], with riskops-drift's rules (Evidently's defaults) for the
//! column type, the method and the threshold.

use crate::window::ColumnState;
use riskops_data::profile::{ColumnProfile, Dtype};
use riskops_drift::rules::{self, Inferred};
use riskops_drift::{ColumnType, Method};
use riskops_stats::sketch::{QuantileSketch, ks_statistic, wasserstein};
use riskops_stats::{self as stats, special::kstwo_sf};

/// SciPy's `MAX_AUTO_N`: up to this sample size the KS p-value is exact.
const KS_EXACT_N: u64 = 10_000;
/// Evidently's floor of the reference std in the normed Wasserstein distance.
const NORM_FLOOR: f64 = 0.001;

/// One column's drift in a window.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureDrift {
    pub name: String,
    pub column_type: ColumnType,
    pub method: Method,
    /// The test statistic (tests) or the distance (distances).
    pub statistic: f64,
    pub p_value: Option<f64>,
    pub threshold: f64,
    pub drifted: bool,
    /// Values compared on each side (missing and ±inf left out).
    pub n_reference: u64,
    pub n_current: u64,
    /// Whether the statistic is what the exact computation on the raw values would give.
    pub exact: bool,
    /// Bound on |statistic − exact statistic| (99% confidence): 0 when exact, `None` when
    /// a capped summary makes it unbounded.
    pub approx_error: Option<f64>,
    /// The p-values the exact statistic could have, `[p(D + bound), p(D − bound)]` (KS).
    pub p_value_range: Option<(f64, f64)>,
    /// The verdict may differ from the exact computation's: the threshold is within
    /// `approx_error` of the statistic (for KS: the p-value range straddles the threshold).
    pub near_threshold: bool,
}

impl FeatureDrift {
    /// A result of the exact drift engine (riskops-drift on the raw values): exact, no bound.
    pub fn from_exact(c: &riskops_drift::ColumnDrift) -> FeatureDrift {
        FeatureDrift {
            name: c.name.clone(),
            column_type: c.column_type,
            method: c.method,
            statistic: c.statistic,
            p_value: c.p_value,
            threshold: c.threshold,
            drifted: c.drifted,
            n_reference: c.n_reference as u64,
            n_current: c.n_current as u64,
            exact: true,
            approx_error: Some(0.0),
            p_value_range: None,
            near_threshold: false,
        }
    }
}

/// Compares `current` with `reference`; `Err(reason)` when the column is not compared.
pub fn column_drift(reference: &ColumnProfile, current: &ColumnState) -> Result<FeatureDrift, String> {
    let name = current.name.clone();
    let non_missing = current.count();
    if non_missing == 0 {
        return Err("no values in the window".into());
    }
    // Evidently types by the current data; its dtype is the reference's (the schema).
    let column_type = match reference.dtype {
        Dtype::Float64 => ColumnType::Numerical,
        Dtype::Bool => ColumnType::Categorical,
        dtype @ (Dtype::Int64 | Dtype::Object) => {
            let f = &current.frequencies;
            let distinct = if f.other() > 0 { u64::MAX / 2 } else { f.len() as u64 };
            let boolean_text = dtype == Dtype::Object && !f.is_empty() && f.iter().all(|(v, _)| is_boolean(v));
            match rules::infer_dtype(dtype.name(), distinct, f.total().max(non_missing), boolean_text) {
                Inferred::Typed(t) => t,
                Inferred::Text => {
                    return Err(format!("free text ({distinct} distinct values in {non_missing} rows): not compared"));
                }
                Inferred::Unknown => return Err("booleans with missing values: untyped, as in Evidently".into()),
            }
        }
    };
    match column_type {
        ColumnType::Numerical => numerical(name, reference, current),
        ColumnType::Categorical => categorical(name, reference, current),
    }
}

fn is_boolean(v: &str) -> bool {
    matches!(v, "True" | "False" | "true" | "false" | "TRUE" | "FALSE")
}

fn numerical(name: String, reference: &ColumnProfile, current: &ColumnState) -> Result<FeatureDrift, String> {
    let (a, b) = (&reference.quantiles, &current.quantiles);
    let (n_ref, n_cur) = (a.count(), b.count());
    if n_ref == 0 {
        return Err("no finite values in the reference".into());
    }
    if n_cur == 0 {
        return Err("no finite values in the window".into());
    }
    let ref_counts = reference_value_counts(reference);
    let cur_counts = current.small.counts();
    // Distinct values over both samples, as far as the rule needs (more than FEW_VALUES?).
    let many = rules::FEW_VALUES + 1;
    let n_values = match (&cur_counts, reference.distinct.estimate() > many as u64 + 2) {
        (None, _) | (_, true) => usize::MAX,
        (Some(cur), false) => {
            let mut union: Vec<f64> = ref_counts.0.iter().map(|p| p.0).chain(cur.iter().map(|p| p.0)).collect();
            union.sort_by(f64::total_cmp);
            union.dedup();
            union.len()
        }
    };
    let method = rules::default_method(ColumnType::Numerical, n_ref as usize, n_values);
    let threshold = method.default_threshold();
    let eps = a.normalized_rank_error(false) + b.normalized_rank_error(false);
    let mut out = FeatureDrift {
        name,
        column_type: ColumnType::Numerical,
        method,
        statistic: f64::NAN,
        p_value: None,
        threshold,
        drifted: false,
        n_reference: n_ref,
        n_current: n_cur,
        exact: eps == 0.0,
        approx_error: Some(eps),
        p_value_range: None,
        near_threshold: false,
    };
    match method {
        Method::Ks => {
            let (d, p) = if a.is_exact() && b.is_exact() {
                let t = stats::ks_2samp_sorted(&expand(a), &expand(b)).map_err(|e| e.to_string())?;
                (t.statistic, t.p_value)
            } else {
                let d = ks_statistic(a, b).map_err(|e| e.to_string())?;
                (d, ks_p_value(n_ref, n_cur, d))
            };
            out.statistic = d;
            out.p_value = Some(p);
            out.drifted = method.drifted(p, threshold);
            if eps > 0.0 {
                let low = ks_p_value(n_ref, n_cur, (d + eps).min(1.0));
                let high = ks_p_value(n_ref, n_cur, (d - eps).max(0.0));
                out.p_value_range = Some((low, high));
                out.near_threshold = method.drifted(low, threshold) != method.drifted(high, threshold);
            }
        }
        Method::Wasserstein => {
            let norm = reference.moments.std(0).unwrap_or(0.0).max(NORM_FLOOR);
            let w = wasserstein(a, b).map_err(|e| e.to_string())? / norm;
            let span = span(a, b);
            let bound = eps * span / norm;
            out.statistic = w;
            out.approx_error = Some(bound);
            out.drifted = method.drifted(w, threshold);
            out.near_threshold = bound > 0.0 && (w - threshold).abs() <= bound;
        }
        _ => {
            // Few distinct values: compared value by value, as the drift engine does.
            let cur = cur_counts.ok_or("internal: counts of a few-valued column are missing")?;
            let (keys_r, keys_c) = align(&ref_counts.0, &cur);
            let (statistic, p_value) = on_counts(method, &keys_r, &keys_c)?;
            out.exact = ref_counts.1;
            out.approx_error = if ref_counts.1 { Some(0.0) } else { None };
            finish_counts(&mut out, statistic, p_value);
        }
    }
    Ok(out)
}

/// The reference's values with counts: exact from an int64 column's frequencies, else the
/// quantile sketch's weighted view (exact while the sketch is). Second: exact or not.
fn reference_value_counts(reference: &ColumnProfile) -> (Vec<(f64, u64)>, bool) {
    if reference.dtype == Dtype::Int64 && reference.frequencies.is_exact() && !reference.frequencies.is_empty() {
        let mut v: Vec<(f64, u64)> =
            reference.frequencies.iter().filter_map(|(k, n)| k.parse::<f64>().ok().map(|x| (x, n))).collect();
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        return (v, true);
    }
    (reference.quantiles.sorted_view(), reference.quantiles.is_exact())
}

/// Counts of both sides over the sorted union of values.
fn align(r: &[(f64, u64)], c: &[(f64, u64)]) -> (Vec<u64>, Vec<u64>) {
    let mut keys: Vec<f64> = r.iter().chain(c).map(|p| p.0).collect();
    keys.sort_by(f64::total_cmp);
    keys.dedup();
    let count = |side: &[(f64, u64)], k: f64| side.iter().filter(|p| p.0 == k).map(|p| p.1).sum::<u64>();
    (keys.iter().map(|&k| count(r, k)).collect(), keys.iter().map(|&k| count(c, k)).collect())
}

fn categorical(name: String, reference: &ColumnProfile, current: &ColumnState) -> Result<FeatureDrift, String> {
    let (rf, cf) = (&reference.frequencies, &current.frequencies);
    if rf.total() == 0 {
        return Err("no values in the reference".into());
    }
    let mut keys: Vec<&str> = rf.iter().chain(cf.iter()).map(|p| p.0).collect();
    if reference.dtype == Dtype::Int64 {
        keys.sort_by(|a, b| number_key(a).total_cmp(&number_key(b)).then_with(|| a.cmp(b)));
    } else {
        keys.sort_unstable();
    }
    keys.dedup();
    let mut r: Vec<u64> = keys.iter().map(|k| rf.get(k)).collect();
    let mut c: Vec<u64> = keys.iter().map(|k| cf.get(k)).collect();
    let exact = rf.is_exact() && cf.is_exact();
    if !exact {
        // Capped counts: everything past the cap compared as one pooled category.
        r.push(rf.other());
        c.push(cf.other());
    }
    let method = rules::default_method(ColumnType::Categorical, rf.total() as usize, r.len());
    let mut out = FeatureDrift {
        name,
        column_type: ColumnType::Categorical,
        method,
        statistic: f64::NAN,
        p_value: None,
        threshold: method.default_threshold(),
        drifted: false,
        n_reference: rf.total(),
        n_current: cf.total(),
        exact,
        approx_error: if exact { Some(0.0) } else { None },
        p_value_range: None,
        near_threshold: false,
    };
    let (statistic, p_value) = on_counts(method, &r, &c)?;
    finish_counts(&mut out, statistic, p_value);
    Ok(out)
}

fn number_key(s: &str) -> f64 {
    s.parse::<f64>().unwrap_or(f64::INFINITY)
}

fn finish_counts(out: &mut FeatureDrift, statistic: f64, p_value: Option<f64>) {
    out.statistic = statistic;
    out.p_value = p_value;
    out.drifted = out.method.drifted(p_value.unwrap_or(statistic), out.threshold);
}

/// The count-based default methods, as riskops-drift computes them.
fn on_counts(method: Method, r: &[u64], c: &[u64]) -> Result<(f64, Option<f64>), String> {
    let proportions = |counts: &[u64]| {
        let total: u64 = counts.iter().sum();
        counts.iter().map(|&n| n as f64 / total as f64).collect::<Vec<f64>>()
    };
    let err = |e: stats::StatsError| e.to_string();
    Ok(match method {
        Method::ChiSquare => {
            let t = stats::chisquare_evidently(r, c).map_err(err)?;
            (t.statistic, Some(t.p_value))
        }
        Method::ZTest => {
            // The first value in sorted order counts as 0, every other value as 1.
            let (n_ref, n_cur) = (r.iter().sum::<u64>(), c.iter().sum::<u64>());
            let (r0, c0) = (r.first().copied().unwrap_or(0), c.first().copied().unwrap_or(0));
            let t = stats::ztest_proportions(n_ref - r0, n_ref, n_cur - c0, n_cur).map_err(err)?;
            if r.len() == 1 { (f64::NAN, Some(t.p_value)) } else { (t.statistic, Some(t.p_value)) }
        }
        Method::JensenShannon => (stats::jensen_shannon_distance(&proportions(r), &proportions(c)).map_err(err)?, None),
        other => return Err(format!("method {} is not computed on summaries", other.name())),
    })
}

/// The values of an exact sketch, each repeated by its multiplicity, ascending.
fn expand(s: &QuantileSketch) -> Vec<f64> {
    let mut out = Vec::with_capacity(s.count() as usize);
    for (x, w) in s.sorted_view() {
        out.extend(std::iter::repeat_n(x, w as usize));
    }
    out
}

fn span(a: &QuantileSketch, b: &QuantileSketch) -> f64 {
    let lo = a.min().unwrap_or(0.0).min(b.min().unwrap_or(0.0));
    let hi = a.max().unwrap_or(0.0).max(b.max().unwrap_or(0.0));
    hi - lo
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// SciPy's two-sided `ks_2samp` p-value (`method="auto"`) for samples of `n1` and `n2`
/// values whose statistic is `d`: exact (lattice paths) when both have at most 10,000
/// values, asymptotic (`kstwo.sf(d, round(n1·n2/(n1+n2)))`) otherwise.
///
/// The exact p-value depends only on `n1`, `n2` and `d` rounded to the lattice
/// `h / lcm(n1, n2)`, so it is computed by riskops-stats' `ks_2samp_sorted` on two
/// two-valued samples of those sizes whose statistic is exactly `h / lcm`.
pub fn ks_p_value(n1: u64, n2: u64, d: f64) -> f64 {
    if n1 == 0 || n2 == 0 || d.is_nan() {
        return f64::NAN;
    }
    if n1.max(n2) <= KS_EXACT_N {
        let g = gcd(n1, n2);
        let (m1, m2) = (n1 / g, n2 / g);
        let lcm = m1 * n2;
        let h = (d.clamp(0.0, 1.0) * lcm as f64).round_ties_even() as u64;
        // i/n1 − j/n2 = h/lcm  ⇔  i·m2 − j·m1 = h.
        let found = (0..=n1).find_map(|i| {
            let x = (i * m2).checked_sub(h)?;
            (x % m1 == 0 && x / m1 <= n2).then_some((i, x / m1))
        });
        if let Some((i, j)) = found {
            let sample = |n: u64, zeros: u64| {
                let mut v = vec![0.0; zeros as usize];
                v.resize(n as usize, 2.0);
                v
            };
            if let Ok(t) = stats::ks_2samp_sorted(&sample(n1, i), &sample(n2, j)) {
                return t.p_value;
            }
        }
    }
    let (m, n) = (n1.max(n2) as f64, n1.min(n2) as f64);
    let n_eff = (m * n / (m + n)).round_ties_even().max(1.0) as u64;
    kstwo_sf(n_eff, d).clamp(0.0, 1.0)
}
