//! PostgreSQL: tier overrides, evidence, policy versions, promotion requests and deployments.
//!
//! Checks that a later write depends on are made under a row lock (`FOR UPDATE`), so that
//! concurrent replicas see the same outcomes as SQLite's one-writer-at-a-time: a request's
//! row while deciding or closing it, a model's row while changing its deployments.

use super::{PROJECT_COLUMNS, PostgresStore, RowExt, append_audit, db_err, project};
use crate::rows::governance::{
    DEPLOYMENT_COLUMNS, DeploymentRow, EVIDENCE_COLUMNS, EvidenceRow, PROMOTION_SELECT, PromotionRow,
};
use async_trait::async_trait;
use deadpool_postgres::{Client, GenericClient, Transaction};
use riskops_core::audit::AuditRecord;
use riskops_core::auth::Role;
use riskops_core::governance::{Decision, Tier};
use riskops_core::project::Project;
use riskops_core::promotion::{
    Deployment, Evidence, NewDeployment, NewEvidence, NewPromotion, Promotion, PromotionFilter, PromotionStatus,
};
use riskops_core::store::GovernanceStore;
use riskops_core::{Error, ErrorKind, Result};
use time::OffsetDateTime;

/// A version number as stored (INTEGER); `None` when it is too large to have been stored.
fn stored_version(version: u32) -> Option<i32> {
    i32::try_from(version).ok()
}

fn model_version_not_found(model: &str, version: u32) -> Error {
    Error::not_found(format!("no model version {model}@{version}"))
}

