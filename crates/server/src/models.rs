//! Reads models at registration: ONNX models are loaded with riskops-model, so a model
//! riskops cannot run is refused before anything is stored, and served models are asked for
//! their metadata (`endpoint::inspect`); either way the input/output signature is recorded
//! with the version.

use crate::endpoint::{self, EndpointSettings};
use riskops_core::registry::{Endpoint, Framework, InterfaceInput, ModelInterface};
use riskops_core::service::ModelInspector;
use riskops_core::{Error, Result};
use riskops_model::{Model, ModelError, Task};
use std::path::Path;

pub struct Inspector {
    pub endpoints: EndpointSettings,
}

#[async_trait::async_trait]
impl ModelInspector for Inspector {
    async fn inspect_endpoint(&self, endpoint: &Endpoint, classes: Option<&[String]>) -> Result<ModelInterface> {
        endpoint::inspect(endpoint, classes, self.endpoints.clone()).await
    }

    fn inspect(&self, framework: Framework, file: &Path) -> Result<Option<ModelInterface>> {
        if framework != Framework::Onnx {
            return Ok(None);
        }
        let bytes = std::fs::read(file).map_err(|e| Error::unavailable(format!("reading {}: {e}", file.display())))?;
        let model = Model::load(&bytes).map_err(refusal)?;
        Ok(Some(interface(&model)))
    }
}

/// Why the artifact cannot be run, for the caller (422 on `artifact`).
fn refusal(e: ModelError) -> Error {
    match e {
        ModelError::Unsupported { .. } => Error::invalid("artifact", e.to_string()),
        other => Error::invalid("artifact", format!("the ONNX model cannot be loaded: {other}")),
    }
}

pub fn interface(model: &Model) -> ModelInterface {
    let sig = model.signature();
    ModelInterface {
        inputs: sig
            .inputs
            .iter()
            .map(|i| InterfaceInput { name: i.name.clone(), elem_type: i.elem_type.name(), shape: i.shape.clone() })
            .collect(),
        label: sig.label.clone(),
        probabilities: sig.probabilities.as_ref().map(|(name, classes)| (name.clone(), classes.names())),
        task: match sig.task {
            Task::Classification => "classification",
            Task::Regression => "regression",
        }
        .to_string(),
    }
}
