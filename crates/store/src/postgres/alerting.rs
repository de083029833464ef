//! PostgreSQL: monitor results, incidents, webhooks and their delivery queue.
//!
//! The same outcomes as SQLite's one writer at a time, with several replicas: an
//! incident's row is locked (`FOR UPDATE`) while its state is checked and changed, and the
//! webhooks a delivery is queued for are locked (`FOR SHARE`) until the queuing
//! transaction ends, so that a webhook removed meanwhile never keeps a pending delivery.

use super::{PostgresStore, RowExt, append_audit, db_err};
use crate::rows::alerting::{
    DELIVERY_COLUMNS, DeliveryRow, INCIDENT_COLUMNS, IncidentRow, WEBHOOK_COLUMNS, WebhookRow,
};
use async_trait::async_trait;
use deadpool_postgres::{Client, GenericClient, Transaction};
use riskops_core::audit::AuditRecord;
use riskops_core::incident::{
    AttemptOutcome, Delivery, DueWindow, EvaluationWrite, Incident, IncidentFilter, IncidentState, MonitorResult,
    NewWebhook, Webhook,
};
use riskops_core::store::AlertingStore;
use riskops_core::{Error, Result};
use time::OffsetDateTime;

/// A version number as stored (INTEGER).
fn stored_version(version: u32) -> Result<i32> {
    i32::try_from(version).map_err(|_| Error::invalid("version", format!("{version} is too large")))
}

/// A row limit as PostgreSQL takes it (SQLite reads a negative limit as none).
fn row_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

pub(super) async fn due_windows(
    client: &impl GenericClient,
    now: i64,
    quiet_since: i64,
    limit: usize,
) -> Result<Vec<DueWindow>> {
    let rows = client
        .query(
            r#"SELECT w.model, w.version, w.start_ts, w.end_ts, w.rev FROM monitoring_windows w
               WHERE w.evaluated_rev < w.rev AND (
                   EXISTS (SELECT 1 FROM monitoring_windows n
                           WHERE n.model = w.model AND n.start_ts >= w.end_ts AND n.start_ts <= $1)
                   OR (w.end_ts <= $1 AND w.touched_unix <= $2))
               ORDER BY w.model COLLATE "C", w.start_ts, w.version LIMIT $3"#,
            &[&now, &quiet_since, &row_limit(limit)],
        )
        .await
        .map_err(db_err)?;
    rows.iter()
        .map(|r| {
            Ok(DueWindow {
                model: r.col(0)?,
                version: r.col::<i32>(1)? as u32,
                start: r.col(2)?,
                end: r.col(3)?,
                rev: r.col(4)?,
            })
        })
        .collect()
}

pub(super) async fn monitor_results(
    client: &impl GenericClient,
    model: &str,
    version: u32,
    monitor_id: &str,
) -> Result<Vec<MonitorResult>> {
    // Never stored: no result has it.
    let Ok(version) = i32::try_from(version) else { return Ok(Vec::new()) };
    let rows = client
        .query(
            "SELECT version, window_start, window_end, monitor_id, value, at, breached, incident_id \
             FROM monitor_results WHERE model = $1 AND version = $2 AND monitor_id = $3 ORDER BY window_start",
            &[&model, &version, &monitor_id],
        )
        .await
        .map_err(db_err)?;
    rows.iter()
        .map(|r| {
            Ok(MonitorResult {
                version: r.col::<i32>(0)? as u32,
                window_start: r.col(1)?,
                window_end: r.col(2)?,
                monitor_id: r.col(3)?,
                value: r.col(4)?,
                at: r.col(5)?,
                breached: r.col(6)?,
                incident_id: r.col(7)?,
            })
        })
        .collect()
}

