//! Models served over HTTP (`riskops model register --endpoint`): what a served model takes
//! and gives, asked at registration ([`inspect`]), and scoring through it ([`EndpointModel`]),
//! in batches, each request bounded by a timeout and retried with backoff when the failure may
//! pass. Rows are bound to inputs exactly as for an ONNX model (riskops-model's
//! `bind_columns`), so an endpoint and the ONNX file of the same model see the same features.

mod mlflow;
mod transport;
mod v2;

pub use transport::EndpointSettings;

use riskops_core::registry::{Endpoint, ModelInterface, Protocol};
use riskops_core::{Error, Result};
use riskops_model::{ClassLabels, Data, ElemType, InputBinding, InputSpec, Prediction, Signature, Task, Tensor};
use serde_json::Value;
use std::collections::HashMap;
use transport::Transport;

/// Asks the endpoint what it takes and gives: a v2 model's metadata, an MLflow server's
/// `/ping`. A 422 on `endpoint` when it does not answer, or not as its protocol says.
pub async fn inspect(
    endpoint: &Endpoint,
    classes: Option<&[String]>,
    settings: EndpointSettings,
) -> Result<ModelInterface> {
    let transport = Transport::new(settings)?;
    let url = &endpoint.url;
    // Registration refuses an endpoint that does not answer, whatever the reason: a 422.
    let unreachable = |e: Error| match e.kind {
        riskops_core::ErrorKind::Busy => Error::invalid("endpoint", e.message),
        _ => e,
    };
    match endpoint.protocol {
        Protocol::V2 => {
            let answer = transport.get(url).await.map_err(unreachable)?;
            let metadata: Value = serde_json::from_slice(&answer).map_err(|_| {
                Error::invalid(
                    "endpoint",
                    format!("the model endpoint {url} answered, but not with v2 metadata (JSON)"),
                )
            })?;
            v2::interface(&metadata, classes)
                .map_err(|e| Error::invalid("endpoint", format!("the model endpoint {url} is not usable: {e}")))
        }
        Protocol::Mlflow => {
            transport.get(&format!("{url}/ping")).await.map_err(unreachable)?;
            Ok(mlflow::interface(classes))
        }
    }
}

/// A registered endpoint, ready to score.
pub struct EndpointModel {
    endpoint: Endpoint,
    signature: Signature,
    transport: Transport,
}

/// What one batch's answer gave: labels and/or probabilities (rows × classes, row-major).
pub(crate) struct Outputs {
    labels: Option<Data>,
    probabilities: Option<Vec<f64>>,
}

impl EndpointModel {
    pub fn new(endpoint: Endpoint, interface: &ModelInterface, settings: EndpointSettings) -> Result<EndpointModel> {
        Ok(EndpointModel { endpoint, signature: model_signature(interface), transport: Transport::new(settings)? })
    }

    /// The signature recorded at registration, as riskops-model's `bind_columns` takes it.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// Scores bound inputs (`bind_columns`' answer) batch by batch.
    pub async fn predict(&self, inputs: &HashMap<String, Tensor>, bindings: &[InputBinding]) -> Result<Prediction> {
        let rows = inputs.values().next().map_or(0, |t| t.shape.first().copied().unwrap_or(0));
        let batch = self.transport.settings.batch_rows.max(1);
        let mut labels: Option<Data> = None;
        let mut probabilities: Option<Vec<f64>> = None;
        for start in (0..rows).step_by(batch) {
            let end = (start + batch).min(rows);
            let part = rows_of(inputs, start, end);
            let out = self.score_batch(&part, bindings, end - start).await?;
            if let Some(l) = out.labels {
                labels = Some(match labels {
                    None => l,
                    Some(acc) => append(acc, l).map_err(|e| self.refusal(&e))?,
                });
            }
            if let Some(p) = out.probabilities {
                probabilities.get_or_insert_with(Vec::new).extend(p);
            }
        }
        self.assemble(labels, probabilities, rows).map_err(|e| self.refusal(&e))
    }

