//! A model version's report (riskops-report: the document `riskops report model` writes),
//! gathered in process from the same route handlers the API serves, as the signed-in person
//! may read them, with its stylesheet linked (the CSP allows no inline style).

use super::html::{self, esc};
use super::portfolio::url_encode;
use super::session::Session;
use crate::error::ApiError;
use crate::extract::Caller;
use crate::routes::{self, alerting, governance, lineage, monitoring, registry_views::VersionPath};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use riskops_api::alerting::Incident;
use riskops_api::governance::{EvidenceStanding, PromotionResponse, StagesView};
use riskops_api::lineage::{Graph, LineageAnswer};
use riskops_api::projects::ProjectView;
use riskops_api::registry::ModelVersionView;
use riskops_api::risk::RiskView;
use riskops_api::window::WindowReport;
use riskops_core::Error;
use riskops_core::drift_html::Stylesheet;
use riskops_core::registry::VersionRef;
use riskops_core::service::RequestContext;
use riskops_report::ReportSource;
use serde::Deserialize;
use serde_json::Value;

/// Where the report's stylesheet is served.
pub(super) const STYLESHEET: &str = "/assets/model-report.css";

#[derive(Debug, Deserialize)]
pub(super) struct ReportPath {
    project: String,
    model: String,
    /// A version number, or `latest`.
    version: String,
}

/// The page's URL for a model version.
pub(super) fn href(project: &str, model: &str, version: u32) -> String {
    format!("/projects/{}/models/{}/versions/{version}/report", url_encode(project), url_encode(model))
}

pub(super) async fn page(State(state): State<AppState>, session: Session, Path(path): Path<ReportPath>) -> Response {
    if let Err(e) = routes::check_model_in_project(&state, &session.ctx, &path.project, &path.model).await {
        return html::api_error_page(&e);
    }
    let source = InProcess { state, ctx: session.ctx.clone() };
    let report = match riskops_report::gather(&source, &path.model, &path.version).await {
        Ok(report) => report,
        Err(e) => return html::api_error_page(&e.into()),
    };
    let back = format!(
        "<p class=\"back\"><a href=\"/projects/{}/models/{}\">← {} / {}</a> · to keep it, print this page (as PDF) \
         or run <code>riskops report model {}@{} --format html</code></p>",
        esc(&url_encode(&path.project)),
        esc(&url_encode(&path.model)),
        esc(&path.project),
        esc(&path.model),
        esc(&path.model),
        report.model.version
    );
    let body = riskops_report::html(&report, Stylesheet::Linked(STYLESHEET), &back);
    (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))], body)
        .into_response()
}

pub(super) async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
        ],
        riskops_report::STYLE,
    )
}

/// The API's answers without HTTP: each call is the route's handler with the caller.
struct InProcess {
    state: AppState,
    ctx: RequestContext,
}

impl InProcess {
    fn caller(&self) -> Caller {
        Caller(self.ctx.clone())
    }

    fn state(&self) -> State<AppState> {
        State(self.state.clone())
    }
}

fn version_path(name: &str, version: impl ToString) -> Path<VersionPath> {
    Path(VersionPath { name: name.to_string(), version: version.to_string() })
}

impl ReportSource for InProcess {
    type Error = Error;

    async fn model_version(&self, name: &str, version: &str) -> Result<ModelVersionView, Error> {
        let answer = routes::models::model_version(self.state(), self.caller(), version_path(name, version)).await;
        Ok(answer.map_err(|ApiError(e)| e)?.0)
    }

    async fn project(&self, name: &str) -> Result<ProjectView, Error> {
        let answer = routes::projects::get_project(self.state(), self.caller(), Path(name.to_string())).await;
        Ok(answer.map_err(|ApiError(e)| e)?.0)
    }

    async fn lineage(&self, name: &str, version: u32) -> Result<Graph, Error> {
        let path = lineage::LineagePath { kind: "model".into(), name: name.to_string(), version: version.to_string() };
        let query = lineage::LineageQuery { format: None };
        let answer = lineage::lineage(self.state(), self.caller(), Path(path), Query(query)).await;
        Ok(match answer.map_err(|ApiError(e)| e)?.0 {
            LineageAnswer::Graph(graph) => graph,
            LineageAnswer::OpenLineage(_) => Graph { nodes: Vec::new(), edges: Vec::new() },
        })
    }

    async fn risks(&self, project: &str) -> Result<Vec<RiskView>, Error> {
        let answer = routes::risk::list_risks(self.state(), self.caller(), Path(project.to_string())).await;
        Ok(answer.map_err(|ApiError(e)| e)?.0.risks)
    }

    async fn evidence(&self, name: &str, version: u32) -> Result<Vec<(EvidenceStanding, Value)>, Error> {
        let answer = governance::list_evidence(self.state(), self.caller(), version_path(name, version)).await;
        let list = answer.map_err(|ApiError(e)| e)?.0.evidence;
        // The JSON the API would send for each piece, as a client reads it.
        Ok(list
            .into_iter()
            .map(|e| {
                let json = serde_json::to_value(&e).unwrap_or(Value::Null);
                (e, json)
            })
            .collect())
    }

    async fn evidence_file(&self, name: &str, version: u32, id: i64, limit: u64) -> Result<Option<Vec<u8>>, Error> {
        let r = VersionRef { name: name.to_string(), version: Some(version) };
        let (_, file) = self.state.riskops.evidence_file(&self.ctx, &r, id).await?;
        if file.size > limit {
            return Ok(None);
        }
        // Verified against its digest when opened; read while `file` (maybe a temporary copy) lives.
        let bytes = tokio::fs::read(&file.path)
            .await
            .map_err(|e| Error::unavailable(format!("cannot read evidence {id} of {name}@{version}: {e}")))?;
        Ok(Some(bytes))
    }

    async fn promotions(&self, name: &str) -> Result<Vec<PromotionResponse>, Error> {
        let query = governance::PromotionQuery { model: Some(name.to_string()), status: None };
        let answer = governance::list_promotions(self.state(), self.caller(), Query(query)).await;
        Ok(answer.map_err(|ApiError(e)| e)?.0.promotions)
    }

    async fn stages(&self, name: &str) -> Result<StagesView, Error> {
        let query = governance::StageQuery { at: None };
        let answer = governance::stages(self.state(), self.caller(), Path(name.to_string()), Query(query)).await;
        Ok(answer.map_err(|ApiError(e)| e)?.0)
    }

    async fn daily_windows(&self, project: &str, name: &str, from: Option<i64>) -> Result<Vec<WindowReport>, Error> {
        let path = monitoring::ModelPath { project: project.to_string(), model: name.to_string() };
        let query = monitoring::MonitoringQuery {
            from: from.map(|f| f.to_string()),
            to: None,
            granularity: Some("day".into()),
        };
        let answer = monitoring::monitoring(self.state(), self.caller(), Path(path), Query(query)).await;
        Ok(answer.map_err(|ApiError(e)| e)?.0.windows)
    }

    async fn incidents(&self, project: &str, name: &str) -> Result<Vec<Incident>, Error> {
        let query = alerting::IncidentQuery {
            project: Some(project.to_string()),
            model: Some(name.to_string()),
            state: None,
            kind: None,
        };
        let answer = alerting::list_incidents(self.state(), self.caller(), Query(query)).await;
        Ok(answer.map_err(|ApiError(e)| e)?.0.incidents)
    }
}
