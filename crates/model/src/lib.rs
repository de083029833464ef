//! Runs ONNX tabular models in-process: what scikit-learn (skl2onnx), XGBoost and LightGBM
//! (onnxmltools) export. No IO: [`Model::load`] takes the file's bytes.
//!
//! The protobuf is read by a small wire-format decoder (`proto`), every node is parsed into an
//! [`ops::Op`] at load time (an operator outside [`ops::SUPPORTED`] is an
//! [`ModelError::Unsupported`] naming it and its domain), and [`Model::run`] evaluates the graph
//! over a whole batch. Arithmetic is float32 in onnxruntime's order, so outputs agree with
//! onnxruntime's to ~1e-6. Tree ensembles are public data ([`tree::TreeEnsemble`]).

mod attrs;
pub mod bind;
mod forest;
pub mod ops;
mod proto;
pub mod shap;
pub mod tensor;
pub mod transform;
pub mod tree;

use std::collections::HashMap;
use std::fmt;

pub use bind::{Column, ColumnValues, InputBinding, bind_columns};
pub use tensor::{Data, Tensor};
pub use tree::{ClassLabels, TreeEnsemble};

use proto::{Dim, TypeProto, dtype};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelError {
    /// The bytes are not a model this crate can read.
    Malformed(String),
    /// An operator outside the supported set.
    Unsupported { op_type: String, domain: String },
    /// The inputs given do not fit the model.
    Input(String),
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::Malformed(m) | ModelError::Input(m) => f.write_str(m),
            ModelError::Unsupported { op_type, domain } => {
                write!(
                    f,
                    "unsupported operator {op_type} (domain {domain}); riskops runs the tabular operators of scikit-learn, XGBoost and LightGBM exports"
                )
            }
        }
    }
}

impl std::error::Error for ModelError {}

/// An element type as the model declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElemType {
    Float,
    Double,
    Int64,
    Int32,
    String,
    Bool,
    Other(i32),
}

impl ElemType {
    fn from_code(code: i32) -> ElemType {
        match code {
            dtype::FLOAT => ElemType::Float,
            dtype::DOUBLE => ElemType::Double,
            dtype::INT64 => ElemType::Int64,
            dtype::INT32 => ElemType::Int32,
            dtype::STRING => ElemType::String,
            dtype::BOOL => ElemType::Bool,
            other => ElemType::Other(other),
        }
    }

    pub fn name(self) -> String {
        match self {
            ElemType::Float => "float".into(),
            ElemType::Double => "double".into(),
            ElemType::Int64 => "int64".into(),
            ElemType::Int32 => "int32".into(),
            ElemType::String => "string".into(),
            ElemType::Bool => "bool".into(),
            ElemType::Other(c) => format!("type{c}"),
        }
    }

    pub fn is_numeric(self) -> bool {
        !matches!(self, ElemType::String | ElemType::Other(_))
    }
}

/// One input of the model: a tensor whose first dimension is the batch.
#[derive(Debug, Clone, PartialEq)]
pub struct InputSpec {
    pub name: String,
    pub elem_type: ElemType,
    /// Declared dimensions; None where the model leaves one open (the batch, usually).
    pub shape: Vec<Option<i64>>,
}

impl InputSpec {
    /// Columns this input takes per row (the product of the dimensions after the first).
    pub fn width(&self) -> Option<usize> {
        self.shape
            .iter()
            .skip(1)
            .try_fold(1usize, |acc, d| d.and_then(|d| usize::try_from(d).ok()).and_then(|d| acc.checked_mul(d)))
    }
}

/// What the model gives back.
#[derive(Debug, Clone, PartialEq)]
pub struct Signature {
    pub inputs: Vec<InputSpec>,
    /// The output holding the predicted label (classifiers) or value (regressors).
    pub label: String,
    /// The output holding class probabilities, with the class of each column.
    pub probabilities: Option<(String, ClassLabels)>,
    /// Classifier or regressor.
    pub task: Task,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    Classification,
    Regression,
}

