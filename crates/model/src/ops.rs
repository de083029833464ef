//! The operators, each parsed from its node once at load time and run over whole batches.

use std::collections::HashMap;

use crate::ModelError;
use crate::attrs::Attrs;
use crate::proto::{NodeProto, dtype};
use crate::tensor::{Data, Tensor};
use crate::transform::PostTransform;
use crate::tree::{ClassLabels, TreeEnsemble};

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    // ai.onnx
    Identity,
    Cast { to: i32 },
    Concat { axis: i64 },
    Reshape,
    Flatten { axis: i64 },
    Squeeze { axes: Option<Vec<i64>> },
    Unsqueeze { axes: Option<Vec<i64>> },
    Slice { legacy: Option<LegacySlice> },
    Gather { axis: i64 },
    Gemm { alpha: f32, beta: f32, trans_a: bool, trans_b: bool },
    MatMul,
    Binary(BinaryOp),
    Unary(UnaryOp),
    Softmax { axis: i64, legacy: bool },
    ArgMax { axis: i64, keepdims: bool, last: bool },
    // ai.onnx.ml
    Scaler { offset: Vec<f32>, scale: Vec<f32> },
    OneHotEncoder { cats: Categories, zeros: bool },
    LabelEncoder(Box<LabelEncoder>),
    Imputer { floats: Vec<f32>, replaced_float: f32, ints: Vec<i64>, replaced_int: i64 },
    Normalizer { norm: Norm },
    ZipMap { labels: ClassLabels },
    FeatureVectorizer { dims: Vec<usize> },
    ArrayFeatureExtractor,
    Binarizer { threshold: f32 },
    CategoryMapper { ints: Vec<i64>, strings: Vec<String>, default_int: i64, default_string: String },
    LinearClassifier(Box<LinearClassifier>),
    LinearRegressor { coefficients: Vec<f32>, intercepts: Vec<f32>, targets: usize, post_transform: PostTransform },
    TreeEnsemble(Box<TreeEnsemble>),
}

