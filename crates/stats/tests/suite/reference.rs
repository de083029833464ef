//! Checks every public function against SciPy/NumPy outputs stored in
//! `tests/data/reference.txt` (written by `tests/data/make_reference.py`; the SciPy and
//! NumPy versions are in its header). Statistics must match to 1e-9 relative, p-values to
//! 1e-9 absolute. Python is not needed to run these tests.

// Test harness: malformed reference data should fail loudly, so helpers may unwrap/panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use riskops_stats as rs;
use std::collections::HashMap;

const REFERENCE: &str = include_str!("../data/reference.txt");

/// Relative tolerance on statistics and special-function values.
const STAT_RTOL: f64 = 1e-9;
/// Absolute tolerance on p-values.
const P_ATOL: f64 = 1e-9;
/// Absolute floor for statistics that are differences of O(1) terms and can be ~0
/// (MMD², divergences of identical inputs): relative error is meaningless at 0.
const STAT_ATOL: f64 = 1e-12;

struct Case {
    func: String,
    name: String,
    inputs: HashMap<String, Vec<f64>>,
    out: Vec<f64>,
}

use super::generator::generate;

fn parse_f64(tok: &str) -> f64 {
    tok.parse::<f64>().unwrap_or_else(|_| panic!("bad float {tok:?}"))
}

fn load() -> Vec<Case> {
    let mut cases: Vec<Case> = Vec::new();
    for line in REFERENCE.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut toks = line.split_whitespace();
        let key = toks.next().unwrap();
        if key == "@" {
            cases.push(Case {
                func: toks.next().unwrap().to_string(),
                name: toks.next().unwrap().to_string(),
                inputs: HashMap::new(),
                out: Vec::new(),
            });
            continue;
        }
        let case = cases.last_mut().expect("record before first @");
        if key == "out" {
            case.out = toks.map(parse_f64).collect();
            continue;
        }
        let values = match toks.next().unwrap() {
            "v" => toks.map(parse_f64).collect(),
            "g" => {
                let kind = toks.next().unwrap();
                let seed: u64 = toks.next().unwrap().parse().unwrap();
                let n: usize = toks.next().unwrap().parse().unwrap();
                let loc = parse_f64(toks.next().unwrap());
                let scale = parse_f64(toks.next().unwrap());
                generate(kind, seed, n, loc, scale)
            }
            other => panic!("unknown input tag {other}"),
        };
        case.inputs.insert(key.to_string(), values);
    }
    cases
}

/// Parsed once per test binary: generating the large samples is the slow part.
static CASES: std::sync::OnceLock<Vec<Case>> = std::sync::OnceLock::new();

fn cases(func: &str) -> Vec<&'static Case> {
    let v: Vec<&Case> = CASES.get_or_init(load).iter().filter(|c| c.func == func).collect();
    assert!(!v.is_empty(), "no reference cases for {func}");
    v
}

/// Collects mismatches so one run reports all of them.
#[derive(Default)]
struct Checker {
    failures: Vec<String>,
    checked: usize,
    worst_rel: f64,
    worst_abs_p: f64,
}

impl Checker {
    fn same_special(got: f64, want: f64) -> Option<bool> {
        if want.is_nan() {
            return Some(got.is_nan());
        }
        if want.is_infinite() {
            return Some(got == want);
        }
        None
    }

    fn stat(&mut self, what: &str, got: f64, want: f64) {
        self.stat_tol(what, got, want, STAT_RTOL, STAT_ATOL);
    }

    fn stat_tol(&mut self, what: &str, got: f64, want: f64, rtol: f64, atol: f64) {
        self.checked += 1;
        if let Some(ok) = Self::same_special(got, want) {
            if !ok {
                self.failures.push(format!("{what}: got {got:e}, want {want:e}"));
            }
            return;
        }
        let err = (got - want).abs();
        if want != 0.0 {
            self.worst_rel = self.worst_rel.max(err / want.abs());
        }
        if err > rtol * want.abs() + atol {
            self.failures.push(format!("{what}: got {got:e}, want {want:e} (rel {:e})", err / want.abs()));
        }
    }

    fn p(&mut self, what: &str, got: f64, want: f64) {
        self.checked += 1;
        if let Some(ok) = Self::same_special(got, want) {
            if !ok {
                self.failures.push(format!("{what}: p got {got:e}, want {want:e}"));
            }
            return;
        }
        let err = (got - want).abs();
        self.worst_abs_p = self.worst_abs_p.max(err);
        if err > P_ATOL {
            self.failures.push(format!("{what}: p got {got:e}, want {want:e} (abs {err:e})"));
        }
    }