#[derive(Debug, Clone)]
struct Node {
    op: ops::Op,
    inputs: Vec<String>,
    outputs: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Model {
    nodes: Vec<Node>,
    initializers: HashMap<String, Tensor>,
    signature: Signature,
    outputs: Vec<String>,
}

/// Below this many rows per core a batch is scored on one thread: starting threads and
/// copying the rows would cost more than they save.
const MIN_ROWS_PER_THREAD: usize = 8192;

/// Scores of a batch: one label (or value) per row and, for classifiers, the probabilities.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub labels: Data,
    /// Row-major rows × classes.
    pub probabilities: Option<Vec<f32>>,
    pub classes: Option<ClassLabels>,
}

impl Model {
    /// Reads and checks a model: every operator must be supported.
    pub fn load(bytes: &[u8]) -> Result<Model, ModelError> {
        let proto = proto::decode_model(bytes)?;
        let opset = |domain: &str| -> i64 {
            proto
                .opset_import
                .iter()
                .find(|o| o.domain == domain || (domain.is_empty() && o.domain == "ai.onnx"))
                .map_or(1, |o| o.version)
        };
        let mut nodes = Vec::with_capacity(proto.graph.node.len());
        for node in &proto.graph.node {
            let op = ops::parse(node, opset(&node.domain))?;
            nodes.push(Node { op, inputs: node.input.clone(), outputs: node.output.clone() });
        }
        let mut initializers = HashMap::new();
        for t in &proto.graph.initializer {
            initializers.insert(t.name.clone(), tensor_from_proto(t)?);
        }
        check_order(&nodes, &initializers, &proto.graph.input)?;
        let inputs: Vec<InputSpec> = proto
            .graph
            .input
            .iter()
            .filter(|v| !initializers.contains_key(&v.name))
            .map(input_spec)
            .collect::<Result<_, _>>()?;
        if inputs.is_empty() {
            return Err(ModelError::Malformed("the model has no inputs".into()));
        }
        let outputs: Vec<String> = proto.graph.output.iter().map(|o| o.name.clone()).collect();
        let signature = signature(&nodes, &outputs, inputs)?;
        Ok(Model { nodes, initializers, signature, outputs })
    }

    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The tree ensembles of the model, in graph order (for explanations).
    pub fn tree_ensembles(&self) -> Vec<&TreeEnsemble> {
        self.nodes
            .iter()
            .filter_map(|n| match &n.op {
                ops::Op::TreeEnsemble(te) => Some(te.as_ref()),
                _ => None,
            })
            .collect()
    }

    /// The model's one tree ensemble, for explanations, and whether it reads a graph input
    /// directly (then its features are that input's columns; otherwise the graph's
    /// preprocessing computes them, and SHAP values are over those computed features).
    pub fn explained_ensemble(&self) -> Result<(&TreeEnsemble, bool), ModelError> {
        let mut found = self.nodes.iter().filter_map(|n| match &n.op {
            ops::Op::TreeEnsemble(te) => Some((te.as_ref(), n)),
            _ => None,
        });
        match (found.next(), found.next()) {
            (Some((te, node)), None) => {
                let direct = node.inputs.first().is_some_and(|i| self.signature.inputs.iter().any(|s| &s.name == i));
                Ok((te, direct))
            }
            (None, _) => Err(ModelError::Input("the model has no tree ensemble to explain".into())),
            (Some(_), Some(_)) => {
                Err(ModelError::Input("the model has several tree ensembles; riskops explains one".into()))
            }
        }
    }

