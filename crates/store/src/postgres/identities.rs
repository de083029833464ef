//! PostgreSQL: identities, role bindings and API tokens.

use super::{PostgresStore, RowExt, append_audit, db_err};
use async_trait::async_trait;
use deadpool_postgres::{Client, GenericClient, Transaction};
use riskops_core::audit::AuditRecord;
use riskops_core::auth::{IdentityKind, IdentityRecord, IdentitySummary, NewToken, Role, RoleBinding, TokenInfo};
use riskops_core::store::{IdentityStore, NewIdentity};
use riskops_core::{Error, ErrorKind, Result};
use time::OffsetDateTime;

/// Inserts an identity, its roles and first token (used by bootstrap too).
pub(super) async fn insert_identity(
    tx: &Transaction<'_>,
    new: &NewIdentity,
    label: &str,
    at: OffsetDateTime,
) -> Result<TokenInfo> {
    let inserted = tx
        .query_one(
            "INSERT INTO identities (name, kind, password_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
            &[&new.name, &new.kind.as_str(), &new.password_hash, &at],
        )
        .await
        .map_err(db_err);
    let id: i64 = match inserted {
        Err(e) if e.kind == ErrorKind::Conflict => {
            return Err(Error::conflict(format!("an identity named {:?} already exists", new.name)));
        }
        other => other?.col(0)?,
    };
    for binding in &new.roles {
        tx.execute(
            "INSERT INTO role_bindings (identity_id, role, project) VALUES ($1, $2, $3)",
            &[&id, &binding.role.as_str(), &binding.project.clone().unwrap_or_default()],
        )
        .await
        .map_err(db_err)?;
    }
    let token = NewToken {
        identity: new.name.clone(),
        token_hash: new.token_hash.clone(),
        label: label.to_string(),
        expires_at: new.token_expires_at,
    };
    insert_token(tx, id, &token, at).await
}

async fn insert_token(tx: &Transaction<'_>, identity_id: i64, new: &NewToken, at: OffsetDateTime) -> Result<TokenInfo> {
    let row = tx
        .query_one(
            "INSERT INTO api_tokens (identity_id, token_hash, label, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)
             RETURNING id",
            &[&identity_id, &new.token_hash, &new.label, &at, &new.expires_at],
        )
        .await
        .map_err(db_err)?;
    Ok(TokenInfo {
        id: row.col(0)?,
        identity: new.identity.clone(),
        label: new.label.clone(),
        created_at: at,
        expires_at: new.expires_at,
        revoked_at: None,
    })
}

