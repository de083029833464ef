//! Binary classification: [`Confusion`] counts, [`ScoreSummary`] for ROC AUC and
//! [`BinaryOutcomes`], the per-window summary combining them with the log loss.
//!
//! The positive class is `true` (sklearn's `pos_label=1`). Each metric reproduces the
//! scikit-learn function of the same name on the same records:
//!
//! | method | scikit-learn |
//! |---|---|
//! | `accuracy` | `accuracy_score` |
//! | `precision`, `recall`, `f1` | `precision_score`, `recall_score`, `f1_score` (binary; `zero_division="warn"` returns 0.0) |
//! | `confusion_matrix` | `confusion_matrix(labels=[0, 1])`: `[[tn, fp], [fn, tp]]` |
//! | `log_loss` | `log_loss(labels=[0, 1])`: probabilities clipped to `[ε, 1 − ε]`, ε = `f64::EPSILON` |
//! | `roc_auc` | `roc_auc_score` (see below) |
//!
//! # ROC AUC
//! sklearn's trapezoidal area under the ROC curve equals the Mann–Whitney statistic
//! `P(S⁺ > S⁻) + ½·P(S⁺ = S⁻)` over all (positive, negative) pairs. [`ScoreSummary`] keeps
//! the exact count of positives and negatives per distinct score while there are at most
//! `cap` distinct scores ([`DEFAULT_SCORE_CAP`] = 4096, which also covers every model that
//! outputs few distinct values); the AUC is then computed in integer arithmetic (`u128`)
//! and rounded once, so it equals sklearn's to a few ulps.
//!
//! Beyond the cap the summary switches, for good, to two histograms (positives, negatives)
//! of [`SCORE_BINS`] = 4096 equal-width bins on `[0, 1]` (scores outside are counted in the
//! first or last bin). Pairs in different bins are still ordered correctly; a pair sharing a
//! bin counts ½, whereas its true contribution is 0, ½ or 1. So the estimate is off by at
//! most `Σ_b pos_b·neg_b / (2·P·N)`, which [`ScoreSummary::roc_auc`] returns as
//! [`AucEstimate::max_error`] (0 when exact). For smooth score densities this is about
//! `∫f⁺f⁻ / (2·4096)`, typically 1e-5..1e-4; it grows when both classes pile up in the same
//! bin (e.g. many scores of exactly 0.0 on both classes).

use std::collections::BTreeMap;

use super::{CompensatedSum, Reader, ratio_or_zero};
use crate::StatsError;

/// One record's term of sklearn's `log_loss`: y_prob = [1 − p, p], clipped to [ε, 1 − ε],
/// then −Σ y·log(y_prob); the metric is the mean of the terms.
pub fn log_loss_term(actual: bool, score: f64) -> f64 {
    let p = if actual { score } else { 1.0 - score };
    -p.clamp(f64::EPSILON, 1.0 - f64::EPSILON).ln()
}

/// Distinct scores a [`ScoreSummary`] keeps exactly by default before switching to
/// histograms.
pub const DEFAULT_SCORE_CAP: usize = 4096;

/// Equal-width bins on `[0, 1]` per class once a [`ScoreSummary`] is past its cap.
pub const SCORE_BINS: usize = 4096;

const VERSION: u8 = 1;

/// Counts of a binary confusion matrix (`true` = positive class), mergeable exactly.
///
/// ```
/// use riskops_stats::metrics::Confusion;
/// let mut c = Confusion::new();
/// for (actual, predicted) in [(true, true), (false, true), (true, false), (false, false)] {
///     c.add(actual, predicted);
/// }
/// assert_eq!(c.confusion_matrix(), [[1, 1], [1, 1]]);
/// assert_eq!(c.precision(), Some(0.5));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Confusion {
    /// Actual negative, predicted negative.
    pub true_negatives: u64,
    /// Actual negative, predicted positive.
    pub false_positives: u64,
    /// Actual positive, predicted negative.
    pub false_negatives: u64,
    /// Actual positive, predicted positive.
    pub true_positives: u64,
}

impl Confusion {
    /// No records.
    pub const fn new() -> Self {
        Confusion { true_negatives: 0, false_positives: 0, false_negatives: 0, true_positives: 0 }
    }