    /// The rows the tree ensemble reads, widened to f64 as the evaluator does: the graph runs
    /// up to the ensemble (its preprocessing, if any). Returns the values (row-major) and the
    /// number of columns.
    pub fn ensemble_features(&self, inputs: HashMap<String, Tensor>) -> Result<(Vec<f64>, usize), ModelError> {
        let (ensemble, _) = self.explained_ensemble()?;
        let at = self
            .nodes
            .iter()
            .position(|n| matches!(&n.op, ops::Op::TreeEnsemble(te) if std::ptr::eq(te.as_ref(), ensemble)))
            .ok_or_else(|| ModelError::Malformed("the tree ensemble is not in the graph".into()))?;
        let name = self.nodes[at]
            .inputs
            .first()
            .ok_or_else(|| ModelError::Malformed("a tree ensemble without input".into()))?;
        let mut values = self.evaluate(&inputs, at)?;
        let t = values
            .remove(name.as_str())
            .or_else(|| inputs.get(name).cloned())
            .or_else(|| self.initializers.get(name).cloned())
            .ok_or_else(|| ModelError::Malformed(format!("value {name} is not computed by the graph")))?;
        let (_, cols) = t.rows_cols()?;
        Ok((t.to_f64()?, cols))
    }

    /// Evaluates the graph; returns every graph output by name.
    pub fn run(&self, inputs: HashMap<String, Tensor>) -> Result<HashMap<String, Tensor>, ModelError> {
        let mut values = self.evaluate(&inputs, self.nodes.len())?;
        let mut result = HashMap::new();
        for name in &self.outputs {
            let t = values
                .remove(name.as_str())
                .or_else(|| inputs.get(name).cloned())
                .ok_or_else(|| ModelError::Malformed(format!("output {name} is not computed by the graph")))?;
            result.insert(name.clone(), t);
        }
        Ok(result)
    }

    /// Checks the inputs and runs the first `upto` nodes; returns the values they computed.
    fn evaluate<'a>(
        &'a self,
        inputs: &HashMap<String, Tensor>,
        upto: usize,
    ) -> Result<HashMap<&'a str, Tensor>, ModelError> {
        for spec in &self.signature.inputs {
            let t =
                inputs.get(&spec.name).ok_or_else(|| ModelError::Input(format!("input {} is not given", spec.name)))?;
            check_input(spec, t)?;
        }
        let mut values: HashMap<&str, Tensor> = HashMap::new();
        for node in &self.nodes[..upto] {
            let args: Vec<Option<&Tensor>> = node
                .inputs
                .iter()
                .map(|name| {
                    if name.is_empty() {
                        None
                    } else {
                        values.get(name.as_str()).or_else(|| inputs.get(name)).or_else(|| self.initializers.get(name))
                    }
                })
                .collect();
            let out = node.op.run(&args, node.outputs.len())?;
            for (name, t) in node.outputs.iter().zip(out) {
                values.insert(name.as_str(), t);
            }
        }
        Ok(values)
    }

    /// Runs the model and picks the label (or value) and the probabilities out. A large batch
    /// is cut into one run of whole rows per core (tabular models score each row on its own,
    /// so the answer is the same, value for value); anything unusual runs as one batch.
    pub fn predict(&self, inputs: HashMap<String, Tensor>) -> Result<Prediction, ModelError> {
        let rows = inputs.values().next().map(|t| t.shape.first().copied().unwrap_or(1)).unwrap_or(0);
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        let parts = cores.min(rows / MIN_ROWS_PER_THREAD);
        let batch_first = inputs.values().all(|t| t.shape.len() >= 2 && t.shape[0] == rows);
        if parts > 1
            && batch_first
            && let Some(prediction) = self.predict_in_parts(&inputs, rows, parts)
        {
            return Ok(prediction);
        }
        self.predict_batch(inputs)
    }

    /// `predict` over `parts` runs of rows on as many threads; `None` when a part fails or the
    /// parts do not fit together (then the whole batch runs, and reports any error).
    fn predict_in_parts(&self, inputs: &HashMap<String, Tensor>, rows: usize, parts: usize) -> Option<Prediction> {
        let bounds: Vec<std::ops::Range<usize>> =
            (0..parts).map(|i| (rows * i / parts)..(rows * (i + 1) / parts)).collect();
        let results: Vec<Result<Prediction, ModelError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = bounds
                .iter()
                .map(|range| {
                    let part: HashMap<String, Tensor> =
                        inputs.iter().map(|(name, t)| (name.clone(), t.rows(range.clone()))).collect();
                    scope.spawn(move || self.predict_batch(part))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or(Err(ModelError::Malformed("a scoring thread failed".into()))))
                .collect()
        });
        let mut labels = Vec::with_capacity(parts);
        let mut probabilities: Option<Vec<f32>> = None;
        let mut classes = None;
        for result in results {
            let p = result.ok()?;
            labels.push(p.labels);
            if let Some(v) = p.probabilities {
                probabilities.get_or_insert_with(|| Vec::with_capacity(v.len() * parts)).extend(v);
            }
            classes = p.classes;
        }
        Some(Prediction { labels: Data::concat(labels)?, probabilities, classes })
    }

    fn predict_batch(&self, inputs: HashMap<String, Tensor>) -> Result<Prediction, ModelError> {
        let rows = inputs.values().next().map(|t| t.shape.first().copied().unwrap_or(1)).unwrap_or(0);
        let mut out = self.run(inputs)?;
        let label = out.remove(&self.signature.label).ok_or_else(|| ModelError::Malformed("no label output".into()))?;
        let labels = match label.data {
            // A regressor's [N, 1] values, or labels of any shape, one per row.
            d @ (Data::F32(_) | Data::F64(_) | Data::I64(_) | Data::Str(_) | Data::Bool(_)) if d.len() == rows => d,
            d => return Err(ModelError::Malformed(format!("the label output has {} values for {rows} rows", d.len()))),
        };
        let (probabilities, classes) = match &self.signature.probabilities {
            Some((name, classes)) => {
                let p = out.remove(name).ok_or_else(|| ModelError::Malformed("no probability output".into()))?;
                let v = p.to_f32()?;
                if v.len() != rows * classes.len() {
                    return Err(ModelError::Malformed(format!(
                        "{} probabilities for {rows} rows × {} classes",
                        v.len(),
                        classes.len()
                    )));
                }
                (Some(v), Some(classes.clone()))
            }
            None => (None, None),
        };
        Ok(Prediction { labels, probabilities, classes })
    }
}

