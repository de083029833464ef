//! Request extractors: the caller's identity, and JSON bodies with riskops's errors.

use crate::error::ApiError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use riskops_core::Error;
use riskops_core::error::ErrorKind;
use riskops_core::service::RequestContext;

/// The request id header, set by the request-id layer when the client sent none.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The authenticated caller of an `/api/v1` route. A handler that takes it cannot run
/// without a valid bearer token.
pub struct Caller(pub RequestContext);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(axum::http::header::AUTHORIZATION).ok_or_else(|| {
            Error::unauthenticated("missing Authorization header; send `Authorization: Bearer <token>`")
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::unauthenticated("the Authorization header must be `Bearer <token>`"))?;
        let principal = state.riskops.authenticate(token, &client_addr(parts)).await?;
        if let Some(slot) = parts.extensions.get::<crate::access::CallerSlot>() {
            slot.set(principal.name());
        }
        Ok(Caller(RequestContext { principal, request_id: request_id(parts) }))
    }
}

/// The peer's IP address, which failed attempts are throttled by. Behind a proxy every
/// client shares the proxy's address: deploy the throttle-aware proxy in front, or accept
/// that one attacker can lock everyone out for five minutes (which beats guessing).
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(client_addr(parts)))
    }
}

fn client_addr(parts: &Parts) -> String {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".to_string())
}

pub fn request_id(parts: &Parts) -> Option<String> {
    parts.headers.get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// `Json<T>` whose rejections use riskops's error shape: malformed JSON is a 400, a
/// well-formed body with a wrong or missing field a 422, a body over the limit a 413.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !json_content_type(req.headers()) {
            return Err(ApiError(Error::bad_request("expected a JSON body with `Content-Type: application/json`")));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            let kind = if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ErrorKind::PayloadTooLarge
            } else {
                ErrorKind::BadRequest
            };
            ApiError(Error::new(kind, r.body_text()))
        })?;
        let value = match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(value)) => value,
            Err(rejection) => return Err(ApiError(json_rejection(rejection))),
        };
        refuse_duplicate_keys("the body", &bytes)?;
        Ok(ApiJson(value))
    }
}

/// A JSON body already read (a batch, read after its caller was authorized), with the same
/// errors as [`ApiJson`]: malformed JSON is a 400, a wrong or missing field a 422 naming it.
pub fn json_body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(bytes).map_err(|e| {
        if e.is_data() {
            Error::new(ErrorKind::Invalid, format!("the body does not match the expected shape: {e}"))
        } else {
            Error::bad_request(format!("the body is not JSON: {e}"))
        }
    })
}

/// `application/json` or `application/…+json`, as axum's `Json` accepts.
fn json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// A JSON text that names a key twice is refused (400): serde would keep the last value
/// silently, and what is recorded and audited must be what the client sent, read one way.
/// Call it on text that already parsed.
pub fn refuse_duplicate_keys(what: &str, text: &[u8]) -> Result<(), Error> {
    let Ok(text) = std::str::from_utf8(text) else { return Ok(()) };
    riskops_core::audit::parse_json_strict(text).map(drop).map_err(|e| Error::bad_request(format!("{what}: {e}")))
}

fn json_rejection(rejection: JsonRejection) -> Error {
    let message = rejection.body_text();
    let kind = match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ErrorKind::PayloadTooLarge,
        StatusCode::UNPROCESSABLE_ENTITY => ErrorKind::Invalid,
        _ => ErrorKind::BadRequest,
    };
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            Error::bad_request("expected a JSON body with `Content-Type: application/json`")
        }
        JsonRejection::JsonDataError(_) => {
            // serde names the field in its message ("missing field `name`", "name: invalid type …").
            Error { kind, message, field: None }
        }
        _ => Error::new(kind, message),
    }
}