    /// Counts one record.
    #[inline]
    pub fn add(&mut self, actual: bool, predicted: bool) {
        let cell = match (actual, predicted) {
            (false, false) => &mut self.true_negatives,
            (false, true) => &mut self.false_positives,
            (true, false) => &mut self.false_negatives,
            (true, true) => &mut self.true_positives,
        };
        *cell = cell.saturating_add(1);
    }

    /// Adds `other`'s counts (exact).
    pub fn merge(&mut self, other: &Confusion) {
        self.true_negatives = self.true_negatives.saturating_add(other.true_negatives);
        self.false_positives = self.false_positives.saturating_add(other.false_positives);
        self.false_negatives = self.false_negatives.saturating_add(other.false_negatives);
        self.true_positives = self.true_positives.saturating_add(other.true_positives);
    }

    /// Number of records.
    pub fn count(&self) -> u64 {
        self.true_negatives
            .saturating_add(self.false_positives)
            .saturating_add(self.false_negatives)
            .saturating_add(self.true_positives)
    }

    /// Records whose actual label is positive.
    pub fn actual_positives(&self) -> u64 {
        self.true_positives.saturating_add(self.false_negatives)
    }

    /// Records whose actual label is negative.
    pub fn actual_negatives(&self) -> u64 {
        self.true_negatives.saturating_add(self.false_positives)
    }

    /// Records predicted positive.
    pub fn predicted_positives(&self) -> u64 {
        self.true_positives.saturating_add(self.false_positives)
    }

    /// `[[tn, fp], [fn, tp]]`, as `sklearn.metrics.confusion_matrix(labels=[0, 1])`.
    pub fn confusion_matrix(&self) -> [[u64; 2]; 2] {
        [[self.true_negatives, self.false_positives], [self.false_negatives, self.true_positives]]
    }

    /// `accuracy_score`: (tp + tn) / n. `None` when empty.
    pub fn accuracy(&self) -> Option<f64> {
        let n = self.count();
        (n > 0).then(|| self.true_positives.saturating_add(self.true_negatives) as f64 / n as f64)
    }

    /// `precision_score`: tp / (tp + fp), 0.0 when nothing is predicted positive
    /// (sklearn's `zero_division="warn"`). `None` when empty.
    pub fn precision(&self) -> Option<f64> {
        (self.count() > 0).then(|| ratio_or_zero(self.true_positives, self.predicted_positives()))
    }

    /// `recall_score`: tp / (tp + fn), 0.0 without actual positives. `None` when empty.
    pub fn recall(&self) -> Option<f64> {
        (self.count() > 0).then(|| ratio_or_zero(self.true_positives, self.actual_positives()))
    }

    /// `f1_score`: 2·tp / (2·tp + fp + fn), 0.0 when that denominator is 0. `None` when
    /// empty.
    pub fn f1(&self) -> Option<f64> {
        let den = self
            .true_positives
            .saturating_mul(2)
            .saturating_add(self.false_positives)
            .saturating_add(self.false_negatives);
        (self.count() > 0).then(|| ratio_or_zero(self.true_positives.saturating_mul(2), den))
    }

    /// fairlearn's `selection_rate`: share predicted positive. `None` when empty.
    pub fn selection_rate(&self) -> Option<f64> {
        let n = self.count();
        (n > 0).then(|| self.predicted_positives() as f64 / n as f64)
    }

    /// fairlearn's `true_positive_rate`: tp / (tp + fn), 0.0 without actual positives (sklearn's
    /// normalised confusion matrix turns 0/0 into 0). `None` when empty.
    pub fn true_positive_rate(&self) -> Option<f64> {
        self.recall()
    }

    /// fairlearn's `false_positive_rate`: fp / (fp + tn), 0.0 without actual negatives.
    /// `None` when empty.
    pub fn false_positive_rate(&self) -> Option<f64> {
        (self.count() > 0).then(|| ratio_or_zero(self.false_positives, self.actual_negatives()))
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        for v in [self.true_negatives, self.false_positives, self.false_negatives, self.true_positives] {
            super::put_u64(out, v);
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>, bad: StatsError) -> Result<Self, StatsError> {
        let c = Confusion {
            true_negatives: r.count(bad)?,
            false_positives: r.count(bad)?,
            false_negatives: r.count(bad)?,
            true_positives: r.count(bad)?,
        };
        if c.count() > super::MAX_COUNT {
            return Err(bad);
        }
        Ok(c)
    }
}

/// ROC AUC from a [`ScoreSummary`], with how far it can be from the exact value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AucEstimate {
    /// The AUC (sklearn's `roc_auc_score` when [`exact`](Self::exact)).
    pub value: f64,
    /// Largest possible `|value − exact AUC|`: 0 in exact mode, else the share of
    /// (positive, negative) pairs that share a histogram bin, halved.
    pub max_error: f64,
    /// Whether `value` comes from exact per-score counts.
    pub exact: bool,
}

