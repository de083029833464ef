//! SQLite: tier overrides, evidence, policy versions, promotion requests and deployments.

use super::{PROJECT_COLUMNS, SqliteStore, append_audit, db_err, parse_time, project, project_from_row, time_text};
use crate::rows::governance::{
    DEPLOYMENT_COLUMNS, DeploymentRow, EVIDENCE_COLUMNS, EvidenceRow, PROMOTION_SELECT, PromotionRow,
};
use async_trait::async_trait;
use riskops_core::audit::AuditRecord;
use riskops_core::auth::Role;
use riskops_core::governance::{Decision, Tier};
use riskops_core::project::Project;
use riskops_core::promotion::{
    Deployment, Evidence, NewDeployment, NewEvidence, NewPromotion, Promotion, PromotionFilter, PromotionStatus,
};
use riskops_core::store::GovernanceStore;
use riskops_core::{Error, ErrorKind, Result};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use time::OffsetDateTime;

fn immediate(conn: &mut Connection) -> Result<Transaction<'_>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)
}

pub(super) fn set_project_tier(
    conn: &mut Connection,
    name: &str,
    tier: Option<Tier>,
    audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<Project> {
    let tx = immediate(conn)?;
    let changed = tx
        .execute("UPDATE projects SET tier = ?1 WHERE name = ?2", params![tier.map(Tier::as_str), name])
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

fn model_version_exists(conn: &Connection, model: &str, version: u32) -> Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM model_versions v JOIN models m ON m.id = v.model_id WHERE m.name = ?1 AND v.version = ?2)",
        params![model, version],
        |r| r.get(0),
    )
    .map_err(db_err)
}

fn require_model_version(conn: &Connection, model: &str, version: u32) -> Result<()> {
    if model_version_exists(conn, model, version)? {
        Ok(())
    } else {
        Err(Error::not_found(format!("no model version {model}@{version}")))
    }
}

pub(super) fn add_evidence(
    conn: &mut Connection,
    new: NewEvidence,
    audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<Evidence> {
    let tx = immediate(conn)?;
    require_model_version(&tx, &new.model, new.version)?;
    let by = audit.actor().to_string();
    tx.execute(
        "INSERT INTO evidence (model, version, kind, digest, size, passed, summary, created_at, created_by, \
         produced_by, dataset) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            new.model,
            new.version,
            new.kind,
            new.digest.as_str(),
            new.size as i64,
            new.passed,
            new.summary,
            time_text(at),
            by,
            new.produced_by,
            new.dataset
        ],
    )
    .map_err(db_err)?;
    let id = tx.last_insert_rowid();
    append_audit(&tx, audit, at)?;
    tx.commit().map_err(db_err)?;
    Ok(Evidence {
        id,
        model: new.model,
        version: new.version,
        kind: new.kind,
        digest: new.digest,
        size: new.size,
        passed: new.passed,
        summary: new.summary,
        produced_by: new.produced_by,
        dataset: new.dataset,
        created_by: by,
        created_at: at,
    })
}

pub(super) fn evidence(conn: &Connection, model: &str, version: u32) -> Result<Vec<Evidence>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE model = ?1 AND version = ?2 ORDER BY id"
        ))
        .map_err(db_err)?;
    let rows = stmt
        .query_map(params![model, version], |r| {
            Ok(EvidenceRow::<String> {
                id: r.get(0)?,
                kind: r.get(1)?,
                digest: r.get(2)?,
                size: r.get(3)?,
                passed: r.get(4)?,
                summary: r.get(5)?,
                created_at: r.get(6)?,
                created_by: r.get(7)?,
                produced_by: r.get(8)?,
                dataset: r.get(9)?,
            })
        })
        .map_err(db_err)?;
    rows.map(|row| row.map_err(db_err)?.into_domain(model, version)).collect()
}

/// Decodes a row of [`PROMOTION_SELECT`].
fn promotion_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PromotionRow<String>> {
    Ok(PromotionRow {
        id: r.get(0)?,
        model: r.get(1)?,
        project: r.get(2)?,
        version: r.get(3)?,
        environment: r.get(4)?,
        reason: r.get(5)?,
        requested_by: r.get(6)?,
        status: r.get(7)?,
        created_at: r.get(8)?,
        closed_at: r.get(9)?,
        tier: r.get(10)?,
        gate_json: r.get(11)?,
        closed_reason: r.get(12)?,
    })
}

fn promotion_from(conn: &Connection, row: PromotionRow<String>) -> Result<Promotion> {
    let decisions = decisions(conn, row.id)?;
    row.into_domain(decisions)
}

fn decisions(conn: &Connection, id: i64) -> Result<Vec<Decision>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT decided_by, roles, approve, comment, created_at FROM promotion_decisions \
             WHERE promotion_id = ?1 ORDER BY rowid",
        )
        .map_err(db_err)?;
    let rows = stmt
        .query_map([id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, bool>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })
        .map_err(db_err)?;
    let mut out = Vec::new();
    for row in rows {
        let (by, roles, approve, comment, at) = row.map_err(db_err)?;
        out.push(Decision { by, roles: parse_roles(&roles)?, approve, comment, at: parse_time(&at)? });
    }
    Ok(out)
}

