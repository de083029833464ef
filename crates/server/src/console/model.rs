//! A model's page: its versions and where each runs, and its monitoring over a chosen
//! range as charts (drift share, performance, fairness, volume, data quality, latency,
//! business value; one point per window, daily means for long ranges: see `series`), its
//! incidents and deployments marked on the time axis, and the newest window's drift per
//! feature with a link to its full drift report.

use super::chart::{Marker, MarkerKind};
use super::html::{self, esc, fixed};
use super::series;
use super::session::Session;
use crate::error::ApiError;
use crate::extract::Caller;
use crate::routes::{self, alerting, monitoring};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use riskops_api::alerting::{Incident, ModelStatus};
use riskops_api::governance::{DeploymentView, EvidenceStanding};
use riskops_api::lineage::{Graph, LineageAnswer};
use riskops_api::registry::ModelVersionView;
use riskops_api::window::WindowReport;
use riskops_core::series::SeriesPoint;
use serde::Deserialize;
use std::fmt::Write as _;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(Debug, Deserialize)]
pub(super) struct ModelPagePath {
    project: String,
    model: String,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct RangeQuery {
    /// Days back from now (default 7, at most 366).
    days: Option<u32>,
    /// `hour` or `day`; default: the model's own windows.
    granularity: Option<String>,
}

struct ModelData {
    status: ModelStatus,
    versions: Vec<ModelVersionView>,
    /// The newest version's evidence and lineage (`None`: not readable by this person).
    evidence: Option<Vec<EvidenceStanding>>,
    lineage: Option<Graph>,
    /// The range's windows; for a range shown as daily means, only the last day's.
    windows: Vec<WindowReport>,
    /// What the charts draw: one point per window, or per day.
    points: Vec<(i64, SeriesPoint)>,
    /// Windows in the range.
    window_count: usize,
    days: u32,
    incidents: Vec<Incident>,
    deployments: Vec<DeploymentView>,
    span: (i64, i64),
}

pub(super) async fn page(
    State(state): State<AppState>,
    session: Session,
    Path(path): Path<ModelPagePath>,
    Query(range): Query<RangeQuery>,
) -> Response {
    match gather(&state, &session, &path, &range).await {
        Ok(data) => {
            let title = format!("{} / {}", path.project, path.model);
            html::page_response(StatusCode::OK, &title, Some(&session), &render(&path, &range, &data))
        }
        Err(e) => html::api_error_page(&e),
    }
}

async fn gather(
    state: &AppState,
    session: &Session,
    path: &ModelPagePath,
    range: &RangeQuery,
) -> Result<ModelData, ApiError> {
    let caller = || Caller(session.ctx.clone());
    let project = alerting::ProjectPath { project: path.project.clone() };
    let status = alerting::monitoring_status(State(state.clone()), caller(), Path(project)).await?.0;
    let Some(model) = status.models.into_iter().find(|m| m.model == path.model) else {
        return Err(
            riskops_core::Error::not_found(format!("no model {:?} in project {:?}", path.model, path.project)).into()
        );
    };
    let versions = routes::models::model_versions(State(state.clone()), caller(), Path(path.model.clone())).await?.0;
    let newest = versions.iter().map(|v| v.version).max().unwrap_or(1).to_string();
    let version_path = routes::registry_views::VersionPath { name: path.model.clone(), version: newest.clone() };
    let evidence = routes::governance::list_evidence(State(state.clone()), caller(), Path(version_path))
        .await
        .ok()
        .map(|e| e.0.evidence);
    let lineage_path = routes::lineage::LineagePath { kind: "model".into(), name: path.model.clone(), version: newest };
    let lineage_query = routes::lineage::LineageQuery { format: None };
    let lineage = match routes::lineage::lineage(
        State(state.clone()),
        caller(),
        Path(lineage_path),
        Query(lineage_query),
    )
    .await
    {
        Ok(answer) => match answer.0 {
            LineageAnswer::Graph(g) => Some(g),
            LineageAnswer::OpenLineage(_) => None,
        },
        Err(_) => None,
    };
    let to = state.riskops.now().unix_timestamp() + 1;
    let days = range.days.unwrap_or(7).clamp(1, 366);
    let from = to - i64::from(days) * 86_400;
    let daily = days > series::HOURLY_UP_TO_DAYS;
    // A range shown as daily means reads the windows' stored chart values; the window
    // reports (the newest window's drift) are read for its last day only.
    let query = monitoring::MonitoringQuery {
        from: Some(if daily { (to - 86_400).to_string() } else { from.to_string() }),
        to: Some(to.to_string()),
        granularity: range.granularity.clone().filter(|g| !g.is_empty() && !daily),
    };
    let model_path = monitoring::ModelPath { project: path.project.clone(), model: path.model.clone() };
    let windows =
        monitoring::monitoring(State(state.clone()), caller(), Path(model_path), Query(query)).await?.0.windows;
    let (points, window_count) = if daily {
        let all = state.riskops.monitoring_series(&session.ctx, &path.model, from, to).await?;
        (series::daily_means(&all), all.len())
    } else {
        (series::points_of(&windows, unix), windows.len())
    };
    let deployments = routes::governance::stages(
        State(state.clone()),
        caller(),
        Path(path.model.clone()),
        Query(routes::governance::StageQuery { at: None }),
    )
    .await
    .map(|s| s.0.history)
    .unwrap_or_default();
    let incident_query = alerting::IncidentQuery {
        project: Some(path.project.clone()),
        model: Some(path.model.clone()),
        state: None,
        kind: None,
    };
    let incidents = alerting::list_incidents(State(state.clone()), caller(), Query(incident_query)).await?.0.incidents;
    Ok(ModelData {
        status: model,
        versions,
        evidence,
        lineage,
        windows,
        points,
        window_count,
        days,
        incidents,
        deployments,
        span: (from, to),
    })
}

fn unix(text: &str) -> i64 {
    OffsetDateTime::parse(text, &Rfc3339).map_or(0, |t| t.unix_timestamp())
}

fn render(path: &ModelPagePath, range: &RangeQuery, d: &ModelData) -> String {
    let m = &d.status;
    let mut out = format!(
        "<h1>{} / {} <span class=\"tag tier-{t}\">{t}</span></h1>\n",
        esc(&path.project),
        esc(&path.model),
        t = esc(&m.tier)
    );
    out.push_str(&versions_table(path, d));
    if let (Some(graph), Some(newest)) = (&d.lineage, d.versions.iter().map(|v| v.version).max()) {
        let center = graph
            .nodes
            .iter()
            .find(|n| n.kind == "model" && n.name == path.model && n.version == Some(newest))
            .map(|n| n.id.clone());
        if let Some(center) = center {
            let _ = writeln!(out, "<h2>Lineage of v{newest}</h2>");
            out.push_str(&super::lineage::render(graph, &center));
        }
    }
    out.push_str(&evidence_table(d));
    out.push_str(&range_form(range));
    let mut markers: Vec<Marker> = d
        .incidents
        .iter()
        .map(|i| Marker {
            at: unix(&i.first_window),
            label: format!("incident #{}: {}", i.id, i.title),
            kind: MarkerKind::Incident,
        })
        .collect();
    markers.extend(d.deployments.iter().map(|dep| Marker {
        at: unix(&dep.since),
        label: format!("v{} to {} by {}: {}", dep.version, dep.environment, dep.by, dep.reason),
        kind: MarkerKind::Deployment,
    }));
    let _ = writeln!(out, "<h2>Monitoring: {} window(s)</h2>", d.window_count);
    out.push_str(&series::rule(d.days, d.points.len(), d.window_count));
    out.push_str(
        "<p class=\"muted legend\"><span class=\"key incident\">- - -</span> incident opened <span class=\"key deployment\">— —</span> deployment</p>\n",
    );
    out.push_str(&series::charts(&d.points, d.span, &markers));
    out.push_str(&report_link(path, d));
    out.push_str(&latest_drift(path, d.windows.last()));
    out.push_str(&incidents_list(&d.incidents));
    out
}

/// The newest version's model report (validation, evidence, monitoring, lineage), for a
/// committee; every version's is linked from the versions table.
fn report_link(path: &ModelPagePath, d: &ModelData) -> String {
    let newest = d.versions.iter().map(|v| v.version).max().unwrap_or(1);
    format!(
        "<p><a href=\"{}\">Model report of v{newest}</a> <span class=\"muted\">(validation, evidence, risks, approvals, monitoring and lineage, for a committee; printable)</span></p>\n",
        esc(&super::report::href(&path.project, &path.model, newest))
    )
}

fn versions_table(path: &ModelPagePath, d: &ModelData) -> String {
    let mut out = String::from(
        "<h2>Versions</h2>\n<table>\n<thead><tr><th scope=\"col\">Version</th><th scope=\"col\">Where</th><th scope=\"col\">Framework</th><th scope=\"col\">Trained on</th><th scope=\"col\">Validated on</th><th scope=\"col\">Code</th><th scope=\"col\">Report</th></tr></thead>\n<tbody>\n",
    );
    for v in d.versions.iter().rev() {
        let whereabouts: Vec<&str> =
            d.status.stages.iter().filter(|(_, n)| **n == v.version).map(|(env, _)| env.as_str()).collect();
        let code = match (&v.code_repo, &v.code_commit) {
            (Some(repo), Some(commit)) => format!("{} @ {}", esc(repo), esc(commit)),
            _ => "–".into(),
        };
        let _ = writeln!(
            out,
            "<tr><td>v{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{code}</td><td><a href=\"{}\">report</a></td></tr>",
            v.version,
            if whereabouts.is_empty() { "–".to_string() } else { esc(&whereabouts.join(", ")) },
            esc(&v.framework),
            esc(v.training_data.as_deref().unwrap_or("–")),
            esc(v.validation_data.as_deref().unwrap_or("–")),
            esc(&super::report::href(&path.project, &path.model, v.version)),
        );
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

fn evidence_table(d: &ModelData) -> String {
    let Some(evidence) = &d.evidence else { return String::new() };
    let newest = d.versions.iter().map(|v| v.version).max().unwrap_or(1);
    let mut out = format!("<h2>Evidence of v{newest}</h2>\n");
    if evidence.is_empty() {
        out.push_str(
            "<p class=\"muted\">None yet: `riskops validate`, `riskops stress` or `riskops evidence add`.</p>\n",
        );
        return out;
    }
    out.push_str("<table>\n<thead><tr><th scope=\"col\">Kind</th><th scope=\"col\">Produced by</th><th scope=\"col\">Passed</th><th scope=\"col\">Summary</th><th scope=\"col\">Counts toward gates</th><th scope=\"col\">Filed</th></tr></thead>\n<tbody>\n");
    for e in evidence {
        let v = &e.evidence;
        let counts =
            if e.counts { "yes".to_string() } else { format!("no: {}", e.does_not_count.as_deref().unwrap_or("")) };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} by {}</td></tr>",
            esc(&v.kind),
            esc(v.produced_by.as_deref().unwrap_or("uploaded")),
            match v.passed {
                Some(true) => "yes",
                Some(false) => "<span class=\"drift-yes\">no</span>",
                None => "–",
            },
            esc(&v.summary),
            esc(&counts),
            esc(&v.created_at),
            esc(&v.created_by)
        );
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

fn range_form(range: &RangeQuery) -> String {
    let days = range.days.unwrap_or(7);
    let mut out = String::from("<form class=\"filters\" method=\"get\"><label>Range<select name=\"days\">");
    for (n, label) in
        [(1, "last day"), (7, "last 7 days"), (30, "last 30 days"), (90, "last 90 days"), (365, "last year")]
    {
        let selected = if n == days { " selected" } else { "" };
        let _ = write!(out, "<option value=\"{n}\"{selected}>{label}</option>");
    }
    out.push_str("</select></label><label>Windows<select name=\"granularity\">");
    for (g, label) in [("", "as configured"), ("hour", "hourly"), ("day", "daily")] {
        let selected = if range.granularity.as_deref().unwrap_or("") == g { " selected" } else { "" };
        let _ = write!(out, "<option value=\"{g}\"{selected}>{label}</option>");
    }
    out.push_str("</select></label><button type=\"submit\">Show</button></form>\n");
    out
}

fn latest_drift(path: &ModelPagePath, latest: Option<&WindowReport>) -> String {
    let Some(w) = latest else { return "<p class=\"muted\">No window in this range.</p>\n".to_string() };
    let mut out = format!(
        "<h2>Newest window: drift per feature</h2>\n<p class=\"muted\">{} to {}, version {}, {} records ({} labelled){} · <a href=\"{}\">drift report with distributions</a></p>\n<table>\n<thead><tr><th scope=\"col\">Feature</th><th scope=\"col\">Method</th><th scope=\"col\">Statistic</th><th scope=\"col\">p-value</th><th scope=\"col\">Threshold</th><th scope=\"col\">Drifted</th></tr></thead>\n<tbody>\n",
        esc(&w.start),
        esc(&w.end),
        esc(&w.version),
        w.records,
        w.labelled,
        if matches!(w.drift.status, riskops_api::window::DriftStatus::Insufficient) {
            " — too few records to judge drift"
        } else {
            ""
        },
        esc(&super::drift::href(&path.project, &path.model, &w.start, &w.version)),
    );
    for f in &w.drift.features {
        let exact = if f.exact { "" } else { " <span class=\"muted\">(approximate)</span>" };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}{exact}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            esc(&f.name),
            esc(&f.method),
            fixed(f.statistic, 4),
            fixed(f.p_value, 4),
            fixed(Some(f.threshold), 3),
            if f.drifted { "<span class=\"drift-yes\">yes</span>" } else { "no" }
        );
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

fn incidents_list(incidents: &[Incident]) -> String {
    if incidents.is_empty() {
        return "<h2>Incidents</h2>\n<p class=\"muted\">None.</p>\n".to_string();
    }
    let mut out = String::from("<h2>Incidents</h2>\n<ul>\n");
    for i in incidents {
        let _ = writeln!(
            out,
            "<li><a href=\"/incidents?state=all#incident-{id}\">#{id}</a> <span class=\"tag sev-{sev}\">{sev}</span> {} — {} since {}</li>",
            esc(&i.title),
            esc(&i.state),
            esc(&i.first_window),
            id = i.id,
            sev = esc(&i.severity)
        );
    }
    out.push_str("</ul>\n");
    out
}