    fn test(&mut self, what: &str, got: rs::TestResult, want: &[f64]) {
        self.stat(what, got.statistic, want[0]);
        self.p(what, got.p_value, want[1]);
    }

    fn finish(self, label: &str) {
        eprintln!(
            "{label}: {} values checked, worst statistic rel err {:e}, worst p abs err {:e}",
            self.checked, self.worst_rel, self.worst_abs_p
        );
        assert!(self.failures.is_empty(), "{label}: {} mismatches:\n{}", self.failures.len(), self.failures.join("\n"));
    }
}

fn label(c: &Case) -> String {
    format!("{} {}", c.func, c.name)
}

fn two(c: &Case) -> (&[f64], &[f64]) {
    (&c.inputs["a"], &c.inputs["b"])
}

fn sorted(v: &[f64]) -> Vec<f64> {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s
}

// ---------------------------------------------------------------------------------------
// special functions
// ---------------------------------------------------------------------------------------

fn unary(func: &str, f: impl Fn(f64) -> f64, rtol: f64) {
    let mut ck = Checker::default();
    for c in cases(func) {
        for (x, want) in c.inputs["x"].iter().zip(&c.out) {
            ck.stat_tol(&format!("{func}({x})"), f(*x), *want, rtol, 1e-300);
        }
    }
    ck.finish(func);
}

fn binary(func: &str, k1: &str, k2: &str, f: impl Fn(f64, f64) -> f64, rtol: f64, atol: f64) {
    let mut ck = Checker::default();
    for c in cases(func) {
        for ((a, b), want) in c.inputs[k1].iter().zip(&c.inputs[k2]).zip(&c.out) {
            ck.stat_tol(&format!("{func}({a}, {b})"), f(*a, *b), *want, rtol, atol);
        }
    }
    ck.finish(func);
}

#[test]
fn special_ndtr() {
    unary("ndtr", rs::special::ndtr, 1e-13);
}

#[test]
fn special_erfc() {
    unary("erfc", rs::special::erfc, 1e-13);
}

#[test]
fn special_gammaln() {
    // Absolute floor: ln Γ crosses zero at 1 and 2.
    let mut ck = Checker::default();
    for c in cases("gammaln") {
        for (x, want) in c.inputs["x"].iter().zip(&c.out) {
            ck.stat_tol(&format!("gammaln({x})"), rs::special::ln_gamma(*x), *want, 1e-13, 1e-14);
        }
    }
    ck.finish("gammaln");
}

#[test]
fn special_chdtrc() {
    binary("chdtrc", "df", "x", rs::special::chi2_sf, 1e-11, 1e-15);
}

#[test]
fn special_kolmogorov() {
    unary("kolmogorov", rs::special::kolmogorov, 1e-13);
}

#[test]
fn special_smirnov() {
    binary("smirnov", "n", "x", |n, x| rs::special::smirnov(n as u64, x), 1e-10, 1e-15);
}

#[test]
fn special_kstwo_sf() {
    binary("kstwo_sf", "n", "x", |n, x| rs::special::kstwo_sf(n as u64, x), 1e-9, 1e-13);
}

#[test]
fn special_kv() {
    binary("kv", "nu", "x", rs::special::bessel_k, 1e-13, 1e-300);
}

// ---------------------------------------------------------------------------------------
// two-sample numeric tests and distances
// ---------------------------------------------------------------------------------------

#[test]
fn reference_ks_2samp() {
    let mut ck = Checker::default();
    for c in cases("ks_2samp") {
        let (a, b) = two(c);
        let got = rs::ks_2samp(a, b).unwrap();
        ck.test(&label(c), got, &c.out);
        let got_sorted = rs::ks_2samp_sorted(&sorted(a), &sorted(b)).unwrap();
        assert_eq!(got, got_sorted, "{}: sorted variant differs", label(c));
    }
    ck.finish("ks_2samp");
}

#[test]
fn reference_wasserstein() {
    let mut ck = Checker::default();
    for c in cases("wasserstein") {
        let (a, b) = two(c);
        ck.stat(&label(c), rs::wasserstein_distance(a, b).unwrap(), c.out[0]);
        let s = rs::wasserstein_distance_sorted(&sorted(a), &sorted(b)).unwrap();
        ck.stat(&label(c), s, c.out[0]);
    }
    for c in cases("wasserstein_normed") {
        let (a, b) = two(c);
        ck.stat(&label(c), rs::wasserstein_normed(a, b).unwrap(), c.out[0]);
        let s = rs::wasserstein_normed_sorted(&sorted(a), &sorted(b)).unwrap();
        ck.stat(&label(c), s, c.out[0]);
    }
    ck.finish("wasserstein");
}

