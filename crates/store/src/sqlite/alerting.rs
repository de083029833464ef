//! SQLite: monitor results, incidents, webhooks and their delivery queue.

use super::{SqliteStore, append_audit, db_err, time_text};
use crate::rows::alerting::{
    DELIVERY_COLUMNS, DeliveryRow, INCIDENT_COLUMNS, IncidentRow, WEBHOOK_COLUMNS, WebhookRow,
};
use async_trait::async_trait;
use riskops_core::audit::AuditRecord;
use riskops_core::incident::{
    AttemptOutcome, Delivery, DueWindow, EvaluationWrite, Incident, IncidentFilter, IncidentState, MonitorResult,
    NewWebhook, Webhook,
};
use riskops_core::store::AlertingStore;
use riskops_core::{Error, Result};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use time::OffsetDateTime;

pub(super) fn due_windows(conn: &Connection, now: i64, quiet_since: i64, limit: usize) -> Result<Vec<DueWindow>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT w.model, w.version, w.start_ts, w.end_ts, w.rev FROM monitoring_windows w \
             WHERE w.evaluated_rev < w.rev AND ( \
                 EXISTS (SELECT 1 FROM monitoring_windows n WHERE n.model = w.model AND n.start_ts >= w.end_ts AND n.start_ts <= ?1) \
                 OR (w.end_ts <= ?1 AND w.touched_unix <= ?2)) \
             ORDER BY w.model, w.start_ts, w.version LIMIT ?3",
        )
        .map_err(db_err)?;
    let rows = stmt
        .query_map(params![now, quiet_since, limit as i64], |r| {
            Ok(DueWindow { model: r.get(0)?, version: r.get(1)?, start: r.get(2)?, end: r.get(3)?, rev: r.get(4)? })
        })
        .map_err(db_err)?;
    rows.collect::<rusqlite::Result<_>>().map_err(db_err)
}

pub(super) fn monitor_results(
    conn: &Connection,
    model: &str,
    version: u32,
    monitor_id: &str,
) -> Result<Vec<MonitorResult>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT version, window_start, window_end, monitor_id, value, at, breached, incident_id \
             FROM monitor_results WHERE model = ?1 AND version = ?2 AND monitor_id = ?3 ORDER BY window_start",
        )
        .map_err(db_err)?;
    let rows = stmt
        .query_map(params![model, version, monitor_id], |r| {
            Ok(MonitorResult {
                version: r.get(0)?,
                window_start: r.get(1)?,
                window_end: r.get(2)?,
                monitor_id: r.get(3)?,
                value: r.get(4)?,
                at: r.get(5)?,
                breached: r.get(6)?,
                incident_id: r.get(7)?,
            })
        })
        .map_err(db_err)?;
    rows.collect::<rusqlite::Result<_>>().map_err(db_err)
}

