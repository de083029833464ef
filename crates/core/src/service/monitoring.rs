//! Monitoring services: a model's window settings, prediction logs and late labels in,
//! windows out.
//!
//! A batch is partial: each record that parses and fits the model's input schema is
//! accepted, each other one is answered with its reasons (and counted by reason in the
//! window its timestamp falls in, when its version is known), and a record id seen before
//! counts once. A feature value of the wrong kind does not refuse a record: the window
//! counts it as a type violation. Accepted records are folded into their window's state
//! (bounded sketches) and their outcome fields kept for late labels, in one transaction: a
//! 2xx means it is committed. Two batches touching one window at once are serialised by the
//! window's revision (read, merge, write if unchanged, else retry).

use super::{RequestContext, Riskops};
use crate::artifact::{Digest, VerifiedFile};
use crate::audit::AuditRecord;
use crate::auth::{self, Operation, Permit, Scope};
use crate::error::{Error, ErrorKind, Result};
use crate::governance::Environment;
use crate::kpi::{OutcomeValues, confusion_from_json};
use crate::monitoring::{IngestWrite, Segment, StoredRecord, StoredWindow, WindowSpec, WindowWrite};
use crate::project::validate_name;
use crate::registry::{ModelVersion, VersionRef};
use riskops_data::profile::{ColumnProfile, Dtype, TableProfile};
use riskops_monitor::{
    Conformer, InputSchema, Record, RejectReason, ReportContext, SchemaOptions, Task, WindowReport, WindowState,
};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// Largest batch accepted in one request.
pub const MAX_BATCH: usize = 100_000;
const ATTEMPTS: usize = 5;

/// How a model is monitored: stored as the versioned document `monitor:<model>`.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorConfig {
    pub window: WindowSpec,
    /// `binary` (with the positive class) or `regression`.
    pub task: Task,
    /// Reference columns that are not model inputs: the target, ids.
    pub exclude: Vec<String>,
    /// Record attributes to compute fairness for (empty: all that records carry).
    pub sensitive: Vec<String>,
    /// How long raw records are kept (days from when they arrived).
    pub retention_days: u32,
    /// A window with fewer records reports its drift as `insufficient`, and monitors whose
    /// values are sample statistics do not judge it (see `alerting::Monitor::judges`).
    pub min_records: u64,
}

/// Raw records are kept six months by default: the EU AI Act (Art. 19) asks at least that
/// of high-risk systems' logs.
pub const DEFAULT_RETENTION_DAYS: u32 = 183;
/// The longest retention accepted (ten years: SR 11-7 model files are kept about that long).
pub const MAX_RETENTION_DAYS: u32 = 3653;
/// Records a window needs before its drift is judged, unless configured.
pub const DEFAULT_MIN_RECORDS: u64 = 100;

impl Default for MonitorConfig {
    fn default() -> Self {
        MonitorConfig {
            window: WindowSpec::Hour,
            task: Task::Binary { positive: "1".into() },
            exclude: Vec::new(),
            sensitive: Vec::new(),
            retention_days: DEFAULT_RETENTION_DAYS,
            min_records: DEFAULT_MIN_RECORDS,
        }
    }
}

impl MonitorConfig {
    pub fn to_json(&self) -> Value {
        let (task, positive) = match &self.task {
            Task::Binary { positive } => ("binary", Some(positive.clone())),
            Task::Regression => ("regression", None),
        };
        json!({"window": self.window.name(), "task": task, "positive": positive, "exclude": self.exclude, "sensitive": self.sensitive, "retention_days": self.retention_days, "min_records": self.min_records})
    }

    pub fn from_json(v: &Value) -> Result<MonitorConfig> {
        let obj = v.as_object().ok_or_else(|| Error::invalid("config", "must be a JSON object"))?;
        if let Some(k) = obj.keys().find(|k| {
            !matches!(
                k.as_str(),
                "window" | "task" | "positive" | "exclude" | "sensitive" | "retention_days" | "min_records"
            )
        }) {
            return Err(Error::invalid(
                k,
                "unknown field; use window, task, positive, exclude, sensitive, retention_days, min_records",
            ));
        }
        let text_list = |k: &str| -> Result<Vec<String>> {
            match obj.get(k) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|x| x.as_str().map(str::to_string).ok_or_else(|| Error::invalid(k, "must be a list of names")))
                    .collect(),
                Some(_) => Err(Error::invalid(k, "must be a list of names")),
            }
        };
        let window = WindowSpec::parse("window", obj.get("window").and_then(Value::as_str).unwrap_or("hour"))?;
        let positive = obj.get("positive").and_then(Value::as_str).unwrap_or("1").to_string();
        let task = match obj.get("task").and_then(Value::as_str).unwrap_or("binary") {
            "binary" => Task::Binary { positive },
            "regression" => Task::Regression,
            other => return Err(Error::invalid("task", format!("{other:?}: use binary or regression"))),
        };
        let retention_days = match obj.get("retention_days") {
            None | Some(Value::Null) => DEFAULT_RETENTION_DAYS,
            Some(v) => v
                .as_u64()
                .and_then(|d| u32::try_from(d).ok())
                .filter(|d| (1..=MAX_RETENTION_DAYS).contains(d))
                .ok_or_else(|| Error::invalid("retention_days", format!("must be 1 to {MAX_RETENTION_DAYS} days")))?,
        };
        let min_records = match obj.get("min_records") {
            None | Some(Value::Null) => DEFAULT_MIN_RECORDS,
            Some(v) => v
                .as_u64()
                .filter(|n| (1..=u64::from(crate::monitoring::MAX_WINDOW_RECORDS)).contains(n))
                .ok_or_else(|| {
                    Error::invalid(
                        "min_records",
                        format!("must be a whole number from 1 to {}", crate::monitoring::MAX_WINDOW_RECORDS),
                    )
                })?,
        };
        Ok(MonitorConfig {
            window,
            task,
            exclude: text_list("exclude")?,
            sensitive: text_list("sensitive")?,
            retention_days,
            min_records,
        })
    }
}

