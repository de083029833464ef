//! The operators, each parsed from its node once at load time and run over whole batches.

use std::collections::HashMap;

use crate::ModelError;
use crate::attrs::Attrs;
use crate::proto::{NodeProto, dtype};
use crate::tensor::{Data, Tensor};
use crate::transform::PostTransform;
use crate::tree::{ClassLabels, TreeEnsemble};

mod ml;
mod onnx;
use ml::*;
use onnx::*;

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
