//! SQLite: monitoring windows and the per-record outcome fields late labels need.

use super::{SqliteStore, append_audit, db_err, time_text};
use async_trait::async_trait;
use riskops_core::artifact::Digest;
use riskops_core::audit::AuditRecord;
use riskops_core::monitoring::{
    ExactDriftRow, IngestWrite, Segment, SeriesRow, StoredRecord, StoredWindow, WindowEstimatesRow,
};
use riskops_core::store::MonitoringStore;
use riskops_core::{Error, Result};
use rusqlite::{Connection, TransactionBehavior, params};
use time::OffsetDateTime;

pub(super) fn windows(
    conn: &Connection,
    model: &str,
    version: Option<u32>,
    from: i64,
    to: i64,
) -> Result<Vec<StoredWindow>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT version, start_ts, end_ts, state, records, labelled, rev FROM monitoring_windows \
             WHERE model = ?1 AND (?2 IS NULL OR version = ?2) AND start_ts >= ?3 AND start_ts < ?4 \
             ORDER BY start_ts, version",
        )
        .map_err(db_err)?;
    let rows = stmt
        .query_map(params![model, version, from, to], |r| {
            Ok(StoredWindow {
                version: r.get(0)?,
                start: r.get(1)?,
                end: r.get(2)?,
                state: r.get(3)?,
                records: r.get::<_, i64>(4)?.max(0) as u64,
                labelled: r.get::<_, i64>(5)?.max(0) as u64,
                rev: r.get(6)?,
            })
        })
        .map_err(db_err)?;
    rows.collect::<rusqlite::Result<_>>().map_err(db_err)
}

pub(super) fn series(conn: &Connection, model: &str, from: i64, to: i64) -> Result<Vec<SeriesRow>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT w.version, w.start_ts, w.end_ts, w.rev, s.point FROM monitoring_windows w INDEXED BY monitoring_windows_revs \
             LEFT JOIN monitoring_series s ON s.model = w.model AND s.version = w.version AND s.start_ts = w.start_ts AND s.rev = w.rev \
             WHERE w.model = ?1 AND w.start_ts >= ?2 AND w.start_ts < ?3 ORDER BY w.start_ts, w.version",
        )
        .map_err(db_err)?;
    let rows = stmt
        .query_map(params![model, from, to], |r| {
            Ok(SeriesRow { version: r.get(0)?, start: r.get(1)?, end: r.get(2)?, rev: r.get(3)?, point: r.get(4)? })
        })
        .map_err(db_err)?;
    rows.collect::<rusqlite::Result<_>>().map_err(db_err)
}