/// Per-class score distribution for ROC AUC: exact counts per distinct score up to a cap,
/// then fixed histograms on `[0, 1]` (see the [module docs](self)).
///
/// ```
/// use riskops_stats::metrics::ScoreSummary;
/// let mut s = ScoreSummary::new();
/// for (label, score) in [(false, 0.1), (false, 0.4), (true, 0.35), (true, 0.8)] {
///     s.add(label, score);
/// }
/// let auc = s.roc_auc().unwrap();
/// assert_eq!((auc.value, auc.max_error, auc.exact), (0.75, 0.0, true));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreSummary {
    cap: usize,
    negatives: u64,
    positives: u64,
    state: ScoreState,
}

#[derive(Debug, Clone, PartialEq)]
enum ScoreState {
    /// Ordered score key → `[negatives, positives]`.
    Exact(BTreeMap<u64, [u64; 2]>),
    /// `SCORE_BINS` bins of `[negatives, positives]`.
    Binned(Vec<[u64; 2]>),
}

/// Maps a finite score to a key whose unsigned order is the numeric order (`-0.0` is
/// folded into `0.0` before).
#[inline]
fn order_key(score: f64) -> u64 {
    let bits = (score + 0.0).to_bits();
    if bits >> 63 == 1 { !bits } else { bits | (1 << 63) }
}

#[inline]
fn key_score(key: u64) -> f64 {
    f64::from_bits(if key >> 63 == 1 { key & !(1 << 63) } else { !key })
}

/// Histogram bin of a score: equal-width on `[0, 1]`, values outside in the end bins.
/// Monotone in the score, so pairs in different bins keep their order.
#[inline]
fn bin_of(score: f64) -> usize {
    if score <= 0.0 {
        0
    } else if score >= 1.0 {
        SCORE_BINS - 1
    } else {
        ((score * SCORE_BINS as f64) as usize).min(SCORE_BINS - 1)
    }
}

impl Default for ScoreSummary {
    fn default() -> Self {
        Self::new()
    }
}

impl ScoreSummary {
    /// Empty, exact up to [`DEFAULT_SCORE_CAP`] distinct scores.
    pub fn new() -> Self {
        Self::with_cap(DEFAULT_SCORE_CAP)
    }

    /// Empty, exact up to `cap` distinct scores (0: histograms from the start).
    pub fn with_cap(cap: usize) -> Self {
        let state =
            if cap == 0 { ScoreState::Binned(vec![[0; 2]; SCORE_BINS]) } else { ScoreState::Exact(BTreeMap::new()) };
        ScoreSummary { cap, negatives: 0, positives: 0, state }
    }

    /// Counts one scored record (`label`: actual class). Non-finite scores are ignored
    /// (sklearn rejects them); returns whether the score was counted.
    pub fn add(&mut self, label: bool, score: f64) -> bool {
        if !score.is_finite() {
            return false;
        }
        self.add_n(label, score, 1);
        true
    }

    fn add_n(&mut self, label: bool, score: f64, n: u64) {
        let class = usize::from(label);
        if label {
            self.positives = self.positives.saturating_add(n);
        } else {
            self.negatives = self.negatives.saturating_add(n);
        }
        match &mut self.state {
            ScoreState::Exact(map) => {
                let cell = map.entry(order_key(score)).or_insert([0; 2]);
                cell[class] = cell[class].saturating_add(n);
                if map.len() > self.cap {
                    self.switch_to_bins();
                }
            }
            ScoreState::Binned(bins) => {
                let cell = &mut bins[bin_of(score)];
                cell[class] = cell[class].saturating_add(n);
            }
        }
    }

    fn switch_to_bins(&mut self) {
        if let ScoreState::Exact(map) = &self.state {
            let mut bins = vec![[0u64; 2]; SCORE_BINS];
            for (&key, counts) in map {
                let cell = &mut bins[bin_of(key_score(key))];
                cell[0] = cell[0].saturating_add(counts[0]);
                cell[1] = cell[1].saturating_add(counts[1]);
            }
            self.state = ScoreState::Binned(bins);
        }
    }