    /// [`EndpointModel::predict`] from a blocking thread (the evidence producer runs on one).
    pub fn predict_blocking(&self, inputs: &HashMap<String, Tensor>, bindings: &[InputBinding]) -> Result<Prediction> {
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::internal("a model endpoint was called outside the runtime"))?;
        handle.block_on(self.predict(inputs, bindings))
    }

    async fn score_batch(
        &self,
        inputs: &HashMap<String, Tensor>,
        bindings: &[InputBinding],
        rows: usize,
    ) -> Result<Outputs> {
        let url = &self.endpoint.url;
        let probabilities = self.signature.probabilities.as_ref().map(|(name, _)| name.as_str());
        let (target, body) = match self.endpoint.protocol {
            Protocol::V2 => {
                let names: Vec<&str> = probabilities.into_iter().chain([self.signature.label.as_str()]).collect();
                let body = v2::request(&self.signature.inputs, inputs, &names).map_err(|e| self.refusal(&e))?;
                (format!("{url}/infer"), body)
            }
            Protocol::Mlflow => {
                (format!("{url}/invocations"), mlflow::request(bindings, inputs, rows).map_err(|e| self.refusal(&e))?)
            }
        };
        let answer = self.transport.post_json(&target, &body).await?;
        let answer: Value = serde_json::from_slice(&answer).map_err(|_| self.refusal("its answer is not JSON"))?;
        let outputs = match self.endpoint.protocol {
            Protocol::V2 => v2::outputs(&answer, rows, &self.signature.label, probabilities),
            Protocol::Mlflow => mlflow::outputs(&answer, rows),
        };
        outputs.map_err(|e| self.refusal(&e))
    }

    /// The whole prediction: probabilities need the registered classes; labels missing from
    /// the answer are the most probable class.
    fn assemble(
        &self,
        labels: Option<Data>,
        probabilities: Option<Vec<f64>>,
        rows: usize,
    ) -> Result<Prediction, String> {
        let classes = self.signature.probabilities.as_ref().map(|(_, c)| c.clone());
        let Some(probabilities) = probabilities else {
            let labels = labels.unwrap_or(Data::F64(Vec::new()));
            return Ok(Prediction { labels, probabilities: None, classes: None });
        };
        let Some(classes) = classes else {
            return Err("it answers probabilities: register the model with --classes to say whose".into());
        };
        let k = classes.names().len();
        if rows > 0 && probabilities.len() != rows * k {
            return Err(format!(
                "it answers {} probabilities per row; the model was registered with {k} classes",
                probabilities.len() / rows
            ));
        }
        let labels = match labels {
            Some(l) => l,
            None => most_probable(&classes, &probabilities, k),
        };
        let probabilities = probabilities.iter().map(|&p| p as f32).collect();
        Ok(Prediction { labels, probabilities: Some(probabilities), classes: Some(classes) })
    }

    fn refusal(&self, why: &str) -> Error {
        Error::invalid("endpoint", format!("the model endpoint {} cannot be used: {why}", self.endpoint.url))
    }
}

/// riskops-model's signature of a stored interface, so columns bind as for an ONNX model.
fn model_signature(interface: &ModelInterface) -> Signature {
    let inputs = interface
        .inputs
        .iter()
        .map(|i| InputSpec {
            name: i.name.clone(),
            elem_type: match i.elem_type.as_str() {
                "float" => ElemType::Float,
                "int64" => ElemType::Int64,
                "int32" => ElemType::Int32,
                "string" => ElemType::String,
                "bool" => ElemType::Bool,
                _ => ElemType::Double,
            },
            shape: i.shape.clone(),
        })
        .collect();
    let probabilities = interface.probabilities.as_ref().map(|(name, classes)| {
        let ints: Option<Vec<i64>> = classes.iter().map(|c| c.parse().ok()).collect();
        let labels = match ints {
            Some(v) => ClassLabels::Int(v),
            None => ClassLabels::Str(classes.clone()),
        };
        (name.clone(), labels)
    });
    let task = if interface.task == "regression" { Task::Regression } else { Task::Classification };
    Signature { inputs, label: interface.label.clone(), probabilities, task }
}

