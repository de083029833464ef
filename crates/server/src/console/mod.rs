//! The web console: server-rendered pages for the people who govern models, served by
//! `riskops serve` itself at `/`.
//!
//! Pages are built from the API's own answers: each page calls the route handlers of
//! [`crate::routes`] with the signed-in caller, so a number on a page is the number the API
//! gives, and every page goes through the same authorization. No script runs; the one
//! stylesheet is compiled in, and the Content-Security-Policy allows nothing from another
//! origin. A session is a cookie holding an API token (HttpOnly, SameSite=Strict, 12 hours);
//! every form carries a CSRF token derived from it.

mod audit;
mod chart;
mod drift;
mod html;
mod incidents;
mod lineage;
mod model;
mod portfolio;
mod project;
mod promotions;
mod report;
mod series;
mod session;

use crate::state::AppState;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// The console's routes, with its security headers.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(portfolio::page))
        .route("/promotions", get(promotions::page))
        .route("/promotions/{id}/decision", axum::routing::post(promotions::decide))
        .route("/projects/{project}", get(project::page))
        .route("/projects/{project}/models/{model}", get(model::page))
        .route("/projects/{project}/models/{model}/windows/{start}/drift", get(drift::page))
        .route("/projects/{project}/models/{model}/versions/{version}/report", get(report::page))
        .route("/incidents", get(incidents::page))
        .route("/audit", get(audit::page))
        .route("/incidents/{id}/state", axum::routing::post(incidents::set_state))
        .route("/sign-in", get(session::sign_in_page).post(session::sign_in))
        .route("/sign-out", axum::routing::post(session::sign_out))
        .route("/assets/console.css", get(stylesheet))
        .route("/favicon.ico", get(favicon))
        .route(drift::STYLESHEET, get(drift::stylesheet))
        .route(report::STYLESHEET, get(report::stylesheet))
        .layer(axum::middleware::from_fn(security_headers))
}

/// Nothing from another origin, no scripts, no framing; answers are not cached (they hold
/// what one person may see).
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // Not `no-referrer`: under it a browser sends `Origin: null` with a form, and the
    // console's same-origin check on forms needs the origin.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// The tab icon browsers ask for on their own (a 404 there is a console error in Chromium):
/// a small SVG, drawn here so nothing is loaded from elsewhere.
async fn favicon() -> impl IntoResponse {
    const ICON: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\">\
        <rect width=\"16\" height=\"16\" rx=\"3\" fill=\"#0969da\"/>\
        <path d=\"M4 13V3h4.5a3 3 0 0 1 0 6H6l4 4\" fill=\"none\" stroke=\"#fff\" stroke-width=\"1.8\"/></svg>";
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400")),
        ],
        ICON,
    )
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
        ],
        include_str!("console.css"),
    )
}
