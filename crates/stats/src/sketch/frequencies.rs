//! [`Frequencies`]: value counts of a categorical column, exact up to a cap on the number of
//! distinct categories, with everything beyond the cap counted in one `other` bucket.
//!
//! The cap bounds memory (a column of unique IDs would otherwise keep every row). Below it
//! everything is exact, merges included. Once it is reached, a category seen for the first
//! time goes to `other`, so which categories get their own count depends on arrival order,
//! and merging summaries that hit the cap is approximate in the same way. What stays true
//! in every case:
//! - `total()` is exact (`Σ counts + other`);
//! - each reported count is a lower bound of the category's true count, and the true count
//!   is at most the reported count plus `other()`.
//!
//! A merge folds the other summary's categories in by decreasing count, so when the cap
//! cuts in, the frequent categories are the ones kept (and the result does not depend on
//! hash-map iteration order).

use std::collections::HashMap;

use crate::StatsError;
use crate::codec::{self, Reader};

/// Default cap on distinct categories counted individually.
pub const DEFAULT_CATEGORY_CAP: usize = 10_000;
const VERSION: u8 = 1;

/// Mergeable category counts with a cap on the number of categories (see the
/// [module docs](self)).
///
/// ```
/// use riskops_stats::sketch::Frequencies;
/// let mut f = Frequencies::new();
/// for v in ["b", "a", "b", "c"] {
///     f.add(v);
/// }
/// let top: Vec<(&str, u64)> = f.iter().collect();
/// assert_eq!(top, vec![("b", 2), ("a", 1), ("c", 1)]);
/// assert_eq!((f.total(), f.other()), (4, 0));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Frequencies {
    counts: HashMap<String, u64>,
    cap: usize,
    other: u64,
    total: u64,
}

impl Default for Frequencies {
    fn default() -> Self {
        Self::new()
    }
}

impl Frequencies {
    /// Empty counts with the default cap of [`DEFAULT_CATEGORY_CAP`] categories.
    pub fn new() -> Self {
        Self::with_cap(DEFAULT_CATEGORY_CAP)
    }

    /// Empty counts keeping at most `cap` categories individually (`0` counts everything in
    /// `other`).
    pub fn with_cap(cap: usize) -> Self {
        Frequencies { counts: HashMap::new(), cap, other: 0, total: 0 }
    }

    /// Counts one occurrence of `category`.
    #[inline]
    pub fn add(&mut self, category: &str) {
        self.add_n(category, 1);
    }

    /// Counts `n` occurrences of `category` (no-op for `n = 0`).
    pub fn add_n(&mut self, category: &str, n: u64) {
        if n == 0 {
            return;
        }
        self.total = self.total.saturating_add(n);
        if let Some(c) = self.counts.get_mut(category) {
            *c = c.saturating_add(n);
        } else if self.counts.len() < self.cap {
            self.counts.insert(category.to_owned(), n);
        } else {
            self.other = self.other.saturating_add(n);
        }
    }

    /// Combines `other` into `self`. Exact while the union of categories fits the cap of
    /// `self`; beyond, see the [module docs](self). The cap of `self` is kept.
    pub fn merge(&mut self, other: &Frequencies) {
        for (category, n) in other.iter() {
            self.add_n(category, n);
        }
        self.other = self.other.saturating_add(other.other);
        self.total = self.total.saturating_add(other.other);
    }

    /// Categories with their counts, by decreasing count, then by category (byte order).
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> + '_ {
        let mut entries: Vec<(&str, u64)> = self.counts.iter().map(|(k, &v)| (k.as_str(), v)).collect();
        entries.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        entries.into_iter()
    }

    /// Count of one category (0 if not counted individually).
    pub fn get(&self, category: &str) -> u64 {
        self.counts.get(category).copied().unwrap_or(0)
    }

    /// Number of categories counted individually.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// Whether nothing has been counted.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Total number of occurrences counted (exact).
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Occurrences of categories that arrived after the cap was reached.
    pub fn other(&self) -> u64 {
        self.other
    }

    /// The cap on categories counted individually.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Whether every category has its own exact count (nothing went to `other`).
    pub fn is_exact(&self) -> bool {
        self.other == 0
    }

    /// Appends the binary encoding: tag, version, cap (u64), other (u64), number of
    /// categories (u32), then per category, in byte order of the names (so equal summaries
    /// encode to equal bytes), its UTF-8 length (u32), bytes and count (u64).
    pub fn encode(&self, out: &mut Vec<u8>) {
        codec::put_header(out, codec::TAG_FREQUENCIES, VERSION);
        codec::put_u64(out, self.cap as u64);
        codec::put_u64(out, self.other);
        let mut entries: Vec<(&String, &u64)> = self.counts.iter().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        codec::put_u32(out, entries.len() as u32);
        for (category, &n) in entries {
            codec::put_u32(out, category.len() as u32);
            out.extend_from_slice(category.as_bytes());
            codec::put_u64(out, n);
        }
    }

    /// Decodes counts written by [`encode`](Self::encode) from the start of `bytes`; returns
    /// them and the number of bytes read.
    pub fn decode(bytes: &[u8]) -> Result<(Self, usize), StatsError> {
        const BAD: StatsError = StatsError::InvalidArgument("encoded Frequencies is inconsistent");
        let mut r = Reader::new(bytes);
        r.header(codec::TAG_FREQUENCIES, VERSION, "not an encoded Frequencies")?;
        let cap = usize::try_from(r.u64()?).map_err(|_| BAD)?;
        let other = r.u64()?;
        let len = r.u32()? as usize;
        if len > cap {
            return Err(BAD);
        }
        let mut counts = HashMap::new();
        let mut total = other;
        let mut previous: Option<&[u8]> = None;
        for _ in 0..len {
            let name_len = r.u32()? as usize;
            let name = r.take(name_len)?;
            let n = r.u64()?;
            // Strictly increasing names: no duplicates, one canonical encoding.
            if n == 0 || previous.is_some_and(|p| p >= name) {
                return Err(BAD);
            }
            previous = Some(name);
            let category = std::str::from_utf8(name).map_err(|_| BAD)?;
            total = total.checked_add(n).ok_or(BAD)?;
            counts.insert(category.to_owned(), n);
        }
        Ok((Frequencies { counts, cap, other, total }, r.position()))
    }
}