    /// Combines `other` into `self`; `self`'s cap is kept. Exact when both are exact and
    /// their union has at most `cap` distinct scores; otherwise the result is the
    /// histogram summary of all the records, as if they had been added to one summary.
    pub fn merge(&mut self, other: &ScoreSummary) {
        match &other.state {
            ScoreState::Exact(map) => {
                for (&key, counts) in map {
                    let score = key_score(key);
                    for (class, &n) in counts.iter().enumerate() {
                        if n > 0 {
                            self.add_n(class == 1, score, n);
                        }
                    }
                }
            }
            ScoreState::Binned(other_bins) => {
                self.switch_to_bins();
                self.negatives = self.negatives.saturating_add(other.negatives);
                self.positives = self.positives.saturating_add(other.positives);
                if let ScoreState::Binned(bins) = &mut self.state {
                    for (cell, o) in bins.iter_mut().zip(other_bins) {
                        cell[0] = cell[0].saturating_add(o[0]);
                        cell[1] = cell[1].saturating_add(o[1]);
                    }
                }
            }
        }
    }

    /// Scored records of the positive class.
    pub fn positives(&self) -> u64 {
        self.positives
    }

    /// Scored records of the negative class.
    pub fn negatives(&self) -> u64 {
        self.negatives
    }

    /// All scored records.
    pub fn count(&self) -> u64 {
        self.positives.saturating_add(self.negatives)
    }

    /// The cap on distinct scores kept exactly.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Whether per-score counts are still exact (not yet histograms).
    pub fn is_exact(&self) -> bool {
        matches!(self.state, ScoreState::Exact(_))
    }

    /// `roc_auc_score` (see the [module docs](self)). `None` when only one class (or
    /// nothing) has been seen, where sklearn raises.
    pub fn roc_auc(&self) -> Option<AucEstimate> {
        if self.positives == 0 || self.negatives == 0 {
            return None;
        }
        // 2·U = Σ_s pos_s · (2·neg_below_s + neg_s): exact in u128 (counts < 2⁶²).
        let mut twice_u: u128 = 0;
        let mut twice_shared: u128 = 0;
        let mut neg_below: u128 = 0;
        let mut step = |counts: &[u64; 2]| {
            let (neg, pos) = (u128::from(counts[0]), u128::from(counts[1]));
            twice_u += pos * (2 * neg_below + neg);
            twice_shared += pos * neg;
            neg_below += neg;
        };
        let exact = match &self.state {
            ScoreState::Exact(map) => {
                map.values().for_each(&mut step);
                true
            }
            ScoreState::Binned(bins) => {
                bins.iter().for_each(&mut step);
                false
            }
        };
        let twice_pairs = 2.0 * self.positives as f64 * self.negatives as f64;
        let value = twice_u as f64 / twice_pairs;
        let max_error = if exact { 0.0 } else { twice_shared as f64 / twice_pairs };
        Some(AucEstimate { value, max_error, exact })
    }

    /// Appends the binary encoding: tag, version, cap (u64), negatives and positives (u64),
    /// mode (u8: 0 exact, 1 histograms); exact: entry count (u32) and per distinct score in
    /// increasing order the score (f64), negatives, positives (u64); histograms: the number of
    /// bins (u32), the count of non-empty bins (u32) and per non-empty bin its index (u16),
    /// negatives, positives (u64).
    pub fn encode(&self, out: &mut Vec<u8>) {
        super::put_header(out, super::TAG_SCORES, VERSION);
        super::put_u64(out, self.cap as u64);
        super::put_u64(out, self.negatives);
        super::put_u64(out, self.positives);
        match &self.state {
            ScoreState::Exact(map) => {
                out.push(0);
                super::put_u32(out, map.len() as u32);
                for (&key, counts) in map {
                    super::put_f64(out, key_score(key));
                    super::put_u64(out, counts[0]);
                    super::put_u64(out, counts[1]);
                }
            }
            ScoreState::Binned(bins) => {
                out.push(1);
                super::put_u32(out, SCORE_BINS as u32);
                super::put_u32(out, bins.iter().filter(|c| c[0] | c[1] != 0).count() as u32);
                for (i, counts) in bins.iter().enumerate().filter(|(_, c)| c[0] | c[1] != 0) {
                    super::put_u16(out, i as u16);
                    super::put_u64(out, counts[0]);
                    super::put_u64(out, counts[1]);
                }
            }
        }
    }

