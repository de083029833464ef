//! Prediction logs and late labels in: records checked against their version's schema,
//! folded into their windows' states and committed with their outcome fields.

use super::reports::positive_of;
use super::*;
use super::{RequestContext, Riskops};
use crate::action::Action;
use crate::audit::AuditRecord;
use crate::error::{Error, ErrorKind, Result};
use crate::monitoring::{IngestWrite, StoredRecord, StoredWindow, WindowSpec, WindowWrite};
use riskops_monitor::{Record, RejectReason, WindowState};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// Largest batch accepted in one request.
pub const MAX_BATCH: usize = 100_000;

/// Tries of a batch whose windows another batch changed first (on another replica: this
/// server's own batches of one model take turns). Between tries the batch waits a little
/// longer each time, with jitter, so replicas racing for one window fall out of step.
const ATTEMPTS: u32 = 10;

/// The wait before try `attempt` (2 and later): 5 ms doubling to at most 320 ms, plus up to
/// half as much again at random.
fn backoff(attempt: u32) -> std::time::Duration {
    let base = 5u64 << (attempt.saturating_sub(2)).min(6);
    let mut noise = [0u8; 2];
    let jitter = match getrandom::fill(&mut noise) {
        Ok(()) => u64::from(u16::from_le_bytes(noise)) % (base / 2 + 1),
        Err(_) => 0,
    };
    std::time::Duration::from_millis(base + jitter)
}

/// What a batch of predictions did.
#[derive(Debug, Clone, Default)]
pub struct IngestOutcome {
    pub accepted: u64,
    pub duplicates: u64,
    /// `(index in the batch, id if readable, reasons)`.
    pub rejected: Vec<(usize, Option<String>, Vec<String>)>,
    /// Tries repeated because another replica changed the batch's windows first.
    pub conflict_retries: u32,
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

impl Riskops {
    /// The model's ingestion turn (made on first use; one small mutex per model).
    fn ingest_turn(&self, model: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut turns = self.ingest_turns.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        turns.entry(model.to_string()).or_default().clone()
    }

    /// Takes a batch already read into records (or, per record, why it could not be);
    /// records without a version get the one in production.
    pub async fn ingest_records(
        &self,
        ctx: &RequestContext,
        ingest: IngestPermit,
        batch: Vec<std::result::Result<Record, (Option<String>, String)>>,
    ) -> Result<IngestOutcome> {
        let IngestPermit { permit, model } = ingest;
        let model = model.as_str();
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
            if attempt > 1 {
                tokio::time::sleep(backoff(attempt)).await;
            }
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
                let entry = states.entry((r.version, start)).or_insert_with(|| {
                    (end, WindowState::new(&reference.schema).with_explain_sample(config.explain_sample), 0, 0)
                });
                entry.0 = entry.0.max(end);
                entry.1.reject(r.kinds.iter().copied());
            }
            for ((version, record), (start, end)) in fresh.iter().zip(windows) {
                let Some(reference) = references.get(version) else { continue };
                let entry = states.entry((*version, start)).or_insert_with(|| {
                    (end, WindowState::new(&reference.schema).with_explain_sample(config.explain_sample), 0, 0)
                });
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
            let audit = AuditRecord::new(&permit, Action::PredictionsIngest, format!("model:{model}"))
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
                    outcome.conflict_retries = attempt - 1;
                    return Ok(outcome);
                }
                // Never a 409 for the sender: the batch itself was fine.
                Err(e) if e.kind == ErrorKind::Conflict => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::busy(format!("the model's windows kept changing under {ATTEMPTS} tries; send the batch again")))
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
        ingest: IngestPermit,
        labels: Vec<(String, Value)>,
    ) -> Result<IngestOutcome> {
        let IngestPermit { permit, model } = ingest;
        let model = model.as_str();
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
            let audit = AuditRecord::new(&permit, Action::LabelsIngest, format!("model:{model}"))
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

#[cfg(test)]
mod backoff_tests {
    use super::*;

    #[test]
    fn waits_grow_from_5_ms_to_a_bound_with_jitter_of_at_most_half() {
        for attempt in 2..=ATTEMPTS {
            let base = 5u64 << (attempt - 2).min(6);
            for _ in 0..20 {
                let ms = backoff(attempt).as_millis() as u64;
                assert!((base..=base + base / 2).contains(&ms), "attempt {attempt}: {ms} ms");
            }
        }
        assert!(backoff(ATTEMPTS).as_millis() <= 480, "the last wait stays under half a second");
    }
}
