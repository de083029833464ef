//! `riskops explain`: exact interventional TreeSHAP of a tree-ensemble model (riskops-model's
//! `shap`) on a seeded sample of a dataset's rows against a background sample, the additivity
//! check on every row, global importance (mean |SHAP|) and scikit-learn's permutation
//! importance (mean and standard deviation of the score's drop over shuffles).

use super::stats::{Placements, Rng};
use super::{Scorer, label_values, produced, read_table, sample_indices, select, to_model_column};
use riskops_api::explain::{ExplanationReport, FeatureImportance, RowAttribution};
use riskops_core::service::{ExplainJob, PRODUCED_BY, ProducedEvidence};
use riskops_core::{Error, Result};
use riskops_model::shap::{self, Rows};
use riskops_model::transform::PostTransform;
use riskops_model::tree::EnsembleKind;
use riskops_model::{Column, ColumnValues, Model, Task, bind_columns};
use std::collections::HashMap;

/// Rows SHAP integrates over (shap's default background size for TreeExplainer summaries).
const BACKGROUND_ROWS: usize = 100;
/// Additivity holds when |base + Σ − output| is within this share of the output's scale.
const ADDITIVITY: f64 = 1e-6;

pub fn explain(job: &ExplainJob, endpoints: &crate::endpoint::EndpointSettings) -> Result<Vec<ProducedEvidence>> {
    let name = format!("{}@{}", job.model.version.name, job.model.version.version);
    let Scorer::Onnx(model) = Scorer::load(&job.model, endpoints)? else {
        return Err(Error::invalid(
            "model",
            format!("{name} is served over HTTP: riskops explains tree ensembles it runs itself (ONNX) for now"),
        ));
    };
    let (ensemble, direct) = model.explained_ensemble().map_err(|e| Error::invalid("model", format!("{name}: {e}")))?;
    let label = job.options.label.as_deref();
    let table = read_table(&job.data.file)?;
    if let Some(l) = label
        && !table.columns.iter().any(|c| c.name == l)
    {
        return Err(Error::invalid("label", format!("the dataset has no column {l:?}")));
    }
    let columns: Vec<Column> = table.columns.iter().map(to_model_column).collect();
    let mut rng = Rng::new(job.options.seed);
    let picked = sample_indices(table.rows, job.options.rows, &mut rng);
    let explained = select(&columns, &picked);
    let (x, cols, features) = features_of(&model, &explained, label, direct)?;
    // The data itself is the background unless another dataset is named (no copy of it).
    let other: Option<Vec<Column>> = match &job.background {
        Some(b) => Some(read_table(&b.file)?.columns.iter().map(to_model_column).collect()),
        None => None,
    };
    let background_columns = other.as_deref().unwrap_or(&columns);
    let background_rows = background_columns.first().map_or(0, |c| c.len());
    let background = select(background_columns, &sample_indices(background_rows, BACKGROUND_ROWS, &mut rng));
    let (bx, bcols, _) = features_of(&model, &background, label, direct)?;
    if bcols != cols {
        return Err(Error::invalid("background", "the background does not have the data's columns"));
    }
    let failed = |e: riskops_model::ModelError| Error::invalid("data", format!("explaining failed: {e}"));
    let rows = Rows::new(&x, cols).map_err(failed)?;
    let explanation = shap::interventional(ensemble, Rows::new(&bx, cols).map_err(failed)?, rows).map_err(failed)?;
    let margins = shap::margins(ensemble, rows).map_err(failed)?;
    // The explained output: class 1's margin for a binary classifier (shap's convention), the
    // first for others.
    let output = 0;
    let width = explanation.n_outputs;
    let mut max_error: f64 = 0.0;
    let mut attributions = Vec::with_capacity(picked.len());
    for (i, &row) in picked.iter().enumerate() {
        let margin = margins[i * width + output];
        // `total` is the base value plus the row's contributions.
        let error = (explanation.total(i, output) - margin).abs();
        max_error = max_error.max(error / margin.abs().max(1.0));
        let contributions = (0..cols).map(|f| explanation.value(i, f, output)).collect();
        attributions.push(RowAttribution { row: row as u64, output: margin, contributions });
    }
    let mean_abs: Vec<f64> = (0..cols)
        .map(|f| {
            (0..picked.len()).map(|i| explanation.value(i, f, output).abs()).sum::<f64>() / picked.len().max(1) as f64
        })
        .collect();
    let permutation = match label {
        Some(l) => {
            Some(permutation_importance(&model, &explained, l, &features, direct, job.options.repeats, &mut rng)?)
        }
        None => None,
    };
    let mut global: Vec<FeatureImportance> = features
        .iter()
        .enumerate()
        .map(|(f, feature)| FeatureImportance {
            feature: feature.clone(),
            mean_abs_shap: mean_abs[f],
            permutation_importance: permutation.as_ref().and_then(|p| p.1.get(feature)).map(|(m, _)| *m),
            std: permutation.as_ref().and_then(|p| p.1.get(feature)).map(|(_, s)| *s),
        })
        .collect();
    global.sort_by(|a, b| b.mean_abs_shap.total_cmp(&a.mean_abs_shap));
    let passed = max_error <= ADDITIVITY;
    let report = ExplanationReport {
        evidence_id: None,
        kind: "explainability".into(),
        produced_by: PRODUCED_BY.into(),
        passed,
        model: name,
        data: format!("{}@{}", job.data.version.name, job.data.version.version),
        method: "tree_shap_interventional".into(),
        output: output_space(ensemble).into(),
        base_value: explanation.base_values[output],
        background: match &job.background {
            Some(b) => format!("{}@{}", b.version.name, b.version.version),
            None => format!("{}@{}", job.data.version.name, job.data.version.version),
        },
        background_rows: background.first().map_or(0, |c| c.len()) as u64,
        features,
        global,
        permutation_metric: permutation.map(|p| p.0.to_string()),
        additivity_max_error: max_error,
        rows: attributions,
    };
    let top: Vec<String> = report.global.iter().take(3).map(|g| g.feature.clone()).collect();
    let summary = format!(
        "produced by riskops on {}: TreeSHAP of {} rows; most important: {}{}",
        report.data,
        report.rows.len(),
        top.join(", "),
        if passed { String::new() } else { format!("; additivity off by {max_error:.2e}") }
    );
    let bytes = serde_json::to_vec(&report).map_err(|e| Error::internal(format!("encoding the report: {e}")))?;
    Ok(vec![produced(&job.work_dir, "explainability", passed, summary, bytes)?])
}

