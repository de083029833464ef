//! Identity services: users and service accounts, role grants, API tokens, password
//! sign-in, and throttling of failed attempts.

use super::{RequestContext, Riskops};
use crate::action::Action;
use crate::audit::AuditRecord;
use crate::auth::{
    self, IdentityKind, IdentityRecord, IdentitySummary, NewToken, Operation, Permit, Principal, Role, RoleBinding,
    Scope, TokenInfo, generate_token, hash_token,
};
use crate::error::{Error, Result};
use crate::password;
use crate::project::validate_name;
use crate::secret::Secret;
use crate::store::NewIdentity;
use serde_json::json;
use time::Duration;

/// Longest token lifetime accepted: a token for ten years is a token forever.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::days(3650);

/// How long a token from a password sign-in lives.
pub const SIGN_IN_TOKEN_LIFETIME: Duration = Duration::hours(12);

/// An identity to create.
#[derive(Debug, Clone)]
pub struct IdentityRequest {
    pub name: String,
    pub kind: IdentityKind,
    pub roles: Vec<RoleBinding>,
    pub password: Option<Secret<String>>,
    pub token_expires_in: Option<Duration>,
}

/// A token just made: shown once, never again.
#[derive(Debug)]
pub struct IssuedToken {
    pub info: TokenInfo,
    pub token: Secret<String>,
}

impl Riskops {
    /// Turns a bearer token into a [`Principal`]. A valid token always works: tokens carry
    /// 256 random bits, so throttling exists only to slow guessing. Failures are counted per
    /// client (the peer address); past the limit that client's failures are answered 429
    /// without a lookup, and the start of each lockout is audited.
    pub async fn authenticate(&self, bearer_token: &str, client: &str) -> Result<Principal> {
        let now = self.clock.now();
        let key = format!("client:{client}");
        let hash = hash_token(bearer_token);
        if let Some(identity) = self.store.identity_by_token_hash(&hash, now).await? {
            return Ok(Principal::authenticated(identity));
        }
        self.throttle.check(&key, now)?;
        self.count_failure(&key, "uses of unknown, revoked or expired API tokens").await;
        Err(Error::unauthenticated("the API token is unknown, revoked or expired"))
    }

    /// Signs a person in with a password and returns a short-lived token; the answer never
    /// says which part was wrong. A client that keeps failing is locked out, and guessing
    /// one name from one client backs off; nothing locks the name itself, so a stranger
    /// who knows it cannot keep its owner out.
    pub async fn sign_in(&self, name: &str, password: &Secret<String>, client: &str) -> Result<IssuedToken> {
        let now = self.clock.now();
        let client_key = format!("client:{client}");
        let pair_key = format!("login:{client}:{name}");
        if let Err(locked) = self.throttle.check(&client_key, now) {
            self.access.failed_sign_in(name, client, now);
            return Err(locked);
        }
        if let Err(wait) = self.throttle.check(&pair_key, now) {
            // Trying again before the wait is over is guessing too: it brings the lockout closer.
            self.count_failure(&client_key, "failed password sign-ins").await;
            self.access.failed_sign_in(name, client, now);
            return Err(wait);
        }
        let wrong = || Error::unauthenticated("wrong name or password");
        let found = self.store.identity_for_login(name).await?;
        let verified = match &found {
            Some((_, Some(stored))) => password::verify(password.expose(), stored)?,
            _ => false,
        };
        let Some((identity, _)) = found.filter(|_| verified) else {
            self.count_failure(&client_key, "failed password sign-ins").await;
            self.throttle.backoff(&pair_key, now);
            self.access.failed_sign_in(name, client, now);
            return Err(wrong());
        };
        self.throttle.success(&pair_key);
        let principal = Principal::authenticated(identity);
        let permit = auth::authorize(&principal, Operation::OwnTokens, Scope::Global)?;
        self.issue_token(&permit, principal.name(), "sign-in", Some(SIGN_IN_TOKEN_LIFETIME), None).await
    }

