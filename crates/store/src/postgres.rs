//! The PostgreSQL store, for several stateless replicas sharing one database.
//!
//! Writes that touch the audit chain take one transaction-scoped advisory lock, so the
//! chain stays linear across replicas; reads need no lock.

use crate::audit_row::{AUDIT_COLUMNS, json_column, parse_json_column};
use crate::registry_rows::{
    DATASET_SELECT, DatasetRow, MODEL_SELECT, ModelRow, merged_tags, not_found, other_project, tables, tags_json,
    to_i64,
};
use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod, Transaction};
use riskops_core::audit::{AuditEvent, AuditRecord, GENESIS_HASH, seal};
use riskops_core::auth::{IdentityKind, IdentityRecord, IdentitySummary, NewToken, RoleBinding, TokenInfo};
use riskops_core::checkpoint::Checkpoint;
use riskops_core::context::ProjectContext;
use riskops_core::governance::{Decision, Tier};
use riskops_core::incident::{
    AttemptOutcome, Delivery, DueWindow, EvaluationWrite, Incident, IncidentFilter, IncidentState, MonitorResult,
    NewWebhook, Webhook,
};
use riskops_core::monitoring::{IngestWrite, Segment, StoredRecord, StoredWindow};
use riskops_core::project::DEFAULT_PROJECT;
use riskops_core::project::{NewProject, Project};
use riskops_core::promotion::{
    Deployment, Evidence, NewDeployment, NewEvidence, NewPromotion, Promotion, PromotionFilter, VersionedDocument,
};
use riskops_core::registry::{
    Created, DatasetVersion, Entry, Kind, ModelVersion, NewDatasetVersion, NewModelVersion, Note, Tags, VersionRef,
};
use riskops_core::risk::{RiskEntry, RiskFields};
use riskops_core::signing::{PublicKey, Signature};
use riskops_core::store::{Bootstrap, NewIdentity, Store, StoreKind};
use riskops_core::{Error, ErrorKind, Result};
use time::OffsetDateTime;
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

mod alerting;
mod compliance;
mod governance;
mod identities;
mod monitoring;
mod risk;

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../migrations/postgres/0001_init.sql")),
    (2, "registry", include_str!("../migrations/postgres/0002_registry.sql")),
    (3, "annotations", include_str!("../migrations/postgres/0003_annotations.sql")),
    (4, "governance", include_str!("../migrations/postgres/0004_governance.sql")),
    (5, "checkpoints", include_str!("../migrations/postgres/0005_checkpoints.sql")),
    (6, "risk", include_str!("../migrations/postgres/0006_risk.sql")),
    (7, "compliance", include_str!("../migrations/postgres/0007_compliance.sql")),
    (8, "monitoring", include_str!("../migrations/postgres/0008_monitoring.sql")),
    (9, "alerting", include_str!("../migrations/postgres/0009_alerting.sql")),
    (10, "segments", include_str!("../migrations/postgres/0010_segments.sql")),
    (11, "delivery_snapshots", include_str!("../migrations/postgres/0011_delivery_snapshots.sql")),
    (12, "refused_records", include_str!("../migrations/postgres/0012_refused_records.sql")),
    (13, "promotion_closed_reason", include_str!("../migrations/postgres/0013_promotion_closed_reason.sql")),
    (14, "model_signature", include_str!("../migrations/postgres/0014_model_signature.sql")),
];

/// The triggers that keep the audit trail append-only (migrations 0001 and 0005).
const AUDIT_GUARDS: [&str; 4] = [
    "audit_events_no_change",
    "audit_events_no_truncate",
    "audit_checkpoints_no_change",
    "audit_checkpoints_no_truncate",
];

/// Advisory lock keys (arbitrary constants, unique to riskops).
const MIGRATION_LOCK: i64 = 0x7269_736b_6f70_0001;
const AUDIT_CHAIN_LOCK: i64 = 0x7269_736b_6f70_0002;

const POOL_SIZE: usize = 16;