/// What the SHAP values add up to, as shap's TreeExplainer names it.
pub(super) fn output_space(ensemble: &riskops_model::TreeEnsemble) -> &'static str {
    match (&ensemble.kind, ensemble.post_transform) {
        (EnsembleKind::Regressor { .. }, _) => "raw",
        (EnsembleKind::Classifier { .. }, PostTransform::None) => "probability",
        (EnsembleKind::Classifier { .. }, _) => "log_odds",
    }
}

/// The rows the trees read, the number of columns, and the features' names (the input's
/// columns when the trees read it directly, else `f0`, `f1`, …).
fn features_of(
    model: &Model,
    columns: &[Column],
    label: Option<&str>,
    direct: bool,
) -> Result<(Vec<f64>, usize, Vec<String>)> {
    let (inputs, bindings) = bind_columns(model.signature(), columns, label, None, &HashMap::new())
        .map_err(|e| Error::invalid("data", format!("the dataset does not fit the model: {e}")))?;
    let (x, cols) =
        model.ensemble_features(inputs).map_err(|e| Error::invalid("data", format!("explaining failed: {e}")))?;
    Ok((x, cols, feature_names(&bindings, direct, cols)))
}

/// The names of the columns the trees read: the input's columns when the trees read one
/// input directly, else `f0`, `f1`, … (a pipeline computes them).
pub(super) fn feature_names(bindings: &[riskops_model::InputBinding], direct: bool, cols: usize) -> Vec<String> {
    match bindings {
        [one] if direct && one.columns.len() == cols => one.columns.clone(),
        _ => (0..cols).map(|i| format!("f{i}")).collect(),
    }
}

/// scikit-learn's `permutation_importance`: per feature, the score on the rows minus the
/// score with that feature's values shuffled, mean and standard deviation over `repeats`
/// shuffles (ROC AUC for classifiers, R² for regressors). Features are the model's input
/// columns; for a pipeline the shuffled columns are its inputs, reported by those names
/// only when the trees read them directly.
#[allow(clippy::type_complexity)]
fn permutation_importance(
    model: &Model,
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
        let (inputs, _) = bind_columns(model.signature(), columns, Some(label), None, &HashMap::new())
            .map_err(|e| Error::invalid("data", format!("the dataset does not fit the model: {e}")))?;
        let p = model.predict(inputs).map_err(|e| Error::invalid("data", format!("scoring failed: {e}")))?;
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
    let n = column.len();
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, rng.below(i + 1));
    }
    select(std::slice::from_ref(column), &order).remove(0)
}

/// 100 rows of a background dataset (seeded), as the trees read them; `features`: the
/// columns the explained records were bound by (the dataset may hold more, e.g. its label).
pub(super) fn background_rows(model: &Model, columns: &[Column], features: &[String]) -> Result<(Vec<f64>, usize)> {
    let rows = columns.first().map_or(0, |c| c.len());
    let picked = select(columns, &sample_indices(rows, BACKGROUND_ROWS, &mut Rng::new(0)));
    let (inputs, _) = bind_columns(model.signature(), &picked, None, Some(features), &HashMap::new())
        .map_err(|e| Error::invalid("model", format!("the background data does not fit the model: {e}")))?;
    model.ensemble_features(inputs).map_err(|e| Error::invalid("model", format!("explaining failed: {e}")))
}