pub(super) fn put_series(conn: &mut Connection, model: &str, points: &[SeriesRow]) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
    {
        let mut put = tx
            .prepare_cached(
                "INSERT INTO monitoring_series (model, version, start_ts, rev, point) VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (model, version, start_ts) DO UPDATE SET rev = excluded.rev, point = excluded.point",
            )
            .map_err(db_err)?;
        for p in points.iter().filter(|p| p.point.is_some()) {
            put.execute(params![model, p.version, p.start, p.rev, p.point]).map_err(db_err)?;
        }
    }
    tx.commit().map_err(db_err)
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
fn window_result(
    conn: &Connection,
    kind: WindowResult,
    model: &str,
    version: u32,
    (start, end): (i64, i64),
) -> Result<Option<(u64, i64, String)>> {
    let sql = format!(
        "SELECT records, computed_at, {} FROM {} WHERE model = ?1 AND version = ?2 AND start_ts = ?3 AND end_ts = ?4",
        kind.column, kind.table
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
    let mut rows = stmt.query(params![model, version, start, end]).map_err(db_err)?;
    let Some(r) = rows.next().map_err(db_err)? else { return Ok(None) };
    Ok(Some((r.get::<_, i64>(0).map_err(db_err)?.max(0) as u64, r.get(1).map_err(db_err)?, r.get(2).map_err(db_err)?)))
}

/// Keeps (or replaces) the window's result.
#[allow(clippy::too_many_arguments)]
fn put_window_result(
    conn: &Connection,
    kind: WindowResult,
    model: &str,
    version: u32,
    (start, end): (i64, i64),
    records: u64,
    computed_at: i64,
    document: &str,
) -> Result<()> {
    let (table, column) = (kind.table, kind.column);
    let sql = format!(
        "INSERT INTO {table} (model, version, start_ts, end_ts, records, computed_at, {column}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (model, version, start_ts, end_ts) \
         DO UPDATE SET records = excluded.records, computed_at = excluded.computed_at, {column} = excluded.{column}"
    );
    let records = i64::try_from(records).unwrap_or(i64::MAX);
    conn.prepare_cached(&sql)
        .and_then(|mut put| put.execute(params![model, version, start, end, records, computed_at, document]))
        .map(|_| ())
        .map_err(db_err)
}

pub(super) fn exact_drift(
    conn: &Connection,
    model: &str,
    version: u32,
    start: i64,
    end: i64,
) -> Result<Option<ExactDriftRow>> {
    let kept = window_result(conn, EXACT_DRIFT, model, version, (start, end))?;
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

pub(super) fn put_exact_drift(conn: &Connection, row: &ExactDriftRow) -> Result<()> {
    let window = (row.start, row.end);
    put_window_result(conn, EXACT_DRIFT, &row.model, row.version, window, row.records, row.computed_at, &row.drift)
}

pub(super) fn window_estimates(
    conn: &Connection,
    model: &str,
    version: u32,
    start: i64,
    end: i64,
) -> Result<Option<WindowEstimatesRow>> {
    let kept = window_result(conn, ESTIMATES, model, version, (start, end))?;
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

pub(super) fn put_window_estimates(conn: &Connection, row: &WindowEstimatesRow) -> Result<()> {
    let window = (row.start, row.end);
    put_window_result(conn, ESTIMATES, &row.model, row.version, window, row.records, row.computed_at, &row.estimates)
}

pub(super) fn records(conn: &Connection, model: &str, ids: &[String]) -> Result<Vec<StoredRecord>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT record_id, version, window_start, prediction, score, attributes, labelled \
             FROM monitoring_records WHERE model = ?1 AND record_id = ?2",
        )
        .map_err(db_err)?;
    let mut out = Vec::new();
    for id in ids {
        let mut rows = stmt.query(params![model, id]).map_err(db_err)?;
        if let Some(r) = rows.next().map_err(db_err)? {
            out.push(StoredRecord {
                id: r.get(0).map_err(db_err)?,
                version: r.get(1).map_err(db_err)?,
                window_start: r.get(2).map_err(db_err)?,
                prediction: r.get(3).map_err(db_err)?,
                score: r.get(4).map_err(db_err)?,
                attributes: r.get(5).map_err(db_err)?,
                labelled: r.get(6).map_err(db_err)?,
            });
        }
    }
    Ok(out)
}

/// Rows per INSERT: 8 parameters each, well under SQLite's 32,766.
const RECORDS_PER_INSERT: usize = 200;

pub(super) fn commit_ingest(
    conn: &mut Connection,
    w: IngestWrite,
    audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
    let now = time_text(at);
    for win in &w.windows {
        let changed = match win.expected_rev {
            None => tx.execute(
                "INSERT OR IGNORE INTO monitoring_windows (model, version, start_ts, end_ts, state, records, labelled, rev, updated_at, touched_unix) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8, ?9)",
                params![w.model, win.version, win.start, win.end, win.state, win.records as i64, win.labelled as i64, now, at.unix_timestamp()],
            ),
            Some(rev) => tx.execute(
                "UPDATE monitoring_windows SET state = ?1, records = records + ?2, labelled = labelled + ?3, rev = rev + 1, updated_at = ?4, touched_unix = ?9, end_ts = MAX(end_ts, ?10) \
                 WHERE model = ?5 AND version = ?6 AND start_ts = ?7 AND rev = ?8",
                params![win.state, win.records as i64, win.labelled as i64, now, w.model, win.version, win.start, rev, at.unix_timestamp(), win.end],
            ),
        }
        .map_err(db_err)?;
        if changed != 1 {
            return Err(Error::conflict("a window changed while the batch was being applied"));
        }
    }
    {
        // Many rows per statement: per-statement overhead was a tenth of an ingest.
        for chunk in w.new_records.chunks(RECORDS_PER_INSERT) {
            let rows = vec!["(?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
            let sql = format!(
                "INSERT INTO monitoring_records (model, record_id, version, window_start, prediction, score, attributes, labelled) \
                 VALUES {rows}"
            );
            let mut insert = tx.prepare_cached(&sql).map_err(db_err)?;
            let mut values: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(chunk.len() * 8);
            for r in chunk {
                values.extend([
                    &w.model as &dyn rusqlite::ToSql,
                    &r.id,
                    &r.version,
                    &r.window_start,
                    &r.prediction,
                    &r.score,
                    &r.attributes,
                    &r.labelled,
                ]);
            }
            insert.execute(rusqlite::params_from_iter(values)).map_err(db_err)?;
        }
        // A refused id counted before is a constraint violation: the batch is retried
        // without counting it again.
        let mut refuse =
            tx.prepare_cached("INSERT INTO monitoring_refused (model, record_id) VALUES (?1, ?2)").map_err(db_err)?;
        for id in &w.refused {
            refuse.execute(params![w.model, id]).map_err(db_err)?;
        }
        let mut label = tx
            .prepare_cached(
                "UPDATE monitoring_records SET labelled = 1 WHERE model = ?1 AND record_id = ?2 AND labelled = 0",
            )
            .map_err(db_err)?;
        for id in &w.labelled {
            if label.execute(params![w.model, id]).map_err(db_err)? != 1 {
                return Err(Error::conflict(format!("record {id} was labelled meanwhile")));
            }
        }
    }
    if let Some(seg) = &w.segment {
        tx.execute(
            "INSERT OR IGNORE INTO monitoring_segments (model, digest, records, size, first_ts, last_ts, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                seg.model,
                seg.digest.as_str(),
                seg.records as i64,
                seg.size as i64,
                seg.first_ts,
                seg.last_ts,
                seg.created_at,
                seg.expires_at
            ],
        )
        .map_err(db_err)?;
    }
    append_audit(&tx, audit, at)?;
    tx.commit().map_err(db_err)
}

pub(super) fn latest_window(conn: &Connection, model: &str, version: u32) -> Result<Option<(i64, i64, u64)>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT start_ts, end_ts, records FROM monitoring_windows WHERE model = ?1 AND version = ?2 \
             ORDER BY start_ts DESC LIMIT 1",
        )
        .map_err(db_err)?;
    let mut rows = stmt.query(params![model, version]).map_err(db_err)?;
    match rows.next().map_err(db_err)? {
        Some(r) => Ok(Some((
            r.get(0).map_err(db_err)?,
            r.get(1).map_err(db_err)?,
            r.get::<_, i64>(2).map_err(db_err)?.max(0) as u64,
        ))),
        None => Ok(None),
    }
}