#[test]
fn reference_energy() {
    let mut ck = Checker::default();
    for c in cases("energy") {
        let (a, b) = two(c);
        ck.stat(&label(c), rs::energy_distance(a, b).unwrap(), c.out[0]);
        let s = rs::energy_distance_sorted(&sorted(a), &sorted(b)).unwrap();
        ck.stat(&label(c), s, c.out[0]);
    }
    ck.finish("energy");
}

#[test]
fn reference_mmd() {
    let mut ck = Checker::default();
    for c in cases("mmd") {
        let (a, b) = two(c);
        let gamma = c.inputs["gamma"][0];
        // NumPy's value may round to a tiny negative; ours is clamped at 0.
        ck.stat(&label(c), rs::mmd_rbf(a, b, gamma).unwrap(), c.out[0].max(0.0));
    }
    for c in cases("mmd_median_gamma") {
        let (a, b) = two(c);
        ck.stat(&label(c), rs::mmd_rbf_median_gamma(a, b).unwrap(), c.out[0]);
    }
    ck.finish("mmd");
}

#[test]
fn reference_mann_whitney() {
    let mut ck = Checker::default();
    for c in cases("mannwhitneyu") {
        let (a, b) = two(c);
        ck.test(&label(c), rs::mann_whitney_u(a, b).unwrap(), &c.out);
        let s = rs::mann_whitney_u_sorted(&sorted(a), &sorted(b)).unwrap();
        ck.test(&label(c), s, &c.out);
    }
    ck.finish("mannwhitneyu");
}

#[test]
fn reference_cramervonmises() {
    let mut ck = Checker::default();
    for c in cases("cvm") {
        let (a, b) = two(c);
        if c.out[0].is_nan() {
            // SciPy returns NaN for a sample with fewer than two values; we return an error.
            assert!(rs::cramervonmises_2samp(a, b).is_err(), "{}", label(c));
            continue;
        }
        ck.test(&label(c), rs::cramervonmises_2samp(a, b).unwrap(), &c.out);
        let s = rs::cramervonmises_2samp_sorted(&sorted(a), &sorted(b)).unwrap();
        ck.test(&label(c), s, &c.out);
    }
    ck.finish("cvm");
}

#[test]
fn reference_anderson() {
    let mut ck = Checker::default();
    for c in cases("anderson") {
        let (a, b) = two(c);
        ck.test(&label(c), rs::anderson_ksamp(&[a, b]).unwrap(), &c.out);
        let (sa, sb) = (sorted(a), sorted(b));
        ck.test(&label(c), rs::anderson_ksamp_sorted(&[&sa, &sb]).unwrap(), &c.out);
    }
    for c in cases("anderson3") {
        let s: Vec<&[f64]> = ["a", "b", "c"].iter().map(|k| c.inputs[*k].as_slice()).collect();
        ck.test(&label(c), rs::anderson_ksamp(&s).unwrap(), &c.out);
    }
    ck.finish("anderson");
}

// ---------------------------------------------------------------------------------------
// histograms
// ---------------------------------------------------------------------------------------

#[test]
fn reference_histogram() {
    for c in cases("hist_edges") {
        let got = rs::histogram_bin_edges_sturges(&c.inputs["x"]).unwrap();
        // Bit-exact: NumPy's edges are reproduced operation for operation.
        assert_eq!(got, c.out, "{}", label(c));
    }
    for c in cases("hist_counts") {
        let got = rs::histogram_counts(&c.inputs["x"], &c.inputs["edges"]).unwrap();
        let got: Vec<f64> = got.iter().map(|&v| v as f64).collect();
        assert_eq!(got, c.out, "{}", label(c));
    }
}

// ---------------------------------------------------------------------------------------
// divergences
// ---------------------------------------------------------------------------------------

#[test]
fn reference_divergences() {
    let mut ck = Checker::default();
    for c in cases("fill_zero") {
        let mut x = c.inputs["x"].clone();
        rs::fill_zero_proportions(&mut x);
        assert_eq!(x, c.out, "{}", label(c));
    }
    type Div = fn(&[f64], &[f64]) -> Result<f64, rs::StatsError>;
    let table: [(&str, Div); 5] = [
        ("psi", rs::psi),
        ("kl", rs::kl_divergence),
        ("js", rs::jensen_shannon_distance),
        ("hellinger", rs::hellinger),
        ("tvd", rs::total_variation),
    ];
    for (func, f) in table {
        for c in cases(func) {
            let got = f(&c.inputs["r"], &c.inputs["c"]).unwrap();
            ck.stat(&label(c), got, c.out[0]);
        }
    }
    ck.finish("divergences");
}

