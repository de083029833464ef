//! Monitoring: prediction logs and labels in, windows out, and a model's window settings.
//!
//! A predictions batch is NDJSON (`application/x-ndjson`), a JSON array
//! (`application/json`) or CSV (`text/csv`: columns `id`, `timestamp`, `version`,
//! `prediction`, `score`, `label`, `latency_ms`, `attr.<name>` for attributes, every other
//! column a feature), optionally gzip-compressed (`Content-Encoding: gzip`). It is partial:
//! valid records are accepted, the others answered one by one with their reasons.

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, Caller};
use crate::state::AppState;
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use riskops_api::Document;
use riskops_api::monitoring::{
    IngestAnswer, Label, MonitorConfig as MonitorConfigView, MonitoringView, Rejected, Segment, SegmentList,
};
use riskops_core::monitoring::WindowSpec;
use riskops_core::service::{IngestOutcome, MAX_BATCH, MonitorConfig};
use riskops_core::{Error, ErrorKind};
use riskops_monitor::{Record, RecordBuilder, RecordColumn, RecordReader};
use serde::Deserialize;
use serde_json::{Value, json};
use std::io::Read;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
pub struct ModelPath {
    pub(crate) project: String,
    pub(crate) model: String,
}

/// A batch's outcome as the API shows it.
fn answer(o: IngestOutcome) -> IngestAnswer {
    IngestAnswer {
        accepted: o.accepted,
        duplicates: o.duplicates,
        rejected: o.rejected.into_iter().map(|(index, id, reasons)| Rejected { index, id, reasons }).collect(),
    }
}

/// A batch's body, read only after the caller may send one: at most `limit` bytes as sent
/// and, when gzipped (it says so, or starts with gzip's magic bytes), at most `limit` bytes
/// once decompressed — a 255 KB gzip body can hold 256 MiB of newlines. Over either is a 413.
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, Error> {
    let raw = axum::body::to_bytes(body, limit).await.map_err(|e| body_error(&e, limit))?;
    let gzip =
        headers.get("content-encoding").and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("gzip"))
            || raw.starts_with(&[0x1f, 0x8b]);
    if !gzip {
        return Ok(raw);
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&raw[..])
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::bad_request(format!("the gzip body cannot be read: {e}")))?;
    if out.len() > limit {
        return Err(too_large(limit, "once decompressed"));
    }
    Ok(Bytes::from(out))
}

fn too_large(limit: usize, how: &str) -> Error {
    Error::new(
        ErrorKind::PayloadTooLarge,
        format!("the batch is over {limit} bytes {how}; send smaller batches (the server's --batch-limit)"),
    )
}

/// A body that could not be read: over the limit (413), or cut off by the client (400).
fn body_error(e: &axum::Error, limit: usize) -> Error {
    if crate::error::chain_has::<http_body_util::LengthLimitError>(e) {
        return too_large(limit, "as sent");
    }
    Error::bad_request(format!("the body could not be read: {e}"))
}

fn too_many() -> Error {
    Error::new(ErrorKind::PayloadTooLarge, format!("at most {MAX_BATCH} records per batch; send smaller batches"))
}

/// One record of a batch, or why it is not one (with its id when readable).
type Parsed = Result<Record, (Option<String>, String)>;

/// The batch as records, read by one `RecordReader` so that records listing the same
/// features share their names. NDJSON lines are read straight into records; JSON arrays and
/// CSV go through JSON values. More than [`MAX_BATCH`] records is a 413 as soon as it is seen,
/// so nothing is ever sized from what the body claims.
fn parse_batch(headers: &HeaderMap, bytes: &[u8]) -> Result<Vec<Parsed>, Error> {
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("application/x-ndjson");
    let mut reader = RecordReader::new();
    let mut from_values = |values: Vec<Value>| -> Vec<Parsed> {
        values
            .into_iter()
            .map(|doc| {
                let id = doc.get("id").map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
                reader.read_json(&doc, "").map_err(|reason| (id, reason))
            })
            .collect()
    };
    if content_type.starts_with("text/csv") {
        return Ok(from_values(parse_csv(bytes)?));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| Error::bad_request("the body is not UTF-8"))?;
    if content_type.starts_with("application/json") {
        return Ok(from_values(json_records(text)?));
    }
    parse_ndjson(text)
}

