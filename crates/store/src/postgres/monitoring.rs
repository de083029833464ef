//! PostgreSQL: monitoring windows and the per-record outcome fields late labels need.
//!
//! Window states are read, merged and written back by the caller: each write names the
//! `rev` it read (or none, for a new window) and affects exactly one row, or the whole
//! batch is refused as a conflict (the transaction is dropped, so nothing changes).

use super::{PostgresStore, RowExt, append_audit, db_err, ingest_rows};
use async_trait::async_trait;
use deadpool_postgres::{Client, GenericClient};
use riskops_core::artifact::Digest;
use riskops_core::audit::AuditRecord;
use riskops_core::monitoring::{
    ExactDriftRow, IngestWrite, Segment, SeriesRow, StoredRecord, StoredWindow, WindowEstimatesRow,
};
use riskops_core::store::MonitoringStore;
use riskops_core::{Error, Result};
use std::collections::HashMap;
use time::OffsetDateTime;

/// A version number as stored (INTEGER).
fn stored_version(version: u32) -> Result<i32> {
    i32::try_from(version).map_err(|_| Error::invalid("version", format!("{version} is too large")))
}

pub(super) async fn windows(
    client: &impl GenericClient,
    model: &str,
    version: Option<u32>,
    from: i64,
    to: i64,
) -> Result<Vec<StoredWindow>> {
    let version = match version.map(i32::try_from).transpose() {
        Ok(v) => v,
        // Never stored: no window has it.
        Err(_) => return Ok(Vec::new()),
    };
    let rows = client
        .query(
            "SELECT version, start_ts, end_ts, state, records, labelled, rev FROM monitoring_windows \
             WHERE model = $1 AND ($2::INTEGER IS NULL OR version = $2) AND start_ts >= $3 AND start_ts < $4 \
             ORDER BY start_ts, version",
            &[&model, &version, &from, &to],
        )
        .await
        .map_err(db_err)?;
    rows.iter()
        .map(|r| {
            Ok(StoredWindow {
                version: r.col::<i32>(0)? as u32,
                start: r.col(1)?,
                end: r.col(2)?,
                state: r.col(3)?,
                records: r.col::<i64>(4)?.max(0) as u64,
                labelled: r.col::<i64>(5)?.max(0) as u64,
                rev: r.col(6)?,
            })
        })
        .collect()
}

/// The stored records among `ids`, in the order asked (like SQLite's one look-up per id).
pub(super) async fn records(client: &impl GenericClient, model: &str, ids: &[String]) -> Result<Vec<StoredRecord>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = client
        .query(
            "SELECT record_id, version, window_start, prediction, score, attributes, labelled \
             FROM monitoring_records WHERE model = $1 AND record_id = ANY($2)",
            &[&model, &ids],
        )
        .await
        .map_err(db_err)?;
    let found: HashMap<String, StoredRecord> = rows
        .iter()
        .map(|r| {
            let record = StoredRecord {
                id: r.col(0)?,
                version: r.col::<i32>(1)? as u32,
                window_start: r.col(2)?,
                prediction: r.col(3)?,
                score: r.col(4)?,
                attributes: r.col(5)?,
                labelled: r.col(6)?,
            };
            Ok((record.id.clone(), record))
        })
        .collect::<Result<_>>()?;
    Ok(ids.iter().filter_map(|id| found.get(id).cloned()).collect())
}

