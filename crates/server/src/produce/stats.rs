//! Intervals and tests for produced evidence: DeLong's ROC AUC variance (and the paired
//! version for two models on the same rows), a seeded bootstrap, Holm's correction.

use riskops_stats::special::ndtr;

/// Midranks (1-based, ties share their average rank), as `scipy.stats.rankdata`.
fn midranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = rank;
        }
        i = j + 1;
    }
    ranks
}

/// DeLong's placement values: per positive the share of negatives it outscores (ties ½),
/// per negative the share of positives that outscore it. Their mean is the ROC AUC exactly as
/// `roc_auc_score` computes it.
pub struct Placements {
    pub positives: Vec<f64>,
    pub negatives: Vec<f64>,
}

impl Placements {
    /// None unless both classes are present.
    pub fn new(actual: &[bool], scores: &[f64]) -> Option<Placements> {
        let pos: Vec<f64> = actual.iter().zip(scores).filter(|(a, _)| **a).map(|(_, s)| *s).collect();
        let neg: Vec<f64> = actual.iter().zip(scores).filter(|(a, _)| !**a).map(|(_, s)| *s).collect();
        if pos.is_empty() || neg.is_empty() {
            return None;
        }
        let (m, n) = (pos.len() as f64, neg.len() as f64);
        let all: Vec<f64> = pos.iter().chain(&neg).copied().collect();
        let r_all = midranks(&all);
        let (r_pos, r_neg) = (midranks(&pos), midranks(&neg));
        let positives = (0..pos.len()).map(|i| (r_all[i] - r_pos[i]) / n).collect();
        let negatives = (0..neg.len()).map(|j| 1.0 - (r_all[pos.len() + j] - r_neg[j]) / m).collect();
        Some(Placements { positives, negatives })
    }

    pub fn auc(&self) -> f64 {
        mean(&self.positives)
    }

    /// DeLong's variance of the AUC.
    pub fn variance(&self) -> f64 {
        covariance(&self.positives, &self.positives) / self.positives.len() as f64
            + covariance(&self.negatives, &self.negatives) / self.negatives.len() as f64
    }

    /// DeLong's covariance of two models' AUCs on the same rows.
    pub fn covariance_with(&self, other: &Placements) -> f64 {
        covariance(&self.positives, &other.positives) / self.positives.len() as f64
            + covariance(&self.negatives, &other.negatives) / self.negatives.len() as f64
    }
}

/// The mean; 0 for no values.
pub(super) fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// Sample covariance (ddof 1); 0 for fewer than two values.
fn covariance(a: &[f64], b: &[f64]) -> f64 {
    if a.len() < 2 {
        return 0.0;
    }
    let (ma, mb) = (mean(a), mean(b));
    a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum::<f64>() / (a.len() - 1) as f64
}

pub const Z95: f64 = 1.959_963_984_540_054;

/// value ± 1.96·√variance, clipped to [lo, hi].
pub fn normal_interval(value: f64, variance: f64, lo: f64, hi: f64) -> (f64, f64) {
    let half = Z95 * variance.max(0.0).sqrt();
    ((value - half).max(lo), (value + half).min(hi))
}

/// One-sided p-value that `value` (with `variance`) is below `reference`.
pub fn p_below(value: f64, variance: f64, reference: f64) -> f64 {
    if variance <= 0.0 {
        return if value < reference { 0.0 } else { 1.0 };
    }
    ndtr((value - reference) / variance.sqrt())
}

/// Holm's step-down adjustment of p-values (family-wise error), in the order given.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let k = p.len();
    let mut adjusted = vec![1.0; k];
    let mut running: f64 = 0.0;
    for (i, &idx) in order.iter().enumerate() {
        running = running.max(((k - i) as f64 * p[idx]).min(1.0));
        adjusted[idx] = running;
    }
    adjusted
}

/// SplitMix64: a small seeded generator, so a bootstrap is reproduced from its seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// 0..n in a random order (Fisher–Yates).
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            order.swap(i, self.below(i + 1));
        }
        order
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(f64::MIN_POSITIVE);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

pub const BOOTSTRAP_RESAMPLES: usize = 200;

