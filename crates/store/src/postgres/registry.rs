//! PostgreSQL: the registry (datasets, models, their versions, labels and notes).

use super::{PostgresStore, RowExt, append_audit, db_err};
use crate::registry_rows::{
    DATASET_SELECT, DatasetRow, MODEL_SELECT, ModelRow, merged_tags, not_found, other_project, tables, tags_json,
    to_i64,
};
use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Transaction};
use riskops_core::audit::AuditRecord;
use riskops_core::registry::{
    Created, DatasetVersion, Entry, Kind, ModelVersion, NewDatasetVersion, NewModelVersion, Note, Tags, VersionRef,
};
use riskops_core::store::RegistryStore;
use riskops_core::{Error, Result};
use time::OffsetDateTime;
use tokio_postgres::types::ToSql;

pub(super) fn dataset_row(r: &tokio_postgres::Row) -> Result<DatasetRow> {
    Ok(DatasetRow {
        name: r.col(0)?,
        project: r.col(1)?,
        version: i64::from(r.col::<i32>(2)?),
        digest: r.col(3)?,
        size: r.col(4)?,
        format: r.col(5)?,
        rows: r.col(6)?,
        schema_json: r.col(7)?,
        profile_json: r.col(8)?,
        description: r.col(9)?,
        tags_json: r.col(10)?,
        created_at: r.col(11)?,
        created_by: r.col(12)?,
    })
}

