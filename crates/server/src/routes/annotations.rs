//! Tags and notes added to dataset and model versions after the fact. The versions'
//! content never changes; these are labels and remarks, each change audited.

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, Caller};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use riskops_api::annotations::{AddNote, AddTags, NoteList, NoteView, TagsView};
use riskops_core::Error;
use riskops_core::registry::{Kind, Note};
use riskops_core::service::RequestContext;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
pub struct ExactVersion {
    name: String,
    /// A version number.
    version: u32,
}

fn note_view(n: Note) -> NoteView {
    NoteView { text: n.text, created_at: super::rfc3339(n.created_at), created_by: n.created_by }
}

fn positive(version: u32) -> Result<u32, ApiError> {
    if version == 0 { Err(Error::invalid("version", "versions start at 1").into()) } else { Ok(version) }
}

async fn tags(
    state: &AppState,
    ctx: &RequestContext,
    kind: Kind,
    p: ExactVersion,
    body: AddTags,
) -> Result<Json<TagsView>, ApiError> {
    let tags = state.riskops.add_tags(ctx, kind, &p.name, positive(p.version)?, body.tags).await?;
    Ok(Json(TagsView { tags }))
}

async fn note(
    state: &AppState,
    ctx: &RequestContext,
    kind: Kind,
    p: ExactVersion,
    body: AddNote,
) -> Result<(StatusCode, Json<NoteView>), ApiError> {
    let note = state.riskops.add_note(ctx, kind, &p.name, positive(p.version)?, body.text).await?;
    Ok((StatusCode::CREATED, Json(note_view(note))))
}

async fn notes(
    state: &AppState,
    ctx: &RequestContext,
    kind: Kind,
    p: ExactVersion,
) -> Result<Json<NoteList>, ApiError> {
    let notes = state.riskops.notes(ctx, kind, &p.name, positive(p.version)?).await?;
    Ok(Json(NoteList { notes: notes.into_iter().map(note_view).collect() }))
}

/// Adds labels to a dataset version.
#[utoipa::path(post, path = "/api/v1/datasets/{name}/versions/{version}/tags", tag = "datasets", security(("bearer" = [])),
    params(ExactVersion), request_body = AddTags,
    responses((status = 200, body = TagsView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn dataset_tags(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Path(p): Path<ExactVersion>,
    ApiJson(body): ApiJson<AddTags>,
) -> Result<Json<TagsView>, ApiError> {
    tags(&s, &ctx, Kind::Dataset, p, body).await
}

/// Adds labels to a model version.
#[utoipa::path(post, path = "/api/v1/models/{name}/versions/{version}/tags", tag = "models", security(("bearer" = [])),
    params(ExactVersion), request_body = AddTags,
    responses((status = 200, body = TagsView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn model_tags(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Path(p): Path<ExactVersion>,
    ApiJson(body): ApiJson<AddTags>,
) -> Result<Json<TagsView>, ApiError> {
    tags(&s, &ctx, Kind::Model, p, body).await
}

/// Adds a note to a dataset version.
#[utoipa::path(post, path = "/api/v1/datasets/{name}/versions/{version}/notes", tag = "datasets", security(("bearer" = [])),
    params(ExactVersion), request_body = AddNote,
    responses((status = 201, body = NoteView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn dataset_note(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Path(p): Path<ExactVersion>,
    ApiJson(body): ApiJson<AddNote>,
) -> Result<(StatusCode, Json<NoteView>), ApiError> {
    note(&s, &ctx, Kind::Dataset, p, body).await
}

/// Adds a note to a model version.
#[utoipa::path(post, path = "/api/v1/models/{name}/versions/{version}/notes", tag = "models", security(("bearer" = [])),
    params(ExactVersion), request_body = AddNote,
    responses((status = 201, body = NoteView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn model_note(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Path(p): Path<ExactVersion>,
    ApiJson(body): ApiJson<AddNote>,
) -> Result<(StatusCode, Json<NoteView>), ApiError> {
    note(&s, &ctx, Kind::Model, p, body).await
}

/// A dataset version's notes, oldest first.
#[utoipa::path(get, path = "/api/v1/datasets/{name}/versions/{version}/notes", tag = "datasets", security(("bearer" = [])),
    params(ExactVersion), responses((status = 200, body = NoteList), (status = 401, body = ErrorBody)))]
pub async fn dataset_notes(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Path(p): Path<ExactVersion>,
) -> Result<Json<NoteList>, ApiError> {
    notes(&s, &ctx, Kind::Dataset, p).await
}

/// A model version's notes, oldest first.
#[utoipa::path(get, path = "/api/v1/models/{name}/versions/{version}/notes", tag = "models", security(("bearer" = [])),
    params(ExactVersion), responses((status = 200, body = NoteList), (status = 401, body = ErrorBody)))]
pub async fn model_notes(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Path(p): Path<ExactVersion>,
) -> Result<Json<NoteList>, ApiError> {
    notes(&s, &ctx, Kind::Model, p).await
}
