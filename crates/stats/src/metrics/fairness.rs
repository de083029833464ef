//! [`GroupOutcomes`]: confusion counts per group of one sensitive attribute (sex, age band,
//! …), and the fairness metrics of fairlearn computed from them.
//!
//! | method | fairlearn |
//! |---|---|
//! | `by_group` | `MetricFrame(metrics={count, accuracy_score, precision_score, recall_score, selection_rate, true_positive_rate, false_positive_rate}).by_group` |
//! | `demographic_parity_difference` | `demographic_parity_difference(method="between_groups")`: max − min selection rate |
//! | `demographic_parity_ratio` | `demographic_parity_ratio(method="between_groups")`: min / max selection rate |
//! | `equalized_odds_difference` | `equalized_odds_difference(method="between_groups", agg="worst_case")`: the larger of the TPR and FPR differences |
//! | `four_fifths` | the "80% rule" of the US Uniform Guidelines: demographic parity ratio ≥ 0.8 |
//!
//! Edge cases as fairlearn: a group without actual positives has TPR 0 (and without actual
//! negatives FPR 0), since sklearn's normalised confusion matrix turns 0/0 into 0; precision
//! and recall follow sklearn's `zero_division="warn"` (0.0); when no group selects anyone
//! the ratio is 0/0, NaN in fairlearn, `None` here (and so is the four-fifths verdict). A
//! single group gives difference 0 and ratio 1. Groups exist only once they have a record,
//! so no group is ever empty.
//!
//! Everything is integer counts, so metrics and merges are exact. Memory is one
//! [`Confusion`] per group, up to a cap ([`DEFAULT_GROUP_CAP`]); records of groups first
//! seen beyond the cap are pooled in [`overflow`](GroupOutcomes::overflow) and left out of
//! the fairness metrics ([`is_exact`](GroupOutcomes::is_exact) turns false).

use std::collections::BTreeMap;

use super::{Confusion, Reader};
use crate::StatsError;

/// Default cap on groups counted individually: sensitive attributes have few values, so
/// reaching it means the attribute is not categorical.
pub const DEFAULT_GROUP_CAP: usize = 1000;

const VERSION: u8 = 1;

/// A per-group rate and the group it belongs to.
type RateOf<'a> = (f64, &'a str);

/// The metrics of one group, as a row of fairlearn's `MetricFrame.by_group`.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupMetrics {
    /// The group's value of the sensitive attribute.
    pub group: String,
    /// Records in the group.
    pub count: u64,
    /// `accuracy_score` within the group.
    pub accuracy: f64,
    /// `precision_score` within the group (0.0 when nothing is predicted positive).
    pub precision: f64,
    /// `recall_score` within the group (0.0 without actual positives).
    pub recall: f64,
    /// `f1_score` within the group (0.0 when undefined).
    pub f1: f64,
    /// `selection_rate`: share predicted positive.
    pub selection_rate: f64,
    /// `true_positive_rate` (0.0 without actual positives).
    pub true_positive_rate: f64,
    /// `false_positive_rate` (0.0 without actual negatives).
    pub false_positive_rate: f64,
    /// The group's confusion counts.
    pub confusion: Confusion,
}

/// The four-fifths (80%) rule on selection rates.
#[derive(Debug, Clone, PartialEq)]
pub struct FourFifths {
    /// The demographic parity ratio: lowest over highest selection rate.
    pub ratio: f64,
    /// `ratio ≥ 0.8`.
    pub passes: bool,
    /// The group with the lowest selection rate (the first in byte order on ties).
    pub lowest: String,
    /// The group with the highest selection rate (the first in byte order on ties).
    pub highest: String,
}

/// Mergeable per-group confusion counts for one sensitive attribute (see the
/// [module docs](self)).
///
/// ```
/// use riskops_stats::metrics::GroupOutcomes;
/// let mut g = GroupOutcomes::new();
/// for (group, actual, predicted) in [("f", true, true), ("f", false, false), ("m", true, true), ("m", false, true)] {
///     g.add(group, actual, predicted);
/// }
/// assert_eq!(g.demographic_parity_difference(), Some(0.5));
/// assert_eq!(g.demographic_parity_ratio(), Some(0.5));
/// assert_eq!(g.equalized_odds_difference(), Some(1.0));
/// assert_eq!(g.four_fifths().map(|r| r.passes), Some(false));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GroupOutcomes {
    groups: BTreeMap<String, Confusion>,
    cap: usize,
    overflow: Confusion,
}

