//! Models: register an artifact (or an endpoint serving the model) as a new immutable version
//! with its lineage, list, show, pull.

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, Caller};
use crate::routes::registry_views::{VersionPath, entry_list, file_response, model_version_view, parse_version};
use crate::state::AppState;
use crate::upload;
use axum::Json;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use riskops_api::registry::{EntryList, ModelVersionView, RegisterEndpoint, RegisterMetadata};
use riskops_core::Error;
use riskops_core::registry::{CodeRef, Endpoint, Framework, NewModelVersion, Protocol, VersionRef};
use riskops_store::artifacts::Incoming;
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

struct Checked {
    permit: riskops_core::service::PushPermit,
    framework: Framework,
    training_data: Option<VersionRef>,
    validation_data: Option<VersionRef>,
    code: Option<CodeRef>,
}

/// Registers a model artifact as the next version (multipart/form-data: `metadata` JSON,
/// then `file`). The training and validation data must be registered dataset versions.
#[utoipa::path(
    post, path = "/api/v1/models/{name}/versions", tag = "models", security(("bearer" = [])),
    params(("name" = String, Path, description = "model name")),
    request_body(content = RegisterMetadata, content_type = "multipart/form-data",
        description = "parts: `metadata` (this JSON), then `file` (the model artifact)"),
    responses(
        (status = 201, body = ModelVersionView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, description = "unknown project", body = ErrorBody),
        (status = 409, description = "the name belongs to another project", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, description = "invalid metadata, unknown dataset version, or an ONNX model riskops cannot run (the error names the operator)", body = ErrorBody),
    )
)]
pub async fn register_model(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(name): Path<String>,
    multipart: Multipart,
) -> Result<(StatusCode, Json<ModelVersionView>), ApiError> {
    let riskops = &state.riskops;
    let (meta, checked, received) =
        upload::receive(multipart, &state.tmp_dir, state.upload_limit, async |m: &RegisterMetadata| {
            check_metadata(riskops, &ctx, &name, m).await
        })
        .await?;
    let new = NewModelVersion {
        name,
        project: checked.permit.project().to_string(),
        description: meta.description,
        framework: checked.framework,
        digest: received.digest.clone(),
        size: received.size,
        training_data: checked.training_data,
        validation_data: checked.validation_data,
        code: checked.code,
        params: meta.params.map_or_else(|| Value::Object(Default::default()), |d| d.0),
        metrics: meta.metrics.map_or_else(|| Value::Object(Default::default()), |d| d.0),
        tags: meta.tags,
        signature: None,
        endpoint: None,
    };
    let version = riskops.register_model(&ctx, checked.permit, &received.path, new).await?;
    Ok((StatusCode::CREATED, Json(model_version_view(version))))
}

/// Registers a model served over HTTP as the next version. riskops asks the endpoint what it
/// takes and gives (v2: the model's metadata; MLflow: `/ping`) and records that signature;
/// an endpoint that does not answer as its protocol says is a 422 and nothing is stored. The
/// version's artifact is the endpoint's descriptor, so its digest covers where it is served.
#[utoipa::path(
    post, path = "/api/v1/models/{name}/endpoints", tag = "models", security(("bearer" = [])),
    params(("name" = String, Path, description = "model name")),
    request_body = RegisterEndpoint,
    responses(
        (status = 201, body = ModelVersionView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, description = "unknown project", body = ErrorBody),
        (status = 409, description = "the name belongs to another project", body = ErrorBody),
        (status = 422, description = "invalid metadata, an endpoint URL or protocol riskops cannot use, or an endpoint that did not answer as its protocol says (the error names it)", body = ErrorBody),
    )
)]
pub async fn register_endpoint(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<RegisterEndpoint>,
) -> Result<(StatusCode, Json<ModelVersionView>), ApiError> {
    let riskops = &state.riskops;
    let checked = check_metadata(riskops, &ctx, &name, &body.metadata).await?;
    let endpoint = Endpoint::new(&body.endpoint, Protocol::parse(&body.protocol)?)?;
    // The descriptor goes through the same path as an uploaded artifact: hashed into tmp/.
    let mut incoming = Incoming::create(&state.tmp_dir, state.upload_limit).await?;
    incoming.write(&endpoint.descriptor()).await?;
    let received = incoming.finish().await?;
    let meta = body.metadata;
    let new = NewModelVersion {
        name,
        project: checked.permit.project().to_string(),
        description: meta.description,
        framework: checked.framework,
        digest: received.digest.clone(),
        size: received.size,
        training_data: checked.training_data,
        validation_data: checked.validation_data,
        code: checked.code,
        params: meta.params.map_or_else(|| Value::Object(Default::default()), |d| d.0),
        metrics: meta.metrics.map_or_else(|| Value::Object(Default::default()), |d| d.0),
        tags: meta.tags,
        signature: None,
        endpoint: Some(endpoint),
    };
    let version = riskops.register_endpoint_model(&ctx, checked.permit, &received.path, new, body.classes).await?;
    Ok((StatusCode::CREATED, Json(model_version_view(version))))
}

