//! Attribution drift: mean |SHAP| per feature of a monitoring window's sampled records and of
//! the version's validation data, both by exact interventional TreeSHAP against the same 100
//! background rows of that data (the background `explain-record` uses), so the two differ only
//! by the rows explained.
//!
//! The reference side (model loaded, background and the reference's mean |SHAP|) is computed
//! once per (model, dataset, columns) and kept: every window of a version compares with it.

use super::explain::{background_rows, feature_names, output_space};
use super::stats::Rng;
use super::{Scorer, read_table, sample_indices, select, to_model_column};
use riskops_core::service::{AttributionJob, ModelInput, WindowAttribution, WindowExplainer};
use riskops_core::{Error, Result};
use riskops_model::shap::{self, Rows};
use riskops_model::{Column, ColumnValues, Model, bind_columns};
use riskops_monitor::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Reference rows explained (a seeded sample of the validation data): as many as the
/// largest window sample, so the reference's shares are at least as steady as a window's
/// (their noise falls as 1/√rows), and cheap, once per version.
const REFERENCE_ROWS: usize = 1000;
/// The seed of the reference rows' sample (the background's is `background_rows`').
const REFERENCE_SEED: u64 = 17;
/// Prepared references kept at most; past it the cache starts over.
const MAX_PREPARED: usize = 16;

/// The server's [`WindowExplainer`]: riskops-model's TreeSHAP on ONNX tree ensembles.
#[derive(Default)]
pub struct WindowAttributions {
    prepared: Mutex<HashMap<String, Arc<Prepared>>>,
}

/// What every window of one version is explained with and compared against.
struct Prepared {
    model: Model,
    /// The columns bound to the ensemble's input, in its order.
    bound: Vec<String>,
    features: Vec<String>,
    background: Vec<f64>,
    cols: usize,
    reference: Vec<(String, f64)>,
    reference_rows: u64,
    output_space: &'static str,
}

impl WindowExplainer for WindowAttributions {
    fn prepared(&self, job: &AttributionJob) -> bool {
        self.prepared.lock().is_ok_and(|c| c.contains_key(&prepared_key(job)))
    }

    fn explain_window(&self, job: &AttributionJob) -> Result<WindowAttribution> {
        let prepared = self.prepare(job)?;
        let columns = sample_columns(&job.features, &job.rows);
        let (inputs, _) =
            bind_columns(prepared.model.signature(), &columns, None, Some(&prepared.bound), &HashMap::new())
                .map_err(|e| Error::invalid("model", format!("the window's records do not fit the model: {e}")))?;
        let explained = explain_rows(&prepared, inputs)?;
        let dataset = &job.reference;
        Ok(WindowAttribution {
            window: prepared.features.iter().cloned().zip(mean_abs(&explained)).collect(),
            unexplained: unexplained(&explained, &job.outputs, prepared.output_space),
            reference: prepared.reference.clone(),
            reference_rows: prepared.reference_rows,
            method: format!(
                "interventional TreeSHAP against {} rows of {}@{}; reference: {} of its rows",
                prepared.background.len() / prepared.cols.max(1),
                dataset.name,
                dataset.version,
                prepared.reference_rows
            ),
            output_space: prepared.output_space.to_string(),
        })
    }
}

impl WindowAttributions {
    fn prepare(&self, job: &AttributionJob) -> Result<Arc<Prepared>> {
        let key = prepared_key(job);
        if let Some(p) = self.prepared.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return Ok(p);
        }
        let p = Arc::new(prepare(job)?);
        if let Ok(mut cache) = self.prepared.lock() {
            if cache.len() >= MAX_PREPARED {
                cache.clear();
            }
            cache.insert(key, p.clone());
        }
        Ok(p)
    }
}

/// One model, reference and column set: what a [`Prepared`] is for.
fn prepared_key(job: &AttributionJob) -> String {
    format!("{}\n{}\n{}\n{}", job.model.digest, job.reference.digest, job.exclude.join(","), job.features.join(","))
}

fn prepare(job: &AttributionJob) -> Result<Prepared> {
    let v = &job.model;
    let name = format!("{}@{}", v.name, v.version);
    let files = job.files.as_ref().ok_or_else(|| Error::internal("explaining a window needs its model's files"))?;
    let input = ModelInput { version: v.clone(), file: files.model.clone() };
    // Endpoints are refused before this (core), so this loads the ONNX file.
    let Scorer::Onnx(model) = Scorer::load(&input, &crate::endpoint::EndpointSettings::default())? else {
        return Err(Error::invalid("model", format!("{name} is served over HTTP: riskops explains models it runs")));
    };
    let (ensemble, direct) = model
        .explained_ensemble()
        .map_err(|e| Error::invalid("model", format!("{name} cannot be explained by TreeSHAP: {e}")))?;
    let space = output_space(ensemble);
    let reference: Vec<Column> = read_table(&files.reference)?
        .columns
        .iter()
        .filter(|c| !job.exclude.contains(&c.name))
        .map(to_model_column)
        .collect();
    // The window's features (the reference's columns, typed as the data is) decide the
    // model's inputs, as for scoring its records.
    // (Their types only: no rows are copied.)
    let monitored: Vec<Column> = job
        .features
        .iter()
        .filter_map(|f| reference.iter().find(|c| &c.name == f))
        .flat_map(|c| select(std::slice::from_ref(c), &[]))
        .collect();
    let (_, bindings) = bind_columns(model.signature(), &monitored, None, None, &HashMap::new())
        .map_err(|e| Error::invalid("model", format!("the monitored features do not fit the model: {e}")))?;
    let bound: Vec<String> = bindings.iter().flat_map(|b| b.columns.iter().cloned()).collect();
    let (background, cols) = background_rows(&model, &reference, &bound)?;
    let features = feature_names(&bindings, direct, cols);
    let rows = reference.first().map_or(0, Column::len);
    let picked = select(&reference, &sample_indices(rows, REFERENCE_ROWS, &mut Rng::new(REFERENCE_SEED)));
    let (inputs, _) = bind_columns(model.signature(), &picked, None, Some(&bound), &HashMap::new())
        .map_err(|e| Error::invalid("model", format!("the reference data does not fit the model: {e}")))?;
    let mut prepared = Prepared {
        model,
        bound,
        features,
        background,
        cols,
        reference: Vec::new(),
        reference_rows: 0,
        output_space: space,
    };
    let explained = explain_rows(&prepared, inputs)?;
    prepared.reference = prepared.features.iter().cloned().zip(mean_abs(&explained)).collect();
    prepared.reference_rows = explained.rows as u64;
    Ok(prepared)
}

