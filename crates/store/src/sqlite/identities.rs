//! SQLite: identities, role bindings and API tokens.

use super::{SqliteStore, append_audit, db_err, parse_time, time_text};
use async_trait::async_trait;
use riskops_core::audit::AuditRecord;
use riskops_core::auth::{IdentityKind, IdentityRecord, IdentitySummary, NewToken, Role, RoleBinding, TokenInfo};
use riskops_core::store::{IdentityStore, NewIdentity};
use riskops_core::{Error, ErrorKind, Result};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use time::OffsetDateTime;

/// Inserts an identity, its roles and first token (used by bootstrap too).
pub(super) fn insert_identity(
    tx: &Transaction<'_>,
    new: &NewIdentity,
    label: &str,
    at: OffsetDateTime,
) -> Result<TokenInfo> {
    let inserted = tx.execute(
        "INSERT INTO identities (name, kind, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![new.name, new.kind.as_str(), new.password_hash, time_text(at)],
    );
    match inserted.map_err(db_err) {
        Err(e) if e.kind == ErrorKind::Conflict => {
            return Err(Error::conflict(format!("an identity named {:?} already exists", new.name)));
        }
        other => other?,
    };
    let id = tx.last_insert_rowid();
    for binding in &new.roles {
        tx.execute(
            "INSERT INTO role_bindings (identity_id, role, project) VALUES (?1, ?2, ?3)",
            params![id, binding.role.as_str(), binding.project.clone().unwrap_or_default()],
        )
        .map_err(db_err)?;
    }
    insert_token(
        tx,
        id,
        &NewToken {
            identity: new.name.clone(),
            token_hash: new.token_hash.clone(),
            label: label.to_string(),
            expires_at: new.token_expires_at,
        },
        at,
    )
}

fn insert_token(tx: &Transaction<'_>, identity_id: i64, new: &NewToken, at: OffsetDateTime) -> Result<TokenInfo> {
    tx.execute(
        "INSERT INTO api_tokens (identity_id, token_hash, label, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![identity_id, new.token_hash, new.label, time_text(at), new.expires_at.map(time_text)],
    )
    .map_err(db_err)?;
    Ok(TokenInfo {
        id: tx.last_insert_rowid(),
        identity: new.identity.clone(),
        label: new.label.clone(),
        created_at: at,
        expires_at: new.expires_at,
        revoked_at: None,
    })
}

pub(super) fn create_identity(
    conn: &mut Connection,
    new: NewIdentity,
    audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<TokenInfo> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
    let token = insert_identity(&tx, &new, "first token", at)?;
    append_audit(&tx, audit, at)?;
    tx.commit().map_err(db_err)?;
    Ok(token)
}

