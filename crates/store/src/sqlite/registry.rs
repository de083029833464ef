//! SQLite: the registry (datasets, models, their versions, labels and notes).

use super::{SqliteStore, append_audit, db_err, parse_time, time_text};
use crate::registry_rows::{
    DATASET_SELECT, DatasetRow, MODEL_SELECT, ModelRow, merged_tags, not_found, other_project, tables, tags_json,
    to_i64,
};
use async_trait::async_trait;
use riskops_core::audit::AuditRecord;
use riskops_core::registry::{
    Created, DatasetVersion, Entry, Kind, ModelVersion, NewDatasetVersion, NewModelVersion, Note, Tags, VersionRef,
};
use riskops_core::store::RegistryStore;
use riskops_core::{Error, Result};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use time::OffsetDateTime;

pub(super) fn dataset_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(DatasetRow, String)> {
    let created_at: String = r.get(11)?;
    Ok((
        DatasetRow {
            name: r.get(0)?,
            project: r.get(1)?,
            version: r.get(2)?,
            digest: r.get(3)?,
            size: r.get(4)?,
            format: r.get(5)?,
            rows: r.get(6)?,
            schema_json: r.get(7)?,
            profile_json: r.get(8)?,
            description: r.get(9)?,
            tags_json: r.get(10)?,
            created_at: OffsetDateTime::UNIX_EPOCH,
            created_by: r.get(12)?,
        },
        created_at,
    ))
}

