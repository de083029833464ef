//! Turning a column's values into what the methods need: sorted finite numbers, or
//! category counts aligned over both samples. Missing values and ±inf are dropped here.

use riskops_data::{MISSING_CODE, StrColumn, Values};
use std::cmp::Ordering;
use std::collections::HashMap;

/// Finite values in ascending order, reusing the column's own allocation.
/// `Err(example)` when the column holds text.
pub fn sorted_numbers(values: Values) -> Result<Vec<f64>, String> {
    Ok(match values {
        Values::Float(v) => riskops_stats::sorted_finite(v),
        Values::Int(v) => riskops_stats::sorted_from_ints(v),
        Values::Bool(v) => riskops_stats::sorted_finite(v.into_iter().map(|b| if b { 1.0 } else { 0.0 }).collect()),
        Values::Str(s) => {
            let example = s.codes.iter().find(|&&c| c != MISSING_CODE).and_then(|&c| s.dictionary.get(c as usize));
            return Err(example.cloned().unwrap_or_default());
        }
    })
}

/// Distinct values in a sorted slice (`-0.0` and `0.0` are one value, as in numpy).
pub fn distinct_sorted(sorted: &[f64]) -> usize {
    if sorted.is_empty() {
        return 0;
    }
    1 + sorted.windows(2).filter(|w| w[0] != w[1]).count()
}

/// Distinct values over two sorted samples (`-0.0` and `0.0` are one value): a merge that
/// allocates nothing, for columns whose method does not need the counts themselves.
pub fn distinct_union_sorted(a: &[f64], b: &[f64]) -> usize {
    distinct_union_sorted_up_to(a, b, usize::MAX)
}

/// [`distinct_union_sorted`], counting no further than `limit`: enough to choose a method,
/// which only asks whether there are more than a few values.
pub fn distinct_union_sorted_up_to(a: &[f64], b: &[f64], limit: usize) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while (i < a.len() || j < b.len()) && n < limit {
        let next = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) => x,
            (None, Some(&y)) => y,
            (None, None) => break,
        };
        while i < a.len() && a[i] == next {
            i += 1;
        }
        while j < b.len() && b[j] == next {
            j += 1;
        }
        n += 1;
    }
    n
}

/// The union of two sorted samples' values with each one's count: a merge, no hashing.
pub fn merged_frequencies(a: &[f64], b: &[f64]) -> (Vec<f64>, Vec<u64>, Vec<u64>) {
    let (mut values, mut ca, mut cb) = (Vec::new(), Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let next = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) => {
                if x < y {
                    x
                } else {
                    y
                }
            }
            (Some(&x), None) => x,
            (None, Some(&y)) => y,
            (None, None) => break,
        };
        let start_i = i;
        while i < a.len() && a[i] == next {
            i += 1;
        }
        let start_j = j;
        while j < b.len() && b[j] == next {
            j += 1;
        }
        values.push(if next == 0.0 { 0.0 } else { next });
        ca.push((i - start_i) as u64);
        cb.push((j - start_j) as u64);
    }
    (values, ca, cb)
}

/// A category: a number (from numeric columns) or a text value.
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    Number(f64),
    Text(String),
}

impl Key {
    pub fn label(&self) -> String {
        match self {
            Key::Number(x) => format_number(*x),
            Key::Text(t) => t.clone(),
        }
    }

    fn cmp(&self, other: &Key) -> Ordering {
        match (self, other) {
            (Key::Number(a), Key::Number(b)) => a.total_cmp(b),
            (Key::Number(_), Key::Text(_)) => Ordering::Less,
            (Key::Text(_), Key::Number(_)) => Ordering::Greater,
            (Key::Text(a), Key::Text(b)) => a.cmp(b),
        }
    }
}

/// Numbers as Python prints them in a category label (`3`, `2.5`).
pub fn format_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 { format!("{}", x as i64) } else { format!("{x}") }
}

/// Category counts of both samples over the union of their categories, in sorted order.
#[derive(Debug, Clone, PartialEq)]
pub struct Categories {
    pub keys: Vec<Key>,
    pub reference: Vec<u64>,
    pub current: Vec<u64>,
}

impl Categories {
    pub fn n_reference(&self) -> u64 {
        self.reference.iter().sum()
    }

    pub fn n_current(&self) -> u64 {
        self.current.iter().sum()
    }
}

/// Integer columns spanning fewer values than this are counted in an array.
const DENSE_INT_SPAN: i64 = 1 << 16;

