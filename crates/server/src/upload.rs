//! Multipart uploads: a `metadata` part (JSON) first, then a `file` part streamed to a
//! temporary file while it is hashed. The metadata is checked before the file is read, so
//! a refused upload stores nothing.

use crate::error::ApiError;
use axum::extract::Multipart;
use riskops_core::{Error, ErrorKind};
use riskops_store::artifacts::{Incoming, Received};
use serde::de::DeserializeOwned;
use std::path::Path;

/// Reads `metadata`, lets `check` refuse it, then receives `file`.
pub async fn receive<M: DeserializeOwned, T>(
    mut multipart: Multipart,
    tmp_dir: &Path,
    limit: u64,
    check: impl AsyncFnOnce(&M) -> Result<T, Error>,
) -> Result<(M, T, Received), ApiError> {
    let first = next_field(&mut multipart).await?.ok_or_else(|| missing("metadata"))?;
    if first.name() != Some("metadata") {
        return Err(bad("the first part must be `metadata` (JSON), then `file`").into());
    }
    let text = first.text().await.map_err(|e| multipart_error(&e))?;
    let metadata: M = serde_json::from_str(&text).map_err(|e| {
        let kind = if e.is_data() { ErrorKind::Invalid } else { ErrorKind::BadRequest };
        Error::new(kind, format!("metadata: {e}"))
    })?;
    crate::extract::refuse_duplicate_keys("metadata", text.as_bytes())?;
    let checked = check(&metadata).await?;
    let mut file = next_field(&mut multipart).await?.ok_or_else(|| missing("file"))?;
    if file.name() != Some("file") {
        return Err(bad("the second part must be `file`").into());
    }
    let mut incoming = Incoming::create(tmp_dir, limit).await?;
    while let Some(chunk) = file.chunk().await.map_err(|e| multipart_error(&e))? {
        incoming.write(&chunk).await?;
    }
    let received = incoming.finish().await?;
    if received.size == 0 {
        return Err(Error::invalid("file", "is empty").into());
    }
    Ok((metadata, checked, received))
}

async fn next_field(multipart: &mut Multipart) -> Result<Option<axum::extract::multipart::Field<'_>>, ApiError> {
    multipart.next_field().await.map_err(|e| multipart_error(&e).into())
}

fn multipart_error(e: &axum::extract::multipart::MultipartError) -> Error {
    let kind = if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ErrorKind::PayloadTooLarge
    } else {
        ErrorKind::BadRequest
    };
    Error::new(kind, format!("malformed upload: {}", e.body_text()))
}

fn missing(part: &str) -> ApiError {
    bad(&format!("the upload has no `{part}` part; send multipart/form-data with `metadata` (JSON) then `file`")).into()
}

fn bad(message: &str) -> Error {
    Error::bad_request(message)
}
