//! A window's drift against its version's reference, as `riskops drift --format html`
//! shows two files (riskops-core's `drift_html`, shared with the CLI), with a way back to the
//! model. Readable by whoever may read the model's monitoring (core's authorization). The
//! page says whether its statistics are exact (a closed window) or from sketches.

use super::html::{self, esc};
use super::session::Session;
use crate::routes;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use riskops_core::drift_html::{Labels, STYLE, Stylesheet, render};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Where the report's stylesheet is served (the CSP allows no inline style).
pub(super) const STYLESHEET: &str = "/assets/drift-report.css";

#[derive(Debug, Deserialize)]
pub(super) struct WindowPath {
    project: String,
    model: String,
    /// The window's start: RFC 3339 or unix seconds.
    start: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct VersionQuery {
    version: u32,
}

/// The page's URL for a window of a model version.
pub(super) fn href(project: &str, model: &str, start: &str, version: &str) -> String {
    format!(
        "/projects/{}/models/{}/windows/{}/drift?version={}",
        super::portfolio::url_encode(project),
        super::portfolio::url_encode(model),
        super::portfolio::url_encode(start),
        super::portfolio::url_encode(version)
    )
}

pub(super) async fn page(
    State(state): State<AppState>,
    session: Session,
    Path(path): Path<WindowPath>,
    Query(query): Query<VersionQuery>,
) -> Response {
    let Some(start) = instant(&path.start) else {
        let message = format!("{:?} is not a window start (RFC 3339 or unix seconds)", path.start);
        return html::error_page(StatusCode::UNPROCESSABLE_ENTITY, &message);
    };
    if let Err(e) = routes::check_model_in_project(&state, &session.ctx, &path.project, &path.model).await {
        return html::api_error_page(&e);
    }
    let drift = match state.riskops.window_drift(&session.ctx, &path.model, query.version, start).await {
        Ok(d) => d,
        Err(e) => return html::api_error_page(&e.into()),
    };
    // Which numbers these are: a closed window's are exact, an open one's from sketches.
    let back = format!(
        "<p class=\"back\"><a href=\"/projects/{}/models/{}\">← {} / {}</a></p>\
         <p class=\"source\" data-exact=\"{}\">{}</p>",
        esc(&super::portfolio::url_encode(&path.project)),
        esc(&super::portfolio::url_encode(&path.model)),
        esc(&path.project),
        esc(&path.model),
        drift.exact,
        esc(&drift.source)
    );
    let current = format!(
        "{}@{}, window {} to {}",
        drift.model,
        drift.version,
        riskops_monitor::rfc3339(drift.start),
        riskops_monitor::rfc3339(drift.end)
    );
    let labels = Labels { reference: &drift.reference, current: &current, preface: &back };
    let body = render(&drift.report, labels, Stylesheet::Linked(STYLESHEET));
    (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))], body)
        .into_response()
}

fn instant(text: &str) -> Option<i64> {
    text.parse::<i64>().ok().or_else(|| OffsetDateTime::parse(text, &Rfc3339).ok().map(|t| t.unix_timestamp()))
}

pub(super) async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
        ],
        STYLE,
    )
}
