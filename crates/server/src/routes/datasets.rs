//! Datasets: push a file as a new immutable version, list, show (schema and profile), pull.

use crate::error::{ApiError, ErrorBody};
use crate::extract::Caller;
use crate::routes::registry_views::{VersionPath, dataset_version_view, entry_list, file_response, parse_version};
use crate::state::AppState;
use crate::upload;
use axum::Json;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use riskops_api::registry::{DatasetVersionView, EntryList, PushMetadata};
use riskops_core::registry::{DataFormat, NewDatasetVersion, VersionRef};
use serde::Deserialize;
use utoipa::IntoParams;

/// Pushes a CSV or Parquet file as the next version of a dataset (multipart/form-data:
/// `metadata` JSON, then `file`). Bytes equal to an existing version return that version
/// (200) and store nothing. The file may also be a riskops profile document (the Python
/// package's `Profile.to_bytes()`, e.g. merged from a Spark job's partitions): the version
/// is then that profile, with no rows to read.
#[utoipa::path(
    post, path = "/api/v1/datasets/{name}/versions", tag = "datasets", security(("bearer" = [])),
    params(("name" = String, Path, description = "dataset name")),
    request_body(content = PushMetadata, content_type = "multipart/form-data",
        description = "parts: `metadata` (this JSON), then `file` (the CSV or Parquet bytes)"),
    responses(
        (status = 201, description = "a new version", body = DatasetVersionView),
        (status = 200, description = "the existing version with the same bytes", body = DatasetVersionView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, description = "unknown project", body = ErrorBody),
        (status = 409, description = "the name belongs to another project", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, description = "invalid name, metadata or an unreadable file", body = ErrorBody),
    )
)]
pub async fn push_dataset(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(name): Path<String>,
    multipart: Multipart,
) -> Result<(StatusCode, Json<DatasetVersionView>), ApiError> {
    let riskops = &state.riskops;
    let (meta, permit, received) =
        upload::receive(multipart, &state.tmp_dir, state.upload_limit, async |m: &PushMetadata| {
            riskops.check_dataset_push(&ctx, &name, m.project.as_deref()).await
        })
        .await?;
    let profile = crate::profiling::profile(&received.path).await?;
    let new = NewDatasetVersion {
        name,
        project: permit.project().to_string(),
        description: meta.description,
        tags: meta.tags,
        digest: received.digest.clone(),
        size: received.size,
        format: profile.format,
        rows: profile.rows,
        schema: profile.schema,
        profile: profile.profile,
    };
    let created = riskops.push_dataset(&ctx, permit, &received.path, new).await?;
    let status = if created.is_new() { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(dataset_version_view(created.into_inner(), true))))
}

#[derive(Deserialize, IntoParams)]
pub struct ListQuery {
    /// Only this project's.
    project: Option<String>,
}

/// Datasets with their latest version.
#[utoipa::path(
    get, path = "/api/v1/datasets", tag = "datasets", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = EntryList), (status = 401, body = ErrorBody))
)]
pub async fn list_datasets(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<EntryList>, ApiError> {
    let entries = state.riskops.list_datasets(&ctx, q.project.as_deref()).await?;
    Ok(Json(entry_list(entries)))
}

/// Every version of a dataset, oldest first (without profiles).
#[utoipa::path(
    get, path = "/api/v1/datasets/{name}/versions", tag = "datasets", security(("bearer" = [])),
    params(("name" = String, Path, description = "dataset name")),
    responses((status = 200, body = [DatasetVersionView]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn dataset_versions(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(name): Path<String>,
) -> Result<Json<Vec<DatasetVersionView>>, ApiError> {
    let versions = state.riskops.dataset_versions(&ctx, &name).await?;
    Ok(Json(versions.into_iter().map(|v| dataset_version_view(v, false)).collect()))
}

/// One version with its schema and profile; `latest` names the newest.
#[utoipa::path(
    get, path = "/api/v1/datasets/{name}/versions/{version}", tag = "datasets", security(("bearer" = [])),
    params(VersionPath),
    responses((status = 200, body = DatasetVersionView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn dataset_version(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(path): Path<VersionPath>,
) -> Result<Json<DatasetVersionView>, ApiError> {
    let r = VersionRef { name: path.name.clone(), version: parse_version(&path.version)? };
    let version = state.riskops.dataset_version(&ctx, &r).await?;
    Ok(Json(dataset_version_view(version, true)))
}

/// The version's bytes, checked against its digest first: a corrupt object is an
/// `integrity_error`, never served.
#[utoipa::path(
    get, path = "/api/v1/datasets/{name}/versions/{version}/file", tag = "datasets", security(("bearer" = [])),
    params(VersionPath),
    responses(
        (status = 200, description = "the file, with its digest in `x-riskops-digest`", content_type = "application/octet-stream"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 500, description = "integrity_error", body = ErrorBody)
    )
)]
pub async fn dataset_file(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(path): Path<VersionPath>,
) -> Result<Response, ApiError> {
    let r = VersionRef { name: path.name.clone(), version: parse_version(&path.version)? };
    let (version, file) = state.riskops.dataset_file(&ctx, &r).await?;
    let extension = match version.format {
        DataFormat::Csv => "csv",
        DataFormat::Parquet => "parquet",
        DataFormat::Profile => "json",
    };
    file_response(file, &version.digest, &format!("{}-v{}.{extension}", version.name, version.version)).await
}
