//! Tests of the mergeable summaries in `riskops_stats::sketch`:
//! - reference values: `Moments` against NumPy/pandas and exact-mode quantiles against
//!   `numpy.quantile(method="inverted_cdf")`, from `tests/data/sketch_reference.txt`
//!   (written by `tests/data/make_sketch_reference.py`; Python is not needed to run these);
//! - empirical error: KLL rank error on 1M values of several distributions stays within the
//!   documented bound, HyperLogLog within 3 standard errors, exact modes exactly exact.
//!
//! Encodings and merge properties are in `sketch_properties.rs`.

// Test harness: malformed reference data should fail loudly, so helpers may unwrap/panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use riskops_stats::sketch::{
    self, DistinctCounter, EXACT_DISTINCT_LIMIT, Frequencies, Moments, QuantileSketch, hash_bytes, hash_f64, hash_str,
};

const REFERENCE: &str = include_str!("../data/sketch_reference.txt");

/// Tolerance against NumPy/pandas required by the profile spec.
const NUMPY_RTOL: f64 = 1e-9;

// ---------------------------------------------------------------------------------------
// Sample generation (bit-identical to make_sketch_reference.py)
// ---------------------------------------------------------------------------------------

use super::generator::generate;

struct Case {
    func: String,
    name: String,
    x: Vec<f64>,
    q: Vec<f64>,
    numpy: Vec<f64>,
    pandas: Vec<f64>,
}

fn parse_f64s<'a>(toks: impl Iterator<Item = &'a str>) -> Vec<f64> {
    toks.map(|t| t.parse::<f64>().unwrap_or_else(|_| panic!("bad float {t:?}"))).collect()
}

fn load() -> Vec<Case> {
    let mut cases: Vec<Case> = Vec::new();
    for line in REFERENCE.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let mut toks = line.split_whitespace();
        let key = toks.next().unwrap();
        if key == "@" {
            cases.push(Case {
                func: toks.next().unwrap().to_string(),
                name: toks.next().unwrap().to_string(),
                x: Vec::new(),
                q: Vec::new(),
                numpy: Vec::new(),
                pandas: Vec::new(),
            });
            continue;
        }
        let case = cases.last_mut().expect("record before first @");
        match key {
            "x" | "q" => {
                let values = match toks.next().unwrap() {
                    "v" => parse_f64s(toks),
                    "g" => {
                        let kind = toks.next().unwrap();
                        let seed: u64 = toks.next().unwrap().parse().unwrap();
                        let n: usize = toks.next().unwrap().parse().unwrap();
                        let rest = parse_f64s(toks);
                        generate(kind, seed, n, rest[0], rest[1])
                    }
                    other => panic!("unknown input tag {other}"),
                };
                if key == "x" {
                    case.x = values;
                } else {
                    case.q = values;
                }
            }
            "numpy" => case.numpy = parse_f64s(toks),
            "pandas" => case.pandas = parse_f64s(toks),
            other => panic!("unknown record {other}"),
        }
    }
    cases
}

fn cases(func: &str) -> Vec<Case> {
    let v: Vec<Case> = load().into_iter().filter(|c| c.func == func).collect();
    assert!(!v.is_empty(), "no reference cases for {func}");
    v
}

fn rel_err(got: f64, want: f64) -> f64 {
    if got == want { 0.0 } else { (got - want).abs() / want.abs().max(f64::MIN_POSITIVE) }
}

/// Splits `xs` at the given fractions of its length (sorted, clamped): a random split.
pub(super) fn split_at_fractions<'a>(xs: &'a [f64], fractions: &[f64]) -> Vec<&'a [f64]> {
    let mut cuts: Vec<usize> = fractions.iter().map(|f| ((f * xs.len() as f64) as usize).min(xs.len())).collect();
    cuts.sort_unstable();
    let mut parts = Vec::new();
    let mut start = 0;
    for c in cuts {
        parts.push(&xs[start..c]);
        start = c;
    }
    parts.push(&xs[start..]);
    parts
}

// ---------------------------------------------------------------------------------------
// Moments against NumPy / pandas
// ---------------------------------------------------------------------------------------

