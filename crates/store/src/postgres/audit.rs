//! PostgreSQL: the audit trail (the one writer of events, `append_audit`), signing keys and
//! checkpoints.

use super::{AUDIT_CHAIN_LOCK, PostgresStore, RowExt, db_err};
use crate::audit_row::{AUDIT_COLUMNS, json_column, parse_json_column};
use async_trait::async_trait;
use deadpool_postgres::Transaction;
use riskops_core::audit::{AuditEvent, AuditRecord, GENESIS_HASH, seal};
use riskops_core::checkpoint::Checkpoint;
use riskops_core::signing::{PublicKey, Signature};
use riskops_core::store::AuditStore;
use riskops_core::{Error, ErrorKind, Result};
use time::OffsetDateTime;

/// The triggers that keep the audit trail append-only (migrations 0001 and 0005).
pub(super) const AUDIT_GUARDS: [&str; 4] = [
    "audit_events_no_change",
    "audit_events_no_truncate",
    "audit_checkpoints_no_change",
    "audit_checkpoints_no_truncate",
];

/// Appends `record` to the chain inside `tx`: the one place PostgreSQL writes audit events.
pub(super) async fn append_audit(tx: &Transaction<'_>, record: AuditRecord, at: OffsetDateTime) -> Result<AuditEvent> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_CHAIN_LOCK]).await.map_err(db_err)?;
    let head = tx
        .query_opt("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1", &[])
        .await
        .map_err(db_err)?
        .map(|r| -> Result<(i64, String)> { Ok((r.col(0)?, r.col(1)?)) })
        .transpose()?;
    let (prev_seq, prev_hash) = head.unwrap_or((0, GENESIS_HASH.to_string()));
    let event = seal(record, prev_seq, &prev_hash, at);
    tx.execute(
        &format!("INSERT INTO audit_events ({AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"),
        &[
            &event.seq,
            &event.time,
            &event.actor,
            &event.action,
            &event.target,
            &json_column(&event.before),
            &json_column(&event.after),
            &event.request_id,
            &event.prev_hash,
            &event.hash,
        ],
    )
    .await
    .map_err(db_err)?;
    Ok(event)
}

pub(super) const CHECKPOINT_COLUMNS: &str = "seq, hash, key_id, signature, signed_at";

pub(super) fn checkpoint(r: &tokio_postgres::Row) -> Result<Checkpoint> {
    Ok(Checkpoint {
        seq: r.col(0)?,
        hash: r.col(1)?,
        key_id: r.col(2)?,
        signature: Signature::from_hex(r.col(3)?)?,
        signed_at: r.col(4)?,
    })
}

impl PostgresStore {
    /// Checkpoints in the order given (an ORDER BY/LIMIT clause).
    async fn checkpoints_ordered(&self, order: &str) -> Result<Vec<Checkpoint>> {
        let client = self.client().await?;
        let rows = client
            .query(&format!("SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints {order}"), &[])
            .await
            .map_err(db_err)?;
        rows.iter().map(checkpoint).collect()
    }
}

#[async_trait]
impl AuditStore for PostgresStore {
    async fn audit_events(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditEvent>> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!("SELECT {AUDIT_COLUMNS} FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2"),
                &[&after_seq, &i64::from(limit)],
            )
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                let seq: i64 = r.col(0)?;
                Ok(AuditEvent {
                    seq,
                    time: r.col(1)?,
                    actor: r.col(2)?,
                    action: r.col(3)?,
                    target: r.col(4)?,
                    before: parse_json_column(seq, "before", r.col(5)?)?,
                    after: parse_json_column(seq, "after", r.col(6)?)?,
                    request_id: r.col(7)?,
                    prev_hash: r.col(8)?,
                    hash: r.col(9)?,
                })
            })
            .collect()
    }

    async fn record_event(&self, audit: AuditRecord, at: OffsetDateTime) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        append_audit(&tx, audit, at).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn audit_head(&self) -> Result<Option<(i64, String)>> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1", &[])
            .await
            .map_err(db_err)?;
        row.map(|r| Ok((r.col(0)?, r.col(1)?))).transpose()
    }

    async fn register_public_key(&self, key: &PublicKey, at: OffsetDateTime) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO signing_keys (key_id, public_key, created_at) VALUES ($1, $2, $3) ON CONFLICT (key_id) DO NOTHING",
                &[&key.key_id(), &key.to_hex(), &at],
            )
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn public_keys(&self) -> Result<Vec<PublicKey>> {
        let client = self.client().await?;
        let rows =
            client.query("SELECT public_key FROM signing_keys ORDER BY created_at", &[]).await.map_err(db_err)?;
        rows.iter().map(|r| PublicKey::from_hex(r.col(0)?)).collect()
    }

    async fn write_checkpoint(&self, cp: &Checkpoint) -> Result<bool> {
        let client = self.client().await?;
        // One statement, no transaction: events are append-only, so the check that the
        // signed event exists cannot go stale.
        let written = client
            .execute(
                &format!(
                    "INSERT INTO audit_checkpoints ({CHECKPOINT_COLUMNS}) SELECT $1, $2, $3, $4, $5
                     WHERE EXISTS (SELECT 1 FROM audit_events WHERE seq = $1 AND hash = $2) ON CONFLICT (seq) DO NOTHING"
                ),
                &[&cp.seq, &cp.hash, &cp.key_id, &cp.signature.to_hex(), &cp.signed_at],
            )
            .await
            .map_err(db_err)?;
        if written == 1 {
            return Ok(true);
        }
        let in_trail = client
            .query_one("SELECT EXISTS (SELECT 1 FROM audit_events WHERE seq = $1 AND hash = $2)", &[&cp.seq, &cp.hash])
            .await
            .map_err(db_err)?
            .col::<bool>(0)?;
        if in_trail {
            Ok(false)
        } else {
            Err(Error::new(
                ErrorKind::Integrity,
                format!("refusing to sign seq {}: the trail has no event with that hash", cp.seq),
            ))
        }
    }

    async fn latest_checkpoint(&self) -> Result<Option<Checkpoint>> {
        Ok(self.checkpoints_ordered("ORDER BY seq DESC LIMIT 1").await?.pop())
    }

    async fn missing_audit_guards(&self) -> Result<Vec<String>> {
        let client = self.client().await?;
        let mut missing = Vec::new();
        for name in AUDIT_GUARDS {
            // Triggers of the tables in this connection's schema (search_path), enabled.
            let present = client
                .query_opt(
                    "SELECT 1 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid \
                     WHERE t.tgname = $1 AND c.relnamespace = current_schema()::regnamespace AND t.tgenabled <> 'D'",
                    &[&name],
                )
                .await
                .map_err(db_err)?
                .is_some();
            if !present {
                missing.push(name.to_string());
            }
        }
        Ok(missing)
    }

    async fn checkpoints(&self) -> Result<Vec<Checkpoint>> {
        self.checkpoints_ordered("ORDER BY seq").await
    }
}