const SEGMENT_COLUMNS: &str = "model, digest, records, size, first_ts, last_ts, created_at, expires_at";

fn segment_rows(stmt: &mut rusqlite::CachedStatement<'_>, params: impl rusqlite::Params) -> Result<Vec<Segment>> {
    let rows = stmt
        .query_map(params, |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ))
        })
        .map_err(db_err)?;
    rows.map(|r| {
        let (model, digest, records, size, first_ts, last_ts, created_at, expires_at) = r.map_err(db_err)?;
        Ok(Segment {
            model,
            digest: Digest::parse(&digest)?,
            records: records.max(0) as u64,
            size: size.max(0) as u64,
            first_ts,
            last_ts,
            created_at,
            expires_at,
        })
    })
    .collect()
}

pub(super) fn segments(conn: &Connection, model: &str) -> Result<Vec<Segment>> {
    let sql =
        format!("SELECT {SEGMENT_COLUMNS} FROM monitoring_segments WHERE model = ?1 ORDER BY created_at, first_ts");
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
    segment_rows(&mut stmt, params![model])
}

pub(super) fn expired_segments(conn: &Connection, now: i64, limit: usize) -> Result<Vec<Segment>> {
    let sql = format!(
        "SELECT {SEGMENT_COLUMNS} FROM monitoring_segments WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
    segment_rows(&mut stmt, params![now, limit.min(i64::MAX as usize) as i64])
}

pub(super) fn drop_segment(
    conn: &mut Connection,
    model: &str,
    digest: &Digest,
    audit: AuditRecord,
    at: OffsetDateTime,
) -> Result<bool> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
    let gone = tx
        .execute("DELETE FROM monitoring_segments WHERE model = ?1 AND digest = ?2", params![model, digest.as_str()])
        .map_err(db_err)?;
    if gone == 0 {
        return Err(Error::not_found(format!("no segment {digest} of model {model}")));
    }
    let still: i64 = tx
        .query_row("SELECT COUNT(*) FROM monitoring_segments WHERE digest = ?1", params![digest.as_str()], |r| r.get(0))
        .map_err(db_err)?;
    append_audit(&tx, audit, at)?;
    tx.commit().map_err(db_err)?;
    Ok(still == 0)
}

pub(super) fn first_window_start(conn: &Connection, model: &str, version: u32) -> Result<Option<i64>> {
    conn.query_row(
        "SELECT MIN(start_ts) FROM monitoring_windows WHERE model = ?1 AND version = ?2 AND records > 0",
        params![model, version],
        |r| r.get(0),
    )
    .map_err(db_err)
}

/// Ids per `IN (…)` query: well under SQLite's 32,766 parameters, few statements per batch.
const KNOWN_CHUNK: usize = 500;

/// Which of `ids` the model has accepted: only the ids are read, a chunk per statement.
pub(super) fn known_records(conn: &Connection, model: &str, ids: &[String]) -> Result<Vec<String>> {
    known_ids(conn, "monitoring_records", model, ids)
}