/// Counts per category of one sample.
pub(crate) enum Counted {
    Numbers(riskops_data::fxhash::FxHashMap<u64, u64>),
    Texts(StrColumn, Vec<u64>),
}

pub(crate) fn count(values: Values) -> Counted {
    let mut numbers: riskops_data::fxhash::FxHashMap<u64, u64> = Default::default();
    let mut add = |x: f64| {
        if x.is_finite() {
            // -0.0 and 0.0 are one category.
            *numbers.entry((x + 0.0).to_bits()).or_insert(0) += 1;
        }
    };
    match values {
        Values::Int(v) => {
            // Small-range integers (the usual categorical codes): count into an array.
            let (lo, hi) = v.iter().fold((i64::MAX, i64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
            if !v.is_empty() && hi.checked_sub(lo).is_some_and(|span| span < DENSE_INT_SPAN) {
                let mut dense = vec![0u64; (hi - lo + 1) as usize];
                for &x in &v {
                    dense[(x - lo) as usize] += 1;
                }
                for (offset, n) in dense.into_iter().enumerate().filter(|(_, n)| *n > 0) {
                    numbers.insert(((lo + offset as i64) as f64 + 0.0).to_bits(), n);
                }
            } else {
                v.into_iter().for_each(|i| add(i as f64));
            }
        }
        Values::Float(v) => v.into_iter().for_each(&mut add),
        Values::Bool(v) => {
            // Booleans read as text in one file (a missing value) must meet "True"/"False".
            let mut s =
                StrColumn { codes: Vec::with_capacity(v.len()), dictionary: vec!["False".into(), "True".into()] };
            s.codes.extend(v.into_iter().map(u32::from));
            return count(Values::Str(s));
        }
        Values::Str(s) => {
            let mut counts = vec![0u64; s.dictionary.len()];
            for &code in &s.codes {
                if let Some(c) = counts.get_mut(code as usize) {
                    *c += 1;
                }
            }
            return Counted::Texts(s, counts);
        }
    }
    Counted::Numbers(numbers)
}

/// Counts both samples per category, aligned over the sorted union of categories.
#[cfg(test)]
pub fn categories(reference: Values, current: Values) -> Categories {
    categories_counted(count(reference), count(current))
}

/// The counts of a sorted sample's values (a prepared reference's), as [`count`] would
/// count the sample itself: finite values, `-0.0` and `0.0` one category.
pub(crate) fn count_sorted(sorted: &[f64]) -> Counted {
    let mut numbers: riskops_data::fxhash::FxHashMap<u64, u64> = Default::default();
    let mut i = 0;
    while i < sorted.len() {
        let x = sorted[i];
        let start = i;
        while i < sorted.len() && sorted[i] == x {
            i += 1;
        }
        *numbers.entry((x + 0.0).to_bits()).or_insert(0) += (i - start) as u64;
    }
    Counted::Numbers(numbers)
}

/// Text categories already counted (a prepared reference's dictionary and counts).
pub(crate) fn count_texts(dictionary: Vec<String>, counts: Vec<u64>) -> Counted {
    Counted::Texts(StrColumn { codes: Vec::new(), dictionary }, counts)
}

/// [`categories`] of two samples already counted.
pub(crate) fn categories_counted(reference: Counted, current: Counted) -> Categories {
    let mut union: Vec<(Key, u64, u64)> = Vec::new();
    let mut index: HashMap<KeyRef, usize> = HashMap::new();
    for (side, counted) in [(0, reference), (1, current)] {
        let mut add = |key: Key, n: u64| {
            if n == 0 {
                return;
            }
            let slot = *index.entry(KeyRef::of(&key)).or_insert_with(|| {
                union.push((key, 0, 0));
                union.len() - 1
            });
            if side == 0 {
                union[slot].1 += n;
            } else {
                union[slot].2 += n;
            }
        };
        match counted {
            Counted::Numbers(map) => map.into_iter().for_each(|(bits, n)| add(Key::Number(f64::from_bits(bits)), n)),
            Counted::Texts(s, counts) => {
                s.dictionary.into_iter().zip(counts).for_each(|(text, n)| add(Key::Text(text), n));
            }
        }
    }
    union.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Categories { keys: Vec::with_capacity(union.len()), reference: Vec::new(), current: Vec::new() };
    for (key, r, c) in union {
        out.keys.push(key);
        out.reference.push(r);
        out.current.push(c);
    }
    out
}

/// A hashable form of [`Key`].
#[derive(Hash, PartialEq, Eq)]
enum KeyRef {
    Number(u64),
    Text(String),
}

impl KeyRef {
    fn of(key: &Key) -> KeyRef {
        match key {
            Key::Number(x) => KeyRef::Number(x.to_bits()),
            Key::Text(t) => KeyRef::Text(t.clone()),
        }
    }
}

/// Distinct non-missing values of a column, counting no further than `limit + 1`, with the
/// number of non-missing values. Cheap for the typing decision.
pub fn distinct_up_to(values: &Values, limit: usize) -> (usize, usize) {
    match values {
        Values::Int(v) => {
            let mut seen: Vec<i64> = Vec::with_capacity(limit + 1);
            for &x in v {
                if !seen.contains(&x) {
                    seen.push(x);
                    if seen.len() > limit {
                        break;
                    }
                }
            }
            (seen.len(), v.len())
        }
        Values::Bool(v) => (usize::from(v.contains(&true)) + usize::from(v.contains(&false)), v.len()),
        Values::Float(v) => {
            let finite = v.iter().filter(|x| !x.is_nan()).count();
            (usize::MAX, finite)
        }
        Values::Str(s) => {
            let mut used = vec![false; s.dictionary.len()];
            let mut present = 0;
            for &c in &s.codes {
                if let Some(u) = used.get_mut(c as usize) {
                    *u = true;
                    present += 1;
                }
            }
            (used.iter().filter(|&&u| u).count(), present)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_frequencies_align_both_samples() {
        let (v, a, b) = merged_frequencies(&[1.0, 1.0, 2.0, 5.0], &[-0.0, 2.0, 2.0, 7.0]);
        assert_eq!(v, [0.0, 1.0, 2.0, 5.0, 7.0]);
        assert_eq!(a, [0, 2, 1, 1, 0]);
        assert_eq!(b, [1, 0, 2, 0, 1]);
    }

    #[test]
    fn distinct_union_counts_without_allocating() {
        assert_eq!(distinct_union_sorted(&[1.0, 1.0, 2.0, 5.0], &[-0.0, 2.0, 2.0, 7.0]), 5);
        assert_eq!(distinct_union_sorted(&[], &[3.0, 3.0]), 1);
        assert_eq!(distinct_union_sorted(&[-0.0], &[0.0]), 1);
        assert_eq!(distinct_union_sorted_up_to(&[1.0, 2.0, 3.0], &[4.0, 5.0], 3), 3);
        assert_eq!(distinct_union_sorted_up_to(&[1.0, 1.0], &[1.0], 3), 1);
    }

    #[test]
    fn categories_union_text_dictionaries_and_numbers() {
        let r = Values::Str(StrColumn { codes: vec![0, 1, 1, MISSING_CODE], dictionary: vec!["b".into(), "a".into()] });
        let c = Values::Str(StrColumn { codes: vec![0, 0, 1], dictionary: vec!["c".into(), "a".into()] });
        let cats = categories(r, c);
        assert_eq!(cats.keys, [Key::Text("a".into()), Key::Text("b".into()), Key::Text("c".into())]);
        assert_eq!((cats.reference, cats.current), (vec![2, 1, 0], vec![1, 0, 2]));

        let cats = categories(Values::Int(vec![3, 1, 3]), Values::Float(vec![1.0, f64::NAN, 2.0]));
        assert_eq!(cats.keys, [Key::Number(1.0), Key::Number(2.0), Key::Number(3.0)]);
        assert_eq!((cats.reference, cats.current), (vec![1, 0, 2], vec![1, 1, 0]));
    }

    #[test]
    fn booleans_meet_their_text_spelling() {
        let r = Values::Bool(vec![true, false, true]);
        let c = Values::Str(StrColumn { codes: vec![0, MISSING_CODE], dictionary: vec!["True".into()] });
        let cats = categories(r, c);
        assert_eq!(cats.keys, [Key::Text("False".into()), Key::Text("True".into())]);
        assert_eq!((cats.reference, cats.current), (vec![1, 2], vec![0, 1]));
    }

    #[test]
    fn distinct_counting_stops_early() {
        assert_eq!(distinct_up_to(&Values::Int((0..100).collect()), 10), (11, 100));
        assert_eq!(distinct_up_to(&Values::Int(vec![1, 1, 2]), 10), (2, 3));
    }
}