/// NDJSON bodies above this size are parsed on every core, a slice of lines each.
const PARALLEL_PARSE_BYTES: usize = 256 << 10;

/// NDJSON: a malformed line is that record's problem, not the batch's. A large body is cut
/// at line ends into one slice per core, each read by its own reader; the records keep their
/// order. (The slices' layouts are equal but not shared: ingestion puts records in the
/// schema's layout anyway.)
fn parse_ndjson(text: &str) -> Result<Vec<Parsed>, Error> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let slices = if text.len() < PARALLEL_PARSE_BYTES { vec![text] } else { line_slices(text, cores) };
    let parse = |slice: &str| -> Option<Vec<Parsed>> {
        let mut reader = RecordReader::new();
        let mut records = Vec::new();
        for line in slice.lines().filter(|l| !l.trim().is_empty()) {
            if records.len() == MAX_BATCH {
                return None;
            }
            records.push(reader.read_line(line, "").map_err(|reason| (None, reason)));
        }
        Some(records)
    };
    let parts: Vec<Option<Vec<Parsed>>> = if slices.len() == 1 {
        vec![parse(slices[0])]
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = slices.iter().map(|slice| s.spawn(move || parse(slice))).collect();
            handles
                .into_iter()
                .map(|h| h.join().map_err(|_| Error::internal("reading a batch's records failed")))
                .collect::<Result<_, _>>()
        })?
    };
    let mut records = Vec::new();
    for part in parts {
        records.extend(part.ok_or_else(too_many)?);
        if records.len() > MAX_BATCH {
            return Err(too_many());
        }
    }
    Ok(records)
}

/// `text` cut into about `n` slices, each ending at a line end (or the text's end).
fn line_slices(text: &str, n: usize) -> Vec<&str> {
    let mut slices = Vec::with_capacity(n);
    let mut start = 0;
    for i in 1..n {
        let target = (text.len() * i / n).max(start);
        let Some(newline) = text.as_bytes()[target..].iter().position(|&b| b == b'\n') else { break };
        let end = target + newline + 1;
        slices.push(&text[start..end]);
        start = end;
    }
    slices.push(&text[start..]);
    slices
}

/// A JSON batch: an array of records (at most [`MAX_BATCH`], counted while reading), or one.
fn json_records(text: &str) -> Result<Vec<Value>, Error> {
    if text.trim_start().starts_with('{') {
        let one = serde_json::from_str(text).map_err(|e| Error::bad_request(format!("the body is not JSON: {e}")))?;
        return Ok(vec![one]);
    }
    match serde_json::from_str::<Capped<Value>>(text) {
        Ok(Capped(Some(records))) => Ok(records),
        Ok(Capped(None)) => Err(too_many()),
        Err(e) if e.is_data() => Err(Error::bad_request("a JSON batch is an array of records")),
        Err(e) => Err(Error::bad_request(format!("the body is not JSON: {e}"))),
    }
}

/// A JSON array read element by element that stops at its [`MAX_BATCH`]+1st (`None`), so a
/// body of millions of tiny elements never becomes millions of values.
struct Capped<T>(Option<Vec<T>>);

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Capped<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit<T>(std::marker::PhantomData<T>);
        impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for Visit<T> {
            type Value = Capped<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Capped<T>, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<T>()? {
                    if items.len() == MAX_BATCH {
                        return Ok(Capped(None));
                    }
                    items.push(item);
                }
                Ok(Capped(Some(items)))
            }
        }
        deserializer.deserialize_seq(Visit(std::marker::PhantomData))
    }
}