pub(super) fn commit_evaluation(
    conn: &mut Connection,
    w: EvaluationWrite,
    audits: Vec<AuditRecord>,
    at: OffsetDateTime,
) -> Result<Vec<i64>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
    let now = time_text(at);
    {
        // Marks first: a window written, or judged by another server, since it was read
        // makes the whole pass a conflict (it is judged again from fresh state).
        let mut mark = tx
            .prepare_cached(
                "UPDATE monitoring_windows SET evaluated_rev = ?1 \
                 WHERE model = ?2 AND version = ?3 AND start_ts = ?4 AND rev = ?1 AND evaluated_rev < ?1",
            )
            .map_err(db_err)?;
        for (version, start, rev) in &w.evaluated {
            if mark.execute(params![rev, w.model, version, start]).map_err(db_err)? != 1 {
                return Err(Error::conflict(format!("window {start} of {}@{version} changed meanwhile", w.model)));
            }
        }
        let mut upsert = tx
            .prepare_cached(
                "INSERT INTO monitor_results (model, version, window_start, monitor_id, window_end, value, at, breached) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
                 ON CONFLICT (model, version, monitor_id, window_start) DO UPDATE SET \
                 value = excluded.value, at = excluded.at, breached = excluded.breached",
            )
            .map_err(db_err)?;
        for r in &w.results {
            upsert
                .execute(params![
                    w.model,
                    r.version,
                    r.window_start,
                    r.monitor_id,
                    r.window_end,
                    r.value,
                    r.at,
                    r.breached
                ])
                .map_err(db_err)?;
        }
    }
    let mut opened = Vec::with_capacity(w.opened.len());
    for i in &w.opened {
        let first = i.windows.iter().min().copied().unwrap_or_default();
        let last = i.windows.iter().max().copied().unwrap_or_default();
        tx.execute(
            "INSERT INTO incidents (project, model, version, monitor_id, monitor, severity, state, title, \
             first_window, last_window, windows, evidence, advice, opened_at, updated_at, risk_action) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'open', ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, 'raise')",
            params![
                i.project,
                i.model,
                i.version,
                i.monitor_id,
                i.monitor.to_string(),
                i.severity.as_str(),
                i.title,
                first,
                last,
                i.windows.len() as i64,
                i.evidence.to_string(),
                i.advice.as_ref().map(|a| a.to_string()),
                now
            ],
        )
        .map_err(db_err)?;
        let id = tx.last_insert_rowid();
        attach_windows(&tx, &w.model, i.version, &i.monitor_id, id, &i.windows)?;
        queue_deliveries(&tx, &i.project, id, "incident.opened", at)?;
        opened.push(id);
    }
    for x in &w.extended {
        let (model, version, monitor_id, state): (String, u32, String, String) = tx
            .query_row("SELECT model, version, monitor_id, state FROM incidents WHERE id = ?1", params![x.id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .map_err(db_err)?;
        if state == "resolved" {
            // Resolved since it was read: the next pass opens a new incident instead.
            return Err(Error::conflict(format!("incident {} was resolved meanwhile", x.id)));
        }
        attach_windows(&tx, &w.model, version, &monitor_id, x.id, &x.windows)?;
        // An incident's results are those of its model version and monitor: the primary
        // key's prefix finds them (incident_id alone would scan every result).
        tx.execute(
            "UPDATE incidents SET evidence = ?1, advice = COALESCE(?2, advice), updated_at = ?3, \
             (first_window, last_window, windows) = ( \
                 SELECT MIN(window_start), MAX(window_start), COUNT(*) FROM monitor_results \
                 WHERE model = ?5 AND version = ?6 AND monitor_id = ?7 AND incident_id = ?4) \
             WHERE id = ?4",
            params![
                x.evidence.to_string(),
                x.advice.as_ref().map(|a| a.to_string()),
                now,
                x.id,
                model,
                version,
                monitor_id
            ],
        )
        .map_err(db_err)?;
    }
    for r in &w.refreshed {
        // Resolved since it was read: a person's resolution stands, this pass runs again.
        let changed = tx
            .execute(
                "UPDATE incidents SET evidence = ?1, updated_at = ?2 WHERE id = ?3 AND state <> 'resolved'",
                params![r.evidence.to_string(), now, r.id],
            )
            .map_err(db_err)?;
        if changed != 1 {
            return Err(Error::conflict(format!("incident {} was resolved meanwhile", r.id)));
        }
    }
    for r in &w.resolved {
        let changed = tx
            .execute(
                "UPDATE incidents SET state = 'resolved', resolved_by = 'system', resolved_at = ?1, updated_at = ?1, \
                 risk_action = 'lower', evidence = ?2, note = ?3 WHERE id = ?4 AND state <> 'resolved'",
                params![now, r.evidence.to_string(), r.reason, r.id],
            )
            .map_err(db_err)?;
        if changed != 1 {
            return Err(Error::conflict(format!("incident {} was resolved meanwhile", r.id)));
        }
        queue_deliveries(&tx, &r.project, r.id, "incident.resolved", at)?;
    }
    for audit in audits {
        append_audit(&tx, audit, at)?;
    }
    tx.commit().map_err(db_err)?;
    Ok(opened)
}

fn attach_windows(
    tx: &Transaction<'_>,
    model: &str,
    version: u32,
    monitor_id: &str,
    incident: i64,
    windows: &[i64],
) -> Result<()> {
    let mut stmt = tx
        .prepare_cached(
            "UPDATE monitor_results SET incident_id = ?1 \
             WHERE model = ?2 AND version = ?3 AND monitor_id = ?4 AND window_start = ?5 AND incident_id IS NULL",
        )
        .map_err(db_err)?;
    for start in windows {
        stmt.execute(params![incident, model, version, monitor_id, start]).map_err(db_err)?;
    }
    Ok(())
}

/// Queues `event` for every webhook of the project (the outbox), each with the incident as
/// it is now, in the transaction of the event (called after the incident was written).
fn queue_deliveries(tx: &Transaction<'_>, project: &str, incident: i64, event: &str, at: OffsetDateTime) -> Result<()> {
    let snapshot = incident_by_id(tx, incident)?
        .ok_or_else(|| Error::internal(format!("incident {incident} to notify of does not exist")))?
        .to_json()
        .to_string();
    tx.execute(
        "INSERT INTO webhook_deliveries \
         (webhook_id, incident_id, event, state, attempts, next_attempt_at, created_at, incident_json) \
         SELECT id, ?1, ?2, 'pending', 0, ?3, ?4, ?6 FROM webhooks WHERE project = ?5 AND removed = 0",
        params![incident, event, at.unix_timestamp(), time_text(at), project, snapshot],
    )
    .map_err(db_err)?;
    Ok(())
}

/// Decodes a row selected with [`INCIDENT_COLUMNS`].
fn incident_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<IncidentRow<String>> {
    Ok(IncidentRow {
        id: r.get(0)?,
        project: r.get(1)?,
        model: r.get(2)?,
        version: r.get(3)?,
        monitor_id: r.get(4)?,
        monitor: r.get(5)?,
        severity: r.get(6)?,
        state: r.get(7)?,
        title: r.get(8)?,
        first_window: r.get(9)?,
        last_window: r.get(10)?,
        windows: r.get(11)?,
        evidence: r.get(12)?,
        advice: r.get(13)?,
        raised_risks: r.get(14)?,
        opened_at: r.get(15)?,
        updated_at: r.get(16)?,
        acknowledged_by: r.get(17)?,
        acknowledged_at: r.get(18)?,
        resolved_by: r.get(19)?,
        resolved_at: r.get(20)?,
        note: r.get(21)?,
        risk_action: r.get(22)?,
    })
}

pub(super) fn incidents(conn: &Connection, f: &IncidentFilter) -> Result<Vec<Incident>> {
    let sql = format!(
        "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE (?1 IS NULL OR project = ?1) AND (?2 IS NULL OR model = ?2) \
         AND (?3 IS NULL OR state = ?3) ORDER BY id DESC"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
    let rows = stmt
        .query_map(params![f.project, f.model, f.state.map(IncidentState::as_str)], incident_row)
        .map_err(db_err)?;
    rows.map(|r| r.map_err(db_err)?.into_domain()).collect()
}

pub(super) fn incident_by_id(conn: &Connection, id: i64) -> Result<Option<Incident>> {
    let sql = format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = ?1");
    conn.query_row(&sql, params![id], incident_row)
        .optional()
        .map_err(db_err)?
        .map(IncidentRow::into_domain)
        .transpose()
}

pub(super) fn set_incident_state(
    conn: &mut Connection,
    id: i64,
    state: IncidentState,
    note: &str,
    audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<Incident> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
    let current = incident_by_id(&tx, id)?.ok_or_else(|| Error::not_found(format!("no incident {id}")))?;
    if current.state == IncidentState::Resolved || current.state == state {
        return Err(Error::conflict(format!("incident {id} is {} already", current.state.as_str())));
    }
    let now = time_text(at);
    let actor = audit.actor().to_string();
    let sql = match state {
        IncidentState::Acknowledged => {
            "UPDATE incidents SET state = 'acknowledged', acknowledged_by = ?1, acknowledged_at = ?2, updated_at = ?2, \
             note = CASE WHEN ?3 = '' THEN note ELSE ?3 END WHERE id = ?4"
        }
        IncidentState::Resolved => {
            "UPDATE incidents SET state = 'resolved', resolved_by = ?1, resolved_at = ?2, updated_at = ?2, risk_action = 'lower', \
             note = CASE WHEN ?3 = '' THEN note ELSE ?3 END WHERE id = ?4"
        }
        IncidentState::Open => return Err(Error::invalid("state", "an incident cannot be reopened; a new one opens")),
    };
    tx.execute(sql, params![actor, now, note, id]).map_err(db_err)?;
    queue_deliveries(&tx, &current.project, id, &format!("incident.{}", state.as_str()), at)?;
    append_audit(&tx, audit, at)?;
    let updated = incident_by_id(&tx, id)?.ok_or_else(|| Error::internal("incident vanished"))?;
    tx.commit().map_err(db_err)?;
    Ok(updated)
}

pub(super) fn set_incident_risks(
    conn: &mut Connection,
    id: i64,
    risks: &[i64],
    audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
    let text = serde_json::to_string(risks).map_err(|e| Error::internal(e.to_string()))?;
    if tx
        .execute("UPDATE incidents SET raised_risks = ?1, risk_action = NULL WHERE id = ?2", params![text, id])
        .map_err(db_err)?
        != 1
    {
        return Err(Error::not_found(format!("no incident {id}")));
    }
    append_audit(&tx, audit, at)?;
    tx.commit().map_err(db_err)
}

/// Decodes a row selected with [`WEBHOOK_COLUMNS`].
fn webhook(r: &rusqlite::Row<'_>) -> rusqlite::Result<WebhookRow<String>> {
    Ok(WebhookRow {
        id: r.get(0)?,
        project: r.get(1)?,
        url: r.get(2)?,
        secret: r.get(3)?,
        format: r.get(4)?,
        created_by: r.get(5)?,
        created_at: r.get(6)?,
    })
}

pub(super) fn add_webhook(
    conn: &mut Connection,
    new: NewWebhook,
    audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<Webhook> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
    tx.execute(
        "INSERT INTO webhooks (project, url, secret, format, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![new.project, new.url, new.secret.expose(), new.format.as_str(), audit.actor(), time_text(at)],
    )
    .map_err(db_err)?;
    let id = tx.last_insert_rowid();
    append_audit(&tx, audit, at)?;
    let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = ?1");
    let created = tx.query_row(&sql, params![id], webhook).map_err(db_err)?.into_domain()?;
    tx.commit().map_err(db_err)?;
    Ok(created)
}

pub(super) fn webhooks(conn: &Connection, project: &str) -> Result<Vec<Webhook>> {
    let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE project = ?1 AND removed = 0 ORDER BY id");
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
    let rows = stmt.query_map(params![project], webhook).map_err(db_err)?;
    rows.map(|r| r.map_err(db_err)?.into_domain()).collect()
}

pub(super) fn webhook_by_id(conn: &Connection, id: i64) -> Result<Option<Webhook>> {
    let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = ?1 AND removed = 0");
    conn.query_row(&sql, params![id], webhook).optional().map_err(db_err)?.map(WebhookRow::into_domain).transpose()
}

pub(super) fn remove_webhook(conn: &mut Connection, id: i64, audit: AuditRecord, at: OffsetDateTime) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
    if tx.execute("UPDATE webhooks SET removed = 1 WHERE id = ?1 AND removed = 0", params![id]).map_err(db_err)? != 1 {
        return Err(Error::not_found(format!("no webhook {id}")));
    }
    tx.execute(
        "UPDATE webhook_deliveries SET state = 'failed', last_error = 'webhook removed' WHERE webhook_id = ?1 AND state = 'pending'",
        params![id],
    )
    .map_err(db_err)?;
    append_audit(&tx, audit, at)?;
    tx.commit().map_err(db_err)
}

/// Decodes a row selected with [`DELIVERY_COLUMNS`].
fn delivery_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeliveryRow<String>> {
    Ok(DeliveryRow {
        id: r.get(0)?,
        webhook_id: r.get(1)?,
        incident_id: r.get(2)?,
        event: r.get(3)?,
        state: r.get(4)?,
        attempts: r.get(5)?,
        next_attempt_at: r.get(6)?,
        last_status: r.get(7)?,
        last_error: r.get(8)?,
        created_at: r.get(9)?,
        delivered_at: r.get(10)?,
        incident_json: r.get(11)?,
    })
}

pub(super) fn due_deliveries(conn: &Connection, now: i64, limit: usize) -> Result<Vec<Delivery>> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d WHERE d.state = 'pending' AND d.next_attempt_at <= ?1 \
         ORDER BY d.next_attempt_at, d.id LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
    let rows = stmt.query_map(params![now, limit as i64], delivery_row).map_err(db_err)?;
    rows.map(|r| r.map_err(db_err)?.into_domain()).collect()
}