/// The rows of one bootstrap resample, drawn with replacement as they are iterated: a
/// statistic that sums per-row terms (confusion counts, losses, errors) reads them in
/// place instead of copying the rows into a new table.
pub struct Resample {
    rng: Rng,
    rows: usize,
    left: usize,
}

impl Iterator for Resample {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        Some(self.rng.below(self.rows))
    }
}

/// The 2.5% and 97.5% percentiles of each of `K` statistics over [`BOOTSTRAP_RESAMPLES`]
/// seeded resamples of `rows` rows (resamples where a statistic is undefined are left out
/// of its interval; `None` when none is defined). Every statistic sees the same resamples,
/// computed in one pass each. Resamples run on every core, each with its own seed derived
/// from `seed` and its index, so the answer depends on the seed alone.
pub fn bootstrap<const K: usize>(
    rows: usize,
    seed: u64,
    statistics: impl Fn(Resample) -> [Option<f64>; K] + Sync,
) -> [Option<(f64, f64)>; K] {
    let resample = |r: usize| {
        let mut mix = Rng::new(seed ^ (r as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
        statistics(Resample { rng: Rng::new(mix.next_u64()), rows, left: rows })
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, BOOTSTRAP_RESAMPLES);
    let per_thread = BOOTSTRAP_RESAMPLES.div_ceil(threads);
    let results: Vec<[Option<f64>; K]> = if rows == 0 {
        Vec::new()
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let resample = &resample;
                    let range = t * per_thread..((t + 1) * per_thread).min(BOOTSTRAP_RESAMPLES);
                    scope.spawn(move || range.map(resample).collect::<Vec<_>>())
                })
                .collect();
            // A resample thread cannot panic short of a bug in `statistics`; its
            // resamples are then left out rather than the server's request failing.
            handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
        })
    };
    std::array::from_fn(|k| {
        let mut values: Vec<f64> = results.iter().filter_map(|r| r[k]).filter(|v| v.is_finite()).collect();
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        let at = |q: f64| values[((q * (values.len() - 1) as f64).round() as usize).min(values.len() - 1)];
        Some((at(0.025), at(0.975)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delong_auc_counts_ties_as_half() {
        let actual = [true, false, true, false, true];
        let scores = [0.9, 0.1, 0.4, 0.4, 0.8];
        let p = Placements::new(&actual, &scores).unwrap();
        // Pairs (pos, neg): 0.9 beats both, 0.8 beats both, 0.4 beats 0.1 and ties 0.4.
        assert!((p.auc() - 5.5 / 6.0).abs() < 1e-15);
        assert!(p.variance() > 0.0);
    }

    #[test]
    fn holm_adjusts_step_down() {
        let adjusted = holm(&[0.01, 0.04, 0.03]);
        assert_eq!(adjusted, vec![0.03, 0.06, 0.06]);
    }

    #[test]
    fn a_bootstrap_is_reproduced_from_its_seed() {
        let data: Vec<f64> = (0..100).map(|i| f64::from(i % 7)).collect();
        let mean = |rows: Resample| {
            let (sum, n) = rows.fold((0.0, 0), |(s, n), i| (s + data[i], n + 1));
            [Some(sum / f64::from(n)), None]
        };
        let [a, never] = bootstrap(100, 7, mean);
        let a = a.unwrap();
        assert_eq!(a, bootstrap(100, 7, mean)[0].unwrap());
        assert_ne!(a, bootstrap(100, 8, mean)[0].unwrap());
        assert!(a.0 < 3.0 && 3.0 < a.1, "{a:?}");
        assert_eq!(never, None);
    }

    #[test]
    fn a_bootstrap_interval_covers_the_mean_at_about_its_nominal_rate() {
        // The standard error of a mean of 400 uniform draws is 0.289/20 = 0.0144: the
        // percentile interval's half-width should be near 1.96 of it.
        let mut rng = Rng::new(3);
        let data: Vec<f64> = (0..400).map(|_| rng.unit()).collect();
        let [ci] = bootstrap(data.len(), 11, |rows: Resample| {
            let (sum, n) = rows.fold((0.0, 0), |(s, n), i| (s + data[i], n + 1));
            [Some(sum / f64::from(n))]
        });
        let (lo, hi) = ci.unwrap();
        let half = (hi - lo) / 2.0;
        assert!((0.02..0.037).contains(&half), "half-width {half}");
    }
}
