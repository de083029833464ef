//! The embedded SQLite store: one file under the data directory.
//!
//! One connection behind a mutex, used from tokio's blocking pool: SQLite allows one
//! writer at a time anyway, and WAL with `synchronous=FULL` means a committed transaction
//! survives a crash of the process or the machine.

use crate::audit_row::{AUDIT_COLUMNS, json_column, parse_json_column};
use crate::registry_rows::{
    DATASET_SELECT, DatasetRow, MODEL_SELECT, ModelRow, merged_tags, not_found, other_project, tables, tags_json,
    to_i64,
};
use async_trait::async_trait;
use riskops_core::audit::{AuditEvent, AuditRecord, GENESIS_HASH, seal};
use riskops_core::auth::{IdentityKind, IdentityRecord, IdentitySummary, NewToken, RoleBinding, TokenInfo};
use riskops_core::checkpoint::{Checkpoint, TrailVerifier};
use riskops_core::context::ProjectContext;
use riskops_core::governance::Decision;
use riskops_core::governance::Tier;
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
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use std::path::Path;
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

mod alerting;
mod compliance;
mod governance;
mod identities;
mod monitoring;
mod risk;

/// The triggers that keep the audit trail append-only (migrations 0001 and 0005).
const AUDIT_GUARDS: [&str; 4] =
    ["audit_events_no_update", "audit_events_no_delete", "audit_checkpoints_no_update", "audit_checkpoints_no_delete"];

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

/// Verifies the audit trail of a SQLite file (a data directory's `riskops.sqlite`, or a copy
/// of it) without a server and without writing to it: the file is opened read-only and no
/// migration runs. The chain is checked, then its signed checkpoints (see
/// [`TrailVerifier`]); `pinned` is the only key trusted when given. A file from before
/// checkpoints existed has none, which is not an error.
/// `kept` are checkpoints (and their keys) the verifier kept outside the data directory
/// (`riskops audit checkpoint`): they catch a trail cut back together with its newest
/// checkpoints.
pub fn verify_file(
    path: &Path,
    pinned: Option<&PublicKey>,
    kept: (Vec<Checkpoint>, Vec<PublicKey>),
) -> Result<riskops_core::audit::ChainReport> {
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| Error::unavailable(format!("cannot open {} read-only: {e}", path.display())))?;
    let has_checkpoints: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_checkpoints')",
            [],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    let (mut checkpoints, mut unreadable, mut keys) = (Vec::new(), Vec::new(), Vec::new());
    if has_checkpoints {
        for row in checkpoint_rows(&conn, "ORDER BY seq")? {
            match row {
                Ok(cp) => checkpoints.push(cp),
                Err((seq, e)) => unreadable.push((seq, e.message)),
            }
        }
        // A key edited into nonsense simply is not a key: checkpoints by it then fail.
        keys = public_key_rows(&conn)?.into_iter().filter_map(Result::ok).collect();
    }
    checkpoints.extend(kept.0);
    keys.extend(kept.1);
    let mut verifier = TrailVerifier::new(checkpoints, &keys, pinned);
    for (seq, reason) in unreadable {
        verifier.unreadable_checkpoint(seq, reason);
    }
    let mut stmt = conn.prepare(&format!("SELECT {AUDIT_COLUMNS} FROM audit_events ORDER BY seq")).map_err(db_err)?;
    let mut rows = stmt.query([]).map_err(db_err)?;
    while let Some(row) = rows.next().map_err(db_err)? {
        let seq: i64 = row.get(0).map_err(db_err)?;
        match audit_event(row) {
            Ok(event) => {
                if !verifier.push(&event) {
                    break;
                }
            }
            Err(e) => {
                verifier.unreadable(seq, format!("unreadable: {e}"));
                break;
            }
        }
    }
    Ok(verifier.finish())
}

const CHECKPOINT_COLUMNS: &str = "seq, hash, key_id, signature, signed_at";

