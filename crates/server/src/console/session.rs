//! Signing in and out, the session cookie, and CSRF tokens.
//!
//! The cookie holds `<token id>.<API token>`: the token the password sign-in issued (revoked
//! at sign-out), or an API token pasted into the form (id 0: signing out of the browser does
//! not revoke a token the person also uses elsewhere). The CSRF token of a session is a hash
//! of its API token: a page from this origin can carry it, another site cannot know it.

use super::html::{self, esc};
use crate::extract::ClientAddr;
use crate::state::AppState;
use axum::Form;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use riskops_core::secret::Secret;
use riskops_core::service::RequestContext;
use serde::Deserialize;
use sha2::{Digest, Sha256};

const COOKIE: &str = "riskops_session";
/// As long as the token a password sign-in issues.
const MAX_AGE_SECONDS: u32 = 12 * 3600;

/// A signed-in person, for a console page. A request without a valid session is sent to
/// the sign-in page.
pub(super) struct Session {
    pub ctx: RequestContext,
    token_id: i64,
    pub csrf: String,
}

impl Session {
    pub fn name(&self) -> &str {
        self.ctx.principal.name()
    }

    /// Refuses a form posted from another origin or without this session's CSRF token.
    pub fn check_form(&self, headers: &HeaderMap, csrf: &str) -> Result<(), Forbidden> {
        same_origin(headers)?;
        self.check_csrf(csrf)
    }

    /// Refuses a form whose CSRF token is not this session's.
    fn check_csrf(&self, sent: &str) -> Result<(), Forbidden> {
        if constant_time_eq(sent.as_bytes(), self.csrf.as_bytes()) {
            Ok(())
        } else {
            Err(Forbidden("The form has expired or did not come from this console; reload the page and try again."))
        }
    }
}

/// A form refused before anything is done (403), and why.
pub(super) struct Forbidden(&'static str);

impl IntoResponse for Forbidden {
    fn into_response(self) -> Response {
        html::error_page(StatusCode::FORBIDDEN, self.0)
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let to_sign_in = || Redirect::to("/sign-in").into_response();
        let Some((token_id, token)) = session_cookie(&parts.headers) else { return Err(to_sign_in()) };
        let ClientAddr(client) =
            ClientAddr::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        let principal = match state.riskops.authenticate(&token, &client).await {
            Ok(p) => p,
            Err(e) if e.kind == riskops_core::ErrorKind::RateLimited => {
                return Err(html::error_page(StatusCode::TOO_MANY_REQUESTS, &e.message));
            }
            // An expired or revoked token: sign in again.
            Err(_) => return Err(to_sign_in()),
        };
        if let Some(slot) = parts.extensions.get::<crate::access::CallerSlot>() {
            slot.set(principal.name());
        }
        let request_id = crate::extract::request_id(parts);
        Ok(Session { ctx: RequestContext { principal, request_id }, token_id, csrf: csrf_of(&token) })
    }
}

/// `(token id, token)` from the request's session cookie.
fn session_cookie(headers: &HeaderMap) -> Option<(i64, String)> {
    let cookies = headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok());
    let value = cookies.flat_map(|c| c.split(';')).find_map(|c| c.trim().strip_prefix("riskops_session="))?;
    let (id, token) = value.split_once('.')?;
    if token.is_empty() {
        return None;
    }
    Some((id.parse().ok()?, token.to_string()))
}

fn csrf_of(token: &str) -> String {
    let digest = Sha256::new().chain_update(b"riskops-console-csrf\0").chain_update(token.as_bytes()).finalize();
    riskops_core::encode::hex(&digest)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn set_cookie(value: &str, max_age: u32, https: bool) -> HeaderValue {
    // `Secure` only under TLS (over plain HTTP a browser would drop the cookie); SameSite=Strict
    // keeps it off every request another site starts.
    let secure = if https { "; Secure" } else { "" };
    let cookie = format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static("riskops_session=; Max-Age=0"))
}

/// A form posted from another origin is refused (browsers send `Origin` on every POST).
fn same_origin(headers: &HeaderMap) -> Result<(), Forbidden> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return Ok(()) };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    if origin_host == host { Ok(()) } else { Err(Forbidden("This form was sent from another site.")) }
}

pub(super) async fn sign_in_page() -> Response {
    sign_in_form(StatusCode::OK, None)
}

fn sign_in_form(status: StatusCode, error: Option<&str>) -> Response {
    let error = error.map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e))).unwrap_or_default();
    let body = format!(
        r#"<section class="sign-in">
<h1>Sign in to riskops</h1>
{error}
<form method="post" action="/sign-in">
<label for="name">User name</label>
<input id="name" name="name" autocomplete="username" required>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
<details>
<summary>Sign in with an API token</summary>
<form method="post" action="/sign-in">
<label for="token">API token</label>
<input id="token" name="token" type="password" autocomplete="off" required>
<button type="submit">Sign in</button>
</form>
</details>
</section>"#
    );
    html::page_response(status, "Sign in", None, &body)
}

#[derive(Deserialize)]
pub(super) struct SignInForm {
    name: Option<String>,
    password: Option<String>,
    token: Option<String>,
}

pub(super) async fn sign_in(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    if let Err(refused) = same_origin(&headers) {
        return refused.into_response();
    }
    let signed_in = match (form.token.as_deref().map(str::trim).filter(|t| !t.is_empty()), form.name, form.password) {
        (Some(token), _, _) => state.riskops.authenticate(token, &client).await.map(|_| (0, token.to_string())),
        (None, Some(name), Some(password)) => state
            .riskops
            .sign_in(name.trim(), &Secret::new(password), &client)
            .await
            .map(|issued| (issued.info.id, issued.token.expose().clone())),
        _ => {
            return sign_in_form(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("Give a user name and password, or an API token."),
            );
        }
    };
    match signed_in {
        Ok((id, token)) => {
            let mut response = Redirect::to("/").into_response();
            response
                .headers_mut()
                .insert(header::SET_COOKIE, set_cookie(&format!("{id}.{token}"), MAX_AGE_SECONDS, state.https));
            response
        }
        Err(e) => {
            let status = crate::error::status_and_code(e.kind).0;
            let message = if e.kind == riskops_core::ErrorKind::RateLimited {
                e.message
            } else {
                "Sign-in failed: the user name and password (or the token) are not valid.".to_string()
            };
            sign_in_form(status, Some(&message))
        }
    }
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    csrf: String,
}

pub(super) async fn sign_out(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = session.check_form(&headers, &form.csrf) {
        return refused.into_response();
    }
    if session.token_id != 0 {
        // The token dies with the session; a failure leaves it to expire in 12 hours.
        if let Err(e) = state.riskops.revoke_token(&session.ctx, session.token_id).await {
            tracing::warn!(error = %e, "signing out could not revoke the session's token");
        }
    }
    let mut response = Redirect::to("/sign-in").into_response();
    response.headers_mut().insert(header::SET_COOKIE, set_cookie("", 0, state.https));
    response
}
