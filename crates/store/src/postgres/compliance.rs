//! PostgreSQL: attestations of compliance controls.

use super::{PostgresStore, RowExt, append_audit, db_err};
use async_trait::async_trait;
use deadpool_postgres::{Client, GenericClient};
use riskops_core::artifact::Digest;
use riskops_core::audit::AuditRecord;
use riskops_core::compliance::{AttachedFile, Attestation, NewAttestation};
use riskops_core::store::ComplianceStore;
use riskops_core::{Error, Result};
use time::OffsetDateTime;

pub(super) async fn add_attestation(
    client: &mut Client,
    new: NewAttestation,
    mut audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<Attestation> {
    let tx = client.transaction().await.map_err(db_err)?;
    // The project's row is locked so it cannot vanish (or be renamed) under the insert.
    let found =
        tx.query_opt("SELECT 1 FROM projects WHERE name = $1 FOR SHARE", &[&new.project]).await.map_err(db_err)?;
    if found.is_none() {
        return Err(Error::not_found(format!("no project named {:?}", new.project)));
    }
    let by = audit.actor().to_string();
    let digest = new.evidence.as_ref().map(|e| e.digest.as_str().to_string());
    let size = new.evidence.as_ref().map(|e| e.size as i64);
    let row = tx
        .query_one(
            "INSERT INTO attestations (project, control, statement, evidence_digest, evidence_size, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &[&new.project, &new.control, &new.statement, &digest, &size, &at, &by],
        )
        .await
        .map_err(db_err)?;
    let id: i64 = row.col(0)?;
    audit.set_after("id", id.into());
    append_audit(&tx, audit, at).await?;
    tx.commit().await.map_err(db_err)?;
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

pub(super) async fn attestations(client: &impl GenericClient, project: &str) -> Result<Vec<Attestation>> {
    let rows = client
        .query(
            "SELECT id, control, statement, evidence_digest, evidence_size, created_at, created_by FROM attestations \
             WHERE project = $1 ORDER BY id",
            &[&project],
        )
        .await
        .map_err(db_err)?;
    rows.iter()
        .map(|r| {
            let digest: Option<String> = r.col(3)?;
            let size: Option<i64> = r.col(4)?;
            let evidence = match (digest, size) {
                (Some(d), Some(s)) => Some(AttachedFile { digest: Digest::parse(&d)?, size: s.max(0) as u64 }),
                _ => None,
            };
            Ok(Attestation {
                id: r.col(0)?,
                project: project.to_string(),
                control: r.col(1)?,
                statement: r.col(2)?,
                evidence,
                created_by: r.col(6)?,
                created_at: r.col(5)?,
            })
        })
        .collect()
}

#[async_trait]
impl ComplianceStore for PostgresStore {
    async fn add_attestation(
        &self,
        new: riskops_core::compliance::NewAttestation,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<riskops_core::compliance::Attestation> {
        add_attestation(&mut self.client().await?, new, audit, at).await
    }

    async fn attestations(&self, project: &str) -> Result<Vec<riskops_core::compliance::Attestation>> {
        attestations(&self.client().await?, project).await
    }
}
