//! The PostgreSQL store, for several stateless replicas sharing one database.
//!
//! Writes that touch the audit chain take one transaction-scoped advisory lock, so the
//! chain stays linear across replicas; reads need no lock.

use crate::audit_row::{AUDIT_COLUMNS, json_column, parse_json_column};
use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod, Transaction};
use riskops_core::audit::{AuditEvent, AuditRecord, GENESIS_HASH, seal};
use riskops_core::auth::{IdentityKind, IdentityRecord, Role, RoleBinding};
use riskops_core::project::{NewProject, Project};
use riskops_core::store::{Bootstrap, Store, StoreKind};
use riskops_core::{Error, ErrorKind, Result};
use time::OffsetDateTime;
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

const MIGRATIONS: &[(i64, &str, &str)] = &[(1, "init", include_str!("../migrations/postgres/0001_init.sql"))];

/// Advisory lock keys (arbitrary constants, unique to riskops).
const MIGRATION_LOCK: i64 = 0x7269_736b_6f70_0001;
const AUDIT_CHAIN_LOCK: i64 = 0x7269_736b_6f70_0002;

const POOL_SIZE: usize = 16;

#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
}

impl PostgresStore {
    /// Connects to `url` and applies pending migrations. The URL is never logged: it may
    /// hold a password.
    pub async fn connect(url: &str) -> Result<Self> {
        let config: tokio_postgres::Config =
            url.parse().map_err(|e| Error::invalid("database-url", format!("not a valid PostgreSQL URL: {e}")))?;
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| Error::internal(format!("cannot build the PostgreSQL pool: {e}")))?;
        let store = PostgresStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(|e| Error::unavailable(format!("cannot reach PostgreSQL: {e}")))
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

fn db_err(e: tokio_postgres::Error) -> Error {
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        return Error::conflict(e.as_db_error().map(|d| d.message().to_string()).unwrap_or_else(|| e.to_string()));
    }
    if e.is_closed() {
        return Error::unavailable(format!("PostgreSQL connection closed: {e}"));
    }
    Error::internal(format!("PostgreSQL: {e}"))
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

const PROJECT_COLUMNS: &str = "id, name, description, created_at, created_by";

fn project(r: &tokio_postgres::Row) -> Project {
    Project { id: r.get(0), name: r.get(1), description: r.get(2), created_at: r.get(3), created_by: r.get(4) }
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
        }),
    }
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
        let id: i64 = tx
            .query_one(
                "INSERT INTO identities (name, kind, created_at) VALUES ($1, $2, $3) RETURNING id",
                &[&b.admin.name, &b.admin.kind.as_str(), &at],
            )
            .await
            .map_err(db_err)?
            .get(0);
        for binding in &b.admin.roles {
            tx.execute(
                "INSERT INTO role_bindings (identity_id, role, project) VALUES ($1, $2, $3)",
                &[&id, &binding.role.as_str(), &binding.project.clone().unwrap_or_default()],
            )
            .await
            .map_err(db_err)?;
        }
        tx.execute(
            "INSERT INTO api_tokens (identity_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            &[&id, &b.admin.token_hash, &at, &b.admin.token_expires_at],
        )
        .await
        .map_err(db_err)?;
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
        let mut roles = Vec::new();
        for r in client
            .query("SELECT role, project FROM role_bindings WHERE identity_id = $1 ORDER BY role, project", &[&id])
            .await
            .map_err(db_err)?
        {
            let project: String = r.get(1);
            roles.push(RoleBinding { role: Role::parse(r.get(0))?, project: (!project.is_empty()).then_some(project) });
        }
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
        Ok(rows.iter().map(project).collect())
    }

    async fn project(&self, name: &str) -> Result<Option<Project>> {
        let client = self.client().await?;
        let row = client
            .query_opt(&format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE name = $1"), &[&name])
            .await
            .map_err(db_err)?;
        Ok(row.as_ref().map(project))
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
}
