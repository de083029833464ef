//! `riskops explain`: SHAP values of a model on a seeded sample of a dataset's rows against a
//! background sample — exact interventional TreeSHAP for tree ensembles riskops runs
//! (riskops-model's `shap`), sampled feature orderings for any other model (`sampled`) — the
//! additivity check on every row, global importance (mean |SHAP|), dependence summaries of
//! the top features, and scikit-learn's permutation importance.

use super::dependence::{self, FeatureValues};
use super::importance::permutation_importance;
use super::sampled::{self, Game, Output};
use super::stats::Rng;
use super::{Scorer, produced, read_table, sample_indices, select, to_model_column};
use riskops_api::explain::{ExplanationReport, FeatureImportance, RowAttribution};
use riskops_core::service::{ExplainJob, ExplainMethod, PRODUCED_BY, ProducedEvidence};
use riskops_core::{Error, Result};
use riskops_model::shap::{self, Rows};
use riskops_model::transform::PostTransform;
use riskops_model::tree::EnsembleKind;
use riskops_model::{Column, Model, bind_columns};
use std::collections::HashMap;

/// Rows SHAP integrates over for single decisions (shap's usual background size).
const BACKGROUND_ROWS: usize = 100;
/// Additivity holds when |base + Σ − output| is within this share of the output's scale.
const ADDITIVITY: f64 = 1e-6;
/// Features whose dependence on their values is summarised.
const DEPENDENCE_FEATURES: usize = 5;

/// SHAP values of the explained rows, however computed.
struct Attributions {
    method: &'static str,
    output: &'static str,
    base_value: f64,
    features: Vec<String>,
    /// Each row's output (what base value + contributions add up to).
    outputs: Vec<f64>,
    /// Rows × features.
    values: Vec<f64>,
    /// Each feature's values in the explained rows, for the dependence summaries.
    feature_values: Vec<FeatureValues>,
    /// Sampled methods: orderings and the largest standard error.
    sampling: Option<(usize, f64)>,
    /// Whether the permutation importance shuffles only the named features (they are the
    /// model's input columns) or every input column (a pipeline computes the features).
    direct: bool,
    /// Path-dependent TreeSHAP: the training rows the covers count (no background sample).
    background_rows: Option<usize>,
}

const PATH_DEPENDENT: &str = "tree_shap_path_dependent";

