//! The PostgreSQL store, for several stateless replicas sharing one database.
//!
//! Writes that touch the audit chain take one transaction-scoped advisory lock, so the
//! chain stays linear across replicas; reads need no lock.
//!
//! Each capability's SQL and its implementation of that capability's store trait live in a
//! submodule (`registry`, `audit`, `identities`, `governance`, `risk`, `compliance`,
//! `monitoring`, `alerting`); this file opens the database, migrates it, and keeps projects,
//! the first start and the helpers they share.

use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod, Transaction};
use riskops_core::audit::AuditRecord;
use riskops_core::project::{NewProject, Project};
use riskops_core::store::{Bootstrap, ProjectStore, StoreKind};
use riskops_core::{Error, ErrorKind, Result};
use time::OffsetDateTime;
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::FromSql;

use crate::rows::{PROJECT_COLUMNS, ProjectRow};

mod alerting;
mod audit;
mod compliance;
mod governance;
mod identities;
mod ingest_rows;
mod monitoring;
mod registry;
mod risk;

use self::audit::append_audit;

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
    (15, "produced_evidence", include_str!("../migrations/postgres/0015_produced_evidence.sql")),
    (16, "model_endpoint", include_str!("../migrations/postgres/0016_model_endpoint.sql")),
    (17, "monitoring_series", include_str!("../migrations/postgres/0017_monitoring_series.sql")),
    (19, "exact_drift", include_str!("../migrations/postgres/0019_exact_drift.sql")),
    (20, "window_estimates", include_str!("../migrations/postgres/0020_window_estimates.sql")),
    (21, "window_state_lz4", include_str!("../migrations/postgres/0021_window_state_lz4.sql")),
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
        let (url, tls) = crate::pg_tls::split_url(url)?;
        let config: tokio_postgres::Config =
            url.parse().map_err(|e| Error::invalid("database-url", format!("not a valid PostgreSQL URL: {e}")))?;
        let database = config.get_dbname().or(config.get_user()).unwrap_or("postgres").to_string();
        let recycling = ManagerConfig { recycling_method: RecyclingMethod::Fast };
        let manager = match tls {
            crate::pg_tls::Mode::Plain => Manager::from_config(config, NoTls, recycling),
            mode => Manager::from_config(config, crate::pg_tls::connector(&mode)?, recycling),
        };
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

/// Reads a column without panicking: `Row::get` panics when a column's type is not the one
/// asked for (a schema the code does not expect); here that is an internal error naming the
/// column.
trait RowExt {
    fn col<'a, T: FromSql<'a>>(&'a self, idx: usize) -> Result<T>;
}

impl RowExt for tokio_postgres::Row {
    fn col<'a, T: FromSql<'a>>(&'a self, idx: usize) -> Result<T> {
        self.try_get(idx).map_err(|e| {
            let name = self.columns().get(idx).map_or("?", |c| c.name());
            Error::internal(format!("PostgreSQL: cannot read column {name}: {e}"))
        })
    }
}

/// Decodes a row selected with [`PROJECT_COLUMNS`].
fn project(r: &tokio_postgres::Row) -> Result<Project> {
    ProjectRow {
        id: r.col(0)?,
        name: r.col(1)?,
        description: r.col(2)?,
        created_at: r.col::<OffsetDateTime>(3)?,
        created_by: r.col(4)?,
        tier: r.col(5)?,
        context_json: r.col(6)?,
    }
    .into_domain()
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
            id: row.col(0)?,
            name: p.name.clone(),
            description: p.description.clone(),
            created_at: at,
            created_by: by.to_string(),
            tier_override: None,
            context: None,
        }),
    }
}

#[async_trait]
impl ProjectStore for PostgresStore {
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
}
