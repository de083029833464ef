//! scikit-learn's `permutation_importance` for any model riskops scores: how much the score
//! drops when one input column's values are shuffled.

use super::stats::{Placements, Rng};
use super::{Failure, Scorer, label_values, select};
use riskops_core::{Error, Result};
use riskops_model::{Column, ColumnValues, Task};
use std::collections::HashMap;

/// Per feature, the score on the rows minus the
/// score with that feature's values shuffled, mean and standard deviation over `repeats`
/// shuffles (ROC AUC for classifiers, R² for regressors). Features are the model's input
/// columns; for a pipeline the shuffled columns are its inputs, reported by those names
/// only when the trees read them directly.
#[allow(clippy::type_complexity)]
pub(super) fn permutation_importance(
    model: &Scorer,
    rows: &[Column],
    label: &str,
    features: &[String],
    direct: bool,
    repeats: u32,
    rng: &mut Rng,
) -> Result<(&'static str, HashMap<String, (f64, f64)>)> {
    let truth = rows.iter().find(|c| c.name == label).ok_or_else(|| Error::invalid("label", "missing"))?;
    let classifier = model.signature().task != Task::Regression;
    let positive = model.signature().probabilities.as_ref().and_then(|(_, c)| c.names().get(1).cloned());
    let actual: Vec<f64> = numbers_or_classes(truth, positive.as_deref());
    let score = |columns: &[Column]| -> Result<f64> {
        let p = model.predict(columns, Some(label)).map_err(Failure::into_error)?;
        if classifier {
            let scores: Vec<f64> = match &p.probabilities {
                Some(probs) => {
                    let k = probs.len() / actual.len().max(1);
                    (0..actual.len()).map(|r| f64::from(probs[r * k + k.saturating_sub(1).min(1)])).collect()
                }
                None => label_values(&p.labels),
            };
            let positives: Vec<bool> = actual.iter().map(|&y| y == 1.0).collect();
            Ok(Placements::new(&positives, &scores).map_or(f64::NAN, |pl| pl.auc()))
        } else {
            let predicted = label_values(&p.labels);
            Ok(riskops_stats::RegressionSummary::from_slices(&actual, &predicted)
                .ok()
                .and_then(|s| s.r2())
                .unwrap_or(f64::NAN))
        }
    };
    let baseline = score(rows)?;
    let mut out = HashMap::new();
    // Shuffled: the columns the trees read when they read the input, else every input column.
    let shuffled: Vec<&Column> =
        rows.iter().filter(|c| c.name != label && (!direct || features.contains(&c.name))).collect();
    for column in shuffled {
        let mut drops = Vec::with_capacity(repeats as usize);
        for _ in 0..repeats {
            let permuted = shuffle(column, rng);
            let table: Vec<Column> =
                rows.iter().map(|c| if c.name == column.name { permuted.clone() } else { c.clone() }).collect();
            drops.push(baseline - score(&table)?);
        }
        let mean = drops.iter().sum::<f64>() / drops.len() as f64;
        // numpy's std (ddof 0), as scikit-learn reports it.
        let std = (drops.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / drops.len() as f64).sqrt();
        out.insert(column.name.clone(), (mean, std));
    }
    Ok((if classifier { "roc_auc" } else { "r2" }, out))
}

/// The label as numbers: 1/0 for the positive class of a classifier, else its values.
fn numbers_or_classes(column: &Column, positive: Option<&str>) -> Vec<f64> {
    let values = &column.values;
    let text = |i: usize| -> Option<String> {
        match values {
            ColumnValues::Int(v) => Some(v[i].to_string()),
            ColumnValues::Float(v) if v[i].fract() == 0.0 => Some(format!("{}", v[i] as i64)),
            ColumnValues::Float(v) => Some(v[i].to_string()),
            ColumnValues::Bool(v) => Some(if v[i] { "True" } else { "False" }.to_string()),
            ColumnValues::Str(v) => v[i].clone(),
        }
    };
    (0..column.len())
        .map(|i| match (positive, values) {
            (Some(p), _) => f64::from(u8::from(text(i).as_deref() == Some(p))),
            (None, ColumnValues::Float(v)) => v[i],
            (None, ColumnValues::Int(v)) => v[i] as f64,
            _ => f64::NAN,
        })
        .collect()
}

/// The column with its values in a random order (Fisher–Yates).
fn shuffle(column: &Column, rng: &mut Rng) -> Column {
    select(std::slice::from_ref(column), &rng.permutation(column.len())).remove(0)
}
