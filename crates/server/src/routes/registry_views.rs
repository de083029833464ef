//! JSON shapes of registry objects, shared by the dataset, model and lineage routes.

use crate::error::ApiError;
use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use riskops_core::Error;
use riskops_core::artifact::{Digest, VerifiedFile};
use riskops_core::registry::{DatasetVersion, Entry, ModelVersion};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
pub struct VersionPath {
    /// Dataset or model name.
    pub name: String,
    /// A version number, or `latest`.
    pub version: String,
}

pub fn parse_version(text: &str) -> Result<Option<u32>, ApiError> {
    if text == "latest" {
        return Ok(None);
    }
    match text.parse::<u32>() {
        Ok(v) if v > 0 => Ok(Some(v)),
        _ => Err(Error::invalid("version", format!("{text:?} is not a version number or `latest`")).into()),
    }
}

#[derive(Serialize, ToSchema)]
pub struct DatasetVersionView {
    name: String,
    project: String,
    version: u32,
    /// `sha256:<hex>` of the file's bytes.
    digest: String,
    size: u64,
    /// `csv` or `parquet`.
    format: &'static str,
    rows: u64,
    description: String,
    tags: BTreeMap<String, String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
    created_by: String,
    /// Columns with pandas dtype and drift type: `[{"name","dtype","type"}]`.
    #[schema(value_type = Vec<Object>)]
    schema: Value,
    /// Per-column statistics (omitted in listings).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    profile: Option<Value>,
}

impl DatasetVersionView {
    pub fn full(v: DatasetVersion, with_profile: bool) -> Self {
        DatasetVersionView {
            name: v.name,
            project: v.project,
            version: v.version,
            digest: v.digest.to_string(),
            size: v.size,
            format: v.format.as_str(),
            rows: v.rows,
            description: v.description,
            tags: v.tags,
            created_at: v.created_at,
            created_by: v.created_by,
            schema: v.schema,
            profile: with_profile.then_some(v.profile),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ModelVersionView {
    name: String,
    project: String,
    version: u32,
    digest: String,
    size: u64,
    framework: &'static str,
    /// `NAME@V` of the training dataset version.
    training_data: Option<String>,
    validation_data: Option<String>,
    code_repo: Option<String>,
    code_commit: Option<String>,
    #[schema(value_type = Object)]
    params: Value,
    #[schema(value_type = Object)]
    metrics: Value,
    description: String,
    tags: BTreeMap<String, String>,
    /// What the model takes and gives, read from the artifact at registration (ONNX models;
    /// null otherwise): `{"inputs":[{"name","type","shape"}],"outputs":{"label",
    /// "probabilities":{"name","classes"}|null},"task"}`.
    #[schema(value_type = Option<Object>)]
    signature: Option<Value>,
    author: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
}

impl From<ModelVersion> for ModelVersionView {
    fn from(v: ModelVersion) -> Self {
        ModelVersionView {
            name: v.name,
            project: v.project,
            version: v.version,
            digest: v.digest.to_string(),
            size: v.size,
            framework: v.framework.as_str(),
            training_data: v.training_data.map(|r| r.to_string()),
            validation_data: v.validation_data.map(|r| r.to_string()),
            code_repo: v.code.as_ref().map(|c| c.repo.clone()),
            code_commit: v.code.map(|c| c.commit),
            params: v.params,
            metrics: v.metrics,
            description: v.description,
            tags: v.tags,
            signature: v.signature.as_ref().map(|s| s.to_json()),
            author: v.author,
            created_at: v.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct EntryView {
    name: String,
    project: String,
    latest_version: u32,
    versions: u32,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    updated_at: OffsetDateTime,
}

#[derive(Serialize, ToSchema)]
pub struct EntryList {
    items: Vec<EntryView>,
}

impl EntryList {
    pub fn new(entries: Vec<Entry>) -> Self {
        EntryList {
            items: entries
                .into_iter()
                .map(|e| EntryView {
                    name: e.name,
                    project: e.project,
                    latest_version: e.latest_version,
                    versions: e.versions,
                    updated_at: e.updated_at,
                })
                .collect(),
        }
    }
}

/// Streams a verified file with its digest in a header.
pub async fn file_response(file: VerifiedFile, digest: &Digest, filename: &str) -> Result<Response, ApiError> {
    let handle = tokio::fs::File::open(&file.path)
        .await
        .map_err(|e| Error::unavailable(format!("cannot open {}: {e}", file.path.display())))?;
    let size = file.size;
    // A temporary copy must live until the body is sent: move it into the stream.
    let stream = tokio_util::io::ReaderStream::with_capacity(handle, 1 << 16);
    let guarded = GuardedStream { inner: stream, _file: file };
    let mut response = Response::new(Body::from_stream(guarded));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    if let Ok(v) = HeaderValue::from_str(digest.as_str()) {
        headers.insert("x-riskops-digest", v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// A byte stream that keeps the verified file (and its temporary copy) alive while sending.
struct GuardedStream<S> {
    inner: S,
    _file: VerifiedFile,
}

impl<S: futures_core::Stream + Unpin> futures_core::Stream for GuardedStream<S> {
    type Item = S::Item;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        std::pin::Pin::new(&mut self.inner).poll_next(cx)
    }
}