pub(super) async fn commit_evaluation(
    client: &mut Client,
    w: EvaluationWrite,
    audits: Vec<AuditRecord>,
    at: OffsetDateTime,
) -> Result<Vec<i64>> {
    let tx = client.transaction().await.map_err(db_err)?;
    if !w.evaluated.is_empty() {
        // Marks first: a window written, or judged by another server, since it was read
        // makes the whole pass a conflict (it is judged again from fresh state). Rows are
        // locked in the order ingestion writes them (version, then start), so that an
        // evaluation and an ingest touching the same windows never deadlock.
        let mark = tx
            .prepare(
                "UPDATE monitoring_windows SET evaluated_rev = $1 \
                 WHERE model = $2 AND version = $3 AND start_ts = $4 AND rev = $1 AND evaluated_rev < $1",
            )
            .await
            .map_err(db_err)?;
        let mut evaluated = w.evaluated.clone();
        evaluated.sort_unstable();
        for (version, start, rev) in &evaluated {
            let stored = stored_version(*version)?;
            if tx.execute(&mark, &[rev, &w.model, &stored, start]).await.map_err(db_err)? != 1 {
                return Err(Error::conflict(format!("window {start} of {}@{version} changed meanwhile", w.model)));
            }
        }
    }
    if !w.results.is_empty() {
        let upsert = tx
            .prepare(
                "INSERT INTO monitor_results (model, version, window_start, monitor_id, window_end, value, at, breached) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (model, version, monitor_id, window_start) DO UPDATE SET \
                 value = EXCLUDED.value, at = EXCLUDED.at, breached = EXCLUDED.breached",
            )
            .await
            .map_err(db_err)?;
        for r in &w.results {
            let version = stored_version(r.version)?;
            tx.execute(
                &upsert,
                &[&w.model, &version, &r.window_start, &r.monitor_id, &r.window_end, &r.value, &r.at, &r.breached],
            )
            .await
            .map_err(db_err)?;
        }
    }
    let mut opened = Vec::with_capacity(w.opened.len());
    for i in &w.opened {
        let version = stored_version(i.version)?;
        let first = i.windows.iter().min().copied().unwrap_or_default();
        let last = i.windows.iter().max().copied().unwrap_or_default();
        let count = i32::try_from(i.windows.len()).map_err(|_| Error::invalid("windows", "too many"))?;
        let row = tx
            .query_one(
                "INSERT INTO incidents (project, model, version, monitor_id, monitor, severity, state, title, \
                 first_window, last_window, windows, evidence, advice, opened_at, updated_at, risk_action) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, $9, $10, $11, $12, $13, $13, 'raise') RETURNING id",
                &[
                    &i.project,
                    &i.model,
                    &version,
                    &i.monitor_id,
                    &i.monitor.to_string(),
                    &i.severity.as_str(),
                    &i.title,
                    &first,
                    &last,
                    &count,
                    &i.evidence.to_string(),
                    &i.advice.as_ref().map(|a| a.to_string()),
                    &at,
                ],
            )
            .await
            .map_err(db_err)?;
        let id: i64 = row.col(0)?;
        attach_windows(&tx, &w.model, version, &i.monitor_id, id, &i.windows).await?;
        queue_deliveries(&tx, &i.project, id, "incident.opened", at).await?;
        opened.push(id);
    }
    for x in &w.extended {
        let row = tx
            .query_opt("SELECT model, version, monitor_id, state FROM incidents WHERE id = $1 FOR UPDATE", &[&x.id])
            .await
            .map_err(db_err)?
            .ok_or_else(|| Error::internal(format!("incident {} to extend does not exist", x.id)))?;
        let (model, version, monitor_id): (String, i32, String) = (row.col(0)?, row.col(1)?, row.col(2)?);
        if row.col::<&str>(3)? == "resolved" {
            // Resolved since it was read: the next pass opens a new incident instead.
            return Err(Error::conflict(format!("incident {} was resolved meanwhile", x.id)));
        }
        attach_windows(&tx, &w.model, version, &monitor_id, x.id, &x.windows).await?;
        // An incident's results are those of its model version and monitor: the primary
        // key's prefix finds them.
        tx.execute(
            "UPDATE incidents SET evidence = $1, advice = COALESCE($2, advice), updated_at = $3, \
             (first_window, last_window, windows) = ( \
                 SELECT MIN(window_start), MAX(window_start), COUNT(*) FROM monitor_results \
                 WHERE model = $5 AND version = $6 AND monitor_id = $7 AND incident_id = $4) \
             WHERE id = $4",
            &[
                &x.evidence.to_string(),
                &x.advice.as_ref().map(|a| a.to_string()),
                &at,
                &x.id,
                &model,
                &version,
                &monitor_id,
            ],
        )
        .await
        .map_err(db_err)?;
    }
    for r in &w.refreshed {
        // Resolved since it was read: a person's resolution stands, this pass runs again.
        let changed = tx
            .execute(
                "UPDATE incidents SET evidence = $1, updated_at = $2 WHERE id = $3 AND state <> 'resolved'",
                &[&r.evidence.to_string(), &at, &r.id],
            )
            .await
            .map_err(db_err)?;
        if changed != 1 {
            return Err(Error::conflict(format!("incident {} was resolved meanwhile", r.id)));
        }
    }
    for r in &w.resolved {
        let changed = tx
            .execute(
                "UPDATE incidents SET state = 'resolved', resolved_by = 'system', resolved_at = $1, updated_at = $1, \
                 risk_action = 'lower', evidence = $2, note = $3 WHERE id = $4 AND state <> 'resolved'",
                &[&at, &r.evidence.to_string(), &r.reason, &r.id],
            )
            .await
            .map_err(db_err)?;
        if changed != 1 {
            return Err(Error::conflict(format!("incident {} was resolved meanwhile", r.id)));
        }
        queue_deliveries(&tx, &r.project, r.id, "incident.resolved", at).await?;
    }
    for audit in audits {
        append_audit(&tx, audit, at).await?;
    }
    tx.commit().await.map_err(db_err)?;
    Ok(opened)
}

