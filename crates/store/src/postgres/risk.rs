//! PostgreSQL: project context, versioned documents and the risk register.
//!
//! Document versions are numbered under the chain lock, like policy versions, so that
//! concurrent replicas never pick the same number.

use super::{AUDIT_CHAIN_LOCK, PROJECT_COLUMNS, PostgresStore, RowExt, append_audit, db_err, project};
use async_trait::async_trait;
use deadpool_postgres::{Client, GenericClient};
use riskops_core::audit::AuditRecord;
use riskops_core::project::Project;
use riskops_core::promotion::VersionedDocument;
use riskops_core::risk::{RiskEntry, RiskFields};
use riskops_core::store::RiskStore;
use riskops_core::{Error, Result};
use serde_json::Value;
use time::OffsetDateTime;

pub(super) async fn set_project_context(
    client: &mut Client,
    name: &str,
    context: Option<Value>,
    audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<Project> {
    let tx = client.transaction().await.map_err(db_err)?;
    let context = context.map(|c| c.to_string());
    let row = tx
        .query_opt(
            &format!("UPDATE projects SET context_json = $1 WHERE name = $2 RETURNING {PROJECT_COLUMNS}"),
            &[&context, &name],
        )
        .await
        .map_err(db_err)?;
    let Some(row) = row else {
        return Err(Error::not_found(format!("no project named {name:?}")));
    };
    append_audit(&tx, audit, at).await?;
    tx.commit().await.map_err(db_err)?;
    project(&row)
}

/// The newest version of a document of `kind`.
pub(super) async fn document(client: &impl GenericClient, kind: &str) -> Result<Option<VersionedDocument>> {
    let row = client
        .query_opt(
            "SELECT version, document, created_at, created_by FROM documents WHERE kind = $1 ORDER BY version DESC LIMIT 1",
            &[&kind],
        )
        .await
        .map_err(db_err)?;
    row.map(|r| {
        let document: String = r.col(1)?;
        Ok(VersionedDocument {
            version: r.col::<i32>(0)? as u32,
            document: serde_json::from_str(&document)
                .map_err(|e| Error::internal(format!("stored {kind} is not JSON: {e}")))?,
            created_by: r.col(3)?,
            created_at: r.col(2)?,
        })
    })
    .transpose()
}

pub(super) async fn set_document(
    client: &mut Client,
    kind: &str,
    document: Value,
    mut audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<VersionedDocument> {
    let tx = client.transaction().await.map_err(db_err)?;
    // Versions are numbered one at a time: the chain lock (which append_audit takes again,
    // harmlessly) is taken before the next number is read.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_CHAIN_LOCK]).await.map_err(db_err)?;
    let version: i32 = tx
        .query_one("SELECT COALESCE(MAX(version), 0) + 1 FROM documents WHERE kind = $1", &[&kind])
        .await
        .map_err(db_err)?
        .col(0)?;
    let by = audit.actor().to_string();
    tx.execute(
        "INSERT INTO documents (kind, version, document, created_at, created_by) VALUES ($1, $2, $3, $4, $5)",
        &[&kind, &version, &document.to_string(), &at, &by],
    )
    .await
    .map_err(db_err)?;
    let version = version as u32;
    audit.set_after("version", version.into());
    append_audit(&tx, audit, at).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(VersionedDocument { version, document, created_by: by, created_at: at })
}

const ENTRY_COLUMNS: &str = "id, project, fields_json, created_at, updated_at, updated_by";

fn entry(r: &tokio_postgres::Row) -> Result<RiskEntry> {
    let id: i64 = r.col(0)?;
    let fields: &str = r.col(2)?;
    let json: Value =
        serde_json::from_str(fields).map_err(|e| Error::internal(format!("risk entry {id} is not JSON: {e}")))?;
    Ok(RiskEntry {
        id,
        project: r.col(1)?,
        fields: RiskFields::from_json(&json)?,
        created_at: r.col(3)?,
        updated_at: r.col(4)?,
        updated_by: r.col(5)?,
    })
}

pub(super) async fn add_risk_entries(
    client: &mut Client,
    project: &str,
    entries: Vec<RiskFields>,
    mut audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<Vec<RiskEntry>> {
    let tx = client.transaction().await.map_err(db_err)?;
    let exists: bool = tx
        .query_one("SELECT EXISTS (SELECT 1 FROM projects WHERE name = $1)", &[&project])
        .await
        .map_err(db_err)?
        .col(0)?;
    if !exists {
        return Err(Error::not_found(format!("no project named {project:?}")));
    }
    let by = audit.actor().to_string();
    let mut ids = Vec::with_capacity(entries.len());
    for fields in &entries {
        let row = tx
            .query_one(
                "INSERT INTO risk_entries (project, fields_json, created_at, updated_at, updated_by) \
                 VALUES ($1, $2, $3, $3, $4) RETURNING id",
                &[&project, &fields.to_json().to_string(), &at, &by],
            )
            .await
            .map_err(db_err)?;
        ids.push(row.col::<i64>(0)?);
    }
    audit.set_after("ids", ids.clone().into());
    append_audit(&tx, audit, at).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(ids
        .into_iter()
        .zip(entries)
        .map(|(id, fields)| RiskEntry {
            id,
            project: project.to_string(),
            fields,
            created_at: at,
            updated_at: at,
            updated_by: by.clone(),
        })
        .collect())
}

pub(super) async fn update_risk_entry(
    client: &mut Client,
    id: i64,
    fields: RiskFields,
    audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<RiskEntry> {
    let tx = client.transaction().await.map_err(db_err)?;
    let by = audit.actor().to_string();
    let row = tx
        .query_opt(
            &format!(
                "UPDATE risk_entries SET fields_json = $1, updated_at = $2, updated_by = $3 WHERE id = $4 \
                 RETURNING {ENTRY_COLUMNS}"
            ),
            &[&fields.to_json().to_string(), &at, &by, &id],
        )
        .await
        .map_err(db_err)?;
    let Some(row) = row else {
        return Err(Error::not_found(format!("no risk entry {id}")));
    };
    append_audit(&tx, audit, at).await?;
    tx.commit().await.map_err(db_err)?;
    entry(&row)
}

/// A project's entries, oldest first.
pub(super) async fn risk_entries(client: &impl GenericClient, project: &str) -> Result<Vec<RiskEntry>> {
    let rows = client
        .query(&format!("SELECT {ENTRY_COLUMNS} FROM risk_entries WHERE project = $1 ORDER BY id"), &[&project])
        .await
        .map_err(db_err)?;
    rows.iter().map(entry).collect()
}

pub(super) async fn risk_entry(client: &impl GenericClient, id: i64) -> Result<Option<RiskEntry>> {
    let row = client
        .query_opt(&format!("SELECT {ENTRY_COLUMNS} FROM risk_entries WHERE id = $1"), &[&id])
        .await
        .map_err(db_err)?;
    row.as_ref().map(entry).transpose()
}

#[async_trait]
impl RiskStore for PostgresStore {
    async fn set_project_context(
        &self,
        project: &str,
        context: Option<serde_json::Value>,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Project> {
        set_project_context(&mut self.client().await?, project, context, audit, at).await
    }

    async fn document(&self, kind: &str) -> Result<Option<VersionedDocument>> {
        document(&self.client().await?, kind).await
    }

    async fn set_document(
        &self,
        kind: &str,
        document: serde_json::Value,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<VersionedDocument> {
        set_document(&mut self.client().await?, kind, document, audit, at).await
    }

    async fn add_risk_entries(
        &self,
        project: &str,
        entries: Vec<RiskFields>,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Vec<RiskEntry>> {
        add_risk_entries(&mut self.client().await?, project, entries, audit, at).await
    }

    async fn update_risk_entry(
        &self,
        id: i64,
        fields: RiskFields,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<RiskEntry> {
        update_risk_entry(&mut self.client().await?, id, fields, audit, at).await
    }

    async fn risk_entries(&self, project: &str) -> Result<Vec<RiskEntry>> {
        risk_entries(&self.client().await?, project).await
    }

    async fn risk_entry(&self, id: i64) -> Result<Option<RiskEntry>> {
        risk_entry(&self.client().await?, id).await
    }
}