pub(super) async fn commit_ingest(
    client: &mut Client,
    w: IngestWrite,
    audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<()> {
    let tx = client.transaction().await.map_err(db_err)?;
    // Unix seconds of this write: a window touched lately may still be filling (alerting).
    let touched = at.unix_timestamp();
    for win in &w.windows {
        let version = stored_version(win.version)?;
        let (records, labelled) = (win.records as i64, win.labelled as i64);
        let changed = match win.expected_rev {
            None => {
                tx.execute(
                    "INSERT INTO monitoring_windows (model, version, start_ts, end_ts, state, records, labelled, rev, updated_at, touched_unix) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9) ON CONFLICT DO NOTHING",
                    &[&w.model, &version, &win.start, &win.end, &win.state, &records, &labelled, &at, &touched],
                )
                .await
            }
            Some(rev) => {
                tx.execute(
                    "UPDATE monitoring_windows SET state = $1, records = records + $2, labelled = labelled + $3, \
                     rev = rev + 1, updated_at = $4, touched_unix = $9, end_ts = GREATEST(end_ts, $10) \
                     WHERE model = $5 AND version = $6 AND start_ts = $7 AND rev = $8",
                    &[&win.state, &records, &labelled, &at, &w.model, &version, &win.start, &rev, &touched, &win.end],
                )
                .await
            }
        }
        .map_err(db_err)?;
        if changed != 1 {
            return Err(Error::conflict("a window changed while the batch was being applied"));
        }
    }
    // One statement each, whatever the batch's size (`ingest_rows`).
    ingest_rows::insert_records(&tx, &w.model, &w.new_records).await?;
    ingest_rows::insert_refused(&tx, &w.model, &w.refused).await?;
    ingest_rows::mark_labelled(&tx, &w.model, &w.labelled).await?;
    if let Some(seg) = &w.segment {
        tx.execute(
            "INSERT INTO monitoring_segments (model, digest, records, size, first_ts, last_ts, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            &[
                &seg.model,
                &seg.digest.as_str(),
                &(seg.records as i64),
                &(seg.size as i64),
                &seg.first_ts,
                &seg.last_ts,
                &seg.created_at,
                &seg.expires_at,
            ],
        )
        .await
        .map_err(db_err)?;
    }
    append_audit(&tx, audit, at).await?;
    tx.commit().await.map_err(db_err)
}

pub(super) async fn latest_window(
    client: &impl GenericClient,
    model: &str,
    version: u32,
) -> Result<Option<(i64, i64, u64)>> {
    let Ok(version) = i32::try_from(version) else { return Ok(None) };
    let row = client
        .query_opt(
            "SELECT start_ts, end_ts, records FROM monitoring_windows WHERE model = $1 AND version = $2 \
             ORDER BY start_ts DESC LIMIT 1",
            &[&model, &version],
        )
        .await
        .map_err(db_err)?;
    row.map(|r| Ok((r.col(0)?, r.col(1)?, r.col::<i64>(2)?.max(0) as u64))).transpose()
}

const SEGMENT_COLUMNS: &str = "model, digest, records, size, first_ts, last_ts, created_at, expires_at";

fn segment(r: &tokio_postgres::Row) -> Result<Segment> {
    Ok(Segment {
        model: r.col(0)?,
        digest: Digest::parse(r.col::<&str>(1)?)?,
        records: r.col::<i64>(2)?.max(0) as u64,
        size: r.col::<i64>(3)?.max(0) as u64,
        first_ts: r.col(4)?,
        last_ts: r.col(5)?,
        created_at: r.col(6)?,
        expires_at: r.col(7)?,
    })
}

pub(super) async fn segments(client: &impl GenericClient, model: &str) -> Result<Vec<Segment>> {
    let sql =
        format!("SELECT {SEGMENT_COLUMNS} FROM monitoring_segments WHERE model = $1 ORDER BY created_at, first_ts");
    client.query(&sql, &[&model]).await.map_err(db_err)?.iter().map(segment).collect()
}

pub(super) async fn expired_segments(client: &impl GenericClient, now: i64, limit: usize) -> Result<Vec<Segment>> {
    let sql = format!(
        "SELECT {SEGMENT_COLUMNS} FROM monitoring_segments WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2"
    );
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    client.query(&sql, &[&now, &limit]).await.map_err(db_err)?.iter().map(segment).collect()
}