/// Nodes are in topological order: each input is a graph input, an initializer or an earlier output.
fn check_order(
    nodes: &[Node],
    initializers: &HashMap<String, Tensor>,
    inputs: &[proto::ValueInfoProto],
) -> Result<(), ModelError> {
    let mut known: std::collections::HashSet<&str> = inputs.iter().map(|v| v.name.as_str()).collect();
    known.extend(initializers.keys().map(String::as_str));
    for node in nodes {
        if let Some(missing) = node.inputs.iter().find(|i| !i.is_empty() && !known.contains(i.as_str())) {
            return Err(ModelError::Malformed(format!("value {missing} is used before it is computed")));
        }
        known.extend(node.outputs.iter().map(String::as_str));
    }
    Ok(())
}

fn input_spec(v: &proto::ValueInfoProto) -> Result<InputSpec, ModelError> {
    match &v.r#type {
        Some(TypeProto::Tensor { elem_type, shape }) => Ok(InputSpec {
            name: v.name.clone(),
            elem_type: ElemType::from_code(*elem_type),
            shape: shape
                .as_deref()
                .unwrap_or_default()
                .iter()
                .map(|d| match d {
                    Dim::Fixed(n) if *n > 0 => Some(*n),
                    _ => None,
                })
                .collect(),
        }),
        _ => Err(ModelError::Malformed(format!("input {} is not a tensor", v.name))),
    }
}

fn check_input(spec: &InputSpec, t: &Tensor) -> Result<(), ModelError> {
    if tensor::checked_size(&t.shape) != Some(t.len()) {
        return Err(ModelError::Input(format!(
            "input {}: shape {:?} does not match {} values",
            spec.name,
            t.shape,
            t.len()
        )));
    }
    let ok = match spec.elem_type {
        ElemType::String => matches!(t.data, Data::Str(_)),
        ElemType::Float => matches!(t.data, Data::F32(_)),
        ElemType::Double => matches!(t.data, Data::F64(_)),
        ElemType::Int64 | ElemType::Int32 => matches!(t.data, Data::I64(_)),
        ElemType::Bool => matches!(t.data, Data::Bool(_)),
        ElemType::Other(_) => false,
    };
    if !ok {
        return Err(ModelError::Input(format!(
            "input {} takes {}, got {}",
            spec.name,
            spec.elem_type.name(),
            t.data.type_name()
        )));
    }
    if let Some(w) = spec.width() {
        let (_, cols) = t.rows_cols()?;
        if cols != w {
            return Err(ModelError::Input(format!("input {} takes {w} columns, got {cols}", spec.name)));
        }
    }
    Ok(())
}