/// Roles are kept as a comma-separated list of role names.
pub(super) fn roles_text(roles: &[Role]) -> String {
    roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
}

pub(super) fn parse_roles(text: &str) -> Result<Vec<Role>> {
    text.split(',').filter(|s| !s.is_empty()).map(Role::parse).collect()
}

pub(super) fn promotion(conn: &Connection, id: i64) -> Result<Option<Promotion>> {
    let row = conn
        .query_row(&format!("{PROMOTION_SELECT} WHERE r.id = ?1"), [id], promotion_row)
        .optional()
        .map_err(db_err)?;
    row.map(|r| promotion_from(conn, r)).transpose()
}

pub(super) fn promotions(conn: &Connection, filter: &PromotionFilter) -> Result<Vec<Promotion>> {
    let rows: Vec<PromotionRow<String>> = {
        let mut stmt = conn
            .prepare_cached(&format!(
                "{PROMOTION_SELECT} WHERE (?1 IS NULL OR r.model = ?1) AND (?2 IS NULL OR r.status = ?2) ORDER BY r.id DESC"
            ))
            .map_err(db_err)?;
        let rows = stmt
            .query_map(params![filter.model, filter.status.map(PromotionStatus::as_str)], promotion_row)
            .map_err(db_err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(db_err)?
    };
    rows.into_iter().map(|r| promotion_from(conn, r)).collect()
}

pub(super) fn create_promotion(
    conn: &mut Connection,
    new: NewPromotion,
    mut audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<Promotion> {
    let tx = immediate(conn)?;
    require_model_version(&tx, &new.model, new.version)?;
    let inserted = tx.execute(
        "INSERT INTO promotions (model, version, environment, reason, requested_by, status, created_at, tier, gate_json) \
         VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7, ?8)",
        params![
            new.model,
            new.version,
            new.environment.as_str(),
            new.reason,
            audit.actor(),
            time_text(at),
            new.tier.as_str(),
            new.gate.to_json().to_string()
        ],
    );
    match inserted.map_err(db_err) {
        Err(e) if e.kind == ErrorKind::Conflict => {
            return Err(Error::conflict(format!(
                "{}@{} already has a pending request for {}",
                new.model, new.version, new.environment
            )));
        }
        other => other?,
    };
    let id = tx.last_insert_rowid();
    audit.target = format!("promotion:{id}");
    audit.set_after("id", id.into());
    append_audit(&tx, audit, at)?;
    let created = promotion(&tx, id)?.ok_or_else(|| Error::internal("promotion vanished"))?;
    tx.commit().map_err(db_err)?;
    Ok(created)
}

fn require_pending(tx: &Transaction<'_>, id: i64) -> Result<()> {
    let status: Option<String> =
        tx.query_row("SELECT status FROM promotions WHERE id = ?1", [id], |r| r.get(0)).optional().map_err(db_err)?;
    match status.as_deref() {
        None => Err(Error::not_found(format!("no promotion request {id}"))),
        Some("pending") => Ok(()),
        Some(other) => Err(Error::conflict(format!("promotion request {id} is already {other}"))),
    }
}

pub(super) fn add_decision(
    conn: &mut Connection,
    id: i64,
    d: Decision,
    audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<Promotion> {
    let tx = immediate(conn)?;
    require_pending(&tx, id)?;
    let inserted = tx.execute(
        "INSERT INTO promotion_decisions (promotion_id, decided_by, roles, approve, comment, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![id, d.by, roles_text(&d.roles), d.approve, d.comment, time_text(d.at)],
    );
    match inserted.map_err(db_err) {
        Err(e) if e.kind == ErrorKind::Conflict => {
            return Err(Error::conflict(format!("{} has already decided on promotion request {id}", d.by)));
        }
        other => other?,
    };
    append_audit(&tx, audit, at)?;
    let after = promotion(&tx, id)?.ok_or_else(|| Error::internal("promotion vanished"))?;
    tx.commit().map_err(db_err)?;
    Ok(after)
}

pub(super) fn close_promotion(
    conn: &mut Connection,
    id: i64,
    deployment: Option<NewDeployment>,
    reason: Option<String>,
    mut audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<Promotion> {
    let tx = immediate(conn)?;
    require_pending(&tx, id)?;
    let status = if deployment.is_some() { PromotionStatus::Completed } else { PromotionStatus::Rejected };
    tx.execute(
        "UPDATE promotions SET status = ?1, closed_at = ?2, closed_reason = ?3 WHERE id = ?4",
        params![status.as_str(), time_text(at), reason, id],
    )
    .map_err(db_err)?;
    if let Some(new) = deployment {
        let by = audit.actor().to_string();
        let replaced = insert_deployment(&tx, &new, &by, at)?;
        audit.set_after("replaced", replaced.into());
    }
    append_audit(&tx, audit, at)?;
    let after = promotion(&tx, id)?.ok_or_else(|| Error::internal("promotion vanished"))?;
    tx.commit().map_err(db_err)?;
    Ok(after)
}

/// Ends the current stay in the environment and starts the new one; returns the version
/// that was replaced.
fn insert_deployment(tx: &Transaction<'_>, new: &NewDeployment, by: &str, at: OffsetDateTime) -> Result<Option<u32>> {
    require_model_version(tx, &new.model, new.version)?;
    let env = new.environment.as_str();
    let replaced: Option<u32> = tx
        .query_row(
            "SELECT version FROM deployments WHERE model = ?1 AND environment = ?2 AND until IS NULL",
            params![new.model, env],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_err)?;
    tx.execute(
        "UPDATE deployments SET until = ?1 WHERE model = ?2 AND environment = ?3 AND until IS NULL",
        params![time_text(at), new.model, env],
    )
    .map_err(db_err)?;
    tx.execute(
        "INSERT INTO deployments (model, version, environment, since, deployed_by, promotion_id, reason, emergency, digest, key_id, signature) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            new.model,
            new.version,
            env,
            time_text(at),
            by,
            new.promotion_id,
            new.reason,
            new.emergency,
            new.digest.as_str(),
            new.signature.as_ref().map(|s| s.key_id.clone()),
            new.signature.as_ref().map(|s| s.signature.clone()),
        ],
    )
    .map_err(db_err)?;
    Ok(replaced)
}

pub(super) fn deploy(
    conn: &mut Connection,
    new: NewDeployment,
    mut audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<Deployment> {
    let tx = immediate(conn)?;
    let by = audit.actor().to_string();
    let replaced = insert_deployment(&tx, &new, &by, at)?;
    audit.set_after("replaced", replaced.into());
    append_audit(&tx, audit, at)?;
    tx.commit().map_err(db_err)?;
    Ok(Deployment {
        model: new.model,
        version: new.version,
        environment: new.environment,
        since: at,
        until: None,
        by,
        promotion_id: new.promotion_id,
        reason: new.reason,
        emergency: new.emergency,
        digest: new.digest,
        signature: new.signature,
    })
}

pub(super) fn deployments(conn: &Connection, model: &str) -> Result<Vec<Deployment>> {
    let mut stmt = conn
        .prepare_cached(&format!("SELECT {DEPLOYMENT_COLUMNS} FROM deployments WHERE model = ?1 ORDER BY id"))
        .map_err(db_err)?;
    let rows = stmt
        .query_map([model], |r| {
            Ok(DeploymentRow::<String> {
                version: r.get(0)?,
                environment: r.get(1)?,
                since: r.get(2)?,
                until: r.get(3)?,
                deployed_by: r.get(4)?,
                promotion_id: r.get(5)?,
                reason: r.get(6)?,
                emergency: r.get(7)?,
                digest: r.get(8)?,
                key_id: r.get(9)?,
                signature: r.get(10)?,
            })
        })
        .map_err(db_err)?;
    rows.map(|row| row.map_err(db_err)?.into_domain(model)).collect()
}

#[async_trait]
impl GovernanceStore for SqliteStore {
    async fn set_project_tier(
        &self,
        project: &str,
        tier: Option<Tier>,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Project> {
        let project = project.to_string();
        self.with_conn(move |conn| set_project_tier(conn, &project, tier, audit, at)).await
    }

    async fn add_evidence(&self, new: NewEvidence, audit: AuditRecord, at: OffsetDateTime) -> Result<Evidence> {
        self.with_conn(move |conn| add_evidence(conn, new, audit, at)).await
    }

    async fn evidence(&self, model: &str, version: u32) -> Result<Vec<Evidence>> {
        let model = model.to_string();
        self.with_conn(move |conn| evidence(conn, &model, version)).await
    }

    async fn create_promotion(&self, new: NewPromotion, audit: AuditRecord, at: OffsetDateTime) -> Result<Promotion> {
        self.with_conn(move |conn| create_promotion(conn, new, audit, at)).await
    }

    async fn promotion(&self, id: i64) -> Result<Option<Promotion>> {
        self.with_conn(move |conn| promotion(conn, id)).await
    }

    async fn promotions(&self, filter: &PromotionFilter) -> Result<Vec<Promotion>> {
        let filter = filter.clone();
        self.with_conn(move |conn| promotions(conn, &filter)).await
    }

    async fn add_decision(
        &self,
        id: i64,
        decision: Decision,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Promotion> {
        self.with_conn(move |conn| add_decision(conn, id, decision, audit, at)).await
    }

    async fn close_promotion(
        &self,
        id: i64,
        deployment: Option<NewDeployment>,
        reason: Option<String>,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Promotion> {
        self.with_conn(move |conn| close_promotion(conn, id, deployment, reason, audit, at)).await
    }

    async fn deploy(&self, new: NewDeployment, audit: AuditRecord, at: OffsetDateTime) -> Result<Deployment> {
        self.with_conn(move |conn| deploy(conn, new, audit, at)).await
    }

    async fn deployments(&self, model: &str) -> Result<Vec<Deployment>> {
        let model = model.to_string();
        self.with_conn(move |conn| deployments(conn, &model)).await
    }
}