pub(super) async fn drop_segment(
    client: &mut Client,
    model: &str,
    digest: &Digest,
    audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<bool> {
    let tx = client.transaction().await.map_err(db_err)?;
    let gone = tx
        .execute("DELETE FROM monitoring_segments WHERE model = $1 AND digest = $2", &[&model, &digest.as_str()])
        .await
        .map_err(db_err)?;
    if gone == 0 {
        return Err(Error::not_found(format!("no segment {digest} of model {model}")));
    }
    let still: i64 = tx
        .query_one("SELECT COUNT(*) FROM monitoring_segments WHERE digest = $1", &[&digest.as_str()])
        .await
        .map_err(db_err)?
        .col(0)?;
    append_audit(&tx, audit, at).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(still == 0)
}

pub(super) async fn first_window_start(client: &impl GenericClient, model: &str, version: u32) -> Result<Option<i64>> {
    let Ok(version) = i32::try_from(version) else { return Ok(None) };
    let row = client
        .query_one(
            "SELECT MIN(start_ts) FROM monitoring_windows WHERE model = $1 AND version = $2 AND records > 0",
            &[&model, &version],
        )
        .await
        .map_err(db_err)?;
    row.col(0)
}

pub(super) async fn series(client: &impl GenericClient, model: &str, from: i64, to: i64) -> Result<Vec<SeriesRow>> {
    let rows = client
        .query(
            "SELECT w.version, w.start_ts, w.end_ts, w.rev, s.point FROM monitoring_windows w \
             LEFT JOIN monitoring_series s ON s.model = w.model AND s.version = w.version AND s.start_ts = w.start_ts AND s.rev = w.rev \
             WHERE w.model = $1 AND w.start_ts >= $2 AND w.start_ts < $3 ORDER BY w.start_ts, w.version",
            &[&model, &from, &to],
        )
        .await
        .map_err(db_err)?;
    rows.iter()
        .map(|r| {
            Ok(SeriesRow {
                version: r.col::<i32>(0)?.max(0) as u32,
                start: r.col(1)?,
                end: r.col(2)?,
                rev: r.col(3)?,
                point: r.col(4)?,
            })
        })
        .collect()
}

pub(super) async fn put_series(client: &mut Client, model: &str, points: &[SeriesRow]) -> Result<()> {
    let tx = client.transaction().await.map_err(db_err)?;
    let put = tx
        .prepare(
            "INSERT INTO monitoring_series (model, version, start_ts, rev, point) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (model, version, start_ts) DO UPDATE SET rev = excluded.rev, point = excluded.point",
        )
        .await
        .map_err(db_err)?;
    for p in points {
        let (Some(point), Ok(version)) = (&p.point, i32::try_from(p.version)) else { continue };
        tx.execute(&put, &[&model, &version, &p.start, &p.rev, point]).await.map_err(db_err)?;
    }
    tx.commit().await.map_err(db_err)
}

/// A result computed once for a closed window and kept (exact drift, estimates): its table
/// and the column holding the result document. Both tables have the same shape, keyed by the
/// window's bounds, with the record count the result was computed on.
#[derive(Clone, Copy)]
struct WindowResult {
    table: &'static str,
    column: &'static str,
}

const EXACT_DRIFT: WindowResult = WindowResult { table: "monitoring_exact_drift", column: "drift" };
const ESTIMATES: WindowResult = WindowResult { table: "monitoring_window_estimates", column: "estimates" };

/// `(records, computed_at, document)` of the window, if kept.
async fn window_result(
    client: &impl GenericClient,
    kind: WindowResult,
    model: &str,
    version: u32,
    (start, end): (i64, i64),
) -> Result<Option<(u64, i64, String)>> {
    let Ok(v) = i32::try_from(version) else { return Ok(None) };
    let sql = format!(
        "SELECT records, computed_at, {} FROM {} WHERE model = $1 AND version = $2 AND start_ts = $3 AND end_ts = $4",
        kind.column, kind.table
    );
    let row = client.query_opt(&sql, &[&model, &v, &start, &end]).await.map_err(db_err)?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some((r.col::<i64>(0)?.max(0) as u64, r.col(1)?, r.col(2)?)))
}

/// Keeps (or replaces) the window's result.
#[allow(clippy::too_many_arguments)]
async fn put_window_result(
    client: &impl GenericClient,
    kind: WindowResult,
    model: &str,
    version: u32,
    (start, end): (i64, i64),
    records: u64,
    computed_at: i64,
    document: &str,
) -> Result<()> {
    let version = i32::try_from(version).map_err(|_| Error::internal("version out of range"))?;
    let records = i64::try_from(records).unwrap_or(i64::MAX);
    let (table, column) = (kind.table, kind.column);
    let sql = format!(
        "INSERT INTO {table} (model, version, start_ts, end_ts, records, computed_at, {column}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (model, version, start_ts, end_ts) \
         DO UPDATE SET records = excluded.records, computed_at = excluded.computed_at, {column} = excluded.{column}"
    );
    client.execute(&sql, &[&model, &version, &start, &end, &records, &computed_at, &document]).await.map_err(db_err)?;
    Ok(())
}

pub(super) async fn exact_drift(
    client: &impl GenericClient,
    model: &str,
    version: u32,
    start: i64,
    end: i64,
) -> Result<Option<ExactDriftRow>> {
    let kept = window_result(client, EXACT_DRIFT, model, version, (start, end)).await?;
    Ok(kept.map(|(records, computed_at, drift)| ExactDriftRow {
        model: model.to_string(),
        version,
        start,
        end,
        records,
        computed_at,
        drift,
    }))
}

pub(super) async fn put_exact_drift(client: &impl GenericClient, row: &ExactDriftRow) -> Result<()> {
    let window = (row.start, row.end);
    put_window_result(client, EXACT_DRIFT, &row.model, row.version, window, row.records, row.computed_at, &row.drift)
        .await
}

