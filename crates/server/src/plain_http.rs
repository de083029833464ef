//! The plain-HTTP listener beside TLS, only when asked (`--http-listen`): it answers
//! `/healthz` and `/readyz` for load balancers and health checkers that speak plain HTTP
//! on a private network, and sends everything else to the same path over HTTPS (308, so a
//! POST stays a POST). Nothing else is served in clear: no token, cookie or record
//! travels unencrypted because a client typed `http://`.

use crate::routes::system;
use crate::state::AppState;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Where HTTPS is served, for the redirects.
#[derive(Clone)]
struct HttpsPort(u16);

pub fn router(state: AppState, https_port: u16) -> Router {
    Router::new()
        .route("/healthz", get(system::healthz))
        .route("/readyz", get(system::readyz))
        .with_state(state)
        .fallback(redirect)
        .layer(axum::Extension(HttpsPort(https_port)))
}

async fn redirect(axum::Extension(HttpsPort(port)): axum::Extension<HttpsPort>, request: Request) -> Response {
    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).map(host_without_port);
    let Some(host) = host.filter(|h| is_host_name(h)) else {
        let message = "this port speaks plain HTTP only to send you to HTTPS: send a Host header naming the server";
        return (StatusCode::BAD_REQUEST, message).into_response();
    };
    let authority = if port == 443 { host.to_string() } else { format!("{host}:{port}") };
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
    match HeaderValue::from_str(&format!("https://{authority}{path}")) {
        Ok(location) => (StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, location)]).into_response(),
        Err(_) => (StatusCode::BAD_REQUEST, "the request's path cannot be redirected").into_response(),
    }
}

/// `example.com:8080` → `example.com`; `[::1]:8080` → `[::1]`.
fn host_without_port(host: &str) -> &str {
    if let Some(end) = host.find(']') {
        return &host[..=end];
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// A DNS name, an IPv4 address or a bracketed IPv6 one: nothing that could make the
/// redirect point at another path or scheme.
fn is_host_name(host: &str) -> bool {
    let bracketed = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
    match bracketed {
        Some(v6) => !v6.is_empty() && v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.'),
        None => !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-'),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_lose_their_port_and_only_host_names_pass() {
        assert_eq!(host_without_port("riskops.internal:8080"), "riskops.internal");
        assert_eq!(host_without_port("[::1]:8080"), "[::1]");
        assert_eq!(host_without_port("10.0.0.1"), "10.0.0.1");
        assert!(is_host_name("riskops.internal") && is_host_name("[::1]") && is_host_name("10.0.0.1"));
        assert!(!is_host_name("evil.com/x") && !is_host_name("a@b") && !is_host_name("") && !is_host_name("[]"));
    }
}