pub(super) async fn set_project_tier(
    client: &mut Client,
    name: &str,
    tier: Option<Tier>,
    audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<Project> {
    let tx = client.transaction().await.map_err(db_err)?;
    let changed = tx
        .execute("UPDATE projects SET tier = $1 WHERE name = $2", &[&tier.map(Tier::as_str), &name])
        .await
        .map_err(db_err)?;
    if changed == 0 {
        return Err(Error::not_found(format!("no project named {name:?}")));
    }
    append_audit(&tx, audit, at).await?;
    let row = tx
        .query_one(&format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE name = $1"), &[&name])
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    project(&row)
}

/// Fails with not found unless the model version exists. With `lock`, the model's row is
/// locked for the rest of the transaction (deployments of one model change one at a time).
async fn require_model_version(tx: &Transaction<'_>, model: &str, version: u32, lock: bool) -> Result<i32> {
    let v = stored_version(version).ok_or_else(|| model_version_not_found(model, version))?;
    let lock = if lock { " FOR UPDATE OF m" } else { "" };
    let found = tx
        .query_opt(
            &format!(
                "SELECT 1 FROM model_versions v JOIN models m ON m.id = v.model_id WHERE m.name = $1 AND v.version = $2{lock}"
            ),
            &[&model, &v],
        )
        .await
        .map_err(db_err)?;
    match found {
        Some(_) => Ok(v),
        None => Err(model_version_not_found(model, version)),
    }
}

pub(super) async fn add_evidence(
    client: &mut Client,
    new: NewEvidence,
    audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<Evidence> {
    let tx = client.transaction().await.map_err(db_err)?;
    let version = require_model_version(&tx, &new.model, new.version, false).await?;
    let by = audit.actor().to_string();
    let row = tx
        .query_one(
            "INSERT INTO evidence (model, version, kind, digest, size, passed, summary, created_at, created_by, \
             produced_by, dataset) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            &[
                &new.model,
                &version,
                &new.kind,
                &new.digest.as_str(),
                &(new.size as i64),
                &new.passed,
                &new.summary,
                &at,
                &by,
                &new.produced_by,
                &new.dataset,
            ],
        )
        .await
        .map_err(db_err)?;
    let id: i64 = row.col(0)?;
    append_audit(&tx, audit, at).await?;
    tx.commit().await.map_err(db_err)?;
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

/// Evidence of a model version, oldest first.
pub(super) async fn evidence(client: &impl GenericClient, model: &str, version: u32) -> Result<Vec<Evidence>> {
    let Some(v) = stored_version(version) else { return Ok(Vec::new()) };
    let rows = client
        .query(
            &format!("SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE model = $1 AND version = $2 ORDER BY id"),
            &[&model, &v],
        )
        .await
        .map_err(db_err)?;
    rows.iter()
        .map(|r| {
            EvidenceRow {
                id: r.col(0)?,
                kind: r.col(1)?,
                digest: r.col(2)?,
                size: r.col(3)?,
                passed: r.col(4)?,
                summary: r.col(5)?,
                created_at: r.col::<OffsetDateTime>(6)?,
                created_by: r.col(7)?,
                produced_by: r.col(8)?,
                dataset: r.col(9)?,
            }
            .into_domain(model, version)
        })
        .collect()
}

/// The newest policy version.
/// Decodes a row of [`PROMOTION_SELECT`] and reads its decisions.
async fn promotion_from(client: &impl GenericClient, r: &tokio_postgres::Row) -> Result<Promotion> {
    let row = PromotionRow {
        id: r.col(0)?,
        model: r.col(1)?,
        project: r.col(2)?,
        version: r.col::<i32>(3)? as u32,
        environment: r.col(4)?,
        reason: r.col(5)?,
        requested_by: r.col(6)?,
        status: r.col(7)?,
        created_at: r.col::<OffsetDateTime>(8)?,
        closed_at: r.col(9)?,
        tier: r.col(10)?,
        gate_json: r.col(11)?,
        closed_reason: r.col(12)?,
    };
    let decisions = decisions(client, row.id).await?;
    row.into_domain(decisions)
}

/// A request's decisions, in the order they were made.
async fn decisions(client: &impl GenericClient, id: i64) -> Result<Vec<Decision>> {
    let rows = client
        .query(
            "SELECT decided_by, roles, approve, comment, created_at FROM promotion_decisions \
             WHERE promotion_id = $1 ORDER BY id",
            &[&id],
        )
        .await
        .map_err(db_err)?;
    rows.iter()
        .map(|r| {
            Ok(Decision {
                by: r.col(0)?,
                roles: parse_roles(r.col(1)?)?,
                approve: r.col(2)?,
                comment: r.col(3)?,
                at: r.col(4)?,
            })
        })
        .collect()
}

/// Roles are kept as a comma-separated list of role names (as in SQLite).
fn roles_text(roles: &[Role]) -> String {
    roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
}

fn parse_roles(text: &str) -> Result<Vec<Role>> {
    text.split(',').filter(|s| !s.is_empty()).map(Role::parse).collect()
}

pub(super) async fn promotion(client: &impl GenericClient, id: i64) -> Result<Option<Promotion>> {
    let row = client.query_opt(&format!("{PROMOTION_SELECT} WHERE r.id = $1"), &[&id]).await.map_err(db_err)?;
    match row {
        Some(r) => Ok(Some(promotion_from(client, &r).await?)),
        None => Ok(None),
    }
}

/// Newest first.
pub(super) async fn promotions(client: &impl GenericClient, filter: &PromotionFilter) -> Result<Vec<Promotion>> {
    let rows = client
        .query(
            &format!(
                "{PROMOTION_SELECT} WHERE ($1::TEXT IS NULL OR r.model = $1) AND ($2::TEXT IS NULL OR r.status = $2) \
                 ORDER BY r.id DESC"
            ),
            &[&filter.model, &filter.status.map(PromotionStatus::as_str)],
        )
        .await
        .map_err(db_err)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(promotion_from(client, r).await?);
    }
    Ok(out)
}

pub(super) async fn create_promotion(
    client: &mut Client,
    new: NewPromotion,
    mut audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<Promotion> {
    let tx = client.transaction().await.map_err(db_err)?;
    let version = require_model_version(&tx, &new.model, new.version, false).await?;
    let inserted = tx
        .query_one(
            "INSERT INTO promotions (model, version, environment, reason, requested_by, status, created_at, tier, gate_json) \
             VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8) RETURNING id",
            &[
                &new.model,
                &version,
                &new.environment.as_str(),
                &new.reason,
                &audit.actor(),
                &at,
                &new.tier.as_str(),
                &new.gate.to_json().to_string(),
            ],
        )
        .await
        .map_err(db_err);
    let id: i64 = match inserted {
        Err(e) if e.kind == ErrorKind::Conflict => {
            return Err(Error::conflict(format!(
                "{}@{} already has a pending request for {}",
                new.model, new.version, new.environment
            )));
        }
        other => other?.col(0)?,
    };
    audit.target = format!("promotion:{id}");
    audit.set_after("id", id.into());
    append_audit(&tx, audit, at).await?;
    let created = promotion(&tx, id).await?.ok_or_else(|| Error::internal("promotion vanished"))?;
    tx.commit().await.map_err(db_err)?;
    Ok(created)
}

/// Fails unless the request exists and is pending; its row stays locked until the end of
/// the transaction, so it cannot be closed meanwhile.
async fn require_pending(tx: &Transaction<'_>, id: i64) -> Result<()> {
    let row = tx.query_opt("SELECT status FROM promotions WHERE id = $1 FOR UPDATE", &[&id]).await.map_err(db_err)?;
    let status: Option<String> = row.map(|r| r.col(0)).transpose()?;
    match status.as_deref() {
        None => Err(Error::not_found(format!("no promotion request {id}"))),
        Some("pending") => Ok(()),
        Some(other) => Err(Error::conflict(format!("promotion request {id} is already {other}"))),
    }
}

pub(super) async fn add_decision(
    client: &mut Client,
    id: i64,
    d: Decision,
    audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<Promotion> {
    let tx = client.transaction().await.map_err(db_err)?;
    require_pending(&tx, id).await?;
    let inserted = tx
        .execute(
            "INSERT INTO promotion_decisions (promotion_id, decided_by, roles, approve, comment, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[&id, &d.by, &roles_text(&d.roles), &d.approve, &d.comment, &d.at],
        )
        .await
        .map_err(db_err);
    match inserted {
        Err(e) if e.kind == ErrorKind::Conflict => {
            return Err(Error::conflict(format!("{} has already decided on promotion request {id}", d.by)));
        }
        other => other?,
    };
    append_audit(&tx, audit, at).await?;
    let after = promotion(&tx, id).await?.ok_or_else(|| Error::internal("promotion vanished"))?;
    tx.commit().await.map_err(db_err)?;
    Ok(after)
}

pub(super) async fn close_promotion(
    client: &mut Client,
    id: i64,
    deployment: Option<NewDeployment>,
    reason: Option<String>,
    mut audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<Promotion> {
    let tx = client.transaction().await.map_err(db_err)?;
    require_pending(&tx, id).await?;
    let status = if deployment.is_some() { PromotionStatus::Completed } else { PromotionStatus::Rejected };
    tx.execute(
        "UPDATE promotions SET status = $1, closed_at = $2, closed_reason = $3 WHERE id = $4",
        &[&status.as_str(), &at, &reason, &id],
    )
    .await
    .map_err(db_err)?;
    if let Some(new) = deployment {
        let by = audit.actor().to_string();
        let replaced = insert_deployment(&tx, &new, &by, at).await?;
        audit.set_after("replaced", replaced.into());
    }
    append_audit(&tx, audit, at).await?;
    let after = promotion(&tx, id).await?.ok_or_else(|| Error::internal("promotion vanished"))?;
    tx.commit().await.map_err(db_err)?;
    Ok(after)
}

/// Ends the current stay in the environment and starts the new one; returns the version
/// that was replaced.
async fn insert_deployment(
    tx: &Transaction<'_>,
    new: &NewDeployment,
    by: &str,
    at: OffsetDateTime,
) -> Result<Option<u32>> {
    let version = require_model_version(tx, &new.model, new.version, true).await?;
    let env = new.environment.as_str();
    let replaced: Option<u32> = tx
        .query_opt(
            "SELECT version FROM deployments WHERE model = $1 AND environment = $2 AND until IS NULL",
            &[&new.model, &env],
        )
        .await
        .map_err(db_err)?
        .map(|r| r.col::<i32>(0))
        .transpose()?
        .map(|v| v as u32);
    tx.execute(
        "UPDATE deployments SET until = $1 WHERE model = $2 AND environment = $3 AND until IS NULL",
        &[&at, &new.model, &env],
    )
    .await
    .map_err(db_err)?;
    tx.execute(
        "INSERT INTO deployments (model, version, environment, since, deployed_by, promotion_id, reason, emergency, \
         digest, key_id, signature) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            &new.model,
            &version,
            &env,
            &at,
            &by,
            &new.promotion_id,
            &new.reason,
            &new.emergency,
            &new.digest.as_str(),
            &new.signature.as_ref().map(|s| s.key_id.clone()),
            &new.signature.as_ref().map(|s| s.signature.clone()),
        ],
    )
    .await
    .map_err(db_err)?;
    Ok(replaced)
}

pub(super) async fn deploy(
    client: &mut Client,
    new: NewDeployment,
    mut audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<Deployment> {
    let tx = client.transaction().await.map_err(db_err)?;
    let by = audit.actor().to_string();
    let replaced = insert_deployment(&tx, &new, &by, at).await?;
    audit.set_after("replaced", replaced.into());
    append_audit(&tx, audit, at).await?;
    tx.commit().await.map_err(db_err)?;
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

/// Every stay of every version of a model, oldest first.
pub(super) async fn deployments(client: &impl GenericClient, model: &str) -> Result<Vec<Deployment>> {
    let rows = client
        .query(&format!("SELECT {DEPLOYMENT_COLUMNS} FROM deployments WHERE model = $1 ORDER BY id"), &[&model])
        .await
        .map_err(db_err)?;
    rows.iter()
        .map(|r| {
            DeploymentRow {
                version: r.col::<i32>(0)? as u32,
                environment: r.col(1)?,
                since: r.col::<OffsetDateTime>(2)?,
                until: r.col(3)?,
                deployed_by: r.col(4)?,
                promotion_id: r.col(5)?,
                reason: r.col(6)?,
                emergency: r.col(7)?,
                digest: r.col(8)?,
                key_id: r.col(9)?,
                signature: r.col(10)?,
            }
            .into_domain(model)
        })
        .collect()
}

#[async_trait]
impl GovernanceStore for PostgresStore {
    async fn set_project_tier(
        &self,
        project: &str,
        tier: Option<Tier>,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Project> {
        set_project_tier(&mut self.client().await?, project, tier, audit, at).await
    }

    async fn add_evidence(&self, new: NewEvidence, audit: AuditRecord, at: OffsetDateTime) -> Result<Evidence> {
        add_evidence(&mut self.client().await?, new, audit, at).await
    }

    async fn evidence(&self, model: &str, version: u32) -> Result<Vec<Evidence>> {
        evidence(&self.client().await?, model, version).await
    }

    async fn create_promotion(&self, new: NewPromotion, audit: AuditRecord, at: OffsetDateTime) -> Result<Promotion> {
        create_promotion(&mut self.client().await?, new, audit, at).await
    }

    async fn promotion(&self, id: i64) -> Result<Option<Promotion>> {
        promotion(&self.client().await?, id).await
    }

    async fn promotions(&self, filter: &PromotionFilter) -> Result<Vec<Promotion>> {
        promotions(&self.client().await?, filter).await
    }

    async fn add_decision(
        &self,
        id: i64,
        decision: Decision,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Promotion> {
        add_decision(&mut self.client().await?, id, decision, audit, at).await
    }

    async fn close_promotion(
        &self,
        id: i64,
        deployment: Option<NewDeployment>,
        reason: Option<String>,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Promotion> {
        close_promotion(&mut self.client().await?, id, deployment, reason, audit, at).await
    }

    async fn deploy(&self, new: NewDeployment, audit: AuditRecord, at: OffsetDateTime) -> Result<Deployment> {
        deploy(&mut self.client().await?, new, audit, at).await
    }

    async fn deployments(&self, model: &str) -> Result<Vec<Deployment>> {
        deployments(&self.client().await?, model).await
    }
}
