//! The portfolio, the executive's page: every project and model the person may see — stage,
//! tier, drift now, performance, fairness, open incidents by severity, business value —
//! filterable and sortable, with totals, compliance coverage per framework and a heatmap of
//! the open risk-register entries.

use super::html::{self, esc, fixed, percent};
use super::session::Session;
use crate::error::ApiError;
use crate::extract::Caller;
use crate::routes;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use riskops_api::alerting::ModelStatus;
use riskops_api::compliance::ComplianceView;
use riskops_api::projects::ProjectView;
use riskops_api::risk::RiskView;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

#[derive(Debug, Default, Deserialize)]
pub(super) struct PortfolioQuery {
    industry: Option<String>,
    tier: Option<String>,
    /// `production`, `staging`, `development` (deployed there) or `none` (not deployed).
    stage: Option<String>,
    sort: Option<String>,
}

/// One project as the API shows it to this person.
struct ProjectData {
    project: ProjectView,
    models: Vec<ModelStatus>,
    /// `None` when this person may not read it.
    compliance: Option<ComplianceView>,
    risks: Vec<RiskView>,
}

const SEVERITIES: [&str; 4] = ["critical", "high", "medium", "low"];
const STAGES: [&str; 3] = ["production", "staging", "development"];
const SORTS: [(&str, &str); 7] = [
    ("project", "Project"),
    ("tier", "Tier"),
    ("drift", "Drift now"),
    ("performance", "Performance"),
    ("fairness", "Parity ratio"),
    ("incidents", "Open incidents"),
    ("value", "Value / 1,000"),
];

pub(super) async fn page(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<PortfolioQuery>,
) -> Response {
    match gather(&state, &session).await {
        Ok(data) => html::page_response(StatusCode::OK, "Portfolio", Some(&session), &render(&data, &query)),
        Err(e) => html::api_error_page(&e),
    }
}

/// The API's answers for every project this person can see. Projects are gathered side by
/// side (each one's answers are several reads and a report per model): with a few dozen
/// projects this halves the page's time on two cores.
async fn gather(state: &AppState, session: &Session) -> Result<Vec<ProjectData>, ApiError> {
    let caller = Caller(session.ctx.clone());
    let projects = routes::projects::list_projects(State(state.clone()), caller).await?.0.projects;
    let mut tasks = tokio::task::JoinSet::new();
    for (i, project) in projects.into_iter().enumerate() {
        let (state, ctx) = (state.clone(), session.ctx.clone());
        tasks.spawn(async move { (i, project_data(&state, &ctx, project).await) });
    }
    let mut out: Vec<(usize, ProjectData)> = Vec::with_capacity(tasks.len());
    while let Some(done) = tasks.join_next().await {
        let (i, data) = done.map_err(|e| riskops_core::Error::internal(format!("gathering a project failed: {e}")))?;
        out.push((i, data?));
    }
    out.sort_by_key(|(i, _)| *i);
    Ok(out.into_iter().map(|(_, d)| d).collect())
}

/// One project's models, compliance and register, as the API gives them to this person.
async fn project_data(
    state: &AppState,
    ctx: &riskops_core::service::RequestContext,
    project: ProjectView,
) -> Result<ProjectData, ApiError> {
    let caller = || Caller(ctx.clone());
    let name = project.name.clone();
    let path = routes::alerting::ProjectPath { project: name.clone() };
    let models = routes::alerting::monitoring_status(State(state.clone()), caller(), Path(path)).await?.0.models;
    let query = routes::compliance::ComplianceQuery { framework: None };
    let compliance = routes::compliance::compliance(State(state.clone()), caller(), Path(name.clone()), Query(query))
        .await
        .ok()
        .map(|j| j.0);
    let risks = match routes::risk::list_risks(State(state.clone()), caller(), Path(name)).await {
        Ok(list) => list.0.risks,
        Err(_) => Vec::new(),
    };
    Ok(ProjectData { project, models, compliance, risks })
}

fn industry(p: &ProjectView) -> String {
    p.context.as_ref().and_then(|c| c.0.get("industry")).and_then(|v| v.as_str()).unwrap_or("–").to_string()
}

/// A model's row and what it is sorted and filtered by.
struct Row<'a> {
    project: &'a ProjectView,
    model: &'a ModelStatus,
}