/// Writes a batch's accepted raw records as one compressed columnar file (the server's
/// writes Parquet with zstd through riskops-parquet), which ingestion then moves into the
/// artifact store.
pub trait SegmentWriter: Send + Sync {
    fn write(&self, model: &str, records: &[&Record]) -> Result<SegmentFile>;
}

/// A written segment file; removed when dropped if it was not moved into the store.
#[derive(Debug)]
pub struct SegmentFile {
    pub path: std::path::PathBuf,
    pub digest: Digest,
    pub size: u64,
}

impl Drop for SegmentFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What a batch of predictions did.
#[derive(Debug, Clone, Default)]
pub struct IngestOutcome {
    pub accepted: u64,
    pub duplicates: u64,
    /// `(index in the batch, id if readable, reasons)`.
    pub rejected: Vec<(usize, Option<String>, Vec<String>)>,
}

/// A model version's input schema and reference, made once per batch.
struct Reference {
    schema: InputSchema,
    profile: Arc<TableProfile>,
    /// Puts the batch's records in schema order.
    conformer: Conformer,
}

/// A record of a known version and time that its schema refused, counted in its window
/// once per id.
struct Refused {
    id: String,
    version: u32,
    timestamp: i64,
    /// The kinds of its reasons.
    kinds: Vec<RejectReason>,
}

/// Decoded reference profiles by dataset version.
pub(super) type ProfileCache = std::sync::Mutex<HashMap<(String, u32), Arc<TableProfile>>>;

/// Per model, the turn batches take to merge into stored windows and commit.
pub(super) type IngestTurns = std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>;

/// Decoded reference profiles kept at most; past it the cache starts over.
const MAX_CACHED_PROFILES: usize = 64;

fn config_kind(model: &str) -> String {
    format!("monitor:{model}")
}

impl Riskops {
    pub async fn monitor_config(&self, ctx: &RequestContext, model: &str) -> Result<MonitorConfig> {
        self.model_version_for(ctx, Operation::RegistryRead, &VersionRef { name: model.into(), version: None }).await?;
        self.stored_monitor_config(model).await
    }

    pub(super) async fn stored_monitor_config(&self, model: &str) -> Result<MonitorConfig> {
        match self.store.document(&config_kind(model)).await? {
            Some(d) => MonitorConfig::from_json(&d.document),
            None => Ok(MonitorConfig::default()),
        }
    }

    /// Sets how a model is monitored (`monitor.configure`: admin, risk_officer,
    /// data_scientist); versioned and audited.
    pub async fn configure_monitoring(
        &self,
        ctx: &RequestContext,
        model: &str,
        config: &Value,
    ) -> Result<MonitorConfig> {
        let r = VersionRef { name: model.into(), version: None };
        let (_, permit) = self.model_version_for(ctx, Operation::MonitorConfigure, &r).await?;
        let config = MonitorConfig::from_json(config)?;
        let audit = AuditRecord::new(&permit, "monitor.configure", format!("model:{model}"))
            .after(config.to_json())
            .request_id(ctx.request_id.clone());
        self.store.set_document(&config_kind(model), config.to_json(), audit, self.clock.now()).await?;
        Ok(config)
    }

    /// Checks that the caller may send logs or labels for `model` in `project`; the server
    /// asks before it reads a batch's body, so nobody without the right makes it read one.
    pub async fn check_ingest(&self, ctx: &RequestContext, project: &str, model: &str) -> Result<()> {
        self.ingest_permit(ctx, project, model).await.map(|_| ())
    }

    /// Checks that the caller may send logs for `model` in `project`.
    async fn ingest_permit(&self, ctx: &RequestContext, project: &str, model: &str) -> Result<Permit> {
        validate_name("project", project)?;
        validate_name("model", model)?;
        let permit = auth::authorize(&ctx.principal, Operation::Ingest, Scope::Project(project))?;
        self.latest_in_project(project, model).await?;
        Ok(permit)
    }

    async fn reference(&self, version: &ModelVersion, config: &MonitorConfig) -> Result<Reference> {
        let link = version.validation_data.as_ref().or(version.training_data.as_ref()).ok_or_else(|| {
            Error::invalid(
                "version",
                format!(
                    "{}@{} has no training or validation dataset to compare production with; register it with --training-data",
                    version.name, version.version
                ),
            )
        })?;
        let profile = self.reference_profile(link).await?;
        let options = SchemaOptions {
            exclude: config.exclude.clone(),
            task: config.task.clone(),
            sensitive: config.sensitive.clone(),
        };
        Ok(Reference {
            schema: InputSchema::from_profile(&profile, &options),
            profile,
            conformer: Conformer::default(),
        })
    }

