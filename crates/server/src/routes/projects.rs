//! Projects: the use cases everything else belongs to, with their context and risk tier.

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, Caller};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use riskops_core::context::{Autonomy, DataSensitivity, EuAiAct, Industry, ProjectContext, Template};
use riskops_core::governance::Tier;
use riskops_core::project::{NewProject, Project};
use riskops_core::service::TierSource;
use riskops_core::{Error, Riskops};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// The context fields, as create and update take them (all optional on update).
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ContextFields {
    /// `healthcare`, `finance` or `other`.
    industry: Option<String>,
    /// A workflow type of the taxonomy: `casual_conversation`, `billing_information`,
    /// `clinical_decision_support`, `credit_decisioning`, `fraud_detection`, …
    workflow: Option<String>,
    workflow_description: Option<String>,
    /// Any of `public`, `pii`, `phi`, `financial`.
    data_sensitivity: Option<Vec<String>>,
    /// `human_in_the_loop` (default), `human_on_the_loop` or `autonomous`.
    autonomy: Option<String>,
    /// `prohibited`, `high`, `limited` or `minimal`.
    eu_ai_act: Option<String>,
    /// The Annex III area, for `eu_ai_act: high`.
    annex_iii_area: Option<String>,
    /// An industry pack: `healthcare` or `finance`.
    template: Option<String>,
}

impl ContextFields {
    fn is_empty(&self) -> bool {
        self.industry.is_none()
            && self.workflow.is_none()
            && self.workflow_description.is_none()
            && self.data_sensitivity.is_none()
            && self.autonomy.is_none()
            && self.eu_ai_act.is_none()
            && self.annex_iii_area.is_none()
            && self.template.is_none()
    }

    /// Applies the fields given onto `base` (or a fresh context); industry and workflow
    /// are required in the result.
    fn apply(self, base: Option<ProjectContext>) -> Result<ProjectContext, Error> {
        let template = self.template.as_deref().map(|t| Template::parse("template", t)).transpose()?;
        let industry = match (&self.industry, template, &base) {
            (Some(i), _, _) => Industry::parse("industry", i)?,
            (None, Some(Template::Healthcare), _) => Industry::Healthcare,
            (None, Some(Template::Finance), _) => Industry::Finance,
            (None, None, Some(b)) => b.industry,
            (None, None, None) => return Err(Error::invalid("industry", "is required: healthcare, finance or other")),
        };
        let workflow = match (self.workflow, &base) {
            (Some(w), _) => w,
            (None, Some(b)) => b.workflow.clone(),
            (None, None) => return Err(Error::invalid("workflow", "is required: a workflow type of the taxonomy")),
        };
        let data_sensitivity = match self.data_sensitivity {
            Some(list) => {
                list.iter().map(|d| DataSensitivity::parse("data_sensitivity", d)).collect::<Result<_, _>>()?
            }
            None => base.as_ref().map(|b| b.data_sensitivity.clone()).unwrap_or_default(),
        };
        let autonomy = match (self.autonomy, &base) {
            (Some(a), _) => Autonomy::parse("autonomy", &a)?,
            (None, Some(b)) => b.autonomy,
            (None, None) => Autonomy::HumanInTheLoop,
        };
        let eu_ai_act = match (self.eu_ai_act, &base) {
            (Some(c), _) => Some(EuAiAct::parse("eu_ai_act", &c)?),
            (None, b) => b.as_ref().and_then(|b| b.eu_ai_act),
        };
        let workflow_description = self
            .workflow_description
            .or_else(|| base.as_ref().map(|b| b.workflow_description.clone()))
            .unwrap_or_default();
        let annex_iii_area = self.annex_iii_area.or_else(|| base.as_ref().and_then(|b| b.annex_iii_area.clone()));
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
}

#[derive(Deserialize, ToSchema)]
pub struct CreateProject {
    /// 1–128 characters from `[A-Za-z0-9._-]`, not starting with `.` or `-`; unique.
    name: String,
    #[serde(default)]
    description: String,
    #[serde(flatten)]
    context: ContextFields,
}

#[derive(Serialize, ToSchema)]
pub struct ProjectView {
    name: String,
    description: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
    created_by: String,
    /// The tier that decides the promotion gates of the project's models.
    tier: &'static str,
    /// `override` (a risk officer's), `register` (the highest band of the risk register) or
    /// `unassessed` (no register yet: governed as high).
    tier_source: &'static str,
    /// A tier set by a risk officer, if any.
    tier_override: Option<&'static str>,
    /// The use case: industry, workflow, data sensitivity, autonomy, EU AI Act category.
    #[schema(value_type = Option<Object>)]
    context: Option<Value>,
}

impl ProjectView {
    fn new(p: Project, tier: Tier, source: TierSource) -> Self {
        ProjectView {
            tier: tier.as_str(),
            tier_source: source.as_str(),
            tier_override: p.tier_override.map(Tier::as_str),
            context: p.context.as_ref().map(ProjectContext::to_json),
            name: p.name,
            description: p.description,
            created_at: p.created_at,
            created_by: p.created_by,
        }
    }

    async fn of(riskops: &Riskops, p: Project) -> Result<Self, Error> {
        let (tier, source) = riskops.project_tier(&p).await?;
        Ok(ProjectView::new(p, tier, source))
    }
}

/// `null` and absent differ: `"tier": null` clears the override, no `tier` keeps it.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateProject {
    /// `low`, `medium`, `high` or `critical` overrides the tier; `null` clears the
    /// override (admin, risk_officer; needs `reason`).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    tier: Option<Option<String>>,
    /// Why the tier is overridden; kept in the audit trail.
    #[serde(default)]
    reason: String,
    /// Context fields to change (admin, risk_officer); the rest stays.
    #[serde(flatten)]
    context: ContextFields,
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
        let context = body.context.apply(current.context)?;
        project = Some(riskops.set_project_context(&ctx, &name, Some(context)).await?);
    }
    if let Some(tier) = body.tier {
        let tier = tier.as_deref().map(|t| Tier::parse("tier", t)).transpose()?;
        project = Some(riskops.set_project_tier(&ctx, &name, tier, &body.reason).await?);
    }
    let project = project.ok_or_else(|| Error::internal("nothing was updated"))?;
    Ok(Json(ProjectView::of(riskops, project).await?))
}

#[derive(Serialize, ToSchema)]
pub struct ProjectList {
    projects: Vec<ProjectView>,
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
    let context = if body.context.is_empty() { None } else { Some(body.context.apply(None)?) };
    let project = NewProject { name: body.name, description: body.description };
    let project = state.riskops.create_project_with_context(&ctx, project, context).await?;
    Ok((StatusCode::CREATED, Json(ProjectView::of(&state.riskops, project).await?)))
}

/// Lists every project the caller may read, by name.
#[utoipa::path(
    get, path = "/api/v1/projects", tag = "projects", security(("bearer" = [])),
    responses((status = 200, body = ProjectList), (status = 401, body = ErrorBody))
)]
pub async fn list_projects(State(state): State<AppState>, Caller(ctx): Caller) -> Result<Json<ProjectList>, ApiError> {
    let mut projects = Vec::new();
    for p in state.riskops.list_projects(&ctx).await? {
        projects.push(ProjectView::of(&state.riskops, p).await?);
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
    Ok(Json(ProjectView::new(project, tier, source)))
}