pub(super) fn roles_of(conn: &Connection, identity_id: i64) -> Result<Vec<RoleBinding>> {
    let mut stmt = conn
        .prepare_cached("SELECT role, project FROM role_bindings WHERE identity_id = ?1 ORDER BY role, project")
        .map_err(db_err)?;
    let rows =
        stmt.query_map([identity_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).map_err(db_err)?;
    let mut roles = Vec::new();
    for row in rows {
        let (role, project) = row.map_err(db_err)?;
        roles.push(RoleBinding { role: Role::parse(&role)?, project: (!project.is_empty()).then_some(project) });
    }
    Ok(roles)
}

/// An enabled identity by name: (record, password hash, created_at).
fn identity_row(conn: &Connection, name: &str) -> Result<Option<(IdentityRecord, Option<String>, OffsetDateTime)>> {
    let row: Option<(i64, String, String, Option<String>, String)> = conn
        .query_row(
            "SELECT id, name, kind, password_hash, created_at FROM identities WHERE name = ?1 AND disabled_at IS NULL",
            [name],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()
        .map_err(db_err)?;
    let Some((id, name, kind, password, created)) = row else { return Ok(None) };
    let record = IdentityRecord { id, name, kind: IdentityKind::parse(&kind)?, roles: roles_of(conn, id)? };
    Ok(Some((record, password, parse_time(&created)?)))
}

pub(super) fn identity(conn: &Connection, name: &str) -> Result<Option<IdentityRecord>> {
    Ok(identity_row(conn, name)?.map(|(r, _, _)| r))
}

pub(super) fn identity_for_login(conn: &Connection, name: &str) -> Result<Option<(IdentityRecord, Option<String>)>> {
    Ok(identity_row(conn, name)?.map(|(r, p, _)| (r, p)))
}

pub(super) fn identities(conn: &Connection) -> Result<Vec<IdentitySummary>> {
    let names: Vec<String> = {
        let mut stmt = conn.prepare_cached("SELECT name FROM identities ORDER BY name").map_err(db_err)?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(db_err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(db_err)?
    };
    let mut out = Vec::new();
    for name in names {
        if let Some((identity, _, created_at)) = identity_row(conn, &name)? {
            out.push(IdentitySummary { identity, created_at });
        }
    }
    Ok(out)
}

pub(super) fn set_role(
    conn: &mut Connection,
    name: &str,
    binding: RoleBinding,
    grant: bool,
    audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<IdentityRecord> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
    let identity = identity(&tx, name)?.ok_or_else(|| Error::not_found(format!("no identity named {name:?}")))?;
    let project = binding.project.clone().unwrap_or_default();
    let changed = if grant {
        tx.execute(
            "INSERT OR IGNORE INTO role_bindings (identity_id, role, project) VALUES (?1, ?2, ?3)",
            params![identity.id, binding.role.as_str(), project],
        )
    } else {
        tx.execute(
            "DELETE FROM role_bindings WHERE identity_id = ?1 AND role = ?2 AND project = ?3",
            params![identity.id, binding.role.as_str(), project],
        )
    }
    .map_err(db_err)?;
    if changed == 0 {
        let what = if grant { "already has" } else { "does not have" };
        return Err(Error::conflict(format!("{name} {what} the role {binding}")));
    }
    append_audit(&tx, audit, at)?;
    let after = super::identities::identity(&tx, name)?.ok_or_else(|| Error::internal("identity vanished"))?;
    tx.commit().map_err(db_err)?;
    Ok(after)
}

pub(super) fn create_token(
    conn: &mut Connection,
    new: NewToken,
    audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<TokenInfo> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
    let owner = identity(&tx, &new.identity)?
        .ok_or_else(|| Error::not_found(format!("no identity named {:?}", new.identity)))?;
    let token = insert_token(&tx, owner.id, &new, at)?;
    append_audit(&tx, audit, at)?;
    tx.commit().map_err(db_err)?;
    Ok(token)
}

const TOKEN_SELECT: &str = "SELECT t.id, i.name, t.label, t.created_at, t.expires_at, t.revoked_at \
     FROM api_tokens t JOIN identities i ON i.id = t.identity_id";

type TokenRow = (i64, String, String, String, Option<String>, Option<String>);

fn token_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
}

fn token_info(row: TokenRow) -> Result<TokenInfo> {
    let (id, identity, label, created, expires, revoked) = row;
    Ok(TokenInfo {
        id,
        identity,
        label,
        created_at: parse_time(&created)?,
        expires_at: expires.as_deref().map(parse_time).transpose()?,
        revoked_at: revoked.as_deref().map(parse_time).transpose()?,
    })
}

pub(super) fn tokens(conn: &Connection, identity: Option<&str>) -> Result<Vec<TokenInfo>> {
    let mut stmt = conn
        .prepare_cached(&format!("{TOKEN_SELECT} WHERE ?1 IS NULL OR i.name = ?1 ORDER BY t.id DESC"))
        .map_err(db_err)?;
    let rows = stmt.query_map([identity], token_from_row).map_err(db_err)?;
    rows.map(|r| token_info(r.map_err(db_err)?)).collect()
}

pub(super) fn token(conn: &Connection, id: i64) -> Result<Option<TokenInfo>> {
    conn.query_row(&format!("{TOKEN_SELECT} WHERE t.id = ?1"), [id], token_from_row)
        .optional()
        .map_err(db_err)?
        .map(token_info)
        .transpose()
}

pub(super) fn revoke_token(
    conn: &mut Connection,
    id: i64,
    audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<TokenInfo> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
    let changed = tx
        .execute(
            "UPDATE api_tokens SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
            params![time_text(at), id],
        )
        .map_err(db_err)?;
    if changed == 0 {
        return Err(match token(&tx, id)? {
            Some(_) => Error::conflict(format!("token {id} is already revoked")),
            None => Error::not_found(format!("no token {id}")),
        });
    }
    append_audit(&tx, audit, at)?;
    let info = token(&tx, id)?.ok_or_else(|| Error::internal("token vanished"))?;
    tx.commit().map_err(db_err)?;
    Ok(info)
}

#[async_trait]
impl IdentityStore for SqliteStore {
    async fn identity_by_token_hash(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<IdentityRecord>> {
        let token_hash = token_hash.to_string();
        self.with_conn(move |conn| {
            let row: Option<(i64, String, String, Option<String>, Option<String>, Option<String>)> = conn
                .query_row(
                    "SELECT i.id, i.name, i.kind, i.disabled_at, t.expires_at, t.revoked_at
                     FROM api_tokens t JOIN identities i ON i.id = t.identity_id WHERE t.token_hash = ?1",
                    [&token_hash],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
                )
                .optional()
                .map_err(db_err)?;
            let Some((id, name, kind, disabled, expires, revoked)) = row else { return Ok(None) };
            if disabled.is_some() || revoked.is_some() {
                return Ok(None);
            }
            if let Some(expires) = expires
                && parse_time(&expires)? <= now
            {
                return Ok(None);
            }
            let roles = roles_of(conn, id)?;
            Ok(Some(IdentityRecord { id, name, kind: IdentityKind::parse(&kind)?, roles }))
        })
        .await
    }

    async fn create_identity(&self, new: NewIdentity, audit: AuditRecord, at: OffsetDateTime) -> Result<TokenInfo> {
        self.with_conn(move |conn| create_identity(conn, new, audit, at)).await
    }

    async fn identities(&self) -> Result<Vec<IdentitySummary>> {
        self.with_conn(|conn| identities(conn)).await
    }

    async fn identity(&self, name: &str) -> Result<Option<IdentityRecord>> {
        let name = name.to_string();
        self.with_conn(move |conn| identity(conn, &name)).await
    }

    async fn identity_for_login(&self, name: &str) -> Result<Option<(IdentityRecord, Option<String>)>> {
        let name = name.to_string();
        self.with_conn(move |conn| identity_for_login(conn, &name)).await
    }

    async fn set_role(
        &self,
        identity: &str,
        binding: RoleBinding,
        grant: bool,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<IdentityRecord> {
        let identity = identity.to_string();
        self.with_conn(move |conn| set_role(conn, &identity, binding, grant, audit, at)).await
    }

    async fn create_token(&self, new: NewToken, audit: AuditRecord, at: OffsetDateTime) -> Result<TokenInfo> {
        self.with_conn(move |conn| create_token(conn, new, audit, at)).await
    }

    async fn tokens(&self, identity: Option<&str>) -> Result<Vec<TokenInfo>> {
        let identity = identity.map(str::to_string);
        self.with_conn(move |conn| tokens(conn, identity.as_deref())).await
    }

    async fn token(&self, id: i64) -> Result<Option<TokenInfo>> {
        self.with_conn(move |conn| token(conn, id)).await
    }

    async fn revoke_token(&self, id: i64, audit: AuditRecord, at: OffsetDateTime) -> Result<TokenInfo> {
        self.with_conn(move |conn| revoke_token(conn, id, audit, at)).await
    }
}
