//! Model performance and fairness from mergeable summaries: what a monitoring window keeps
//! once labels are in, matched to scikit-learn and fairlearn.
//!
//! Each summary is built record by record, merged (hourly windows into a day, threads into a
//! window), encoded to bytes and decoded later; memory does not grow with the number of
//! records. The metrics computed from a summary equal scikit-learn's / fairlearn's on the
//! same records to 1e-9 (tests: `tests/suite/metrics.rs` against
//! `tests/data/metrics_reference.json`), with one approximation, stated with its bound:
//!
//! | summary | metrics | exact? |
//! |---|---|---|
//! | [`Confusion`] | accuracy, precision, recall, F1, selection rate, TPR, FPR, confusion matrix | exact (integer counts) |
//! | [`BinaryOutcomes`] | the above, plus log loss and ROC AUC on the records that carry a score | log loss to a few ulps (compensated sum); ROC AUC see [`ScoreSummary`] |
//! | [`ScoreSummary`] | ROC AUC | exact (= `roc_auc_score`) while ≤ [`DEFAULT_SCORE_CAP`] distinct scores; then from [`SCORE_BINS`]-bin histograms per class, with a returned error bound |
//! | [`RegressionSummary`] | MAE, RMSE, MAPE, R² | to a few ulps (compensated sums, Welford/Chan moments) |
//! | [`GroupOutcomes`] | per group: count, accuracy, precision, recall, F1, selection rate, TPR, FPR; demographic parity difference and ratio, equalized odds difference, four-fifths rule | exact (counts) up to [`DEFAULT_GROUP_CAP`] groups |
//!
//! **Merging.** Counts merge exactly; compensated sums and moments merge to a few ulps; a
//! score summary merges exactly: two exact summaries whose union stays under the cap stay
//! exact, and otherwise the result is the histogram summary the whole would have had.
//!
//! **Undefined values.** Where scikit-learn or fairlearn raise or return NaN (ROC AUC with
//! one class, R² with fewer than two records, any metric of an empty summary, the
//! demographic parity ratio when no group selects anyone), these return `None`. Where they
//! warn and return a number (precision, recall and F1 under `zero_division="warn"`, TPR/FPR
//! of a group without positives/negatives), these return the same number (0.0).
//!
//! **Encoding.** Like the [sketches](crate::sketch): `encode(&self, out: &mut Vec<u8>)` and
//! `decode(&[u8]) -> Result<(Self, bytes_read), StatsError>`, little-endian, starting with a
//! type tag and a version byte; malformed input is an error, never a panic.

pub mod classification;
pub mod fairness;
pub mod regression;

pub use classification::{
    AucEstimate, BinaryOutcomes, Confusion, DEFAULT_SCORE_CAP, SCORE_BINS, ScoreSummary, log_loss_term,
};
pub use fairness::{DEFAULT_GROUP_CAP, FourFifths, GroupMetrics, GroupOutcomes};
pub use regression::RegressionSummary;

use crate::StatsError;

/// A compensated (Neumaier) running sum: error a few ulps of the total, independent of the
/// number of terms, so sums of millions of log-loss or error terms agree with NumPy's
/// pairwise sums to far better than 1e-9, and merge to the same.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct CompensatedSum {
    sum: f64,
    compensation: f64,
}

impl CompensatedSum {
    #[inline]
    pub(crate) fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if !t.is_finite() {
            // Overflow or a non-finite term: keep IEEE semantics instead of ∞ − ∞ = NaN.
            self.sum = t;
            return;
        }
        if self.sum.abs() >= x.abs() {
            self.compensation += (self.sum - t) + x;
        } else {
            self.compensation += (x - t) + self.sum;
        }
        self.sum = t;
    }

    pub(crate) fn merge(&mut self, other: &CompensatedSum) {
        self.add(other.sum);
        self.compensation += other.compensation;
    }

    pub(crate) fn value(&self) -> f64 {
        if self.sum.is_finite() { self.sum + self.compensation } else { self.sum }
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        put_f64(out, self.sum);
        put_f64(out, self.compensation);
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, StatsError> {
        Ok(CompensatedSum { sum: r.f64()?, compensation: r.f64()? })
    }
}

// The byte layout is the crate's one codec (`crate::codec`, shared with the sketches).
pub(crate) use crate::codec::{
    MAX_COUNT, Reader, TAG_BINARY, TAG_GROUPS, TAG_REGRESSION, TAG_SCORES, put_f64, put_header, put_u16, put_u32,
    put_u64,
};

/// `num / den` as sklearn's `_prf_divide` with `zero_division="warn"`: 0.0 when `den` is 0.
#[inline]
pub(crate) fn ratio_or_zero(num: u64, den: u64) -> f64 {
    if den == 0 { 0.0 } else { num as f64 / den as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compensated_sum_recovers_lost_low_bits() {
        let mut s = CompensatedSum::default();
        s.add(1e16);
        for _ in 0..10 {
            s.add(1.0);
        }
        s.add(-1e16);
        assert_eq!(s.value(), 10.0);
    }
}
