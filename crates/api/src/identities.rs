//! Users, service accounts, role grants, API tokens and password sign-in.
//!
//! Types that carry a password or a token print `<redacted>` in place of it when
//! debug-printed, so a log line cannot leak one.

use serde::{Deserialize, Serialize};
use std::fmt;
use utoipa::ToSchema;

const REDACTED: &str = "<redacted>";

#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// 1–128 characters from `[A-Za-z0-9._-]`; unique.
    pub name: String,
    /// `user` (default) or `service_account`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Each as `ROLE` (every project) or `ROLE@PROJECT`.
    pub roles: Vec<String>,
    /// For signing in to the dashboard; at least 12 characters; stored as argon2id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Lifetime of the first token in seconds; none means it does not expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_seconds: Option<i64>,
}

impl fmt::Debug for CreateUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateUser")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("roles", &self.roles)
            .field("password", &self.password.as_ref().map(|_| REDACTED))
            .field("expires_in_seconds", &self.expires_in_seconds)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IdentityView {
    pub name: String,
    pub kind: String,
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub created_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TokenView {
    pub id: i64,
    pub identity: String,
    pub label: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    #[schema(format = DateTime)]
    pub revoked_at: Option<String>,
}

/// A token just created: `token` is shown this once and never again.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IssuedTokenView {
    pub token: String,
    #[serde(flatten)]
    pub info: TokenView,
}

impl fmt::Debug for IssuedTokenView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedTokenView").field("token", &REDACTED).field("info", &self.info).finish()
    }
}

#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreatedUser {
    pub identity: IdentityView,
    /// The first API token, shown once.
    pub token: String,
    pub token_id: i64,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
}

impl fmt::Debug for CreatedUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatedUser")
            .field("identity", &self.identity)
            .field("token", &REDACTED)
            .field("token_id", &self.token_id)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UserList {
    pub users: Vec<IdentityView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    /// `ROLE` or `ROLE@PROJECT`.
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// Whose token (admin only for someone else); default: the caller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default)]
    pub label: String,
    /// Lifetime in seconds; none means it does not expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_seconds: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TokenList {
    pub tokens: Vec<TokenView>,
}

#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub name: String,
    pub password: String,
}

impl fmt::Debug for SignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignIn").field("name", &self.name).field("password", &REDACTED).finish()
    }
}
