//! The Open Inference Protocol v2 (KServe, Triton, MLServer): a model's metadata is a GET of
//! its URL, scoring a POST of `{"inputs":[{"name","shape","datatype","data"}],"outputs":[…]}`
//! to `…/infer`, whose answer holds `{"outputs":[{"name","shape","datatype","data"}]}` with
//! the data flattened row-major.

use super::Outputs;
use riskops_core::registry::{InterfaceInput, ModelInterface};
use riskops_model::{Data, InputSpec, Tensor};
use serde_json::{Value, json};
use std::collections::HashMap;

/// MLServer's scikit-learn runtime names its outputs after the methods it calls; it answers
/// only `predict` unless the request names outputs, so riskops always names them.
pub(super) const LABEL: &str = "predict";
pub(super) const PROBABILITIES: &str = "predict_proba";

/// The input riskops sends when the metadata declares none (MLServer's runtimes often do
/// not): one matrix of the feature columns in file order, as float64.
const DEFAULT_INPUT: &str = "input-0";

/// The signature from a model's metadata (`GET /v2/models/NAME`).
pub(super) fn interface(metadata: &Value, classes: Option<&[String]>) -> Result<ModelInterface, String> {
    if !metadata.get("name").is_some_and(Value::is_string) {
        return Err("its metadata is not a v2 model's (no \"name\")".into());
    }
    let mut inputs = Vec::new();
    for (i, input) in metadata.get("inputs").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let name = input["name"].as_str().ok_or(format!("input {i} has no name"))?;
        let datatype = input["datatype"].as_str().ok_or(format!("input {name} has no datatype"))?;
        let elem_type = elem_type(datatype).ok_or(format!("input {name} is {datatype}, which riskops cannot send"))?;
        let shape = input["shape"].as_array().ok_or(format!("input {name} has no shape"))?;
        let shape = shape.iter().map(|d| d.as_i64().filter(|d| *d >= 0)).collect();
        inputs.push(InterfaceInput { name: name.to_string(), elem_type: elem_type.to_string(), shape });
    }
    if inputs.is_empty() {
        inputs.push(InterfaceInput { name: DEFAULT_INPUT.into(), elem_type: "double".into(), shape: vec![None, None] });
    }
    let declared: Vec<&str> = metadata
        .get("outputs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|o| o["name"].as_str())
        .collect();
    // Declared outputs name the label and probabilities; otherwise MLServer's names.
    let pick = |preferred: &str, like: &dyn Fn(&str) -> bool| {
        if declared.is_empty() || declared.contains(&preferred) {
            return Some(preferred.to_string());
        }
        declared.iter().find(|n| like(n)).map(|n| n.to_string())
    };
    let is_prob = |n: &str| n.contains("prob");
    let label = pick(LABEL, &|n| !is_prob(n)).unwrap_or_else(|| LABEL.into());
    let probabilities = match classes {
        Some(c) => {
            let name = pick(PROBABILITIES, &is_prob)
                .ok_or("--classes was given, but the model declares no probability output")?;
            Some((name, c.to_vec()))
        }
        None => None,
    };
    let task = if probabilities.is_some() { "classification" } else { "regression" };
    Ok(ModelInterface { inputs, label, probabilities, task: task.into() })
}

fn elem_type(datatype: &str) -> Option<&'static str> {
    Some(match datatype {
        "FP32" => "float",
        "FP64" => "double",
        "INT64" => "int64",
        "INT32" => "int32",
        "BYTES" => "string",
        "BOOL" => "bool",
        _ => return None,
    })
}

fn datatype(data: &Data) -> &'static str {
    match data {
        Data::F32(_) => "FP32",
        Data::F64(_) => "FP64",
        Data::I64(_) => "INT64",
        Data::Str(_) => "BYTES",
        Data::Bool(_) => "BOOL",
    }
}

/// The request body for one batch, inputs in the signature's order. JSON has no NaN or
/// infinity (serde would send null, which servers refuse or crash on): such a value is
/// refused here, naming it, as a model refuses an input it cannot take.
pub(super) fn request(
    specs: &[InputSpec],
    inputs: &HashMap<String, Tensor>,
    outputs: &[&str],
) -> Result<Value, String> {
    for (name, t) in inputs {
        let bad = match &t.data {
            Data::F32(v) => v.iter().position(|x| !x.is_finite()),
            Data::F64(v) => v.iter().position(|x| !x.is_finite()),
            _ => None,
        };
        if let Some(i) = bad {
            let width: usize = t.shape.iter().skip(1).product();
            return Err(format!(
                "input {name}, row {}: a missing or infinite value cannot be sent in v2 JSON",
                i / width.max(1) + 1
            ));
        }
    }
    let inputs: Vec<Value> = specs
        .iter()
        .filter_map(|s| inputs.get(&s.name).map(|t| (s, t)))
        .map(|(s, t)| {
            let data = match &t.data {
                Data::F32(v) => json!(v),
                Data::F64(v) => json!(v),
                Data::I64(v) => json!(v),
                Data::Str(v) => json!(v),
                Data::Bool(v) => json!(v),
            };
            json!({"name": s.name, "shape": t.shape, "datatype": datatype(&t.data), "data": data})
        })
        .collect();
    let outputs: Vec<Value> = outputs.iter().map(|n| json!({"name": n})).collect();
    Ok(json!({"inputs": inputs, "outputs": outputs}))
}

/// The label and probability outputs of one batch's answer.
pub(super) fn outputs(
    answer: &Value,
    rows: usize,
    label: &str,
    probabilities: Option<&str>,
) -> Result<Outputs, String> {
    let all = answer.get("outputs").and_then(Value::as_array).ok_or("the answer has no \"outputs\"")?;
    let find = |name: &str| all.iter().find(|o| o["name"] == name);
    let labels = match find(label) {
        Some(o) => Some(super::column_data(&flat(&o["data"]), o["datatype"].as_str(), rows, label)?),
        None => None,
    };
    let probabilities = match probabilities {
        Some(name) => {
            let o = find(name).ok_or(format!("the answer has no output {name:?}"))?;
            let values = flat(&o["data"]);
            let numbers: Vec<f64> = values.iter().map(|v| v.as_f64().unwrap_or(f64::NAN)).collect();
            if rows == 0 || !numbers.len().is_multiple_of(rows) {
                return Err(format!("output {name:?} holds {} values for {rows} rows", numbers.len()));
            }
            Some(numbers)
        }
        None => None,
    };
    if labels.is_none() && probabilities.is_none() {
        return Err(format!("the answer has no output {label:?}"));
    }
    Ok(Outputs { labels, probabilities })
}

/// A tensor's data, flattened: the protocol allows nested arrays too.
fn flat(data: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    let mut stack = vec![data];
    while let Some(v) = stack.pop() {
        match v {
            Value::Array(items) => stack.extend(items.iter().rev()),
            other => out.push(other.clone()),
        }
    }
    out
}
