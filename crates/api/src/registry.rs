//! The registry: datasets and models, their immutable versions, and the metadata of a push.

use crate::Document;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Labels of a version: name to value.
pub type Tags = BTreeMap<String, String>;

/// The `metadata` part of a dataset push.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushMetadata {
    /// The project a new dataset goes to (default `default`); must match an existing dataset's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub tags: Tags,
}

/// The `metadata` part of a model registration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterMetadata {
    /// The project a new model goes to (default `default`); must match an existing model's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// `onnx`, `sklearn`, `xgboost`, `lightgbm`, `pytorch` or `other` (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework: Option<String>,
    /// `DATASET@V` (or `DATASET` for its latest version) the model was trained on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_repo: Option<String>,
    /// The commit hash (7–64 hex digits); with `code_repo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_commit: Option<String>,
    /// Hyper-parameters, any JSON object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub params: Option<Document>,
    /// Metrics: an object of numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub metrics: Option<Document>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DatasetVersionView {
    pub name: String,
    pub project: String,
    pub version: u32,
    /// `sha256:<hex>` of the file's bytes.
    pub digest: String,
    pub size: u64,
    /// `csv` or `parquet`.
    pub format: String,
    pub rows: u64,
    pub description: String,
    pub tags: BTreeMap<String, String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    pub created_by: String,
    /// Columns with pandas dtype and drift type: `[{"name","dtype","type"}]`.
    #[schema(value_type = Vec<Object>)]
    pub schema: Document,
    /// Per-column statistics (omitted in listings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub profile: Option<Document>,
}

/// A model served over HTTP, registered as the next version (`riskops model register
/// --endpoint`). riskops asks the endpoint first (v2: its metadata; MLflow: `/ping`) and stores
/// nothing when it does not answer as its protocol says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterEndpoint {
    /// v2: the model's URL, `http://HOST:PORT/v2/models/NAME` (or `…/NAME/versions/V`);
    /// MLflow: the scoring server's URL (riskops posts to `/invocations`).
    pub endpoint: String,
    /// `v2` (Open Inference Protocol: KServe, Triton, MLServer) or `mlflow`.
    pub protocol: String,
    /// A classifier's classes in the order of the endpoint's probability columns (scikit-learn:
    /// `model.classes_`, sorted); without them the endpoint is taken for a regressor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<Vec<String>>,
    /// Everything else a registration records (no `file`: the endpoint is the model).
    #[serde(default)]
    pub metadata: RegisterMetadata,
}

/// Where a served model is and how riskops talks to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EndpointView {
    pub url: String,
    /// `v2` or `mlflow`.
    pub protocol: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ModelVersionView {
    pub name: String,
    pub project: String,
    pub version: u32,
    pub digest: String,
    pub size: u64,
    pub framework: String,
    /// `NAME@V` of the training dataset version.
    pub training_data: Option<String>,
    pub validation_data: Option<String>,
    pub code_repo: Option<String>,
    pub code_commit: Option<String>,
    #[schema(value_type = Object)]
    pub params: Document,
    #[schema(value_type = Object)]
    pub metrics: Document,
    pub description: String,
    pub tags: BTreeMap<String, String>,
    /// What the model takes and gives, read from the artifact at registration (ONNX models;
    /// null otherwise): `{"inputs":[{"name","type","shape"}],"outputs":{"label",
    /// "probabilities":{"name","classes"}|null},"task","columns"}`.
    pub signature: Option<Document>,
    /// Where the model is served, for a model riskops calls over HTTP (then the artifact is
    /// only the endpoint's descriptor); null when the artifact is the model.
    #[serde(default)]
    pub endpoint: Option<EndpointView>,
    pub author: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EntryView {
    pub name: String,
    pub project: String,
    pub latest_version: u32,
    pub versions: u32,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EntryList {
    pub items: Vec<EntryView>,
}