pub(super) fn record_attempt(conn: &Connection, id: i64, outcome: &AttemptOutcome, at: OffsetDateTime) -> Result<()> {
    match outcome {
        AttemptOutcome::Delivered { status } => conn.execute(
            "UPDATE webhook_deliveries SET state = 'delivered', attempts = attempts + 1, last_status = ?1, \
             last_error = NULL, delivered_at = ?2 WHERE id = ?3 AND state = 'pending'",
            params![status, time_text(at), id],
        ),
        AttemptOutcome::Failed { status, error, retry_at } => conn.execute(
            "UPDATE webhook_deliveries SET state = CASE WHEN ?1 IS NULL THEN 'failed' ELSE 'pending' END, \
             attempts = attempts + 1, last_status = ?2, last_error = ?3, next_attempt_at = COALESCE(?1, next_attempt_at) \
             WHERE id = ?4 AND state = 'pending'",
            params![retry_at, status, error, id],
        ),
    }
    .map_err(db_err)?;
    Ok(())
}

pub(super) fn deliveries(
    conn: &Connection,
    project: &str,
    webhook: Option<i64>,
    limit: usize,
) -> Result<Vec<Delivery>> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
         WHERE w.project = ?1 AND (?2 IS NULL OR d.webhook_id = ?2) ORDER BY d.id DESC LIMIT ?3"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
    let rows = stmt.query_map(params![project, webhook, limit as i64], delivery_row).map_err(db_err)?;
    rows.map(|r| r.map_err(db_err)?.into_domain()).collect()
}

