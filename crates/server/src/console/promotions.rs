//! Promotions: the queue of requests, what each still needs and why, and approve or reject
//! with a comment. The decision goes through the same service as the API, so separation of
//! duties is enforced there and its refusal is shown to the person as it is.

use super::html::{self, esc};
use super::session::Session;
use crate::extract::{ApiJson, Caller};
use crate::routes::governance;
use crate::state::AppState;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use riskops_api::governance::{DecisionRequest, PromotionResponse};
use serde::Deserialize;
use std::fmt::Write as _;

#[derive(Debug, Default, Deserialize)]
pub(super) struct PromotionsQuery {
    /// `pending` (the default), `completed`, `rejected` or `all`.
    status: Option<String>,
}

pub(super) async fn page(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<PromotionsQuery>,
) -> Response {
    render_page(&state, &session, q.status.as_deref().unwrap_or("pending"), StatusCode::OK, None).await
}

async fn render_page(
    state: &AppState,
    session: &Session,
    status: &str,
    code: StatusCode,
    notice: Option<&str>,
) -> Response {
    let filter = (status != "all").then(|| status.to_string());
    let query = governance::PromotionQuery { model: None, status: filter };
    let list = match governance::list_promotions(State(state.clone()), Caller(session.ctx.clone()), Query(query)).await
    {
        Ok(list) => list.0.promotions,
        Err(e) => return html::api_error_page(&e),
    };
    let mut body = String::from("<h1>Promotions</h1>\n");
    if let Some(notice) = notice {
        let _ = writeln!(body, "<p class=\"error\" role=\"alert\">{}</p>", esc(notice));
    }
    body.push_str("<nav class=\"tabs\" aria-label=\"Status\">");
    for s in ["pending", "completed", "rejected", "all"] {
        let current = if s == status { " aria-current=\"page\"" } else { "" };
        let _ = write!(body, "<a href=\"/promotions?status={s}\"{current}>{s}</a>");
    }
    body.push_str("</nav>\n");
    if list.is_empty() {
        let _ = writeln!(body, "<p class=\"muted\">No {} promotion requests you can see.</p>", esc(status));
    }
    for p in &list {
        body.push_str(&request_card(p, session));
    }
    html::page_response(code, "Promotions", Some(session), &body)
}

fn request_card(p: &PromotionResponse, session: &Session) -> String {
    let mut out = format!(
        "<article class=\"card\" id=\"promotion-{id}\">\n<h2>#{id} {project} / {model}@{version} → {env} <span class=\"tag tier-{tier}\">{tier}</span> <span class=\"tag\">{status}</span></h2>\n<p class=\"muted\">requested by {by} on {at}{reason}</p>\n",
        id = p.id,
        project = esc(&p.project),
        model = esc(&p.model),
        version = p.version,
        env = esc(&p.environment),
        tier = esc(&p.tier),
        status = esc(&p.status),
        by = esc(&p.requested_by),
        at = esc(&p.created_at),
        reason = if p.reason.is_empty() { String::new() } else { format!(": “{}”", esc(&p.reason)) },
    );
    if let Some(why) = &p.closed_reason {
        let _ = writeln!(out, "<p>{}</p>", esc(why));
    }
    if !p.missing_reasons.is_empty() {
        out.push_str("<h3>Still missing</h3>\n<ul>\n");
        for m in &p.missing_reasons {
            let _ = writeln!(out, "<li><b>{}</b>: {}</li>", esc(&m.requirement), esc(&m.reason));
        }
        out.push_str("</ul>\n");
    }
    if !p.decisions.is_empty() {
        out.push_str("<h3>Decisions</h3>\n<ul>\n");
        for d in &p.decisions {
            let _ = writeln!(
                out,
                "<li>{} by {} ({}) on {}{}</li>",
                esc(&d.decision),
                esc(&d.by),
                esc(&d.roles.join(", ")),
                esc(&d.at),
                if d.comment.is_empty() { String::new() } else { format!(": “{}”", esc(&d.comment)) }
            );
        }
        out.push_str("</ul>\n");
    }
    if p.status == "pending" {
        let _ = write!(
            out,
            r#"<form class="decide" method="post" action="/promotions/{id}/decision">
<input type="hidden" name="csrf" value="{csrf}">
<label for="comment-{id}">Comment</label>
<textarea id="comment-{id}" name="comment" rows="2"></textarea>
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="reject" class="secondary">Reject</button>
</form>
"#,
            id = p.id,
            csrf = esc(&session.csrf)
        );
    }
    out.push_str("</article>\n");
    out
}

#[derive(Deserialize)]
pub(super) struct DecisionForm {
    csrf: String,
    decision: String,
    #[serde(default)]
    comment: String,
}

/// Approves or rejects; a refusal (separation of duties, a role the gate does not ask for,
/// a second decision) is shown on the queue with the service's reason.
pub(super) async fn decide(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(form): Form<DecisionForm>,
) -> Response {
    if let Err(refused) = session.check_form(&headers, &form.csrf) {
        return refused.into_response();
    }
    let caller = Caller(session.ctx.clone());
    let body = ApiJson(DecisionRequest { comment: form.comment });
    let decided = match form.decision.as_str() {
        "approve" => governance::approve(State(state.clone()), caller, Path(id), body).await,
        "reject" => governance::reject(State(state.clone()), caller, Path(id), body).await,
        _ => return html::error_page(StatusCode::UNPROCESSABLE_ENTITY, "The decision must be approve or reject."),
    };
    match decided {
        Ok(_) => Redirect::to(&format!("/promotions?status=all#promotion-{id}")).into_response(),
        // The queue again with the reason on top, answered 200: the page is what the person
        // asked for, and a browser would log a 4xx document as an error.
        Err(e) => {
            let notice = format!("Promotion #{id} was not {}d: {}", form.decision, e.public_message());
            render_page(&state, &session, "pending", StatusCode::OK, Some(&notice)).await
        }
    }
}