    /// Decodes a summary written by [`encode`](Self::encode) from the start of `bytes`;
    /// returns it and the number of bytes read.
    pub fn decode(bytes: &[u8]) -> Result<(Self, usize), StatsError> {
        const BAD: StatsError = StatsError::InvalidArgument("encoded ScoreSummary is inconsistent");
        let mut r = Reader::new(bytes);
        r.header(super::TAG_SCORES, VERSION, "not an encoded ScoreSummary")?;
        let cap = usize::try_from(r.u64()?).map_err(|_| BAD)?;
        let negatives = r.count(BAD)?;
        let positives = r.count(BAD)?;
        let mut totals = [0u64; 2];
        let mut tally = |counts: [u64; 2]| -> Result<(), StatsError> {
            if counts[0] | counts[1] == 0 {
                return Err(BAD);
            }
            for (t, c) in totals.iter_mut().zip(counts) {
                *t = t.checked_add(c).filter(|&t| t <= super::MAX_COUNT).ok_or(BAD)?;
            }
            Ok(())
        };
        let state = match r.u8()? {
            0 => {
                let len = r.u32()? as usize;
                if len > cap {
                    return Err(BAD);
                }
                let mut map = BTreeMap::new();
                let mut previous: Option<u64> = None;
                for _ in 0..len {
                    let score = r.f64()?;
                    let counts = [r.u64()?, r.u64()?];
                    // Finite, not -0.0, strictly increasing: one canonical encoding.
                    if !score.is_finite() || score.to_bits() == (-0.0f64).to_bits() {
                        return Err(BAD);
                    }
                    let key = order_key(score);
                    if previous.is_some_and(|p| p >= key) {
                        return Err(BAD);
                    }
                    previous = Some(key);
                    tally(counts)?;
                    map.insert(key, counts);
                }
                ScoreState::Exact(map)
            }
            1 => {
                if r.u32()? as usize != SCORE_BINS {
                    return Err(BAD);
                }
                let filled = r.u32()? as usize;
                if filled > SCORE_BINS {
                    return Err(BAD);
                }
                let mut bins = vec![[0u64; 2]; SCORE_BINS];
                let mut previous: Option<usize> = None;
                for _ in 0..filled {
                    let i = usize::from(r.u16()?);
                    let counts = [r.u64()?, r.u64()?];
                    if i >= SCORE_BINS || previous.is_some_and(|p| p >= i) {
                        return Err(BAD);
                    }
                    previous = Some(i);
                    tally(counts)?;
                    bins[i] = counts;
                }
                ScoreState::Binned(bins)
            }
            _ => return Err(BAD),
        };
        if totals != [negatives, positives] {
            return Err(BAD);
        }
        Ok((ScoreSummary { cap, negatives, positives, state }, r.position()))
    }
}

/// The per-window summary of a binary classifier: confusion counts over all labelled
/// records, plus the log loss and the score distribution over those that carry a score
/// (the predicted probability of the positive class).
///
/// ```
/// use riskops_stats::metrics::BinaryOutcomes;
/// let mut w = BinaryOutcomes::new();
/// w.add_scored(true, true, 0.9);
/// w.add_scored(false, false, 0.2);
/// w.add_scored(false, true, 0.6);
/// w.add(true, false); // a record without a score
/// assert_eq!(w.count(), 4);
/// assert_eq!(w.scored(), 3);
/// assert_eq!(w.roc_auc().map(|a| a.value), Some(1.0));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct BinaryOutcomes {
    confusion: Confusion,
    scores: ScoreSummary,
    log_loss: CompensatedSum,
    /// Non-finite scores: the record is in the confusion counts only.
    invalid_scores: u64,
    /// Finite scores outside `[0, 1]`: fine for AUC, but no log loss (sklearn raises).
    outside_unit: u64,
}

impl Default for BinaryOutcomes {
    fn default() -> Self {
        Self::new()
    }
}

impl BinaryOutcomes {
    /// Empty, with a [`ScoreSummary`] exact up to [`DEFAULT_SCORE_CAP`] distinct scores.
    pub fn new() -> Self {
        Self::with_score_cap(DEFAULT_SCORE_CAP)
    }