/// Slice before opset 10: starts, ends and axes as attributes.
pub type LegacySlice = (Vec<i64>, Vec<i64>, Option<Vec<i64>>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Relu,
    Sigmoid,
    Tanh,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Norm {
    Max,
    L1,
    L2,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Categories {
    Int(Vec<i64>),
    Str(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct LabelEncoder {
    keys: Data,
    values: Data,
    default: Data,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LinearClassifier {
    pub coefficients: Vec<f32>,
    pub intercepts: Vec<f32>,
    pub labels: ClassLabels,
    pub post_transform: PostTransform,
}

/// Every (domain, operator) this evaluator runs.
pub const SUPPORTED: &[(&str, &str)] = &[
    ("ai.onnx", "Identity"),
    ("ai.onnx", "Cast"),
    ("ai.onnx", "Concat"),
    ("ai.onnx", "Reshape"),
    ("ai.onnx", "Flatten"),
    ("ai.onnx", "Squeeze"),
    ("ai.onnx", "Unsqueeze"),
    ("ai.onnx", "Slice"),
    ("ai.onnx", "Gather"),
    ("ai.onnx", "Gemm"),
    ("ai.onnx", "MatMul"),
    ("ai.onnx", "Add"),
    ("ai.onnx", "Sub"),
    ("ai.onnx", "Mul"),
    ("ai.onnx", "Div"),
    ("ai.onnx", "Relu"),
    ("ai.onnx", "Sigmoid"),
    ("ai.onnx", "Tanh"),
    ("ai.onnx", "Softmax"),
    ("ai.onnx", "ArgMax"),
    ("ai.onnx.ml", "Scaler"),
    ("ai.onnx.ml", "OneHotEncoder"),
    ("ai.onnx.ml", "LabelEncoder"),
    ("ai.onnx.ml", "Imputer"),
    ("ai.onnx.ml", "Normalizer"),
    ("ai.onnx.ml", "ZipMap"),
    ("ai.onnx.ml", "FeatureVectorizer"),
    ("ai.onnx.ml", "ArrayFeatureExtractor"),
    ("ai.onnx.ml", "Binarizer"),
    ("ai.onnx.ml", "CategoryMapper"),
    ("ai.onnx.ml", "LinearClassifier"),
    ("ai.onnx.ml", "LinearRegressor"),
    ("ai.onnx.ml", "TreeEnsembleClassifier"),
    ("ai.onnx.ml", "TreeEnsembleRegressor"),
];

fn bad(op: &str, why: impl std::fmt::Display) -> ModelError {
    ModelError::Input(format!("{op}: {why}"))
}

/// Parses a node; `opset` is the version of the node's domain the model imports.
pub fn parse(node: &NodeProto, opset: i64) -> Result<Op, ModelError> {
    let domain = if node.domain.is_empty() || node.domain == "ai.onnx" { "ai.onnx" } else { node.domain.as_str() };
    if !SUPPORTED.contains(&(domain, node.op_type.as_str())) {
        return Err(ModelError::Unsupported { op_type: node.op_type.clone(), domain: domain.to_string() });
    }
    let a = Attrs::new(node);
    if a.has_subgraph() {
        return Err(a.bad("sub-graphs are not supported"));
    }
    let op = match node.op_type.as_str() {
        "Identity" => Op::Identity,
        "Cast" => Op::Cast { to: a.int_or("to", 0) as i32 },
        "Concat" => Op::Concat { axis: a.int_or("axis", 0) },
        "Reshape" => Op::Reshape,
        "Flatten" => Op::Flatten { axis: a.int_or("axis", 1) },
        "Squeeze" => Op::Squeeze { axes: a.ints_opt("axes").map(<[i64]>::to_vec) },
        "Unsqueeze" => Op::Unsqueeze { axes: a.ints_opt("axes").map(<[i64]>::to_vec) },
        "Slice" if opset < 10 => Op::Slice {
            legacy: Some((
                a.ints("starts")?.to_vec(),
                a.ints("ends")?.to_vec(),
                a.ints_opt("axes").map(<[i64]>::to_vec),
            )),
        },
        "Slice" => Op::Slice { legacy: None },
        "Gather" => Op::Gather { axis: a.int_or("axis", 0) },
        "Gemm" => Op::Gemm {
            alpha: a.float_or("alpha", 1.0),
            beta: a.float_or("beta", 1.0),
            trans_a: a.int_or("transA", 0) != 0,
            trans_b: a.int_or("transB", 0) != 0,
        },
        "MatMul" => Op::MatMul,
        "Add" => Op::Binary(BinaryOp::Add),
        "Sub" => Op::Binary(BinaryOp::Sub),
        "Mul" => Op::Binary(BinaryOp::Mul),
        "Div" => Op::Binary(BinaryOp::Div),
        "Relu" => Op::Unary(UnaryOp::Relu),
        "Sigmoid" => Op::Unary(UnaryOp::Sigmoid),
        "Tanh" => Op::Unary(UnaryOp::Tanh),
        "Softmax" => Op::Softmax { axis: a.int_or("axis", if opset < 13 { 1 } else { -1 }), legacy: opset < 13 },
        "ArgMax" => Op::ArgMax {
            axis: a.int_or("axis", 0),
            keepdims: a.int_or("keepdims", 1) != 0,
            last: a.int_or("select_last_index", 0) != 0,
        },
        "Scaler" => Op::Scaler {
            offset: a.floats_opt("offset").map(<[f32]>::to_vec).unwrap_or_default(),
            scale: a.floats_opt("scale").map(<[f32]>::to_vec).unwrap_or_default(),
        },
        "OneHotEncoder" => {
            let cats = match a.ints_opt("cats_int64s") {
                Some(v) if !v.is_empty() => Categories::Int(v.to_vec()),
                _ => Categories::Str(a.strings("cats_strings")?),
            };
            Op::OneHotEncoder { cats, zeros: a.int_or("zeros", 1) != 0 }
        }
        "LabelEncoder" => Op::LabelEncoder(Box::new(label_encoder(&a, opset)?)),
        "Imputer" => Op::Imputer {
            floats: a.floats_opt("imputed_value_floats").map(<[f32]>::to_vec).unwrap_or_default(),
            replaced_float: a.float_or("replaced_value_float", 0.0),
            ints: a.ints_opt("imputed_value_int64s").map(<[i64]>::to_vec).unwrap_or_default(),
            replaced_int: a.int_or("replaced_value_int64", 0),
        },
        "Normalizer" => Op::Normalizer {
            norm: match a.string_or("norm", "MAX")?.as_str() {
                "MAX" => Norm::Max,
                "L1" => Norm::L1,
                "L2" => Norm::L2,
                other => return Err(a.bad(&format!("unknown norm {other}"))),
            },
        },
        "ZipMap" => Op::ZipMap { labels: class_labels(&a, "classlabels_int64s", "classlabels_strings")? },
        "FeatureVectorizer" => Op::FeatureVectorizer {
            dims: a.ints_opt("inputdimensions").unwrap_or_default().iter().map(|&d| d.max(0) as usize).collect(),
        },
        "ArrayFeatureExtractor" => Op::ArrayFeatureExtractor,
        "Binarizer" => Op::Binarizer { threshold: a.float_or("threshold", 0.0) },
        "CategoryMapper" => Op::CategoryMapper {
            ints: a.ints_opt("cats_int64s").map(<[i64]>::to_vec).unwrap_or_default(),
            strings: a.strings_opt("cats_strings")?.unwrap_or_default(),
            default_int: a.int_or("default_int64", -1),
            default_string: a.string_or("default_string", "_Unused")?,
        },
        "LinearClassifier" => Op::LinearClassifier(Box::new(LinearClassifier {
            coefficients: a.floats_opt("coefficients").map(<[f32]>::to_vec).ok_or_else(|| a.bad("no coefficients"))?,
            intercepts: a.floats_opt("intercepts").map(<[f32]>::to_vec).unwrap_or_default(),
            labels: class_labels(&a, "classlabels_ints", "classlabels_strings")?,
            post_transform: PostTransform::parse(&a.string_or("post_transform", "NONE")?)?,
        })),
        "LinearRegressor" => Op::LinearRegressor {
            coefficients: a.floats_opt("coefficients").map(<[f32]>::to_vec).ok_or_else(|| a.bad("no coefficients"))?,
            intercepts: a.floats_opt("intercepts").map(<[f32]>::to_vec).unwrap_or_default(),
            targets: usize::try_from(a.int_or("targets", 1)).ok().filter(|&t| t > 0).ok_or_else(|| a.bad("targets"))?,
            post_transform: PostTransform::parse(&a.string_or("post_transform", "NONE")?)?,
        },
        "TreeEnsembleClassifier" => Op::TreeEnsemble(Box::new(TreeEnsemble::from_attrs(&a, true)?)),
        "TreeEnsembleRegressor" => Op::TreeEnsemble(Box::new(TreeEnsemble::from_attrs(&a, false)?)),
        other => return Err(ModelError::Unsupported { op_type: other.to_string(), domain: domain.to_string() }),
    };
    Ok(op)
}

fn class_labels(a: &Attrs, ints: &str, strings: &str) -> Result<ClassLabels, ModelError> {
    match a.ints_opt(ints) {
        Some(v) if !v.is_empty() => Ok(ClassLabels::Int(v.to_vec())),
        _ => Ok(ClassLabels::Str(a.strings_opt(strings)?.unwrap_or_default())),
    }
}

fn label_encoder(a: &Attrs, opset: i64) -> Result<LabelEncoder, ModelError> {
    if opset < 2 {
        // classes_strings[i] <-> i
        let classes = a.strings("classes_strings")?;
        return Ok(LabelEncoder {
            keys: Data::Str(classes.clone()),
            values: Data::I64((0..classes.len() as i64).collect()),
            default: Data::I64(vec![a.int_or("default_int64", -1)]),
        });
    }
    let list = |kind: &str| -> Result<Option<Data>, ModelError> {
        if let Some(v) = a.strings_opt(&format!("{kind}_strings"))? {
            return Ok(Some(Data::Str(v)));
        }
        if let Some(v) = a.ints_opt(&format!("{kind}_int64s")) {
            return Ok(Some(Data::I64(v.to_vec())));
        }
        if let Some(v) = a.floats_opt(&format!("{kind}_floats")) {
            return Ok(Some(Data::F32(v.to_vec())));
        }
        a.data(&format!("{kind}_tensor"))
    };
    let keys = list("keys")?.ok_or_else(|| a.bad("no keys"))?;
    let values = list("values")?.ok_or_else(|| a.bad("no values"))?;
    if keys.len() != values.len() {
        return Err(a.bad("keys and values differ in length"));
    }
    let default = match &values {
        Data::Str(_) => Data::Str(vec![a.string_or("default_string", "_Unused")?]),
        Data::I64(_) => Data::I64(vec![a.int_or("default_int64", -1)]),
        _ => Data::F32(vec![a.float_or("default_float", -0.0)]),
    };
    Ok(LabelEncoder { keys, values, default })
}

fn axis(axis: i64, rank: usize) -> Result<usize, ModelError> {
    let a = if axis < 0 { axis + rank as i64 } else { axis };
    usize::try_from(a)
        .ok()
        .filter(|&a| a < rank.max(1))
        .ok_or_else(|| bad("axis", format!("{axis} out of range for rank {rank}")))
}

impl Op {
    pub fn run(&self, inputs: &[Option<&Tensor>], n_outputs: usize) -> Result<Vec<Tensor>, ModelError> {
        let x = || inputs.first().copied().flatten().ok_or_else(|| bad("operator", "missing input"));
        let input = |i: usize| inputs.get(i).copied().flatten();
        Ok(match self {
            Op::Identity | Op::ZipMap { .. } => vec![x()?.clone()],
            Op::Cast { to } => vec![cast(x()?, *to)?],
            Op::Concat { axis } => vec![concat(inputs, *axis)?],
            Op::Reshape => vec![reshape(x()?, input(1).ok_or_else(|| bad("Reshape", "no shape"))?)?],
            Op::Flatten { axis: ax } => {
                let t = x()?;
                let a = if *ax < 0 {
                    (*ax + t.shape.len() as i64).max(0) as usize
                } else {
                    (*ax as usize).min(t.shape.len())
                };
                let outer: usize = t.shape[..a].iter().product();
                vec![t.clone().reshaped(vec![outer, t.len() / outer.max(1)])?]
            }
            Op::Squeeze { axes } => vec![squeeze(x()?, axes.clone().or(ints_input(input(1))?))?],
            Op::Unsqueeze { axes } => vec![unsqueeze(x()?, axes.clone().or(ints_input(input(1))?))?],
            Op::Slice { legacy } => vec![slice(x()?, legacy.as_ref(), inputs)?],
            Op::Gather { axis } => vec![gather(x()?, input(1).ok_or_else(|| bad("Gather", "no indices"))?, *axis)?],
            Op::Gemm { alpha, beta, trans_a, trans_b } => {
                vec![gemm(x()?, input(1), input(2), *alpha, *beta, *trans_a, *trans_b)?]
            }
            Op::MatMul => vec![matmul(x()?, input(1).ok_or_else(|| bad("MatMul", "no B"))?)?],
            Op::Binary(op) => vec![binary(*op, x()?, input(1).ok_or_else(|| bad("binary operator", "one input"))?)?],
            Op::Unary(op) => vec![unary(*op, x()?)?],
            Op::Softmax { axis, legacy } => vec![softmax(x()?, *axis, *legacy)?],
            Op::ArgMax { axis, keepdims, last } => vec![argmax(x()?, *axis, *keepdims, *last)?],
            Op::Scaler { offset, scale } => vec![scaler(x()?, offset, scale)?],
            Op::OneHotEncoder { cats, zeros } => vec![one_hot(x()?, cats, *zeros)?],
            Op::LabelEncoder(le) => vec![le.run(x()?)?],
            Op::Imputer { floats, replaced_float, ints, replaced_int } => {
                vec![impute(x()?, floats, *replaced_float, ints, *replaced_int)?]
            }
            Op::Normalizer { norm } => vec![normalize(x()?, *norm)?],
            Op::FeatureVectorizer { dims } => vec![feature_vectorizer(inputs, dims)?],
            Op::ArrayFeatureExtractor => vec![array_feature_extractor(
                x()?,
                input(1).ok_or_else(|| bad("ArrayFeatureExtractor", "no indices"))?,
            )?],
            Op::Binarizer { threshold } => {
                let t = x()?;
                let v = t.to_f32()?.into_iter().map(|v| if v > *threshold { 1.0 } else { 0.0 }).collect();
                vec![Tensor::f32(t.shape.clone(), v)]
            }
            Op::CategoryMapper { ints, strings, default_int, default_string } => {
                vec![category_mapper(x()?, ints, strings, *default_int, default_string)?]
            }
            Op::LinearClassifier(lc) => lc.run(x()?)?,
            Op::LinearRegressor { coefficients, intercepts, targets, post_transform } => {
                vec![linear_regressor(x()?, coefficients, intercepts, *targets, *post_transform)?]
            }
            Op::TreeEnsemble(te) => tree_ensemble(te, x()?, n_outputs)?,
        })
    }
}

fn ints_input(t: Option<&Tensor>) -> Result<Option<Vec<i64>>, ModelError> {
    t.map(Tensor::to_i64).transpose()
}

fn cast(t: &Tensor, to: i32) -> Result<Tensor, ModelError> {
    let data = match to {
        dtype::FLOAT => Data::F32(match &t.data {
            Data::Str(v) => v.iter().map(|s| s.trim().parse::<f32>().unwrap_or(f32::NAN)).collect(),
            _ => t.to_f32()?,
        }),
        dtype::DOUBLE => Data::F64(match &t.data {
            Data::Str(v) => v.iter().map(|s| s.trim().parse::<f64>().unwrap_or(f64::NAN)).collect(),
            _ => t.to_f64()?,
        }),
        dtype::INT64 | dtype::INT32 | dtype::INT8 | dtype::UINT8 => Data::I64(t.to_i64()?),
        dtype::BOOL => Data::Bool(t.to_f64()?.into_iter().map(|v| v != 0.0).collect()),
        dtype::STRING => Data::Str(match &t.data {
            Data::Str(v) => v.clone(),
            Data::I64(v) => v.iter().map(i64::to_string).collect(),
            other => return Err(bad("Cast", format!("casting {} to string is not supported", other.type_name()))),
        }),
        other => return Err(bad("Cast", format!("unsupported target type {other}"))),
    };
    Ok(Tensor { shape: t.shape.clone(), data })
}

/// Row-major strides of a shape.
fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

fn concat(inputs: &[Option<&Tensor>], ax: i64) -> Result<Tensor, ModelError> {
    let parts: Vec<&Tensor> = inputs.iter().flatten().copied().collect();
    let first = parts.first().ok_or_else(|| bad("Concat", "no inputs"))?;
    let rank = first.shape.len();
    let a = axis(ax, rank)?;
    let outer: usize = first.shape[..a].iter().product();
    let mut shape = first.shape.clone();
    shape[a] = 0;
    for p in &parts {
        if p.shape.len() != rank || p.shape[..a] != first.shape[..a] || p.shape[a + 1..] != first.shape[a + 1..] {
            return Err(bad(
                "Concat",
                format!("shapes {:?} and {:?} do not concatenate on axis {ax}", first.shape, p.shape),
            ));
        }
        shape[a] += p.shape[a];
    }
    let mut out: Data = match &first.data {
        Data::F32(_) => Data::F32(Vec::new()),
        Data::F64(_) => Data::F64(Vec::new()),
        Data::I64(_) => Data::I64(Vec::new()),
        Data::Str(_) => Data::Str(Vec::new()),
        Data::Bool(_) => Data::Bool(Vec::new()),
    };
    for o in 0..outer {
        for p in &parts {
            let chunk = p.len() / outer.max(1);
            let range = o * chunk..(o + 1) * chunk;
            match (&mut out, &p.data) {
                (Data::F32(d), Data::F32(s)) => d.extend_from_slice(&s[range]),
                (Data::F64(d), Data::F64(s)) => d.extend_from_slice(&s[range]),
                (Data::I64(d), Data::I64(s)) => d.extend_from_slice(&s[range]),
                (Data::Str(d), Data::Str(s)) => d.extend_from_slice(&s[range]),
                (Data::Bool(d), Data::Bool(s)) => d.extend_from_slice(&s[range]),
                _ => return Err(bad("Concat", "inputs of different element types")),
            }
        }
    }
    Tensor::new(shape, out)
}

fn reshape(t: &Tensor, shape: &Tensor) -> Result<Tensor, ModelError> {
    let spec = shape.to_i64()?;
    let mut out = Vec::with_capacity(spec.len());
    let mut infer = None;
    for (i, &d) in spec.iter().enumerate() {
        match d {
            0 => out.push(*t.shape.get(i).ok_or_else(|| bad("Reshape", "0 beyond the input's rank"))?),
            -1 if infer.is_none() => {
                infer = Some(i);
                out.push(1);
            }
            d if d > 0 => out.push(d as usize),
            _ => return Err(bad("Reshape", format!("invalid shape {spec:?}"))),
        }
    }
    if let Some(i) = infer {
        let known =
            crate::tensor::checked_size(&out).ok_or_else(|| bad("Reshape", format!("invalid shape {spec:?}")))?;
        if known == 0 || !t.len().is_multiple_of(known) {
            return Err(bad("Reshape", format!("cannot reshape {:?} to {spec:?}", t.shape)));
        }
        out[i] = t.len() / known;
    }
    t.clone().reshaped(out)
}

fn squeeze(t: &Tensor, axes: Option<Vec<i64>>) -> Result<Tensor, ModelError> {
    let rank = t.shape.len();
    let drop: Vec<usize> = match axes {
        Some(a) => a.iter().map(|&x| axis(x, rank)).collect::<Result<_, _>>()?,
        None => (0..rank).filter(|&i| t.shape[i] == 1).collect(),
    };
    let shape = t.shape.iter().enumerate().filter(|(i, _)| !drop.contains(i)).map(|(_, &d)| d).collect();
    t.clone().reshaped(shape)
}

fn unsqueeze(t: &Tensor, axes: Option<Vec<i64>>) -> Result<Tensor, ModelError> {
    let axes = axes.ok_or_else(|| bad("Unsqueeze", "no axes"))?;
    let rank = t.shape.len() + axes.len();
    let mut add: Vec<usize> = axes.iter().map(|&a| axis(a, rank)).collect::<Result<_, _>>()?;
    add.sort_unstable();
    let mut shape = t.shape.clone();
    for a in add {
        shape.insert(a.min(shape.len()), 1);
    }
    t.clone().reshaped(shape)
}

fn slice(t: &Tensor, legacy: Option<&LegacySlice>, inputs: &[Option<&Tensor>]) -> Result<Tensor, ModelError> {
    let (starts, ends, axes, steps) = match legacy {
        Some((s, e, a)) => (s.clone(), e.clone(), a.clone(), None),
        None => {
            let get = |i: usize| ints_input(inputs.get(i).copied().flatten());
            (get(1)?.unwrap_or_default(), get(2)?.unwrap_or_default(), get(3)?, get(4)?)
        }
    };
    let rank = t.shape.len();
    let axes: Vec<i64> = axes.unwrap_or_else(|| (0..starts.len() as i64).collect());
    let mut ranges: Vec<(i64, i64, i64)> = t.shape.iter().map(|&d| (0, d as i64, 1)).collect();
    for (i, &ax) in axes.iter().enumerate() {
        let a = axis(ax, rank)?;
        let dim = t.shape[a] as i64;
        let step = steps.as_ref().and_then(|s| s.get(i).copied()).unwrap_or(1);
        if step == 0 {
            return Err(bad("Slice", "step 0"));
        }
        let clamp = |v: i64, lo: i64, hi: i64| v.clamp(lo, hi);
        let norm = |v: i64| if v < 0 { v + dim } else { v };
        let (s, e) = (starts.get(i).copied().unwrap_or(0), ends.get(i).copied().unwrap_or(dim));
        ranges[a] = if step > 0 {
            (clamp(norm(s), 0, dim), clamp(norm(e), 0, dim), step)
        } else {
            (clamp(norm(s), -1, dim - 1), clamp(norm(e), -1, dim - 1), step)
        };
    }
    let picks: Vec<Vec<usize>> = ranges
        .iter()
        .map(|&(s, e, st)| {
            let mut v = Vec::new();
            let mut i = s;
            while (st > 0 && i < e) || (st < 0 && i > e) {
                v.push(i as usize);
                i += st;
            }
            v
        })
        .collect();
    let shape: Vec<usize> = picks.iter().map(Vec::len).collect();
    let st = strides(&t.shape);
    let mut index = vec![0usize];
    for (a, p) in picks.iter().enumerate() {
        let stride = st[a];
        index = index.iter().flat_map(|&base| p.iter().map(move |&i| base + i * stride)).collect();
    }
    Ok(t.take(shape, &index))
}

fn gather(t: &Tensor, indices: &Tensor, ax: i64) -> Result<Tensor, ModelError> {
    let a = axis(ax, t.shape.len())?;
    let dim = t.shape[a] as i64;
    let idx: Vec<usize> = indices
        .to_i64()?
        .into_iter()
        .map(|i| {
            let j = if i < 0 { i + dim } else { i };
            usize::try_from(j)
                .ok()
                .filter(|&j| j < dim as usize)
                .ok_or_else(|| bad("Gather", format!("index {i} out of range")))
        })
        .collect::<Result<_, _>>()?;
    let outer: usize = t.shape[..a].iter().product();
    let inner: usize = t.shape[a + 1..].iter().product();
    let mut index = Vec::with_capacity(outer * idx.len() * inner);
    for o in 0..outer {
        for &i in &idx {
            let base = (o * t.shape[a] + i) * inner;
            index.extend(base..base + inner);
        }
    }
    let mut shape = t.shape[..a].to_vec();
    shape.extend_from_slice(&indices.shape);
    shape.extend_from_slice(&t.shape[a + 1..]);
    Ok(t.take(shape, &index))
}

/// C = A·B for 2-D float32 matrices, summed in k order.
fn matmul2(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
    let mut c = vec![0f32; m * n];
    for i in 0..m {
        let row = &mut c[i * n..(i + 1) * n];
        for p in 0..k {
            let av = a[i * k + p];
            let brow = &b[p * n..(p + 1) * n];
            for (cj, &bj) in row.iter_mut().zip(brow) {
                // Fused, as onnxruntime's MLAS kernels accumulate.
                *cj = av.mul_add(bj, *cj);
            }
        }
    }
    c
}

fn transpose(v: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0f32; v.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = v[r * cols + c];
        }
    }
    out
}

fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor, ModelError> {
    let (av, bv) = (a.to_f32()?, b.to_f32()?);
    let (m, k) = match a.shape.as_slice() {
        [k] => (1, *k),
        [m, k] => (*m, *k),
        s => return Err(bad("MatMul", format!("A of shape {s:?} is not supported"))),
    };
    let (k2, n) = match b.shape.as_slice() {
        [k] => (*k, 1),
        [k, n] => (*k, *n),
        s => return Err(bad("MatMul", format!("B of shape {s:?} is not supported"))),
    };
    if k != k2 {
        return Err(bad("MatMul", format!("shapes {:?} and {:?} do not multiply", a.shape, b.shape)));
    }
    let mut shape = vec![];
    if a.shape.len() == 2 {
        shape.push(m);
    }
    if b.shape.len() == 2 {
        shape.push(n);
    }
    Ok(Tensor::f32(shape, matmul2(&av, &bv, m, k, n)))
}

#[allow(clippy::too_many_arguments)]
fn gemm(
    a: &Tensor,
    b: Option<&Tensor>,
    c: Option<&Tensor>,
    alpha: f32,
    beta: f32,
    trans_a: bool,
    trans_b: bool,
) -> Result<Tensor, ModelError> {
    let b = b.ok_or_else(|| bad("Gemm", "no B"))?;
    let (ar, ac) = a.rows_cols()?;
    let (br, bc) = b.rows_cols()?;
    let (m, k, av) = if trans_a { (ac, ar, transpose(&a.to_f32()?, ar, ac)) } else { (ar, ac, a.to_f32()?) };
    let (k2, n, bv) = if trans_b { (bc, br, transpose(&b.to_f32()?, br, bc)) } else { (br, bc, b.to_f32()?) };
    if k != k2 {
        return Err(bad("Gemm", format!("shapes {:?} and {:?} do not multiply", a.shape, b.shape)));
    }
    let mut y = matmul2(&av, &bv, m, k, n);
    y.iter_mut().for_each(|v| *v *= alpha);
    let mut out = Tensor::f32(vec![m, n], y);
    if let Some(c) = c {
        let scaled = Tensor::f32(c.shape.clone(), c.to_f32()?.into_iter().map(|v| v * beta).collect());
        out = binary(BinaryOp::Add, &out, &scaled)?;
    }
    Ok(out)
}

/// Numpy broadcasting: the output shape and, for each output element, the input's flat index.
fn broadcast_index(shape: &[usize], out: &[usize]) -> Vec<usize> {
    let pad = out.len() - shape.len();
    let st = strides(shape);
    let total: usize = out.iter().product();
    let ost = strides(out);
    (0..total)
        .map(|flat| {
            let mut idx = 0;
            for (d, &os) in ost.iter().enumerate() {
                let coord = (flat / os) % out[d].max(1);
                if d >= pad && shape[d - pad] != 1 {
                    idx += coord * st[d - pad];
                }
            }
            idx
        })
        .collect()
}

fn broadcast_shape(a: &[usize], b: &[usize]) -> Result<Vec<usize>, ModelError> {
    let rank = a.len().max(b.len());
    (0..rank)
        .map(|i| {
            let x = if i + a.len() >= rank { a[i + a.len() - rank] } else { 1 };
            let y = if i + b.len() >= rank { b[i + b.len() - rank] } else { 1 };
            match (x, y) {
                (x, y) if x == y => Ok(x),
                (1, y) => Ok(y),
                (x, 1) => Ok(x),
                _ => Err(bad("broadcast", format!("shapes {a:?} and {b:?} do not broadcast"))),
            }
        })
        .collect()
}

fn binary(op: BinaryOp, a: &Tensor, b: &Tensor) -> Result<Tensor, ModelError> {
    let shape = broadcast_shape(&a.shape, &b.shape)?;
    let (ia, ib) = (broadcast_index(&a.shape, &shape), broadcast_index(&b.shape, &shape));
    let data = match (&a.data, &b.data) {
        (Data::F64(x), Data::F64(y)) => Data::F64(
            ia.iter()
                .zip(&ib)
                .map(|(&i, &j)| match op {
                    BinaryOp::Add => x[i] + y[j],
                    BinaryOp::Sub => x[i] - y[j],
                    BinaryOp::Mul => x[i] * y[j],
                    BinaryOp::Div => x[i] / y[j],
                })
                .collect(),
        ),
        (Data::I64(x), Data::I64(y)) => Data::I64(
            ia.iter()
                .zip(&ib)
                .map(|(&i, &j)| match op {
                    BinaryOp::Add => x[i].wrapping_add(y[j]),
                    BinaryOp::Sub => x[i].wrapping_sub(y[j]),
                    BinaryOp::Mul => x[i].wrapping_mul(y[j]),
                    BinaryOp::Div => x[i].checked_div(y[j]).unwrap_or(0),
                })
                .collect(),
        ),
        _ => {
            let (x, y) = (a.to_f32()?, b.to_f32()?);
            Data::F32(
                ia.iter()
                    .zip(&ib)
                    .map(|(&i, &j)| match op {
                        BinaryOp::Add => x[i] + y[j],
                        BinaryOp::Sub => x[i] - y[j],
                        BinaryOp::Mul => x[i] * y[j],
                        BinaryOp::Div => x[i] / y[j],
                    })
                    .collect(),
            )
        }
    };
    Tensor::new(shape, data)
}

fn unary(op: UnaryOp, t: &Tensor) -> Result<Tensor, ModelError> {
    let v = t
        .to_f32()?
        .into_iter()
        .map(|x| match op {
            UnaryOp::Relu => x.max(0.0),
            UnaryOp::Sigmoid => crate::transform::logistic(x),
            UnaryOp::Tanh => x.tanh(),
        })
        .collect();
    Ok(Tensor::f32(t.shape.clone(), v))
}

fn softmax(t: &Tensor, ax: i64, legacy: bool) -> Result<Tensor, ModelError> {
    let rank = t.shape.len();
    let a = axis(ax, rank)?;
    let mut v = t.to_f32()?;
    if legacy || a + 1 == rank {
        // Rows of everything from `a` on (opset < 13 flattens; the last axis is the same).
        let inner: usize = t.shape[a..].iter().product();
        v.chunks_mut(inner.max(1)).for_each(crate::transform::softmax);
    } else {
        let inner: usize = t.shape[a + 1..].iter().product();
        let dim = t.shape[a];
        let outer: usize = t.shape[..a].iter().product();
        for o in 0..outer {
            for i in 0..inner {
                let mut row: Vec<f32> = (0..dim).map(|d| v[(o * dim + d) * inner + i]).collect();
                crate::transform::softmax(&mut row);
                for (d, x) in row.into_iter().enumerate() {
                    v[(o * dim + d) * inner + i] = x;
                }
            }
        }
    }
    Ok(Tensor::f32(t.shape.clone(), v))
}

fn argmax(t: &Tensor, ax: i64, keepdims: bool, last: bool) -> Result<Tensor, ModelError> {
    let a = axis(ax, t.shape.len())?;
    let v = t.to_f64()?;
    let dim = t.shape[a];
    let inner: usize = t.shape[a + 1..].iter().product();
    let outer: usize = t.shape[..a].iter().product();
    let mut out = Vec::with_capacity(outer * inner);
    for o in 0..outer {
        for i in 0..inner {
            let mut best = 0usize;
            for d in 1..dim {
                let (x, b) = (v[(o * dim + d) * inner + i], v[(o * dim + best) * inner + i]);
                if x > b || (last && x == b) {
                    best = d;
                }
            }
            out.push(best as i64);
        }
    }
    let mut shape = t.shape.clone();
    if keepdims {
        shape[a] = 1;
    } else {
        shape.remove(a);
    }
    Tensor::new(shape, Data::I64(out))
}

fn scaler(t: &Tensor, offset: &[f32], scale: &[f32]) -> Result<Tensor, ModelError> {
    let (_, cols) = t.rows_cols()?;
    let pick = |v: &[f32], j: usize, default: f32| -> f32 {
        match v.len() {
            0 => default,
            1 => v[0],
            _ => v.get(j).copied().unwrap_or(default),
        }
    };
    for (name, v) in [("offset", offset), ("scale", scale)] {
        if v.len() > 1 && v.len() != cols {
            return Err(bad("Scaler", format!("{name} has {} values for {cols} columns", v.len())));
        }
    }
    let out: Vec<f32> = match &t.data {
        // A double input is scaled in double and narrowed, as onnxruntime does.
        Data::F64(x) => x
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                ((v - f64::from(pick(offset, i % cols, 0.0))) * f64::from(pick(scale, i % cols, 1.0))) as f32
            })
            .collect(),
        _ => t
            .to_f32()?
            .iter()
            .enumerate()
            .map(|(i, &v)| (v - pick(offset, i % cols, 0.0)) * pick(scale, i % cols, 1.0))
            .collect(),
    };
    Ok(Tensor::f32(t.shape.clone(), out))
}

fn one_hot(t: &Tensor, cats: &Categories, zeros: bool) -> Result<Tensor, ModelError> {
    let n = match cats {
        Categories::Int(v) => v.len(),
        Categories::Str(v) => v.len(),
    };
    let positions: Vec<Option<usize>> = match (cats, &t.data) {
        (Categories::Str(c), Data::Str(v)) => {
            let map: HashMap<&str, usize> = c.iter().enumerate().map(|(i, s)| (s.as_str(), i)).collect();
            v.iter().map(|s| map.get(s.as_str()).copied()).collect()
        }
        (Categories::Int(c), Data::Str(_)) | (Categories::Int(c), _) if !matches!(t.data, Data::Str(_)) => {
            let map: HashMap<i64, usize> = c.iter().enumerate().map(|(i, &s)| (s, i)).collect();
            t.to_i64()?.iter().map(|s| map.get(s).copied()).collect()
        }
        _ => return Err(bad("OneHotEncoder", format!("{} input for these categories", t.data.type_name()))),
    };
    let mut out = vec![0f32; positions.len() * n];
    for (r, p) in positions.iter().enumerate() {
        match p {
            Some(j) => out[r * n + j] = 1.0,
            None if !zeros => return Err(bad("OneHotEncoder", "a value is not one of the categories")),
            None => {}
        }
    }
    let mut shape = t.shape.clone();
    shape.push(n);
    Ok(Tensor::f32(shape, out))
}

impl LabelEncoder {
    fn run(&self, t: &Tensor) -> Result<Tensor, ModelError> {
        let index: Vec<Option<usize>> = match (&self.keys, &t.data) {
            (Data::Str(k), Data::Str(v)) => {
                let map: HashMap<&str, usize> = k.iter().enumerate().map(|(i, s)| (s.as_str(), i)).collect();
                v.iter().map(|s| map.get(s.as_str()).copied()).collect()
            }
            (Data::I64(k), _) => {
                let map: HashMap<i64, usize> = k.iter().enumerate().map(|(i, &s)| (s, i)).collect();
                t.to_i64()?.iter().map(|s| map.get(s).copied()).collect()
            }
            (Data::F32(k), _) => {
                let x = t.to_f32()?;
                x.iter().map(|v| k.iter().position(|kk| kk == v || (kk.is_nan() && v.is_nan()))).collect()
            }
            _ => return Err(bad("LabelEncoder", format!("{} input for these keys", t.data.type_name()))),
        };
        let data = match (&self.values, &self.default) {
            (Data::Str(v), Data::Str(d)) => {
                Data::Str(index.iter().map(|i| i.map_or(d[0].clone(), |i| v[i].clone())).collect())
            }
            (Data::I64(v), Data::I64(d)) => Data::I64(index.iter().map(|i| i.map_or(d[0], |i| v[i])).collect()),
            (Data::F32(v), Data::F32(d)) => Data::F32(index.iter().map(|i| i.map_or(d[0], |i| v[i])).collect()),
            _ => return Err(bad("LabelEncoder", "unsupported value type")),
        };
        Ok(Tensor { shape: t.shape.clone(), data })
    }
}

fn impute(
    t: &Tensor,
    floats: &[f32],
    replaced_float: f32,
    ints: &[i64],
    replaced_int: i64,
) -> Result<Tensor, ModelError> {
    let (_, cols) = t.rows_cols()?;
    match &t.data {
        Data::I64(v) => {
            let out = v
                .iter()
                .enumerate()
                .map(|(i, &x)| {
                    if x == replaced_int {
                        if ints.len() == 1 { ints[0] } else { ints.get(i % cols).copied().unwrap_or(x) }
                    } else {
                        x
                    }
                })
                .collect();
            Ok(Tensor { shape: t.shape.clone(), data: Data::I64(out) })
        }
        _ => {
            if floats.len() != 1 && floats.len() != cols {
                return Err(bad("Imputer", format!("{} imputed values for {cols} columns", floats.len())));
            }
            let hit = |x: f32| if replaced_float.is_nan() { x.is_nan() } else { x == replaced_float };
            let out = t
                .to_f32()?
                .iter()
                .enumerate()
                .map(|(i, &x)| if hit(x) { if floats.len() == 1 { floats[0] } else { floats[i % cols] } } else { x })
                .collect();
            Ok(Tensor::f32(t.shape.clone(), out))
        }
    }
}

/// Row-wise normalisation as onnxruntime computes it (L2 as `±sqrt(x² / Σx²)`; a zero norm
/// leaves the row as it is).
fn normalize(t: &Tensor, norm: Norm) -> Result<Tensor, ModelError> {
    let (_, cols) = t.rows_cols()?;
    let squares: Vec<f32> = match &t.data {
        Data::F64(v) => v.iter().map(|x| (x * x) as f32).collect(),
        _ => t.to_f32()?.iter().map(|x| x * x).collect(),
    };
    let mut v = t.to_f32()?;
    for (row, sq) in v.chunks_mut(cols.max(1)).zip(squares.chunks(cols.max(1))) {
        match norm {
            Norm::Max | Norm::L1 => {
                let d = if norm == Norm::Max {
                    row.iter().copied().fold(f32::MIN, f32::max)
                } else {
                    row.iter().map(|x| x.abs()).sum()
                };
                if d != 0.0 {
                    row.iter_mut().for_each(|x| *x /= d);
                }
            }
            Norm::L2 => {
                let sum: f32 = sq.iter().sum();
                if sum != 0.0 {
                    for (x, s) in row.iter_mut().zip(sq) {
                        let r = (s / sum).sqrt();
                        *x = if *x < 0.0 { -r } else { r };
                    }
                }
            }
        }
    }
    Ok(Tensor::f32(t.shape.clone(), v))
}

fn feature_vectorizer(inputs: &[Option<&Tensor>], dims: &[usize]) -> Result<Tensor, ModelError> {
    let parts: Vec<&Tensor> = inputs.iter().flatten().copied().collect();
    let rows = parts.first().map(|t| t.rows_cols().map(|(r, _)| r)).transpose()?.unwrap_or(0);
    let total: usize = dims.iter().sum();
    let mut out = vec![0f32; rows * total];
    let mut at = 0;
    for (p, &d) in parts.iter().zip(dims) {
        let (r, c) = p.rows_cols()?;
        if r != rows {
            return Err(bad("FeatureVectorizer", "inputs differ in rows"));
        }
        let v = p.to_f32()?;
        for i in 0..rows {
            for j in 0..d.min(c) {
                out[i * total + at + j] = v[i * c + j];
            }
        }
        at += d;
    }
    Ok(Tensor::f32(vec![rows, total], out))
}

fn array_feature_extractor(t: &Tensor, indices: &Tensor) -> Result<Tensor, ModelError> {
    let last = *t.shape.last().ok_or_else(|| bad("ArrayFeatureExtractor", "scalar input"))?;
    let idx: Vec<usize> = indices
        .to_i64()?
        .into_iter()
        .map(|i| {
            usize::try_from(i)
                .ok()
                .filter(|&i| i < last)
                .ok_or_else(|| bad("ArrayFeatureExtractor", format!("index {i} out of range")))
        })
        .collect::<Result<_, _>>()?;
    let outer = t.len() / last.max(1);
    let index: Vec<usize> = (0..outer).flat_map(|o| idx.iter().map(move |&i| o * last + i)).collect();
    let mut shape = if t.shape.len() == 1 { vec![1] } else { t.shape[..t.shape.len() - 1].to_vec() };
    shape.push(idx.len());
    Ok(t.take(shape, &index))
}

fn category_mapper(
    t: &Tensor,
    ints: &[i64],
    strings: &[String],
    default_int: i64,
    default_string: &str,
) -> Result<Tensor, ModelError> {
    let data = match &t.data {
        Data::Str(v) => {
            let map: HashMap<&str, i64> = strings.iter().zip(ints).map(|(s, &i)| (s.as_str(), i)).collect();
            Data::I64(v.iter().map(|s| map.get(s.as_str()).copied().unwrap_or(default_int)).collect())
        }
        _ => {
            let map: HashMap<i64, &str> = ints.iter().zip(strings).map(|(&i, s)| (i, s.as_str())).collect();
            Data::Str(t.to_i64()?.iter().map(|i| map.get(i).copied().unwrap_or(default_string).to_string()).collect())
        }
    };
    Ok(Tensor { shape: t.shape.clone(), data })
}

/// Scores X·Wᵀ + b for `targets` rows of coefficients.
fn linear_scores(
    t: &Tensor,
    coefficients: &[f32],
    intercepts: &[f32],
    targets: usize,
    op: &str,
) -> Result<(usize, Vec<f32>), ModelError> {
    let (rows, cols) = t.rows_cols()?;
    if coefficients.len() != targets * cols {
        return Err(bad(op, format!("{} coefficients for {targets} outputs × {cols} features", coefficients.len())));
    }
    let x = t.to_f32()?;
    let mut out = matmul2(&x, &transpose(coefficients, targets, cols), rows, cols, targets);
    if intercepts.len() == targets {
        for row in out.chunks_mut(targets) {
            row.iter_mut().zip(intercepts).for_each(|(s, b)| *s += b);
        }
    }
    Ok((rows, out))
}

impl LinearClassifier {
    fn run(&self, t: &Tensor) -> Result<Vec<Tensor>, ModelError> {
        let (_, cols) = t.rows_cols()?;
        let targets =
            if self.intercepts.is_empty() { self.coefficients.len() / cols.max(1) } else { self.intercepts.len() };
        let (rows, scores) = linear_scores(t, &self.coefficients, &self.intercepts, targets, "LinearClassifier")?;
        let mut label_idx = Vec::with_capacity(rows);
        let mut probs = Vec::with_capacity(rows * targets.max(2));
        for row in scores.chunks(targets.max(1)) {
            if targets == 1 {
                label_idx.push(usize::from(row[0] > 0.0));
            } else {
                let mut best = 0;
                for (j, &v) in row.iter().enumerate().skip(1) {
                    if v > row[best] {
                        best = j;
                    }
                }
                label_idx.push(best);
            }
            let mut r = row.to_vec();
            self.post_transform.apply(&mut r);
            if targets == 1 && self.labels.len() == 2 {
                probs.extend_from_slice(&[1.0 - r[0], r[0]]);
            } else {
                probs.extend_from_slice(&r);
            }
        }
        let width = probs.len() / rows.max(1);
        let labels = labels_tensor(&self.labels, &label_idx, targets == 1);
        Ok(vec![labels, Tensor::f32(vec![rows, width], probs)])
    }
}

/// The label tensor for chosen class indices (binary models without two labels use 0/1).
fn labels_tensor(labels: &ClassLabels, idx: &[usize], binary_default: bool) -> Tensor {
    let data = match labels {
        ClassLabels::Int(l) if l.len() > 1 || !binary_default => {
            Data::I64(idx.iter().map(|&i| l.get(i).copied().unwrap_or(i as i64)).collect())
        }
        ClassLabels::Str(l) if !l.is_empty() => {
            Data::Str(idx.iter().map(|&i| l.get(i).cloned().unwrap_or_else(|| i.to_string())).collect())
        }
        _ => Data::I64(idx.iter().map(|&i| i as i64).collect()),
    };
    Tensor { shape: vec![idx.len()], data }
}

fn linear_regressor(
    t: &Tensor,
    coefficients: &[f32],
    intercepts: &[f32],
    targets: usize,
    post: PostTransform,
) -> Result<Tensor, ModelError> {
    let (rows, mut scores) = linear_scores(t, coefficients, intercepts, targets, "LinearRegressor")?;
    if post != PostTransform::None {
        scores.chunks_mut(targets).for_each(|r| post.apply(r));
    }
    Ok(Tensor::f32(vec![rows, targets], scores))
}

fn tree_ensemble(te: &TreeEnsemble, t: &Tensor, n_outputs: usize) -> Result<Vec<Tensor>, ModelError> {
    let (rows, cols) = t.rows_cols()?;
    // Widened to f64: a float32 value compares with a float32 threshold exactly as in float32,
    // and a double input compares in double, as onnxruntime does for each input type.
    let x = t.to_f64()?;
    let out = te.eval(&x, rows, cols);
    let scores = Tensor::f32(vec![rows, out.width], out.scores);
    match &te.kind {
        crate::tree::EnsembleKind::Regressor { .. } => Ok(vec![scores]),
        crate::tree::EnsembleKind::Classifier { labels } => {
            let label = labels_tensor(labels, &out.labels, false);
            Ok(if n_outputs >= 2 { vec![label, scores] } else { vec![label] })
        }
    }
}
