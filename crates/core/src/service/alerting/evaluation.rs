//! Evaluation: closed windows judged by every monitor in force; runs of breaches open or
//! extend incidents, and incidents none of whose windows breaches any more resolve.

use super::*;
use crate::action::Action;
use crate::alerting::{Monitor, retrain_advice};
use crate::audit::AuditRecord;
use crate::auth::Permit;
use crate::error::{Error, Result};
use crate::incident::{
    AutoResolution, DueWindow, EvaluationWrite, Incident, IncidentExtension, IncidentFilter, IncidentRefresh,
    IncidentState, MonitorResult, NewIncident,
};
use crate::monitoring::{MonitoredWindow, SeriesRow};
use crate::series::SeriesPoint;
use crate::service::Riskops;
use crate::service::monitoring::WindowReports;
use riskops_monitor::WindowState;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

/// Windows evaluated per pass (the rest wait for the next pass).
const WINDOWS_PER_PASS: usize = 500;

/// What one evaluation pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvaluationSummary {
    pub windows: usize,
    pub opened: Vec<i64>,
    pub extended: Vec<i64>,
    /// Incidents resolved because none of their windows breaches any more.
    pub resolved: Vec<i64>,
}

impl Riskops {
    /// One evaluation pass over the windows that are due (see [`Store::due_windows`]);
    /// `quiet_seconds`: how long a window that has ended must go without records before it
    /// counts as closed. Each model is evaluated on its own; one failing does not stop the
    /// others.
    ///
    /// [`Store::due_windows`]: crate::store::AlertingStore::due_windows
    pub async fn evaluate_monitors(&self, quiet_seconds: i64) -> Result<EvaluationSummary> {
        let now = self.clock.now().unix_timestamp();
        let due = self.store.due_windows(now, now - quiet_seconds, WINDOWS_PER_PASS).await?;
        let mut by_model: BTreeMap<String, Vec<DueWindow>> = BTreeMap::new();
        for w in due {
            by_model.entry(w.model.clone()).or_default().push(w);
        }
        let mut summary = EvaluationSummary::default();
        for (model, windows) in by_model {
            match self.evaluate_model(&model, &windows).await {
                Ok(s) => {
                    summary.windows += s.windows;
                    summary.opened.extend(s.opened);
                    summary.extended.extend(s.extended);
                    summary.resolved.extend(s.resolved);
                }
                // Another server judged it, or it changed: the next pass reads it afresh.
                Err(e) if e.kind == crate::error::ErrorKind::Conflict => {
                    tracing::debug!(model = %model, reason = %e.message, "monitor evaluation will run again")
                }
                Err(e) => tracing::warn!(model = %model, error = %e, "could not evaluate the model's monitors"),
            }
        }
        self.settle_risks().await?;
        Ok(summary)
    }