#[test]
fn moments_match_numpy_and_pandas() {
    let mut worst = 0.0f64;
    for case in cases("moments") {
        let x = &case.x;
        let [mean, std0, std1, var1, min, max, sum] = case.numpy[..] else { panic!("{}: numpy outputs", case.name) };
        let [pd_mean, pd_std, pd_var] = case.pandas[..] else { panic!("{}: pandas outputs", case.name) };

        let mut batch = Moments::new();
        batch.add_slice(x);
        let mut single = Moments::new();
        x.iter().for_each(|&v| single.add(v));
        let mut merged = Moments::new();
        for part in split_at_fractions(x, &[0.01, 0.37, 0.38, 0.9]) {
            let mut m = Moments::new();
            m.add_slice(part);
            merged.merge(&m);
        }
        for (how, m) in [("add_slice", batch), ("add", single), ("merge", merged)] {
            let what = format!("{} via {how}", case.name);
            assert_eq!(m.count(), x.len() as u64, "{what}");
            assert_eq!(m.min(), Some(min), "{what}: min");
            assert_eq!(m.max(), Some(max), "{what}: max");
            let checks = [
                ("mean", m.mean().unwrap(), mean),
                ("std ddof 0", m.std(0).unwrap(), std0),
                ("std ddof 1", m.std(1).unwrap(), std1),
                ("var ddof 1", m.variance(1).unwrap(), var1),
                ("sum", m.sum(), sum),
                ("pandas mean", m.mean().unwrap(), pd_mean),
                ("pandas std", m.std(1).unwrap(), pd_std),
                ("pandas var", m.variance(1).unwrap(), pd_var),
            ];
            for (stat, got, want) in checks {
                let e = rel_err(got, want);
                worst = worst.max(e);
                assert!(e <= NUMPY_RTOL, "{what}: {stat} = {got}, numpy/pandas {want} (rel err {e:e})");
            }
        }
    }
    println!("moments: worst relative error against NumPy/pandas {worst:e}");
}

#[test]
fn moments_edge_cases() {
    let mut m = Moments::new();
    assert_eq!((m.count(), m.mean(), m.min(), m.max(), m.std(0), m.sum()), (0, None, None, None, None, 0.0));
    m.add(2.0);
    assert_eq!((m.variance(0), m.variance(1)), (Some(0.0), None));
    m.add(4.0);
    assert_eq!((m.mean(), m.variance(1), m.variance(2)), (Some(3.0), Some(2.0), None));
    // NaN is the caller's business: it poisons mean and variance, min/max ignore it.
    m.add(f64::NAN);
    assert!(m.mean().unwrap().is_nan());
    assert_eq!((m.min(), m.max()), (Some(2.0), Some(4.0)));
}

// ---------------------------------------------------------------------------------------
// QuantileSketch: exact mode
// ---------------------------------------------------------------------------------------

/// Fraction of `sorted` that is `<= v` and `< v`.
fn true_ranks(sorted: &[f64], v: f64) -> (f64, f64) {
    let n = sorted.len() as f64;
    (sorted.partition_point(|&s| s <= v) as f64 / n, sorted.partition_point(|&s| s < v) as f64 / n)
}

#[test]
fn exact_mode_quantiles_match_numpy_inverted_cdf() {
    for case in cases("quantile") {
        let mut s = QuantileSketch::new();
        s.add_slice(&case.x);
        assert!(s.is_exact(), "{}", case.name);
        assert_eq!(s.normalized_rank_error(false), 0.0);
        let got = s.quantiles(&case.q).unwrap();
        for ((q, g), want) in case.q.iter().zip(&got).zip(&case.numpy) {
            assert_eq!(g, want, "{}: quantile({q})", case.name);
            assert_eq!(s.quantile(*q).unwrap(), *want);
        }
        // Ranks, CDF and the sorted view are exact too.
        let mut sorted = case.x.clone();
        sorted.sort_by(f64::total_cmp);
        let ranks: Vec<f64> = sorted.iter().map(|&v| true_ranks(&sorted, v).0).collect();
        assert_eq!(s.cdf(&sorted).unwrap(), ranks);
        for (&v, &r) in sorted.iter().zip(&ranks) {
            assert_eq!(s.rank(v).unwrap(), r);
        }
        let view = s.sorted_view();
        let mut expected: Vec<(f64, u64)> = Vec::new();
        for &v in &sorted {
            match expected.last_mut() {
                Some(last) if last.0 == v => last.1 += 1,
                _ => expected.push((v, 1)),
            }
        }
        assert_eq!(view, expected, "{}", case.name);
    }
}

