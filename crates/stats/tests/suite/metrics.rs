//! Tests of `riskops_stats::metrics`:
//! - reference values: every classification, regression and fairness case of
//!   `tests/data/metrics_reference.json` (written by `tests/data/make_metrics_reference.py`
//!   with scikit-learn and fairlearn; Python is not needed to run these) to 1e-9, computed
//!   from one summary and from merged summaries of parts;
//! - properties on SplitMix-generated data: merging the summaries of a split equals the
//!   summary of the whole (exactly for counts and score summaries, to 1e-12 for sums), merges
//!   commute, exact AUC equals a brute-force Mann–Whitney count;
//! - the approximate (histogram) AUC stays within its reported bound past the cap;
//! - encode → decode round-trips; truncated, corrupted or random bytes are errors, not panics.

// Test harness: malformed reference data should fail loudly, so helpers may unwrap/panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use riskops_stats::metrics::{
    BinaryOutcomes, Confusion, DEFAULT_SCORE_CAP, GroupOutcomes, RegressionSummary, SCORE_BINS, ScoreSummary,
};

use super::generator::SplitMix;
use super::json::Json;

const REFERENCE: &str = include_str!("../data/metrics_reference.json");

/// Tolerance against scikit-learn / fairlearn required by the monitoring issue.
const TOL: f64 = 1e-9;