/// The checks of a registration's metadata, before any artifact byte is read or any endpoint
/// is asked: permission and project, framework, known dataset versions, code reference.
async fn check_metadata(
    riskops: &riskops_core::Riskops,
    ctx: &riskops_core::service::RequestContext,
    name: &str,
    m: &RegisterMetadata,
) -> Result<Checked, Error> {
    let permit = riskops.check_model_register(ctx, name, m.project.as_deref()).await?;
    let framework = Framework::parse(m.framework.as_deref().unwrap_or("other"))?;
    let parse = |field, text: &Option<String>| text.as_deref().map(|t| VersionRef::parse(field, t)).transpose();
    let training_data = parse("training_data", &m.training_data)?;
    let validation_data = parse("validation_data", &m.validation_data)?;
    // Refuse an unknown dataset before receiving the artifact.
    for (field, r) in [("training_data", &training_data), ("validation_data", &validation_data)] {
        if let Some(r) = r
            && riskops.dataset_version(ctx, r).await.is_err()
        {
            return Err(Error::invalid(field, format!("no dataset version {r}")));
        }
    }
    let code = match (&m.code_repo, &m.code_commit) {
        (Some(repo), Some(commit)) => Some(CodeRef { repo: repo.clone(), commit: commit.clone() }),
        (None, None) => None,
        _ => return Err(Error::invalid("code_commit", "code_repo and code_commit go together")),
    };
    if let Some(c) = &code {
        c.validate()?;
    }
    Ok(Checked { permit, framework, training_data, validation_data, code })
}

#[derive(Deserialize, IntoParams)]
pub struct ListQuery {
    /// Only this project's.
    project: Option<String>,
}

/// Models with their latest version.
#[utoipa::path(
    get, path = "/api/v1/models", tag = "models", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = EntryList), (status = 401, body = ErrorBody))
)]
pub async fn list_models(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<EntryList>, ApiError> {
    Ok(Json(entry_list(state.riskops.list_models(&ctx, q.project.as_deref()).await?)))
}

/// Every version of a model, oldest first.
#[utoipa::path(
    get, path = "/api/v1/models/{name}/versions", tag = "models", security(("bearer" = [])),
    params(("name" = String, Path, description = "model name")),
    responses((status = 200, body = [ModelVersionView]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn model_versions(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(name): Path<String>,
) -> Result<Json<Vec<ModelVersionView>>, ApiError> {
    Ok(Json(state.riskops.model_versions(&ctx, &name).await?.into_iter().map(model_version_view).collect()))
}

/// One model version; `latest` names the newest.
#[utoipa::path(
    get, path = "/api/v1/models/{name}/versions/{version}", tag = "models", security(("bearer" = [])),
    params(VersionPath),
    responses((status = 200, body = ModelVersionView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn model_version(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(path): Path<VersionPath>,
) -> Result<Json<ModelVersionView>, ApiError> {
    let r = VersionRef { name: path.name.clone(), version: parse_version(&path.version)? };
    Ok(Json(model_version_view(state.riskops.model_version(&ctx, &r).await?)))
}

/// The artifact's bytes, checked against its digest first.
#[utoipa::path(
    get, path = "/api/v1/models/{name}/versions/{version}/file", tag = "models", security(("bearer" = [])),
    params(VersionPath),
    responses(
        (status = 200, description = "the artifact, with its digest in `x-riskops-digest`", content_type = "application/octet-stream"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 500, description = "integrity_error", body = ErrorBody)
    )
)]
pub async fn model_file(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(path): Path<VersionPath>,
) -> Result<Response, ApiError> {
    let r = VersionRef { name: path.name.clone(), version: parse_version(&path.version)? };
    let (version, file) = state.riskops.model_file(&ctx, &r).await?;
    file_response(file, &version.digest, &format!("{}-v{}.bin", version.name, version.version)).await
}
