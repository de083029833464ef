//! Projects: the use cases everything else belongs to.

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, Caller};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use riskops_core::governance::Tier;
use riskops_core::project::{NewProject, Project};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProject {
    /// 1–128 characters from `[A-Za-z0-9._-]`, not starting with `.` or `-`; unique.
    name: String,
    #[serde(default)]
    description: String,
}

#[derive(Serialize, ToSchema)]
pub struct ProjectView {
    name: String,
    description: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
    created_by: String,
    /// The tier that decides the promotion gates of the project's models: the override
    /// when set, else `high` until the project's risks are assessed.
    tier: &'static str,
    /// A tier set by a risk officer, if any.
    tier_override: Option<&'static str>,
}

impl From<Project> for ProjectView {
    fn from(p: Project) -> Self {
        ProjectView {
            tier: p.tier().as_str(),
            tier_override: p.tier_override.map(Tier::as_str),
            name: p.name,
            description: p.description,
            created_at: p.created_at,
            created_by: p.created_by,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProject {
    /// `low`, `medium`, `high` or `critical`; `null` clears the override.
    #[schema(value_type = Option<String>)]
    tier: Option<String>,
    /// Why; required, and kept in the audit trail.
    reason: String,
}

/// Overrides a project's risk tier (risk_officer or admin).
#[utoipa::path(
    patch, path = "/api/v1/projects/{name}", tag = "projects", security(("bearer" = [])),
    params(("name" = String, Path, description = "project name")),
    request_body = UpdateProject,
    responses((status = 200, body = ProjectView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn update_project(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<UpdateProject>,
) -> Result<Json<ProjectView>, ApiError> {
    let tier = body.tier.as_deref().map(|t| Tier::parse("tier", t)).transpose()?;
    Ok(Json(state.riskops.set_project_tier(&ctx, &name, tier, &body.reason).await?.into()))
}

#[derive(Serialize, ToSchema)]
pub struct ProjectList {
    projects: Vec<ProjectView>,
}

/// Creates a project.
#[utoipa::path(
    post, path = "/api/v1/projects", tag = "projects", security(("bearer" = [])),
    request_body = CreateProject,
    responses(
        (status = 201, body = ProjectView),
        (status = 400, description = "malformed JSON", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 409, description = "the name is taken", body = ErrorBody),
        (status = 413, description = "body over the configured limit", body = ErrorBody),
        (status = 422, description = "a field is invalid", body = ErrorBody),
    )
)]
pub async fn create_project(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiJson(body): ApiJson<CreateProject>,
) -> Result<(StatusCode, Json<ProjectView>), ApiError> {
    let project =
        state.riskops.create_project(&ctx, NewProject { name: body.name, description: body.description }).await?;
    Ok((StatusCode::CREATED, Json(project.into())))
}

/// Lists every project, by name.
#[utoipa::path(
    get, path = "/api/v1/projects", tag = "projects", security(("bearer" = [])),
    responses((status = 200, body = ProjectList), (status = 401, body = ErrorBody))
)]
pub async fn list_projects(State(state): State<AppState>, Caller(ctx): Caller) -> Result<Json<ProjectList>, ApiError> {
    let projects = state.riskops.list_projects(&ctx).await?;
    Ok(Json(ProjectList { projects: projects.into_iter().map(Into::into).collect() }))
}

/// One project.
#[utoipa::path(
    get, path = "/api/v1/projects/{name}", tag = "projects", security(("bearer" = [])),
    params(("name" = String, Path, description = "project name")),
    responses((status = 200, body = ProjectView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn get_project(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(name): Path<String>,
) -> Result<Json<ProjectView>, ApiError> {
    Ok(Json(state.riskops.project(&ctx, &name).await?.into()))
}