    async fn count_failure(&self, key: &str, what: &str) {
        let now = self.clock.now();
        if self.throttle.failure(key, now) {
            let reason = format!(
                "more than {} {what} within {} s",
                crate::throttle::MAX_FAILURES,
                crate::throttle::WINDOW.whole_seconds()
            );
            self.access.lockout(key, &reason, now);
            let record = AuditRecord::new(&Permit::system(), Action::AuthThrottled, key.to_string()).after(json!({
                "reason": reason,
                "key": key,
                "locked_for_seconds": crate::throttle::LOCKOUT.whole_seconds(),
            }));
            if let Err(e) = self.store.record_event(record, now).await {
                tracing::warn!(error = %e, "could not audit a lockout");
            }
        }
    }

    pub async fn create_identity(
        &self,
        ctx: &RequestContext,
        req: IdentityRequest,
    ) -> Result<(IdentityRecord, IssuedToken)> {
        let permit = auth::authorize(&ctx.principal, Operation::IdentityAdmin, Scope::Global)?;
        validate_name("name", &req.name)?;
        if req.roles.is_empty() {
            return Err(Error::invalid("roles", "give at least one role, e.g. viewer or data_scientist@PROJECT"));
        }
        self.check_bindings(&req.roles).await?;
        let expires_at = self.expiry(req.token_expires_in)?;
        let password_hash = req.password.as_ref().map(password::hash).transpose()?;
        let token = generate_token()?;
        let roles: Vec<String> = req.roles.iter().map(ToString::to_string).collect();
        let audit = AuditRecord::new(&permit, Action::IdentityCreate, format!("identity:{}", req.name))
            .after(json!({
                "name": req.name,
                "kind": req.kind.as_str(),
                "roles": roles,
                "password": password_hash.is_some(),
                "token_expires_at": expires_at.map(super::rfc3339),
            }))
            .request_id(ctx.request_id.clone());
        let new = NewIdentity {
            name: req.name.clone(),
            kind: req.kind,
            roles: req.roles.clone(),
            token_hash: hash_token(token.expose()),
            token_expires_at: expires_at,
            password_hash,
        };
        let info = self.store.create_identity(new, audit, self.clock.now()).await?;
        // A new identity's roles are grants too, but every user starts with one: only a new
        // administrator is worth an incident (later grants always are, see `set_role`).
        for role in roles.iter().filter(|r| *r == "admin") {
            self.access.privilege_granted(&req.name, role, ctx.principal.name(), self.clock.now());
        }
        let identity = self.store.identity(&req.name).await?.ok_or_else(|| Error::internal("new identity vanished"))?;
        Ok((identity, IssuedToken { info, token }))
    }

    pub async fn identities(&self, ctx: &RequestContext) -> Result<Vec<IdentitySummary>> {
        auth::authorize(&ctx.principal, Operation::IdentityRead, Scope::Global)?;
        self.store.identities().await
    }

    /// Grants or revokes one role binding. The last global admin keeps the role, so
    /// riskops never ends up with nobody able to administer it.
    pub async fn set_role(
        &self,
        ctx: &RequestContext,
        name: &str,
        binding: RoleBinding,
        grant: bool,
    ) -> Result<IdentityRecord> {
        let permit = auth::authorize(&ctx.principal, Operation::IdentityAdmin, Scope::Global)?;
        validate_name("name", name)?;
        self.check_bindings(std::slice::from_ref(&binding)).await?;
        if !grant && binding.role == Role::Admin && binding.project.is_none() {
            let admins = self
                .store
                .identities()
                .await?
                .into_iter()
                .filter(|s| s.identity.roles.iter().any(|b| b.role == Role::Admin && b.project.is_none()))
                .count();
            if admins <= 1 {
                return Err(Error::conflict("this is the last administrator; grant admin to someone else first"));
            }
        }
        let action = if grant { Action::IdentityGrant } else { Action::IdentityRevoke };
        let audit = AuditRecord::new(&permit, action, format!("identity:{name}"))
            .after(json!({"role": binding.to_string()}))
            .request_id(ctx.request_id.clone());
        let role = binding.to_string();
        let record = self.store.set_role(name, binding, grant, audit, self.clock.now()).await?;
        if grant {
            self.access.privilege_granted(name, &role, ctx.principal.name(), self.clock.now());
        }
        Ok(record)
    }