pub(super) fn incidents_owing_risk_changes(conn: &Connection, limit: usize) -> Result<Vec<Incident>> {
    let sql = format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE risk_action IS NOT NULL ORDER BY id LIMIT ?1");
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
    let rows = stmt.query_map(params![limit.min(i64::MAX as usize) as i64], incident_row).map_err(db_err)?;
    rows.map(|r| r.map_err(db_err)?.into_domain()).collect()
}

pub(super) fn claim_delivery(conn: &Connection, id: i64, expected_next: i64, lease_until: i64) -> Result<bool> {
    let n = conn
        .execute(
            "UPDATE webhook_deliveries SET next_attempt_at = ?1 WHERE id = ?2 AND state = 'pending' AND next_attempt_at = ?3",
            params![lease_until, id, expected_next],
        )
        .map_err(db_err)?;
    Ok(n == 1)
}

#[async_trait]
impl AlertingStore for SqliteStore {
    async fn due_windows(&self, now: i64, quiet_since: i64, limit: usize) -> Result<Vec<DueWindow>> {
        self.with_conn(move |conn| due_windows(conn, now, quiet_since, limit)).await
    }

    async fn monitor_results(&self, model: &str, version: u32, monitor_id: &str) -> Result<Vec<MonitorResult>> {
        let (model, monitor_id) = (model.to_string(), monitor_id.to_string());
        self.with_conn(move |conn| monitor_results(conn, &model, version, &monitor_id)).await
    }