#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    /// The database the URL names, for error messages that say how to create it.
    database: String,
}

impl PostgresStore {
    /// Connects to `url` and applies pending migrations. The URL is never logged: it may
    /// hold a password.
    pub async fn connect(url: &str) -> Result<Self> {
        let config: tokio_postgres::Config =
            url.parse().map_err(|e| Error::invalid("database-url", format!("not a valid PostgreSQL URL: {e}")))?;
        let database = config.get_dbname().or(config.get_user()).unwrap_or("postgres").to_string();
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| Error::internal(format!("cannot build the PostgreSQL pool: {e}")))?;
        let store = PostgresStore { pool, database };
        store.migrate().await?;
        Ok(store)
    }

    async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(|e| {
            let why = match &e {
                deadpool_postgres::PoolError::Backend(e) => explain(e, &self.database),
                other => other.to_string(),
            };
            Error::unavailable(format!("cannot reach PostgreSQL: {why}"))
        })
    }

    async fn migrate(&self) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        // Replicas starting together wait here one after the other.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(db_err)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        )
        .await
        .map_err(db_err)?;
        for (version, name, sql) in MIGRATIONS {
            let applied = tx
                .query_opt("SELECT 1 FROM schema_migrations WHERE version = $1", &[version])
                .await
                .map_err(db_err)?
                .is_some();
            if applied {
                continue;
            }
            tracing::info!(version, name, "applying PostgreSQL migration");
            tx.batch_execute(sql)
                .await
                .map_err(|e| Error::internal(format!("migration {version} ({name}) failed: {e}")))?;
            tx.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", &[version, name])
                .await
                .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }
}

/// What went wrong, in PostgreSQL's own words (tokio-postgres's `Display` says only "db
/// error"), with what to do where riskops knows it.
fn explain(e: &tokio_postgres::Error, database: &str) -> String {
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        return if *code == SqlState::INVALID_CATALOG_NAME {
            format!("database \"{database}\" does not exist; create it with: createdb {database}")
        } else if *code == SqlState::INVALID_PASSWORD || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION {
            format!("{} (check the user and password in --database-url)", db.message())
        } else {
            format!("{} (SQLSTATE {})", db.message(), code.code())
        };
    }
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn db_err(e: tokio_postgres::Error) -> Error {
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        return Error::conflict(e.as_db_error().map(|d| d.message().to_string()).unwrap_or_else(|| e.to_string()));
    }
    if e.is_closed() {
        return Error::unavailable(format!("PostgreSQL connection closed: {e}"));
    }
    Error::internal(format!("PostgreSQL: {}", explain(&e, "")))
}

