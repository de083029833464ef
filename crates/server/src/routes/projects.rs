//! Projects: the use cases everything else belongs to, with their context and risk tier.

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, Caller};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use riskops_api::Document;
use riskops_api::projects::{ContextFields, CreateProject, ProjectList, ProjectView, UpdateProject};
use riskops_core::context::{Autonomy, DataSensitivity, EuAiAct, Industry, ProjectContext, Template};
use riskops_core::governance::Tier;
use riskops_core::project::{NewProject, Project};
use riskops_core::service::TierSource;
use riskops_core::{Error, Riskops};

/// Applies the fields given onto `base` (or a fresh context); industry and workflow are
/// required in the result.
fn apply_context(fields: ContextFields, base: Option<ProjectContext>) -> Result<ProjectContext, Error> {
    let template = fields.template.as_deref().map(|t| Template::parse("template", t)).transpose()?;
    let industry = match (&fields.industry, template, &base) {
        (Some(i), _, _) => Industry::parse("industry", i)?,
        (None, Some(Template::Healthcare), _) => Industry::Healthcare,
        (None, Some(Template::Finance), _) => Industry::Finance,
        (None, None, Some(b)) => b.industry,
        (None, None, None) => return Err(Error::invalid("industry", "is required: healthcare, finance or other")),
    };
    let workflow = match (fields.workflow, &base) {
        (Some(w), _) => w,
        (None, Some(b)) => b.workflow.clone(),
        (None, None) => return Err(Error::invalid("workflow", "is required: a workflow type of the taxonomy")),
    };
    let data_sensitivity = match fields.data_sensitivity {
        Some(list) => list.iter().map(|d| DataSensitivity::parse("data_sensitivity", d)).collect::<Result<_, _>>()?,
        None => base.as_ref().map(|b| b.data_sensitivity.clone()).unwrap_or_default(),
    };
    let autonomy = match (fields.autonomy, &base) {
        (Some(a), _) => Autonomy::parse("autonomy", &a)?,
        (None, Some(b)) => b.autonomy,
        (None, None) => Autonomy::HumanInTheLoop,
    };
    let eu_ai_act = match (fields.eu_ai_act, &base) {
        (Some(c), _) => Some(EuAiAct::parse("eu_ai_act", &c)?),
        (None, b) => b.as_ref().and_then(|b| b.eu_ai_act),
    };
    let workflow_description = fields
        .workflow_description
        .or_else(|| base.as_ref().map(|b| b.workflow_description.clone()))
        .unwrap_or_default();
    let annex_iii_area = fields.annex_iii_area.or_else(|| base.as_ref().and_then(|b| b.annex_iii_area.clone()));
    let template = template.or_else(|| base.as_ref().and_then(|b| b.template));
    Ok(ProjectContext {
        industry,
        workflow,
        workflow_description,
        data_sensitivity,
        autonomy,
        eu_ai_act,
        annex_iii_area,
        template,
    })
}

/// Describes a project's use case and/or overrides its risk tier (admin, risk_officer).
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
    let riskops = &state.riskops;
    if body.tier.is_none() && body.context.is_empty() {
        return Err(Error::invalid("tier", "give a tier (with a reason) or context fields to change").into());
    }
    let mut project = None;
    if !body.context.is_empty() {
        let current = riskops.project(&ctx, &name).await?;
        let context = apply_context(body.context, current.context)?;
        project = Some(riskops.set_project_context(&ctx, &name, Some(context)).await?);
    }
    if let Some(tier) = body.tier {
        let tier = tier.as_deref().map(|t| Tier::parse("tier", t)).transpose()?;
        project = Some(riskops.set_project_tier(&ctx, &name, tier, &body.reason).await?);
    }
    let project = project.ok_or_else(|| Error::internal("nothing was updated"))?;
    Ok(Json(project_view(riskops, project).await?))
}

/// Creates a project, optionally with its context (`industry` and `workflow` then required)
/// and an industry pack (`template`).
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
    let context = if body.context.is_empty() { None } else { Some(apply_context(body.context, None)?) };
    let project = NewProject { name: body.name, description: body.description };
    let project = state.riskops.create_project_with_context(&ctx, project, context).await?;
    Ok((StatusCode::CREATED, Json(project_view(&state.riskops, project).await?)))
}

/// Lists every project the caller may read, by name.
#[utoipa::path(
    get, path = "/api/v1/projects", tag = "projects", security(("bearer" = [])),
    responses((status = 200, body = ProjectList), (status = 401, body = ErrorBody))
)]
pub async fn list_projects(State(state): State<AppState>, Caller(ctx): Caller) -> Result<Json<ProjectList>, ApiError> {
    let mut projects = Vec::new();
    for p in state.riskops.list_projects(&ctx).await? {
        projects.push(project_view(&state.riskops, p).await?);
    }
    Ok(Json(ProjectList { projects }))
}

/// One project, with its tier and context.
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
    let (project, tier, source) = state.riskops.project_with_tier(&ctx, &name).await?;
    Ok(Json(project_view_of(project, tier, source)))
}

/// A project as the API shows it, with the tier that governs it.
fn project_view_of(p: Project, tier: Tier, source: TierSource) -> ProjectView {
    ProjectView {
        tier: tier.as_str().to_string(),
        tier_source: source.as_str().to_string(),
        tier_override: p.tier_override.map(|t| t.as_str().to_string()),
        context: p.context.as_ref().map(|c| Document(c.to_json())),
        name: p.name,
        description: p.description,
        created_at: super::rfc3339(p.created_at),
        created_by: p.created_by,
    }
}

async fn project_view(riskops: &Riskops, p: Project) -> Result<ProjectView, Error> {
    let (tier, source) = riskops.project_tier(&p).await?;
    Ok(project_view_of(p, tier, source))
}
