//! Back-testing a historical file of predictions, chunk by chunk, as NannyML does it
//! (`riskops monitor analyze`): chunk `i` is rows `i·N … (i+1)·N − 1` of the analysis table
//! (the last, smaller chunk kept), and each gets univariate drift against the reference
//! (riskops-drift, the same engine and defaults as `riskops drift` on those rows),
//! performance estimated without labels (CBPE), realized performance where labels exist,
//! and multivariate drift by data reconstruction — the statistics are
//! `riskops_stats::monitoring`'s, matched to NannyML 0.13.1. No IO: tables in, report out.

mod multivariate;
mod report;
mod table;

pub use multivariate::MultivariateModel;

pub use report::{
    Analysis, ChunkDrift, ChunkReport, Estimated, EstimatedValue, FeatureDrift, Multivariate, Realized,
    ReconstructionValue, ReferenceSummary,
};

use crate::MonitorError;
use riskops_data::Table;
use riskops_drift::{DriftOptions, detect_drift};
use riskops_stats::monitoring::{Cbpe, realized, size_chunks};
use table::{binary, numbers, slice};

/// What to analyze and how.
#[derive(Debug, Clone)]
pub struct AnalysisOptions {
    /// Rows per chunk.
    pub chunk_size: usize,
    /// The model's probability of the positive class; estimation is skipped when the
    /// reference has no such column.
    pub score_column: String,
    /// The predicted class (0/1 or true/false).
    pub prediction_column: String,
    /// The actual class; the reference needs it on every row for estimation.
    pub label_column: String,
    /// The feature columns [default: the reference's columns other than the score,
    /// prediction and label, and a prediction log's own fields (`id`, `timestamp`, …)].
    pub features: Option<Vec<String>>,
    /// Drift settings, as `riskops drift` takes them; `columns` is set to the features.
    pub drift: DriftOptions,
}

/// Analyzes `analysis` against `reference`. The features (by default the reference's
/// columns other than the score, prediction and label) must be in both tables.
pub fn analyze(reference: &Table, analysis: &Table, options: &AnalysisOptions) -> Result<Analysis, MonitorError> {
    let err = MonitorError::Analysis;
    if options.chunk_size == 0 {
        return Err(err("--chunk-size must be at least 1".into()));
    }
    if reference.rows < 2 {
        return Err(err("the reference needs at least two rows".into()));
    }
    let outputs = [&options.score_column, &options.prediction_column, &options.label_column];
    let features: Vec<String> = match &options.features {
        Some(f) => f.clone(),
        // A prediction log's own fields (id, timestamp, version, latency_ms, attr.*,
        // proba.*) are not model inputs.
        None => reference
            .names()
            .filter(|n| !outputs.iter().any(|o| o == n))
            .filter(|n| matches!(crate::RecordColumn::of(n), crate::RecordColumn::Feature(_)))
            .map(str::to_owned)
            .collect(),
    };
    for (table, which) in [(reference, "reference"), (analysis, "analysis file")] {
        let missing: Vec<&str> = features.iter().filter(|f| table.column(f).is_none()).map(String::as_str).collect();
        if !missing.is_empty() {
            return Err(err(format!("the {which} lacks the feature columns {}", missing.join(", "))));
        }
    }
    let cbpe = Estimation::fit(reference, options)?;
    let reconstruction = MultivariateModel::fit(reference, &features, options.chunk_size)?;
    let mut drift_options = options.drift.clone();
    drift_options.columns = Some(features.clone());
    let reference_features = slice(reference, 0..reference.rows);
    let outputs_of_analysis = cbpe.as_ref().map(|_| Outputs::read(analysis, options, "analysis file")).transpose()?;
    let mut chunks = Vec::new();
    for rows in size_chunks(analysis.rows, options.chunk_size) {
        let current = slice(analysis, rows.clone());
        let drift = chunk_drift(&reference_features, &current, &drift_options)?;
        let (estimated, realized) = match (&cbpe, &outputs_of_analysis) {
            (Some(model), Some(out)) => {
                let (e, r) = model.chunk(out, rows.clone());
                (Some(e), r)
            }
            _ => (None, None),
        };
        let multivariate = reconstruction.as_ref().map(|m| m.chunk(&current)).transpose()?;
        chunks.push(ChunkReport {
            start: rows.start,
            end: rows.end - 1,
            records: rows.len(),
            drift,
            estimated,
            realized,
            multivariate,
        });
    }
    Ok(Analysis {
        chunk_size: options.chunk_size,
        reference: ReferenceSummary {
            records: reference.rows,
            chunks: size_chunks(reference.rows, options.chunk_size).len(),
            features,
            calibrated: cbpe.as_ref().map(|c| c.model.calibration().needed),
            components: reconstruction.as_ref().map(MultivariateModel::components),
        },
        chunks,
    })
}

