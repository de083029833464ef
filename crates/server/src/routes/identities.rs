//! Users, service accounts, role grants, API tokens and password sign-in.

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, Caller, ClientAddr};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use riskops_api::identities::{
    CreateToken, CreateUser, CreatedUser, IdentityView, IssuedTokenView, RoleChange, SignIn, TokenList, TokenView,
    UserList,
};
use riskops_core::auth::{IdentityKind, IdentityRecord, IdentitySummary, TokenInfo};
use riskops_core::secret::Secret;
use riskops_core::service::{IdentityRequest, IssuedToken, parse_binding};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};
use utoipa::IntoParams;

fn identity_view(identity: &IdentityRecord, created_at: Option<OffsetDateTime>) -> IdentityView {
    IdentityView {
        name: identity.name.clone(),
        kind: identity.kind.as_str().to_string(),
        roles: identity.roles.iter().map(ToString::to_string).collect(),
        created_at: created_at.map(super::rfc3339),
    }
}

fn token_view(t: TokenInfo) -> TokenView {
    TokenView {
        id: t.id,
        identity: t.identity,
        label: t.label,
        created_at: super::rfc3339(t.created_at),
        expires_at: t.expires_at.map(super::rfc3339),
        revoked_at: t.revoked_at.map(super::rfc3339),
    }
}

fn issued_token_view(t: IssuedToken) -> IssuedTokenView {
    IssuedTokenView { token: t.token.expose().clone(), info: token_view(t.info) }
}

fn lifetime(seconds: Option<i64>) -> Option<Duration> {
    seconds.map(Duration::seconds)
}

/// Creates a user or service account with its roles and first API token (admin).
#[utoipa::path(
    post, path = "/api/v1/users", tag = "identities", security(("bearer" = [])),
    request_body = CreateUser,
    responses((status = 201, body = CreatedUser), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn create_user(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiJson(body): ApiJson<CreateUser>,
) -> Result<(StatusCode, Json<CreatedUser>), ApiError> {
    let kind = match body.kind.as_deref() {
        None | Some("user") => IdentityKind::User,
        Some("service_account") => IdentityKind::ServiceAccount,
        Some(other) => {
            return Err(riskops_core::Error::invalid("kind", format!("{other:?}: use user or service_account")).into());
        }
    };
    let roles = body.roles.iter().map(|r| parse_binding(r)).collect::<Result<Vec<_>, _>>()?;
    let req = IdentityRequest {
        name: body.name,
        kind,
        roles,
        password: body.password.map(Secret::new),
        token_expires_in: lifetime(body.expires_in_seconds),
    };
    let (identity, issued) = state.riskops.create_identity(&ctx, req).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedUser {
            identity: identity_view(&identity, None),
            token: issued.token.expose().clone(),
            token_id: issued.info.id,
            expires_at: issued.info.expires_at.map(super::rfc3339),
        }),
    ))
}

/// Every identity with its roles (admin, auditor).
#[utoipa::path(
    get, path = "/api/v1/users", tag = "identities", security(("bearer" = [])),
    responses((status = 200, body = UserList), (status = 403, body = ErrorBody))
)]
pub async fn list_users(State(state): State<AppState>, Caller(ctx): Caller) -> Result<Json<UserList>, ApiError> {
    let users = state.riskops.identities(&ctx).await?;
    Ok(Json(UserList {
        users: users
            .iter()
            .map(|IdentitySummary { identity, created_at }| identity_view(identity, Some(*created_at)))
            .collect(),
    }))
}

/// Grants a role (admin).
#[utoipa::path(
    post, path = "/api/v1/users/{name}/roles", tag = "identities", security(("bearer" = [])),
    params(("name" = String, Path)), request_body = RoleChange,
    responses((status = 200, body = IdentityView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody))
)]
pub async fn grant_role(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<RoleChange>,
) -> Result<Json<IdentityView>, ApiError> {
    let binding = parse_binding(&body.role)?;
    let identity = state.riskops.set_role(&ctx, &name, binding, true).await?;
    Ok(Json(identity_view(&identity, None)))
}

/// Revokes a role (admin). The last global admin cannot lose the role.
#[utoipa::path(
    delete, path = "/api/v1/users/{name}/roles/{role}", tag = "identities", security(("bearer" = [])),
    params(("name" = String, Path), ("role" = String, Path, description = "`ROLE` or `ROLE@PROJECT`")),
    responses((status = 200, body = IdentityView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody))
)]
pub async fn revoke_role(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((name, role)): Path<(String, String)>,
) -> Result<Json<IdentityView>, ApiError> {
    let binding = parse_binding(&role)?;
    let identity = state.riskops.set_role(&ctx, &name, binding, false).await?;
    Ok(Json(identity_view(&identity, None)))
}

/// Creates an API token; the token is in the answer, once.
#[utoipa::path(
    post, path = "/api/v1/tokens", tag = "identities", security(("bearer" = [])),
    request_body = CreateToken,
    responses((status = 201, body = IssuedTokenView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn create_token(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiJson(body): ApiJson<CreateToken>,
) -> Result<(StatusCode, Json<IssuedTokenView>), ApiError> {
    let issued =
        state.riskops.create_token(&ctx, body.user.as_deref(), &body.label, lifetime(body.expires_in_seconds)).await?;
    Ok((StatusCode::CREATED, Json(issued_token_view(issued))))
}

#[derive(Deserialize, IntoParams)]
pub struct TokenQuery {
    /// Another identity's tokens (admin, auditor).
    user: Option<String>,
    /// Everyone's tokens (admin, auditor).
    #[serde(default)]
    all: bool,
}

/// Lists tokens (never the tokens themselves): the caller's, or others' for admins and auditors.
#[utoipa::path(
    get, path = "/api/v1/tokens", tag = "identities", security(("bearer" = [])),
    params(TokenQuery),
    responses((status = 200, body = TokenList), (status = 403, body = ErrorBody))
)]
pub async fn list_tokens(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Query(q): Query<TokenQuery>,
) -> Result<Json<TokenList>, ApiError> {
    let tokens = state.riskops.tokens(&ctx, q.user.as_deref(), q.all).await?;
    Ok(Json(TokenList { tokens: tokens.into_iter().map(token_view).collect() }))
}

/// Revokes a token: one's own, or anyone's for admins.
#[utoipa::path(
    delete, path = "/api/v1/tokens/{id}", tag = "identities", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = TokenView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody))
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<i64>,
) -> Result<Json<TokenView>, ApiError> {
    Ok(Json(token_view(state.riskops.revoke_token(&ctx, id).await?)))
}

/// Signs in with a password; answers a token that lives 12 hours. Repeated failures lock
/// the client out (429, each lockout audited) and make the same client's next try at the
/// same name wait longer each time (429); the right password from another client works.
#[utoipa::path(
    post, path = "/api/v1/login", tag = "identities", request_body = SignIn,
    responses((status = 200, body = IssuedTokenView), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody))
)]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(body): ApiJson<SignIn>,
) -> Result<Json<IssuedTokenView>, ApiError> {
    let issued = state.riskops.sign_in(&body.name, &Secret::new(body.password), &client).await?;
    Ok(Json(issued_token_view(issued)))
}