// ---------------------------------------------------------------------------------------
// categorical
// ---------------------------------------------------------------------------------------

fn counts(v: &[f64]) -> Vec<u64> {
    v.iter().map(|&x| x as u64).collect()
}

#[test]
fn reference_categorical() {
    let mut ck = Checker::default();
    for c in cases("chisquare") {
        let got = rs::chisquare_evidently(&counts(&c.inputs["r"]), &counts(&c.inputs["c"])).unwrap();
        ck.test(&label(c), got, &c.out);
    }
    type Ct = fn(&[u64], &[u64]) -> Result<rs::ContingencyResult, rs::StatsError>;
    let table: [(&str, Ct); 2] = [("chi2_contingency", rs::chi2_contingency), ("g_test", rs::g_test)];
    for (func, f) in table {
        for c in cases(func) {
            let got = f(&counts(&c.inputs["r"]), &counts(&c.inputs["c"])).unwrap();
            ck.stat(&label(c), got.statistic, c.out[0]);
            ck.p(&label(c), got.p_value, c.out[1]);
            assert_eq!(got.dof as f64, c.out[2], "{}", label(c));
        }
    }
    for c in cases("ztest") {
        let v = counts(&c.inputs["v"]);
        let got = rs::ztest_proportions(v[0], v[1], v[2], v[3]).unwrap();
        ck.test(&label(c), got, &c.out);
    }
    for c in cases("fisher") {
        let t = counts(&c.inputs["t"]);
        let got = rs::fisher_exact([[t[0], t[1]], [t[2], t[3]]]).unwrap();
        ck.test(&label(c), got, &c.out);
    }
    ck.finish("categorical");
}

// ---------------------------------------------------------------------------------------
// robustness: odd inputs return values or errors, never panic
// ---------------------------------------------------------------------------------------

#[test]
fn odd_inputs_never_panic() {
    let samples: Vec<Vec<f64>> = vec![
        vec![],
        vec![0.0],
        vec![-0.0, 0.0],
        vec![f64::NAN, 1.0],
        vec![f64::INFINITY],
        vec![f64::MAX, -f64::MAX],
        vec![5e-324, 0.0, -5e-324],
        vec![1e300, 1e300, -1e300],
        vec![1.0; 9],
        (0..50).map(|i| (i % 7) as f64).collect(),
    ];
    for a in &samples {
        let _ = rs::histogram_bin_edges_sturges(a);
        let _ = rs::histogram_counts(a, &[0.0, 1.0, 1.0, 2.0]);
        let mut p = a.clone();
        rs::fill_zero_proportions(&mut p);
        for b in &samples {
            let _ = rs::ks_2samp(a, b);
            let _ = rs::wasserstein_distance(a, b);
            let _ = rs::wasserstein_normed(a, b);
            let _ = rs::energy_distance(a, b);
            let _ = rs::mmd_rbf(a, b, 0.5);
            let _ = rs::mmd_rbf_median_heuristic(a, b);
            let _ = rs::mann_whitney_u(a, b);
            let _ = rs::cramervonmises_2samp(a, b);
            let _ = rs::anderson_ksamp(&[a, b]);
            let _ = rs::psi(a, b);
            let _ = rs::kl_divergence(a, b);
            let _ = rs::jensen_shannon_distance(a, b);
            let _ = rs::hellinger(a, b);
            let _ = rs::total_variation(a, b);
        }
    }
    let counts: Vec<Vec<u64>> = vec![vec![], vec![0], vec![0, 0], vec![1, 0], vec![u64::MAX, 1], vec![3, 4, 5]];
    for r in &counts {
        for c in &counts {
            let _ = rs::chisquare_evidently(r, c);
            let _ = rs::chi2_contingency(r, c);
            let _ = rs::g_test(r, c);
        }
    }
    for t in [[[0, 0], [0, 0]], [[u64::MAX, 0], [0, 0]], [[1, 0], [0, 1]], [[0, 7], [9, 0]]] {
        let _ = rs::fisher_exact(t);
    }
    for (a, n, b, m) in [(0, 0, 0, 0), (5, 3, 1, 1), (0, 1, 1, 1), (u64::MAX, u64::MAX, 0, 1)] {
        let _ = rs::ztest_proportions(a, n, b, m);
    }
    for n in [0u64, 1, 2, 140, 141, 100_000, 2_000_000, u64::MAX] {
        for x in [f64::NAN, -1.0, 0.0, 1e-300, 0.3, 0.5, 1.0, 2.0] {
            let _ = rs::special::kstwo_sf(n.min(10_000_000), x);
            let _ = rs::special::smirnov(n.min(10_000_000), x);
        }
    }
}