/// Finds the label and probability outputs, and the classes from the classifier or ZipMap.
fn signature(nodes: &[Node], outputs: &[String], inputs: Vec<InputSpec>) -> Result<Signature, ModelError> {
    let label = outputs.first().cloned().ok_or_else(|| ModelError::Malformed("the model has no outputs".into()))?;
    let zipmap = nodes.iter().find_map(|n| match &n.op {
        ops::Op::ZipMap { labels } => Some(labels.clone()),
        _ => None,
    });
    let classifier = nodes.iter().rev().find_map(|n| match &n.op {
        ops::Op::LinearClassifier(lc) => Some(lc.labels.clone()),
        ops::Op::TreeEnsemble(te) => match &te.kind {
            tree::EnsembleKind::Classifier { labels } => Some(labels.clone()),
            tree::EnsembleKind::Regressor { .. } => None,
        },
        _ => None,
    });
    let classes = zipmap.or(classifier);
    let task = if classes.is_some() { Task::Classification } else { Task::Regression };
    // The probabilities are the second output of a classifier; other graphs' further outputs
    // are left to `run`.
    let probabilities = match (outputs.get(1), classes) {
        (Some(p), Some(classes)) => Some((p.clone(), classes)),
        _ => None,
    };
    Ok(Signature { inputs, label, probabilities, task })
}

/// A constant tensor (initializer or attribute).
pub(crate) fn tensor_from_proto(t: &proto::TensorProto) -> Result<Tensor, ModelError> {
    if t.external {
        return Err(ModelError::Malformed(format!(
            "tensor {} keeps its data in another file; save the model as one file",
            t.name
        )));
    }
    let shape: Vec<usize> = t
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| ModelError::Malformed("negative dimension".into())))
        .collect::<Result<_, _>>()?;
    let raw = &t.raw_data;
    let data = match t.data_type {
        dtype::FLOAT if !raw.is_empty() => {
            Data::F32(raw.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
        }
        dtype::FLOAT => Data::F32(t.float_data.clone()),
        dtype::DOUBLE if !raw.is_empty() => Data::F64(
            raw.chunks_exact(8).map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])).collect(),
        ),
        dtype::DOUBLE => Data::F64(t.double_data.clone()),
        dtype::INT64 if !raw.is_empty() => Data::I64(
            raw.chunks_exact(8).map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])).collect(),
        ),
        dtype::INT64 => Data::I64(t.int64_data.clone()),
        dtype::INT32 if !raw.is_empty() => {
            Data::I64(raw.chunks_exact(4).map(|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]]))).collect())
        }
        dtype::INT32 | dtype::INT8 | dtype::UINT8 if raw.is_empty() => {
            Data::I64(t.int32_data.iter().map(|&v| i64::from(v)).collect())
        }
        dtype::INT8 => Data::I64(raw.iter().map(|&b| i64::from(b as i8)).collect()),
        dtype::UINT8 => Data::I64(raw.iter().map(|&b| i64::from(b)).collect()),
        dtype::BOOL if !raw.is_empty() => Data::Bool(raw.iter().map(|&b| b != 0).collect()),
        dtype::BOOL => Data::Bool(t.int32_data.iter().map(|&v| v != 0).collect()),
        dtype::STRING => Data::Str(t.string_data.iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect()),
        other => return Err(ModelError::Malformed(format!("tensor {} has unsupported element type {other}", t.name))),
    };
    Tensor::new(shape, data)
        .map_err(|_| ModelError::Malformed(format!("tensor {} has the wrong number of values", t.name)))
}
