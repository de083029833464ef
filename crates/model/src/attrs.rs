//! A node's attributes by name, with errors that name the operator and attribute.

use crate::ModelError;
use crate::proto::{AttributeProto, NodeProto, TensorProto};
use crate::tensor::Data;

pub struct Attrs<'a> {
    op: String,
    list: &'a [AttributeProto],
}

impl<'a> Attrs<'a> {
    pub fn new(node: &'a NodeProto) -> Attrs<'a> {
        let domain = if node.domain.is_empty() { "ai.onnx" } else { node.domain.as_str() };
        Attrs { op: format!("{} ({domain})", node.op_type), list: &node.attribute }
    }

    pub fn bad(&self, why: &str) -> ModelError {
        ModelError::Malformed(format!("operator {}: {why}", self.op))
    }

    fn get(&self, name: &str) -> Option<&'a AttributeProto> {
        self.list.iter().find(|a| a.name == name)
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn int_or(&self, name: &str, default: i64) -> i64 {
        self.get(name).map_or(default, |a| a.i)
    }

    pub fn float_or(&self, name: &str, default: f32) -> f32 {
        self.get(name).map_or(default, |a| a.f)
    }

    pub fn string_or(&self, name: &str, default: &str) -> Result<String, ModelError> {
        match self.get(name) {
            Some(a) => String::from_utf8(a.s.clone()).map_err(|_| self.bad(&format!("{name} is not UTF-8"))),
            None => Ok(default.to_string()),
        }
    }

    pub fn ints_opt(&self, name: &str) -> Option<&'a [i64]> {
        self.get(name).map(|a| a.ints.as_slice())
    }

    pub fn ints(&self, name: &str) -> Result<&'a [i64], ModelError> {
        self.ints_opt(name).ok_or_else(|| self.bad(&format!("attribute {name} is missing")))
    }

    pub fn floats_opt(&self, name: &str) -> Option<&'a [f32]> {
        self.get(name).map(|a| a.floats.as_slice())
    }

    /// A float list, or the same values given as `<name>_as_tensor` (narrowed to f32).
    pub fn floats_or_tensor(&self, name: &str) -> Result<Option<Vec<f32>>, ModelError> {
        if let Some(v) = self.floats_opt(name) {
            return Ok(Some(v.to_vec()));
        }
        Ok(self.doubles_tensor(&format!("{name}_as_tensor"))?.map(|v| v.into_iter().map(|x| x as f32).collect()))
    }

    pub fn doubles_tensor(&self, name: &str) -> Result<Option<Vec<f64>>, ModelError> {
        match self.get(name).and_then(|a| a.t.as_ref()) {
            Some(t) => {
                let tensor = crate::tensor_from_proto(t)?;
                Ok(Some(tensor.to_f64()?))
            }
            None => Ok(None),
        }
    }

    pub fn strings_opt(&self, name: &str) -> Result<Option<Vec<String>>, ModelError> {
        match self.get(name) {
            Some(a) => a
                .strings
                .iter()
                .map(|s| String::from_utf8(s.clone()).map_err(|_| self.bad(&format!("{name} is not UTF-8"))))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            None => Ok(None),
        }
    }

    pub fn strings(&self, name: &str) -> Result<Vec<String>, ModelError> {
        self.strings_opt(name)?.ok_or_else(|| self.bad(&format!("attribute {name} is missing")))
    }

    pub fn tensor(&self, name: &str) -> Result<Option<crate::Tensor>, ModelError> {
        self.get(name).and_then(|a| a.t.as_ref()).map(crate::tensor_from_proto).transpose()
    }

    pub fn tensor_proto(&self, name: &str) -> Option<&'a TensorProto> {
        self.get(name).and_then(|a| a.t.as_ref())
    }

    pub fn has_subgraph(&self) -> bool {
        self.list.iter().any(|a| a.has_graph)
    }

    /// The value of a constant-tensor-like attribute as data (for keys/values tensors).
    pub fn data(&self, name: &str) -> Result<Option<Data>, ModelError> {
        Ok(self.tensor(name)?.map(|t| t.data))
    }
}
