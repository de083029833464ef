//! A reference table prepared once for many comparisons: each column sorted (numbers) or
//! counted (text, booleans), which is the reference's share of [`crate::detect_drift`]'s
//! work. A monitoring server keeps one per model version and compares every closing window
//! with it through [`crate::detect_drift_prepared`], which runs the very same per-column
//! code as `detect_drift`, so both give identical reports on the same rows.

use crate::prepare;
use riskops_data::{MISSING_CODE, Table, Values};
use std::borrow::Cow;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A reference table, each column in the form the methods read.
#[derive(Debug, Clone)]
pub struct PreparedReference {
    pub(crate) rows: usize,
    pub(crate) columns: Vec<PreparedColumn>,
}

/// One reference column, prepared.
#[derive(Debug, Clone)]
pub struct PreparedColumn {
    pub(crate) name: String,
    /// pandas `int64` (numpy widens integer data's Sturges bins).
    pub(crate) integer: bool,
    /// Finite values in ascending order; `Err(example)` for a text column.
    pub(crate) numbers: Result<Vec<f64>, String>,
    /// Text (and boolean) columns: the dictionary and each entry's count.
    pub(crate) texts: Option<(Vec<String>, Vec<u64>)>,
}

impl PreparedReference {
    /// Prepares every column of `table`, in parallel over `threads` (0: one per core).
    pub fn new(table: Table, threads: usize) -> PreparedReference {
        let rows = table.rows;
        let jobs: Vec<Mutex<Option<riskops_data::Column>>> =
            table.columns.into_iter().map(|c| Mutex::new(Some(c))).collect();
        let done: Vec<Mutex<Option<PreparedColumn>>> = (0..jobs.len()).map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let threads = match threads {
            0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            n => n,
        }
        .min(jobs.len().max(1));
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(slot) = jobs.get(i) else { break };
                        let Some(column) = slot.lock().ok().and_then(|mut c| c.take()) else { continue };
                        let prepared = PreparedColumn::new(column.name, column.values);
                        if let Ok(mut d) = done[i].lock() {
                            *d = Some(prepared);
                        }
                    }
                });
            }
        });
        let columns = done.into_iter().filter_map(|d| d.into_inner().ok().flatten()).collect();
        PreparedReference { rows, columns }
    }

    /// Rows of the reference table.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Column names, in the table's order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|c| c.name.as_str())
    }

    /// Whether the column exists and holds a value a comparison can use (a finite number,
    /// or a counted category).
    pub fn has_values(&self, name: &str) -> bool {
        self.columns.iter().find(|c| c.name == name).is_some_and(|c| {
            c.numbers.as_ref().is_ok_and(|n| !n.is_empty())
                || c.texts.as_ref().is_some_and(|(_, counts)| counts.iter().any(|&n| n > 0))
        })
    }

    /// Bytes held, roughly (for a cache's bound).
    pub fn size(&self) -> usize {
        self.columns
            .iter()
            .map(|c| {
                let numbers = c.numbers.as_ref().map_or(0, |v| v.len() * 8);
                let texts =
                    c.texts.as_ref().map_or(0, |(d, n)| d.iter().map(|s| s.len() + 24).sum::<usize>() + n.len() * 8);
                numbers + texts
            })
            .sum()
    }
}

impl PreparedColumn {
    fn new(name: String, values: Values) -> PreparedColumn {
        let integer = matches!(values, Values::Int(_));
        let texts = match &values {
            Values::Bool(v) => {
                let trues = v.iter().filter(|&&b| b).count() as u64;
                Some((vec!["False".to_string(), "True".to_string()], vec![v.len() as u64 - trues, trues]))
            }
            Values::Str(s) => {
                let mut counts = vec![0u64; s.dictionary.len()];
                for &code in s.codes.iter().filter(|&&c| c != MISSING_CODE) {
                    if let Some(n) = counts.get_mut(code as usize) {
                        *n += 1;
                    }
                }
                Some((s.dictionary.clone(), counts))
            }
            Values::Int(_) | Values::Float(_) => None,
        };
        PreparedColumn { name, integer, numbers: prepare::sorted_numbers(values), texts }
    }
}