/// Checkpoint rows (`order` is an ORDER BY/LIMIT clause), each parsed or with the reason it
/// cannot be.
fn checkpoint_rows(conn: &Connection, order: &str) -> Result<Vec<Result<Checkpoint, (i64, Error)>>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints {order}")).map_err(db_err)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })
        .map_err(db_err)?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, hash, key_id, signature, signed_at) = row.map_err(db_err)?;
        let parsed = Signature::from_hex(&signature)
            .and_then(|signature| Ok(Checkpoint { seq, hash, key_id, signature, signed_at: parse_time(&signed_at)? }));
        out.push(parsed.map_err(|e| (seq, e)));
    }
    Ok(out)
}

fn public_key_rows(conn: &Connection) -> Result<Vec<Result<PublicKey>>> {
    let mut stmt = conn.prepare_cached("SELECT public_key FROM signing_keys ORDER BY created_at").map_err(db_err)?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(db_err)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(PublicKey::from_hex(&row.map_err(db_err)?));
    }
    Ok(out)
}

/// One audit row as an event (shared by reads and verification).
fn audit_event(r: &rusqlite::Row<'_>) -> Result<AuditEvent> {
    let seq: i64 = r.get(0).map_err(db_err)?;
    let time: String = r.get(1).map_err(db_err)?;
    Ok(AuditEvent {
        seq,
        time: parse_audit_time(seq, &time)?,
        actor: r.get(2).map_err(db_err)?,
        action: r.get(3).map_err(db_err)?,
        target: r.get(4).map_err(db_err)?,
        before: parse_json_column(seq, "before", r.get(5).map_err(db_err)?)?,
        after: parse_json_column(seq, "after", r.get(6).map_err(db_err)?)?,
        request_id: r.get(7).map_err(db_err)?,
        prev_hash: r.get(8).map_err(db_err)?,
        hash: r.get(9).map_err(db_err)?,
    })
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

/// An audit event's time, which must be stored exactly as [`time_text`] writes it: the same
/// instant spelled otherwise (`+00:00` for `Z`) is an edited row.
fn parse_audit_time(seq: i64, text: &str) -> Result<OffsetDateTime> {
    let time = parse_time(text)?;
    if time_text(time) != text {
        let message = format!("audit event {seq}: time {text:?} is not in canonical form");
        return Err(Error::new(riskops_core::ErrorKind::Integrity, message));
    }
    Ok(time)
}

fn parse_time(text: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|e| Error::internal(format!("bad time {text:?} in store: {e}")))
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

/// Appends `record` to the chain inside `tx`: the one place SQLite writes audit events.
fn append_audit(tx: &Transaction<'_>, record: AuditRecord, at: OffsetDateTime) -> Result<AuditEvent> {
    let head: Option<(i64, String)> = tx
        .query_row("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(db_err)?;
    let (prev_seq, prev_hash) = head.unwrap_or((0, GENESIS_HASH.to_string()));
    let event = seal(record, prev_seq, &prev_hash, at);
    tx.execute(
        &format!("INSERT INTO audit_events ({AUDIT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
        params![
            event.seq,
            time_text(event.time),
            event.actor,
            event.action,
            event.target,
            json_column(&event.before),
            json_column(&event.after),
            event.request_id,
            event.prev_hash,
            event.hash
        ],
    )
    .map_err(db_err)?;
    Ok(event)
}

type ProjectRow = (i64, String, String, String, String, Option<String>, Option<String>);

fn project_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ProjectRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
}

fn project(row: ProjectRow) -> Result<Project> {
    let (id, name, description, created_at, created_by, tier, context) = row;
    let tier_override = tier.map(|t| Tier::parse("tier", &t)).transpose()?;
    let context = context
        .map(|c| {
            let json =
                serde_json::from_str(&c).map_err(|e| Error::internal(format!("project {name}: context: {e}")))?;
            ProjectContext::from_json(&json)
        })
        .transpose()?;
    Ok(Project { id, name, description, created_at: parse_time(&created_at)?, created_by, tier_override, context })
}

const PROJECT_COLUMNS: &str = "id, name, description, created_at, created_by, tier, context_json";

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

fn dataset_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(DatasetRow, String)> {
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

fn dataset_rows(conn: &Connection, filter: &str, params: &[&dyn rusqlite::ToSql]) -> Result<Vec<DatasetVersion>> {
    load_rows(conn, DATASET_SELECT, filter, params, dataset_row, |mut row, at| {
        row.created_at = at;
        row.into_domain()
    })
}

/// Runs `select filter`, reads each row with `read` (which returns the row and its time
/// as text) and turns it into a domain value with `finish`.
fn load_rows<R, T>(
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
fn next_version(tx: &Transaction<'_>, versions: &str, fk: &str, owner: i64) -> Result<i64> {
    tx.query_row(&format!("SELECT COALESCE(MAX(version), 0) + 1 FROM {versions} WHERE {fk} = ?1"), [owner], |r| {
        r.get(0)
    })
    .map_err(db_err)
}

fn model_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(ModelRow, String)> {
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
        },
        created_at,
    ))
}

fn model_rows(conn: &Connection, filter: &str, params: &[&dyn rusqlite::ToSql]) -> Result<Vec<ModelVersion>> {
    load_rows(conn, MODEL_SELECT, filter, params, model_row, |mut row, at| {
        row.created_at = at;
        row.into_domain()
    })
}

/// The id of `name` in `table` (datasets or models), creating it in the requested project
/// (or `default`) when new; a name in another project is a conflict.
fn owner_id(
    tx: &Transaction<'_>,
    table: &str,
    kind: &str,
    name: &str,
    project: Option<&str>,
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
        if let Some(p) = project
            && p != owner
        {
            return Err(other_project(kind, name));
        }
        return Ok((id, owner));
    }
    let project = project.unwrap_or(DEFAULT_PROJECT);
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
fn resolve_dataset(tx: &Transaction<'_>, field: &str, r: &VersionRef) -> Result<(i64, VersionRef)> {
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

fn entries(conn: &Connection, kind: &str, project: Option<&str>) -> Result<Vec<Entry>> {
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
impl Store for SqliteStore {
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

    async fn identity_by_token_hash(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<IdentityRecord>> {
        let token_hash = token_hash.to_string();
        self.with_conn(move |conn| {
            let row: Option<(i64, String, String, Option<String>, Option<String>, Option<String>)> = conn
                .query_row(
                    "SELECT i.id, i.name, i.kind, i.disabled_at, t.expires_at, t.revoked_at
                     FROM api_tokens t JOIN identities i ON i.id = t.identity_id WHERE t.token_hash = ?1",
                    [&token_hash],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
                )
                .optional()
                .map_err(db_err)?;
            let Some((id, name, kind, disabled, expires, revoked)) = row else { return Ok(None) };
            if disabled.is_some() || revoked.is_some() {
                return Ok(None);
            }
            if let Some(expires) = expires
                && parse_time(&expires)? <= now
            {
                return Ok(None);
            }
            let roles = identities::roles_of(conn, id)?;
            Ok(Some(IdentityRecord { id, name, kind: IdentityKind::parse(&kind)?, roles }))
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

    async fn audit_events(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditEvent>> {
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE seq > ?1 ORDER BY seq LIMIT ?2"
                ))
                .map_err(db_err)?;
            type Row =
                (i64, String, String, String, String, Option<String>, Option<String>, Option<String>, String, String);
            let rows = stmt
                .query_map(params![after_seq, limit], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                        r.get(8)?,
                        r.get(9)?,
                    ))
                })
                .map_err(db_err)?;
            let mut events = Vec::new();
            for row in rows {
                let (seq, time, actor, action, target, before, after, request_id, prev_hash, hash): Row =
                    row.map_err(db_err)?;
                events.push(AuditEvent {
                    seq,
                    time: parse_audit_time(seq, &time)?,
                    actor,
                    action,
                    target,
                    before: parse_json_column(seq, "before", before)?,
                    after: parse_json_column(seq, "after", after)?,
                    request_id,
                    prev_hash,
                    hash,
                });
            }
            Ok(events)
        })
        .await
    }

    async fn create_dataset_version(
        &self,
        new: NewDatasetVersion,
        mut audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Created<DatasetVersion>> {
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
            let by = audit.actor().to_string();
            let (dataset_id, project) = owner_id(&tx, "datasets", "dataset", &new.name, new.project.as_deref(), &by, at)?;
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
            let (model_id, project) = owner_id(&tx, "models", "model", &new.name, new.project.as_deref(), &by, at)?;
            let version = next_version(&tx, "model_versions", "model_id", model_id)?;
            tx.execute(
                "INSERT INTO model_versions (model_id, version, digest, size, framework, training_version_id,
                 validation_version_id, code_repo, code_commit, params_json, metrics_json, description, tags_json,
                 author, created_at, signature_json)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
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
                    new.signature.as_ref().map(|s| s.to_json().to_string())
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

    async fn create_identity(&self, new: NewIdentity, audit: AuditRecord, at: OffsetDateTime) -> Result<TokenInfo> {
        self.with_conn(move |conn| identities::create_identity(conn, new, audit, at)).await
    }

    async fn identities(&self) -> Result<Vec<IdentitySummary>> {
        self.with_conn(|conn| identities::identities(conn)).await
    }

    async fn identity(&self, name: &str) -> Result<Option<IdentityRecord>> {
        let name = name.to_string();
        self.with_conn(move |conn| identities::identity(conn, &name)).await
    }

    async fn identity_for_login(&self, name: &str) -> Result<Option<(IdentityRecord, Option<String>)>> {
        let name = name.to_string();
        self.with_conn(move |conn| identities::identity_for_login(conn, &name)).await
    }

    async fn set_role(
        &self,
        identity: &str,
        binding: RoleBinding,
        grant: bool,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<IdentityRecord> {
        let identity = identity.to_string();
        self.with_conn(move |conn| identities::set_role(conn, &identity, binding, grant, audit, at)).await
    }

    async fn create_token(&self, new: NewToken, audit: AuditRecord, at: OffsetDateTime) -> Result<TokenInfo> {
        self.with_conn(move |conn| identities::create_token(conn, new, audit, at)).await
    }

    async fn tokens(&self, identity: Option<&str>) -> Result<Vec<TokenInfo>> {
        let identity = identity.map(str::to_string);
        self.with_conn(move |conn| identities::tokens(conn, identity.as_deref())).await
    }

    async fn token(&self, id: i64) -> Result<Option<TokenInfo>> {
        self.with_conn(move |conn| identities::token(conn, id)).await
    }

    async fn revoke_token(&self, id: i64, audit: AuditRecord, at: OffsetDateTime) -> Result<TokenInfo> {
        self.with_conn(move |conn| identities::revoke_token(conn, id, audit, at)).await
    }

    async fn record_event(&self, audit: AuditRecord, at: OffsetDateTime) -> Result<()> {
        self.with_conn(move |conn| identities::record_event(conn, audit, at)).await
    }

    async fn set_project_tier(
        &self,
        project: &str,
        tier: Option<Tier>,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Project> {
        let project = project.to_string();
        self.with_conn(move |conn| governance::set_project_tier(conn, &project, tier, audit, at)).await
    }

    async fn add_evidence(&self, new: NewEvidence, audit: AuditRecord, at: OffsetDateTime) -> Result<Evidence> {
        self.with_conn(move |conn| governance::add_evidence(conn, new, audit, at)).await
    }

    async fn evidence(&self, model: &str, version: u32) -> Result<Vec<Evidence>> {
        let model = model.to_string();
        self.with_conn(move |conn| governance::evidence(conn, &model, version)).await
    }

    async fn create_promotion(&self, new: NewPromotion, audit: AuditRecord, at: OffsetDateTime) -> Result<Promotion> {
        self.with_conn(move |conn| governance::create_promotion(conn, new, audit, at)).await
    }

    async fn promotion(&self, id: i64) -> Result<Option<Promotion>> {
        self.with_conn(move |conn| governance::promotion(conn, id)).await
    }

    async fn promotions(&self, filter: &PromotionFilter) -> Result<Vec<Promotion>> {
        let filter = filter.clone();
        self.with_conn(move |conn| governance::promotions(conn, &filter)).await
    }

    async fn add_decision(
        &self,
        id: i64,
        decision: Decision,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Promotion> {
        self.with_conn(move |conn| governance::add_decision(conn, id, decision, audit, at)).await
    }

    async fn close_promotion(
        &self,
        id: i64,
        deployment: Option<NewDeployment>,
        reason: Option<String>,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Promotion> {
        self.with_conn(move |conn| governance::close_promotion(conn, id, deployment, reason, audit, at)).await
    }

    async fn deploy(&self, new: NewDeployment, audit: AuditRecord, at: OffsetDateTime) -> Result<Deployment> {
        self.with_conn(move |conn| governance::deploy(conn, new, audit, at)).await
    }

    async fn deployments(&self, model: &str) -> Result<Vec<Deployment>> {
        let model = model.to_string();
        self.with_conn(move |conn| governance::deployments(conn, &model)).await
    }

    async fn audit_head(&self) -> Result<Option<(i64, String)>> {
        self.with_conn(|conn| {
            conn.query_row("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(db_err)
        })
        .await
    }

    async fn register_public_key(&self, key: &PublicKey, at: OffsetDateTime) -> Result<()> {
        let (key_id, hex) = (key.key_id(), key.to_hex());
        self.with_conn(move |conn| {
            conn.execute(
                "INSERT INTO signing_keys (key_id, public_key, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (key_id) DO NOTHING",
                params![key_id, hex, time_text(at)],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn public_keys(&self) -> Result<Vec<PublicKey>> {
        self.with_conn(|conn| public_key_rows(conn)?.into_iter().collect()).await
    }

    async fn write_checkpoint(&self, checkpoint: &Checkpoint) -> Result<bool> {
        let cp = checkpoint.clone();
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
            let stored: Option<String> = tx
                .query_row("SELECT hash FROM audit_events WHERE seq = ?1", [cp.seq], |r| r.get(0))
                .optional()
                .map_err(db_err)?;
            if stored.as_deref() != Some(cp.hash.as_str()) {
                return Err(Error::new(
                    ErrorKind::Integrity,
                    format!("refusing to sign seq {}: the trail has no event with that hash", cp.seq),
                ));
            }
            let written = tx
                .execute(
                    &format!("INSERT INTO audit_checkpoints ({CHECKPOINT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (seq) DO NOTHING"),
                    params![cp.seq, cp.hash, cp.key_id, cp.signature.to_hex(), time_text(cp.signed_at)],
                )
                .map_err(db_err)?;
            tx.commit().map_err(db_err)?;
            Ok(written == 1)
        })
        .await
    }

    async fn latest_checkpoint(&self) -> Result<Option<Checkpoint>> {
        Ok(self.checkpoints_ordered("ORDER BY seq DESC LIMIT 1").await?.pop())
    }

    async fn missing_audit_guards(&self) -> Result<Vec<String>> {
        self.with_conn(|conn| {
            let mut missing = Vec::new();
            for name in AUDIT_GUARDS {
                let present: bool = conn
                    .query_row(
                        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?1)",
                        [name],
                        |r| r.get(0),
                    )
                    .map_err(db_err)?;
                if !present {
                    missing.push(name.to_string());
                }
            }
            Ok(missing)
        })
        .await
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
        let project = project.to_string();
        self.with_conn(move |conn| risk::set_project_context(conn, &project, context, audit, at)).await
    }

    async fn document(&self, kind: &str) -> Result<Option<VersionedDocument>> {
        let kind = kind.to_string();
        self.with_conn(move |conn| risk::document(conn, &kind)).await
    }

    async fn set_document(
        &self,
        kind: &str,
        document: serde_json::Value,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<VersionedDocument> {
        let kind = kind.to_string();
        self.with_conn(move |conn| risk::set_document(conn, &kind, document, audit, at)).await
    }

    async fn add_risk_entries(
        &self,
        project: &str,
        entries: Vec<RiskFields>,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Vec<RiskEntry>> {
        let project = project.to_string();
        self.with_conn(move |conn| risk::add_risk_entries(conn, &project, entries, audit, at)).await
    }

    async fn update_risk_entry(
        &self,
        id: i64,
        fields: RiskFields,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<RiskEntry> {
        self.with_conn(move |conn| risk::update_risk_entry(conn, id, fields, audit, at)).await
    }

    async fn risk_entries(&self, project: &str) -> Result<Vec<RiskEntry>> {
        let project = project.to_string();
        self.with_conn(move |conn| risk::risk_entries(conn, &project)).await
    }

    async fn risk_entry(&self, id: i64) -> Result<Option<RiskEntry>> {
        self.with_conn(move |conn| risk::risk_entry(conn, id)).await
    }

    async fn add_attestation(
        &self,
        new: riskops_core::compliance::NewAttestation,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<riskops_core::compliance::Attestation> {
        self.with_conn(move |conn| compliance::add_attestation(conn, new, audit, at)).await
    }

    async fn attestations(&self, project: &str) -> Result<Vec<riskops_core::compliance::Attestation>> {
        let project = project.to_string();
        self.with_conn(move |conn| compliance::attestations(conn, &project)).await
    }

    async fn windows(&self, model: &str, version: Option<u32>, from: i64, to: i64) -> Result<Vec<StoredWindow>> {
        let model = model.to_string();
        self.with_conn(move |conn| monitoring::windows(conn, &model, version, from, to)).await
    }

    async fn latest_window(&self, model: &str, version: u32) -> Result<Option<(i64, i64, u64)>> {
        let model = model.to_string();
        self.with_conn(move |conn| monitoring::latest_window(conn, &model, version)).await
    }

    async fn first_window_start(&self, model: &str, version: u32) -> Result<Option<i64>> {
        let model = model.to_string();
        self.with_conn(move |conn| monitoring::first_window_start(conn, &model, version)).await
    }

    async fn known_records(&self, model: &str, ids: &[String]) -> Result<Vec<String>> {
        let (model, ids) = (model.to_string(), ids.to_vec());
        self.with_conn(move |conn| monitoring::known_records(conn, &model, &ids)).await
    }

    async fn known_refused(&self, model: &str, ids: &[String]) -> Result<Vec<String>> {
        let (model, ids) = (model.to_string(), ids.to_vec());
        self.with_conn(move |conn| monitoring::known_refused(conn, &model, &ids)).await
    }

    async fn records(&self, model: &str, ids: &[String]) -> Result<Vec<StoredRecord>> {
        let (model, ids) = (model.to_string(), ids.to_vec());
        self.with_conn(move |conn| monitoring::records(conn, &model, &ids)).await
    }

    async fn commit_ingest(&self, write: IngestWrite, audit: AuditRecord, at: OffsetDateTime) -> Result<()> {
        self.with_conn(move |conn| monitoring::commit_ingest(conn, write, audit, at)).await
    }

    async fn segments(&self, model: &str) -> Result<Vec<Segment>> {
        let model = model.to_string();
        self.with_conn(move |conn| monitoring::segments(conn, &model)).await
    }

    async fn expired_segments(&self, now: i64, limit: usize) -> Result<Vec<Segment>> {
        self.with_conn(move |conn| monitoring::expired_segments(conn, now, limit)).await
    }

    async fn drop_segment(
        &self,
        model: &str,
        digest: &riskops_core::artifact::Digest,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<bool> {
        let (model, digest) = (model.to_string(), digest.clone());
        self.with_conn(move |conn| monitoring::drop_segment(conn, &model, &digest, audit, at)).await
    }

    async fn due_windows(&self, now: i64, quiet_since: i64, limit: usize) -> Result<Vec<DueWindow>> {
        self.with_conn(move |conn| alerting::due_windows(conn, now, quiet_since, limit)).await
    }

    async fn monitor_results(&self, model: &str, version: u32, monitor_id: &str) -> Result<Vec<MonitorResult>> {
        let (model, monitor_id) = (model.to_string(), monitor_id.to_string());
        self.with_conn(move |conn| alerting::monitor_results(conn, &model, version, &monitor_id)).await
    }

    async fn commit_evaluation(
        &self,
        write: EvaluationWrite,
        audits: Vec<AuditRecord>,
        at: OffsetDateTime,
    ) -> Result<Vec<i64>> {
        self.with_conn(move |conn| alerting::commit_evaluation(conn, write, audits, at)).await
    }

    async fn incidents(&self, filter: &IncidentFilter) -> Result<Vec<Incident>> {
        let filter = filter.clone();
        self.with_conn(move |conn| alerting::incidents(conn, &filter)).await
    }

    async fn incident(&self, id: i64) -> Result<Option<Incident>> {
        self.with_conn(move |conn| alerting::incident_by_id(conn, id)).await
    }

    async fn set_incident_state(
        &self,
        id: i64,
        state: IncidentState,
        note: &str,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Incident> {
        let note = note.to_string();
        self.with_conn(move |conn| alerting::set_incident_state(conn, id, state, &note, audit, at)).await
    }

    async fn set_incident_risks(&self, id: i64, risks: &[i64], audit: AuditRecord, at: OffsetDateTime) -> Result<()> {
        let risks = risks.to_vec();
        self.with_conn(move |conn| alerting::set_incident_risks(conn, id, &risks, audit, at)).await
    }

    async fn incidents_owing_risk_changes(&self, limit: usize) -> Result<Vec<Incident>> {
        self.with_conn(move |conn| alerting::incidents_owing_risk_changes(conn, limit)).await
    }

    async fn claim_delivery(&self, id: i64, expected_next: i64, lease_until: i64) -> Result<bool> {
        self.with_conn(move |conn| alerting::claim_delivery(conn, id, expected_next, lease_until)).await
    }

    async fn add_webhook(&self, new: NewWebhook, audit: AuditRecord, at: OffsetDateTime) -> Result<Webhook> {
        self.with_conn(move |conn| alerting::add_webhook(conn, new, audit, at)).await
    }

    async fn webhooks(&self, project: &str) -> Result<Vec<Webhook>> {
        let project = project.to_string();
        self.with_conn(move |conn| alerting::webhooks(conn, &project)).await
    }

    async fn webhook(&self, id: i64) -> Result<Option<Webhook>> {
        self.with_conn(move |conn| alerting::webhook_by_id(conn, id)).await
    }

    async fn remove_webhook(&self, id: i64, audit: AuditRecord, at: OffsetDateTime) -> Result<()> {
        self.with_conn(move |conn| alerting::remove_webhook(conn, id, audit, at)).await
    }

    async fn due_deliveries(&self, now: i64, limit: usize) -> Result<Vec<Delivery>> {
        self.with_conn(move |conn| alerting::due_deliveries(conn, now, limit)).await
    }

    async fn record_attempt(&self, id: i64, outcome: &AttemptOutcome, at: OffsetDateTime) -> Result<()> {
        let outcome = outcome.clone();
        self.with_conn(move |conn| alerting::record_attempt(conn, id, &outcome, at)).await
    }

    async fn deliveries(&self, project: &str, webhook: Option<i64>, limit: usize) -> Result<Vec<Delivery>> {
        let project = project.to_string();
        self.with_conn(move |conn| alerting::deliveries(conn, &project, webhook, limit)).await
    }
}
