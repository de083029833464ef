//! Users, service accounts, role grants, API tokens and password sign-in.

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, Caller, ClientAddr};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use riskops_core::auth::{IdentityKind, IdentityRecord, IdentitySummary, TokenInfo};
use riskops_core::secret::Secret;
use riskops_core::service::{IdentityRequest, IssuedToken, parse_binding};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// 1–128 characters from `[A-Za-z0-9._-]`; unique.
    name: String,
    /// `user` (default) or `service_account`.
    #[serde(default)]
    kind: Option<String>,
    /// Each as `ROLE` (every project) or `ROLE@PROJECT`.
    roles: Vec<String>,
    /// For signing in to the dashboard; at least 12 characters; stored as argon2id.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    password: Option<Secret<String>>,
    /// Lifetime of the first token in seconds; none means it does not expire.
    #[serde(default)]
    expires_in_seconds: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct IdentityView {
    name: String,
    kind: &'static str,
    roles: Vec<String>,
    #[serde(with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    created_at: Option<OffsetDateTime>,
}

impl IdentityView {
    fn of(identity: &IdentityRecord, created_at: Option<OffsetDateTime>) -> Self {
        IdentityView {
            name: identity.name.clone(),
            kind: identity.kind.as_str(),
            roles: identity.roles.iter().map(ToString::to_string).collect(),
            created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TokenView {
    id: i64,
    identity: String,
    label: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    revoked_at: Option<OffsetDateTime>,
}

impl From<TokenInfo> for TokenView {
    fn from(t: TokenInfo) -> Self {
        TokenView {
            id: t.id,
            identity: t.identity,
            label: t.label,
            created_at: t.created_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// A token just created: `token` is shown this once and never again.
#[derive(Serialize, ToSchema)]
pub struct IssuedTokenView {
    token: String,
    #[serde(flatten)]
    info: TokenView,
}

impl From<IssuedToken> for IssuedTokenView {
    fn from(t: IssuedToken) -> Self {
        IssuedTokenView { token: t.token.expose().clone(), info: t.info.into() }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CreatedUser {
    identity: IdentityView,
    /// The first API token, shown once.
    token: String,
    token_id: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    expires_at: Option<OffsetDateTime>,
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
        password: body.password,
        token_expires_in: lifetime(body.expires_in_seconds),
    };
    let (identity, issued) = state.riskops.create_identity(&ctx, req).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedUser {
            identity: IdentityView::of(&identity, None),
            token: issued.token.expose().clone(),
            token_id: issued.info.id,
            expires_at: issued.info.expires_at,
        }),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct UserList {
    users: Vec<IdentityView>,
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
            .map(|IdentitySummary { identity, created_at }| IdentityView::of(identity, Some(*created_at)))
            .collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    /// `ROLE` or `ROLE@PROJECT`.
    role: String,
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
    Ok(Json(IdentityView::of(&identity, None)))
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
    Ok(Json(IdentityView::of(&identity, None)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// Whose token (admin only for someone else); default: the caller.
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    label: String,
    /// Lifetime in seconds; none means it does not expire.
    #[serde(default)]
    expires_in_seconds: Option<i64>,
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
    Ok((StatusCode::CREATED, Json(issued.into())))
}

#[derive(Deserialize, IntoParams)]
pub struct TokenQuery {
    /// Another identity's tokens (admin, auditor).
    user: Option<String>,
    /// Everyone's tokens (admin, auditor).
    #[serde(default)]
    all: bool,
}

#[derive(Serialize, ToSchema)]
pub struct TokenList {
    tokens: Vec<TokenView>,
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
    Ok(Json(TokenList { tokens: tokens.into_iter().map(Into::into).collect() }))
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
    Ok(Json(state.riskops.revoke_token(&ctx, id).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    name: String,
    #[schema(value_type = String)]
    password: Secret<String>,
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
    let issued = state.riskops.sign_in(&body.name, &body.password, &client).await?;
    Ok(Json(issued.into()))
}