    /// Empty, with a [`ScoreSummary`] exact up to `cap` distinct scores.
    pub fn with_score_cap(cap: usize) -> Self {
        BinaryOutcomes {
            confusion: Confusion::new(),
            scores: ScoreSummary::with_cap(cap),
            log_loss: CompensatedSum::default(),
            invalid_scores: 0,
            outside_unit: 0,
        }
    }

    /// The summary of whole columns: `actual[i]`, `predicted[i]` and, if given, `scores[i]`
    /// (every record scored). Errors when the lengths differ.
    pub fn from_slices(actual: &[bool], predicted: &[bool], scores: Option<&[f64]>) -> Result<Self, StatsError> {
        if actual.len() != predicted.len() || scores.is_some_and(|s| s.len() != actual.len()) {
            return Err(StatsError::InvalidArgument("actual, predicted and scores must have the same length"));
        }
        let mut w = Self::new();
        match scores {
            Some(scores) => {
                for ((&a, &p), &s) in actual.iter().zip(predicted).zip(scores) {
                    w.add_scored(a, p, s);
                }
            }
            None => {
                for (&a, &p) in actual.iter().zip(predicted) {
                    w.add(a, p);
                }
            }
        }
        Ok(w)
    }

    /// Counts a labelled record without a score.
    #[inline]
    pub fn add(&mut self, actual: bool, predicted: bool) {
        self.confusion.add(actual, predicted);
    }

    /// Counts a labelled record with `score`, the predicted probability of the positive
    /// class. A non-finite score is counted in [`invalid_scores`](Self::invalid_scores) and
    /// the record only in the confusion counts.
    pub fn add_scored(&mut self, actual: bool, predicted: bool, score: f64) {
        self.confusion.add(actual, predicted);
        if !self.scores.add(actual, score) {
            self.invalid_scores = self.invalid_scores.saturating_add(1);
            return;
        }
        if !(0.0..=1.0).contains(&score) {
            self.outside_unit = self.outside_unit.saturating_add(1);
        }
        self.log_loss.add(log_loss_term(actual, score));
    }

    /// Combines `other` into `self` (see [`ScoreSummary::merge`] for the scores).
    pub fn merge(&mut self, other: &BinaryOutcomes) {
        self.confusion.merge(&other.confusion);
        self.scores.merge(&other.scores);
        self.log_loss.merge(&other.log_loss);
        self.invalid_scores = self.invalid_scores.saturating_add(other.invalid_scores);
        self.outside_unit = self.outside_unit.saturating_add(other.outside_unit);
    }

    /// The confusion counts of all labelled records.
    pub fn confusion(&self) -> &Confusion {
        &self.confusion
    }

    /// The score distribution of the scored records.
    pub fn scores(&self) -> &ScoreSummary {
        &self.scores
    }

    /// Labelled records.
    pub fn count(&self) -> u64 {
        self.confusion.count()
    }

    /// Labelled records with a finite score: those `log_loss` and `roc_auc` are over.
    pub fn scored(&self) -> u64 {
        self.scores.count()
    }

    /// Records whose score was NaN or infinite (left out of `log_loss` and `roc_auc`).
    pub fn invalid_scores(&self) -> u64 {
        self.invalid_scores
    }

    /// Scored records whose score is outside `[0, 1]`.
    pub fn scores_outside_unit(&self) -> u64 {
        self.outside_unit
    }

    /// See [`Confusion::accuracy`].
    pub fn accuracy(&self) -> Option<f64> {
        self.confusion.accuracy()
    }

    /// See [`Confusion::precision`].
    pub fn precision(&self) -> Option<f64> {
        self.confusion.precision()
    }

    /// See [`Confusion::recall`].
    pub fn recall(&self) -> Option<f64> {
        self.confusion.recall()
    }

    /// See [`Confusion::f1`].
    pub fn f1(&self) -> Option<f64> {
        self.confusion.f1()
    }

    /// See [`Confusion::confusion_matrix`].
    pub fn confusion_matrix(&self) -> [[u64; 2]; 2] {
        self.confusion.confusion_matrix()
    }

