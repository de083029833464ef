//! A project's risk and compliance: its models, its risk register (inherent and residual
//! scores, controls, owners) and its compliance report per framework with each control's
//! status and reason.

use super::html::{self, esc, percent};
use super::session::Session;
use crate::extract::Caller;
use crate::routes;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use riskops_api::compliance::ComplianceView;
use riskops_api::risk::RiskView;
use std::fmt::Write as _;

pub(super) async fn page(State(state): State<AppState>, session: Session, Path(project): Path<String>) -> Response {
    let caller = || Caller(session.ctx.clone());
    let view = match routes::projects::get_project(State(state.clone()), caller(), Path(project.clone())).await {
        Ok(v) => v.0,
        Err(e) => return html::api_error_page(&e),
    };
    let path = routes::alerting::ProjectPath { project: project.clone() };
    let models =
        routes::alerting::monitoring_status(State(state.clone()), caller(), Path(path)).await.map(|s| s.0.models);
    let risks =
        routes::risk::list_risks(State(state.clone()), caller(), Path(project.clone())).await.map(|r| r.0.risks);
    let query = routes::compliance::ComplianceQuery { framework: None };
    let compliance =
        routes::compliance::compliance(State(state.clone()), caller(), Path(project.clone()), Query(query))
            .await
            .map(|c| c.0);

    let mut body = format!(
        "<h1>{} <span class=\"tag tier-{t}\">{t}</span></h1>\n<p class=\"muted\">{} · tier from {}</p>\n",
        esc(&view.name),
        esc(&view.description),
        esc(&view.tier_source),
        t = esc(&view.tier)
    );
    body.push_str("<h2>Models</h2>\n");
    match models {
        Ok(models) if !models.is_empty() => {
            body.push_str("<ul>\n");
            for m in models {
                let stages: Vec<String> = m.stages.iter().map(|(env, v)| format!("{env} v{v}")).collect();
                let _ = writeln!(
                    body,
                    "<li><a href=\"/projects/{}/models/{}\">{}</a> <span class=\"muted\">{}</span></li>",
                    esc(&super::portfolio::url_encode(&project)),
                    esc(&super::portfolio::url_encode(&m.model)),
                    esc(&m.model),
                    esc(&if stages.is_empty() { "not deployed".to_string() } else { stages.join(", ") })
                );
            }
            body.push_str("</ul>\n");
        }
        Ok(_) => body.push_str("<p class=\"muted\">No models yet.</p>\n"),
        Err(e) => {
            let _ = writeln!(body, "<p class=\"muted\">{}</p>", esc(&e.public_message()));
        }
    }
    body.push_str("<h2>Risk register</h2>\n");
    match risks {
        Ok(risks) => body.push_str(&register(&risks)),
        Err(e) => {
            let _ = writeln!(body, "<p class=\"muted\">{}</p>", esc(&e.public_message()));
        }
    }
    body.push_str("<h2>Compliance</h2>\n");
    match compliance {
        Ok(c) => body.push_str(&compliance_report(&c)),
        Err(e) => {
            let _ = writeln!(body, "<p class=\"muted\">{}</p>", esc(&e.public_message()));
        }
    }
    html::page_response(StatusCode::OK, &view.name, Some(&session), &body)
}

fn register(risks: &[RiskView]) -> String {
    if risks.is_empty() {
        return "<p class=\"muted\">The register is empty: assess the project (`riskops risk assess`).</p>\n"
            .to_string();
    }
    let mut out = String::from(
        "<table>\n<thead><tr><th scope=\"col\">#</th><th scope=\"col\">Failure mode</th><th scope=\"col\">Category</th><th scope=\"col\">Severity × likelihood</th><th scope=\"col\">Inherent</th><th scope=\"col\">Residual</th><th scope=\"col\">Controls</th><th scope=\"col\">Owner</th><th scope=\"col\">Status</th></tr></thead>\n<tbody>\n",
    );
    for r in risks {
        let controls: Vec<String> = r.controls.iter().map(|c| format!("{} (−{})", esc(&c.control), c.effect)).collect();
        let _ = writeln!(
            out,
            "<tr><td class=\"num\">{}</td><td>{}</td><td>{}</td><td class=\"num\">{} × {}</td><td><span class=\"tag sev-{band}\">{} {band}</span></td><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            r.id,
            esc(&r.failure_mode),
            esc(&r.category),
            r.severity,
            r.likelihood,
            r.inherent_score,
            r.residual_score,
            if controls.is_empty() { "–".to_string() } else { controls.join(", ") },
            esc(if r.owner.is_empty() { "–" } else { &r.owner }),
            esc(&r.status),
            band = esc(&r.band),
        );
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

fn compliance_report(c: &ComplianceView) -> String {
    let mut out = String::from("<ul class=\"totals\">\n");
    for (framework, ratio) in &c.coverage {
        let detail = c
            .coverage_detail
            .get(framework)
            .map(|d| format!("{} of {} controls", d.met, d.applicable))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<li><b>{}</b><span>{} · {}</span></li>",
            percent(Some(*ratio)),
            esc(framework),
            esc(&detail)
        );
    }
    out.push_str("</ul>\n");
    for n in &c.frameworks_not_applicable {
        let _ = writeln!(out, "<p class=\"muted\">{} does not apply: {}</p>", esc(&n.framework), esc(&n.reason));
    }
    out.push_str("<table>\n<thead><tr><th scope=\"col\">Control</th><th scope=\"col\">Status</th><th scope=\"col\">Why</th></tr></thead>\n<tbody>\n");
    for control in &c.controls {
        let class = match control.status.as_str() {
            "satisfied" | "attested" => "sev-low",
            "unsatisfied" => "sev-critical",
            _ => "",
        };
        let _ = writeln!(
            out,
            "<tr><td><b>{}</b> {}</td><td><span class=\"tag {class}\">{}</span></td><td>{}</td></tr>",
            esc(&control.id),
            esc(&control.title),
            esc(&control.status),
            esc(&control.reason)
        );
    }
    out.push_str("</tbody>\n</table>\n");
    out
}