impl Default for GroupOutcomes {
    fn default() -> Self {
        Self::new()
    }
}

impl GroupOutcomes {
    /// Empty, keeping up to [`DEFAULT_GROUP_CAP`] groups.
    pub fn new() -> Self {
        Self::with_cap(DEFAULT_GROUP_CAP)
    }

    /// Empty, keeping up to `cap` groups individually.
    pub fn with_cap(cap: usize) -> Self {
        GroupOutcomes { groups: BTreeMap::new(), cap, overflow: Confusion::new() }
    }

    /// The summary of whole columns. Errors when the lengths differ.
    pub fn from_slices<S: AsRef<str>>(groups: &[S], actual: &[bool], predicted: &[bool]) -> Result<Self, StatsError> {
        if groups.len() != actual.len() || actual.len() != predicted.len() {
            return Err(StatsError::InvalidArgument("groups, actual and predicted must have the same length"));
        }
        let mut g = Self::new();
        for ((group, &a), &p) in groups.iter().zip(actual).zip(predicted) {
            g.add(group.as_ref(), a, p);
        }
        Ok(g)
    }

    fn cell(&mut self, group: &str) -> &mut Confusion {
        if !self.groups.contains_key(group) && self.groups.len() >= self.cap {
            return &mut self.overflow;
        }
        self.groups.entry(group.to_owned()).or_default()
    }

    /// Counts one labelled record of `group`.
    pub fn add(&mut self, group: &str, actual: bool, predicted: bool) {
        self.cell(group).add(actual, predicted);
    }

    /// Combines `other` into `self` (exact while the union of groups fits `self`'s cap).
    pub fn merge(&mut self, other: &GroupOutcomes) {
        for (group, confusion) in &other.groups {
            self.cell(group).merge(confusion);
        }
        self.overflow.merge(&other.overflow);
    }

    /// Groups with their counts, in byte order of the group names.
    pub fn groups(&self) -> impl Iterator<Item = (&str, &Confusion)> + '_ {
        self.groups.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// One group's counts.
    pub fn get(&self, group: &str) -> Option<&Confusion> {
        self.groups.get(group)
    }