#[test]
fn exact_mode_rule_is_count_at_most_4k() {
    for k in [8u16, 50, 200] {
        let limit = 4 * usize::from(k);
        let xs = generate("u", 99, limit + 1, 0.0, 1.0);
        let mut s = QuantileSketch::with_k(k).unwrap();
        s.add_slice(&xs[..limit]);
        assert!(s.is_exact() && s.num_retained() == limit, "k = {k}");
        s.add(xs[limit]);
        assert!(!s.is_exact(), "k = {k}");
        assert!(s.num_retained() < limit);
        // Two exact halves merge into an exact sketch while the union fits.
        let (mut a, mut b) = (QuantileSketch::with_k(k).unwrap(), QuantileSketch::with_k(k).unwrap());
        a.add_slice(&xs[..limit / 2]);
        b.add_slice(&xs[limit / 2..limit]);
        a.merge(&b);
        assert!(a.is_exact());
        let mut sorted = xs[..limit].to_vec();
        sorted.sort_by(f64::total_cmp);
        assert_eq!(a.quantile(0.5).unwrap(), sorted[limit / 2 - 1]);
    }
}

#[test]
fn exact_sketch_distances_equal_scipy_equivalents() {
    let a = generate("n", 21, 700, 0.0, 1.0);
    let b = generate("i", 22, 650, -3.0, 7.0);
    let (mut sa, mut sb) = (QuantileSketch::new(), QuantileSketch::new());
    sa.add_slice(&a);
    sb.add_slice(&b);
    assert!(sa.is_exact() && sb.is_exact());
    // SciPy's exact-p-value path snaps D to its lattice h/lcm(n1, n2): equal to rounding.
    let d = sketch::ks_statistic(&sa, &sb).unwrap();
    let d_ref = riskops_stats::ks_2samp(&a, &b).unwrap().statistic;
    assert!(rel_err(d, d_ref) < 1e-14, "{d} vs {d_ref}");
    let w = sketch::wasserstein(&sa, &sb).unwrap();
    let w_ref = riskops_stats::wasserstein_distance(&a, &b).unwrap();
    assert!(rel_err(w, w_ref) < 1e-12, "{w} vs {w_ref}");
    assert_eq!(sketch::ks_statistic(&sa, &sa).unwrap(), 0.0);
    assert_eq!(sketch::wasserstein(&sa, &sa).unwrap(), 0.0);
    assert!(sketch::ks_statistic(&sa, &QuantileSketch::new()).is_err());
}

#[test]
fn quantile_sketch_argument_errors() {
    let mut s = QuantileSketch::new();
    assert!(s.quantile(0.5).is_err() && s.rank(0.0).is_err() && s.cdf(&[0.0]).is_err());
    assert_eq!((s.min(), s.max()), (None, None));
    s.add(1.0);
    assert!(s.quantile(-0.1).is_err() && s.quantile(1.5).is_err() && s.quantile(f64::NAN).is_err());
    assert!(s.rank(f64::NAN).is_err() && s.cdf(&[0.0, f64::NAN]).is_err());
    assert!(QuantileSketch::with_k(7).is_err());
    assert_eq!(s.quantile(0.0), Ok(1.0));
}

#[test]
fn quantile_sketch_is_deterministic_and_batch_equals_single() {
    let xs = generate("n", 31, 50_000, 5.0, 2.0);
    let mut a = QuantileSketch::new();
    xs.iter().for_each(|&x| a.add(x));
    let mut b = QuantileSketch::new();
    b.add_slice(&xs[..12_345]);
    b.add_slice(&xs[12_345..]);
    assert_eq!(a, b);
    let (mut ea, mut eb) = (Vec::new(), Vec::new());
    a.encode(&mut ea);
    b.encode(&mut eb);
    assert_eq!(ea, eb);
    // Pinned: the sketch's bytes are a fixed function of the input (no process or platform
    // randomness). Update only with a deliberate format or algorithm change.
    assert_eq!(hash_bytes(&ea), 0xb01c_d93a_49f0_ac0d, "KLL encoding digest changed");
}

// ---------------------------------------------------------------------------------------
// QuantileSketch: empirical error on 1M values
// ---------------------------------------------------------------------------------------

