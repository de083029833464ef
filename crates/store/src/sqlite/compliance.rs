//! SQLite: attestations of compliance controls.

use super::{SqliteStore, append_audit, db_err, parse_time, time_text};
use async_trait::async_trait;
use riskops_core::Result;
use riskops_core::artifact::Digest;
use riskops_core::audit::AuditRecord;
use riskops_core::compliance::{AttachedFile, Attestation, NewAttestation};
use riskops_core::error::Error;
use riskops_core::store::ComplianceStore;
use rusqlite::{Connection, TransactionBehavior, params};
use time::OffsetDateTime;

pub(super) fn add_attestation(
    conn: &mut Connection,
    new: NewAttestation,
    mut audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<Attestation> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
    let exists: bool = tx
        .query_row("SELECT EXISTS (SELECT 1 FROM projects WHERE name = ?1)", [&new.project], |r| r.get(0))
        .map_err(db_err)?;
    if !exists {
        return Err(Error::not_found(format!("no project named {:?}", new.project)));
    }
    let by = audit.actor().to_string();
    tx.execute(
        "INSERT INTO attestations (project, control, statement, evidence_digest, evidence_size, created_at, created_by) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            new.project,
            new.control,
            new.statement,
            new.evidence.as_ref().map(|e| e.digest.as_str()),
            new.evidence.as_ref().map(|e| e.size as i64),
            time_text(at),
            by
        ],
    )
    .map_err(db_err)?;
    let id = tx.last_insert_rowid();
    audit.set_after("id", id.into());
    append_audit(&tx, audit, at)?;
    tx.commit().map_err(db_err)?;
    Ok(Attestation {
        id,
        project: new.project,
        control: new.control,
        statement: new.statement,
        evidence: new.evidence,
        created_by: by,
        created_at: at,
    })
}

pub(super) fn attestations(conn: &Connection, project: &str) -> Result<Vec<Attestation>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, control, statement, evidence_digest, evidence_size, created_at, created_by FROM attestations \
             WHERE project = ?1 ORDER BY id",
        )
        .map_err(db_err)?;
    type Row = (i64, String, String, Option<String>, Option<i64>, String, String);
    let rows = stmt
        .query_map([project], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))
        .map_err(db_err)?;
    let mut out = Vec::new();
    for row in rows {
        let (id, control, statement, digest, size, created_at, created_by): Row = row.map_err(db_err)?;
        let evidence = match (digest, size) {
            (Some(d), Some(s)) => Some(AttachedFile { digest: Digest::parse(&d)?, size: s.max(0) as u64 }),
            _ => None,
        };
        out.push(Attestation {
            id,
            project: project.to_string(),
            control,
            statement,
            evidence,
            created_by,
            created_at: parse_time(&created_at)?,
        });
    }
    Ok(out)
}

#[async_trait]
impl ComplianceStore for SqliteStore {
    async fn add_attestation(
        &self,
        new: riskops_core::compliance::NewAttestation,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<riskops_core::compliance::Attestation> {
        self.with_conn(move |conn| add_attestation(conn, new, audit, at)).await
    }

    async fn attestations(&self, project: &str) -> Result<Vec<riskops_core::compliance::Attestation>> {
        let project = project.to_string();
        self.with_conn(move |conn| attestations(conn, &project)).await
    }
}