    /// The decoded profile of a dataset version, from the cache when it has been read before.
    async fn reference_profile(&self, link: &VersionRef) -> Result<Arc<TableProfile>> {
        let key = link.version.map(|v| (link.name.clone(), v));
        if let Some(key) = &key
            && let Some(p) = self.reference_profiles.lock().ok().and_then(|c| c.get(key).cloned())
        {
            return Ok(p);
        }
        let dataset = self
            .store
            .dataset_version(&link.name, link.version)
            .await?
            .ok_or_else(|| Error::internal(format!("dataset {link} vanished")))?;
        let profile = Arc::new(TableProfile::from_json(&dataset.profile).map_err(Error::internal)?);
        if let Ok(mut cache) = self.reference_profiles.lock() {
            if cache.len() >= MAX_CACHED_PROFILES {
                cache.clear();
            }
            cache.insert((dataset.name.clone(), dataset.version), profile.clone());
        }
        Ok(profile)
    }

    /// The model's ingestion turn (made on first use; one small mutex per model).
    fn ingest_turn(&self, model: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut turns = self.ingest_turns.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        turns.entry(model.to_string()).or_default().clone()
    }

    /// A version's reference, made once per request; `None` when the version does not exist.
    async fn cached_reference<'a>(
        &self,
        cache: &'a mut HashMap<u32, Reference>,
        model: &str,
        version: u32,
        config: &MonitorConfig,
    ) -> Result<Option<&'a mut Reference>> {
        if let std::collections::hash_map::Entry::Vacant(slot) = cache.entry(version) {
            let Some(v) = self.store.model_version(model, Some(version)).await? else { return Ok(None) };
            slot.insert(self.reference(&v, config).await?);
        }
        Ok(cache.get_mut(&version))
    }

    async fn production_version(&self, model: &str) -> Result<Option<u32>> {
        Ok(self
            .store
            .deployments(model)
            .await?
            .into_iter()
            .find(|d| d.environment == Environment::Production && d.until.is_none())
            .map(|d| d.version))
    }

    /// Takes a batch already read into records (or, per record, why it could not be);
    /// records without a version get the one in production.
    pub async fn ingest_records(
        &self,
        ctx: &RequestContext,
        project: &str,
        model: &str,
        batch: Vec<std::result::Result<Record, (Option<String>, String)>>,
    ) -> Result<IngestOutcome> {
        let permit = self.ingest_permit(ctx, project, model).await?;
        if batch.len() > MAX_BATCH {
            return Err(Error::new(ErrorKind::PayloadTooLarge, format!("at most {MAX_BATCH} records per batch")));
        }
        let config = self.stored_monitor_config(model).await?;
        let default_version = self.production_version(model).await?.map(|v| v.to_string()).unwrap_or_default();
        let mut references: HashMap<u32, Reference> = HashMap::new();
        let mut outcome = IngestOutcome::default();
        let mut parsed: Vec<(u32, Record)> = Vec::with_capacity(batch.len());
        // Records of a known version and time refused by its schema (an id once per batch).
        let mut refused: Vec<Refused> = Vec::new();
        let mut refused_ids: HashSet<String> = HashSet::new();
        // A record from the future would open a window that closes every earlier one (and
        // milliseconds sent as seconds land there).
        let latest_timestamp = self.clock.now().unix_timestamp() + 86_400;
        for (index, item) in batch.into_iter().enumerate() {
            let mut record = match item {
                Ok(r) => r,
                Err((id, reason)) => {
                    outcome.rejected.push((index, id, vec![reason]));
                    continue;
                }
            };
            if record.version.is_empty() {
                record.version.clone_from(&default_version);
            }
            let id = Some(record.id.clone());
            let Ok(version) = record.version.parse::<u32>() else {
                let reason = if record.version.is_empty() {
                    "version: none given and no version of the model is in production".to_string()
                } else {
                    format!("version: {:?} is not a version number", record.version)
                };
                outcome.rejected.push((index, id, vec![reason]));
                continue;
            };
            let Some(reference) = self.cached_reference(&mut references, model, version, &config).await? else {
                outcome.rejected.push((index, id, vec![format!("version: {model}@{version} does not exist")]));
                continue;
            };
            if record.timestamp > latest_timestamp || record.timestamp < 0 {
                let reason = if record.timestamp < 0 {
                    format!("timestamp: {} is before 1970 (unix seconds expected)", record.timestamp)
                } else {
                    format!(
                        "timestamp: {} is more than a day ahead of the server's clock (unix seconds expected)",
                        record.timestamp
                    )
                };
                outcome.rejected.push((index, id, vec![reason]));
                continue;
            }
            record.features = reference.schema.conform(std::mem::take(&mut record.features), &mut reference.conformer);
            if let Err(reasons) = reference.schema.check(&record) {
                // Counted in the window its timestamp falls in, so a monitor sees the share refused.
                if refused_ids.insert(record.id.clone()) {
                    let kinds = reasons.iter().map(|(kind, _)| *kind).collect();
                    refused.push(Refused { id: record.id.clone(), version, timestamp: record.timestamp, kinds });
                }
                outcome.rejected.push((index, id, reasons.into_iter().map(|(_, why)| why).collect()));
                continue;
            }
            parsed.push((version, record));
        }
        // A record sent twice in one batch counts once (the first).
        let mut seen = HashSet::with_capacity(parsed.len());
        let first: Vec<bool> = parsed.iter().map(|(_, r)| seen.insert(r.id.as_str())).collect();
        drop(seen);
        let before = parsed.len();
        let mut first = first.into_iter();
        parsed.retain(|_| first.next().unwrap_or(true));
        outcome.duplicates += (before - parsed.len()) as u64;
        let by_count = matches!(config.window, WindowSpec::Records(_));
        let positive = positive_of(&config.task);
        for attempt in 1..=ATTEMPTS {
            // The records are folded into fresh window states before taking the model's
            // turn, so batches fold in parallel; only reading the stored windows, merging
            // and committing take turns (then a batch of this server never finds its
            // window changed under it; servers sharing PostgreSQL still rely on `rev`).
            // Windows of N records are cut from the stored count, so they fold in turn.
            let turn = self.ingest_turn(model);
            let mut held = if by_count { Some(turn.clone().lock_owned().await) } else { None };
            // Most batches are new: the first attempt assumes so, and the store's unique key
            // on record ids turns a resent record into a conflict. Later attempts look up
            // which ids were seen before and leave them out.
            let known: HashSet<String> = if attempt == 1 {
                HashSet::new()
            } else {
                let ids: Vec<String> = parsed.iter().map(|(_, r)| r.id.clone()).collect();
                self.store.known_records(model, &ids).await?.into_iter().collect()
            };
            let fresh: Vec<&(u32, Record)> = parsed.iter().filter(|(_, r)| !known.contains(&r.id)).collect();
            // Likewise refused ids: counted once, however often the batch is sent.
            let counted_before: HashSet<String> = if attempt == 1 || refused.is_empty() {
                HashSet::new()
            } else {
                let ids: Vec<String> = refused.iter().map(|r| r.id.clone()).collect();
                self.store.known_refused(model, &ids).await?.into_iter().collect()
            };
            let refused_now: Vec<&Refused> = refused.iter().filter(|r| !counted_before.contains(&r.id)).collect();
            let mut states: BTreeMap<(u32, i64), (i64, WindowState, u64, u64)> = BTreeMap::new();
            let mut new_records = Vec::with_capacity(fresh.len());
            let (windows, refused_windows) = match config.window {
                WindowSpec::Records(n) => self.count_windows(model, n, &fresh, &refused_now, &references).await?,
                spec => (
                    fresh.iter().map(|(_, r)| spec.window_of(r.timestamp)).collect(),
                    refused_now.iter().map(|r| spec.window_of(r.timestamp)).collect(),
                ),
            };
            for (r, (start, end)) in refused_now.iter().zip(refused_windows) {
                let Some(reference) = references.get(&r.version) else { continue };
                let entry = states
                    .entry((r.version, start))
                    .or_insert_with(|| (end, WindowState::new(&reference.schema), 0, 0));
                entry.0 = entry.0.max(end);
                entry.1.reject(r.kinds.iter().copied());
            }
            for ((version, record), (start, end)) in fresh.iter().zip(windows) {
                let Some(reference) = references.get(version) else { continue };
                let entry =
                    states.entry((*version, start)).or_insert_with(|| (end, WindowState::new(&reference.schema), 0, 0));
                entry.0 = entry.0.max(end);
                entry.1.add(&reference.schema, record);
                entry.2 += 1;
                entry.3 += u64::from(record.label.is_some());
                new_records.push(StoredRecord {
                    id: record.id.clone(),
                    version: *version,
                    window_start: start,
                    prediction: prediction_json(record),
                    score: record.positive_score(&positive),
                    attributes: serde_json::to_string(&record.attributes).unwrap_or_else(|_| "{}".into()),
                    labelled: record.label.is_some(),
                });
            }
            let (segment, stored_now) = self.write_segment(model, &fresh, &config).await?;
            if held.is_none() {
                held = Some(turn.lock_owned().await);
            }
            let (windows, placed) = self.merged_windows(model, config.window, states).await?;
            for r in &mut new_records {
                if let Some(start) = placed.get(&(r.version, r.window_start)) {
                    r.window_start = *start;
                }
            }
            let accepted = new_records.len() as u64;
            let audit = AuditRecord::new(&permit, "predictions.ingest", format!("model:{model}"))
                .after(json!({
                    "accepted": accepted,
                    "duplicates": outcome.duplicates + known.len() as u64,
                    "rejected": outcome.rejected.len(),
                    "windows": windows.iter().map(|w| json!({"version": w.version, "start": w.start})).collect::<Vec<_>>(),
                }))
                .request_id(ctx.request_id.clone());
            let digest = segment.as_ref().map(|s| s.digest.clone());
            let refused_ids = refused_now.iter().map(|r| r.id.clone()).collect();
            let write = IngestWrite {
                model: model.to_string(),
                windows,
                new_records,
                labelled: Vec::new(),
                refused: refused_ids,
                segment,
            };
            let result = self.store.commit_ingest(write, audit, self.clock.now()).await;
            drop(held);
            if let Some(digest) = digest {
                self.undo_artifact_on_error(&result, stored_now, &digest).await;
            }
            match result {
                Ok(()) => {
                    outcome.accepted = accepted;
                    outcome.duplicates += known.len() as u64;
                    return Ok(outcome);
                }
                Err(e) if e.kind == ErrorKind::Conflict && attempt < ATTEMPTS => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::busy("the model's windows kept changing; send the batch again"))
    }

    /// Writes the fresh records as a segment into the artifact store (when a writer is
    /// set); whether this call stored the object, so a failed commit can remove it.
    async fn write_segment(
        &self,
        model: &str,
        fresh: &[&(u32, Record)],
        config: &MonitorConfig,
    ) -> Result<(Option<Segment>, bool)> {
        let (Some(writer), false) = (&self.segment_writer, fresh.is_empty()) else { return Ok((None, false)) };
        let records: Vec<&Record> = fresh.iter().map(|(_, r)| r).collect();
        let file = writer.write(model, &records)?;
        let stored_now = self.store_artifact(&file.path, &file.digest).await?;
        let now = self.clock.now().unix_timestamp();
        let segment = Segment {
            model: model.to_string(),
            digest: file.digest.clone(),
            records: records.len() as u64,
            size: file.size,
            first_ts: records.iter().map(|r| r.timestamp).min().unwrap_or_default(),
            last_ts: records.iter().map(|r| r.timestamp).max().unwrap_or_default(),
            created_at: now,
            expires_at: now.saturating_add(i64::from(config.retention_days) * 86_400),
        };
        Ok((Some(segment), stored_now))
    }

    /// The latest stored window of each of `versions` that started at `since` or later
    /// (windows ahead of the clock included): two indexed reads per version, however long
    /// the model has been monitored.
    pub(super) async fn latest_windows(
        &self,
        model: &str,
        versions: impl IntoIterator<Item = u32>,
        since: i64,
    ) -> Result<BTreeMap<u32, crate::monitoring::StoredWindow>> {
        let mut out = BTreeMap::new();
        for version in versions {
            let Some((start, _, _)) = self.store.latest_window(model, version).await? else { continue };
            if start < since {
                continue;
            }
            if let Some(w) = self.store.windows(model, Some(version), start, start + 1).await?.into_iter().next() {
                out.insert(version, w);
            }
        }
        Ok(out)
    }

    /// A model's raw-record segments (registry.read).
    pub async fn segments(&self, ctx: &RequestContext, model: &str) -> Result<Vec<Segment>> {
        self.model_version_for(ctx, Operation::RegistryRead, &VersionRef { name: model.into(), version: None }).await?;
        self.store.segments(model).await
    }

    /// One segment's file, checked against its digest. Raw records can hold personal data,
    /// so reading them takes audit.read (admin, risk_officer, auditor) in the project.
    pub async fn segment_file(&self, ctx: &RequestContext, model: &str, digest: &Digest) -> Result<VerifiedFile> {
        self.model_version_for(ctx, Operation::AuditRead, &VersionRef { name: model.into(), version: None }).await?;
        if !self.store.segments(model).await?.iter().any(|s| &s.digest == digest) {
            return Err(Error::not_found(format!("model {model} has no segment {digest}")));
        }
        self.artifacts.open_verified(digest).await
    }

    /// Drops segments whose retention is over, and their objects once nothing refers to
    /// them; the number dropped. Run by the server's alerting task.
    pub async fn expire_segments(&self) -> Result<usize> {
        let now = self.clock.now().unix_timestamp();
        let expired = self.store.expired_segments(now, 100).await?;
        let system = crate::auth::Permit::system();
        for s in &expired {
            let audit =
                AuditRecord::new(&system, "predictions.expire", format!("model:{}", s.model)).before(s.to_json());
            let unreferenced = self.store.drop_segment(&s.model, &s.digest, audit, self.clock.now()).await?;
            if unreferenced && let Err(e) = self.artifacts.delete(&s.digest).await {
                tracing::warn!(digest = %s.digest, error = %e, "could not delete an expired segment");
            }
        }
        Ok(expired.len())
    }

    /// Windows of `n` records: each fresh record's `(start, end)`, filling each version's
    /// latest window up to `n` before opening the next, in the batch's order; then each
    /// refused record's: the window its version is filling (it does not count toward `n`).
    async fn count_windows(
        &self,
        model: &str,
        n: u32,
        fresh: &[&(u32, Record)],
        refused: &[&Refused],
        references: &HashMap<u32, Reference>,
    ) -> Result<(Vec<(i64, i64)>, Vec<(i64, i64)>)> {
        // Per version: (start, end, records) of the window being filled.
        let mut open: HashMap<u32, (i64, i64, u64)> = HashMap::new();
        let mut out = Vec::with_capacity(fresh.len());
        for (version, record) in fresh {
            if !open.contains_key(version) {
                let latest = self.fillable_window(model, *version, n, references).await?;
                // A full (or no) window: the next record opens one after it.
                let slot = latest.unwrap_or((i64::MIN, i64::MIN, u64::from(n)));
                open.insert(*version, slot);
            }
            let Some(window) = open.get_mut(version) else { continue };
            if window.2 >= u64::from(n) {
                let start = if window.0 == i64::MIN { record.timestamp } else { record.timestamp.max(window.0 + 1) };
                *window = (start, start + 1, 0);
            }
            window.1 = window.1.max(record.timestamp + 1);
            window.2 += 1;
            out.push((window.0, window.1));
        }
        let mut refused_out = Vec::with_capacity(refused.len());
        for Refused { version, timestamp, .. } in refused.iter().copied() {
            if !open.contains_key(version) {
                let latest = self.fillable_window(model, *version, n, references).await?;
                open.insert(*version, latest.unwrap_or((i64::MIN, i64::MIN, u64::from(n))));
            }
            let Some(window) = open.get_mut(version) else { continue };
            // None being filled: the refused record opens one, which accepted records fill.
            if window.2 >= u64::from(n) {
                let start = if window.0 == i64::MIN { *timestamp } else { (*timestamp).max(window.0 + 1) };
                *window = (start, start + 1, 0);
            }
            window.1 = window.1.max(timestamp + 1);
            refused_out.push((window.0, window.1));
        }
        Ok((out, refused_out))
    }

    /// The version's latest window of N records as `(start, end, records)`; reported full
    /// when it was made for another feature set (the model's `exclude` changed since), so
    /// that the next record opens a new one.
    async fn fillable_window(
        &self,
        model: &str,
        version: u32,
        n: u32,
        references: &HashMap<u32, Reference>,
    ) -> Result<Option<(i64, i64, u64)>> {
        let Some((start, end, records)) = self.store.latest_window(model, version).await? else { return Ok(None) };
        if records >= u64::from(n) {
            return Ok(Some((start, end, records)));
        }
        let Some(reference) = references.get(&version) else { return Ok(Some((start, end, records))) };
        let Some(w) = self.store.windows(model, Some(version), start, start + 1).await?.into_iter().next() else {
            return Ok(Some((start, end, records)));
        };
        let stored = WindowState::decode(&w.state).map_err(|e| Error::internal(format!("stored window: {e}")))?;
        let fits = stored.same_shape(&WindowState::new(&reference.schema));
        Ok(Some((start, end, if fits { records } else { u64::from(n) })))
    }

    /// Merges fresh window states into the stored ones, ready to write with their
    /// revisions; and where each went: `(version, start)` → the start it is written under.
    ///
    /// A time window stored with another shape (the model's feature set changed: its
    /// `exclude`) takes no more records: the fresh state opens a new window one second after
    /// the latest window of that span (starts stay unique per version), which later records
    /// of the span then fill. The old one closes as any window does; labels still find it.
    async fn merged_windows(
        &self,
        model: &str,
        spec: WindowSpec,
        states: BTreeMap<(u32, i64), (i64, WindowState, u64, u64)>,
    ) -> Result<(Vec<WindowWrite>, HashMap<(u32, i64), i64>)> {
        let mut out = Vec::with_capacity(states.len());
        let mut placed = HashMap::new();
        for ((version, start), (end, state, records, labelled)) in states {
            // A time window's span may hold windows reopened after a change of features.
            let span_end = if spec.seconds().is_some() { end.max(start + 1) } else { start + 1 };
            let stored = self.store.windows(model, Some(version), start, span_end).await?;
            let (at, expected_rev, state) = match stored.into_iter().max_by_key(|w| w.start) {
                None => (start, None, state),
                Some(w) => {
                    let mut merged =
                        WindowState::decode(&w.state).map_err(|e| Error::internal(format!("stored window: {e}")))?;
                    if merged.same_shape(&state) {
                        merged.merge(&state).map_err(|e| Error::internal(format!("merging a window: {e}")))?;
                        (w.start, Some(w.rev), merged)
                    } else if spec.seconds().is_some() {
                        (w.start + 1, None, state)
                    } else {
                        // Windows of N records were cut against the stored shape: it
                        // changed meanwhile, so cut them again.
                        return Err(Error::conflict("the model's window changed shape while the batch was cut"));
                    }
                }
            };
            placed.insert((version, start), at);
            out.push(WindowWrite { version, start: at, end, state: state.encode(), records, labelled, expected_rev });
        }
        Ok((out, placed))
    }

    /// Ground truth that arrives later: each `(id, label)` updates the window its record
    /// belongs to, once.
    pub async fn add_labels(
        &self,
        ctx: &RequestContext,
        project: &str,
        model: &str,
        labels: Vec<(String, Value)>,
    ) -> Result<IngestOutcome> {
        let permit = self.ingest_permit(ctx, project, model).await?;
        if labels.len() > MAX_BATCH {
            return Err(Error::new(ErrorKind::PayloadTooLarge, format!("at most {MAX_BATCH} labels per batch")));
        }
        let config = self.stored_monitor_config(model).await?;
        for attempt in 1..=ATTEMPTS {
            let mut outcome = IngestOutcome::default();
            let ids: Vec<String> = labels.iter().map(|(id, _)| id.clone()).collect();
            let stored: HashMap<String, StoredRecord> =
                self.store.records(model, &ids).await?.into_iter().map(|r| (r.id.clone(), r)).collect();
            let mut references: HashMap<u32, Reference> = HashMap::new();
            // Each labelled record's stored window, decoded once: outcomes are added to it
            // directly, so a window made under an earlier feature set takes its labels too.
            let mut states: BTreeMap<(u32, i64), (StoredWindow, WindowState, u64)> = BTreeMap::new();
            let mut labelled = Vec::new();
            let mut seen = HashSet::new();
            for (index, (id, label)) in labels.iter().enumerate() {
                let Some(record) = stored.get(id) else {
                    outcome.rejected.push((index, Some(id.clone()), vec!["no prediction with this id".into()]));
                    continue;
                };
                if record.labelled || !seen.insert(id.clone()) {
                    outcome.duplicates += 1;
                    continue;
                }
                let Some(reference) = self.cached_reference(&mut references, model, record.version, &config).await?
                else {
                    return Err(Error::internal("a monitored version vanished"));
                };
                let actual = riskops_monitor::Value::from_json(label);
                let predicted: Value = serde_json::from_str(&record.prediction).unwrap_or(Value::Null);
                let attributes: BTreeMap<String, String> = serde_json::from_str(&record.attributes).unwrap_or_default();
                let (Some(actual), Some(predicted)) = (actual, riskops_monitor::Value::from_json(&predicted)) else {
                    outcome.rejected.push((
                        index,
                        Some(id.clone()),
                        vec!["label: must be a number, text or boolean".into()],
                    ));
                    continue;
                };
                let (_, state, count) = match states.entry((record.version, record.window_start)) {
                    std::collections::btree_map::Entry::Occupied(slot) => slot.into_mut(),
                    std::collections::btree_map::Entry::Vacant(slot) => {
                        let (version, start) = *slot.key();
                        let Some(w) =
                            self.store.windows(model, Some(version), start, start + 1).await?.into_iter().next()
                        else {
                            return Err(Error::internal("a labelled record's window vanished"));
                        };
                        let state = WindowState::decode(&w.state)
                            .map_err(|e| Error::internal(format!("stored window: {e}")))?;
                        slot.insert((w, state, 0))
                    }
                };
                if let Err(e) = state.add_outcome(&reference.schema, &actual, &predicted, record.score, &attributes) {
                    outcome.rejected.push((index, Some(id.clone()), vec![e.to_string()]));
                    continue;
                }
                *count += 1;
                labelled.push(id.clone());
            }
            let windows: Vec<WindowWrite> = states
                .into_values()
                .map(|(w, state, count)| WindowWrite {
                    version: w.version,
                    start: w.start,
                    end: w.end,
                    state: state.encode(),
                    records: 0,
                    labelled: count,
                    expected_rev: Some(w.rev),
                })
                .collect();
            let accepted = labelled.len() as u64;
            let audit = AuditRecord::new(&permit, "labels.ingest", format!("model:{model}"))
                .after(
                    json!({"accepted": accepted, "duplicates": outcome.duplicates, "rejected": outcome.rejected.len()}),
                )
                .request_id(ctx.request_id.clone());
            let write = IngestWrite { model: model.to_string(), windows, labelled, ..IngestWrite::default() };
            match self.store.commit_ingest(write, audit, self.clock.now()).await {
                Ok(()) => {
                    outcome.accepted = accepted;
                    return Ok(outcome);
                }
                Err(e) if e.kind == ErrorKind::Conflict && attempt < ATTEMPTS => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::busy("the model's windows kept changing; send the labels again"))
    }

    /// Window reports of a model in `[from, to)` (unix seconds), at the configured length or
    /// rolled up to days.
    pub async fn monitoring(
        &self,
        ctx: &RequestContext,
        model: &str,
        from: i64,
        to: i64,
        granularity: Option<WindowSpec>,
    ) -> Result<Vec<Value>> {
        self.model_version_for(ctx, Operation::RegistryRead, &VersionRef { name: model.into(), version: None }).await?;
        let config = self.stored_monitor_config(model).await?;
        let stored = self.store.windows(model, None, from, to).await?;
        let target = granularity.unwrap_or(config.window);
        // Per rolled-up window, one state per shape: windows made before and after the
        // model's feature set changed are reported side by side, not merged.
        let mut merged: BTreeMap<(i64, u32), Vec<(i64, WindowState)>> = BTreeMap::new();
        for w in stored {
            let state = WindowState::decode(&w.state).map_err(|e| Error::internal(format!("stored window: {e}")))?;
            let (start, end) =
                if config.window.rolls_up_into(target) { target.window_of(w.start) } else { (w.start, w.end) };
            let shapes = merged.entry((start, w.version)).or_default();
            match shapes.iter_mut().find(|(_, into)| into.same_shape(&state)) {
                Some((_, into)) => into.merge(&state).map_err(|e| Error::internal(format!("rolling up: {e}")))?,
                None => shapes.push((end, state)),
            }
        }
        let mut reports = WindowReports::new(self, model).await?;
        let mut out = Vec::new();
        for ((start, version), shapes) in merged {
            for (end, state) in shapes {
                out.push(reports.report(version, start, end, &state).await?);
            }
        }
        Ok(out)
    }
}

/// Makes window reports of one model: its settings, references and business values read
/// once.
pub(super) struct WindowReports<'a> {
    riskops: &'a Riskops,
    model: String,
    config: MonitorConfig,
    values: Option<OutcomeValues>,
    references: HashMap<u32, Reference>,
    /// Per version: its first window's start and predictions (the prediction-drift baseline).
    baselines: HashMap<u32, Option<(i64, ColumnProfile)>>,
}