impl Row<'_> {
    fn drift(&self) -> Option<f64> {
        self.model.last_window.as_ref().map(|w| w.drift_share)
    }

    /// The headline metric: ROC AUC, else F1, else R².
    fn performance(&self) -> Option<(&'static str, f64)> {
        let p = self.model.last_window.as_ref()?.performance.as_ref()?;
        ["roc_auc", "f1", "r2"].into_iter().find_map(|m| p.get(m).map(|x| (m, x)))
    }

    fn parity(&self) -> Option<f64> {
        self.model.last_window.as_ref()?.lowest_parity_ratio
    }

    fn value(&self) -> Option<f64> {
        self.model.last_window.as_ref()?.business.as_ref().map(|b| b.value_per_1000)
    }

    fn incidents(&self, severity: &str) -> usize {
        self.model.open_incidents.iter().filter(|i| i.severity == severity).count()
    }

    /// Incidents weighted so that one critical outranks any number of lower ones shown.
    fn incident_weight(&self) -> usize {
        SEVERITIES.iter().rev().enumerate().map(|(i, s)| self.incidents(s) * 1000usize.pow(i as u32)).sum()
    }

    fn stage_matches(&self, stage: &str) -> bool {
        match stage {
            "none" => self.model.stages.is_empty(),
            s => self.model.stages.contains_key(s),
        }
    }
}

fn tier_rank(tier: &str) -> usize {
    SEVERITIES.iter().position(|s| *s == tier).unwrap_or(SEVERITIES.len())
}