/// A reference column as a comparison takes it: the table's own values, consumed, or a
/// prepared column, borrowed.
pub(crate) enum ReferenceValues<'a> {
    Raw(Values),
    Prepared(&'a PreparedColumn),
}

impl<'a> ReferenceValues<'a> {
    pub(crate) fn is_int(&self) -> bool {
        match self {
            ReferenceValues::Raw(v) => matches!(v, Values::Int(_)),
            ReferenceValues::Prepared(p) => p.integer,
        }
    }

    /// Finite values in ascending order; `Err(example)` for text.
    pub(crate) fn sorted(self) -> Result<Cow<'a, [f64]>, String> {
        match self {
            ReferenceValues::Raw(v) => prepare::sorted_numbers(v).map(Cow::Owned),
            ReferenceValues::Prepared(p) => match &p.numbers {
                Ok(n) => Ok(Cow::Borrowed(n.as_slice())),
                Err(example) => Err(example.clone()),
            },
        }
    }

    /// Counts per category, as `prepare::count` counts the raw values.
    pub(crate) fn counted(self) -> prepare::Counted {
        match self {
            ReferenceValues::Raw(v) => prepare::count(v),
            ReferenceValues::Prepared(p) => match (&p.texts, &p.numbers) {
                (Some((dictionary, counts)), _) => prepare::count_texts(dictionary.clone(), counts.clone()),
                (None, Ok(sorted)) => prepare::count_sorted(sorted),
                (None, Err(_)) => prepare::count_texts(Vec::new(), Vec::new()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{DriftOptions, detect_drift, detect_drift_prepared};
    use riskops_data::{Column, MISSING_CODE, StrColumn, Table, Values};

    fn table(rows: usize, shift: f64) -> Table {
        let f = |i: usize| ((i * 7919) % 1013) as f64 / 97.0 + shift * (i % 3) as f64;
        let column = |name: &str, values| Column { name: name.into(), values };
        let columns = vec![
            column("float", Values::Float((0..rows).map(|i| if i % 17 == 0 { f64::NAN } else { f(i) }).collect())),
            column("wide_int", Values::Int((0..rows).map(|i| (f(i) * 10.0) as i64 - 300).collect())),
            column("code", Values::Int((0..rows).map(|i| ((i + shift as usize) % 4) as i64).collect())),
            column("few", Values::Float((0..rows).map(|i| (i % 5) as f64 * 0.5 - 0.0).collect())),
            column("flag", Values::Bool((0..rows).map(|i| i % 3 == 0).collect())),
            column(
                "text",
                Values::Str(StrColumn {
                    codes: (0..rows).map(|i| if i % 11 == 0 { MISSING_CODE } else { (i % 3) as u32 }).collect(),
                    dictionary: vec!["b".into(), "a".into(), "c".into()],
                }),
            ),
        ];
        Table { columns, rows }
    }

    /// The same rows give the same report, bit for bit, prepared or not: small references
    /// (tests) and large ones (distances), a shifted current and an unshifted one.
    #[test]
    fn a_prepared_reference_gives_detect_drifts_report() {
        for (n_ref, n_cur, shift) in [(400, 300, 0.0), (400, 250, 1.5), (5_000, 500, 0.3), (5_000, 2_000, 0.0)] {
            let options = DriftOptions { threads: 2, ..DriftOptions::default() };
            let raw = detect_drift(table(n_ref, 0.0), table(n_cur, shift), &options, &|_, _| {}).unwrap();
            let prepared = super::PreparedReference::new(table(n_ref, 0.0), 2);
            let again = detect_drift_prepared(&prepared, table(n_cur, shift), &options, &|_, _| {}).unwrap();
            assert_eq!(raw, again, "{n_ref} vs {n_cur}, shift {shift}");
            assert!(raw.columns.len() >= 5, "{raw:?}");
            // Compared twice with one preparation: nothing was consumed.
            let third = detect_drift_prepared(&prepared, table(n_cur, shift), &options, &|_, _| {}).unwrap();
            assert_eq!(raw, third);
        }
    }
}
