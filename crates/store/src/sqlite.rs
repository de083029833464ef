//! The embedded SQLite store: one file under the data directory.
//!
//! One connection behind a mutex, used from tokio's blocking pool: SQLite allows one
//! writer at a time anyway, and WAL with `synchronous=FULL` means a committed transaction
//! survives a crash of the process or the machine.
//!
//! Each capability's SQL and its implementation of that capability's store trait live in a
//! submodule (`registry`, `audit`, `identities`, `governance`, `risk`, `compliance`,
//! `monitoring`, `alerting`); this file opens the database, migrates it, and keeps projects,
//! the first start and the helpers they share.

use async_trait::async_trait;
use riskops_core::audit::AuditRecord;
use riskops_core::checkpoint::Checkpoint;
use riskops_core::project::{NewProject, Project};
use riskops_core::store::{Bootstrap, ProjectStore, StoreKind};
use riskops_core::{Error, ErrorKind, Result};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use std::path::Path;
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

mod alerting;
mod audit;
mod compliance;
mod governance;
mod identities;
mod monitoring;
mod registry;
mod risk;

use crate::rows::{PROJECT_COLUMNS, ProjectRow, parse_time};

pub use self::audit::verify_file;
use self::audit::{append_audit, checkpoint_rows};

/// The file name of the database inside the data directory.
pub const FILE_NAME: &str = "riskops.sqlite";

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../migrations/sqlite/0001_init.sql")),
    (2, "registry", include_str!("../migrations/sqlite/0002_registry.sql")),
    (3, "annotations", include_str!("../migrations/sqlite/0003_annotations.sql")),
    (4, "governance", include_str!("../migrations/sqlite/0004_governance.sql")),
    (5, "checkpoints", include_str!("../migrations/sqlite/0005_checkpoints.sql")),
    (6, "risk", include_str!("../migrations/sqlite/0006_risk.sql")),
    (7, "compliance", include_str!("../migrations/sqlite/0007_compliance.sql")),
    (8, "monitoring", include_str!("../migrations/sqlite/0008_monitoring.sql")),
    (9, "alerting", include_str!("../migrations/sqlite/0009_alerting.sql")),
    (10, "segments", include_str!("../migrations/sqlite/0010_segments.sql")),
    (11, "delivery_snapshots", include_str!("../migrations/sqlite/0011_delivery_snapshots.sql")),
    (12, "refused_records", include_str!("../migrations/sqlite/0012_refused_records.sql")),
    (13, "promotion_closed_reason", include_str!("../migrations/sqlite/0013_promotion_closed_reason.sql")),
    (14, "model_signature", include_str!("../migrations/sqlite/0014_model_signature.sql")),
    (15, "produced_evidence", include_str!("../migrations/sqlite/0015_produced_evidence.sql")),
    (16, "model_endpoint", include_str!("../migrations/sqlite/0016_model_endpoint.sql")),
    (17, "monitoring_series", include_str!("../migrations/sqlite/0017_monitoring_series.sql")),
    (19, "exact_drift", include_str!("../migrations/sqlite/0019_exact_drift.sql")),
    (20, "window_estimates", include_str!("../migrations/sqlite/0020_window_estimates.sql")),
];

#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        let path = path.to_path_buf();
        let conn = tokio::task::spawn_blocking(move || -> Result<Connection> {
            if let Some(parent) = path.parent() {
                crate::artifacts::private_dir(parent).map_err(|e| {
                    Error::unavailable(format!("cannot create the data directory {}: {e}", parent.display()))
                })?;
            }
            let created = !path.exists();
            let mut conn = Connection::open(&path)
                .map_err(|e| Error::unavailable(format!("cannot open SQLite database {}: {e}", path.display())))?;
            // It holds token and password hashes: readable by the server's user only. SQLite
            // gives its -wal and -shm files the same mode.
            #[cfg(unix)]
            if created {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(|e| {
                    Error::unavailable(format!("cannot restrict the permissions of {}: {e}", path.display()))
                })?;
            }
            // A 32 MiB page cache (SQLite's default is 2 MiB) keeps the upper levels of the
            // prediction-record index in memory when it holds tens of millions of ids, so
            // ingestion does not slow down as records accumulate.
            conn.execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                 PRAGMA cache_size = -32768;",
            )
            .map_err(db_err)?;
            migrate(&mut conn)?;
            Ok(conn)
        })
        .await
        .map_err(join_err)??;
        Ok(SqliteStore { conn: Arc::new(Mutex::new(conn)) })
    }

    /// Checkpoints in the order given (an ORDER BY/LIMIT clause); an unreadable one is an
    /// integrity error.
    async fn checkpoints_ordered(&self, order: &'static str) -> Result<Vec<Checkpoint>> {
        self.with_conn(move |conn| checkpoint_rows(conn, order)?.into_iter().map(|r| r.map_err(|(_, e)| e)).collect())
            .await
    }

    /// Runs `f` with the connection on the blocking pool.
    async fn with_conn<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().map_err(|_| Error::internal("the SQLite connection lock is poisoned"))?;
            f(&mut guard)
        })
        .await
        .map_err(join_err)?
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
    )
    .map_err(db_err)?;
    for (version, name, sql) in MIGRATIONS {
        let applied: bool = tx
            .query_row("SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)", [version], |r| r.get(0))
            .map_err(db_err)?;
        if applied {
            continue;
        }
        tracing::info!(version, name, "applying SQLite migration");
        tx.execute_batch(sql).map_err(|e| Error::internal(format!("migration {version} ({name}) failed: {e}")))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, datetime('now'))",
            params![version, name],
        )
        .map_err(db_err)?;
    }
    tx.commit().map_err(db_err)
}

