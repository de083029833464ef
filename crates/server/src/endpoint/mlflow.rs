//! MLflow's scoring server (`mlflow models serve`): a POST of
//! `{"dataframe_split":{"columns":[…],"data":[[…],…]}}` to `/invocations` answers
//! `{"predictions":[…]}`, one entry per row: a value (the label, or a regressor's value) or a
//! list (class probabilities, when the model's pyfunc returns them). It has no metadata: its
//! health is `GET /ping`, and the features are sent under their column names.

use super::Outputs;
use riskops_core::registry::{InterfaceInput, ModelInterface};
use riskops_model::{Data, InputBinding, Tensor};
use serde_json::{Value, json};
use std::collections::HashMap;

/// The one input of an MLflow model: the feature columns in file order.
const INPUT: &str = "dataframe";
const PREDICTIONS: &str = "predictions";

pub(super) fn interface(classes: Option<&[String]>) -> ModelInterface {
    let probabilities = classes.map(|c| (PREDICTIONS.to_string(), c.to_vec()));
    let task = if probabilities.is_some() { "classification" } else { "regression" };
    ModelInterface {
        inputs: vec![InterfaceInput { name: INPUT.into(), elem_type: "double".into(), shape: vec![None, None] }],
        label: PREDICTIONS.into(),
        probabilities,
        task: task.into(),
    }
}

/// The request body for one batch: the columns each input was bound to, row by row.
pub(super) fn request(
    bindings: &[InputBinding],
    inputs: &HashMap<String, Tensor>,
    rows: usize,
) -> Result<Value, String> {
    let mut columns = Vec::new();
    let mut parts = Vec::new();
    for b in bindings {
        let t = inputs.get(&b.input).ok_or(format!("input {} was not bound", b.input))?;
        columns.extend(b.columns.iter().cloned());
        parts.push((t, b.columns.len()));
    }
    let data: Vec<Vec<Value>> = (0..rows)
        .map(|r| {
            let mut row = Vec::with_capacity(columns.len());
            for (t, width) in &parts {
                for j in r * width..(r + 1) * width {
                    row.push(cell(&t.data, j));
                }
            }
            row
        })
        .collect();
    Ok(json!({"dataframe_split": {"columns": columns, "data": data}}))
}

fn cell(data: &Data, i: usize) -> Value {
    match data {
        Data::F32(v) => json!(v[i]),
        Data::F64(v) => json!(v[i]),
        Data::I64(v) => json!(v[i]),
        Data::Str(v) => json!(v[i]),
        Data::Bool(v) => json!(v[i]),
    }
}

/// One batch's answer: values are labels, lists are probabilities.
pub(super) fn outputs(answer: &Value, rows: usize) -> Result<Outputs, String> {
    let predictions = match answer {
        Value::Array(items) => items,
        other => other.get(PREDICTIONS).and_then(Value::as_array).ok_or("the answer has no \"predictions\"")?,
    };
    if predictions.len() != rows {
        return Err(format!("the answer holds {} predictions for {rows} rows", predictions.len()));
    }
    if predictions.iter().all(Value::is_array) {
        let numbers =
            predictions.iter().flat_map(|p| p.as_array().into_iter().flatten()).map(|v| v.as_f64().unwrap_or(f64::NAN));
        return Ok(Outputs { labels: None, probabilities: Some(numbers.collect()) });
    }
    let labels = super::column_data(predictions, None, rows, PREDICTIONS)?;
    Ok(Outputs { labels: Some(labels), probabilities: None })
}