fn reference() -> Json {
    Json::parse(REFERENCE)
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// `|got − want| ≤ 1e-9 · max(1, |want|)`: absolute for rates in [0, 1], relative for
/// large values (MAPE with zeros in y_true is ~1e14).
fn assert_close(got: Option<f64>, want: Option<f64>, what: &str) {
    match (got, want) {
        (None, None) => {}
        (Some(g), Some(w)) => {
            assert!((g - w).abs() <= TOL * w.abs().max(1.0), "{what}: got {g:e}, want {w:e} (diff {:e})", (g - w).abs())
        }
        _ => panic!("{what}: got {got:?}, want {want:?}"),
    }
}

/// Cut points splitting `n` records into `parts` pieces (some possibly empty).
fn cuts(rng: &mut SplitMix, n: usize, parts: usize) -> Vec<std::ops::Range<usize>> {
    let mut points: Vec<usize> = (1..parts).map(|_| (rng.next() % (n as u64 + 1)) as usize).collect();
    points.sort_unstable();
    let mut ranges = Vec::new();
    let mut start = 0;
    for p in points.into_iter().chain([n]) {
        ranges.push(start..p);
        start = p;
    }
    ranges
}

fn encoded(encode: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::new();
    encode(&mut out);
    out
}

// ---------------------------------------------------------------------------------------
// Reference values
// ---------------------------------------------------------------------------------------

struct ClassificationCase {
    name: String,
    actual: Vec<bool>,
    predicted: Vec<bool>,
    scores: Vec<f64>,
    expected: Json,
}

fn classification_cases() -> Vec<ClassificationCase> {
    reference()
        .get("classification")
        .arr()
        .iter()
        .map(|c| ClassificationCase {
            name: c.get("name").str().to_owned(),
            actual: c.get("y_true").bools(),
            predicted: c.get("y_pred").bools(),
            scores: c.get("score").f64s(),
            expected: c.get("expected").clone(),
        })
        .collect()
}

fn check_classification(w: &BinaryOutcomes, expected: &Json, what: &str) {
    assert_close(w.accuracy(), expected.get("accuracy").opt_num(), &format!("{what}: accuracy"));
    assert_close(w.precision(), expected.get("precision").opt_num(), &format!("{what}: precision"));
    assert_close(w.recall(), expected.get("recall").opt_num(), &format!("{what}: recall"));
    assert_close(w.f1(), expected.get("f1").opt_num(), &format!("{what}: f1"));
    assert_close(w.log_loss(), expected.get("log_loss").opt_num(), &format!("{what}: log_loss"));
    let auc = w.roc_auc();
    assert_close(auc.map(|a| a.value), expected.get("roc_auc").opt_num(), &format!("{what}: roc_auc"));
    if let Some(a) = auc {
        assert!(a.exact && a.max_error == 0.0, "{what}: AUC should be exact under the cap");
    }
    let matrix: Vec<Vec<u64>> = expected
        .get("confusion_matrix")
        .arr()
        .iter()
        .map(|row| row.f64s().iter().map(|&x| x as u64).collect())
        .collect();
    let got = w.confusion_matrix();
    assert_eq!(vec![got[0].to_vec(), got[1].to_vec()], matrix, "{what}: confusion matrix");
}

#[test]
fn reference_file_records_versions() {
    let r = reference();
    let versions = r.get("versions");
    for key in ["scikit-learn", "fairlearn", "numpy"] {
        assert!(!versions.get(key).str().is_empty(), "{key} version");
    }
    assert!(REFERENCE.len() < 300_000, "reference file should stay small");
}

#[test]
fn classification_matches_sklearn() {
    let cases = classification_cases();
    assert!(cases.len() >= 8);
    for case in &cases {
        let w = BinaryOutcomes::from_slices(&case.actual, &case.predicted, Some(&case.scores)).unwrap();
        assert_eq!((w.count(), w.scored()), (case.actual.len() as u64, case.actual.len() as u64));
        check_classification(&w, &case.expected, &case.name);
    }
}

#[test]
fn classification_from_merged_parts_matches_sklearn() {
    let mut rng = SplitMix(7);
    for case in &classification_cases() {
        for parts in [2, 3, 5] {
            let mut merged = BinaryOutcomes::new();
            for r in cuts(&mut rng, case.actual.len(), parts) {
                let part = BinaryOutcomes::from_slices(
                    &case.actual[r.clone()],
                    &case.predicted[r.clone()],
                    Some(&case.scores[r]),
                )
                .unwrap();
                merged.merge(&part);
            }
            check_classification(&merged, &case.expected, &format!("{} merged from {parts} parts", case.name));
        }
    }
}

#[test]
fn regression_matches_sklearn() {
    let cases = reference().get("regression").arr().to_vec();
    assert!(cases.len() >= 6);
    let mut rng = SplitMix(11);
    for case in &cases {
        let name = case.get("name").str();
        let (actual, predicted) = (case.get("y_true").f64s(), case.get("y_pred").f64s());
        let whole = RegressionSummary::from_slices(&actual, &predicted).unwrap();
        let mut merged = RegressionSummary::new();
        for r in cuts(&mut rng, actual.len(), 3) {
            merged.merge(&RegressionSummary::from_slices(&actual[r.clone()], &predicted[r]).unwrap());
        }
        let e = case.get("expected");
        for (how, s) in [("whole", whole), ("merged", merged)] {
            let what = format!("{name} ({how})");
            assert_eq!(s.count(), actual.len() as u64, "{what}");
            assert_close(s.mae(), e.get("mae").opt_num(), &format!("{what}: mae"));
            assert_close(s.rmse(), e.get("rmse").opt_num(), &format!("{what}: rmse"));
            assert_close(s.mape(), e.get("mape").opt_num(), &format!("{what}: mape"));
            assert_close(s.r2(), e.get("r2").opt_num(), &format!("{what}: r2"));
        }
    }
}

#[test]
fn fairness_matches_fairlearn() {
    let cases = reference().get("fairness").arr().to_vec();
    assert!(cases.len() >= 6);
    let mut rng = SplitMix(13);
    for case in &cases {
        let name = case.get("name").str();
        let groups: Vec<String> = case.get("group").arr().iter().map(|g| g.str().to_owned()).collect();
        let (actual, predicted) = (case.get("y_true").bools(), case.get("y_pred").bools());
        let whole = GroupOutcomes::from_slices(&groups, &actual, &predicted).unwrap();
        let mut merged = GroupOutcomes::new();
        for r in cuts(&mut rng, actual.len(), 4) {
            merged.merge(&GroupOutcomes::from_slices(&groups[r.clone()], &actual[r.clone()], &predicted[r]).unwrap());
        }
        assert_eq!(merged, whole, "{name}: merged parts equal the whole exactly");
        let e = case.get("expected");
        assert_close(
            whole.demographic_parity_difference(),
            e.get("demographic_parity_difference").opt_num(),
            &format!("{name}: demographic_parity_difference"),
        );
        assert_close(
            whole.demographic_parity_ratio(),
            e.get("demographic_parity_ratio").opt_num(),
            &format!("{name}: demographic_parity_ratio"),
        );
        assert_close(
            whole.equalized_odds_difference(),
            e.get("equalized_odds_difference").opt_num(),
            &format!("{name}: equalized_odds_difference"),
        );
        let want_ff = match e.get("four_fifths") {
            Json::Null => None,
            Json::Bool(b) => Some(*b),
            other => panic!("{name}: four_fifths {other:?}"),
        };
        assert_eq!(whole.four_fifths().map(|f| f.passes), want_ff, "{name}: four-fifths rule");

        let by_group = whole.by_group();
        let expected_groups = e.get("by_group").entries();
        assert_eq!(by_group.len(), expected_groups.len(), "{name}: number of groups");
        for (g, (group, want)) in by_group.iter().zip(expected_groups) {
            let what = format!("{name}, group {group}");
            assert_eq!(&g.group, group, "{what}");
            assert_eq!(g.count as f64, want.get("count").num(), "{what}: count");
            for (metric, got) in [
                ("accuracy", g.accuracy),
                ("precision", g.precision),
                ("recall", g.recall),
                ("selection_rate", g.selection_rate),
                ("tpr", g.true_positive_rate),
                ("fpr", g.false_positive_rate),
            ] {
                assert_close(Some(got), want.get(metric).opt_num(), &format!("{what}: {metric}"));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Properties on generated data
// ---------------------------------------------------------------------------------------

/// A labelled, scored record stream: positives score higher on average; scores on a grid of
/// `levels` values (ties) or continuous (`levels == 0`); some exact 0.0 and 1.0.
fn binary_stream(rng: &mut SplitMix, n: usize, levels: u64) -> (Vec<bool>, Vec<bool>, Vec<f64>) {
    let mut actual = Vec::with_capacity(n);
    let mut predicted = Vec::with_capacity(n);
    let mut scores = Vec::with_capacity(n);
    for _ in 0..n {
        let y = rng.uniform() < 0.3;
        let u = rng.uniform();
        let mut s = if y { 0.25 + 0.75 * u } else { 0.75 * u * u };
        if levels > 0 {
            s = (s * levels as f64).round() / levels as f64;
        }
        if rng.next().is_multiple_of(50) {
            s = if rng.next().is_multiple_of(2) { 0.0 } else { 1.0 };
        }
        actual.push(y);
        predicted.push(s >= 0.5);
        scores.push(s);
    }
    (actual, predicted, scores)
}

fn summarize(cap: usize, actual: &[bool], predicted: &[bool], scores: &[f64]) -> BinaryOutcomes {
    let mut w = BinaryOutcomes::with_score_cap(cap);
    for ((&a, &p), &s) in actual.iter().zip(predicted).zip(scores) {
        w.add_scored(a, p, s);
    }
    w
}

/// Summaries equal up to the rounding of compensated sums (log loss to 1e-12 relative);
/// counts and score summaries bit for bit.
fn assert_binary_equal(a: &BinaryOutcomes, b: &BinaryOutcomes, what: &str) {
    assert_eq!(a.confusion(), b.confusion(), "{what}: confusion");
    assert_eq!(a.scores(), b.scores(), "{what}: score summary");
    assert_eq!(a.roc_auc(), b.roc_auc(), "{what}: roc_auc");
    match (a.log_loss(), b.log_loss()) {
        (Some(x), Some(y)) => assert!((x - y).abs() <= 1e-12 * y.abs().max(1.0), "{what}: log loss {x} vs {y}"),
        (x, y) => assert_eq!(x, y, "{what}: log loss"),
    }
}

#[test]
fn binary_merge_of_split_equals_whole() {
    for seed in 0..60u64 {
        let mut rng = SplitMix(seed);
        let n = (rng.next() % 3000) as usize;
        let levels = [0, 3, 20, 100, 1000][(seed % 5) as usize];
        // Small caps so that splits cross the exact → histogram switch in every way.
        let cap = [1, 16, 64, 500, DEFAULT_SCORE_CAP][(seed / 5 % 5) as usize];
        let (actual, predicted, scores) = binary_stream(&mut rng, n, levels);
        let whole = summarize(cap, &actual, &predicted, &scores);
        let mut merged = BinaryOutcomes::with_score_cap(cap);
        let mut parts = Vec::new();
        for r in cuts(&mut rng, n, 1 + (seed % 4) as usize) {
            let part = summarize(cap, &actual[r.clone()], &predicted[r.clone()], &scores[r]);
            merged.merge(&part);
            parts.push(part);
        }
        let what = format!("seed {seed}, n {n}, levels {levels}, cap {cap}");
        assert_binary_equal(&merged, &whole, &what);
        // Merging in the opposite order gives the same summary.
        let mut reversed = BinaryOutcomes::with_score_cap(cap);
        parts.iter().rev().for_each(|p| reversed.merge(p));
        assert_binary_equal(&reversed, &whole, &format!("{what}, reversed"));
    }
}

#[test]
fn regression_merge_of_split_equals_whole() {
    for seed in 0..60u64 {
        let mut rng = SplitMix(1000 + seed);
        let n = (rng.next() % 2000) as usize;
        let offset = [0.0, 1e6, -3.0][(seed % 3) as usize];
        let actual: Vec<f64> = (0..n)
            .map(|_| if rng.next().is_multiple_of(10) { 0.0 } else { offset + 10.0 * (rng.uniform() - 0.5) })
            .collect();
        let predicted: Vec<f64> = actual.iter().map(|&y| y + (rng.uniform() - 0.5)).collect();
        let whole = RegressionSummary::from_slices(&actual, &predicted).unwrap();
        let mut merged = RegressionSummary::new();
        for r in cuts(&mut rng, n, 1 + (seed % 5) as usize) {
            merged.merge(&RegressionSummary::from_slices(&actual[r.clone()], &predicted[r]).unwrap());
        }
        assert_eq!(merged.count(), whole.count());
        let what = format!("seed {seed}, n {n}");
        for (metric, a, b) in [
            ("mae", merged.mae(), whole.mae()),
            ("rmse", merged.rmse(), whole.rmse()),
            ("mape", merged.mape(), whole.mape()),
            ("r2", merged.r2(), whole.r2()),
        ] {
            match (a, b) {
                (Some(x), Some(y)) => assert!((x - y).abs() <= 1e-12 * y.abs().max(1.0), "{what}: {metric} {x} vs {y}"),
                (x, y) => assert_eq!(x, y, "{what}: {metric}"),
            }
        }
    }
}

#[test]
fn group_merge_of_split_equals_whole() {
    for seed in 0..40u64 {
        let mut rng = SplitMix(2000 + seed);
        let n = (rng.next() % 2000) as usize;
        let k = 1 + rng.next() % 6;
        let names: Vec<String> = (0..n).map(|_| format!("g{}", rng.next() % k)).collect();
        let actual: Vec<bool> = (0..n).map(|_| rng.uniform() < 0.4).collect();
        let predicted: Vec<bool> = actual.iter().map(|&y| if rng.uniform() < 0.8 { y } else { !y }).collect();
        let whole = GroupOutcomes::from_slices(&names, &actual, &predicted).unwrap();
        let mut merged = GroupOutcomes::new();
        for r in cuts(&mut rng, n, 1 + (seed % 4) as usize) {
            merged.merge(&GroupOutcomes::from_slices(&names[r.clone()], &actual[r.clone()], &predicted[r]).unwrap());
        }
        assert_eq!(merged, whole, "seed {seed}");
        // Group counts add up to the overall confusion.
        let mut total = Confusion::new();
        whole.groups().for_each(|(_, c)| total.merge(c));
        assert_eq!(total.count(), n as u64);
    }
}

/// O(P·N) Mann–Whitney count with ½ per tie: the definition sklearn's trapezoid equals.
fn brute_force_auc(actual: &[bool], scores: &[f64]) -> Option<f64> {
    let pos: Vec<f64> = actual.iter().zip(scores).filter(|(a, _)| **a).map(|(_, &s)| s).collect();
    let neg: Vec<f64> = actual.iter().zip(scores).filter(|(a, _)| !**a).map(|(_, &s)| s).collect();
    if pos.is_empty() || neg.is_empty() {
        return None;
    }
    let mut twice_u = 0u64;
    for &p in &pos {
        for &q in &neg {
            twice_u += if p > q {
                2
            } else if p == q {
                1
            } else {
                0
            };
        }
    }
    Some(twice_u as f64 / (2.0 * pos.len() as f64 * neg.len() as f64))
}

#[test]
fn exact_auc_equals_brute_force_mann_whitney() {
    for seed in 0..40u64 {
        let mut rng = SplitMix(3000 + seed);
        let n = (rng.next() % 600) as usize;
        let (actual, predicted, mut scores) = binary_stream(&mut rng, n, [0, 2, 10, 50][(seed % 4) as usize]);
        // Scores need not be probabilities for AUC: spread some outside [0, 1], and -0.0.
        for s in scores.iter_mut().step_by(7) {
            *s = (*s - 0.5) * 40.0;
        }
        if let Some(s) = scores.first_mut() {
            *s = -0.0;
        }
        let w = summarize(DEFAULT_SCORE_CAP, &actual, &predicted, &scores);
        let want = brute_force_auc(&actual, &scores);
        let got = w.roc_auc();
        assert_close(got.map(|a| a.value), want, &format!("seed {seed}"));
        assert!(got.is_none_or(|a| a.exact));
    }
}

// ---------------------------------------------------------------------------------------
// Approximate AUC past the cap
// ---------------------------------------------------------------------------------------

fn check_approximate_auc(name: &str, actual: &[bool], scores: &[f64], max_bound: f64) {
    let mut exact = ScoreSummary::with_cap(usize::MAX);
    let mut approx = ScoreSummary::new();
    for (&a, &s) in actual.iter().zip(scores) {
        exact.add(a, s);
        approx.add(a, s);
    }
    assert!(exact.is_exact() && !approx.is_exact(), "{name}: more distinct scores than the cap");
    let e = exact.roc_auc().unwrap();
    let a = approx.roc_auc().unwrap();
    let err = (a.value - e.value).abs();
    assert!(!a.exact, "{name}");
    assert!(err <= a.max_error + 1e-12, "{name}: error {err:e} above reported bound {:e}", a.max_error);
    assert!(a.max_error <= max_bound, "{name}: bound {:e} larger than expected {max_bound:e}", a.max_error);
    // Merging halves of the approximate summary gives the same estimate and bound.
    let half = actual.len() / 2;
    let mut left = ScoreSummary::new();
    let mut right = ScoreSummary::new();
    for (i, (&y, &s)) in actual.iter().zip(scores).enumerate() {
        if i < half {
            left.add(y, s)
        } else {
            right.add(y, s)
        };
    }
    left.merge(&right);
    assert_eq!(left.roc_auc(), Some(a), "{name}: merged halves");
}

#[test]
fn approximate_auc_stays_within_reported_bound() {
    let n = 200_000;
    let mut rng = SplitMix(99);
    // Smooth, overlapping classes.
    let (actual, _, scores) = binary_stream(&mut rng, n, 0);
    check_approximate_auc("overlapping", &actual, &scores, 1e-3);
    // Scores piled up near 0 for both classes (a confident, imbalanced model).
    let actual: Vec<bool> = (0..n).map(|_| rng.uniform() < 0.05).collect();
    let scores: Vec<f64> = actual.iter().map(|&y| rng.uniform().powi(if y { 2 } else { 8 })).collect();
    check_approximate_auc("piled near zero", &actual, &scores, 0.05);
    // Nearly separable: few shared bins, tiny bound.
    let scores: Vec<f64> =
        actual.iter().map(|&y| if y { 0.6 + 0.4 * rng.uniform() } else { 0.55 * rng.uniform() }).collect();
    check_approximate_auc("separable", &actual, &scores, 1e-9);
    // Scores outside [0, 1] land in the end bins: still within the (larger) bound.
    let scores: Vec<f64> = actual.iter().map(|&y| 3.0 * (rng.uniform() - 0.5) + if y { 0.5 } else { 0.0 }).collect();
    check_approximate_auc("outside the unit interval", &actual, &scores, 0.5);
}

#[test]
fn crossing_the_cap_switches_to_histograms_once() {
    let mut s = ScoreSummary::with_cap(3);
    for (i, score) in [0.1, 0.2, 0.3].into_iter().enumerate() {
        s.add(i % 2 == 0, score);
    }
    assert!(s.is_exact());
    s.add(true, 0.2);
    assert!(s.is_exact(), "a repeated score does not count against the cap");
    s.add(false, 0.9);
    assert!(!s.is_exact());
    assert_eq!((s.positives(), s.negatives()), (3, 2));
    // Non-finite scores are refused.
    assert!(!s.add(true, f64::NAN));
    assert_eq!(s.count(), 5);
}

// ---------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------

fn sample_summaries() -> (Vec<BinaryOutcomes>, Vec<RegressionSummary>, Vec<GroupOutcomes>) {
    let mut rng = SplitMix(4242);
    let mut binaries = vec![BinaryOutcomes::new()];
    for (n, levels) in [(50, 10), (6000, 0)] {
        let (actual, predicted, scores) = binary_stream(&mut rng, n, levels);
        let mut w = summarize(DEFAULT_SCORE_CAP, &actual, &predicted, &scores);
        w.add(true, false);
        w.add_scored(false, true, f64::NAN);
        binaries.push(w);
    }
    assert!(binaries[1].scores().is_exact() && !binaries[2].scores().is_exact());
    let mut outside = BinaryOutcomes::with_score_cap(0);
    outside.add_scored(true, true, 1.5);
    binaries.push(outside);

    let mut regressions = vec![RegressionSummary::new()];
    let actual: Vec<f64> = (0..300).map(|i| if i % 9 == 0 { 0.0 } else { rng.uniform() * 100.0 }).collect();
    let predicted: Vec<f64> = actual.iter().map(|y| y + rng.uniform()).collect();
    let mut r = RegressionSummary::from_slices(&actual, &predicted).unwrap();
    r.add(f64::NAN, 1.0);
    regressions.push(r);

    let mut groups = vec![GroupOutcomes::new()];
    let names = ["f", "m", "x", "ünïcode", ""];
    let mut g = GroupOutcomes::new();
    let mut capped = GroupOutcomes::with_cap(2);
    for i in 0..500 {
        let (y, p) = (rng.uniform() < 0.3, rng.uniform() < 0.4);
        g.add(names[i % names.len()], y, p);
        capped.add(names[i % names.len()], y, p);
    }
    groups.push(g);
    groups.push(capped);
    (binaries, regressions, groups)
}

fn all_encodings() -> Vec<Vec<u8>> {
    let (binaries, regressions, groups) = sample_summaries();
    let mut out = Vec::new();
    for b in &binaries {
        out.push(encoded(|o| b.encode(o)));
        out.push(encoded(|o| b.scores().encode(o)));
    }
    out.extend(regressions.iter().map(|r| encoded(|o| r.encode(o))));
    out.extend(groups.iter().map(|g| encoded(|o| g.encode(o))));
    out
}

/// Tries every decoder; returns which accepted the bytes (used only for "never panics").
fn decode_any(bytes: &[u8]) -> [bool; 4] {
    [
        BinaryOutcomes::decode(bytes).is_ok(),
        ScoreSummary::decode(bytes).is_ok(),
        RegressionSummary::decode(bytes).is_ok(),
        GroupOutcomes::decode(bytes).is_ok(),
    ]
}

#[test]
fn encode_decode_round_trips() {
    let (binaries, regressions, groups) = sample_summaries();
    let tail = [0xAB, 0xCD];
    for b in &binaries {
        let mut bytes = encoded(|o| b.encode(o));
        let len = bytes.len();
        bytes.extend_from_slice(&tail);
        let (back, used) = BinaryOutcomes::decode(&bytes).unwrap();
        assert_eq!((&back, used), (b, len));
        assert_eq!(encoded(|o| back.encode(o)), bytes[..len], "re-encoding is identical");
        assert_eq!(back.log_loss().map(f64::to_bits), b.log_loss().map(f64::to_bits));
        let (scores, _) = ScoreSummary::decode(&encoded(|o| b.scores().encode(o))).unwrap();
        assert_eq!(&scores, b.scores());
    }
    for r in &regressions {
        let bytes = encoded(|o| r.encode(o));
        let (back, used) = RegressionSummary::decode(&bytes).unwrap();
        assert_eq!((&back, used), (r, bytes.len()));
        assert_eq!(back.r2().map(f64::to_bits), r.r2().map(f64::to_bits));
    }
    for g in &groups {
        let bytes = encoded(|o| g.encode(o));
        let (back, used) = GroupOutcomes::decode(&bytes).unwrap();
        assert_eq!((&back, used), (g, bytes.len()));
    }
    // Histogram mode stays compact: non-empty bins only (≤ 4096 × 18 bytes).
    let approx = encoded(|o| binaries[2].scores().encode(o));
    assert!(approx.len() <= 32 + SCORE_BINS * 18, "{} bytes", approx.len());
}

#[test]
fn concatenated_encodings_decode_in_sequence() {
    let (binaries, regressions, groups) = sample_summaries();
    let mut bytes = Vec::new();
    binaries[2].encode(&mut bytes);
    regressions[1].encode(&mut bytes);
    groups[1].encode(&mut bytes);
    let (b, n1) = BinaryOutcomes::decode(&bytes).unwrap();
    let (r, n2) = RegressionSummary::decode(&bytes[n1..]).unwrap();
    let (g, n3) = GroupOutcomes::decode(&bytes[n1 + n2..]).unwrap();
    assert_eq!((b, r, g, n1 + n2 + n3), (binaries[2].clone(), regressions[1], groups[1].clone(), bytes.len()));
}

#[test]
fn every_truncation_is_an_error() {
    for bytes in all_encodings() {
        // Every cut of small encodings; of large ones (histogram mode, ~70 KB) the first and
        // last 300 bytes and a stride through the middle (every cut would be quadratic).
        let len = bytes.len();
        let stride = (len / 500).max(1);
        let cuts = (0..len).filter(|&c| c < 300 || c + 300 >= len || c % stride == 0);
        for cut in cuts {
            assert_eq!(decode_any(&bytes[..cut]), [false; 4], "truncated at {cut} of {len}");
        }
    }
}

#[test]
fn wrong_tag_or_version_is_an_error() {
    for bytes in all_encodings() {
        let mut v = bytes.clone();
        v[1] = v[1].wrapping_add(1);
        assert_eq!(decode_any(&v), [false; 4]);
        // Each encoding is accepted by exactly one decoder.
        assert_eq!(decode_any(&bytes).iter().filter(|&&ok| ok).count(), 1);
    }
}

#[test]
fn decoding_corrupted_or_random_bytes_never_panics() {
    let mut rng = SplitMix(77);
    let encodings = all_encodings();
    for round in 0..3000 {
        let mut bytes = encodings[round % encodings.len()].clone();
        for _ in 0..1 + rng.next() % 3 {
            let i = (rng.next() % bytes.len() as u64) as usize;
            bytes[i] = rng.next() as u8;
        }
        let _ = decode_any(&bytes);
        let random: Vec<u8> = (0..rng.next() % 200).map(|_| rng.next() as u8).collect();
        for tag in [b'B', b'S', b'R', b'G'] {
            let mut v = vec![tag, 1];
            v.extend_from_slice(&random);
            let _ = decode_any(&v);
        }
    }
}
