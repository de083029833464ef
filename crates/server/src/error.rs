//! API errors: the one table from error kind to HTTP status and stable `code`.
//!
//! Every error response is `{"error":{"code":"…","message":"…"}}` (plus `field` for a
//! 422). Handlers return [`ApiError`]; errors made outside them (axum's extractors, the
//! body-limit layer, unknown routes) are rewritten to the same shape by [`json_errors`].

use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use riskops_core::{Error, ErrorKind};

pub use riskops_api::{ErrorBody, ErrorDetail};

/// The table: each kind has one status and one code.
pub fn status_and_code(kind: ErrorKind) -> (StatusCode, &'static str) {
    match kind {
        ErrorKind::BadRequest => (StatusCode::BAD_REQUEST, "bad_request"),
        ErrorKind::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthorized"),
        ErrorKind::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
        ErrorKind::NotFound => (StatusCode::NOT_FOUND, "not_found"),
        ErrorKind::Conflict => (StatusCode::CONFLICT, "conflict"),
        ErrorKind::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
        ErrorKind::Invalid => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
        ErrorKind::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
        ErrorKind::Integrity => (StatusCode::INTERNAL_SERVER_ERROR, "integrity_error"),
        ErrorKind::Unavailable | ErrorKind::Busy => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        ErrorKind::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    }
}

/// Codes for statuses that come from the HTTP layer rather than from riskops.
pub(crate) fn code_for_status(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::CONFLICT => "conflict",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::URI_TOO_LONG => "uri_too_long",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "headers_too_large",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_field",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        s if s.is_client_error() => "bad_request",
        _ => "internal",
    }
}

/// An error on its way to becoming a response.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl ApiError {
    /// The status this error is answered with.
    pub fn status(&self) -> StatusCode {
        status_and_code(self.0.kind).0
    }

    /// What the caller is told. Details of a failure stay in the log (with the request id),
    /// not in the answer: they may name the server's paths, hosts or SQL. The console's
    /// error pages say the same as the API.
    pub fn public_message(&self) -> String {
        match self.0.kind {
            ErrorKind::Integrity | ErrorKind::Busy => self.0.message.clone(),
            ErrorKind::Unavailable => {
                tracing::error!(error = %self.0, "storage unavailable");
                "riskops cannot use its storage right now; try again shortly (the server log has the details under this request's id)".to_string()
            }
            _ if self.status().is_server_error() => {
                tracing::error!(error = %self.0, kind = ?self.0.kind, "request failed");
                "internal error; the server log has the details under this request's id".to_string()
            }
            _ => self.0.message.clone(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = status_and_code(self.0.kind);
        let message = self.public_message();
        let body = ErrorBody { error: ErrorDetail { code: code.to_string(), message, field: self.0.field } };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Middleware: any error response that is not already JSON (from axum's extractors, the
/// body-limit layer, a 405) is replaced by the JSON error shape with the same status.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    // JSON errors stay as they are, and so do the console's error pages (HTML).
    let answered = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if !(status.is_client_error() || status.is_server_error()) || answered {
        return response;
    }
    let (parts, body) = response.into_parts();
    // axum's rejections explain themselves in a short text body; keep that message.
    let text = axum::body::to_bytes(body, 16 * 1024).await.ok().and_then(|b| String::from_utf8(b.to_vec()).ok());
    let message = match text {
        Some(t) if !t.trim().is_empty() => t.trim().to_string(),
        _ => status.canonical_reason().unwrap_or("error").to_string(),
    };
    let body = ErrorBody { error: ErrorDetail { code: code_for_status(status).to_string(), message, field: None } };
    let mut out = (status, Json(body)).into_response();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}

/// The fallback for routes that do not exist.
pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError(Error::not_found(format!("no route for {}", uri.path())))
}

/// Whether `e` or any error in its chain of sources is a `T` (looking inside an
/// `io::Error` too, whose `source()` skips the error it wraps).
pub(crate) fn chain_has<T: std::error::Error + 'static>(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(e);
    while let Some(err) = source {
        let wrapped = err.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref);
        if err.is::<T>() || wrapped.is_some_and(|inner| inner.is::<T>()) {
            return true;
        }
        source = err.source();
    }
    false
}