/// What exact TreeSHAP integrates over: background rows (interventional) or the trees' covers,
/// replayed from the training rows (path-dependent).
enum Against<'a> {
    Background(&'a [Column]),
    Covers { training: &'a [Column], hessians: bool },
}

impl Attributions {
    fn value(&self, row: usize, feature: usize) -> f64 {
        self.values[row * self.features.len() + feature]
    }
}

pub fn explain(job: &ExplainJob, endpoints: &crate::endpoint::EndpointSettings) -> Result<Vec<ProducedEvidence>> {
    let name = format!("{}@{}", job.model.version.name, job.model.version.version);
    let scorer = Scorer::load(&job.model, endpoints)?;
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
    // The data itself is the background unless another dataset is named (no copy of it).
    let other: Option<Vec<Column>> = match &job.background {
        Some(b) => Some(read_table(&b.file)?.columns.iter().map(to_model_column).collect()),
        None => None,
    };
    let background_columns = other.as_deref().unwrap_or(&columns);
    let background_rows = background_columns.first().map_or(0, |c| c.len());
    let background_sample = sample_indices(background_rows, job.options.background_rows, &mut rng);
    let background = select(background_columns, &background_sample);
    let attributions = match (job.options.method, &scorer) {
        (ExplainMethod::TreePath { hessians }, Scorer::Onnx(model)) if model.explained_ensemble().is_ok() => {
            let training = job.training.as_ref().ok_or_else(|| Error::internal("no training data for the covers"))?;
            let training: Vec<Column> = read_table(&training.file)?.columns.iter().map(to_model_column).collect();
            exact_tree(model, &explained, Against::Covers { training: &training, hessians }, label)?
        }
        (ExplainMethod::Tree | ExplainMethod::Auto, Scorer::Onnx(model)) if model.explained_ensemble().is_ok() => {
            exact_tree(model, &explained, Against::Background(&background), label)?
        }
        (ExplainMethod::Tree | ExplainMethod::TreePath { .. }, Scorer::Onnx(model)) => {
            let Err(e) = model.explained_ensemble() else { unreachable!("matched above") };
            return Err(Error::invalid("method", format!("{name} is not a tree ensemble TreeSHAP can explain: {e}")));
        }
        (ExplainMethod::Tree | ExplainMethod::TreePath { .. }, Scorer::Endpoint(_)) => {
            return Err(Error::invalid(
                "method",
                format!("{name} is served over HTTP: exact TreeSHAP needs the trees; use method permutation"),
            ));
        }
        _ => sampled_attributions(&scorer, &explained, &background, label, job.options.orderings, &mut rng)?,
    };
    let n = picked.len();
    let cols = attributions.features.len();
    let mut max_error: f64 = 0.0;
    let mut rows = Vec::with_capacity(n);
    for (i, &row) in picked.iter().enumerate() {
        let output = attributions.outputs[i];
        let contributions: Vec<f64> = (0..cols).map(|f| attributions.value(i, f)).collect();
        let total = attributions.base_value + contributions.iter().sum::<f64>();
        max_error = max_error.max((total - output).abs() / output.abs().max(1.0));
        rows.push(RowAttribution { row: row as u64, output, contributions });
    }
    let mean_abs: Vec<f64> =
        (0..cols).map(|f| (0..n).map(|i| attributions.value(i, f).abs()).sum::<f64>() / n.max(1) as f64).collect();
    let permutation = match label {
        Some(l) => Some(permutation_importance(
            &scorer,
            &explained,
            l,
            &attributions.features,
            attributions.direct,
            job.options.repeats,
            &mut rng,
        )?),
        None => None,
    };
    let importance = |feature: &str| permutation.as_ref().and_then(|p| p.1.get(feature)).copied();
    let mut global: Vec<FeatureImportance> = attributions
        .features
        .iter()
        .enumerate()
        .map(|(f, feature)| FeatureImportance {
            feature: feature.clone(),
            mean_abs_shap: mean_abs[f],
            permutation_importance: importance(feature).map(|(m, _)| m),
            std: importance(feature).map(|(_, s)| s),
        })
        .collect();
    global.sort_by(|a, b| b.mean_abs_shap.total_cmp(&a.mean_abs_shap));
    let dependence = global
        .iter()
        .take(DEPENDENCE_FEATURES)
        .filter_map(|g| {
            let f = attributions.features.iter().position(|x| *x == g.feature)?;
            let shap: Vec<f64> = (0..n).map(|i| attributions.value(i, f)).collect();
            Some(dependence::summarise(&g.feature, &attributions.feature_values[f], &shap))
        })
        .collect();
    let passed = max_error <= ADDITIVITY;
    let report = ExplanationReport {
        evidence_id: None,
        kind: "explainability".into(),
        produced_by: PRODUCED_BY.into(),
        passed,
        model: name,
        data: format!("{}@{}", job.data.version.name, job.data.version.version),
        method: attributions.method.into(),
        output: attributions.output.into(),
        base_value: attributions.base_value,
        background: match (&job.training, &job.background) {
            (Some(t), _) if attributions.method == PATH_DEPENDENT => {
                format!("{}@{} (its rows' paths through the trees)", t.version.name, t.version.version)
            }
            (_, Some(b)) => format!("{}@{}", b.version.name, b.version.version),
            (_, None) => format!("{}@{}", job.data.version.name, job.data.version.version),
        },
        background_rows: attributions.background_rows.unwrap_or(background_sample.len()) as u64,
        background_sample: match attributions.background_rows {
            Some(_) => Vec::new(),
            None => background_sample.iter().map(|&r| r as u64).collect(),
        },
        orderings: attributions.sampling.map(|(o, _)| o as u32),
        sampling_error: attributions.sampling.map(|(_, e)| e),
        features: attributions.features,
        global,
        permutation_metric: permutation.map(|p| p.0.to_string()),
        additivity_max_error: max_error,
        dependence,
        rows,
        rows_artifact: None,
    };
    let top: Vec<String> = report.global.iter().take(3).map(|g| g.feature.clone()).collect();
    let how = match report.sampling_error {
        Some(e) => format!("permutation SHAP (largest standard error {e:.2e})"),
        None => "TreeSHAP".to_string(),
    };
    let summary = format!(
        "produced by riskops on {}: {how} of {} rows; most important: {}{}",
        report.data,
        report.rows.len(),
        top.join(", "),
        if passed { String::new() } else { format!("; additivity off by {max_error:.2e}") }
    );
    let bytes = serde_json::to_vec(&report).map_err(|e| Error::internal(format!("encoding the report: {e}")))?;
    Ok(vec![produced(&job.work_dir, "explainability", passed, summary, bytes)?])
}

/// Exact TreeSHAP in the trees' margin: interventional against background rows, or
/// path-dependent with covers counted from the training rows (equal to shap's
/// `TreeExplainer(model)` when the covers are what the trees were grown on: scikit-learn
/// without subsampling or bootstrap, LightGBM without bagging, XGBoost with `hessians`).
fn exact_tree(model: &Model, explained: &[Column], against: Against<'_>, label: Option<&str>) -> Result<Attributions> {
    let (ensemble, direct) = model.explained_ensemble().map_err(|e| Error::invalid("model", e.to_string()))?;
    let (x, cols, features) = features_of(model, explained, label, direct)?;
    let failed = |e: riskops_model::ModelError| Error::invalid("data", format!("explaining failed: {e}"));
    let rows = Rows::new(&x, cols).map_err(failed)?;
    let (explanation, method, background_rows) = match against {
        Against::Background(background) => {
            let (bx, bcols, _) = features_of(model, background, label, direct)?;
            if bcols != cols {
                return Err(Error::invalid("background", "the background does not have the data's columns"));
            }
            let background = Rows::new(&bx, cols).map_err(failed)?;
            (shap::interventional(ensemble, background, rows).map_err(failed)?, "tree_shap_interventional", None)
        }
        Against::Covers { training, hessians } => {
            let (tx, tcols, _) = features_of(model, training, label, direct).map_err(|e| {
                Error::invalid("method", format!("the training data does not fit the model: {}", e.message))
            })?;
            if tcols != cols {
                return Err(Error::invalid("method", "the training data does not have the data's columns"));
            }
            let training = Rows::new(&tx, cols).map_err(failed)?;
            let covers = match hessians {
                true => shap::Covers::from_logistic_hessians(ensemble, training),
                false => shap::Covers::from_data(ensemble, training),
            }
            .map_err(|e| Error::invalid("covers", e.to_string()))?;
            (shap::path_dependent(ensemble, &covers, rows).map_err(failed)?, PATH_DEPENDENT, Some(training.rows()))
        }
    };
    let margins = shap::margins(ensemble, rows).map_err(failed)?;
    // The explained output: class 1's margin for a binary classifier (shap's convention), the
    // first for others.
    let output = 0;
    let width = explanation.n_outputs;
    let n = rows.rows();
    let values = (0..n).flat_map(|i| (0..cols).map(move |f| (i, f))).map(|(i, f)| explanation.value(i, f, output));
    Ok(Attributions {
        method,
        output: output_space(ensemble),
        base_value: explanation.base_values[output],
        outputs: (0..n).map(|i| margins[i * width + output]).collect(),
        values: values.collect(),
        feature_values: (0..cols).map(|f| FeatureValues::Numbers((0..n).map(|i| x[i * cols + f]).collect())).collect(),
        features,
        sampling: None,
        direct,
        background_rows,
    })
}

/// Sampled permutation SHAP over the model's input columns, for any model.
fn sampled_attributions(
    scorer: &Scorer,
    explained: &[Column],
    background: &[Column],
    label: Option<&str>,
    orderings: usize,
    rng: &mut Rng,
) -> Result<Attributions> {
    let output = Output::of(scorer)?;
    let (_, bindings) = bind_columns(scorer.signature(), explained, label, None, &HashMap::new())
        .map_err(|e| Error::invalid("data", format!("the dataset does not fit the model: {e}")))?;
    let features: Vec<String> = bindings.iter().flat_map(|b| b.columns.iter().cloned()).collect();
    let inputs = |columns: &[Column]| -> Vec<Column> {
        columns.iter().filter(|c| features.contains(&c.name)).cloned().collect()
    };
    let (rows, background) = (inputs(explained), inputs(background));
    let game = Game { scorer, output, rows: &rows, background: &background, features: &features };
    let s = sampled::explain(&game, orderings, rng)?;
    // The game's values are in the order of `features`.
    let feature_values = features.iter().map(|f| FeatureValues::of(rows.iter().find(|c| c.name == *f))).collect();
    Ok(Attributions {
        method: "permutation_shap",
        output: output.space(),
        base_value: s.base_value,
        outputs: s.outputs,
        values: s.values,
        feature_values,
        sampling: Some((orderings.max(2), s.standard_errors.iter().fold(0.0, |a: f64, &b| a.max(b)))),
        features,
        direct: true,
        background_rows: None,
    })
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

/// 100 rows of a background dataset (seeded), as the trees read them; `features`: the
/// columns the explained records were bound by (the dataset may hold more, e.g. its label).
pub(super) fn background_rows(model: &Model, columns: &[Column], features: &[String]) -> Result<(Vec<f64>, usize)> {
    let rows = columns.first().map_or(0, |c| c.len());
    let picked = select(columns, &sample_indices(rows, BACKGROUND_ROWS, &mut Rng::new(0)));
    let (inputs, _) = bind_columns(model.signature(), &picked, None, Some(features), &HashMap::new())
        .map_err(|e| Error::invalid("model", format!("the background data does not fit the model: {e}")))?;
    model.ensemble_features(inputs).map_err(|e| Error::invalid("model", format!("explaining failed: {e}")))
}