/// Rows `start..end` of every input.
fn rows_of(inputs: &HashMap<String, Tensor>, start: usize, end: usize) -> HashMap<String, Tensor> {
    inputs
        .iter()
        .map(|(name, t)| {
            let width: usize = t.shape.iter().skip(1).product();
            let (a, b) = (start * width, end * width);
            let data = match &t.data {
                Data::F32(v) => Data::F32(v[a..b].to_vec()),
                Data::F64(v) => Data::F64(v[a..b].to_vec()),
                Data::I64(v) => Data::I64(v[a..b].to_vec()),
                Data::Str(v) => Data::Str(v[a..b].to_vec()),
                Data::Bool(v) => Data::Bool(v[a..b].to_vec()),
            };
            let mut shape = t.shape.clone();
            if let Some(first) = shape.first_mut() {
                *first = end - start;
            }
            (name.clone(), Tensor { shape, data })
        })
        .collect()
}

fn append(a: Data, b: Data) -> Result<Data, String> {
    Ok(match (a, b) {
        (Data::F32(mut x), Data::F32(y)) => {
            x.extend(y);
            Data::F32(x)
        }
        (Data::F64(mut x), Data::F64(y)) => {
            x.extend(y);
            Data::F64(x)
        }
        (Data::I64(mut x), Data::I64(y)) => {
            x.extend(y);
            Data::I64(x)
        }
        (Data::Str(mut x), Data::Str(y)) => {
            x.extend(y);
            Data::Str(x)
        }
        (Data::Bool(mut x), Data::Bool(y)) => {
            x.extend(y);
            Data::Bool(x)
        }
        _ => return Err("its predictions change type from one batch to the next".into()),
    })
}

fn most_probable(classes: &ClassLabels, probabilities: &[f64], k: usize) -> Data {
    let best = probabilities.chunks(k.max(1)).map(|row| {
        row.iter().enumerate().fold((0, f64::NEG_INFINITY), |b, (i, &p)| if p > b.1 { (i, p) } else { b }).0
    });
    match classes {
        ClassLabels::Int(v) => Data::I64(best.map(|i| v[i]).collect()),
        ClassLabels::Str(v) => Data::Str(best.map(|i| v[i].clone()).collect()),
    }
}

/// One value per row (a `[rows]` or `[rows, 1]` output) as typed data: whole numbers unless a
/// float datatype says otherwise, then numbers, text, booleans.
fn column_data(values: &[Value], datatype: Option<&str>, rows: usize, name: &str) -> Result<Data, String> {
    if values.len() != rows {
        return Err(format!("output {name:?} holds {} values for {rows} rows", values.len()));
    }
    let floats = datatype.is_some_and(|d| d.starts_with("FP"));
    if !floats && let Some(v) = values.iter().map(Value::as_i64).collect::<Option<Vec<_>>>() {
        return Ok(Data::I64(v));
    }
    if let Some(v) = values.iter().map(Value::as_f64).collect::<Option<Vec<_>>>() {
        return Ok(Data::F64(v));
    }
    if let Some(v) = values.iter().map(|v| v.as_str().map(str::to_string)).collect::<Option<Vec<_>>>() {
        return Ok(Data::Str(v));
    }
    if let Some(v) = values.iter().map(Value::as_bool).collect::<Option<Vec<_>>>() {
        return Ok(Data::Bool(v));
    }
    Err(format!("output {name:?} holds values riskops cannot read"))
}

#[cfg(test)]
mod tests;