/// Appends `record` to the chain inside `tx`: the one place PostgreSQL writes audit events.
async fn append_audit(tx: &Transaction<'_>, record: AuditRecord, at: OffsetDateTime) -> Result<AuditEvent> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_CHAIN_LOCK]).await.map_err(db_err)?;
    let head = tx
        .query_opt("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1", &[])
        .await
        .map_err(db_err)?
        .map(|r| (r.get::<_, i64>(0), r.get::<_, String>(1)));
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

const CHECKPOINT_COLUMNS: &str = "seq, hash, key_id, signature, signed_at";

fn checkpoint(r: &tokio_postgres::Row) -> Result<Checkpoint> {
    Ok(Checkpoint {
        seq: r.get(0),
        hash: r.get(1),
        key_id: r.get(2),
        signature: Signature::from_hex(r.get(3))?,
        signed_at: r.get(4),
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

const PROJECT_COLUMNS: &str = "id, name, description, created_at, created_by, tier, context_json";

fn project(r: &tokio_postgres::Row) -> Result<Project> {
    let name: String = r.get(1);
    let tier: Option<&str> = r.get(5);
    let context: Option<&str> = r.get(6);
    let context = context
        .map(|c| {
            let json = serde_json::from_str(c).map_err(|e| Error::internal(format!("project {name}: context: {e}")))?;
            ProjectContext::from_json(&json)
        })
        .transpose()?;
    Ok(Project {
        id: r.get(0),
        name,
        description: r.get(2),
        created_at: r.get(3),
        created_by: r.get(4),
        tier_override: tier.map(|t| Tier::parse("tier", t)).transpose()?,
        context,
    })
}

async fn insert_project(tx: &Transaction<'_>, p: &NewProject, by: &str, at: OffsetDateTime) -> Result<Project> {
    let row = tx
        .query_one(
            "INSERT INTO projects (name, description, created_at, created_by) VALUES ($1, $2, $3, $4) RETURNING id",
            &[&p.name, &p.description, &at, &by],
        )
        .await
        .map_err(db_err);
    match row {
        Err(e) if e.kind == ErrorKind::Conflict => {
            Err(Error::conflict(format!("a project named {:?} already exists", p.name)))
        }
        Err(e) => Err(e),
        Ok(row) => Ok(Project {
            id: row.get(0),
            name: p.name.clone(),
            description: p.description.clone(),
            created_at: at,
            created_by: by.to_string(),
            tier_override: None,
            context: None,
        }),
    }
}

fn dataset_row(r: &tokio_postgres::Row) -> DatasetRow {
    DatasetRow {
        name: r.get(0),
        project: r.get(1),
        version: i64::from(r.get::<_, i32>(2)),
        digest: r.get(3),
        size: r.get(4),
        format: r.get(5),
        rows: r.get(6),
        schema_json: r.get(7),
        profile_json: r.get(8),
        description: r.get(9),
        tags_json: r.get(10),
        created_at: r.get(11),
        created_by: r.get(12),
    }
}

async fn dataset_rows(
    client: &impl GenericClient,
    filter: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<DatasetVersion>> {
    let rows = client.query(&format!("{DATASET_SELECT} {filter}"), params).await.map_err(db_err)?;
    rows.iter().map(|r| dataset_row(r).into_domain()).collect()
}

fn model_row(r: &tokio_postgres::Row) -> ModelRow {
    ModelRow {
        name: r.get(0),
        project: r.get(1),
        version: i64::from(r.get::<_, i32>(2)),
        digest: r.get(3),
        size: r.get(4),
        framework: r.get(5),
        training: (r.get(6), r.get::<_, Option<i32>>(7).map(i64::from)),
        validation: (r.get(8), r.get::<_, Option<i32>>(9).map(i64::from)),
        code: (r.get(10), r.get(11)),
        params_json: r.get(12),
        metrics_json: r.get(13),
        description: r.get(14),
        tags_json: r.get(15),
        author: r.get(16),
        signature_json: r.get(18),
        created_at: r.get(17),
    }
}

async fn model_rows(
    client: &impl GenericClient,
    filter: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<ModelVersion>> {
    let rows = client.query(&format!("{MODEL_SELECT} {filter}"), params).await.map_err(db_err)?;
    rows.iter().map(|r| model_row(r).into_domain()).collect()
}

fn version_param(version: Option<u32>) -> Result<Option<i32>> {
    version.map(|v| i32::try_from(v).map_err(|_| Error::invalid("version", "is too large"))).transpose()
}

/// The id of `name` in `table` (datasets or models), locked for this transaction so that
/// version numbers are assigned one at a time; created in the requested project (or
/// `default`) when new. A name in another project is a conflict.
async fn owner_id(
    tx: &Transaction<'_>,
    table: &str,
    kind: &str,
    name: &str,
    project: Option<&str>,
    by: &str,
    at: OffsetDateTime,
) -> Result<(i64, String)> {
    let wanted = project.unwrap_or(DEFAULT_PROJECT);
    let project_id: Option<i64> =
        tx.query_opt("SELECT id FROM projects WHERE name = $1", &[&wanted]).await.map_err(db_err)?.map(|r| r.get(0));
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
    let (id, owner): (i64, String) = (row.get(0), row.get(1));
    if let Some(p) = project
        && p != owner
    {
        return Err(other_project(kind, name));
    }
    Ok((id, owner))
}

/// The next version number of a dataset or model, inside the writing transaction (the
/// owner's row is locked by `owner_id`).
async fn next_version(tx: &Transaction<'_>, versions: &str, fk: &str, owner: i64) -> Result<i32> {
    let row = tx
        .query_one(&format!("SELECT COALESCE(MAX(version), 0) + 1 FROM {versions} WHERE {fk} = $1"), &[&owner])
        .await
        .map_err(db_err)?;
    Ok(row.get(0))
}

async fn resolve_dataset(tx: &Transaction<'_>, field: &str, r: &VersionRef) -> Result<(i64, VersionRef)> {
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
    Ok((row.get(0), VersionRef::exact(&r.name, row.get::<_, i32>(1) as u32)))
}

async fn entries(client: &impl GenericClient, kind: &str, project: Option<&str>) -> Result<Vec<Entry>> {
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
    Ok(rows
        .iter()
        .map(|r| Entry {
            name: r.get(0),
            project: r.get(1),
            latest_version: r.get::<_, i32>(2) as u32,
            versions: r.get::<_, i64>(3) as u32,
            updated_at: r.get(4),
        })
        .collect())
}

#[async_trait]
impl Store for PostgresStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Postgres
    }

    async fn bootstrap(&self, b: Bootstrap, at: OffsetDateTime) -> Result<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        // The chain lock also serialises two replicas bootstrapping at once.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_CHAIN_LOCK]).await.map_err(db_err)?;
        if tx.query_opt("SELECT 1 FROM identities LIMIT 1", &[]).await.map_err(db_err)?.is_some() {
            return Ok(false);
        }
        identities::insert_identity(&tx, &b.admin, "bootstrap", at).await?;
        insert_project(&tx, &b.default_project, "system", at).await?;
        for record in b.audit {
            append_audit(&tx, record, at).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

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
        let id: i64 = row.get(0);
        let kind: String = row.get(2);
        let roles = identities::roles_of(&client, id).await?;
        Ok(Some(IdentityRecord { id, name: row.get(1), kind: IdentityKind::parse(&kind)?, roles }))
    }

    async fn create_project(&self, p: NewProject, audit: AuditRecord, at: OffsetDateTime) -> Result<Project> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let by = audit.actor().to_string();
        let project = insert_project(&tx, &p, &by, at).await?;
        append_audit(&tx, audit, at).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(project)
    }

    async fn list_projects(&self) -> Result<Vec<Project>> {
        let client = self.client().await?;
        let rows = client
            .query(&format!("SELECT {PROJECT_COLUMNS} FROM projects ORDER BY name"), &[])
            .await
            .map_err(db_err)?;
        rows.iter().map(project).collect()
    }

    async fn project(&self, name: &str) -> Result<Option<Project>> {
        let client = self.client().await?;
        let row = client
            .query_opt(&format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE name = $1"), &[&name])
            .await
            .map_err(db_err)?;
        row.as_ref().map(project).transpose()
    }

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
                let seq: i64 = r.get(0);
                Ok(AuditEvent {
                    seq,
                    time: r.get(1),
                    actor: r.get(2),
                    action: r.get(3),
                    target: r.get(4),
                    before: parse_json_column(seq, "before", r.get(5))?,
                    after: parse_json_column(seq, "after", r.get(6))?,
                    request_id: r.get(7),
                    prev_hash: r.get(8),
                    hash: r.get(9),
                })
            })
            .collect()
    }

    async fn create_dataset_version(
        &self,
        new: NewDatasetVersion,
        mut audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Created<DatasetVersion>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let by = audit.actor().to_string();
        let (dataset_id, project) =
            owner_id(&tx, "datasets", "dataset", &new.name, new.project.as_deref(), &by, at).await?;
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
        let (model_id, project) = owner_id(&tx, "models", "model", &new.name, new.project.as_deref(), &by, at).await?;
        let version = next_version(&tx, "model_versions", "model_id", model_id).await?;
        tx.execute(
            "INSERT INTO model_versions (model_id, version, digest, size, framework, training_version_id,
             validation_version_id, code_repo, code_commit, params_json, metrics_json, description, tags_json,
             author, created_at, signature_json)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
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
        Ok(row.get(0))
    }

    async fn referenced_digests(&self) -> Result<std::collections::HashSet<String>> {
        let client = self.client().await?;
        let rows = client
            .query("SELECT digest FROM dataset_versions UNION SELECT digest FROM model_versions \
                 UNION SELECT digest FROM evidence UNION SELECT evidence_digest FROM attestations WHERE evidence_digest IS NOT NULL \
                 UNION SELECT digest FROM monitoring_segments", &[])
            .await
            .map_err(db_err)?;
        rows.iter().map(|r| r.try_get::<_, String>(0).map_err(db_err)).collect()
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
        let (id, current): (i64, String) = (row.get(0), row.get(1));
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
        Ok(rows.iter().map(|r| Note { text: r.get(0), created_at: r.get(1), created_by: r.get(2) }).collect())
    }

    async fn create_identity(&self, new: NewIdentity, audit: AuditRecord, at: OffsetDateTime) -> Result<TokenInfo> {
        identities::create_identity(&mut self.client().await?, new, audit, at).await
    }

    async fn identities(&self) -> Result<Vec<IdentitySummary>> {
        identities::identities(&self.client().await?).await
    }

    async fn identity(&self, name: &str) -> Result<Option<IdentityRecord>> {
        identities::identity(&self.client().await?, name).await
    }

    async fn identity_for_login(&self, name: &str) -> Result<Option<(IdentityRecord, Option<String>)>> {
        identities::identity_for_login(&self.client().await?, name).await
    }

    async fn set_role(
        &self,
        identity: &str,
        binding: RoleBinding,
        grant: bool,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<IdentityRecord> {
        identities::set_role(&mut self.client().await?, identity, binding, grant, audit, at).await
    }

    async fn create_token(&self, new: NewToken, audit: AuditRecord, at: OffsetDateTime) -> Result<TokenInfo> {
        identities::create_token(&mut self.client().await?, new, audit, at).await
    }

    async fn tokens(&self, identity: Option<&str>) -> Result<Vec<TokenInfo>> {
        identities::tokens(&self.client().await?, identity).await
    }

    async fn token(&self, id: i64) -> Result<Option<TokenInfo>> {
        identities::token(&self.client().await?, id).await
    }

    async fn revoke_token(&self, id: i64, audit: AuditRecord, at: OffsetDateTime) -> Result<TokenInfo> {
        identities::revoke_token(&mut self.client().await?, id, audit, at).await
    }

    async fn record_event(&self, audit: AuditRecord, at: OffsetDateTime) -> Result<()> {
        identities::record_event(&mut self.client().await?, audit, at).await
    }

    async fn set_project_tier(
        &self,
        project: &str,
        tier: Option<Tier>,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Project> {
        governance::set_project_tier(&mut self.client().await?, project, tier, audit, at).await
    }

    async fn add_evidence(&self, new: NewEvidence, audit: AuditRecord, at: OffsetDateTime) -> Result<Evidence> {
        governance::add_evidence(&mut self.client().await?, new, audit, at).await
    }

    async fn evidence(&self, model: &str, version: u32) -> Result<Vec<Evidence>> {
        governance::evidence(&self.client().await?, model, version).await
    }

    async fn create_promotion(&self, new: NewPromotion, audit: AuditRecord, at: OffsetDateTime) -> Result<Promotion> {
        governance::create_promotion(&mut self.client().await?, new, audit, at).await
    }

    async fn promotion(&self, id: i64) -> Result<Option<Promotion>> {
        governance::promotion(&self.client().await?, id).await
    }

    async fn promotions(&self, filter: &PromotionFilter) -> Result<Vec<Promotion>> {
        governance::promotions(&self.client().await?, filter).await
    }

    async fn add_decision(
        &self,
        id: i64,
        decision: Decision,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Promotion> {
        governance::add_decision(&mut self.client().await?, id, decision, audit, at).await
    }

    async fn close_promotion(
        &self,
        id: i64,
        deployment: Option<NewDeployment>,
        reason: Option<String>,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Promotion> {
        governance::close_promotion(&mut self.client().await?, id, deployment, reason, audit, at).await
    }

    async fn deploy(&self, new: NewDeployment, audit: AuditRecord, at: OffsetDateTime) -> Result<Deployment> {
        governance::deploy(&mut self.client().await?, new, audit, at).await
    }

    async fn deployments(&self, model: &str) -> Result<Vec<Deployment>> {
        governance::deployments(&self.client().await?, model).await
    }

    async fn audit_head(&self) -> Result<Option<(i64, String)>> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1", &[])
            .await
            .map_err(db_err)?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
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
        rows.iter().map(|r| PublicKey::from_hex(r.get(0))).collect()
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
            .get::<_, bool>(0);
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

    async fn set_project_context(
        &self,
        project: &str,
        context: Option<serde_json::Value>,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Project> {
        risk::set_project_context(&mut self.client().await?, project, context, audit, at).await
    }

    async fn document(&self, kind: &str) -> Result<Option<VersionedDocument>> {
        risk::document(&self.client().await?, kind).await
    }

    async fn set_document(
        &self,
        kind: &str,
        document: serde_json::Value,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<VersionedDocument> {
        risk::set_document(&mut self.client().await?, kind, document, audit, at).await
    }

    async fn add_risk_entries(
        &self,
        project: &str,
        entries: Vec<RiskFields>,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Vec<RiskEntry>> {
        risk::add_risk_entries(&mut self.client().await?, project, entries, audit, at).await
    }

    async fn update_risk_entry(
        &self,
        id: i64,
        fields: RiskFields,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<RiskEntry> {
        risk::update_risk_entry(&mut self.client().await?, id, fields, audit, at).await
    }

    async fn risk_entries(&self, project: &str) -> Result<Vec<RiskEntry>> {
        risk::risk_entries(&self.client().await?, project).await
    }

    async fn risk_entry(&self, id: i64) -> Result<Option<RiskEntry>> {
        risk::risk_entry(&self.client().await?, id).await
    }

    async fn add_attestation(
        &self,
        new: riskops_core::compliance::NewAttestation,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<riskops_core::compliance::Attestation> {
        compliance::add_attestation(&mut self.client().await?, new, audit, at).await
    }

    async fn attestations(&self, project: &str) -> Result<Vec<riskops_core::compliance::Attestation>> {
        compliance::attestations(&self.client().await?, project).await
    }

    async fn windows(&self, model: &str, version: Option<u32>, from: i64, to: i64) -> Result<Vec<StoredWindow>> {
        monitoring::windows(&self.client().await?, model, version, from, to).await
    }

    async fn latest_window(&self, model: &str, version: u32) -> Result<Option<(i64, i64, u64)>> {
        monitoring::latest_window(&self.client().await?, model, version).await
    }

    async fn first_window_start(&self, model: &str, version: u32) -> Result<Option<i64>> {
        monitoring::first_window_start(&self.client().await?, model, version).await
    }

    async fn known_records(&self, model: &str, ids: &[String]) -> Result<Vec<String>> {
        monitoring::known_records(&self.client().await?, model, ids).await
    }

    async fn known_refused(&self, model: &str, ids: &[String]) -> Result<Vec<String>> {
        monitoring::known_refused(&self.client().await?, model, ids).await
    }

    async fn records(&self, model: &str, ids: &[String]) -> Result<Vec<StoredRecord>> {
        monitoring::records(&self.client().await?, model, ids).await
    }

    async fn commit_ingest(&self, write: IngestWrite, audit: AuditRecord, at: OffsetDateTime) -> Result<()> {
        monitoring::commit_ingest(&mut self.client().await?, write, audit, at).await
    }

    async fn segments(&self, model: &str) -> Result<Vec<Segment>> {
        monitoring::segments(&self.client().await?, model).await
    }

    async fn expired_segments(&self, now: i64, limit: usize) -> Result<Vec<Segment>> {
        monitoring::expired_segments(&self.client().await?, now, limit).await
    }

    async fn drop_segment(
        &self,
        model: &str,
        digest: &riskops_core::artifact::Digest,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<bool> {
        monitoring::drop_segment(&mut self.client().await?, model, digest, audit, at).await
    }

    async fn due_windows(&self, now: i64, quiet_since: i64, limit: usize) -> Result<Vec<DueWindow>> {
        alerting::due_windows(&self.client().await?, now, quiet_since, limit).await
    }

    async fn monitor_results(&self, model: &str, version: u32, monitor_id: &str) -> Result<Vec<MonitorResult>> {
        alerting::monitor_results(&self.client().await?, model, version, monitor_id).await
    }

    async fn commit_evaluation(
        &self,
        write: EvaluationWrite,
        audits: Vec<AuditRecord>,
        at: OffsetDateTime,
    ) -> Result<Vec<i64>> {
        alerting::commit_evaluation(&mut self.client().await?, write, audits, at).await
    }

    async fn incidents(&self, filter: &IncidentFilter) -> Result<Vec<Incident>> {
        alerting::incidents(&self.client().await?, filter).await
    }

    async fn incident(&self, id: i64) -> Result<Option<Incident>> {
        alerting::incident_by_id(&self.client().await?, id).await
    }

    async fn set_incident_state(
        &self,
        id: i64,
        state: IncidentState,
        note: &str,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Incident> {
        alerting::set_incident_state(&mut self.client().await?, id, state, note, audit, at).await
    }

    async fn set_incident_risks(&self, id: i64, risks: &[i64], audit: AuditRecord, at: OffsetDateTime) -> Result<()> {
        alerting::set_incident_risks(&mut self.client().await?, id, risks, audit, at).await
    }

    async fn incidents_owing_risk_changes(&self, limit: usize) -> Result<Vec<Incident>> {
        alerting::incidents_owing_risk_changes(&self.client().await?, limit).await
    }

    async fn claim_delivery(&self, id: i64, expected_next: i64, lease_until: i64) -> Result<bool> {
        alerting::claim_delivery(&self.client().await?, id, expected_next, lease_until).await
    }

    async fn add_webhook(&self, new: NewWebhook, audit: AuditRecord, at: OffsetDateTime) -> Result<Webhook> {
        alerting::add_webhook(&mut self.client().await?, new, audit, at).await
    }

    async fn webhooks(&self, project: &str) -> Result<Vec<Webhook>> {
        alerting::webhooks(&self.client().await?, project).await
    }

    async fn webhook(&self, id: i64) -> Result<Option<Webhook>> {
        alerting::webhook_by_id(&self.client().await?, id).await
    }

    async fn remove_webhook(&self, id: i64, audit: AuditRecord, at: OffsetDateTime) -> Result<()> {
        alerting::remove_webhook(&mut self.client().await?, id, audit, at).await
    }

    async fn due_deliveries(&self, now: i64, limit: usize) -> Result<Vec<Delivery>> {
        alerting::due_deliveries(&self.client().await?, now, limit).await
    }

    async fn record_attempt(&self, id: i64, outcome: &AttemptOutcome, at: OffsetDateTime) -> Result<()> {
        alerting::record_attempt(&self.client().await?, id, outcome, at).await
    }

    async fn deliveries(&self, project: &str, webhook: Option<i64>, limit: usize) -> Result<Vec<Delivery>> {
        alerting::deliveries(&self.client().await?, project, webhook, limit).await
    }
}
