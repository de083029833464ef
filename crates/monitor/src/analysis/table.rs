//! The columns `analyze` reads from a table: a chunk's rows as a table of their own (as
//! `riskops drift` would read a file of just those rows), the model's outputs and labels
//! as booleans, and feature columns in the form multivariate drift takes.

use riskops_data::{Column, StrColumn, Table, Values};
use std::ops::Range;

/// Rows `rows` of `table`; text columns keep only the categories those rows use, in
/// order of first appearance, as reading those rows from a file would give them.
pub(crate) fn slice(table: &Table, rows: Range<usize>) -> Table {
    let columns = table
        .columns
        .iter()
        .map(|c| Column {
            name: c.name.clone(),
            values: match &c.values {
                Values::Int(v) => Values::Int(v[rows.clone()].to_vec()),
                Values::Float(v) => Values::Float(v[rows.clone()].to_vec()),
                Values::Bool(v) => Values::Bool(v[rows.clone()].to_vec()),
                Values::Str(s) => Values::Str(compact(s, rows.clone())),
            },
        })
        .collect();
    Table { columns, rows: rows.len() }
}

fn compact(s: &StrColumn, rows: Range<usize>) -> StrColumn {
    let mut remap = vec![u32::MAX; s.dictionary.len()];
    let mut out = StrColumn::default();
    for &code in &s.codes[rows] {
        if code == riskops_data::MISSING_CODE {
            out.codes.push(code);
            continue;
        }
        let slot = &mut remap[code as usize];
        if *slot == u32::MAX {
            *slot = out.dictionary.len() as u32;
            out.dictionary.push(s.dictionary[code as usize].clone());
        }
        out.codes.push(*slot);
    }
    out
}

/// Whether a column holds no comparable value: empty, missing or non-finite only.
pub(crate) fn has_no_value(values: &Values) -> bool {
    match values {
        Values::Float(v) => v.iter().all(|x| !x.is_finite()),
        Values::Str(s) => s.codes.iter().all(|&c| c == riskops_data::MISSING_CODE),
        Values::Int(v) => v.is_empty(),
        Values::Bool(v) => v.is_empty(),
    }
}

/// A column as numbers (`None`: not numeric). Booleans are 0/1; missing is NaN.
pub(crate) fn numbers(values: &Values) -> Option<Vec<f64>> {
    match values {
        Values::Int(v) => Some(v.iter().map(|&x| x as f64).collect()),
        Values::Float(v) => Some(v.clone()),
        Values::Bool(v) => Some(v.iter().map(|&b| if b { 1.0 } else { 0.0 }).collect()),
        Values::Str(_) => None,
    }
}

/// A 0/1 or boolean column as `Some(bool)` per row, `None` where missing; the first value
/// that is neither is an error naming it.
pub(crate) fn binary(values: &Values, name: &str) -> Result<Vec<Option<bool>>, String> {
    let bad = |v: String| format!("column {name:?} must hold 0/1 or true/false, not {v}");
    match values {
        Values::Bool(v) => Ok(v.iter().map(|&b| Some(b)).collect()),
        Values::Int(v) => v
            .iter()
            .map(|&x| match x {
                0 => Ok(Some(false)),
                1 => Ok(Some(true)),
                x => Err(bad(x.to_string())),
            })
            .collect(),
        Values::Float(v) => v
            .iter()
            .map(|&x| {
                if x.is_nan() {
                    Ok(None)
                } else if x == 0.0 {
                    Ok(Some(false))
                } else if x == 1.0 {
                    Ok(Some(true))
                } else {
                    Err(bad(x.to_string()))
                }
            })
            .collect(),
        Values::Str(s) => (0..s.codes.len())
            .map(|i| match s.get(i) {
                None => Ok(None),
                Some(t) if t.eq_ignore_ascii_case("true") || t == "1" => Ok(Some(true)),
                Some(t) if t.eq_ignore_ascii_case("false") || t == "0" => Ok(Some(false)),
                Some(t) => Err(bad(format!("{t:?}"))),
            })
            .collect(),
    }
}

/// A feature column for multivariate drift: numbers stay numbers; text and booleans are
/// categories (NannyML counts `bool` columns as categorical).
pub(crate) enum FeatureValues {
    Continuous(Vec<f64>),
    Categorical(Vec<Option<String>>),
}

pub(crate) fn feature_values(values: &Values) -> FeatureValues {
    match values {
        Values::Int(_) | Values::Float(_) => FeatureValues::Continuous(numbers(values).unwrap_or_default()),
        Values::Bool(v) => {
            FeatureValues::Categorical(v.iter().map(|&b| Some(if b { "True" } else { "False" }.to_owned())).collect())
        }
        Values::Str(s) => FeatureValues::Categorical((0..s.codes.len()).map(|i| s.get(i).map(str::to_owned)).collect()),
    }
}
