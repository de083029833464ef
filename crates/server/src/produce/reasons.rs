//! Reasons for single decisions: each record's SHAP contributions (exact interventional
//! TreeSHAP) against 100 rows of the version's validation or training data, largest first.

use super::explain::{background_rows, feature_names, output_space};
use super::{Scorer, label_texts, read_table, to_model_column};
use riskops_core::service::{Contribution, RecordExplanation, RecordsJob};
use riskops_core::{Error, Result};
use riskops_model::shap::{self, Rows};
use riskops_model::{Column, ColumnValues, bind_columns};
use serde_json::{Map, Value};
use std::collections::HashMap;

pub fn explain_records(
    job: &RecordsJob,
    endpoints: &crate::endpoint::EndpointSettings,
) -> Result<Vec<RecordExplanation>> {
    let name = format!("{}@{}", job.model.version.name, job.model.version.version);
    let Scorer::Onnx(model) = Scorer::load(&job.model, endpoints)? else {
        return Err(Error::invalid(
            "model",
            format!("{name} is served over HTTP: riskops explains tree ensembles it runs itself (ONNX) for now"),
        ));
    };
    let (ensemble, direct) = model.explained_ensemble().map_err(|e| Error::invalid("model", format!("{name}: {e}")))?;
    let columns = columns_of(&job.records)?;
    let (inputs, bindings) = bind_columns(model.signature(), &columns, None, None, &HashMap::new())
        .map_err(|e| Error::invalid("records", format!("the records do not fit the model: {e}")))?;
    let prediction =
        model.predict(inputs.clone()).map_err(|e| Error::invalid("records", format!("scoring failed: {e}")))?;
    let (x, cols) =
        model.ensemble_features(inputs).map_err(|e| Error::invalid("records", format!("explaining failed: {e}")))?;
    let features = feature_names(&bindings, direct, cols);
    let background_columns: Vec<Column> =
        read_table(&job.background.file)?.columns.iter().map(to_model_column).collect();
    let bound: Vec<String> = bindings.iter().flat_map(|b| b.columns.iter().cloned()).collect();
    let (bx, bcols) = background_rows(&model, &background_columns, &bound)?;
    if bcols != cols {
        return Err(Error::invalid("model", "the background data does not have the model's columns"));
    }
    let failed = |e: riskops_model::ModelError| Error::invalid("records", format!("explaining failed: {e}"));
    let rows = Rows::new(&x, cols).map_err(failed)?;
    let explanation = shap::interventional(ensemble, Rows::new(&bx, cols).map_err(failed)?, rows).map_err(failed)?;
    let labels = label_texts(&prediction.labels);
    let space = output_space(ensemble).to_string();
    let out = (0..rows.rows())
        .map(|i| {
            let mut contributions: Vec<Contribution> = features
                .iter()
                .enumerate()
                .map(|(f, feature)| Contribution {
                    feature: feature.clone(),
                    value: if direct { job.records[i].get(feature).and_then(text) } else { None },
                    contribution: explanation.value(i, f, 0),
                })
                .collect();
            contributions.sort_by(|a, b| b.contribution.abs().total_cmp(&a.contribution.abs()));
            RecordExplanation {
                prediction: labels.get(i).cloned().unwrap_or_default(),
                output: explanation.total(i, 0),
                base_value: explanation.base_values[0],
                output_space: space.clone(),
                contributions,
                reasons: Vec::new(),
            }
        })
        .collect();
    Ok(out)
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        // 2.0 reads as 2 in a notice to a customer.
        Value::Number(n) if n.as_f64().is_some_and(|x| x.fract() == 0.0 && x.abs() < 1e15) => {
            Some(format!("{}", n.as_f64().unwrap_or_default() as i64))
        }
        other => Some(other.to_string()),
    }
}

/// The records as columns: numbers where every present value is a number, booleans where
/// every one is a boolean, text otherwise; a missing key or null is a missing value.
fn columns_of(records: &[Map<String, Value>]) -> Result<Vec<Column>> {
    let mut names: Vec<&String> = Vec::new();
    for r in records {
        for k in r.keys() {
            if !names.contains(&k) {
                names.push(k);
            }
        }
    }
    let columns = names
        .into_iter()
        .map(|name| {
            let cells: Vec<Option<&Value>> = records.iter().map(|r| r.get(name).filter(|v| !v.is_null())).collect();
            let values = if cells.iter().flatten().all(|v| v.is_number()) {
                ColumnValues::Float(cells.iter().map(|v| v.and_then(Value::as_f64).unwrap_or(f64::NAN)).collect())
            } else if cells.iter().flatten().all(|v| v.is_boolean()) {
                ColumnValues::Bool(cells.iter().map(|v| v.and_then(Value::as_bool).unwrap_or(false)).collect())
            } else {
                ColumnValues::Str(cells.iter().map(|v| v.and_then(text)).collect())
            };
            Column { name: name.clone(), values }
        })
        .collect();
    Ok(columns)
}