fn csv_value(text: &str) -> Value {
    if text.is_empty() {
        return Value::Null;
    }
    if let Ok(i) = text.parse::<i64>() {
        return json!(i);
    }
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() => json!(x),
        _ => match text {
            "true" | "True" => json!(true),
            "false" | "False" => json!(false),
            _ => json!(text),
        },
    }
}

fn parse_csv(bytes: &[u8]) -> Result<Vec<Value>, Error> {
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    let headers = reader.headers().map_err(|e| Error::bad_request(format!("CSV header: {e}")))?.clone();
    let columns: Vec<RecordColumn> = headers.iter().map(RecordColumn::of).collect();
    let mut out = Vec::new();
    for row in reader.records() {
        if out.len() == MAX_BATCH {
            return Err(too_many());
        }
        let row = row.map_err(|e| Error::bad_request(format!("CSV: {e}")))?;
        let mut record = RecordBuilder::new();
        for (column, text) in columns.iter().zip(row.iter()) {
            let value = match column {
                RecordColumn::Id | RecordColumn::Version | RecordColumn::Attribute(_) => json!(text),
                _ => csv_value(text),
            };
            record.cell(column, value);
        }
        out.push(record.finish());
    }
    Ok(out)
}

/// Sends prediction logs (ingest role, or admin). Each record:
/// `{"id","timestamp"(unix seconds),"version"?,"features":{…},"prediction","score"?|"probabilities"?,"label"?,"attributes"?,"latency_ms"?}`;
/// `version` defaults to the version in production. Partial: the answer lists each
/// rejected record with its reasons; an id already accepted counts once. A 2xx means the
/// accepted records are committed.
#[utoipa::path(
    post, path = "/api/v1/projects/{project}/models/{model}/predictions", tag = "monitoring", security(("bearer" = [])),
    params(ModelPath),
    request_body(content = String, description = "NDJSON, a JSON array or CSV; gzip accepted", content_type = "application/x-ndjson"),
    responses((status = 200, body = IngestAnswer), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn predictions(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(path): Path<ModelPath>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<IngestAnswer>, ApiError> {
    let permit = state.riskops.check_ingest(&ctx, &path.project, &path.model).await?;
    let bytes = read_body(&headers, body, state.batch_limit).await?;
    let batch = parse_batch(&headers, &bytes)?;
    drop(bytes);
    let outcome = state.riskops.ingest_records(&ctx, permit, batch).await.inspect_err(|e| {
        if e.kind == ErrorKind::Busy {
            crate::metrics::record_ingest_gave_up();
        }
    })?;
    crate::metrics::record_ingested(outcome.accepted);
    crate::metrics::record_ingest_retries(outcome.conflict_retries);
    Ok(Json(answer(outcome)))
}

/// Ground truth that arrives later: `[{"id","label"}]` (gzip accepted); each updates its
/// record's window once.
#[utoipa::path(
    post, path = "/api/v1/projects/{project}/models/{model}/labels", tag = "monitoring", security(("bearer" = [])),
    params(ModelPath), request_body = Vec<Label>,
    responses((status = 200, body = IngestAnswer), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn labels(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(path): Path<ModelPath>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<IngestAnswer>, ApiError> {
    let permit = state.riskops.check_ingest(&ctx, &path.project, &path.model).await?;
    let bytes = read_body(&headers, body, state.batch_limit).await?;
    let Capped(body) = crate::extract::json_body::<Capped<Label>>(&bytes)?;
    let labels = body
        .ok_or_else(too_many)?
        .into_iter()
        .map(|l| (l.id.as_str().map(str::to_string).unwrap_or_else(|| l.id.to_string()), l.label))
        .collect();
    Ok(Json(answer(state.riskops.add_labels(&ctx, permit, labels).await?)))
}

#[derive(Deserialize, IntoParams)]
pub struct MonitoringQuery {
    /// RFC 3339 or unix seconds; default: 7 days before `to`.
    pub(crate) from: Option<String>,
    /// RFC 3339 or unix seconds; default: now.
    pub(crate) to: Option<String>,
    /// `hour` or `day` (days roll hourly windows up).
    pub(crate) granularity: Option<String>,
}

fn instant(field: &str, text: &str) -> Result<i64, Error> {
    if let Ok(secs) = text.parse::<i64>() {
        return Ok(secs);
    }
    let text = if text.contains('T') { text.to_string() } else { format!("{text}T00:00:00Z") };
    OffsetDateTime::parse(&text, &Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|e| Error::invalid(field, format!("{text:?} is not RFC 3339 or unix seconds: {e}")))
}

/// Window reports: drift per feature against the version's reference dataset, data
/// quality, performance once labels are in, fairness per sensitive attribute, latency.
#[utoipa::path(
    get, path = "/api/v1/projects/{project}/models/{model}/monitoring", tag = "monitoring", security(("bearer" = [])),
    params(ModelPath, MonitoringQuery),
    responses((status = 200, body = MonitoringView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn monitoring(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(path): Path<ModelPath>,
    Query(q): Query<MonitoringQuery>,
) -> Result<Json<MonitoringView>, ApiError> {
    let to = match &q.to {
        Some(t) => instant("to", t)?,
        None => state.riskops.now().unix_timestamp() + 1,
    };
    let from = match &q.from {
        Some(t) => instant("from", t)?,
        None => to - 7 * 86_400,
    };
    let granularity = q.granularity.as_deref().map(|g| WindowSpec::parse("granularity", g)).transpose()?;
    super::check_model_in_project(&state, &ctx, &path.project, &path.model).await?;
    let windows = state.riskops.monitoring(&ctx, &path.model, from, to, granularity).await?;
    Ok(Json(MonitoringView { windows: windows.iter().map(super::window_views::window_report).collect() }))
}

/// How a model is monitored: window (`hour`, `day`, `records:N`), task, positive class,
/// excluded columns, sensitive attributes, retention, minimum window size.
#[utoipa::path(
    get, path = "/api/v1/projects/{project}/models/{model}/monitor", tag = "monitoring", security(("bearer" = [])),
    params(ModelPath), responses((status = 200, body = MonitorConfigView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn get_config(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(path): Path<ModelPath>,
) -> Result<Json<MonitorConfigView>, ApiError> {
    super::check_model_in_project(&state, &ctx, &path.project, &path.model).await?;
    Ok(Json(config_view(&state.riskops.monitor_config(&ctx, &path.model).await?)))
}

/// Sets how a model is monitored (admin, risk_officer, data_scientist: `monitor.configure`);
/// fields left out take their defaults.
#[utoipa::path(
    put, path = "/api/v1/projects/{project}/models/{model}/monitor", tag = "monitoring", security(("bearer" = [])),
    params(ModelPath), request_body(content = Object),
    responses((status = 200, body = MonitorConfigView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn put_config(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(path): Path<ModelPath>,
    ApiJson(body): ApiJson<Document>,
) -> Result<Json<MonitorConfigView>, ApiError> {
    super::check_model_in_project(&state, &ctx, &path.project, &path.model).await?;
    Ok(Json(config_view(&state.riskops.configure_monitoring(&ctx, &path.model, &body.0).await?)))
}

fn config_view(c: &MonitorConfig) -> MonitorConfigView {
    let (task, positive) = match &c.task {
        riskops_monitor::Task::Binary { positive } => ("binary", Some(positive.clone())),
        riskops_monitor::Task::Regression => ("regression", None),
    };
    MonitorConfigView {
        window: c.window.name(),
        task: task.to_string(),
        positive,
        exclude: c.exclude.clone(),
        sensitive: c.sensitive.clone(),
        retention_days: c.retention_days,
        min_records: c.min_records,
        explain_sample: c.explain_sample,
        score_column: c.estimation.as_ref().map(|e| e.score.clone()),
        label_column: c.estimation.as_ref().map(|e| e.label.clone()),
        prediction_column: c.estimation.as_ref().and_then(|e| e.prediction.clone()),
    }
}

#[derive(Deserialize, IntoParams)]
pub struct SegmentPath {
    project: String,
    model: String,
    /// `sha256:<hex>`.
    digest: String,
}

/// The model's raw-record segments, oldest first. Each is one ingested batch's accepted
/// records as Parquet (zstd), kept for the model's `retention_days`.
#[utoipa::path(
    get, path = "/api/v1/projects/{project}/models/{model}/segments", tag = "monitoring", security(("bearer" = [])),
    params(ModelPath), responses((status = 200, body = SegmentList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn segments(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(path): Path<ModelPath>,
) -> Result<Json<SegmentList>, ApiError> {
    super::check_model_in_project(&state, &ctx, &path.project, &path.model).await?;
    let segments = state.riskops.segments(&ctx, &path.model).await?;
    let rfc3339 = riskops_monitor::rfc3339;
    Ok(Json(SegmentList {
        segments: segments
            .iter()
            .map(|s| Segment {
                digest: s.digest.as_str().to_string(),
                records: s.records,
                size: s.size,
                first_record: rfc3339(s.first_ts),
                last_record: rfc3339(s.last_ts),
                created_at: rfc3339(s.created_at),
                expires_at: rfc3339(s.expires_at),
            })
            .collect(),
    }))
}

/// One segment's Parquet file, checked against its digest (raw records: audit.read).
#[utoipa::path(
    get, path = "/api/v1/projects/{project}/models/{model}/segments/{digest}", tag = "monitoring", security(("bearer" = [])),
    params(SegmentPath),
    responses(
        (status = 200, description = "the segment (Parquet)", content_type = "application/octet-stream"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)
    )
)]
pub async fn segment_file(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(path): Path<SegmentPath>,
) -> Result<axum::response::Response, ApiError> {
    super::check_model_in_project(&state, &ctx, &path.project, &path.model).await?;
    let digest = riskops_core::artifact::Digest::parse(&path.digest)?;
    let file = state.riskops.segment_file(&ctx, &path.model, &digest).await?;
    let name = format!("{}-{}.parquet", path.model, &digest.as_str()[7..19]);
    super::registry_views::file_response(file, &digest, &name).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(i: usize) -> String {
        format!(
            "{{\"id\":\"r{i}\",\"timestamp\":1700000000,\"features\":{{\"age\":{i},\"segment\":\"s{}\"}},\"prediction\":1}}\n",
            i % 3
        )
    }

    /// A body large enough to be read on every core gives the records a one-thread read
    /// gives, in order, a malformed line still that record's problem.
    #[test]
    fn a_large_batch_read_in_slices_equals_reading_it_line_by_line() {
        let mut body: String = (0..20_000).map(line).collect();
        body.insert_str(body.len() / 2, "{not json}\n\n");
        assert!(body.len() > PARALLEL_PARSE_BYTES);
        let ids = |records: &[Parsed]| -> Vec<String> {
            records.iter().map(|r| r.as_ref().map_or_else(|_| "<bad>".to_string(), |r| r.id.clone())).collect()
        };
        let sliced = parse_ndjson(&body).unwrap();
        let mut reader = RecordReader::new();
        let one: Vec<Parsed> = body
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| reader.read_line(l, "").map_err(|reason| (None, reason)))
            .collect();
        assert_eq!(sliced.len(), 20_001);
        assert_eq!(ids(&sliced), ids(&one));
        for slices in [2, 3, 7] {
            assert_eq!(line_slices(&body, slices).concat(), body, "slices cover the text exactly");
            assert!(line_slices(&body, slices).iter().all(|s| s.ends_with('\n') || s.is_empty() || body.ends_with(s)));
        }
    }

    #[test]
    fn more_records_than_a_batch_holds_are_refused_however_the_body_is_cut() {
        let body: String = (0..MAX_BATCH + 1).map(line).collect();
        assert_eq!(parse_ndjson(&body).err().unwrap().kind, ErrorKind::PayloadTooLarge);
    }
}