/// Which of `ids` were refused and counted before.
pub(super) fn known_refused(conn: &Connection, model: &str, ids: &[String]) -> Result<Vec<String>> {
    known_ids(conn, "monitoring_refused", model, ids)
}

/// Which of `ids` `table` (keyed by model and record id) holds.
fn known_ids(conn: &Connection, table: &str, model: &str, ids: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(KNOWN_CHUNK) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let sql = format!("SELECT record_id FROM {table} WHERE model = ? AND record_id IN ({marks})");
        let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
        let params =
            std::iter::once(&model as &dyn rusqlite::ToSql).chain(chunk.iter().map(|id| id as &dyn rusqlite::ToSql));
        let rows = stmt.query_map(rusqlite::params_from_iter(params), |r| r.get::<_, String>(0)).map_err(db_err)?;
        for id in rows {
            out.push(id.map_err(db_err)?);
        }
    }
    Ok(out)
}

#[async_trait]
impl MonitoringStore for SqliteStore {
    async fn windows(&self, model: &str, version: Option<u32>, from: i64, to: i64) -> Result<Vec<StoredWindow>> {
        let model = model.to_string();
        self.with_conn(move |conn| windows(conn, &model, version, from, to)).await
    }

    async fn latest_window(&self, model: &str, version: u32) -> Result<Option<(i64, i64, u64)>> {
        let model = model.to_string();
        self.with_conn(move |conn| latest_window(conn, &model, version)).await
    }

    async fn first_window_start(&self, model: &str, version: u32) -> Result<Option<i64>> {
        let model = model.to_string();
        self.with_conn(move |conn| first_window_start(conn, &model, version)).await
    }

    async fn series(&self, model: &str, from: i64, to: i64) -> Result<Vec<SeriesRow>> {
        let model = model.to_string();
        self.with_conn(move |conn| series(conn, &model, from, to)).await
    }

    async fn put_series(&self, model: &str, points: &[SeriesRow]) -> Result<()> {
        let (model, points) = (model.to_string(), points.to_vec());
        self.with_conn(move |conn| put_series(conn, &model, &points)).await
    }

    async fn exact_drift(&self, model: &str, version: u32, start: i64, end: i64) -> Result<Option<ExactDriftRow>> {
        let model = model.to_string();
        self.with_conn(move |conn| exact_drift(conn, &model, version, start, end)).await
    }

    async fn put_exact_drift(&self, row: &ExactDriftRow) -> Result<()> {
        let row = row.clone();
        self.with_conn(move |conn| put_exact_drift(conn, &row)).await
    }

    async fn window_estimates(
        &self,
        model: &str,
        version: u32,
        start: i64,
        end: i64,
    ) -> Result<Option<WindowEstimatesRow>> {
        let model = model.to_string();
        self.with_conn(move |conn| window_estimates(conn, &model, version, start, end)).await
    }

    async fn put_window_estimates(&self, row: &WindowEstimatesRow) -> Result<()> {
        let row = row.clone();
        self.with_conn(move |conn| put_window_estimates(conn, &row)).await
    }

    async fn known_records(&self, model: &str, ids: &[String]) -> Result<Vec<String>> {
        let (model, ids) = (model.to_string(), ids.to_vec());
        self.with_conn(move |conn| known_records(conn, &model, &ids)).await
    }

    async fn known_refused(&self, model: &str, ids: &[String]) -> Result<Vec<String>> {
        let (model, ids) = (model.to_string(), ids.to_vec());
        self.with_conn(move |conn| known_refused(conn, &model, &ids)).await
    }

    async fn records(&self, model: &str, ids: &[String]) -> Result<Vec<StoredRecord>> {
        let (model, ids) = (model.to_string(), ids.to_vec());
        self.with_conn(move |conn| records(conn, &model, &ids)).await
    }

    async fn commit_ingest(&self, write: IngestWrite, audit: AuditRecord, at: OffsetDateTime) -> Result<()> {
        self.with_conn(move |conn| commit_ingest(conn, write, audit, at)).await
    }

    async fn segments(&self, model: &str) -> Result<Vec<Segment>> {
        let model = model.to_string();
        self.with_conn(move |conn| segments(conn, &model)).await
    }

    async fn expired_segments(&self, now: i64, limit: usize) -> Result<Vec<Segment>> {
        self.with_conn(move |conn| expired_segments(conn, now, limit)).await
    }

    async fn drop_segment(
        &self,
        model: &str,
        digest: &riskops_core::artifact::Digest,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<bool> {
        let (model, digest) = (model.to_string(), digest.clone());
        self.with_conn(move |conn| drop_segment(conn, &model, &digest, audit, at)).await
    }
}