pub(super) async fn create_identity(
    client: &mut Client,
    new: NewIdentity,
    audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<TokenInfo> {
    let tx = client.transaction().await.map_err(db_err)?;
    let token = insert_identity(&tx, &new, "first token", at).await?;
    append_audit(&tx, audit, at).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(token)
}

/// An identity's role bindings, in byte order of role and project (as SQLite sorts them).
pub(super) async fn roles_of(client: &impl GenericClient, identity_id: i64) -> Result<Vec<RoleBinding>> {
    let rows = client
        .query(
            r#"SELECT role, project FROM role_bindings WHERE identity_id = $1 ORDER BY role COLLATE "C", project COLLATE "C""#,
            &[&identity_id],
        )
        .await
        .map_err(db_err)?;
    let mut roles = Vec::with_capacity(rows.len());
    for r in rows {
        let project: String = r.col(1)?;
        roles.push(RoleBinding { role: Role::parse(r.col(0)?)?, project: (!project.is_empty()).then_some(project) });
    }
    Ok(roles)
}

/// An enabled identity by name: (record, password hash, created_at).
async fn identity_row(
    client: &impl GenericClient,
    name: &str,
) -> Result<Option<(IdentityRecord, Option<String>, OffsetDateTime)>> {
    let row = client
        .query_opt(
            "SELECT id, name, kind, password_hash, created_at FROM identities WHERE name = $1 AND disabled_at IS NULL",
            &[&name],
        )
        .await
        .map_err(db_err)?;
    let Some(row) = row else { return Ok(None) };
    let id: i64 = row.col(0)?;
    let kind: String = row.col(2)?;
    let record =
        IdentityRecord { id, name: row.col(1)?, kind: IdentityKind::parse(&kind)?, roles: roles_of(client, id).await? };
    Ok(Some((record, row.col(3)?, row.col(4)?)))
}

pub(super) async fn identity(client: &impl GenericClient, name: &str) -> Result<Option<IdentityRecord>> {
    Ok(identity_row(client, name).await?.map(|(r, _, _)| r))
}

pub(super) async fn identity_for_login(
    client: &impl GenericClient,
    name: &str,
) -> Result<Option<(IdentityRecord, Option<String>)>> {
    Ok(identity_row(client, name).await?.map(|(r, p, _)| (r, p)))
}

/// Enabled identities in byte order of name.
pub(super) async fn identities(client: &impl GenericClient) -> Result<Vec<IdentitySummary>> {
    let rows = client
        .query(
            r#"SELECT id, name, kind, created_at FROM identities WHERE disabled_at IS NULL ORDER BY name COLLATE "C""#,
            &[],
        )
        .await
        .map_err(db_err)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let id: i64 = row.col(0)?;
        let kind: String = row.col(2)?;
        let identity = IdentityRecord {
            id,
            name: row.col(1)?,
            kind: IdentityKind::parse(&kind)?,
            roles: roles_of(client, id).await?,
        };
        out.push(IdentitySummary { identity, created_at: row.col(3)? });
    }
    Ok(out)
}