    /// `log_loss(y_true, scores, labels=[0, 1])` over the scored records (natural log,
    /// mean). `None` without scored records, or when a score is outside `[0, 1]` (sklearn
    /// raises). With a single class present sklearn needs `labels=[0, 1]` to answer; this
    /// returns that answer.
    pub fn log_loss(&self) -> Option<f64> {
        let n = self.scored();
        (n > 0 && self.outside_unit == 0).then(|| self.log_loss.value() / n as f64)
    }

    /// `roc_auc_score` over the scored records, with its error bound (see
    /// [`ScoreSummary::roc_auc`]). `None` unless both classes are present.
    pub fn roc_auc(&self) -> Option<AucEstimate> {
        self.scores.roc_auc()
    }

    /// Appends the binary encoding: tag, version, the four confusion counts (tn, fp, fn, tp),
    /// invalid and out-of-range score counts (u64), the log-loss sum (two f64: sum and
    /// compensation), then the [`ScoreSummary`] encoding.
    pub fn encode(&self, out: &mut Vec<u8>) {
        super::put_header(out, super::TAG_BINARY, VERSION);
        self.confusion.encode(out);
        super::put_u64(out, self.invalid_scores);
        super::put_u64(out, self.outside_unit);
        self.log_loss.encode(out);
        self.scores.encode(out);
    }

    /// Decodes a summary written by [`encode`](Self::encode) from the start of `bytes`;
    /// returns it and the number of bytes read.
    pub fn decode(bytes: &[u8]) -> Result<(Self, usize), StatsError> {
        const BAD: StatsError = StatsError::InvalidArgument("encoded BinaryOutcomes is inconsistent");
        let mut r = Reader::new(bytes);
        r.header(super::TAG_BINARY, VERSION, "not an encoded BinaryOutcomes")?;
        let confusion = Confusion::decode(&mut r, BAD)?;
        let invalid_scores = r.count(BAD)?;
        let outside_unit = r.count(BAD)?;
        let log_loss = CompensatedSum::decode(&mut r)?;
        let (scores, used) = ScoreSummary::decode(r.rest())?;
        r.take(used)?;
        // Scored and invalid records are labelled records; the scores' classes are theirs.
        let labelled = scores.count().checked_add(invalid_scores).ok_or(BAD)?;
        if labelled > confusion.count()
            || scores.positives() > confusion.actual_positives()
            || scores.negatives() > confusion.actual_negatives()
            || outside_unit > scores.count()
            || log_loss.value().is_nan()
        {
            return Err(BAD);
        }
        Ok((BinaryOutcomes { confusion, scores, log_loss, invalid_scores, outside_unit }, r.position()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_key_sorts_like_the_numbers() {
        let xs = [-1e300, -2.5, -0.0, 0.0, 1e-300, 0.5, 1.0, 7e10];
        for w in xs.windows(2) {
            assert!(order_key(w[0]) <= order_key(w[1]), "{w:?}");
            assert_eq!(key_score(order_key(w[1])), w[1]);
        }
        assert_eq!(order_key(-0.0), order_key(0.0));
    }

    #[test]
    fn bins_are_monotone_and_cover_the_ends() {
        assert_eq!(bin_of(-3.0), 0);
        assert_eq!(bin_of(0.0), 0);
        assert_eq!(bin_of(1.0), SCORE_BINS - 1);
        assert_eq!(bin_of(0.5), SCORE_BINS / 2);
        assert_eq!(bin_of(f64::from_bits(1.0f64.to_bits() - 1)), SCORE_BINS - 1);
    }

    #[test]
    fn one_class_has_no_auc_and_empty_has_no_metrics() {
        let mut w = BinaryOutcomes::new();
        assert_eq!((w.accuracy(), w.log_loss(), w.roc_auc()), (None, None, None));
        w.add_scored(true, true, 0.7);
        assert_eq!(w.roc_auc(), None);
        assert!(w.log_loss().is_some());
    }

    #[test]
    fn scores_outside_the_unit_interval_have_an_auc_but_no_log_loss() {
        let mut w = BinaryOutcomes::new();
        w.add_scored(true, true, 2.5);
        w.add_scored(false, false, -1.0);
        w.add_scored(false, false, f64::NAN);
        assert_eq!(w.roc_auc().map(|a| a.value), Some(1.0));
        assert_eq!(w.log_loss(), None);
        assert_eq!((w.count(), w.scored(), w.invalid_scores()), (3, 2, 1));
    }
}
