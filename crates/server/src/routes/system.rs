//! Health, identity and the API description.

use crate::error::{ApiError, ErrorBody};
use crate::extract::Caller;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the server answers.
    status: &'static str,
    version: &'static str,
    /// Where metadata is kept: `sqlite` or `postgres`.
    store: &'static str,
}

/// Liveness and what this server is; needs no token.
#[utoipa::path(get, path = "/healthz", tag = "system", responses((status = 200, body = Health)))]
pub async fn healthz(State(state): State<AppState>) -> Json<Health> {
    Json(Health { status: "ok", version: env!("CARGO_PKG_VERSION"), store: state.riskops.store_kind().as_str() })
}

#[derive(Serialize, ToSchema)]
pub struct WhoAmI {
    name: String,
    /// `user` or `service_account`.
    kind: &'static str,
    /// Each role as `ROLE` (every project) or `ROLE@PROJECT`.
    roles: Vec<String>,
}

/// The identity behind the bearer token.
#[utoipa::path(
    get, path = "/api/v1/whoami", tag = "system", security(("bearer" = [])),
    responses((status = 200, body = WhoAmI), (status = 401, body = ErrorBody))
)]
pub async fn whoami(Caller(ctx): Caller) -> Result<Json<WhoAmI>, ApiError> {
    let p = &ctx.principal;
    Ok(Json(WhoAmI {
        name: p.name().to_string(),
        kind: p.kind().as_str(),
        roles: p.roles().iter().map(ToString::to_string).collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct SigningKeyInfo {
    /// Always `ed25519`.
    algorithm: &'static str,
    /// The raw 32-byte public key, as 64 hex digits.
    public_key: String,
    /// First 16 hex digits of SHA-256 of the key: names the key in each signature.
    key_id: String,
}

/// The public key that signs audit checkpoints and production models. Public by nature,
/// so it needs no token: verifiers pin it (`riskops audit verify --public-key`).
#[utoipa::path(
    get, path = "/api/v1/signing-key", tag = "system",
    responses((status = 200, body = SigningKeyInfo), (status = 500, body = ErrorBody))
)]
pub async fn signing_key(State(state): State<AppState>) -> Result<Json<SigningKeyInfo>, ApiError> {
    let key = state.riskops.signing_key()?.public_key();
    Ok(Json(SigningKeyInfo {
        algorithm: riskops_core::signing::ALGORITHM,
        public_key: key.to_hex(),
        key_id: key.key_id(),
    }))
}

/// This document: the OpenAPI 3 description of every route, generated from the code. It
/// holds no data, so it needs no token.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "system", responses((status = 200, description = "OpenAPI 3 document", body = Object)))]
pub async fn openapi_json(State(_): State<AppState>) -> Json<utoipa::openapi::OpenApi> {
    Json(crate::openapi())
}