pub(super) fn dataset_rows(
    conn: &Connection,
    filter: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<Vec<DatasetVersion>> {
    load_rows(conn, DATASET_SELECT, filter, params, dataset_row, |mut row, at| {
        row.created_at = at;
        row.into_domain()
    })
}

/// Runs `select filter`, reads each row with `read` (which returns the row and its time
/// as text) and turns it into a domain value with `finish`.
pub(super) fn load_rows<R, T>(
    conn: &Connection,
    select: &str,
    filter: &str,
    params: &[&dyn rusqlite::ToSql],
    read: fn(&rusqlite::Row<'_>) -> rusqlite::Result<(R, String)>,
    finish: impl Fn(R, OffsetDateTime) -> Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(&format!("{select} {filter}")).map_err(db_err)?;
    let rows = stmt.query_map(params, read).map_err(db_err)?;
    let mut out = Vec::new();
    for row in rows {
        let (row, time) = row.map_err(db_err)?;
        out.push(finish(row, parse_time(&time)?)?);
    }
    Ok(out)
}

/// The next version number of a dataset or model, inside the writing transaction.
pub(super) fn next_version(tx: &Transaction<'_>, versions: &str, fk: &str, owner: i64) -> Result<i64> {
    tx.query_row(&format!("SELECT COALESCE(MAX(version), 0) + 1 FROM {versions} WHERE {fk} = ?1"), [owner], |r| {
        r.get(0)
    })
    .map_err(db_err)
}

pub(super) fn model_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(ModelRow, String)> {
    let created_at: String = r.get(17)?;
    Ok((
        ModelRow {
            name: r.get(0)?,
            project: r.get(1)?,
            version: r.get(2)?,
            digest: r.get(3)?,
            size: r.get(4)?,
            framework: r.get(5)?,
            training: (r.get(6)?, r.get(7)?),
            validation: (r.get(8)?, r.get(9)?),
            code: (r.get(10)?, r.get(11)?),
            params_json: r.get(12)?,
            metrics_json: r.get(13)?,
            description: r.get(14)?,
            tags_json: r.get(15)?,
            author: r.get(16)?,
            created_at: OffsetDateTime::UNIX_EPOCH,
            signature_json: r.get(18)?,
            endpoint: (r.get(19)?, r.get(20)?),
        },
        created_at,
    ))
}

pub(super) fn model_rows(
    conn: &Connection,
    filter: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<Vec<ModelVersion>> {
    load_rows(conn, MODEL_SELECT, filter, params, model_row, |mut row, at| {
        row.created_at = at;
        row.into_domain()
    })
}

/// The id of `name` in `table` (datasets or models), creating it in the requested project
/// (or `default`) when new; a name in another project is a conflict.
pub(super) fn owner_id(
    tx: &Transaction<'_>,
    table: &str,
    kind: &str,
    name: &str,
    project: &str,
    by: &str,
    at: OffsetDateTime,
) -> Result<(i64, String)> {
    let existing: Option<(i64, String)> = tx
        .query_row(
            &format!("SELECT t.id, p.name FROM {table} t JOIN projects p ON p.id = t.project_id WHERE t.name = ?1"),
            [name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(db_err)?;
    if let Some((id, owner)) = existing {
        if project != owner {
            return Err(other_project(kind, name));
        }
        return Ok((id, owner));
    }
    let project_id: i64 = tx
        .query_row("SELECT id FROM projects WHERE name = ?1", [project], |r| r.get(0))
        .optional()
        .map_err(db_err)?
        .ok_or_else(|| Error::not_found(format!("no project named {project:?}")))?;
    tx.execute(
        &format!("INSERT INTO {table} (name, project_id, created_at, created_by) VALUES (?1, ?2, ?3, ?4)"),
        params![name, project_id, time_text(at), by],
    )
    .map_err(db_err)?;
    Ok((tx.last_insert_rowid(), project.to_string()))
}

/// The id and exact version of a dataset version named by `r` (latest when unversioned).
pub(super) fn resolve_dataset(tx: &Transaction<'_>, field: &str, r: &VersionRef) -> Result<(i64, VersionRef)> {
    let found: Option<(i64, i64)> = tx
        .query_row(
            "SELECT v.id, v.version FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id
             WHERE d.name = ?1 AND (?2 IS NULL OR v.version = ?2) ORDER BY v.version DESC LIMIT 1",
            params![r.name, r.version],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .map_err(db_err)?;
    let (id, version) = found.ok_or_else(|| Error::invalid(field, format!("no dataset version {r}")))?;
    Ok((id, VersionRef::exact(&r.name, version as u32)))
}

pub(super) fn entries(conn: &Connection, kind: &str, project: Option<&str>) -> Result<Vec<Entry>> {
    let (table, versions, fk) = match kind {
        "dataset" => ("datasets", "dataset_versions", "dataset_id"),
        _ => ("models", "model_versions", "model_id"),
    };
    let sql = format!(
        "SELECT t.name, p.name, MAX(v.version), COUNT(v.id), MAX(v.created_at) FROM {table} t
         JOIN projects p ON p.id = t.project_id JOIN {versions} v ON v.{fk} = t.id
         WHERE (?1 IS NULL OR p.name = ?1) GROUP BY t.name, p.name ORDER BY t.name"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
    let rows = stmt
        .query_map([project], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, String>(4)?,
            ))
        })
        .map_err(db_err)?;
    let mut out = Vec::new();
    for row in rows {
        let (name, project, latest, count, updated) = row.map_err(db_err)?;
        out.push(Entry {
            name,
            project,
            latest_version: latest as u32,
            versions: count as u32,
            updated_at: parse_time(&updated)?,
        });
    }
    Ok(out)
}

#[async_trait]
impl RegistryStore for SqliteStore {
    async fn create_dataset_version(
        &self,
        new: NewDatasetVersion,
        mut audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Created<DatasetVersion>> {
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
            let by = audit.actor().to_string();
            let (dataset_id, project) = owner_id(&tx, "datasets", "dataset", &new.name, &new.project, &by, at)?;
            let same = dataset_rows(
                &tx,
                "WHERE d.id = ?1 AND v.digest = ?2",
                &[&dataset_id as &dyn rusqlite::ToSql, &new.digest.as_str()],
            )?;
            if let Some(existing) = same.into_iter().next() {
                return Ok(Created::Existing(existing));
            }
            let version = next_version(&tx, "dataset_versions", "dataset_id", dataset_id)?;
            tx.execute(
                "INSERT INTO dataset_versions (dataset_id, version, digest, size, format, rows, schema_json, profile_json,
                 description, tags_json, created_at, created_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    dataset_id,
                    version,
                    new.digest.as_str(),
                    to_i64(new.size, "size")?,
                    new.format.as_str(),
                    to_i64(new.rows, "rows")?,
                    new.schema.to_string(),
                    new.profile.to_string(),
                    new.description,
                    tags_json(&new.tags),
                    time_text(at),
                    by
                ],
            )
            .map_err(db_err)?;
            audit.set_after("version", version.into());
            audit.set_after("project", project.clone().into());
            append_audit(&tx, audit, at)?;
            tx.commit().map_err(db_err)?;
            Ok(Created::New(DatasetVersion {
                name: new.name,
                project,
                version: version as u32,
                digest: new.digest,
                size: new.size,
                format: new.format,
                rows: new.rows,
                schema: new.schema,
                profile: new.profile,
                description: new.description,
                tags: new.tags,
                created_at: at,
                created_by: by,
            }))
        })
        .await
    }

    async fn dataset_version(&self, name: &str, version: Option<u32>) -> Result<Option<DatasetVersion>> {
        let name = name.to_string();
        self.with_conn(move |conn| {
            let rows = dataset_rows(
                conn,
                "WHERE d.name = ?1 AND (?2 IS NULL OR v.version = ?2) ORDER BY v.version DESC LIMIT 1",
                &[&name as &dyn rusqlite::ToSql, &version],
            )?;
            Ok(rows.into_iter().next())
        })
        .await
    }

    async fn dataset_versions(&self, name: &str) -> Result<Vec<DatasetVersion>> {
        let name = name.to_string();
        self.with_conn(move |conn| {
            dataset_rows(conn, "WHERE d.name = ?1 ORDER BY v.version", &[&name as &dyn rusqlite::ToSql])
        })
        .await
    }

    async fn list_datasets(&self, project: Option<&str>) -> Result<Vec<Entry>> {
        let project = project.map(str::to_string);
        self.with_conn(move |conn| entries(conn, "dataset", project.as_deref())).await
    }

    async fn create_model_version(
        &self,
        new: NewModelVersion,
        mut audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<ModelVersion> {
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
            let by = audit.actor().to_string();
            let training = new.training_data.as_ref().map(|r| resolve_dataset(&tx, "training_data", r)).transpose()?;
            let validation =
                new.validation_data.as_ref().map(|r| resolve_dataset(&tx, "validation_data", r)).transpose()?;
            let (model_id, project) = owner_id(&tx, "models", "model", &new.name, &new.project, &by, at)?;
            let version = next_version(&tx, "model_versions", "model_id", model_id)?;
            tx.execute(
                "INSERT INTO model_versions (model_id, version, digest, size, framework, training_version_id,
                 validation_version_id, code_repo, code_commit, params_json, metrics_json, description, tags_json,
                 author, created_at, signature_json, endpoint_url, endpoint_protocol)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
                params![
                    model_id,
                    version,
                    new.digest.as_str(),
                    to_i64(new.size, "size")?,
                    new.framework.as_str(),
                    training.as_ref().map(|t| t.0),
                    validation.as_ref().map(|v| v.0),
                    new.code.as_ref().map(|c| c.repo.clone()),
                    new.code.as_ref().map(|c| c.commit.clone()),
                    new.params.to_string(),
                    new.metrics.to_string(),
                    new.description,
                    tags_json(&new.tags),
                    by,
                    time_text(at),
                    new.signature.as_ref().map(|s| s.to_json().to_string()),
                    new.endpoint.as_ref().map(|e| e.url.clone()),
                    new.endpoint.as_ref().map(|e| e.protocol.as_str())
                ],
            )
            .map_err(db_err)?;
            let (training_data, validation_data) = (training.map(|t| t.1), validation.map(|v| v.1));
            audit.set_after("version", version.into());
            audit.set_after("project", project.clone().into());
            audit.set_after("training_data", training_data.as_ref().map(|t| t.to_string()).into());
            audit.set_after("validation_data", validation_data.as_ref().map(|t| t.to_string()).into());
            append_audit(&tx, audit, at)?;
            tx.commit().map_err(db_err)?;
            Ok(ModelVersion {
                name: new.name,
                project,
                version: version as u32,
                digest: new.digest,
                size: new.size,
                framework: new.framework,
                training_data,
                validation_data,
                code: new.code,
                params: new.params,
                metrics: new.metrics,
                description: new.description,
                tags: new.tags,
                signature: new.signature,
                endpoint: new.endpoint,
                author: by,
                created_at: at,
            })
        })
        .await
    }

    async fn model_version(&self, name: &str, version: Option<u32>) -> Result<Option<ModelVersion>> {
        let name = name.to_string();
        self.with_conn(move |conn| {
            let rows = model_rows(
                conn,
                "WHERE m.name = ?1 AND (?2 IS NULL OR v.version = ?2) ORDER BY v.version DESC LIMIT 1",
                &[&name as &dyn rusqlite::ToSql, &version],
            )?;
            Ok(rows.into_iter().next())
        })
        .await
    }

    async fn model_versions(&self, name: &str) -> Result<Vec<ModelVersion>> {
        let name = name.to_string();
        self.with_conn(move |conn| {
            model_rows(conn, "WHERE m.name = ?1 ORDER BY v.version", &[&name as &dyn rusqlite::ToSql])
        })
        .await
    }

    async fn list_models(&self, project: Option<&str>) -> Result<Vec<Entry>> {
        let project = project.map(str::to_string);
        self.with_conn(move |conn| entries(conn, "model", project.as_deref())).await
    }

    async fn models_using_dataset(&self, name: &str, version: u32) -> Result<Vec<ModelVersion>> {
        let name = name.to_string();
        self.with_conn(move |conn| {
            model_rows(
                conn,
                "WHERE (td.name = ?1 AND tv.version = ?2) OR (vd.name = ?1 AND vv.version = ?2) ORDER BY m.name, v.version",
                &[&name as &dyn rusqlite::ToSql, &version],
            )
        })
        .await
    }

    async fn digest_referenced(&self, digest: &str) -> Result<bool> {
        let digest = digest.to_string();
        self.with_conn(move |conn| {
            conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM dataset_versions WHERE digest = ?1) \
                 OR EXISTS (SELECT 1 FROM model_versions WHERE digest = ?1) \
                 OR EXISTS (SELECT 1 FROM evidence WHERE digest = ?1) \
                 OR EXISTS (SELECT 1 FROM attestations WHERE evidence_digest = ?1) \
                 OR EXISTS (SELECT 1 FROM monitoring_segments WHERE digest = ?1)",
                [&digest],
                |r| r.get(0),
            )
            .map_err(db_err)
        })
        .await
    }

    async fn referenced_digests(&self) -> Result<std::collections::HashSet<String>> {
        self.with_conn(|conn| {
            let mut stmt = conn
                .prepare("SELECT digest FROM dataset_versions UNION SELECT digest FROM model_versions \
                 UNION SELECT digest FROM evidence UNION SELECT evidence_digest FROM attestations WHERE evidence_digest IS NOT NULL \
                 UNION SELECT digest FROM monitoring_segments")
                .map_err(db_err)?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(db_err)?;
            rows.collect::<Result<_, _>>().map_err(db_err)
        })
        .await
    }

    async fn add_tags(
        &self,
        kind: Kind,
        name: &str,
        version: u32,
        tags: Tags,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Tags> {
        let name = name.to_string();
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
            let (versions, owners, fk) = tables(kind);
            let row: Option<(i64, String)> = tx
                .query_row(
                    &format!("SELECT v.id, v.tags_json FROM {versions} v JOIN {owners} o ON o.id = v.{fk} WHERE o.name = ?1 AND v.version = ?2"),
                    params![name, version],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(db_err)?;
            let (id, current) = row.ok_or_else(|| not_found(kind, &name, version))?;
            let all = merged_tags(&current, &tags)?;
            tx.execute(&format!("UPDATE {versions} SET tags_json = ?1 WHERE id = ?2"), params![tags_json(&all), id]).map_err(db_err)?;
            append_audit(&tx, audit, at)?;
            tx.commit().map_err(db_err)?;
            Ok(all)
        })
        .await
    }

    async fn add_note(
        &self,
        kind: Kind,
        name: &str,
        version: u32,
        text: String,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Note> {
        let name = name.to_string();
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
            let (versions, owners, fk) = tables(kind);
            let exists: bool = tx
                .query_row(
                    &format!("SELECT EXISTS (SELECT 1 FROM {versions} v JOIN {owners} o ON o.id = v.{fk} WHERE o.name = ?1 AND v.version = ?2)"),
                    params![name, version],
                    |r| r.get(0),
                )
                .map_err(db_err)?;
            if !exists {
                return Err(not_found(kind, &name, version));
            }
            let by = audit.actor().to_string();
            tx.execute(
                "INSERT INTO version_notes (kind, name, version, text, created_at, created_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![kind.as_str(), name, version, text, time_text(at), by],
            )
            .map_err(db_err)?;
            append_audit(&tx, audit, at)?;
            tx.commit().map_err(db_err)?;
            Ok(Note { text, created_at: at, created_by: by })
        })
        .await
    }

    async fn notes(&self, kind: Kind, name: &str, version: u32) -> Result<Vec<Note>> {
        let name = name.to_string();
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT text, created_at, created_by FROM version_notes WHERE kind = ?1 AND name = ?2 AND version = ?3 ORDER BY id")
                .map_err(db_err)?;
            let rows = stmt
                .query_map(params![kind.as_str(), name, version], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
                })
                .map_err(db_err)?;
            let mut out = Vec::new();
            for row in rows {
                let (text, at, by) = row.map_err(db_err)?;
                out.push(Note { text, created_at: parse_time(&at)?, created_by: by });
            }
            Ok(out)
        })
        .await
    }
}
