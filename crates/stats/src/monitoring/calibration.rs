//! NannyML's `needs_calibration`: would isotonic calibration of the reference scores lower
//! the expected calibration error (ECE) on held-out rows? Ten stratified 90/10 splits
//! (`random_state=42`), an isotonic fit on each train part, the test parts' scores before
//! and after pooled, ECE over 10 equal-count bins of the pooled scores.
//!
//! One known deviation: NumPy orders tied scores by an unstable sort before binning, so
//! when calibrated test scores tie across a bin edge NumPy's ECE after calibration can
//! differ from this one in the last digits; only a comparison that close could flip.

use super::auc::roc_auc;
use super::isotonic::Isotonic;
use super::split::stratified_test_sets;

/// The outcome of the check, with the two ECEs it compared.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CalibrationCheck {
    /// Whether the scores are calibrated before estimating.
    pub needed: bool,
    /// ECE of the held-out scores as given (`None` when the check stopped early).
    pub ece_before: Option<f64>,
    /// ECE of the held-out scores after calibration.
    pub ece_after: Option<f64>,
}

const SPLITS: usize = 10;
const BINS: usize = 10;

/// NannyML's decision for reference `scores` and `labels` (finite, equal length).
pub fn needs_calibration(scores: &[f64], labels: &[bool]) -> CalibrationCheck {
    let skip = CalibrationCheck { needed: false, ece_before: None, ece_after: None };
    // One class, or an already near-perfect ranking: NannyML does not calibrate.
    match roc_auc(scores, labels) {
        None => return skip,
        Some(auc) if auc > 0.999 => return skip,
        Some(_) => {}
    }
    let Some(test_sets) = stratified_test_sets(labels, SPLITS, 0.1, 42) else { return skip };
    let truth_of = |i: usize| if labels[i] { 1.0 } else { 0.0 };
    let (mut truth, mut before, mut after) = (Vec::new(), Vec::new(), Vec::new());
    for test in &test_sets {
        let mut in_test = vec![false; scores.len()];
        test.iter().for_each(|&i| in_test[i] = true);
        let train: Vec<usize> = (0..scores.len()).filter(|&i| !in_test[i]).collect();
        let x: Vec<f64> = train.iter().map(|&i| scores[i]).collect();
        let y: Vec<f64> = train.iter().map(|&i| truth_of(i)).collect();
        let calibrator = Isotonic::fit(&x, &y);
        for &i in test {
            truth.push(truth_of(i));
            before.push(scores[i]);
            after.push(calibrator.predict(scores[i]));
        }
    }
    let Some(edges) = bin_edges(truth.len(), BINS) else { return skip };
    let ece_before = expected_calibration_error(&truth, &before, &edges);
    let ece_after = expected_calibration_error(&truth, &after, &edges);
    CalibrationCheck { needed: ece_before > ece_after, ece_before: Some(ece_before), ece_after: Some(ece_after) }
}

/// NannyML's `_get_bin_index_edges`: `range(0, n + 1, n // bins)` with the last edge
/// moved to `n` (so the last bin may be wider, and there may be more than `bins` bins).
fn bin_edges(n: usize, bins: usize) -> Option<Vec<(usize, usize)>> {
    let bins = if n <= 2 * bins { n / 2 } else { bins };
    if bins < 2 {
        return None;
    }
    let mut edges: Vec<usize> = (0..=n).step_by(n / bins).collect();
    if let Some(last) = edges.last_mut() {
        *last = n;
    }
    Some(edges.windows(2).map(|w| (w[0], w[1])).collect())
}

/// Σ over bins of (bin share) · |mean score − mean truth|, rows ordered by score.
fn expected_calibration_error(truth: &[f64], scores: &[f64], edges: &[(usize, usize)]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let n = scores.len() as f64;
    edges
        .iter()
        .map(|&(lo, hi)| {
            let rows = &order[lo..hi];
            let len = rows.len() as f64;
            let mean_score = rows.iter().map(|&i| scores[i]).sum::<f64>() / len;
            let mean_truth = rows.iter().map(|&i| truth[i]).sum::<f64>() / len;
            len / n * (mean_score - mean_truth).abs()
        })
        .sum()
}