/// A filter's value, unless it is empty (the form's "all").
fn chosen(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

fn render(data: &[ProjectData], q: &PortfolioQuery) -> String {
    let mut rows: Vec<Row<'_>> = data
        .iter()
        .flat_map(|d| d.models.iter().map(move |m| Row { project: &d.project, model: m }))
        .filter(|r| chosen(&q.industry).is_none_or(|i| industry(r.project) == i))
        .filter(|r| chosen(&q.tier).is_none_or(|t| r.model.tier == t))
        .filter(|r| chosen(&q.stage).is_none_or(|s| r.stage_matches(s)))
        .collect();
    sort_rows(&mut rows, chosen(&q.sort).unwrap_or("project"));

    let mut out = String::from("<h1>Portfolio</h1>\n");
    out.push_str(&totals(data, &rows));
    out.push_str(&filters(data, q));
    out.push_str(&models_table(&rows, q));
    out.push_str("<div class=\"two\">\n<section>\n<h2>Compliance coverage</h2>\n");
    out.push_str(&compliance_table(data));
    out.push_str("</section>\n<section>\n<h2>Open risks (severity × likelihood)</h2>\n");
    out.push_str(&heatmap(data));
    out.push_str("</section>\n</div>\n");
    out
}

fn sort_rows(rows: &mut [Row<'_>], by: &str) {
    // Worst first for the risk columns; missing values last.
    let desc = |x: Option<f64>| x.map_or(f64::INFINITY, |x| -x);
    let asc = |x: Option<f64>| x.unwrap_or(f64::INFINITY);
    match by {
        "tier" => rows.sort_by_key(|r| tier_rank(&r.model.tier)),
        "drift" => rows.sort_by(|a, b| desc(a.drift()).total_cmp(&desc(b.drift()))),
        "performance" => {
            rows.sort_by(|a, b| asc(a.performance().map(|p| p.1)).total_cmp(&asc(b.performance().map(|p| p.1))))
        }
        "fairness" => rows.sort_by(|a, b| asc(a.parity()).total_cmp(&asc(b.parity()))),
        "incidents" => rows.sort_by_key(|r| std::cmp::Reverse(r.incident_weight())),
        "value" => rows.sort_by(|a, b| asc(a.value()).total_cmp(&asc(b.value()))),
        _ => rows.sort_by(|a, b| (&a.project.name, &a.model.model).cmp(&(&b.project.name, &b.model.model))),
    }
}

fn totals(data: &[ProjectData], rows: &[Row<'_>]) -> String {
    let models: usize = data.iter().map(|d| d.models.len()).sum();
    let in_production = data.iter().flat_map(|d| &d.models).filter(|m| m.stages.contains_key("production")).count();
    let drifting = data
        .iter()
        .flat_map(|d| &d.models)
        .filter(|m| m.last_window.as_ref().is_some_and(|w| !w.drifted_features.is_empty()))
        .count();
    let incidents = |severity: &str| {
        data.iter().flat_map(|d| &d.models).flat_map(|m| &m.open_incidents).filter(|i| i.severity == severity).count()
    };
    let open_risks = data.iter().flat_map(|d| &d.risks).filter(|r| r.status != "closed").count();
    let mut out = String::from("<ul class=\"totals\">\n");
    let mut item = |n: usize, label: &str| {
        let _ = writeln!(out, "<li><b>{n}</b><span>{}</span></li>", esc(label));
    };
    item(data.len(), "projects");
    item(models, "models");
    item(in_production, "in production");
    item(drifting, "drifting now");
    item(incidents("critical") + incidents("high"), "critical or high incidents open");
    item(open_risks, "open risks in the registers");
    if rows.len() != models {
        item(rows.len(), "models shown by the filters");
    }
    out.push_str("</ul>\n");
    out
}

fn select(name: &str, label: &str, options: &[String], current: Option<&str>) -> String {
    let mut out = format!("<label>{}<select name=\"{name}\"><option value=\"\">all</option>", esc(label));
    for o in options {
        let selected = if current == Some(o.as_str()) { " selected" } else { "" };
        let _ = write!(out, "<option value=\"{0}\"{selected}>{0}</option>", esc(o));
    }
    out.push_str("</select></label>");
    out
}

fn filters(data: &[ProjectData], q: &PortfolioQuery) -> String {
    let mut industries: Vec<String> = data.iter().map(|d| industry(&d.project)).collect();
    industries.sort();
    industries.dedup();
    let tiers: Vec<String> = SEVERITIES.iter().rev().map(|s| s.to_string()).collect();
    let stages: Vec<String> = STAGES.iter().map(|s| s.to_string()).chain(["none".to_string()]).collect();
    format!(
        "<form class=\"filters\" method=\"get\" action=\"/\">{}{}{}<input type=\"hidden\" name=\"sort\" value=\"{}\"><button type=\"submit\">Filter</button></form>\n",
        select("industry", "Industry", &industries, q.industry.as_deref()),
        select("tier", "Tier", &tiers, q.tier.as_deref()),
        select("stage", "Stage", &stages, q.stage.as_deref()),
        esc(q.sort.as_deref().unwrap_or("project")),
    )
}

fn models_table(rows: &[Row<'_>], q: &PortfolioQuery) -> String {
    if rows.is_empty() {
        return "<p class=\"muted\">No models to show. A model appears here once it is registered in a project you have a role in.</p>\n".to_string();
    }
    let link = |key: &str, label: &str| {
        let mut params = vec![format!("sort={key}")];
        for (name, value) in [("industry", &q.industry), ("tier", &q.tier), ("stage", &q.stage)] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                params.push(format!("{name}={}", url_encode(v)));
            }
        }
        format!("<th scope=\"col\"><a href=\"/?{}\">{}</a></th>", esc(&params.join("&")), esc(label))
    };
    let mut out = String::from("<table class=\"models\">\n<thead><tr>");
    out.push_str(&link("project", "Project / model"));
    out.push_str("<th scope=\"col\">Industry</th>");
    out.push_str(&link("tier", "Tier"));
    out.push_str("<th scope=\"col\">Stage</th>");
    for (key, label) in &SORTS[2..] {
        out.push_str(&link(key, label));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for r in rows {
        let m = r.model;
        let stages: Vec<String> = m.stages.iter().map(|(env, v)| format!("{} v{v}", esc(env))).collect();
        let drift = match &m.last_window {
            None => "<span class=\"muted\">no window in 30 days</span>".to_string(),
            Some(w) if w.drifted_features.is_empty() => percent(Some(w.drift_share)),
            Some(w) => format!(
                "<span class=\"drift-yes\">{}</span> <span class=\"muted\">{}</span>",
                percent(Some(w.drift_share)),
                esc(&w.drifted_features.join(", "))
            ),
        };
        let performance = r
            .performance()
            .map_or_else(|| "–".to_string(), |(name, x)| format!("{x:.3} <span class=\"muted\">{name}</span>"));
        let parity = match (r.parity(), m.last_window.as_ref().and_then(|w| w.lowest_parity_attribute.as_deref())) {
            (Some(x), Some(a)) => format!("{x:.2} <span class=\"muted\">{}</span>", esc(a)),
            _ => "–".to_string(),
        };
        let incidents: Vec<String> = SEVERITIES
            .iter()
            .filter_map(|s| {
                let n = r.incidents(s);
                (n > 0).then(|| format!("<span class=\"tag sev-{s}\">{n} {s}</span>"))
            })
            .collect();
        let value = m
            .last_window
            .as_ref()
            .and_then(|w| w.business.as_ref())
            .map_or_else(|| "–".to_string(), |b| format!("{} {}", fixed(Some(b.value_per_1000), 0), esc(&b.currency)));
        let _ = writeln!(
            out,
            "<tr><td><a href=\"/projects/{}\"><b>{}</b></a> / <a href=\"/projects/{}/models/{}\">{}</a></td><td>{}</td><td><span class=\"tag tier-{t}\">{t}</span></td><td>{}</td><td>{drift}</td><td>{performance}</td><td class=\"num\">{parity}</td><td>{}</td><td class=\"num\">{value}</td></tr>",
            esc(&url_encode(&r.project.name)),
            esc(&r.project.name),
            esc(&url_encode(&r.project.name)),
            esc(&url_encode(&m.model)),
            esc(&m.model),
            esc(&industry(r.project)),
            if stages.is_empty() { "<span class=\"muted\">not deployed</span>".to_string() } else { stages.join(", ") },
            if incidents.is_empty() { "<span class=\"muted\">none</span>".to_string() } else { incidents.join(" ") },
            t = esc(&m.tier),
        );
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

fn compliance_table(data: &[ProjectData]) -> String {
    let frameworks: Vec<&String> = {
        let mut f: Vec<&String> =
            data.iter().filter_map(|d| d.compliance.as_ref()).flat_map(|c| c.coverage.keys()).collect();
        f.sort();
        f.dedup();
        f
    };
    if data.is_empty() {
        return "<p class=\"muted\">No projects.</p>\n".to_string();
    }
    let mut out = String::from("<table>\n<thead><tr><th scope=\"col\">Project</th><th scope=\"col\">Tier</th>");
    for f in &frameworks {
        let _ = write!(out, "<th scope=\"col\">{}</th>", esc(f));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for d in data {
        let _ = write!(
            out,
            "<tr><td><a href=\"/projects/{}\">{}</a></td><td><span class=\"tag tier-{t}\">{t}</span></td>",
            esc(&url_encode(&d.project.name)),
            esc(&d.project.name),
            t = esc(&d.project.tier)
        );
        for f in &frameworks {
            let cell = match &d.compliance {
                None => "<span class=\"muted\">no access</span>".to_string(),
                Some(c) => match (c.coverage.get(*f), c.coverage_detail.get(*f)) {
                    (Some(ratio), Some(detail)) => format!(
                        "{} <span class=\"muted\">{}/{}</span>",
                        percent(Some(*ratio)),
                        detail.met,
                        detail.applicable
                    ),
                    (Some(ratio), None) => percent(Some(*ratio)),
                    _ => "<span class=\"muted\">n/a</span>".to_string(),
                },
            };
            let _ = write!(out, "<td class=\"num\">{cell}</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

/// Open (not closed) register entries counted per severity × likelihood, coloured by the
/// band of the inherent score.
fn heatmap(data: &[ProjectData]) -> String {
    let mut counts: BTreeMap<(u8, u8), usize> = BTreeMap::new();
    for r in data.iter().flat_map(|d| &d.risks).filter(|r| r.status != "closed") {
        *counts.entry((r.severity, r.likelihood)).or_default() += 1;
    }
    let mut out = String::from(
        "<table class=\"heatmap\" aria-label=\"Open risks by severity and likelihood\">\n<thead><tr><th scope=\"col\">sev \\ lik</th>",
    );
    for likelihood in 1..=5 {
        let _ = write!(out, "<th scope=\"col\">{likelihood}</th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for severity in (1..=5u8).rev() {
        let _ = write!(out, "<tr><th scope=\"row\">{severity}</th>");
        for likelihood in 1..=5u8 {
            let n = counts.get(&(severity, likelihood)).copied().unwrap_or(0);
            let band = match severity * likelihood {
                _ if n == 0 => "0",
                0..=4 => "low",
                5..=9 => "medium",
                10..=16 => "high",
                _ => "critical",
            };
            let _ = write!(
                out,
                "<td class=\"heat-{band}\" title=\"severity {severity}, likelihood {likelihood}\">{n}</td>"
            );
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

pub(super) fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
