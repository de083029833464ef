//! Tensors: a shape and row-major data of one element type. A batch of N rows is the first axis.

use crate::ModelError;

/// The values of a tensor, one vector per element type the evaluator computes with.
/// INT32 and smaller integer types are widened to `I64`; BOOL is kept as `Bool`.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I64(Vec<i64>),
    Str(Vec<String>),
    Bool(Vec<bool>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Data,
}

/// The number of elements of a shape, or None when it overflows (a corrupt or hostile
/// shape); zero dimensions count as one for the overflow check, so every partial product of a
/// shape that passes fits too.
pub fn checked_size(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d.max(1)))?;
    Some(shape.iter().product())
}

impl Data {
    pub fn len(&self) -> usize {
        match self {
            Data::F32(v) => v.len(),
            Data::F64(v) => v.len(),
            Data::I64(v) => v.len(),
            Data::Str(v) => v.len(),
            Data::Bool(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values `range` (a run of whole rows of a row-major tensor).
    pub fn slice(&self, range: std::ops::Range<usize>) -> Data {
        match self {
            Data::F32(v) => Data::F32(v[range].to_vec()),
            Data::F64(v) => Data::F64(v[range].to_vec()),
            Data::I64(v) => Data::I64(v[range].to_vec()),
            Data::Str(v) => Data::Str(v[range].to_vec()),
            Data::Bool(v) => Data::Bool(v[range].to_vec()),
        }
    }

    /// `parts` one after the other; `None` when they are not all of one type.
    pub fn concat(parts: Vec<Data>) -> Option<Data> {
        let mut parts = parts.into_iter();
        let mut out = parts.next()?;
        for part in parts {
            match (&mut out, part) {
                (Data::F32(a), Data::F32(b)) => a.extend(b),
                (Data::F64(a), Data::F64(b)) => a.extend(b),
                (Data::I64(a), Data::I64(b)) => a.extend(b),
                (Data::Str(a), Data::Str(b)) => a.extend(b),
                (Data::Bool(a), Data::Bool(b)) => a.extend(b),
                _ => return None,
            }
        }
        Some(out)
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Data::F32(_) => "float",
            Data::F64(_) => "double",
            Data::I64(_) => "int64",
            Data::Str(_) => "string",
            Data::Bool(_) => "bool",
        }
    }
}

impl Tensor {
    pub fn new(shape: Vec<usize>, data: Data) -> Result<Tensor, ModelError> {
        let size = checked_size(&shape).ok_or_else(|| ModelError::Input(format!("shape {shape:?} is too large")))?;
        if size != data.len() {
            return Err(ModelError::Input(format!(
                "a tensor of shape {shape:?} needs {size} values, got {}",
                data.len()
            )));
        }
        Ok(Tensor { shape, data })
    }

    /// Rows `range` of a tensor whose first dimension is the batch.
    pub fn rows(&self, range: std::ops::Range<usize>) -> Tensor {
        let per_row: usize = self.shape.iter().skip(1).product();
        let mut shape = self.shape.clone();
        if let Some(first) = shape.first_mut() {
            *first = range.len();
        }
        Tensor { shape, data: self.data.slice(range.start * per_row..range.end * per_row) }
    }

    pub fn f32(shape: Vec<usize>, v: Vec<f32>) -> Tensor {
        Tensor { shape, data: Data::F32(v) }
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Values as f32 (what ONNX-ML operators compute in); strings are refused.
    pub fn to_f32(&self) -> Result<Vec<f32>, ModelError> {
        Ok(match &self.data {
            Data::F32(v) => v.clone(),
            Data::F64(v) => v.iter().map(|&x| x as f32).collect(),
            Data::I64(v) => v.iter().map(|&x| x as f32).collect(),
            Data::Bool(v) => v.iter().map(|&x| f32::from(u8::from(x))).collect(),
            Data::Str(_) => return Err(ModelError::Input("expected numbers, got strings".into())),
        })
    }

    pub fn to_f64(&self) -> Result<Vec<f64>, ModelError> {
        Ok(match &self.data {
            Data::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            Data::F64(v) => v.clone(),
            Data::I64(v) => v.iter().map(|&x| x as f64).collect(),
            Data::Bool(v) => v.iter().map(|&x| f64::from(u8::from(x))).collect(),
            Data::Str(_) => return Err(ModelError::Input("expected numbers, got strings".into())),
        })
    }

    pub fn to_i64(&self) -> Result<Vec<i64>, ModelError> {
        Ok(match &self.data {
            Data::F32(v) => v.iter().map(|&x| x as i64).collect(),
            Data::F64(v) => v.iter().map(|&x| x as i64).collect(),
            Data::I64(v) => v.clone(),
            Data::Bool(v) => v.iter().map(|&x| i64::from(x)).collect(),
            Data::Str(_) => return Err(ModelError::Input("expected integers, got strings".into())),
        })
    }

    /// Rows × columns of a 1-D or 2-D tensor (1-D is one row, as ONNX-ML operators read it).
    pub fn rows_cols(&self) -> Result<(usize, usize), ModelError> {
        match self.shape.as_slice() {
            [c] => Ok((1, *c)),
            [r, c] => Ok((*r, *c)),
            [r, rest @ ..] => Ok((*r, rest.iter().product())),
            [] => Ok((1, 1)),
        }
    }

    /// The same data with another shape (same element count, checked).
    pub fn reshaped(mut self, shape: Vec<usize>) -> Result<Tensor, ModelError> {
        if checked_size(&shape) != Some(self.len()) {
            return Err(ModelError::Input(format!("cannot reshape {:?} to {shape:?}", self.shape)));
        }
        self.shape = shape;
        Ok(self)
    }

    /// Picks elements by flat index (gathering, slicing, concatenating all reduce to this).
    pub fn take(&self, shape: Vec<usize>, index: &[usize]) -> Tensor {
        fn pick<T: Clone>(v: &[T], index: &[usize]) -> Vec<T> {
            index.iter().map(|&i| v[i].clone()).collect()
        }
        let data = match &self.data {
            Data::F32(v) => Data::F32(pick(v, index)),
            Data::F64(v) => Data::F64(pick(v, index)),
            Data::I64(v) => Data::I64(pick(v, index)),
            Data::Str(v) => Data::Str(pick(v, index)),
            Data::Bool(v) => Data::Bool(pick(v, index)),
        };
        Tensor { shape, data }
    }
}
