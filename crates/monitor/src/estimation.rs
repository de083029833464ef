//! Performance estimated without labels for production windows (NannyML 0.13.1's CBPE,
//! `riskops_stats::monitoring::cbpe`): fitted once on the version's reference data — its
//! score, label and (optionally) predicted class columns — then each closed window's scores
//! and predicted classes give its estimates, sampling-error bands and alerts. Classes are
//! read as the window reads them ([`Task::is_positive`]), so a reference column of `"yes"`/
//! `"no"` or `True`/`False` means what the records' predictions mean. No IO.

use crate::analysis::Estimated;
use crate::record::Value;
use crate::schema::Task;
use riskops_data::{Table, Values};
use riskops_stats::monitoring::Cbpe;

/// The reference columns estimation reads.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EstimationColumns {
    /// The model's probability of the positive class.
    pub score: String,
    /// The actual class, on every row.
    pub label: String,
    /// The predicted class; `None`: a score above 0.5 predicts the positive class (what
    /// `predict` gives for `predict_proba`'s argmax).
    pub prediction: Option<String>,
}

/// CBPE's estimates for one window.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowEstimate {
    /// Records estimated from (those with a score and a readable predicted class).
    pub records: u64,
    /// Whether the reference's scores were calibrated (NannyML's check).
    pub calibrated: bool,
    /// Rows per reference chunk the alert thresholds come from.
    pub chunk_size: usize,
    pub estimated: Estimated,
}

/// The fitted estimator of one model version.
#[derive(Debug, Clone)]
pub struct PerformanceEstimator {
    cbpe: Cbpe,
    chunk_size: usize,
}

impl PerformanceEstimator {
    /// Fits on `reference` (its reference chunks of `chunk_size` rows give the thresholds).
    /// The error says, for people, why the reference cannot serve.
    pub fn fit(
        reference: &Table,
        columns: &EstimationColumns,
        task: &Task,
        chunk_size: usize,
    ) -> Result<PerformanceEstimator, String> {
        if !matches!(task, Task::Binary { .. }) {
            return Err("performance is estimated for binary classifiers only (CBPE); DLE for regression is not \
                        implemented"
                .into());
        }
        let column = |name: &str, what: &str| {
            reference.column(name).ok_or_else(|| format!("the reference data has no {what} column {name:?}"))
        };
        let scores = scores(&column(&columns.score, "score")?.values)
            .ok_or_else(|| format!("the reference's score column {:?} is not numeric", columns.score))?;
        if let Some(i) = scores.iter().position(|s| !s.is_finite()) {
            return Err(format!("reference row {i} has no score in {:?}", columns.score));
        }
        let labels = classes(&column(&columns.label, "label")?.values, task);
        let labels: Vec<bool> = labels
            .iter()
            .enumerate()
            .map(|(i, l)| l.ok_or_else(|| format!("reference row {i} has no label in {:?}", columns.label)))
            .collect::<Result<_, _>>()?;
        let predictions: Vec<bool> = match &columns.prediction {
            None => scores.iter().map(|&s| s > 0.5).collect(),
            Some(name) => classes(&column(name, "prediction")?.values, task)
                .iter()
                .enumerate()
                .map(|(i, p)| p.ok_or_else(|| format!("reference row {i} has no predicted class in {name:?}")))
                .collect::<Result<_, _>>()?,
        };
        let cbpe = Cbpe::fit(&scores, &predictions, &labels, chunk_size)
            .map_err(|e| format!("cannot fit the performance estimator on the reference: {e}"))?;
        Ok(PerformanceEstimator { cbpe, chunk_size })
    }

    /// The estimates of one window from its records' `scores` (NaN: none) and predicted
    /// classes (`None`: unreadable); records lacking either are left out, as NannyML
    /// leaves rows with a missing score or prediction out.
    pub fn estimate(&self, scores: &[f64], predictions: &[Option<bool>]) -> WindowEstimate {
        let (s, p): (Vec<f64>, Vec<bool>) =
            scores.iter().zip(predictions).filter_map(|(&s, &p)| Some((s, p?))).filter(|(s, _)| !s.is_nan()).unzip();
        WindowEstimate {
            records: s.len() as u64,
            calibrated: self.cbpe.calibration().needed,
            chunk_size: self.chunk_size,
            estimated: Estimated::from_estimates(&self.cbpe.estimate(&s, &p)),
        }
    }
}

/// A column as numbers (`None`: text); missing values are NaN.
pub fn scores(values: &Values) -> Option<Vec<f64>> {
    match values {
        Values::Float(v) => Some(v.clone()),
        Values::Int(v) => Some(v.iter().map(|&x| x as f64).collect()),
        Values::Bool(v) => Some(v.iter().map(|&b| f64::from(u8::from(b))).collect()),
        Values::Str(_) => None,
    }
}

/// Per row, whether a class column holds the positive class (`None`: missing).
pub fn classes(values: &Values, task: &Task) -> Vec<Option<bool>> {
    let of = |v: Value| task.is_positive(&v);
    match values {
        Values::Float(v) => v.iter().map(|&x| if x.is_nan() { None } else { of(Value::Number(x)) }).collect(),
        Values::Int(v) => v.iter().map(|&x| of(Value::Number(x as f64))).collect(),
        Values::Bool(v) => v.iter().map(|&b| of(Value::Bool(b))).collect(),
        Values::Str(s) => (0..s.codes.len()).map(|i| s.get(i).and_then(|t| of(Value::Text(t.into())))).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use riskops_data::{Column, StrColumn};

    #[test]
    fn classes_read_as_the_window_reads_them() {
        let task = Task::Binary { positive: "1".into() };
        assert_eq!(classes(&Values::Float(vec![1.0, 0.0, f64::NAN]), &task), vec![Some(true), Some(false), None]);
        assert_eq!(classes(&Values::Bool(vec![true, false]), &task), vec![Some(true), Some(false)]);
        let yes = Task::Binary { positive: "yes".into() };
        let text =
            StrColumn { codes: vec![0, 1, riskops_data::MISSING_CODE], dictionary: vec!["yes".into(), "no".into()] };
        assert_eq!(classes(&Values::Str(text), &yes), vec![Some(true), Some(false), None]);
    }

    #[test]
    fn a_reference_without_labels_or_scores_says_why() {
        let task = Task::Binary { positive: "1".into() };
        let columns = EstimationColumns { score: "score".into(), label: "label".into(), prediction: None };
        let table =
            Table { columns: vec![Column { name: "score".into(), values: Values::Float(vec![0.2, 0.8]) }], rows: 2 };
        let err = PerformanceEstimator::fit(&table, &columns, &task, 1).unwrap_err();
        assert!(err.contains("no label column"), "{err}");
        let err = PerformanceEstimator::fit(&table, &columns, &Task::Regression, 1).unwrap_err();
        assert!(err.contains("binary"), "{err}");
    }
}