impl<'a> WindowReports<'a> {
    pub(super) async fn new(riskops: &'a Riskops, model: &str) -> Result<WindowReports<'a>> {
        let values = match riskops.store.document(&format!("kpi:{model}")).await? {
            Some(d) => OutcomeValues::from_json(&d.document).ok(),
            None => None,
        };
        Ok(WindowReports {
            riskops,
            model: model.to_string(),
            config: riskops.stored_monitor_config(model).await?,
            values,
            references: HashMap::new(),
            baselines: HashMap::new(),
        })
    }

    /// The API's window report, with the expected business value when the model has
    /// values per outcome and the window labels.
    pub(super) async fn report(&mut self, version: u32, start: i64, end: i64, state: &WindowState) -> Result<Value> {
        let Some(reference) =
            self.riskops.cached_reference(&mut self.references, &self.model, version, &self.config).await?
        else {
            return Err(Error::internal("a monitored version vanished"));
        };
        let profile = reference.profile.clone();
        let min_records = self.config.min_records;
        let baseline = self.baseline(version).await?;
        let is_baseline = baseline.is_some_and(|(first, _)| *first == start);
        let version_text = version.to_string();
        let ctx = ReportContext {
            start,
            end,
            version: &version_text,
            reference: &profile,
            prediction_reference: baseline.filter(|_| !is_baseline).map(|(_, p)| p),
            drift_share: 0.5,
            min_records,
        };
        let mut report = WindowReport::compute(state, &ctx).to_json();
        if is_baseline {
            report["prediction_drift"] = json!({"skipped": "this is the version's first window: later windows' predictions are compared with it"});
        }
        report["business"] = business(&report, self.values.as_ref());
        Ok(report)
    }

    /// Records a window needs before sample statistics are judged.
    pub(super) fn min_records(&self) -> u64 {
        self.config.min_records
    }

    /// The version's first window's predictions, read once.
    async fn baseline(&mut self, version: u32) -> Result<Option<&(i64, ColumnProfile)>> {
        if !self.baselines.contains_key(&version) {
            let store = &self.riskops.store;
            let mut found = None;
            if let Some(first) = store.first_window_start(&self.model, version).await?
                && let Some(w) = store.windows(&self.model, Some(version), first, first + 1).await?.into_iter().next()
            {
                let state =
                    WindowState::decode(&w.state).map_err(|e| Error::internal(format!("stored window: {e}")))?;
                let dtype = prediction_dtype(&state, &self.config.task);
                found = Some((first, state.prediction_profile(dtype)));
            }
            self.baselines.insert(version, found);
        }
        Ok(self.baselines.get(&version).and_then(Option::as_ref))
    }
}

/// How a version's predictions are typed for drift, as pandas would type the column:
/// numbers for regression; for classes, text when any is text, else whole numbers as
/// int64 (0/1 classes are compared as categories), else float64.
fn prediction_dtype(state: &WindowState, task: &Task) -> Dtype {
    let p = &state.prediction;
    if matches!(task, Task::Regression) {
        return Dtype::Float64;
    }
    if p.frequencies.iter().next().is_some() {
        return Dtype::Object;
    }
    match p.small.counts() {
        Some(values) if values.iter().all(|(x, _)| x.fract() == 0.0) => Dtype::Int64,
        _ => Dtype::Float64,
    }
}

/// `{"currency","value_per_1000","cost_per_1000","value","cost"}` from the window's
/// confusion matrix and the model's values per outcome (costs are the negated values, so a
/// monitor can fire on `business.cost_per_1000 --above X`); `null` without either.
fn business(report: &Value, values: Option<&OutcomeValues>) -> Value {
    let Some(values) = values else { return Value::Null };
    let Some(matrix) = report.pointer("/performance/confusion_matrix").and_then(confusion_from_json) else {
        return Value::Null;
    };
    let Some(per_thousand) = values.per_thousand(&matrix) else { return Value::Null };
    let total = per_thousand * matrix.count() as f64 / 1000.0;
    json!({
        "currency": values.currency,
        "value_per_1000": per_thousand,
        "cost_per_1000": -per_thousand,
        "value": total,
        "cost": -total,
        "decisions": matrix.count(),
    })
}

fn positive_of(task: &Task) -> String {
    match task {
        Task::Binary { positive } => positive.clone(),
        Task::Regression => String::new(),
    }
}

/// The record's prediction as JSON text, kept for late labels.
fn prediction_json(record: &Record) -> String {
    match &record.prediction {
        riskops_monitor::Value::Null | riskops_monitor::Value::Nested => "null".into(),
        riskops_monitor::Value::Bool(b) => b.to_string(),
        riskops_monitor::Value::Number(x) => {
            serde_json::Number::from_f64(*x).map(|n| n.to_string()).unwrap_or_else(|| "null".into())
        }
        riskops_monitor::Value::Text(t) => Value::String(t.to_string()).to_string(),
    }
}
