//! The console's page frame and small HTML helpers. Every value written into a page goes
//! through [`esc`] (core's one HTML escaper).

use super::session::Session;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

pub(super) fn esc(text: &str) -> String {
    riskops_core::encode::escape_html(text)
}

/// A whole page: the navigation and who is signed in (with the sign-out form) when there is
/// a session, then `body` (already HTML).
pub(super) fn page_response(status: StatusCode, title: &str, session: Option<&Session>, body: &str) -> Response {
    let header_bar = match session {
        None => String::new(),
        Some(s) => format!(
            r#"<header class="bar">
<a class="brand" href="/">riskops</a>
<nav aria-label="Main"><a href="/">Portfolio</a><a href="/promotions">Promotions</a><a href="/incidents">Incidents</a><a href="/audit">Audit</a></nav>
<form class="who" method="post" action="/sign-out">
<span>{}</span>
<input type="hidden" name="csrf" value="{}">
<button type="submit">Sign out</button>
</form>
</header>"#,
            esc(s.name()),
            esc(&s.csrf)
        ),
    };
    let html = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{} · riskops</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/console.css">
</head>
<body>
{header_bar}
<main>
{body}
</main>
</body>
</html>
"#,
        esc(title)
    );
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))], html).into_response()
}

/// An error as a page (the API's errors are JSON; a person gets words).
pub(super) fn error_page(status: StatusCode, message: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    let body = format!(
        "<section class=\"message\"><h1>{}</h1><p>{}</p><p><a href=\"/\">Back to the portfolio</a></p></section>",
        esc(title),
        esc(message)
    );
    page_response(status, title, None, &body)
}

/// An API error as a page, with its status and the message the API would give (storage and
/// internal failures are not described to the caller).
pub(super) fn api_error_page(e: &crate::error::ApiError) -> Response {
    error_page(e.status(), &e.public_message())
}

/// A number with `digits` decimals, or a dash.
pub(super) fn fixed(x: Option<f64>, digits: usize) -> String {
    x.map_or_else(|| "–".to_string(), |x| format!("{x:.digits$}"))
}

/// A share as a percentage, or a dash.
pub(super) fn percent(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_string(), |x| format!("{:.0}%", x * 100.0))
}

/// `acknowledge` → `Acknowledge`.
pub(super) fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}
