//! SQLite: project context, versioned documents and the risk register.

use super::{PROJECT_COLUMNS, SqliteStore, append_audit, db_err, parse_time, project, project_from_row, time_text};
use async_trait::async_trait;
use riskops_core::audit::AuditRecord;
use riskops_core::project::Project;
use riskops_core::promotion::VersionedDocument;
use riskops_core::risk::{RiskEntry, RiskFields};
use riskops_core::store::RiskStore;
use riskops_core::{Error, Result};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde_json::Value;
use time::OffsetDateTime;

pub(super) fn set_project_context(
    conn: &mut Connection,
    name: &str,
    context: Option<Value>,
    audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<Project> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
    let changed = tx
        .execute("UPDATE projects SET context_json = ?1 WHERE name = ?2", params![context.map(|c| c.to_string()), name])
        .map_err(db_err)?;
    if changed == 0 {
        return Err(Error::not_found(format!("no project named {name:?}")));
    }
    append_audit(&tx, audit, at)?;
    let p = tx
        .query_row(&format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE name = ?1"), [name], project_from_row)
        .map_err(db_err)?;
    tx.commit().map_err(db_err)?;
    project(p)
}

pub(super) fn document(conn: &Connection, kind: &str) -> Result<Option<VersionedDocument>> {
    let row: Option<(u32, String, String, String)> = conn
        .query_row(
            "SELECT version, document, created_at, created_by FROM documents WHERE kind = ?1 ORDER BY version DESC LIMIT 1",
            [kind],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()
        .map_err(db_err)?;
    row.map(|(version, doc, at, by)| {
        Ok(VersionedDocument {
            version,
            document: serde_json::from_str(&doc)
                .map_err(|e| Error::internal(format!("stored {kind} is not JSON: {e}")))?,
            created_by: by,
            created_at: parse_time(&at)?,
        })
    })
    .transpose()
}

pub(super) fn set_document(
    conn: &mut Connection,
    kind: &str,
    document: Value,
    mut audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<VersionedDocument> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
    let version: u32 = tx
        .query_row("SELECT COALESCE(MAX(version), 0) + 1 FROM documents WHERE kind = ?1", [kind], |r| r.get(0))
        .map_err(db_err)?;
    let by = audit.actor().to_string();
    tx.execute(
        "INSERT INTO documents (kind, version, document, created_at, created_by) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![kind, version, document.to_string(), time_text(at), by],
    )
    .map_err(db_err)?;
    audit.set_after("version", version.into());
    append_audit(&tx, audit, at)?;
    tx.commit().map_err(db_err)?;
    Ok(VersionedDocument { version, document, created_by: by, created_at: at })
}

const ENTRY_SELECT: &str = "SELECT id, project, fields_json, created_at, updated_at, updated_by FROM risk_entries";

type EntryRow = (i64, String, String, String, String, String);

fn entry_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<EntryRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
}

fn entry(row: EntryRow) -> Result<RiskEntry> {
    let (id, project, fields, created, updated, updated_by) = row;
    let json: Value =
        serde_json::from_str(&fields).map_err(|e| Error::internal(format!("risk entry {id} is not JSON: {e}")))?;
    Ok(RiskEntry {
        id,
        project,
        fields: RiskFields::from_json(&json)?,
        created_at: parse_time(&created)?,
        updated_at: parse_time(&updated)?,
        updated_by,
    })
}

pub(super) fn add_risk_entries(
    conn: &mut Connection,
    project: &str,
    entries: Vec<RiskFields>,
    mut audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<Vec<RiskEntry>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
    let exists: bool = tx
        .query_row("SELECT EXISTS (SELECT 1 FROM projects WHERE name = ?1)", [project], |r| r.get(0))
        .map_err(db_err)?;
    if !exists {
        return Err(Error::not_found(format!("no project named {project:?}")));
    }
    let by = audit.actor().to_string();
    let mut ids = Vec::new();
    for fields in &entries {
        tx.execute(
            "INSERT INTO risk_entries (project, fields_json, created_at, updated_at, updated_by) VALUES (?1, ?2, ?3, ?3, ?4)",
            params![project, fields.to_json().to_string(), time_text(at), by],
        )
        .map_err(db_err)?;
        ids.push(tx.last_insert_rowid());
    }
    audit.set_after("ids", ids.clone().into());
    append_audit(&tx, audit, at)?;
    tx.commit().map_err(db_err)?;
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

pub(super) fn update_risk_entry(
    conn: &mut Connection,
    id: i64,
    fields: RiskFields,
    audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<RiskEntry> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
    let by = audit.actor().to_string();
    let changed = tx
        .execute(
            "UPDATE risk_entries SET fields_json = ?1, updated_at = ?2, updated_by = ?3 WHERE id = ?4",
            params![fields.to_json().to_string(), time_text(at), by, id],
        )
        .map_err(db_err)?;
    if changed == 0 {
        return Err(Error::not_found(format!("no risk entry {id}")));
    }
    append_audit(&tx, audit, at)?;
    let row = tx.query_row(&format!("{ENTRY_SELECT} WHERE id = ?1"), [id], entry_row).map_err(db_err)?;
    tx.commit().map_err(db_err)?;
    entry(row)
}

pub(super) fn risk_entries(conn: &Connection, project: &str) -> Result<Vec<RiskEntry>> {
    let mut stmt = conn.prepare_cached(&format!("{ENTRY_SELECT} WHERE project = ?1 ORDER BY id")).map_err(db_err)?;
    let rows = stmt.query_map([project], entry_row).map_err(db_err)?;
    rows.map(|r| entry(r.map_err(db_err)?)).collect()
}

pub(super) fn risk_entry(conn: &Connection, id: i64) -> Result<Option<RiskEntry>> {
    conn.query_row(&format!("{ENTRY_SELECT} WHERE id = ?1"), [id], entry_row)
        .optional()
        .map_err(db_err)?
        .map(entry)
        .transpose()
}

#[async_trait]
impl RiskStore for SqliteStore {
    async fn set_project_context(
        &self,
        project: &str,
        context: Option<serde_json::Value>,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Project> {
        let project = project.to_string();
        self.with_conn(move |conn| set_project_context(conn, &project, context, audit, at)).await
    }

    async fn document(&self, kind: &str) -> Result<Option<VersionedDocument>> {
        let kind = kind.to_string();
        self.with_conn(move |conn| document(conn, &kind)).await
    }

    async fn set_document(
        &self,
        kind: &str,
        document: serde_json::Value,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<VersionedDocument> {
        let kind = kind.to_string();
        self.with_conn(move |conn| set_document(conn, &kind, document, audit, at)).await
    }

    async fn add_risk_entries(
        &self,
        project: &str,
        entries: Vec<RiskFields>,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Vec<RiskEntry>> {
        let project = project.to_string();
        self.with_conn(move |conn| add_risk_entries(conn, &project, entries, audit, at)).await
    }

    async fn update_risk_entry(
        &self,
        id: i64,
        fields: RiskFields,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<RiskEntry> {
        self.with_conn(move |conn| update_risk_entry(conn, id, fields, audit, at)).await
    }

    async fn risk_entries(&self, project: &str) -> Result<Vec<RiskEntry>> {
        let project = project.to_string();
        self.with_conn(move |conn| risk_entries(conn, &project)).await
    }

    async fn risk_entry(&self, id: i64) -> Result<Option<RiskEntry>> {
        self.with_conn(move |conn| risk_entry(conn, id)).await
    }
}