/// Mean |SHAP| per feature over the rows (and over the outputs of a multi-output ensemble).
fn mean_abs(e: &shap::Explanation) -> Vec<f64> {
    let n = (e.rows * e.n_outputs).max(1) as f64;
    (0..e.n_features)
        .map(|f| {
            let cells = (0..e.rows).flat_map(|r| (0..e.n_outputs).map(move |o| (r, o)));
            cells.map(|(r, o)| e.value(r, f, o).abs()).sum::<f64>() / n
        })
        .collect()
}

/// How much of the logged outputs the model's attributions do not account for: over the
/// rows logged with an output, mean |logged margin − (base + Σ SHAP)| over itself plus the
/// sum of the mean |SHAP|. The reference's is 0 by construction (its outputs are the
/// model's), so it rises when the traffic's outputs no longer follow from its features as
/// the model maps them: a feature's relation to the output changed (values shuffled or
/// corrupted after scoring, another model answering), which the attributions of the inputs
/// alone cannot show. `None` without logged outputs, or for a multi-class ensemble.
fn unexplained(e: &shap::Explanation, outputs: &[Option<f64>], space: &str) -> Option<f64> {
    // A binary classifier's ensemble has one margin, or one per class (the positive class
    // last: scikit-learn orders classes, and riskops' positive class is the larger label).
    let output = match e.n_outputs {
        1 => 0,
        2 => 1,
        _ => return None,
    };
    let to_margin = |x: f64| match space {
        "log_odds" => {
            let p = x.clamp(1e-7, 1.0 - 1e-7);
            (p / (1.0 - p)).ln()
        }
        _ => x,
    };
    let rows: Vec<(usize, f64)> = outputs
        .iter()
        .enumerate()
        .filter_map(|(r, o)| o.map(|x| (r, to_margin(x))))
        .filter(|(r, _)| *r < e.rows)
        .collect();
    if rows.is_empty() {
        return None;
    }
    let n = rows.len() as f64;
    let residual = rows.iter().map(|(r, logged)| (logged - e.total(*r, output)).abs()).sum::<f64>() / n;
    let attributed =
        rows.iter().map(|(r, _)| (0..e.n_features).map(|f| e.value(*r, f, output).abs()).sum::<f64>()).sum::<f64>() / n;
    let total = residual + attributed;
    Some(if total > 0.0 { residual / total } else { 0.0 })
}

/// Interventional SHAP values of the rows against the prepared background.
fn explain_rows(p: &Prepared, inputs: HashMap<String, riskops_model::Tensor>) -> Result<shap::Explanation> {
    let failed = |e: riskops_model::ModelError| Error::invalid("model", format!("explaining failed: {e}"));
    let (ensemble, _) = p.model.explained_ensemble().map_err(failed)?;
    let (x, cols) = p.model.ensemble_features(inputs).map_err(failed)?;
    if cols != p.cols {
        return Err(Error::invalid("model", "the records do not have the model's columns"));
    }
    let rows = Rows::new(&x, cols).map_err(failed)?;
    shap::interventional(ensemble, Rows::new(&p.background, cols).map_err(failed)?, rows).map_err(failed)
}

/// The sampled rows as columns: numbers where every present value is a number (or a
/// boolean), text otherwise; a missing value is NaN (numbers) or absent (text), as a
/// dataset's missing cells are read.
fn sample_columns(names: &[String], rows: &[Vec<Value>]) -> Vec<Column> {
    names
        .iter()
        .enumerate()
        .map(|(j, name)| {
            let cells: Vec<&Value> = rows.iter().map(|r| r.get(j).unwrap_or(&Value::Null)).collect();
            let numeric = cells.iter().all(|v| matches!(v, Value::Null | Value::Number(_) | Value::Bool(_)));
            let values = if numeric {
                ColumnValues::Float(
                    cells
                        .iter()
                        .map(|v| match v {
                            Value::Number(x) => *x,
                            Value::Bool(b) => f64::from(u8::from(*b)),
                            _ => f64::NAN,
                        })
                        .collect(),
                )
            } else {
                ColumnValues::Str(cells.iter().map(|v| v.category()).collect())
            };
            Column { name: name.clone(), values }
        })
        .collect()
}