/// Points the results of `windows` that belong to no incident yet at `incident`.
async fn attach_windows(
    tx: &Transaction<'_>,
    model: &str,
    version: i32,
    monitor_id: &str,
    incident: i64,
    windows: &[i64],
) -> Result<()> {
    if windows.is_empty() {
        return Ok(());
    }
    tx.execute(
        "UPDATE monitor_results SET incident_id = $1 \
         WHERE model = $2 AND version = $3 AND monitor_id = $4 AND window_start = ANY($5) AND incident_id IS NULL",
        &[&incident, &model, &version, &monitor_id, &windows],
    )
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Queues `event` for every webhook of the project (the outbox). The webhooks stay locked
/// until the transaction ends: a removal waits, and then fails these deliveries too.
async fn queue_deliveries(
    tx: &Transaction<'_>,
    project: &str,
    incident: i64,
    event: &str,
    at: OffsetDateTime,
) -> Result<()> {
    // Each delivery keeps the incident as it is now, in the transaction of the event (called
    // after the incident was written).
    let snapshot = incident_by_id(tx, incident)
        .await?
        .ok_or_else(|| Error::internal(format!("incident {incident} to notify of does not exist")))?
        .to_json()
        .to_string();
    tx.execute(
        "INSERT INTO webhook_deliveries \
         (webhook_id, incident_id, event, state, attempts, next_attempt_at, created_at, incident_json) \
         SELECT id, $1, $2, 'pending', 0, $3, $4, $6 FROM webhooks WHERE project = $5 AND NOT removed ORDER BY id FOR SHARE",
        &[&incident, &event, &at.unix_timestamp(), &at, &project, &snapshot],
    )
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Decodes a row selected with [`INCIDENT_COLUMNS`].
fn incident(r: &tokio_postgres::Row) -> Result<Incident> {
    IncidentRow {
        id: r.col(0)?,
        project: r.col(1)?,
        model: r.col(2)?,
        version: r.col::<i32>(3)? as u32,
        monitor_id: r.col(4)?,
        monitor: r.col(5)?,
        severity: r.col(6)?,
        state: r.col(7)?,
        title: r.col(8)?,
        first_window: r.col(9)?,
        last_window: r.col(10)?,
        windows: r.col::<i32>(11)?.max(0) as u32,
        evidence: r.col(12)?,
        advice: r.col(13)?,
        raised_risks: r.col(14)?,
        opened_at: r.col::<OffsetDateTime>(15)?,
        updated_at: r.col(16)?,
        acknowledged_by: r.col(17)?,
        acknowledged_at: r.col(18)?,
        resolved_by: r.col(19)?,
        resolved_at: r.col(20)?,
        note: r.col(21)?,
        risk_action: r.col(22)?,
    }
    .into_domain()
}

pub(super) async fn incidents(client: &impl GenericClient, f: &IncidentFilter) -> Result<Vec<Incident>> {
    let rows = client
        .query(
            &format!(
                "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE ($1::TEXT IS NULL OR project = $1) \
                 AND ($2::TEXT IS NULL OR model = $2) AND ($3::TEXT IS NULL OR state = $3) ORDER BY id DESC"
            ),
            &[&f.project, &f.model, &f.state.map(IncidentState::as_str)],
        )
        .await
        .map_err(db_err)?;
    rows.iter().map(incident).collect()
}

pub(super) async fn incident_by_id(client: &impl GenericClient, id: i64) -> Result<Option<Incident>> {
    let row = client
        .query_opt(&format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1"), &[&id])
        .await
        .map_err(db_err)?;
    row.as_ref().map(incident).transpose()
}

pub(super) async fn set_incident_state(
    client: &mut Client,
    id: i64,
    state: IncidentState,
    note: &str,
    audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<Incident> {
    let tx = client.transaction().await.map_err(db_err)?;
    // Locked until commit: of two concurrent acknowledgements, the second sees the first's.
    let row = tx
        .query_opt("SELECT state, project FROM incidents WHERE id = $1 FOR UPDATE", &[&id])
        .await
        .map_err(db_err)?
        .ok_or_else(|| Error::not_found(format!("no incident {id}")))?;
    let (current, project): (&str, String) = (row.col(0)?, row.col(1)?);
    let current = IncidentState::parse("state", current)?;
    if current == IncidentState::Resolved || current == state {
        return Err(Error::conflict(format!("incident {id} is {} already", current.as_str())));
    }
    let actor = audit.actor().to_string();
    let sql = match state {
        IncidentState::Acknowledged => {
            "UPDATE incidents SET state = 'acknowledged', acknowledged_by = $1, acknowledged_at = $2, updated_at = $2, \
             note = CASE WHEN $3::TEXT = '' THEN note ELSE $3 END WHERE id = $4"
        }
        IncidentState::Resolved => {
            "UPDATE incidents SET state = 'resolved', resolved_by = $1, resolved_at = $2, updated_at = $2, risk_action = 'lower', \
             note = CASE WHEN $3::TEXT = '' THEN note ELSE $3 END WHERE id = $4"
        }
        IncidentState::Open => return Err(Error::invalid("state", "an incident cannot be reopened; a new one opens")),
    };
    tx.execute(sql, &[&actor, &at, &note, &id]).await.map_err(db_err)?;
    queue_deliveries(&tx, &project, id, &format!("incident.{}", state.as_str()), at).await?;
    append_audit(&tx, audit, at).await?;
    let updated = incident_by_id(&tx, id).await?.ok_or_else(|| Error::internal("incident vanished"))?;
    tx.commit().await.map_err(db_err)?;
    Ok(updated)
}

pub(super) async fn set_incident_risks(
    client: &mut Client,
    id: i64,
    risks: &[i64],
    audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<()> {
    let tx = client.transaction().await.map_err(db_err)?;
    let text = serde_json::to_string(risks).map_err(|e| Error::internal(e.to_string()))?;
    let sql = "UPDATE incidents SET raised_risks = $1, risk_action = NULL WHERE id = $2";
    if tx.execute(sql, &[&text, &id]).await.map_err(db_err)? != 1 {
        return Err(Error::not_found(format!("no incident {id}")));
    }
    append_audit(&tx, audit, at).await?;
    tx.commit().await.map_err(db_err)
}

/// Decodes a row selected with [`WEBHOOK_COLUMNS`].
fn webhook(r: &tokio_postgres::Row) -> Result<Webhook> {
    WebhookRow {
        id: r.col(0)?,
        project: r.col(1)?,
        url: r.col(2)?,
        secret: r.col(3)?,
        format: r.col(4)?,
        created_by: r.col(5)?,
        created_at: r.col::<OffsetDateTime>(6)?,
    }
    .into_domain()
}

pub(super) async fn add_webhook(
    client: &mut Client,
    new: NewWebhook,
    audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<Webhook> {
    let tx = client.transaction().await.map_err(db_err)?;
    let by = audit.actor().to_string();
    let row = tx
        .query_one(
            &format!(
                "INSERT INTO webhooks (project, url, secret, format, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING {WEBHOOK_COLUMNS}"
            ),
            &[&new.project, &new.url, new.secret.expose(), &new.format.as_str(), &by, &at],
        )
        .await
        .map_err(db_err)?;
    let created = webhook(&row)?;
    append_audit(&tx, audit, at).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(created)
}

pub(super) async fn webhooks(client: &impl GenericClient, project: &str) -> Result<Vec<Webhook>> {
    let rows = client
        .query(
            &format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE project = $1 AND NOT removed ORDER BY id"),
            &[&project],
        )
        .await
        .map_err(db_err)?;
    rows.iter().map(webhook).collect()
}

pub(super) async fn webhook_by_id(client: &impl GenericClient, id: i64) -> Result<Option<Webhook>> {
    let row = client
        .query_opt(&format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1 AND NOT removed"), &[&id])
        .await
        .map_err(db_err)?;
    row.as_ref().map(webhook).transpose()
}

pub(super) async fn remove_webhook(client: &mut Client, id: i64, audit: AuditRecord, at: OffsetDateTime) -> Result<()> {
    let tx = client.transaction().await.map_err(db_err)?;
    // Waits for transactions queuing deliveries to it; their deliveries are failed below.
    if tx.execute("UPDATE webhooks SET removed = TRUE WHERE id = $1 AND NOT removed", &[&id]).await.map_err(db_err)?
        != 1
    {
        return Err(Error::not_found(format!("no webhook {id}")));
    }
    tx.execute(
        "UPDATE webhook_deliveries SET state = 'failed', last_error = 'webhook removed' \
         WHERE webhook_id = $1 AND state = 'pending'",
        &[&id],
    )
    .await
    .map_err(db_err)?;
    append_audit(&tx, audit, at).await?;
    tx.commit().await.map_err(db_err)
}

/// Decodes a row selected with [`DELIVERY_COLUMNS`].
fn delivery(r: &tokio_postgres::Row) -> Result<Delivery> {
    DeliveryRow {
        id: r.col(0)?,
        webhook_id: r.col(1)?,
        incident_id: r.col(2)?,
        event: r.col(3)?,
        state: r.col(4)?,
        attempts: r.col::<i32>(5)?.max(0) as u32,
        next_attempt_at: r.col(6)?,
        last_status: r.col::<Option<i32>>(7)?.and_then(|s| u16::try_from(s).ok()),
        last_error: r.col(8)?,
        created_at: r.col::<OffsetDateTime>(9)?,
        delivered_at: r.col(10)?,
        incident_json: r.col(11)?,
    }
    .into_domain()
}

pub(super) async fn due_deliveries(client: &impl GenericClient, now: i64, limit: usize) -> Result<Vec<Delivery>> {
    let rows = client
        .query(
            &format!(
                "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d WHERE d.state = 'pending' AND d.next_attempt_at <= $1 \
                 ORDER BY d.next_attempt_at, d.id LIMIT $2"
            ),
            &[&now, &row_limit(limit)],
        )
        .await
        .map_err(db_err)?;
    rows.iter().map(delivery).collect()
}

pub(super) async fn record_attempt(
    client: &impl GenericClient,
    id: i64,
    outcome: &AttemptOutcome,
    at: OffsetDateTime,
) -> Result<()> {
    match outcome {
        AttemptOutcome::Delivered { status } => {
            client
                .execute(
                    "UPDATE webhook_deliveries SET state = 'delivered', attempts = attempts + 1, last_status = $1, \
                     last_error = NULL, delivered_at = $2 WHERE id = $3 AND state = 'pending'",
                    &[&i32::from(*status), &at, &id],
                )
                .await
        }
        AttemptOutcome::Failed { status, error, retry_at } => client
            .execute(
                "UPDATE webhook_deliveries SET state = CASE WHEN $1::BIGINT IS NULL THEN 'failed' ELSE 'pending' END, \
                     attempts = attempts + 1, last_status = $2, last_error = $3, \
                     next_attempt_at = COALESCE($1, next_attempt_at) WHERE id = $4 AND state = 'pending'",
                &[retry_at, &status.map(i32::from), error, &id],
            )
            .await,
    }
    .map_err(db_err)?;
    Ok(())
}

pub(super) async fn deliveries(
    client: &impl GenericClient,
    project: &str,
    webhook: Option<i64>,
    limit: usize,
) -> Result<Vec<Delivery>> {
    let rows = client
        .query(
            &format!(
                "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
                 WHERE w.project = $1 AND ($2::BIGINT IS NULL OR d.webhook_id = $2) ORDER BY d.id DESC LIMIT $3"
            ),
            &[&project, &webhook, &row_limit(limit)],
        )
        .await
        .map_err(db_err)?;
    rows.iter().map(delivery).collect()
}

pub(super) async fn incidents_owing_risk_changes(client: &impl GenericClient, limit: usize) -> Result<Vec<Incident>> {
    let sql = format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE risk_action IS NOT NULL ORDER BY id LIMIT $1");
    client.query(&sql, &[&row_limit(limit)]).await.map_err(db_err)?.iter().map(incident).collect()
}

pub(super) async fn claim_delivery(
    client: &impl GenericClient,
    id: i64,
    expected_next: i64,
    lease_until: i64,
) -> Result<bool> {
    let n = client
        .execute(
            "UPDATE webhook_deliveries SET next_attempt_at = $1 WHERE id = $2 AND state = 'pending' AND next_attempt_at = $3",
            &[&lease_until, &id, &expected_next],
        )
        .await
        .map_err(db_err)?;
    Ok(n == 1)
}

#[async_trait]
impl AlertingStore for PostgresStore {
    async fn due_windows(&self, now: i64, quiet_since: i64, limit: usize) -> Result<Vec<DueWindow>> {
        due_windows(&self.client().await?, now, quiet_since, limit).await
    }

    async fn monitor_results(&self, model: &str, version: u32, monitor_id: &str) -> Result<Vec<MonitorResult>> {
        monitor_results(&self.client().await?, model, version, monitor_id).await
    }

    async fn commit_evaluation(
        &self,
        write: EvaluationWrite,
        audits: Vec<AuditRecord>,
        at: OffsetDateTime,
    ) -> Result<Vec<i64>> {
        commit_evaluation(&mut self.client().await?, write, audits, at).await
    }

    async fn incidents(&self, filter: &IncidentFilter) -> Result<Vec<Incident>> {
        incidents(&self.client().await?, filter).await
    }

    async fn incident(&self, id: i64) -> Result<Option<Incident>> {
        incident_by_id(&self.client().await?, id).await
    }

    async fn set_incident_state(
        &self,
        id: i64,
        state: IncidentState,
        note: &str,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Incident> {
        set_incident_state(&mut self.client().await?, id, state, note, audit, at).await
    }

    async fn set_incident_risks(&self, id: i64, risks: &[i64], audit: AuditRecord, at: OffsetDateTime) -> Result<()> {
        set_incident_risks(&mut self.client().await?, id, risks, audit, at).await
    }

    async fn incidents_owing_risk_changes(&self, limit: usize) -> Result<Vec<Incident>> {
        incidents_owing_risk_changes(&self.client().await?, limit).await
    }

    async fn claim_delivery(&self, id: i64, expected_next: i64, lease_until: i64) -> Result<bool> {
        claim_delivery(&self.client().await?, id, expected_next, lease_until).await
    }

    async fn add_webhook(&self, new: NewWebhook, audit: AuditRecord, at: OffsetDateTime) -> Result<Webhook> {
        add_webhook(&mut self.client().await?, new, audit, at).await
    }

    async fn webhooks(&self, project: &str) -> Result<Vec<Webhook>> {
        webhooks(&self.client().await?, project).await
    }

    async fn webhook(&self, id: i64) -> Result<Option<Webhook>> {
        webhook_by_id(&self.client().await?, id).await
    }

    async fn remove_webhook(&self, id: i64, audit: AuditRecord, at: OffsetDateTime) -> Result<()> {
        remove_webhook(&mut self.client().await?, id, audit, at).await
    }

    async fn due_deliveries(&self, now: i64, limit: usize) -> Result<Vec<Delivery>> {
        due_deliveries(&self.client().await?, now, limit).await
    }

    async fn record_attempt(&self, id: i64, outcome: &AttemptOutcome, at: OffsetDateTime) -> Result<()> {
        record_attempt(&self.client().await?, id, outcome, at).await
    }

    async fn deliveries(&self, project: &str, webhook: Option<i64>, limit: usize) -> Result<Vec<Delivery>> {
        deliveries(&self.client().await?, project, webhook, limit).await
    }
}
