//! Dataset columns to model inputs: one input per column by name; a single 2-D input takes the
//! feature columns in file order (label and id-like columns left out) or as `features` lists
//! them; `input_map` renames where the model's names and the data's differ.

use std::collections::HashMap;

use crate::{ElemType, InputSpec, ModelError, Signature, Tensor, tensor::Data};

/// One column of a dataset as read (missing numbers are NaN, missing text None).
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnValues {
    Float(Vec<f64>),
    Int(Vec<i64>),
    Bool(Vec<bool>),
    Str(Vec<Option<String>>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub values: ColumnValues,
}

impl Column {
    pub fn len(&self) -> usize {
        match &self.values {
            ColumnValues::Float(v) => v.len(),
            ColumnValues::Int(v) => v.len(),
            ColumnValues::Bool(v) => v.len(),
            ColumnValues::Str(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn kind(&self) -> &'static str {
        match &self.values {
            ColumnValues::Float(_) => "float",
            ColumnValues::Int(_) => "integer",
            ColumnValues::Bool(_) => "bool",
            ColumnValues::Str(_) => "text",
        }
    }
}

/// Which columns feed an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputBinding {
    pub input: String,
    pub columns: Vec<String>,
}

/// Columns such as `id`, `ID` or `customer_id`: carried through, never a feature.
pub fn is_id_like(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower == "id" || lower.ends_with("_id")
}

/// Builds the model's inputs from columns. `input_map` maps an input name (or, for a single
/// 2-D input, a name in `features`) to the column that holds it.
pub fn bind_columns(
    signature: &Signature,
    columns: &[Column],
    label: Option<&str>,
    features: Option<&[String]>,
    input_map: &HashMap<String, String>,
) -> Result<(HashMap<String, Tensor>, Vec<InputBinding>), ModelError> {
    let rows = columns.first().map_or(0, Column::len);
    let find = |name: &str| -> Result<&Column, ModelError> {
        let target = input_map.get(name).map_or(name, String::as_str);
        columns.iter().find(|c| c.name == target).ok_or_else(|| {
            let known: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
            ModelError::Input(format!(
                "the data has no column {target:?} (columns: {}); map it with --input-map",
                known.join(", ")
            ))
        })
    };
    if let Some(label) = label
        && !columns.iter().any(|c| c.name == label)
    {
        return Err(ModelError::Input(format!("the data has no label column {label:?}")));
    }
    // One input takes the feature columns unless a column carries its name (a one-column model).
    let single_matrix = match signature.inputs.as_slice() {
        [only] => features.is_some() || find(&only.name).is_err() || only.width().is_some_and(|w| w > 1),
        _ => false,
    };
    let mut tensors = HashMap::new();
    let mut bindings = Vec::new();
    if single_matrix {
        let spec = &signature.inputs[0];
        let chosen: Vec<&Column> = match features {
            Some(list) => list.iter().map(|f| find(f)).collect::<Result<_, _>>()?,
            None => columns.iter().filter(|c| Some(c.name.as_str()) != label && !is_id_like(&c.name)).collect(),
        };
        if let Some(w) = spec.width()
            && w != chosen.len()
        {
            return Err(ModelError::Input(format!(
                "input {} takes {w} features, the data gives {} ({}); name them with --features",
                spec.name,
                chosen.len(),
                chosen.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
            )));
        }
        tensors.insert(spec.name.clone(), matrix(spec, &chosen, rows)?);
        bindings
            .push(InputBinding { input: spec.name.clone(), columns: chosen.iter().map(|c| c.name.clone()).collect() });
    } else {
        for spec in &signature.inputs {
            let column = find(&spec.name)?;
            tensors.insert(spec.name.clone(), matrix(spec, &[column], rows)?);
            bindings.push(InputBinding { input: spec.name.clone(), columns: vec![column.name.clone()] });
        }
    }
    Ok((tensors, bindings))
}

/// Rows × columns of the input's element type, row-major.
fn matrix(spec: &InputSpec, columns: &[&Column], rows: usize) -> Result<Tensor, ModelError> {
    let width = columns.len();
    let mismatch = |c: &Column| {
        ModelError::Input(format!(
            "column {} is {}, but input {} takes {}",
            c.name,
            c.kind(),
            spec.name,
            spec.elem_type.name()
        ))
    };
    let data = match spec.elem_type {
        ElemType::Float | ElemType::Double => {
            let mut v = vec![0f64; rows * width];
            for (j, c) in columns.iter().enumerate() {
                let values: Vec<f64> = match &c.values {
                    ColumnValues::Float(x) => x.clone(),
                    ColumnValues::Int(x) => x.iter().map(|&i| i as f64).collect(),
                    ColumnValues::Bool(x) => x.iter().map(|&b| f64::from(u8::from(b))).collect(),
                    ColumnValues::Str(_) => return Err(mismatch(c)),
                };
                for (i, x) in values.into_iter().enumerate().take(rows) {
                    v[i * width + j] = x;
                }
            }
            if spec.elem_type == ElemType::Float {
                Data::F32(v.into_iter().map(|x| x as f32).collect())
            } else {
                Data::F64(v)
            }
        }
        ElemType::Int64 | ElemType::Int32 => {
            let mut v = vec![0i64; rows * width];
            for (j, c) in columns.iter().enumerate() {
                let values: Vec<i64> = match &c.values {
                    ColumnValues::Int(x) => x.clone(),
                    ColumnValues::Bool(x) => x.iter().map(|&b| i64::from(b)).collect(),
                    ColumnValues::Float(x) if x.iter().all(|f| f.fract() == 0.0) => {
                        x.iter().map(|&f| f as i64).collect()
                    }
                    _ => return Err(mismatch(c)),
                };
                for (i, x) in values.into_iter().enumerate().take(rows) {
                    v[i * width + j] = x;
                }
            }
            Data::I64(v)
        }
        ElemType::String => {
            let mut v = vec![String::new(); rows * width];
            for (j, c) in columns.iter().enumerate() {
                let values: Vec<String> = match &c.values {
                    ColumnValues::Str(x) => x.iter().map(|s| s.clone().unwrap_or_default()).collect(),
                    ColumnValues::Int(x) => x.iter().map(i64::to_string).collect(),
                    ColumnValues::Bool(x) => x.iter().map(|b| if *b { "True" } else { "False" }.to_string()).collect(),
                    ColumnValues::Float(_) => return Err(mismatch(c)),
                };
                for (i, x) in values.into_iter().enumerate().take(rows) {
                    v[i * width + j] = x;
                }
            }
            Data::Str(v)
        }
        ElemType::Bool => {
            let mut v = vec![false; rows * width];
            for (j, c) in columns.iter().enumerate() {
                let values: Vec<bool> = match &c.values {
                    ColumnValues::Bool(x) => x.clone(),
                    _ => return Err(mismatch(c)),
                };
                for (i, x) in values.into_iter().enumerate().take(rows) {
                    v[i * width + j] = x;
                }
            }
            Data::Bool(v)
        }
        ElemType::Other(_) => {
            return Err(ModelError::Input(format!("input {} has an element type riskops cannot feed", spec.name)));
        }
    };
    Tensor::new(vec![rows, width], data)
}
