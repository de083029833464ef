//! The audit trail: events filtered by actor, target and time, each with its details, and
//! the chain's verification status with the newest signed checkpoint (auditors, admins).

use super::html::{self, esc};
use super::session::Session;
use crate::extract::Caller;
use crate::routes::audit;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use riskops_api::audit::VerifyReport;
use serde::Deserialize;
use std::fmt::Write as _;

/// Events per page.
const PAGE: u32 = 100;

#[derive(Debug, Default, Deserialize)]
pub(super) struct AuditQuery {
    actor: Option<String>,
    target: Option<String>,
    /// RFC 3339 or a date.
    since: Option<String>,
    after: Option<i64>,
}

fn given(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

pub(super) async fn page(State(state): State<AppState>, session: Session, Query(q): Query<AuditQuery>) -> Response {
    let since = given(&q.since).map(|s| if s.contains('T') { s } else { format!("{s}T00:00:00Z") });
    let query = audit::EventQuery {
        actor: given(&q.actor),
        target: given(&q.target),
        since,
        after: q.after,
        limit: Some(PAGE),
    };
    let caller = || Caller(session.ctx.clone());
    let events = match audit::events(State(state.clone()), caller(), Query(query)).await {
        Ok(list) => list.0.events,
        Err(e) => return html::api_error_page(&e),
    };
    let verified = audit::verify(State(state.clone()), caller(), Query(audit::VerifyQuery { public_key: None }))
        .await
        .map(|v| v.0);

    let mut body = String::from("<h1>Audit trail</h1>\n");
    match verified {
        Ok(v) => body.push_str(&verification(&v)),
        Err(e) => {
            let _ =
                writeln!(body, "<p class=\"error\">The chain could not be verified: {}</p>", esc(&e.public_message()));
        }
    }
    let value = |v: &Option<String>| esc(v.as_deref().unwrap_or(""));
    let _ = writeln!(
        body,
        "<form class=\"filters\" method=\"get\" action=\"/audit\"><label>Actor<input name=\"actor\" value=\"{}\"></label><label>Target (e.g. project:fraud or dataset:)<input name=\"target\" value=\"{}\"></label><label>Since (date or RFC 3339)<input name=\"since\" value=\"{}\"></label><button type=\"submit\">Filter</button></form>",
        value(&q.actor),
        value(&q.target),
        value(&q.since)
    );
    if events.is_empty() {
        body.push_str("<p class=\"muted\">No events match.</p>\n");
    } else {
        body.push_str("<table>\n<thead><tr><th scope=\"col\">#</th><th scope=\"col\">Time</th><th scope=\"col\">Actor</th><th scope=\"col\">Action</th><th scope=\"col\">Target</th><th scope=\"col\">Details</th></tr></thead>\n<tbody>\n");
        for e in &events {
            let pretty = |d: &Option<riskops_api::Document>| {
                d.as_ref().map(|d| serde_json::to_string_pretty(&d.0).unwrap_or_default())
            };
            let mut details = String::new();
            for (label, doc) in [("before", pretty(&e.before)), ("after", pretty(&e.after))] {
                if let Some(doc) = doc {
                    let _ = write!(details, "<details><summary>{label}</summary><pre>{}</pre></details>", esc(&doc));
                }
            }
            let _ = writeln!(
                body,
                "<tr><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{details}</td></tr>",
                e.seq,
                esc(&e.time),
                esc(&e.actor),
                esc(&e.action),
                esc(&e.target)
            );
        }
        body.push_str("</tbody>\n</table>\n");
        if events.len() as u32 == PAGE
            && let Some(last) = events.last()
        {
            let mut params = vec![format!("after={}", last.seq)];
            for (name, v) in [("actor", &q.actor), ("target", &q.target), ("since", &q.since)] {
                if let Some(v) = given(v) {
                    params.push(format!("{name}={}", super::portfolio::url_encode(&v)));
                }
            }
            let _ = writeln!(body, "<p><a href=\"/audit?{}\">Next {PAGE} events</a></p>", esc(&params.join("&")));
        }
    }
    html::page_response(StatusCode::OK, "Audit trail", Some(&session), &body)
}

fn verification(v: &VerifyReport) -> String {
    let checkpoint = match &v.checkpoint {
        Some(c) => format!(
            "newest signed checkpoint at event {} ({}, key {}); {} event(s) after it not signed yet",
            c.seq,
            esc(&c.signed_at),
            esc(&c.key_id),
            v.unsigned_tail
        ),
        None => "no signed checkpoint yet".to_string(),
    };
    if v.ok {
        format!(
            "<p class=\"verified\">Chain verified: {} events, head {}…; {checkpoint}.</p>\n",
            v.events,
            esc(&v.head.chars().take(16).collect::<String>())
        )
    } else {
        format!(
            "<p class=\"error\" role=\"alert\">The chain does NOT verify{}: {}. {checkpoint}.</p>\n",
            v.first_bad_seq.map(|s| format!(" at event {s}")).unwrap_or_default(),
            esc(v.reason.as_deref().unwrap_or("unknown reason"))
        )
    }
}