    async fn evaluate_model(&self, model: &str, due: &[DueWindow]) -> Result<EvaluationSummary> {
        let latest = self
            .store
            .model_version(model, None)
            .await?
            .ok_or_else(|| Error::internal(format!("model {model} vanished")))?;
        let project = latest.project.clone();
        let tier = self.tier_of(&project).await?;
        let monitors = self.monitor_set(model).await?.effective(tier);
        let mut reports = WindowReports::new(self, model).await?;
        let mut write = EvaluationWrite { model: model.to_string(), ..EvaluationWrite::default() };
        // The judged windows' chart values, kept once the judgement is committed.
        let mut series = Vec::with_capacity(due.len());
        let mut last_report: HashMap<u32, MonitoredWindow> = HashMap::new();
        let mut versions: Vec<u32> = Vec::new();
        let mut references: HashMap<(u32, String), Option<f64>> = HashMap::new();
        for w in due {
            let Some(stored) =
                self.store.windows(model, Some(w.version), w.start, w.start + 1).await?.into_iter().next()
            else {
                continue;
            };
            let state =
                WindowState::decode(&stored.state).map_err(|e| Error::internal(format!("stored window: {e}")))?;
            let report = reports.report(w.version, stored.start, stored.end, &state).await?;
            series.push(SeriesRow {
                version: w.version,
                start: stored.start,
                end: stored.end,
                rev: stored.rev,
                point: Some(SeriesPoint::of(&report).to_text()),
            });
            write.evaluated.push((w.version, stored.start, stored.rev));
            let min_records = reports.min_records();
            for m in &monitors {
                // A window too small for the monitor's statistic is recorded without a
                // value: it neither breaches nor becomes a relative monitor's reference.
                if !m.judges(&report, min_records) {
                    write.results.push(MonitorResult {
                        version: w.version,
                        window_start: stored.start,
                        window_end: stored.end,
                        monitor_id: m.id.clone(),
                        value: None,
                        at: None,
                        breached: false,
                        incident_id: None,
                    });
                    continue;
                }
                let reference = if m.relative {
                    let key = (w.version, m.id.clone());
                    if !references.contains_key(&key) {
                        let r = self.monitor_reference(model, w.version, m, &write.results).await?;
                        references.insert(key.clone(), r);
                    }
                    // Without a registered metric, the first window with a value is the
                    // reference (and so never breaches itself).
                    let first = m.observe(&report, None).value;
                    let slot = references.entry(key).or_insert(None);
                    if slot.is_none() {
                        *slot = first;
                    }
                    *slot
                } else {
                    None
                };
                let o = m.observe(&report, reference);
                write.results.push(MonitorResult {
                    version: w.version,
                    window_start: stored.start,
                    window_end: stored.end,
                    monitor_id: m.id.clone(),
                    value: o.value,
                    at: o.at,
                    breached: o.breached,
                    incident_id: None,
                });
            }
            if !versions.contains(&w.version) {
                versions.push(w.version);
            }
            last_report.insert(w.version, report);
        }
        let open: Vec<Incident> = self
            .store
            .incidents(&IncidentFilter { model: Some(model.to_string()), ..IncidentFilter::default() })
            .await?
            .into_iter()
            .filter(|i| i.state != IncidentState::Resolved)
            .collect();
        let mut audits = Vec::new();
        let system = Permit::system();
        let mut extended_ids = Vec::new();
        let mut resolved_ids = Vec::new();
        for version in versions {
            for m in &monitors {
                let mut results: BTreeMap<i64, MonitorResult> = self
                    .store
                    .monitor_results(model, version, &m.id)
                    .await?
                    .into_iter()
                    .map(|r| (r.window_start, r))
                    .collect();
                for r in write.results.iter().filter(|r| r.version == version && r.monitor_id == m.id) {
                    let incident_id = results.get(&r.window_start).and_then(|x| x.incident_id);
                    results.insert(r.window_start, MonitorResult { incident_id, ..r.clone() });
                }
                let Some(run) = longest_fresh_run(&results, m.persistence) else {
                    // No new run: an open incident of this monitor shows its windows as they
                    // are now, and is resolved once none of them breaches.
                    let incident = open.iter().find(|i| i.version == version && i.monitor_id == m.id);
                    if let Some(i) = incident
                        && let Some(change) = judge_again(i, m, &results, &write.results)
                    {
                        match change {
                            Rejudged::Refreshed(refresh) => {
                                audits.push(
                                    AuditRecord::new(&system, Action::IncidentUpdate, format!("incident:{}", i.id))
                                        .after(json!({"evidence": refresh.evidence})),
                                );
                                write.refreshed.push(refresh);
                            }
                            Rejudged::Resolved(resolution) => {
                                audits.push(
                                    AuditRecord::new(&system, Action::IncidentResolve, format!("incident:{}", i.id))
                                        .before(json!({"state": i.state.as_str()}))
                                        .after(json!({"state": "resolved", "note": resolution.reason, "evidence": resolution.evidence})),
                                );
                                resolved_ids.push(i.id);
                                write.resolved.push(resolution);
                            }
                        }
                    }
                    continue;
                };
                let fresh: Vec<i64> = run.iter().filter(|r| r.incident_id.is_none()).map(|r| r.window_start).collect();
                let since = rfc3339_unix(run[0].window_start);
                let values: Vec<(String, Option<f64>)> =
                    run.iter().map(|r| (rfc3339_unix(r.window_start), r.value)).collect();
                let evidence = json!({
                    "metric": m.metric,
                    "condition": m.describe(),
                    "since": since,
                    "values": run.iter().map(|r| json!({"window": rfc3339_unix(r.window_start), "value": r.value, "at": r.at, "breached": r.breached})).collect::<Vec<_>>(),
                });
                let advice = m
                    .family()
                    .advises_retraining()
                    .then(|| retrain_advice(m, &since, &values, last_report.get(&version)));
                match open.iter().find(|i| i.version == version && i.monitor_id == m.id) {
                    Some(i) => {
                        audits.push(
                            AuditRecord::new(&system, Action::IncidentUpdate, format!("incident:{}", i.id))
                                .after(json!({"windows": fresh.iter().map(|w| rfc3339_unix(*w)).collect::<Vec<_>>()})),
                        );
                        extended_ids.push(i.id);
                        write.extended.push(IncidentExtension { id: i.id, windows: fresh, evidence, advice });
                    }
                    None => {
                        let severity = m.severity.for_tier(tier);
                        let title = format!("{model}@{version}: {}", m.describe());
                        audits.push(
                            AuditRecord::new(&system, Action::IncidentOpen, format!("model:{model}"))
                                .after(json!({"version": version, "monitor": m.to_json(), "severity": severity.as_str(), "since": since})),
                        );
                        write.opened.push(NewIncident {
                            project: project.clone(),
                            model: model.to_string(),
                            version,
                            monitor_id: m.id.clone(),
                            monitor: m.to_json(),
                            severity,
                            title,
                            windows: fresh,
                            evidence,
                            advice,
                        });
                    }
                }
            }
        }
        let windows = write.evaluated.len();
        let opened = self.store.commit_evaluation(write, audits, self.clock.now()).await?;
        self.store.put_series(model, &series).await?;
        Ok(EvaluationSummary { windows, opened, extended: extended_ids, resolved: resolved_ids })
    }