/// Times are stored as RFC 3339 UTC text with a fixed number of digits, so that text order
/// is time order.
fn time_text(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

fn db_err(e: rusqlite::Error) -> Error {
    if let rusqlite::Error::SqliteFailure(f, msg) = &e
        && f.code == rusqlite::ErrorCode::ConstraintViolation
    {
        return Error::conflict(msg.clone().unwrap_or_else(|| "constraint violated".to_string()));
    }
    Error::internal(format!("SQLite: {e}"))
}

fn join_err(e: tokio::task::JoinError) -> Error {
    Error::internal(format!("a store task failed: {e}"))
}

/// Decodes a row selected with [`PROJECT_COLUMNS`].
fn project_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ProjectRow<String>> {
    Ok(ProjectRow {
        id: r.get(0)?,
        name: r.get(1)?,
        description: r.get(2)?,
        created_at: r.get(3)?,
        created_by: r.get(4)?,
        tier: r.get(5)?,
        context_json: r.get(6)?,
    })
}

fn project(row: ProjectRow<String>) -> Result<Project> {
    row.into_domain()
}

fn insert_project(tx: &Transaction<'_>, p: &NewProject, by: &str, at: OffsetDateTime) -> Result<Project> {
    let result = tx.execute(
        "INSERT INTO projects (name, description, created_at, created_by) VALUES (?1, ?2, ?3, ?4)",
        params![p.name, p.description, time_text(at), by],
    );
    match result.map_err(db_err) {
        Err(e) if e.kind == ErrorKind::Conflict => {
            Err(Error::conflict(format!("a project named {:?} already exists", p.name)))
        }
        Err(e) => Err(e),
        Ok(_) => Ok(Project {
            id: tx.last_insert_rowid(),
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
impl ProjectStore for SqliteStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Sqlite
    }

    async fn bootstrap(&self, b: Bootstrap, at: OffsetDateTime) -> Result<bool> {
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
            let any: bool =
                tx.query_row("SELECT EXISTS (SELECT 1 FROM identities)", [], |r| r.get(0)).map_err(db_err)?;
            if any {
                return Ok(false);
            }
            identities::insert_identity(&tx, &b.admin, "bootstrap", at)?;
            insert_project(&tx, &b.default_project, "system", at)?;
            for record in b.audit {
                append_audit(&tx, record, at)?;
            }
            tx.commit().map_err(db_err)?;
            Ok(true)
        })
        .await
    }

    async fn create_project(&self, p: NewProject, audit: AuditRecord, at: OffsetDateTime) -> Result<Project> {
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
            let by = audit.actor().to_string();
            let project = insert_project(&tx, &p, &by, at)?;
            append_audit(&tx, audit, at)?;
            tx.commit().map_err(db_err)?;
            Ok(project)
        })
        .await
    }

    async fn list_projects(&self) -> Result<Vec<Project>> {
        self.with_conn(|conn| {
            let mut stmt = conn
                .prepare_cached(&format!("SELECT {PROJECT_COLUMNS} FROM projects ORDER BY name"))
                .map_err(db_err)?;
            let rows = stmt.query_map([], project_from_row).map_err(db_err)?;
            rows.map(|r| project(r.map_err(db_err)?)).collect()
        })
        .await
    }

    async fn project(&self, name: &str) -> Result<Option<Project>> {
        let name = name.to_string();
        self.with_conn(move |conn| {
            conn.query_row(
                &format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE name = ?1"),
                [&name],
                project_from_row,
            )
            .optional()
            .map_err(db_err)?
            .map(project)
            .transpose()
        })
        .await
    }
}