    /// Number of groups counted individually.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Whether nothing has been counted.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty() && self.overflow.count() == 0
    }

    /// Records of groups first seen after the cap was reached (not in any metric).
    pub fn overflow(&self) -> &Confusion {
        &self.overflow
    }

    /// Whether every record is attributed to its group.
    pub fn is_exact(&self) -> bool {
        self.overflow.count() == 0
    }

    /// The cap on groups counted individually.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Per-group metrics, in byte order of the group names.
    pub fn by_group(&self) -> Vec<GroupMetrics> {
        self.groups
            .iter()
            .map(|(group, c)| GroupMetrics {
                group: group.clone(),
                count: c.count(),
                accuracy: c.accuracy().unwrap_or(0.0),
                precision: c.precision().unwrap_or(0.0),
                recall: c.recall().unwrap_or(0.0),
                f1: c.f1().unwrap_or(0.0),
                selection_rate: c.selection_rate().unwrap_or(0.0),
                true_positive_rate: c.true_positive_rate().unwrap_or(0.0),
                false_positive_rate: c.false_positive_rate().unwrap_or(0.0),
                confusion: *c,
            })
            .collect()
    }

    /// (min, max) of a per-group rate with the groups reaching them (first in byte order).
    fn extremes(&self, rate: impl Fn(&Confusion) -> Option<f64>) -> Option<(RateOf<'_>, RateOf<'_>)> {
        let mut out: Option<(RateOf<'_>, RateOf<'_>)> = None;
        for (group, c) in &self.groups {
            let Some(v) = rate(c) else { continue };
            out = Some(match out {
                None => ((v, group), (v, group)),
                Some((lo, hi)) => (if v < lo.0 { (v, group) } else { lo }, if v > hi.0 { (v, group) } else { hi }),
            });
        }
        out
    }

    fn difference(&self, rate: impl Fn(&Confusion) -> Option<f64>) -> Option<f64> {
        self.extremes(rate).map(|((lo, _), (hi, _))| hi - lo)
    }

    /// fairlearn's `demographic_parity_difference`: largest minus smallest group selection
    /// rate. `None` without groups.
    pub fn demographic_parity_difference(&self) -> Option<f64> {
        self.difference(Confusion::selection_rate)
    }

    /// fairlearn's `demographic_parity_ratio`: smallest over largest group selection rate.
    /// `None` without groups or when no group selects anyone (fairlearn: NaN).
    pub fn demographic_parity_ratio(&self) -> Option<f64> {
        self.four_fifths().map(|f| f.ratio)
    }

    /// fairlearn's `equalized_odds_difference` (`agg="worst_case"`): the larger of the
    /// between-group differences of TPR and of FPR. `None` without groups.
    pub fn equalized_odds_difference(&self) -> Option<f64> {
        let tpr = self.difference(Confusion::true_positive_rate)?;
        let fpr = self.difference(Confusion::false_positive_rate)?;
        Some(tpr.max(fpr))
    }

    /// The four-fifths rule: passes when the demographic parity ratio is at least 0.8.
    /// `None` when the ratio is undefined (no groups, or nothing selected).
    pub fn four_fifths(&self) -> Option<FourFifths> {
        let ((lo, lowest), (hi, highest)) = self.extremes(Confusion::selection_rate)?;
        if hi == 0.0 {
            return None;
        }
        let ratio = lo / hi;
        Some(FourFifths { ratio, passes: ratio >= 0.8, lowest: lowest.to_owned(), highest: highest.to_owned() })
    }

    /// Appends the binary encoding: tag, version, cap (u64), the overflow's confusion counts
    /// (4 × u64: tn, fp, fn, tp), the number of groups (u32), then per group in byte order of
    /// the names its UTF-8 length (u32), bytes and confusion counts.
    pub fn encode(&self, out: &mut Vec<u8>) {
        super::put_header(out, super::TAG_GROUPS, VERSION);
        super::put_u64(out, self.cap as u64);
        self.overflow.encode(out);
        super::put_u32(out, self.groups.len() as u32);
        for (group, c) in &self.groups {
            super::put_u32(out, group.len() as u32);
            out.extend_from_slice(group.as_bytes());
            c.encode(out);
        }
    }

    /// Decodes a summary written by [`encode`](Self::encode) from the start of `bytes`;
    /// returns it and the number of bytes read.
    pub fn decode(bytes: &[u8]) -> Result<(Self, usize), StatsError> {
        const BAD: StatsError = StatsError::InvalidArgument("encoded GroupOutcomes is inconsistent");
        let mut r = Reader::new(bytes);
        r.header(super::TAG_GROUPS, VERSION, "not an encoded GroupOutcomes")?;
        let cap = usize::try_from(r.u64()?).map_err(|_| BAD)?;
        let overflow = Confusion::decode(&mut r, BAD)?;
        let len = r.u32()? as usize;
        if len > cap {
            return Err(BAD);
        }
        let mut groups = BTreeMap::new();
        let mut total = overflow.count();
        let mut previous: Option<&[u8]> = None;
        for _ in 0..len {
            let name_len = r.u32()? as usize;
            let name = r.take(name_len)?;
            let c = Confusion::decode(&mut r, BAD)?;
            // Strictly increasing names, no empty group: one canonical encoding.
            if c.count() == 0 || previous.is_some_and(|p| p >= name) {
                return Err(BAD);
            }
            previous = Some(name);
            total = total.checked_add(c.count()).filter(|&t| t <= super::MAX_COUNT).ok_or(BAD)?;
            groups.insert(std::str::from_utf8(name).map_err(|_| BAD)?.to_owned(), c);
        }
        Ok((GroupOutcomes { groups, cap, overflow }, r.position()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_groups_means_no_fairness_metrics() {
        let g = GroupOutcomes::new();
        assert_eq!(g.demographic_parity_difference(), None);
        assert_eq!(g.demographic_parity_ratio(), None);
        assert_eq!(g.equalized_odds_difference(), None);
        assert!(g.four_fifths().is_none());
    }

    #[test]
    fn groups_beyond_the_cap_are_pooled() {
        let mut g = GroupOutcomes::with_cap(2);
        for name in ["a", "b", "c", "a", "c"] {
            g.add(name, true, true);
        }
        assert_eq!((g.len(), g.overflow().count(), g.is_exact()), (2, 2, false));
        assert_eq!(g.get("a").map(Confusion::count), Some(2));
    }

    #[test]
    fn four_fifths_names_the_extreme_groups() {
        let mut g = GroupOutcomes::new();
        g.add("x", false, true);
        g.add("y", false, false);
        g.add("y", false, true);
        let f = g.four_fifths().unwrap_or(FourFifths {
            ratio: 0.0,
            passes: true,
            lowest: String::new(),
            highest: String::new(),
        });
        assert_eq!((f.ratio, f.passes, f.lowest.as_str(), f.highest.as_str()), (0.5, false, "y", "x"));
    }
}