    async fn commit_evaluation(
        &self,
        write: EvaluationWrite,
        audits: Vec<AuditRecord>,
        at: OffsetDateTime,
    ) -> Result<Vec<i64>> {
        self.with_conn(move |conn| commit_evaluation(conn, write, audits, at)).await
    }

    async fn incidents(&self, filter: &IncidentFilter) -> Result<Vec<Incident>> {
        let filter = filter.clone();
        self.with_conn(move |conn| incidents(conn, &filter)).await
    }

    async fn incident(&self, id: i64) -> Result<Option<Incident>> {
        self.with_conn(move |conn| incident_by_id(conn, id)).await
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
        self.with_conn(move |conn| set_incident_state(conn, id, state, &note, audit, at)).await
    }

    async fn set_incident_risks(&self, id: i64, risks: &[i64], audit: AuditRecord, at: OffsetDateTime) -> Result<()> {
        let risks = risks.to_vec();
        self.with_conn(move |conn| set_incident_risks(conn, id, &risks, audit, at)).await
    }

    async fn incidents_owing_risk_changes(&self, limit: usize) -> Result<Vec<Incident>> {
        self.with_conn(move |conn| incidents_owing_risk_changes(conn, limit)).await
    }

    async fn claim_delivery(&self, id: i64, expected_next: i64, lease_until: i64) -> Result<bool> {
        self.with_conn(move |conn| claim_delivery(conn, id, expected_next, lease_until)).await
    }

    async fn add_webhook(&self, new: NewWebhook, audit: AuditRecord, at: OffsetDateTime) -> Result<Webhook> {
        self.with_conn(move |conn| add_webhook(conn, new, audit, at)).await
    }

    async fn webhooks(&self, project: &str) -> Result<Vec<Webhook>> {
        let project = project.to_string();
        self.with_conn(move |conn| webhooks(conn, &project)).await
    }

    async fn webhook(&self, id: i64) -> Result<Option<Webhook>> {
        self.with_conn(move |conn| webhook_by_id(conn, id)).await
    }

    async fn remove_webhook(&self, id: i64, audit: AuditRecord, at: OffsetDateTime) -> Result<()> {
        self.with_conn(move |conn| remove_webhook(conn, id, audit, at)).await
    }

    async fn due_deliveries(&self, now: i64, limit: usize) -> Result<Vec<Delivery>> {
        self.with_conn(move |conn| due_deliveries(conn, now, limit)).await
    }

    async fn record_attempt(&self, id: i64, outcome: &AttemptOutcome, at: OffsetDateTime) -> Result<()> {
        let outcome = outcome.clone();
        self.with_conn(move |conn| record_attempt(conn, id, &outcome, at)).await
    }

    async fn deliveries(&self, project: &str, webhook: Option<i64>, limit: usize) -> Result<Vec<Delivery>> {
        let project = project.to_string();
        self.with_conn(move |conn| deliveries(conn, &project, webhook, limit)).await
    }
}