    /// What a relative monitor compares with: the version's registered metric of that
    /// name, else the monitor's first value on the version.
    async fn monitor_reference(
        &self,
        model: &str,
        version: u32,
        monitor: &Monitor,
        pending: &[MonitorResult],
    ) -> Result<Option<f64>> {
        // Registered metrics are the version's validation scores: they speak to performance only.
        let name = monitor.metric.strip_prefix("performance.").unwrap_or_default();
        if !name.is_empty()
            && let Some(v) = self.store.model_version(model, Some(version)).await?
            && let Some(x) = v.metrics.get(name).and_then(Value::as_f64)
        {
            return Ok(Some(x));
        }
        let stored = self.store.monitor_results(model, version, &monitor.id).await?;
        let first = stored
            .iter()
            .chain(pending.iter().filter(|r| r.version == version && r.monitor_id == monitor.id))
            .filter(|r| r.value.is_some())
            .min_by_key(|r| r.window_start);
        Ok(first.and_then(|r| r.value))
    }
}

/// What judging an open incident's windows again changed.
pub(super) enum Rejudged {
    /// Some still breach: the evidence shows their current values.
    Refreshed(IncidentRefresh),
    /// None breaches any more.
    Resolved(AutoResolution),
}

/// An open incident after this pass's results: `None` when none of its windows was judged
/// again (nothing to change). `results` are the monitor's results on the incident's
/// version, this pass's included; `fresh` this pass's results.
pub(super) fn judge_again(
    incident: &Incident,
    monitor: &Monitor,
    results: &BTreeMap<i64, MonitorResult>,
    fresh: &[MonitorResult],
) -> Option<Rejudged> {
    let windows: Vec<&MonitorResult> = results.values().filter(|r| r.incident_id == Some(incident.id)).collect();
    let judged_again = fresh.iter().any(|f| {
        f.version == incident.version
            && f.monitor_id == incident.monitor_id
            && windows.iter().any(|w| w.window_start == f.window_start)
    });
    if windows.is_empty() || !judged_again {
        return None;
    }
    let values: Vec<Value> = windows
        .iter()
        .map(|r| json!({"window": rfc3339_unix(r.window_start), "value": r.value, "at": r.at, "breached": r.breached}))
        .collect();
    let mut evidence = incident.evidence.clone();
    match evidence.as_object_mut() {
        Some(o) => {
            o.insert("values".into(), Value::Array(values));
        }
        None => evidence = json!({"values": values}),
    }
    if windows.iter().any(|r| r.breached) {
        return Some(Rejudged::Refreshed(IncidentRefresh { id: incident.id, evidence }));
    }
    let now: Vec<String> = windows
        .iter()
        .map(|r| {
            format!("{} {}", rfc3339_unix(r.window_start), r.value.map_or("no value".to_string(), |v| v.to_string()))
        })
        .collect();
    let reason = format!(
        "resolved by riskops: judged again after its windows changed, none of its {} window(s) breaches {} any more ({})",
        windows.len(),
        monitor.describe(),
        now.join(", ")
    );
    Some(Rejudged::Resolved(AutoResolution { id: incident.id, project: incident.project.clone(), evidence, reason }))
}

/// The latest run of consecutive breaching windows at least `persistence` long that has
/// windows not yet in an incident; `None` when there is none.
pub(super) fn longest_fresh_run(
    results: &BTreeMap<i64, MonitorResult>,
    persistence: u32,
) -> Option<Vec<MonitorResult>> {
    let mut runs: Vec<Vec<MonitorResult>> = vec![Vec::new()];
    for r in results.values() {
        if r.breached {
            if let Some(run) = runs.last_mut() {
                run.push(r.clone());
            }
        } else if runs.last().is_some_and(|run| !run.is_empty()) {
            runs.push(Vec::new());
        }
    }
    runs.into_iter().rev().find(|run| run.len() >= persistence as usize && run.iter().any(|r| r.incident_id.is_none()))
}
