//! Out-of-distribution scores of a table's records against a reference table: ECOD
//! (riskops-stats's `ecod`, equal to pyod's) on the numeric features both share, and the
//! threshold above which a record is out of distribution (the 99th percentile of the
//! reference's own scores). `riskops ood` and the Python package's `riskops.ood` answer with it.

use crate::RecordColumn;
use riskops_data::{Table, Values};
use riskops_stats::ecod::Ecod;

/// The share of the reference's own scores a record must exceed to be out of distribution.
pub const QUANTILE: f64 = 0.99;

/// The scores of a table's records.
#[derive(Debug, Clone, PartialEq)]
pub struct OodScores {
    pub features: Vec<String>,
    /// Reference rows with every feature (the others are left out of the fit).
    pub reference_rows: usize,
    /// The 99th percentile of the reference's own scores.
    pub threshold: f64,
    /// One per record, in order: `None` where a feature is missing.
    pub scores: Vec<Option<f64>>,
}

impl OodScores {
    /// Records scored above the threshold.
    pub fn outside(&self) -> usize {
        self.scores.iter().flatten().filter(|&&s| s > self.threshold).count()
    }

    /// Records with a score.
    pub fn scored(&self) -> usize {
        self.scores.iter().flatten().count()
    }

    /// `outside / scored` (0 with nothing scored).
    pub fn rate(&self) -> f64 {
        let scored = self.scored();
        if scored == 0 { 0.0 } else { self.outside() as f64 / scored as f64 }
    }
}

/// Scores `records` against `reference`. Features: `columns`, else the numeric columns both
/// tables share less a prediction log's bookkeeping (id, timestamp, version, prediction,
/// score, label, latency_ms, attr.*, proba.*). The error says what is wrong with the input.
pub fn ood_scores(reference: &Table, records: &Table, columns: Option<&[String]>) -> Result<OodScores, String> {
    let numeric =
        |t: &Table, name: &str| t.column(name).is_some_and(|c| matches!(c.values, Values::Int(_) | Values::Float(_)));
    let features: Vec<String> = match columns {
        Some(names) => {
            if let Some(bad) = names.iter().find(|n| !numeric(reference, n) || !numeric(records, n)) {
                return Err(format!("{bad:?} is not a numeric column of both tables"));
            }
            names.to_vec()
        }
        None => reference
            .names()
            .filter(|n| matches!(RecordColumn::of(n), RecordColumn::Feature(_)))
            .filter(|n| numeric(reference, n) && numeric(records, n))
            .map(str::to_string)
            .collect(),
    };
    if features.is_empty() {
        return Err("no numeric feature is in both tables".into());
    }
    let (ref_columns, ref_kept) = complete_rows(reference, &features);
    if ref_kept.is_empty() {
        return Err(format!("the reference has no row with every feature ({})", features.join(", ")));
    }
    let ecod = Ecod::fit(&slices(&ref_columns)).map_err(|e| format!("the reference: {e}"))?;
    let threshold = quantile(ecod.reference_scores(), QUANTILE);
    let (columns, kept) = complete_rows(records, &features);
    let mut scores = vec![None; records.rows];
    if !kept.is_empty() {
        let scored = ecod.scores(&slices(&columns)).map_err(|e| e.to_string())?;
        for (&row, score) in kept.iter().zip(scored) {
            scores[row] = Some(score);
        }
    }
    Ok(OodScores { features, reference_rows: ref_kept.len(), threshold, scores })
}

/// The features as columns of the rows that have all of them, and those rows' indices.
fn complete_rows(table: &Table, features: &[String]) -> (Vec<Vec<f64>>, Vec<usize>) {
    let value = |name: &str, row: usize| match table.column(name).map(|c| &c.values) {
        Some(Values::Int(v)) => v[row] as f64,
        Some(Values::Float(v)) => v[row],
        _ => f64::NAN,
    };
    let kept: Vec<usize> = (0..table.rows).filter(|&r| features.iter().all(|f| value(f, r).is_finite())).collect();
    (features.iter().map(|f| kept.iter().map(|&r| value(f, r)).collect()).collect(), kept)
}

fn slices(columns: &[Vec<f64>]) -> Vec<&[f64]> {
    columns.iter().map(Vec::as_slice).collect()
}

/// NumPy's default (linear) quantile of a non-empty sample.
fn quantile(mut values: Vec<f64>, q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let position = q * (values.len() - 1) as f64;
    let low = position.floor() as usize;
    let high = (low + 1).min(values.len() - 1);
    values[low] + (position - low as f64) * (values[high] - values[low])
}

#[cfg(test)]
mod tests {
    use super::*;
    use riskops_data::Column;

    #[test]
    fn quantiles_interpolate_as_numpy_does() {
        assert_eq!(quantile(vec![3.0, 1.0, 2.0, 4.0], 0.5), 2.5);
        assert_eq!(quantile(vec![1.0, 2.0, 3.0, 4.0, 5.0], 0.99), 4.96);
        assert_eq!(quantile(vec![7.0], 0.99), 7.0);
    }

    #[test]
    fn bookkeeping_columns_are_not_features_and_missing_values_are_not_scored() {
        let table = |x: Vec<f64>| Table {
            rows: x.len(),
            columns: vec![
                Column { name: "x".into(), values: Values::Float(x.clone()) },
                Column { name: "score".into(), values: Values::Float(x) },
            ],
        };
        let reference = table((0..100).map(f64::from).collect());
        let records = table(vec![50.0, f64::NAN, 1e6]);
        let ood = ood_scores(&reference, &records, None).unwrap();
        assert_eq!(ood.features, ["x"]);
        assert_eq!((ood.scores[1], ood.scored(), ood.outside()), (None, 2, 1));
        assert!(ood_scores(&reference, &records, Some(&["nope".to_string()])).is_err());
    }
}