/// A chunk's univariate drift by riskops-drift. A feature with no value in the chunk
/// (empty, missing or infinite only) cannot be compared: it is listed as skipped rather
/// than failing the whole back-test, as `riskops drift` on that chunk alone would.
fn chunk_drift(reference: &Table, current: &Table, options: &DriftOptions) -> Result<ChunkDrift, MonitorError> {
    let mut options = options.clone();
    let mut skipped = Vec::new();
    if let Some(columns) = &mut options.columns {
        columns.retain(|name| {
            let empty = current.column(name).is_none_or(|c| table::has_no_value(&c.values));
            if empty {
                skipped.push(name.clone());
            }
            !empty
        });
    }
    let report = detect_drift(reference.clone(), current.clone(), &options, &|_, _| {})
        .map_err(|e| MonitorError::Analysis(e.to_string()))?;
    Ok(ChunkDrift {
        share: report.drift_share,
        drifted: report.drifted,
        skipped,
        features: report
            .columns
            .iter()
            .map(|c| FeatureDrift {
                name: c.name.clone(),
                method: c.method.name().to_owned(),
                statistic: c.statistic,
                p_value: c.p_value,
                threshold: c.threshold,
                drifted: c.drifted,
            })
            .collect(),
    })
}

/// Score, prediction and label of every row of a table.
struct Outputs {
    scores: Vec<f64>,
    predictions: Vec<bool>,
    labels: Vec<Option<bool>>,
}

impl Outputs {
    /// `which` names the table in messages ("reference", "analysis file").
    fn read(table: &Table, options: &AnalysisOptions, which: &str) -> Result<Outputs, MonitorError> {
        let err = MonitorError::Analysis;
        let column = |name: &str| table.column(name).ok_or_else(|| err(format!("the {which} has no column {name:?}")));
        let scores = numbers(&column(&options.score_column)?.values)
            .ok_or_else(|| err(format!("score column {:?} is not numeric", options.score_column)))?;
        let predictions = binary(&column(&options.prediction_column)?.values, &options.prediction_column)
            .map_err(err)?
            .into_iter()
            .enumerate()
            .map(|(i, p)| p.ok_or_else(|| err(format!("row {i} of the {which} has no prediction"))))
            .collect::<Result<Vec<bool>, _>>()?;
        // Labels may be missing (late) in the analysis file, or absent altogether.
        let labels = match table.column(&options.label_column) {
            Some(c) => binary(&c.values, &options.label_column).map_err(err)?,
            None => vec![None; table.rows],
        };
        Ok(Outputs { scores, predictions, labels })
    }
}

/// CBPE fitted on the reference.
struct Estimation {
    model: Cbpe,
}

impl Estimation {
    /// `None` when the reference has no score column: nothing to estimate from.
    fn fit(reference: &Table, options: &AnalysisOptions) -> Result<Option<Estimation>, MonitorError> {
        if reference.column(&options.score_column).is_none() {
            return Ok(None);
        }
        let err = MonitorError::Analysis;
        let out = Outputs::read(reference, options, "reference")?;
        if reference.column(&options.label_column).is_none() {
            return Err(err(format!(
                "the reference needs the label column {:?} to estimate performance",
                options.label_column
            )));
        }
        let labels = out
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| l.ok_or_else(|| err(format!("reference row {i} has no label"))))
            .collect::<Result<Vec<bool>, _>>()?;
        let model = Cbpe::fit(&out.scores, &out.predictions, &labels, options.chunk_size)
            .map_err(|e| err(format!("cannot fit the performance estimator: {e}")))?;
        Ok(Some(Estimation { model }))
    }

    fn chunk(&self, out: &Outputs, rows: std::ops::Range<usize>) -> (Estimated, Option<Realized>) {
        let e = self.model.estimate(&out.scores[rows.clone()], &out.predictions[rows.clone()]);
        let estimated = Estimated::from_estimates(&e);
        // Realized on the labelled rows, as NannyML drops rows without a label.
        let labelled: Vec<usize> = rows.filter(|&i| out.labels[i].is_some()).collect();
        let realized = (!labelled.is_empty()).then(|| {
            let s: Vec<f64> = labelled.iter().map(|&i| out.scores[i]).collect();
            let p: Vec<bool> = labelled.iter().map(|&i| out.predictions[i]).collect();
            let l: Vec<bool> = labelled.iter().map(|&i| out.labels[i] == Some(true)).collect();
            let r = realized(&s, &p, &l);
            Realized {
                labelled: labelled.len(),
                roc_auc: r[0],
                f1: r[1],
                precision: r[2],
                recall: r[3],
                accuracy: r[4],
                true_positive: r[5],
                true_negative: r[6],
                false_positive: r[7],
                false_negative: r[8],
            }
        });
        (estimated, realized)
    }
}