    /// Makes a token for the caller, or (admins) for `for_identity`.
    pub async fn create_token(
        &self,
        ctx: &RequestContext,
        for_identity: Option<&str>,
        label: &str,
        expires_in: Option<Duration>,
    ) -> Result<IssuedToken> {
        let owner = for_identity.unwrap_or(ctx.principal.name());
        let op = if owner == ctx.principal.name() { Operation::OwnTokens } else { Operation::IdentityAdmin };
        let permit = auth::authorize(&ctx.principal, op, Scope::Global)?;
        validate_name("user", owner)?;
        if label.len() > 200 {
            return Err(Error::invalid("label", "must be at most 200 bytes"));
        }
        self.issue_token(&permit, owner, label, expires_in, ctx.request_id.clone()).await
    }

    async fn issue_token(
        &self,
        permit: &Permit,
        owner: &str,
        label: &str,
        expires_in: Option<Duration>,
        request_id: Option<String>,
    ) -> Result<IssuedToken> {
        let expires_at = self.expiry(expires_in)?;
        let token = generate_token()?;
        let audit = AuditRecord::new(permit, Action::TokenCreate, format!("identity:{owner}"))
            .after(json!({"label": label, "expires_at": expires_at.map(super::rfc3339)}))
            .request_id(request_id);
        let new = NewToken {
            identity: owner.to_string(),
            token_hash: hash_token(token.expose()),
            label: label.to_string(),
            expires_at,
        };
        let info = self.store.create_token(new, audit, self.clock.now()).await?;
        Ok(IssuedToken { info, token })
    }

    /// The caller's tokens; `identity` (another's, or `None` with `all`) needs identity.read.
    pub async fn tokens(&self, ctx: &RequestContext, identity: Option<&str>, all: bool) -> Result<Vec<TokenInfo>> {
        let own = !all && identity.is_none_or(|i| i == ctx.principal.name());
        let op = if own { Operation::OwnTokens } else { Operation::IdentityRead };
        auth::authorize(&ctx.principal, op, Scope::Global)?;
        let whose = if all { None } else { Some(identity.unwrap_or(ctx.principal.name())) };
        self.store.tokens(whose).await
    }

    pub async fn revoke_token(&self, ctx: &RequestContext, id: i64) -> Result<TokenInfo> {
        let token = self.store.token(id).await?;
        let own = token.as_ref().is_some_and(|t| t.identity == ctx.principal.name());
        let op = if own { Operation::OwnTokens } else { Operation::IdentityAdmin };
        let permit = auth::authorize(&ctx.principal, op, Scope::Global)?;
        let token = token.ok_or_else(|| Error::not_found(format!("no token {id}")))?;
        let audit = AuditRecord::new(&permit, Action::TokenRevoke, format!("identity:{}", token.identity))
            .after(json!({"token_id": id, "label": token.label}))
            .request_id(ctx.request_id.clone());
        self.store.revoke_token(id, audit, self.clock.now()).await
    }

    fn expiry(&self, expires_in: Option<Duration>) -> Result<Option<time::OffsetDateTime>> {
        match expires_in {
            None => Ok(None),
            Some(d) if d <= Duration::ZERO || d > MAX_TOKEN_LIFETIME => {
                Err(Error::invalid("expires_in", "must be between one second and ten years"))
            }
            Some(d) => Ok(Some(self.clock.now() + d)),
        }
    }

    /// A role scoped to a project needs the project to exist.
    async fn check_bindings(&self, bindings: &[RoleBinding]) -> Result<()> {
        for b in bindings {
            if let Some(p) = &b.project {
                validate_name("roles", p)?;
                if self.store.project(p).await?.is_none() {
                    return Err(Error::invalid("roles", format!("{b}: no project named {p:?}")));
                }
            }
        }
        Ok(())
    }
}

/// Parses `ROLE` or `ROLE@PROJECT`.
pub fn parse_binding(text: &str) -> Result<RoleBinding> {
    let (role, project) = match text.split_once('@') {
        Some((r, p)) => (r, Some(p.to_string())),
        None => (text, None),
    };
    let role = Role::parse(role).map_err(|e| Error::invalid("roles", e.message))?;
    if let Some(p) = &project {
        validate_name("roles", p)?;
    }
    Ok(RoleBinding { role, project })
}
