//! Health, identity and the API description.

use crate::error::{ApiError, ErrorBody};
use crate::extract::Caller;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use riskops_api::system::{Health, Readiness, SigningKeyInfo, WhoAmI};
use std::sync::atomic::Ordering;

/// Liveness and what this server is; needs no token.
#[utoipa::path(get, path = "/healthz", tag = "system", responses((status = 200, body = Health)))]
pub async fn healthz(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        store: state.riskops.store_kind().as_str().to_string(),
    })
}

/// Readiness, for a load balancer or an orchestrator; needs no token. 200 when the database
/// and the artifact store answer (within 3 s each); 503 when one does not, and from the
/// moment the server is asked to stop (SIGTERM), while it still serves for `--drain-seconds`
/// so the balancer stops sending before the listener closes. `/healthz` is liveness only.
#[utoipa::path(
    get, path = "/readyz", tag = "system",
    responses((status = 200, body = Readiness), (status = 503, description = "not ready, or draining", body = Readiness))
)]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let checked = state.riskops.readiness().await;
    let word = |part: &Result<(), String>, what: &str| match part {
        Ok(()) => "ok".to_string(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: the {what} does not answer");
            "unreachable".to_string()
        }
    };
    let database = word(&checked.database, "database");
    let artifacts = word(&checked.artifacts, "artifact store");
    let status = if state.draining.load(Ordering::SeqCst) {
        "draining"
    } else if checked.database.is_ok() && checked.artifacts.is_ok() {
        "ready"
    } else {
        "not_ready"
    };
    let code = if status == "ready" { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(Readiness { status: status.to_string(), database, artifacts }))
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
        kind: p.kind().as_str().to_string(),
        roles: p.roles().iter().map(ToString::to_string).collect(),
    }))
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
        algorithm: riskops_core::signing::ALGORITHM.to_string(),
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
