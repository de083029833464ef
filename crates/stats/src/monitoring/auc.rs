//! ROC AUC two ways: scikit-learn's `roc_auc_score` on labels (ties count ½), and NannyML's
//! estimate from calibrated probabilities, which treats each calibrated probability as a
//! fractional positive and rounds the cumulative counts to five decimals as NannyML does.

/// `roc_auc_score(labels, scores)`; `None` with one class only.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let positives = labels.iter().filter(|&&l| l).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Rank sum of the positives, tied groups sharing their average rank.
    let mut rank_sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        let average_rank = (start + end + 1) as f64 / 2.0;
        let tied_positives = order[start..end].iter().filter(|&&i| labels[i]).count();
        rank_sum += average_rank * tied_positives as f64;
        start = end;
    }
    let (p, n) = (positives as f64, negatives as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// NannyML's `estimate_roc_auc`: rows ordered by the model's own score, descending; the
/// calibrated probability of each row counts as that much of a true positive and the rest
/// as a false positive; the curve through every row (tied scores are not merged) is
/// integrated by trapezoids. NaN when the chunk's probabilities are all 0 or all 1.
pub fn estimate_roc_auc(calibrated: &[f64], scores: &[f64]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut tps = Vec::with_capacity(order.len() + 1);
    let mut fps = Vec::with_capacity(order.len() + 1);
    tps.push(0.0);
    fps.push(0.0);
    let mut cumulative = 0.0;
    for (k, &i) in order.iter().enumerate() {
        cumulative += calibrated[i];
        tps.push(round5(cumulative));
        fps.push(round5(1.0 + k as f64 - cumulative));
    }
    let (tp_total, fp_total) = (tps[tps.len() - 1], fps[fps.len() - 1]);
    let mut area = 0.0;
    for k in 1..tps.len() {
        let dx = (fps[k] - fps[k - 1]) / fp_total;
        area += dx * (tps[k] / tp_total + tps[k - 1] / tp_total) / 2.0;
    }
    area
}

/// `np.round(x, 5)`: scale, round half to even, unscale.
fn round5(x: f64) -> f64 {
    (x * 1e5).round_ties_even() / 1e5
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_counts_ties_half() {
        // roc_auc_score([0,1,0,1],[0.1,0.4,0.4,0.8]) = 0.875
        assert_eq!(roc_auc(&[0.1, 0.4, 0.4, 0.8], &[false, true, false, true]), Some(0.875));
        assert_eq!(roc_auc(&[0.1, 0.2], &[true, true]), None);
    }
}