pub(super) async fn dataset_rows(
    client: &impl GenericClient,
    filter: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<DatasetVersion>> {
    let rows = client.query(&format!("{DATASET_SELECT} {filter}"), params).await.map_err(db_err)?;
    rows.iter().map(|r| dataset_row(r)?.into_domain()).collect()
}

pub(super) fn model_row(r: &tokio_postgres::Row) -> Result<ModelRow> {
    Ok(ModelRow {
        name: r.col(0)?,
        project: r.col(1)?,
        version: i64::from(r.col::<i32>(2)?),
        digest: r.col(3)?,
        size: r.col(4)?,
        framework: r.col(5)?,
        training: (r.col(6)?, r.col::<Option<i32>>(7)?.map(i64::from)),
        validation: (r.col(8)?, r.col::<Option<i32>>(9)?.map(i64::from)),
        code: (r.col(10)?, r.col(11)?),
        params_json: r.col(12)?,
        metrics_json: r.col(13)?,
        description: r.col(14)?,
        tags_json: r.col(15)?,
        author: r.col(16)?,
        created_at: r.col(17)?,
        signature_json: r.col(18)?,
        endpoint: (r.col(19)?, r.col(20)?),
    })
}

pub(super) async fn model_rows(
    client: &impl GenericClient,
    filter: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<ModelVersion>> {
    let rows = client.query(&format!("{MODEL_SELECT} {filter}"), params).await.map_err(db_err)?;
    rows.iter().map(|r| model_row(r)?.into_domain()).collect()
}

pub(super) fn version_param(version: Option<u32>) -> Result<Option<i32>> {
    version.map(|v| i32::try_from(v).map_err(|_| Error::invalid("version", "is too large"))).transpose()
}

/// The id of `name` in `table` (datasets or models), locked for this transaction so that
/// version numbers are assigned one at a time; created in the requested project (or
/// `default`) when new. A name in another project is a conflict.
pub(super) async fn owner_id(
    tx: &Transaction<'_>,
    table: &str,
    kind: &str,
    name: &str,
    wanted: &str,
    by: &str,
    at: OffsetDateTime,
) -> Result<(i64, String)> {
    let project_id: Option<i64> = tx
        .query_opt("SELECT id FROM projects WHERE name = $1", &[&wanted])
        .await
        .map_err(db_err)?
        .map(|r| r.col(0))
        .transpose()?;
    if let Some(project_id) = project_id {
        tx.execute(
            &format!(
                "INSERT INTO {table} (name, project_id, created_at, created_by) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING"
            ),
            &[&name, &project_id, &at, &by],
        )
        .await
        .map_err(db_err)?;
    }
    let row = tx
        .query_opt(
            &format!("SELECT t.id, p.name FROM {table} t JOIN projects p ON p.id = t.project_id WHERE t.name = $1 FOR UPDATE OF t"),
            &[&name],
        )
        .await
        .map_err(db_err)?;
    let Some(row) = row else {
        return Err(Error::not_found(format!("no project named {wanted:?}")));
    };
    let (id, owner): (i64, String) = (row.col(0)?, row.col(1)?);
    if wanted != owner {
        return Err(other_project(kind, name));
    }
    Ok((id, owner))
}

/// The next version number of a dataset or model, inside the writing transaction (the
/// owner's row is locked by `owner_id`).
pub(super) async fn next_version(tx: &Transaction<'_>, versions: &str, fk: &str, owner: i64) -> Result<i32> {
    let row = tx
        .query_one(&format!("SELECT COALESCE(MAX(version), 0) + 1 FROM {versions} WHERE {fk} = $1"), &[&owner])
        .await
        .map_err(db_err)?;
    row.col(0)
}

pub(super) async fn resolve_dataset(tx: &Transaction<'_>, field: &str, r: &VersionRef) -> Result<(i64, VersionRef)> {
    let version = version_param(r.version)?;
    let found = tx
        .query_opt(
            "SELECT v.id, v.version FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id
             WHERE d.name = $1 AND ($2::INTEGER IS NULL OR v.version = $2) ORDER BY v.version DESC LIMIT 1",
            &[&r.name, &version],
        )
        .await
        .map_err(db_err)?;
    let row = found.ok_or_else(|| Error::invalid(field, format!("no dataset version {r}")))?;
    Ok((row.col(0)?, VersionRef::exact(&r.name, row.col::<i32>(1)? as u32)))
}

pub(super) async fn entries(client: &impl GenericClient, kind: &str, project: Option<&str>) -> Result<Vec<Entry>> {
    let (table, versions, fk) = match kind {
        "dataset" => ("datasets", "dataset_versions", "dataset_id"),
        _ => ("models", "model_versions", "model_id"),
    };
    let sql = format!(
        "SELECT t.name, p.name, MAX(v.version), COUNT(v.id), MAX(v.created_at) FROM {table} t
         JOIN projects p ON p.id = t.project_id JOIN {versions} v ON v.{fk} = t.id
         WHERE ($1::TEXT IS NULL OR p.name = $1) GROUP BY t.name, p.name ORDER BY t.name"
    );
    let rows = client.query(&sql, &[&project]).await.map_err(db_err)?;
    rows.iter()
        .map(|r| {
            Ok(Entry {
                name: r.col(0)?,
                project: r.col(1)?,
                latest_version: r.col::<i32>(2)? as u32,
                versions: r.col::<i64>(3)? as u32,
                updated_at: r.col(4)?,
            })
        })
        .collect()
}

#[async_trait]
impl RegistryStore for PostgresStore {
    async fn create_dataset_version(
        &self,
        new: NewDatasetVersion,
        mut audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Created<DatasetVersion>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let by = audit.actor().to_string();
        let (dataset_id, project) = owner_id(&tx, "datasets", "dataset", &new.name, &new.project, &by, at).await?;
        let same = dataset_rows(&tx, "WHERE d.id = $1 AND v.digest = $2", &[&dataset_id, &new.digest.as_str()]).await?;
        if let Some(existing) = same.into_iter().next() {
            return Ok(Created::Existing(existing));
        }
        let version = next_version(&tx, "dataset_versions", "dataset_id", dataset_id).await?;
        tx.execute(
            "INSERT INTO dataset_versions (dataset_id, version, digest, size, format, rows, schema_json, profile_json,
             description, tags_json, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            &[
                &dataset_id,
                &version,
                &new.digest.as_str(),
                &to_i64(new.size, "size")?,
                &new.format.as_str(),
                &to_i64(new.rows, "rows")?,
                &new.schema.to_string(),
                &new.profile.to_string(),
                &new.description,
                &tags_json(&new.tags),
                &at,
                &by,
            ],
        )
        .await
        .map_err(db_err)?;
        audit.set_after("version", version.into());
        audit.set_after("project", project.clone().into());
        append_audit(&tx, audit, at).await?;
        tx.commit().await.map_err(db_err)?;
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
    }

    async fn dataset_version(&self, name: &str, version: Option<u32>) -> Result<Option<DatasetVersion>> {
        let client = self.client().await?;
        let version = version_param(version)?;
        let rows = dataset_rows(
            &client,
            "WHERE d.name = $1 AND ($2::INTEGER IS NULL OR v.version = $2) ORDER BY v.version DESC LIMIT 1",
            &[&name, &version],
        )
        .await?;
        Ok(rows.into_iter().next())
    }

    async fn dataset_versions(&self, name: &str) -> Result<Vec<DatasetVersion>> {
        let client = self.client().await?;
        dataset_rows(&client, "WHERE d.name = $1 ORDER BY v.version", &[&name]).await
    }

    async fn list_datasets(&self, project: Option<&str>) -> Result<Vec<Entry>> {
        let client = self.client().await?;
        entries(&client, "dataset", project).await
    }

    async fn create_model_version(
        &self,
        new: NewModelVersion,
        mut audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<ModelVersion> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let by = audit.actor().to_string();
        let training = match &new.training_data {
            Some(r) => Some(resolve_dataset(&tx, "training_data", r).await?),
            None => None,
        };
        let validation = match &new.validation_data {
            Some(r) => Some(resolve_dataset(&tx, "validation_data", r).await?),
            None => None,
        };
        let (model_id, project) = owner_id(&tx, "models", "model", &new.name, &new.project, &by, at).await?;
        let version = next_version(&tx, "model_versions", "model_id", model_id).await?;
        tx.execute(
            "INSERT INTO model_versions (model_id, version, digest, size, framework, training_version_id,
             validation_version_id, code_repo, code_commit, params_json, metrics_json, description, tags_json,
             author, created_at, signature_json, endpoint_url, endpoint_protocol)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
            &[
                &model_id,
                &version,
                &new.digest.as_str(),
                &to_i64(new.size, "size")?,
                &new.framework.as_str(),
                &training.as_ref().map(|t| t.0),
                &validation.as_ref().map(|v| v.0),
                &new.code.as_ref().map(|c| c.repo.clone()),
                &new.code.as_ref().map(|c| c.commit.clone()),
                &new.params.to_string(),
                &new.metrics.to_string(),
                &new.description,
                &tags_json(&new.tags),
                &by,
                &at,
                &new.signature.as_ref().map(|s| s.to_json().to_string()),
                &new.endpoint.as_ref().map(|e| e.url.clone()),
                &new.endpoint.as_ref().map(|e| e.protocol.as_str()),
            ],
        )
        .await
        .map_err(db_err)?;
        let (training_data, validation_data) = (training.map(|t| t.1), validation.map(|v| v.1));
        audit.set_after("version", version.into());
        audit.set_after("project", project.clone().into());
        audit.set_after("training_data", training_data.as_ref().map(|t| t.to_string()).into());
        audit.set_after("validation_data", validation_data.as_ref().map(|t| t.to_string()).into());
        append_audit(&tx, audit, at).await?;
        tx.commit().await.map_err(db_err)?;
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
    }

    async fn model_version(&self, name: &str, version: Option<u32>) -> Result<Option<ModelVersion>> {
        let client = self.client().await?;
        let version = version_param(version)?;
        let rows = model_rows(
            &client,
            "WHERE m.name = $1 AND ($2::INTEGER IS NULL OR v.version = $2) ORDER BY v.version DESC LIMIT 1",
            &[&name, &version],
        )
        .await?;
        Ok(rows.into_iter().next())
    }

    async fn model_versions(&self, name: &str) -> Result<Vec<ModelVersion>> {
        let client = self.client().await?;
        model_rows(&client, "WHERE m.name = $1 ORDER BY v.version", &[&name]).await
    }

    async fn list_models(&self, project: Option<&str>) -> Result<Vec<Entry>> {
        let client = self.client().await?;
        entries(&client, "model", project).await
    }

    async fn models_using_dataset(&self, name: &str, version: u32) -> Result<Vec<ModelVersion>> {
        let client = self.client().await?;
        let version = version_param(Some(version))?;
        model_rows(
            &client,
            "WHERE (td.name = $1 AND tv.version = $2) OR (vd.name = $1 AND vv.version = $2) ORDER BY m.name, v.version",
            &[&name, &version],
        )
        .await
    }

    async fn digest_referenced(&self, digest: &str) -> Result<bool> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM dataset_versions WHERE digest = $1) \
                 OR EXISTS (SELECT 1 FROM model_versions WHERE digest = $1) \
                 OR EXISTS (SELECT 1 FROM evidence WHERE digest = $1) \
                 OR EXISTS (SELECT 1 FROM attestations WHERE evidence_digest = $1) \
                 OR EXISTS (SELECT 1 FROM monitoring_segments WHERE digest = $1)",
                &[&digest],
            )
            .await
            .map_err(db_err)?;
        Ok(row.col(0)?)
    }

    async fn referenced_digests(&self) -> Result<std::collections::HashSet<String>> {
        let client = self.client().await?;
        let rows = client
            .query("SELECT digest FROM dataset_versions UNION SELECT digest FROM model_versions \
                 UNION SELECT digest FROM evidence UNION SELECT evidence_digest FROM attestations WHERE evidence_digest IS NOT NULL \
                 UNION SELECT digest FROM monitoring_segments", &[])
            .await
            .map_err(db_err)?;
        rows.iter().map(|r| r.col::<String>(0)).collect()
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
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let (versions, owners, fk) = tables(kind);
        let v = version_param(Some(version))?;
        let row = tx
            .query_opt(
                &format!("SELECT v.id, v.tags_json FROM {versions} v JOIN {owners} o ON o.id = v.{fk} WHERE o.name = $1 AND v.version = $2 FOR UPDATE OF v"),
                &[&name, &v],
            )
            .await
            .map_err(db_err)?
            .ok_or_else(|| not_found(kind, name, version))?;
        let (id, current): (i64, String) = (row.col(0)?, row.col(1)?);
        let all = merged_tags(&current, &tags)?;
        tx.execute(&format!("UPDATE {versions} SET tags_json = $1 WHERE id = $2"), &[&tags_json(&all), &id])
            .await
            .map_err(db_err)?;
        append_audit(&tx, audit, at).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(all)
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
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let (versions, owners, fk) = tables(kind);
        let v = version_param(Some(version))?;
        let exists = tx
            .query_opt(
                &format!(
                    "SELECT 1 FROM {versions} v JOIN {owners} o ON o.id = v.{fk} WHERE o.name = $1 AND v.version = $2"
                ),
                &[&name, &v],
            )
            .await
            .map_err(db_err)?
            .is_some();
        if !exists {
            return Err(not_found(kind, name, version));
        }
        let by = audit.actor().to_string();
        tx.execute(
            "INSERT INTO version_notes (kind, name, version, text, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&kind.as_str(), &name, &v, &text, &at, &by],
        )
        .await
        .map_err(db_err)?;
        append_audit(&tx, audit, at).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(Note { text, created_at: at, created_by: by })
    }

    async fn notes(&self, kind: Kind, name: &str, version: u32) -> Result<Vec<Note>> {
        let client = self.client().await?;
        let v = version_param(Some(version))?;
        let rows = client
            .query(
                "SELECT text, created_at, created_by FROM version_notes WHERE kind = $1 AND name = $2 AND version = $3 ORDER BY id",
                &[&kind.as_str(), &name, &v],
            )
            .await
            .map_err(db_err)?;
        rows.iter().map(|r| Ok(Note { text: r.col(0)?, created_at: r.col(1)?, created_by: r.col(2)? })).collect()
    }
}