/// `sup_t |F̂(t) − F(t)|` between a sketch and the sorted data it summarises: the largest
/// rank error over all possible queries (both CDFs are steps at data values, so checking
/// every distinct data value is enough).
pub(super) fn sup_rank_error(sorted: &[f64], s: &QuantileSketch) -> f64 {
    let view = s.sorted_view();
    let n = sorted.len() as f64;
    let (mut i, mut j, mut cum) = (0usize, 0usize, 0u64);
    let mut worst = 0.0f64;
    while i < sorted.len() {
        let v = sorted[i];
        while i < sorted.len() && sorted[i] <= v {
            i += 1;
        }
        while j < view.len() && view[j].0 <= v {
            cum += view[j].1;
            j += 1;
        }
        worst = worst.max((cum as f64 / n - i as f64 / n).abs());
    }
    worst
}

fn check_rank_error(name: &str, xs: &[f64]) -> f64 {
    let eps = QuantileSketch::rank_error_for_k(sketch::DEFAULT_K, false);
    let mut sorted = xs.to_vec();
    riskops_stats::sort_floats(&mut sorted);

    let mut whole = QuantileSketch::new();
    whole.add_slice(xs);
    let mut merged = QuantileSketch::new();
    for part in xs.chunks(xs.len() / 7 + 1) {
        let mut p = QuantileSketch::new();
        p.add_slice(part);
        merged.merge(&p);
    }
    let mut worst = 0.0f64;
    for (how, s) in [("whole", &whole), ("merged", &merged)] {
        assert_eq!(s.count(), xs.len() as u64);
        assert_eq!((s.min(), s.max()), (sorted.first().copied(), sorted.last().copied()));
        assert!(s.num_retained() < 1000, "{name} {how}: {} retained", s.num_retained());
        assert_eq!(s.normalized_rank_error(false), eps);
        let sup = sup_rank_error(&sorted, s);
        assert!(sup <= eps, "{name} {how}: sup rank error {sup} > {eps}");
        worst = worst.max(sup);
        // Quantiles: the true rank range of the returned item is within eps of q.
        for q in [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999] {
            let item = s.quantile(q).unwrap();
            let (le, lt) = true_ranks(&sorted, item);
            assert!(le >= q - eps && lt <= q + eps, "{name} {how}: quantile({q}) = {item} has ranks [{lt}, {le}]");
        }
        assert_eq!(s.quantile(0.0).unwrap(), sorted[0]);
        assert_eq!(s.quantile(1.0).unwrap(), sorted[sorted.len() - 1]);
    }
    println!("{name}: sup rank error {worst:.5} (bound {eps:.5})");
    worst
}

#[test]
fn kll_rank_error_within_bound_uniform_1m() {
    check_rank_error("uniform", &generate("u", 41, 1_000_000, 0.0, 1.0));
}

#[test]
fn kll_rank_error_within_bound_normal_1m() {
    check_rank_error("normal", &generate("n", 42, 1_000_000, 10.0, 3.0));
}

#[test]
fn kll_rank_error_within_bound_heavy_tailed_1m() {
    check_rank_error("pareto", &generate("p", 43, 1_000_000, 0.0, 1.0));
}

#[test]
fn kll_rank_error_within_bound_many_ties_1m() {
    check_rank_error("integers 0..50", &generate("i", 44, 1_000_000, 0.0, 50.0));
}

#[test]
fn kll_rank_error_within_bound_sorted_input_1m() {
    let mut xs = generate("u", 45, 1_000_000, 0.0, 1.0);
    riskops_stats::sort_floats(&mut xs);
    check_rank_error("sorted uniform", &xs);
}

#[test]
fn kll_distances_within_bound_1m() {
    let a = generate("n", 51, 1_000_000, 0.0, 1.0);
    let b = generate("n", 52, 1_000_000, 0.05, 1.1);
    let (mut sa, mut sb) = (QuantileSketch::new(), QuantileSketch::new());
    sa.add_slice(&a);
    sb.add_slice(&b);
    let eps = sa.normalized_rank_error(false) + sb.normalized_rank_error(false);
    let d = riskops_stats::ks_2samp(&a, &b).unwrap().statistic;
    let d_hat = sketch::ks_statistic(&sa, &sb).unwrap();
    assert!((d_hat - d).abs() <= eps, "KS {d_hat} vs exact {d}");
    let w = riskops_stats::wasserstein_distance(&a, &b).unwrap();
    let w_hat = sketch::wasserstein(&sa, &sb).unwrap();
    let range = sa.max().unwrap().max(sb.max().unwrap()) - sa.min().unwrap().min(sb.min().unwrap());
    assert!((w_hat - w).abs() <= eps * range, "Wasserstein {w_hat} vs exact {w}");
    println!(
        "KS {d_hat:.5} (exact {d:.5}); Wasserstein {w_hat:.5} (exact {w:.5}); bounds {eps:.4}, {:.4}",
        eps * range
    );
}

