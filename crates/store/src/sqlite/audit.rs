//! SQLite: the audit trail (the one writer of events, `append_audit`), signing keys,
//! checkpoints, and verifying a database file.

use super::{SqliteStore, db_err, parse_time, time_text};
use crate::audit_row::{AUDIT_COLUMNS, json_column, parse_json_column};
use async_trait::async_trait;
use riskops_core::audit::{AuditEvent, AuditRecord, GENESIS_HASH, seal};
use riskops_core::checkpoint::{Checkpoint, TrailVerifier};
use riskops_core::signing::{PublicKey, Signature};
use riskops_core::store::AuditStore;
use riskops_core::{Error, ErrorKind, Result};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use std::path::Path;
use time::OffsetDateTime;

/// The triggers that keep the audit trail append-only (migrations 0001 and 0005).
pub(super) const AUDIT_GUARDS: [&str; 4] =
    ["audit_events_no_update", "audit_events_no_delete", "audit_checkpoints_no_update", "audit_checkpoints_no_delete"];

/// Verifies the audit trail of a SQLite file (a data directory's `riskops.sqlite`, or a copy
/// of it) without a server and without writing to it: the file is opened read-only and no
/// migration runs. The chain is checked, then its signed checkpoints (see
/// [`TrailVerifier`]); `pinned` is the only key trusted when given. A file from before
/// checkpoints existed has none, which is not an error.
/// `kept` are checkpoints (and their keys) the verifier kept outside the data directory
/// (`riskops audit checkpoint`): they catch a trail cut back together with its newest
/// checkpoints.
pub fn verify_file(
    path: &Path,
    pinned: Option<&PublicKey>,
    kept: (Vec<Checkpoint>, Vec<PublicKey>),
) -> Result<riskops_core::audit::ChainReport> {
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| Error::unavailable(format!("cannot open {} read-only: {e}", path.display())))?;
    let has_checkpoints: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_checkpoints')",
            [],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    let (mut checkpoints, mut unreadable, mut keys) = (Vec::new(), Vec::new(), Vec::new());
    if has_checkpoints {
        for row in checkpoint_rows(&conn, "ORDER BY seq")? {
            match row {
                Ok(cp) => checkpoints.push(cp),
                Err((seq, e)) => unreadable.push((seq, e.message)),
            }
        }
        // A key edited into nonsense simply is not a key: checkpoints by it then fail.
        keys = public_key_rows(&conn)?.into_iter().filter_map(Result::ok).collect();
    }
    checkpoints.extend(kept.0);
    keys.extend(kept.1);
    let mut verifier = TrailVerifier::new(checkpoints, &keys, pinned);
    for (seq, reason) in unreadable {
        verifier.unreadable_checkpoint(seq, reason);
    }
    let mut stmt = conn.prepare(&format!("SELECT {AUDIT_COLUMNS} FROM audit_events ORDER BY seq")).map_err(db_err)?;
    let mut rows = stmt.query([]).map_err(db_err)?;
    while let Some(row) = rows.next().map_err(db_err)? {
        let seq: i64 = row.get(0).map_err(db_err)?;
        match audit_event(row) {
            Ok(event) => {
                if !verifier.push(&event) {
                    break;
                }
            }
            Err(e) => {
                verifier.unreadable(seq, format!("unreadable: {e}"));
                break;
            }
        }
    }
    Ok(verifier.finish())
}

pub(super) const CHECKPOINT_COLUMNS: &str = "seq, hash, key_id, signature, signed_at";

/// Checkpoint rows (`order` is an ORDER BY/LIMIT clause), each parsed or with the reason it
/// cannot be.
pub(super) fn checkpoint_rows(conn: &Connection, order: &str) -> Result<Vec<Result<Checkpoint, (i64, Error)>>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints {order}")).map_err(db_err)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })
        .map_err(db_err)?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, hash, key_id, signature, signed_at) = row.map_err(db_err)?;
        let parsed = Signature::from_hex(&signature)
            .and_then(|signature| Ok(Checkpoint { seq, hash, key_id, signature, signed_at: parse_time(&signed_at)? }));
        out.push(parsed.map_err(|e| (seq, e)));
    }
    Ok(out)
}

pub(super) fn public_key_rows(conn: &Connection) -> Result<Vec<Result<PublicKey>>> {
    let mut stmt = conn.prepare_cached("SELECT public_key FROM signing_keys ORDER BY created_at").map_err(db_err)?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(db_err)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(PublicKey::from_hex(&row.map_err(db_err)?));
    }
    Ok(out)
}