pub(super) async fn set_role(
    client: &mut Client,
    name: &str,
    binding: RoleBinding,
    grant: bool,
    audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<IdentityRecord> {
    let tx = client.transaction().await.map_err(db_err)?;
    let before = identity(&tx, name).await?.ok_or_else(|| Error::not_found(format!("no identity named {name:?}")))?;
    let project = binding.project.clone().unwrap_or_default();
    let changed = if grant {
        tx.execute(
            "INSERT INTO role_bindings (identity_id, role, project) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&before.id, &binding.role.as_str(), &project],
        )
        .await
    } else {
        tx.execute(
            "DELETE FROM role_bindings WHERE identity_id = $1 AND role = $2 AND project = $3",
            &[&before.id, &binding.role.as_str(), &project],
        )
        .await
    }
    .map_err(db_err)?;
    if changed == 0 {
        let what = if grant { "already has" } else { "does not have" };
        return Err(Error::conflict(format!("{name} {what} the role {binding}")));
    }
    append_audit(&tx, audit, at).await?;
    let after = identity(&tx, name).await?.ok_or_else(|| Error::internal("identity vanished"))?;
    tx.commit().await.map_err(db_err)?;
    Ok(after)
}

pub(super) async fn create_token(
    client: &mut Client,
    new: NewToken,
    audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<TokenInfo> {
    let tx = client.transaction().await.map_err(db_err)?;
    let owner = identity(&tx, &new.identity)
        .await?
        .ok_or_else(|| Error::not_found(format!("no identity named {:?}", new.identity)))?;
    let token = insert_token(&tx, owner.id, &new, at).await?;
    append_audit(&tx, audit, at).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(token)
}

const TOKEN_SELECT: &str = "SELECT t.id, i.name, t.label, t.created_at, t.expires_at, t.revoked_at \
     FROM api_tokens t JOIN identities i ON i.id = t.identity_id";

fn token_info(r: &tokio_postgres::Row) -> Result<TokenInfo> {
    Ok(TokenInfo {
        id: r.col(0)?,
        identity: r.col(1)?,
        label: r.col(2)?,
        created_at: r.col(3)?,
        expires_at: r.col(4)?,
        revoked_at: r.col(5)?,
    })
}

/// Tokens of one identity, or of everyone; newest first.
pub(super) async fn tokens(client: &impl GenericClient, identity: Option<&str>) -> Result<Vec<TokenInfo>> {
    let rows = client
        .query(&format!("{TOKEN_SELECT} WHERE $1::TEXT IS NULL OR i.name = $1 ORDER BY t.id DESC"), &[&identity])
        .await
        .map_err(db_err)?;
    rows.iter().map(token_info).collect()
}

pub(super) async fn token(client: &impl GenericClient, id: i64) -> Result<Option<TokenInfo>> {
    let row = client.query_opt(&format!("{TOKEN_SELECT} WHERE t.id = $1"), &[&id]).await.map_err(db_err)?;
    row.as_ref().map(token_info).transpose()
}

pub(super) async fn revoke_token(
    client: &mut Client,
    id: i64,
    audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<TokenInfo> {
    let tx = client.transaction().await.map_err(db_err)?;
    // Of two concurrent revocations, the second waits for the first's row lock and then
    // finds the token revoked.
    let changed = tx
        .execute("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL", &[&at, &id])
        .await
        .map_err(db_err)?;
    if changed == 0 {
        return Err(match token(&tx, id).await? {
            Some(_) => Error::conflict(format!("token {id} is already revoked")),
            None => Error::not_found(format!("no token {id}")),
        });
    }
    append_audit(&tx, audit, at).await?;
    let info = token(&tx, id).await?.ok_or_else(|| Error::internal("token vanished"))?;
    tx.commit().await.map_err(db_err)?;
    Ok(info)
}

#[async_trait]
impl IdentityStore for PostgresStore {
    async fn identity_by_token_hash(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<IdentityRecord>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT i.id, i.name, i.kind FROM api_tokens t JOIN identities i ON i.id = t.identity_id
                 WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND i.disabled_at IS NULL
                   AND (t.expires_at IS NULL OR t.expires_at > $2)",
                &[&token_hash, &now],
            )
            .await
            .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        let id: i64 = row.col(0)?;
        let kind: String = row.col(2)?;
        let roles = roles_of(&client, id).await?;
        Ok(Some(IdentityRecord { id, name: row.col(1)?, kind: IdentityKind::parse(&kind)?, roles }))
    }

    async fn create_identity(&self, new: NewIdentity, audit: AuditRecord, at: OffsetDateTime) -> Result<TokenInfo> {
        create_identity(&mut self.client().await?, new, audit, at).await
    }

    async fn identities(&self) -> Result<Vec<IdentitySummary>> {
        identities(&self.client().await?).await
    }

    async fn identity(&self, name: &str) -> Result<Option<IdentityRecord>> {
        identity(&self.client().await?, name).await
    }

    async fn identity_for_login(&self, name: &str) -> Result<Option<(IdentityRecord, Option<String>)>> {
        identity_for_login(&self.client().await?, name).await
    }

    async fn set_role(
        &self,
        identity: &str,
        binding: RoleBinding,
        grant: bool,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<IdentityRecord> {
        set_role(&mut self.client().await?, identity, binding, grant, audit, at).await
    }

    async fn create_token(&self, new: NewToken, audit: AuditRecord, at: OffsetDateTime) -> Result<TokenInfo> {
        create_token(&mut self.client().await?, new, audit, at).await
    }

    async fn tokens(&self, identity: Option<&str>) -> Result<Vec<TokenInfo>> {
        tokens(&self.client().await?, identity).await
    }

    async fn token(&self, id: i64) -> Result<Option<TokenInfo>> {
        token(&self.client().await?, id).await
    }

    async fn revoke_token(&self, id: i64, audit: AuditRecord, at: OffsetDateTime) -> Result<TokenInfo> {
        revoke_token(&mut self.client().await?, id, audit, at).await
    }
}