// ---------------------------------------------------------------------------------------
// DistinctCounter
// ---------------------------------------------------------------------------------------

#[test]
fn distinct_exact_mode_is_exact() {
    let mut d = DistinctCounter::new();
    for i in 0..EXACT_DISTINCT_LIMIT {
        d.add_f64(i as f64);
        d.add_f64((i / 2) as f64); // duplicates
    }
    d.add_f64(-0.0);
    d.add_f64(0.0);
    assert!(d.is_exact());
    assert_eq!(d.estimate(), EXACT_DISTINCT_LIMIT as u64);
    assert_eq!(d.relative_standard_error(), 0.0);
    d.add_f64(-1.0);
    assert!(!d.is_exact());
}

#[test]
fn hll_within_three_standard_errors() {
    let rse = 1.04 / 128.0;
    let mut d = DistinctCounter::new();
    let mut next = 0u64;
    for target in [20_000u64, 40_000, 70_000, 150_000, 400_000, 1_000_000] {
        let start = next;
        for i in start..target {
            // Each value twice, and through the batch API half the time.
            let v = i as f64 * 0.5 - 3e5;
            d.add_f64(v);
            if i % 2 == 0 { d.add_slice(&[v]) } else { d.add_f64(v) }
        }
        next = target;
        let rel = d.estimate() as f64 / target as f64 - 1.0;
        println!("HLL floats: {target} distinct -> {} ({:+.3}%)", d.estimate(), rel * 100.0);
        assert!(rel.abs() <= 3.0 * rse, "{target}: estimate {} off by {rel}", d.estimate());
        assert_eq!(d.relative_standard_error(), rse);
    }
    let mut s = DistinctCounter::new();
    let n = 300_000;
    for i in 0..n {
        s.add_str(&format!("customer-{i:07}"));
    }
    let rel = s.estimate() as f64 / n as f64 - 1.0;
    println!("HLL strings: {n} distinct -> {} ({:+.3}%)", s.estimate(), rel * 100.0);
    assert!(rel.abs() <= 3.0 * rse);
}

#[test]
fn hashes_are_pinned() {
    // Stored counters are merged with new ones: the hash must never change.
    assert_eq!(hash_f64(0.0), 0x12a7_f0cf_593d_cb52);
    assert_eq!(hash_f64(-0.0), 0x12a7_f0cf_593d_cb52);
    assert_eq!(hash_f64(1.0), 0x756c_5f30_1026_b9e2);
    assert_eq!(hash_str(""), 0xae0d_1900_394f_1a57);
    assert_eq!(hash_str("riskops"), 0xb769_d756_da78_9752);
    assert_eq!(hash_bytes(&[0xAB; 100]), 0xa76a_1055_fdcd_096c);
}

// ---------------------------------------------------------------------------------------
// Frequencies
// ---------------------------------------------------------------------------------------

#[test]
fn frequencies_cap_and_order() {
    let mut f = Frequencies::with_cap(2);
    for c in ["x", "y", "x", "z", "z", "z", "w"] {
        f.add(c);
    }
    assert_eq!(f.iter().collect::<Vec<_>>(), vec![("x", 2), ("y", 1)]);
    assert_eq!((f.total(), f.other(), f.len(), f.get("z"), f.is_exact()), (7, 4, 2, 0, false));
    let mut g = Frequencies::new();
    g.add_n("b", 3);
    g.add_n("a", 3);
    g.add_n("c", 0);
    g.add("d");
    assert_eq!(g.iter().collect::<Vec<_>>(), vec![("a", 3), ("b", 3), ("d", 1)]);
    assert!(g.is_exact() && !g.is_empty() && Frequencies::new().is_empty());
}