/// One audit row as an event (shared by reads and verification).
pub(super) fn audit_event(r: &rusqlite::Row<'_>) -> Result<AuditEvent> {
    let seq: i64 = r.get(0).map_err(db_err)?;
    let time: String = r.get(1).map_err(db_err)?;
    Ok(AuditEvent {
        seq,
        time: parse_audit_time(seq, &time)?,
        actor: r.get(2).map_err(db_err)?,
        action: r.get(3).map_err(db_err)?,
        target: r.get(4).map_err(db_err)?,
        before: parse_json_column(seq, "before", r.get(5).map_err(db_err)?)?,
        after: parse_json_column(seq, "after", r.get(6).map_err(db_err)?)?,
        request_id: r.get(7).map_err(db_err)?,
        prev_hash: r.get(8).map_err(db_err)?,
        hash: r.get(9).map_err(db_err)?,
    })
}

/// An audit event's time, which must be stored exactly as [`time_text`] writes it: the same
/// instant spelled otherwise (`+00:00` for `Z`) is an edited row.
pub(super) fn parse_audit_time(seq: i64, text: &str) -> Result<OffsetDateTime> {
    let time = parse_time(text)?;
    if time_text(time) != text {
        let message = format!("audit event {seq}: time {text:?} is not in canonical form");
        return Err(Error::new(riskops_core::ErrorKind::Integrity, message));
    }
    Ok(time)
}

/// Appends `record` to the chain inside `tx`: the one place SQLite writes audit events.
pub(super) fn append_audit(tx: &Transaction<'_>, record: AuditRecord, at: OffsetDateTime) -> Result<AuditEvent> {
    let head: Option<(i64, String)> = tx
        .query_row("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(db_err)?;
    let (prev_seq, prev_hash) = head.unwrap_or((0, GENESIS_HASH.to_string()));
    let event = seal(record, prev_seq, &prev_hash, at);
    tx.execute(
        &format!("INSERT INTO audit_events ({AUDIT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
        params![
            event.seq,
            time_text(event.time),
            event.actor,
            event.action,
            event.target,
            json_column(&event.before),
            json_column(&event.after),
            event.request_id,
            event.prev_hash,
            event.hash
        ],
    )
    .map_err(db_err)?;
    Ok(event)
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn audit_events(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditEvent>> {
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE seq > ?1 ORDER BY seq LIMIT ?2"
                ))
                .map_err(db_err)?;
            let mut rows = stmt.query(params![after_seq, limit]).map_err(db_err)?;
            let mut events = Vec::new();
            while let Some(r) = rows.next().map_err(db_err)? {
                events.push(audit_event(r)?);
            }
            Ok(events)
        })
        .await
    }

    async fn record_event(&self, audit: AuditRecord, at: OffsetDateTime) -> Result<()> {
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
            append_audit(&tx, audit, at)?;
            tx.commit().map_err(db_err)
        })
        .await
    }

    async fn audit_head(&self) -> Result<Option<(i64, String)>> {
        self.with_conn(|conn| {
            conn.query_row("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(db_err)
        })
        .await
    }

    async fn register_public_key(&self, key: &PublicKey, at: OffsetDateTime) -> Result<()> {
        let (key_id, hex) = (key.key_id(), key.to_hex());
        self.with_conn(move |conn| {
            conn.execute(
                "INSERT INTO signing_keys (key_id, public_key, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (key_id) DO NOTHING",
                params![key_id, hex, time_text(at)],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn public_keys(&self) -> Result<Vec<PublicKey>> {
        self.with_conn(|conn| public_key_rows(conn)?.into_iter().collect()).await
    }

    async fn write_checkpoint(&self, checkpoint: &Checkpoint) -> Result<bool> {
        let cp = checkpoint.clone();
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
            let stored: Option<String> = tx
                .query_row("SELECT hash FROM audit_events WHERE seq = ?1", [cp.seq], |r| r.get(0))
                .optional()
                .map_err(db_err)?;
            if stored.as_deref() != Some(cp.hash.as_str()) {
                return Err(Error::new(
                    ErrorKind::Integrity,
                    format!("refusing to sign seq {}: the trail has no event with that hash", cp.seq),
                ));
            }
            let written = tx
                .execute(
                    &format!("INSERT INTO audit_checkpoints ({CHECKPOINT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (seq) DO NOTHING"),
                    params![cp.seq, cp.hash, cp.key_id, cp.signature.to_hex(), time_text(cp.signed_at)],
                )
                .map_err(db_err)?;
            tx.commit().map_err(db_err)?;
            Ok(written == 1)
        })
        .await
    }

    async fn latest_checkpoint(&self) -> Result<Option<Checkpoint>> {
        Ok(self.checkpoints_ordered("ORDER BY seq DESC LIMIT 1").await?.pop())
    }

    async fn missing_audit_guards(&self) -> Result<Vec<String>> {
        self.with_conn(|conn| {
            let mut missing = Vec::new();
            for name in AUDIT_GUARDS {
                let present: bool = conn
                    .query_row(
                        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?1)",
                        [name],
                        |r| r.get(0),
                    )
                    .map_err(db_err)?;
                if !present {
                    missing.push(name.to_string());
                }
            }
            Ok(missing)
        })
        .await
    }

    async fn checkpoints(&self) -> Result<Vec<Checkpoint>> {
        self.checkpoints_ordered("ORDER BY seq").await
    }
}