pub(super) async fn window_estimates(
    client: &impl GenericClient,
    model: &str,
    version: u32,
    start: i64,
    end: i64,
) -> Result<Option<WindowEstimatesRow>> {
    let kept = window_result(client, ESTIMATES, model, version, (start, end)).await?;
    Ok(kept.map(|(records, computed_at, estimates)| WindowEstimatesRow {
        model: model.to_string(),
        version,
        start,
        end,
        records,
        computed_at,
        estimates,
    }))
}

pub(super) async fn put_window_estimates(client: &impl GenericClient, row: &WindowEstimatesRow) -> Result<()> {
    let window = (row.start, row.end);
    put_window_result(client, ESTIMATES, &row.model, row.version, window, row.records, row.computed_at, &row.estimates)
        .await
}

/// Which of `ids` were refused and counted before.
pub(super) async fn known_refused(client: &impl GenericClient, model: &str, ids: &[String]) -> Result<Vec<String>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = client
        .query("SELECT record_id FROM monitoring_refused WHERE model = $1 AND record_id = ANY($2)", &[&model, &ids])
        .await
        .map_err(db_err)?;
    rows.iter().map(|r| r.col(0)).collect()
}

/// Which of `ids` the model has accepted (only the ids are read).
pub(super) async fn known_records(client: &impl GenericClient, model: &str, ids: &[String]) -> Result<Vec<String>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = client
        .query("SELECT record_id FROM monitoring_records WHERE model = $1 AND record_id = ANY($2)", &[&model, &ids])
        .await
        .map_err(db_err)?;
    rows.iter().map(|r| r.col(0)).collect()
}

#[async_trait]
impl MonitoringStore for PostgresStore {
    async fn windows(&self, model: &str, version: Option<u32>, from: i64, to: i64) -> Result<Vec<StoredWindow>> {
        windows(&self.client().await?, model, version, from, to).await
    }

    async fn latest_window(&self, model: &str, version: u32) -> Result<Option<(i64, i64, u64)>> {
        latest_window(&self.client().await?, model, version).await
    }

    async fn first_window_start(&self, model: &str, version: u32) -> Result<Option<i64>> {
        first_window_start(&self.client().await?, model, version).await
    }

    async fn series(&self, model: &str, from: i64, to: i64) -> Result<Vec<SeriesRow>> {
        series(&self.client().await?, model, from, to).await
    }

    async fn put_series(&self, model: &str, points: &[SeriesRow]) -> Result<()> {
        put_series(&mut self.client().await?, model, points).await
    }

    async fn exact_drift(&self, model: &str, version: u32, start: i64, end: i64) -> Result<Option<ExactDriftRow>> {
        exact_drift(&self.client().await?, model, version, start, end).await
    }

    async fn put_exact_drift(&self, row: &ExactDriftRow) -> Result<()> {
        put_exact_drift(&self.client().await?, row).await
    }

    async fn window_estimates(
        &self,
        model: &str,
        version: u32,
        start: i64,
        end: i64,
    ) -> Result<Option<WindowEstimatesRow>> {
        window_estimates(&self.client().await?, model, version, start, end).await
    }

    async fn put_window_estimates(&self, row: &WindowEstimatesRow) -> Result<()> {
        put_window_estimates(&self.client().await?, row).await
    }

    async fn known_records(&self, model: &str, ids: &[String]) -> Result<Vec<String>> {
        known_records(&self.client().await?, model, ids).await
    }

    async fn known_refused(&self, model: &str, ids: &[String]) -> Result<Vec<String>> {
        known_refused(&self.client().await?, model, ids).await
    }

    async fn records(&self, model: &str, ids: &[String]) -> Result<Vec<StoredRecord>> {
        records(&self.client().await?, model, ids).await
    }

    async fn commit_ingest(&self, write: IngestWrite, audit: AuditRecord, at: OffsetDateTime) -> Result<()> {
        commit_ingest(&mut self.client().await?, write, audit, at).await
    }

    async fn segments(&self, model: &str) -> Result<Vec<Segment>> {
        segments(&self.client().await?, model).await
    }

    async fn expired_segments(&self, now: i64, limit: usize) -> Result<Vec<Segment>> {
        expired_segments(&self.client().await?, now, limit).await
    }

    async fn drop_segment(
        &self,
        model: &str,
        digest: &riskops_core::artifact::Digest,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<bool> {
        drop_segment(&mut self.client().await?, model, digest, audit, at).await
    }
}
