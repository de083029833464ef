//! Registry objects as the API shows them (converted from core's), shared by the dataset,
//! model and lineage routes.

use crate::error::ApiError;
use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use riskops_api::Document;
use riskops_api::registry::{DatasetVersionView, EndpointView, EntryList, EntryView, ModelVersionView};
use riskops_core::Error;
use riskops_core::artifact::{Digest, VerifiedFile};
use riskops_core::registry::{DatasetVersion, Entry, ModelVersion};
use serde::Deserialize;
use utoipa::IntoParams;

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

/// A dataset version as the API shows it; listings leave the profile out.
pub fn dataset_version_view(v: DatasetVersion, with_profile: bool) -> DatasetVersionView {
    DatasetVersionView {
        name: v.name,
        project: v.project,
        version: v.version,
        digest: v.digest.to_string(),
        size: v.size,
        format: v.format.as_str().to_string(),
        rows: v.rows,
        description: v.description,
        tags: v.tags,
        created_at: super::rfc3339(v.created_at),
        created_by: v.created_by,
        schema: Document(v.schema),
        profile: with_profile.then_some(Document(v.profile)),
    }
}

pub fn model_version_view(v: ModelVersion) -> ModelVersionView {
    ModelVersionView {
        name: v.name,
        project: v.project,
        version: v.version,
        digest: v.digest.to_string(),
        size: v.size,
        framework: v.framework.as_str().to_string(),
        training_data: v.training_data.map(|r| r.to_string()),
        validation_data: v.validation_data.map(|r| r.to_string()),
        code_repo: v.code.as_ref().map(|c| c.repo.clone()),
        code_commit: v.code.map(|c| c.commit),
        params: Document(v.params),
        metrics: Document(v.metrics),
        description: v.description,
        tags: v.tags,
        signature: v.signature.as_ref().map(|s| Document(s.to_json())),
        endpoint: v.endpoint.map(|e| EndpointView { url: e.url, protocol: e.protocol.as_str().to_string() }),
        author: v.author,
        created_at: super::rfc3339(v.created_at),
    }
}

pub fn entry_list(entries: Vec<Entry>) -> EntryList {
    let items = entries
        .into_iter()
        .map(|e| EntryView {
            name: e.name,
            project: e.project,
            latest_version: e.latest_version,
            versions: e.versions,
            updated_at: super::rfc3339(e.updated_at),
        })
        .collect();
    EntryList { items }
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

/// A file made for the answer (not stored), with its SHA-256 in `x-riskops-digest` so a
/// client checks it as it checks stored files.
pub fn bytes_response(body: Vec<u8>, content_type: &'static str, filename: &str) -> Response {
    use sha2::{Digest as _, Sha256};
    let digest = Digest::from_sha256(&Sha256::digest(&body));
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(digest.as_str()) {
        headers.insert("x-riskops-digest", v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
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
