//! Incidents: the list (open by default), each with its monitor, windows, evidence and
//! retrain advice, and acknowledge or resolve with a note, through the API's handlers.

use super::html::{self, esc};
use super::session::Session;
use crate::extract::Caller;
use crate::routes::alerting;
use crate::state::AppState;
use axum::Form;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use riskops_api::alerting::Incident;
use serde::Deserialize;
use std::fmt::Write as _;

#[derive(Debug, Default, Deserialize)]
pub(super) struct IncidentsQuery {
    /// `open` (the default), `acknowledged`, `resolved` or `all`.
    state: Option<String>,
}

pub(super) async fn page(State(state): State<AppState>, session: Session, Query(q): Query<IncidentsQuery>) -> Response {
    render_page(&state, &session, q.state.as_deref().unwrap_or("open"), StatusCode::OK, None).await
}

async fn render_page(
    state: &AppState,
    session: &Session,
    which: &str,
    code: StatusCode,
    notice: Option<&str>,
) -> Response {
    let query = alerting::IncidentQuery {
        project: None,
        model: None,
        state: (which != "all").then(|| which.to_string()),
        kind: None,
    };
    let list = match alerting::list_incidents(State(state.clone()), Caller(session.ctx.clone()), Query(query)).await {
        Ok(list) => list.0.incidents,
        Err(e) => return html::api_error_page(&e),
    };
    let mut body = String::from("<h1>Incidents</h1>\n");
    if let Some(notice) = notice {
        let _ = writeln!(body, "<p class=\"error\" role=\"alert\">{}</p>", esc(notice));
    }
    body.push_str("<nav class=\"tabs\" aria-label=\"State\">");
    for s in ["open", "acknowledged", "resolved", "all"] {
        let current = if s == which { " aria-current=\"page\"" } else { "" };
        let _ = write!(body, "<a href=\"/incidents?state={s}\"{current}>{s}</a>");
    }
    body.push_str("</nav>\n");
    if list.is_empty() {
        let _ = writeln!(body, "<p class=\"muted\">No {} incidents you can see.</p>", esc(which));
    }
    for i in &list {
        body.push_str(&incident_card(i, session));
    }
    html::page_response(code, "Incidents", Some(session), &body)
}

fn incident_card(i: &Incident, session: &Session) -> String {
    // Access incidents concern no project, model or window: their rule and subject instead.
    let about = if i.model.is_empty() {
        format!("{} · opened {}", esc(&i.monitor_id), esc(&i.opened_at))
    } else {
        format!(
            "{project} / {model} v{version} · {windows} window(s) from {first} to {last} · opened {opened}",
            project = esc(&i.project),
            model = esc(&i.model),
            version = i.version,
            windows = i.windows,
            first = esc(&i.first_window),
            last = esc(&i.last_window),
            opened = esc(&i.opened_at),
        )
    };
    let mut out = format!(
        "<article class=\"card\" id=\"incident-{id}\">\n<h2>#{id} <span class=\"tag sev-{sev}\">{sev}</span> {title} <span class=\"tag\">{state}</span></h2>\n<p class=\"muted\">{about}</p>\n",
        id = i.id,
        sev = esc(&i.severity),
        title = esc(&i.title),
        state = esc(&i.state),
    );
    let who = |by: &Option<String>, at: &Option<String>, what: &str| match (by, at) {
        (Some(by), Some(at)) => format!("<li>{what} by {} on {}</li>", esc(by), esc(at)),
        _ => String::new(),
    };
    let history =
        who(&i.acknowledged_by, &i.acknowledged_at, "acknowledged") + &who(&i.resolved_by, &i.resolved_at, "resolved");
    if !history.is_empty() || !i.note.is_empty() {
        let _ = writeln!(
            out,
            "<ul>{history}{}</ul>",
            if i.note.is_empty() { String::new() } else { format!("<li>note: “{}”</li>", esc(&i.note)) }
        );
    }
    if let Some(reason) = i.advice.as_ref().and_then(|a| a.0.get("reason")).and_then(|r| r.as_str()) {
        let _ = writeln!(out, "<p><b>Advice:</b> {}</p>", esc(reason));
    }
    let evidence = serde_json::to_string_pretty(&i.evidence.0).unwrap_or_default();
    let _ = writeln!(out, "<details><summary>Evidence</summary><pre>{}</pre></details>", esc(&evidence));
    let actions: &[&str] = match i.state.as_str() {
        "open" => &["acknowledge", "resolve"],
        "acknowledged" => &["resolve"],
        _ => &[],
    };
    if !actions.is_empty() {
        let _ = write!(
            out,
            "<form class=\"decide\" method=\"post\" action=\"/incidents/{id}/state\">\n<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n<label for=\"note-{id}\">Note</label>\n<textarea id=\"note-{id}\" name=\"note\" rows=\"2\"></textarea>\n",
            id = i.id,
            csrf = esc(&session.csrf)
        );
        for a in actions {
            let _ =
                writeln!(out, "<button type=\"submit\" name=\"to\" value=\"{a}\">{}</button>", html::capitalized(a));
        }
        out.push_str("</form>\n");
    }
    out.push_str("</article>\n");
    out
}

#[derive(Deserialize)]
pub(super) struct StateForm {
    csrf: String,
    to: String,
    #[serde(default)]
    note: String,
}

pub(super) async fn set_state(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(form): Form<StateForm>,
) -> Response {
    if let Err(refused) = session.check_form(&headers, &form.csrf) {
        return refused.into_response();
    }
    // The API's handlers read `{"note"}` themselves (an empty body is allowed too).
    let body = Bytes::from(serde_json::json!({ "note": form.note }).to_string());
    let caller = Caller(session.ctx.clone());
    let moved = match form.to.as_str() {
        "acknowledge" => alerting::acknowledge_incident(State(state.clone()), caller, Path(id), body).await,
        "resolve" => alerting::resolve_incident(State(state.clone()), caller, Path(id), body).await,
        _ => return html::error_page(StatusCode::UNPROCESSABLE_ENTITY, "An incident is acknowledged or resolved."),
    };
    match moved {
        Ok(_) => Redirect::to(&format!("/incidents?state=all#incident-{id}")).into_response(),
        // As for promotions: the list again with the reason on top, answered 200.
        Err(e) => {
            let notice = format!("Incident #{id} was not {}d: {}", form.to, e.public_message());
            render_page(&state, &session, "open", StatusCode::OK, Some(&notice)).await
        }
    }
}
