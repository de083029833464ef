//! Alerting services: monitors in, incidents out, webhooks notified, risks raised.
//!
//! [`Riskops::evaluate_monitors`] runs in the background (the server's alerting task): it
//! takes windows that closed or changed since last looked at (late labels change closed
//! windows), computes their reports, records what each monitor saw, and opens or extends
//! incidents where a monitor breached for its persistence. Opening an incident queues
//! webhook deliveries in the same transaction and raises the matching risks' likelihood;
//! resolving it lowers them again. [`Riskops::deliver_webhooks`] sends what is due, signed,
//! retrying with backoff. Neither blocks ingestion.

use super::monitoring::WindowReports;
use super::{RequestContext, Riskops, rfc3339};
use crate::alerting::{Monitor, MonitorSet, retrain_advice};
use crate::audit::AuditRecord;
use crate::auth::{self, Operation, Permit, Scope};
use crate::compliance::MonitoringFacts;
use crate::error::{Error, Result};
use crate::governance::Tier;
use crate::incident::{
    AttemptOutcome, AutoResolution, Delivery, DueWindow, EvaluationWrite, Incident, IncidentExtension, IncidentFilter,
    IncidentRefresh, IncidentState, MonitorResult, NewIncident, NewWebhook, RiskAction, Webhook, WebhookFormat,
};
use crate::project::validate_name;
use crate::registry::VersionRef;
use crate::secret::Secret;
use riskops_monitor::WindowState;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

/// Windows evaluated per pass (the rest wait for the next pass).
const WINDOWS_PER_PASS: usize = 500;
/// Deliveries attempted per pass.
const DELIVERIES_PER_PASS: usize = 50;
/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: u32 = 10;
/// The longest wait between two attempts.
const MAX_BACKOFF: i64 = 3600;

fn monitors_kind(model: &str) -> String {
    format!("monitors:{model}")
}

/// Sends one webhook request; the server implements it over HTTP.
#[async_trait::async_trait]
pub trait WebhookTransport: Send + Sync {
    /// POSTs `body` with `headers`; the response status, or why there was none.
    async fn post(&self, url: &str, headers: &[(String, String)], body: Vec<u8>) -> std::result::Result<u16, String>;
}

/// A model's monitors with where each comes from.
#[derive(Debug, Clone)]
pub struct MonitorsView {
    pub model: String,
    pub project: String,
    pub tier: Tier,
    /// `(monitor, "model" | "tier default")`.
    pub monitors: Vec<(Monitor, &'static str)>,
    pub disabled_defaults: Vec<String>,
}

impl MonitorsView {
    pub fn to_json(&self) -> Value {
        json!({
            "model": self.model,
            "project": self.project,
            "tier": self.tier.as_str(),
            "monitors": self.monitors.iter().map(|(m, origin)| {
                let mut v = m.to_json();
                v["origin"] = json!(origin);
                v
            }).collect::<Vec<_>>(),
            "disabled_defaults": self.disabled_defaults,
        })
    }
}

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
    async fn monitor_set(&self, model: &str) -> Result<MonitorSet> {
        match self.store.document(&monitors_kind(model)).await? {
            Some(d) => MonitorSet::from_json(&d.document),
            None => Ok(MonitorSet::default()),
        }
    }

    async fn tier_of(&self, project: &str) -> Result<Tier> {
        let project =
            self.store.project(project).await?.ok_or_else(|| Error::internal(format!("project {project} vanished")))?;
        Ok(self.project_tier(&project).await?.0)
    }

    /// What the compliance report needs of a model's monitoring: monitors in force, the
    /// latest window of each version, segments kept and incidents.
    pub(super) async fn monitoring_facts(&self, model: &str, versions: &[u32], tier: Tier) -> Result<MonitoringFacts> {
        let monitors = self.monitor_set(model).await?.effective(tier).iter().map(Monitor::describe).collect();
        let mut last_window = BTreeMap::new();
        for v in versions {
            if let Some((_, end, _)) = self.store.latest_window(model, *v).await? {
                last_window.insert(*v, end);
            }
        }
        let filter = IncidentFilter { model: Some(model.to_string()), ..IncidentFilter::default() };
        Ok(MonitoringFacts {
            monitors,
            last_window,
            segments: self.store.segments(model).await?.len() as u64,
            retention_days: self.stored_monitor_config(model).await?.retention_days,
            incidents: self.store.incidents(&filter).await?,
        })
    }

    /// A model's monitors: its own and its tier's defaults still switched on.
    pub async fn monitors(&self, ctx: &RequestContext, model: &str) -> Result<MonitorsView> {
        let r = VersionRef { name: model.to_string(), version: None };
        let (version, _) = self.model_version_for(ctx, Operation::RegistryRead, &r).await?;
        self.monitors_view(model, &version.project).await
    }

    async fn monitors_view(&self, model: &str, project: &str) -> Result<MonitorsView> {
        let tier = self.tier_of(project).await?;
        let set = self.monitor_set(model).await?;
        let own: Vec<String> = set.monitors.iter().map(|m| m.id.clone()).collect();
        let monitors = set
            .effective(tier)
            .into_iter()
            .map(|m| (m.clone(), if own.contains(&m.id) { "model" } else { "tier default" }))
            .collect();
        Ok(MonitorsView {
            model: model.to_string(),
            project: project.to_string(),
            tier,
            monitors,
            disabled_defaults: set.disabled_defaults,
        })
    }

    /// Adds a monitor to a model (admin, risk_officer, data_scientist); audited.
    pub async fn add_monitor(&self, ctx: &RequestContext, model: &str, monitor: &Value) -> Result<Monitor> {
        let r = VersionRef { name: model.to_string(), version: None };
        let (_, permit) = self.model_version_for(ctx, Operation::MonitorEdit, &r).await?;
        let monitor = Monitor::from_json(monitor)?;
        let mut set = self.monitor_set(model).await?;
        let added = set.add(monitor)?;
        let audit = AuditRecord::new(&permit, "monitor.add", format!("model:{model}"))
            .after(added.to_json())
            .request_id(ctx.request_id.clone());
        self.store.set_document(&monitors_kind(model), set.to_json(), audit, self.clock.now()).await?;
        Ok(added)
    }

    /// Removes a model's monitor (`monitor.edit`), or switches one of its tier's defaults
    /// off (`monitor.defaults_off`, and never by an author of the model); audited.
    pub async fn remove_monitor(&self, ctx: &RequestContext, model: &str, id: &str) -> Result<()> {
        let r = VersionRef { name: model.to_string(), version: None };
        let (version, mut permit) = self.model_version_for(ctx, Operation::MonitorEdit, &r).await?;
        let tier = self.tier_of(&version.project).await?;
        let mut set = self.monitor_set(model).await?;
        let own = set.monitors.iter().any(|m| m.id == id);
        if !own && set.effective(tier).iter().any(|m| m.id == id) {
            permit = self.default_off_permit(ctx, model, &version.project).await?;
        }
        let before = set.effective(tier).into_iter().find(|m| m.id == id).map(|m| m.to_json());
        set.remove(id, tier)?;
        let audit = AuditRecord::new(&permit, "monitor.remove", format!("model:{model}"))
            .before(before.unwrap_or(Value::Null))
            .request_id(ctx.request_id.clone());
        self.store.set_document(&monitors_kind(model), set.to_json(), audit, self.clock.now()).await?;
        Ok(())
    }

    /// The permission to switch a tier default off for `model`: the tier's defaults are the
    /// bar the risk function set, so the people the bar is for (the model's authors) may not
    /// lower it, whatever their roles.
    async fn default_off_permit(&self, ctx: &RequestContext, model: &str, project: &str) -> Result<Permit> {
        let permit = auth::authorize(&ctx.principal, Operation::MonitorDefaults, Scope::Project(project))?;
        let me = ctx.principal.name();
        if self.store.model_versions(model).await?.iter().any(|v| v.author == me) {
            return Err(Error::forbidden(format!(
                "{me} is an author of {model} and may not switch its tier's default monitors off; ask a risk officer"
            )));
        }
        Ok(permit)
    }

    /// Incidents the caller may read, newest first.
    pub async fn incidents(&self, ctx: &RequestContext, filter: &IncidentFilter) -> Result<Vec<Incident>> {
        let visible = auth::authorize_listing(&ctx.principal, Operation::RegistryRead)?;
        if let Some(p) = &filter.project {
            validate_name("project", p)?;
            auth::authorize(&ctx.principal, Operation::RegistryRead, Scope::Project(p))?;
        }
        let mut out = self.store.incidents(filter).await?;
        out.retain(|i| visible.sees(&i.project));
        Ok(out)
    }

    pub async fn incident(&self, ctx: &RequestContext, id: i64) -> Result<Incident> {
        let visible = auth::authorize_listing(&ctx.principal, Operation::RegistryRead)?;
        // Another project's incident is "not found", not "forbidden": ids do not leak.
        match self.store.incident(id).await? {
            Some(incident) if visible.sees(&incident.project) => Ok(incident),
            _ => Err(Error::not_found(format!("no incident {id}"))),
        }
    }

    /// Acknowledges or resolves an incident, recording who and when; resolving lowers the
    /// risks the incident raised.
    pub async fn set_incident_state(
        &self,
        ctx: &RequestContext,
        id: i64,
        state: IncidentState,
        note: &str,
    ) -> Result<Incident> {
        if note.len() > 4000 {
            return Err(Error::invalid("note", "at most 4,000 bytes"));
        }
        auth::authorize_listing(&ctx.principal, Operation::IncidentManage)?;
        let current = self.store.incident(id).await?.ok_or_else(|| Error::not_found(format!("no incident {id}")))?;
        let permit = auth::authorize(&ctx.principal, Operation::IncidentManage, Scope::Project(&current.project))?;
        let action = match state {
            IncidentState::Acknowledged => "incident.acknowledge",
            IncidentState::Resolved => "incident.resolve",
            IncidentState::Open => return Err(Error::invalid("state", "use acknowledged or resolved")),
        };
        let audit = AuditRecord::new(&permit, action, format!("incident:{id}"))
            .before(json!({"state": current.state.as_str()}))
            .after(json!({"state": state.as_str(), "note": note}))
            .request_id(ctx.request_id.clone());
        let updated = self.store.set_incident_state(id, state, note, audit, self.clock.now()).await?;
        // The risks follow now; should that fail, the alerting task finishes it (the store
        // keeps the pending `lower`).
        if let Err(e) = self.settle_risks().await {
            tracing::warn!(incident = id, error = %e, "the risk register will follow the incident later");
        }
        Ok(self.store.incident(id).await?.unwrap_or(updated))
    }

    /// Brings the risk register up to date with incidents (opened: raise; resolved: let
    /// fall back). One drift episode raises a signal's risks once however many incidents
    /// share it: an incident whose project already has an unresolved incident holding that
    /// signal's raise adds nothing, and a resolved incident hands its raise to another
    /// unresolved one of the same signal instead of lowering. Returns the incidents settled.
    pub async fn settle_risks(&self) -> Result<usize> {
        let owing = self.store.incidents_owing_risk_changes(50).await?;
        let system = Permit::system();
        for incident in &owing {
            let signal = risk_signal(incident);
            let shares_signal = |other: &Incident| {
                other.id != incident.id && other.state != IncidentState::Resolved && risk_signal(other) == signal
            };
            let filter = IncidentFilter { project: Some(incident.project.clone()), ..IncidentFilter::default() };
            let siblings: Vec<Incident> =
                self.store.incidents(&filter).await?.into_iter().filter(|o| shares_signal(o)).collect();
            let settle = |id: i64, risks: Vec<i64>, note: &str| {
                let audit = AuditRecord::new(&system, "incident.risks", format!("incident:{id}"))
                    .after(json!({"signal": signal, "risks": risks, "why": note}));
                (id, risks, audit)
            };
            let mut writes = Vec::new();
            match (incident.risk_action, signal) {
                (Some(RiskAction::Raise), Some(signal)) if incident.state != IncidentState::Resolved => {
                    if siblings.iter().any(|o| !o.raised_risks.is_empty()) {
                        writes.push(settle(incident.id, Vec::new(), "another open incident holds this signal's raise"));
                    } else {
                        let reason = format!("incident {}: {}", incident.id, incident.title);
                        let raised = self.raise_likelihood(&system, None, &incident.project, signal, &reason).await?;
                        writes.push(settle(incident.id, raised.iter().map(|e| e.id).collect(), "raised"));
                    }
                }
                (Some(RiskAction::Lower), _) if !incident.raised_risks.is_empty() => match siblings.first() {
                    Some(heir) => {
                        writes.push(settle(heir.id, incident.raised_risks.clone(), "handed over: still open"));
                        writes.push(settle(incident.id, Vec::new(), "handed its raise over"));
                    }
                    None => {
                        let reason = format!("incident {} ({}) resolved", incident.id, incident.title);
                        self.lower_likelihood(&system, None, &incident.raised_risks, &reason).await?;
                        writes.push(settle(incident.id, Vec::new(), "lowered"));
                    }
                },
                _ => writes.push(settle(incident.id, Vec::new(), "nothing to change")),
            }
            for (id, risks, audit) in writes {
                self.store.set_incident_risks(id, &risks, audit, self.clock.now()).await?;
            }
        }
        Ok(owing.len())
    }

    /// Adds a webhook to a project (admin, risk_officer). The secret is kept to sign
    /// payloads and never shown again.
    pub async fn add_webhook(
        &self,
        ctx: &RequestContext,
        project: &str,
        url: &str,
        secret: Secret<String>,
        format: WebhookFormat,
    ) -> Result<Webhook> {
        validate_name("project", project)?;
        let permit = auth::authorize(&ctx.principal, Operation::WebhookEdit, Scope::Project(project))?;
        self.store.project(project).await?.ok_or_else(|| Error::not_found(format!("no project {project:?}")))?;
        validate_url(url)?;
        self.check_receiver(url)?;
        if secret.expose().len() < 16 || secret.expose().len() > 512 {
            return Err(Error::invalid("secret", "must be 16 to 512 bytes (a random string of 32 or more is best)"));
        }
        // Audited by host only: a receiver's path or query may be its credential.
        let shown = crate::incident::shown_url(url);
        let audit = AuditRecord::new(&permit, "webhook.add", format!("project:{project}"))
            .after(json!({"url": shown, "format": format.as_str()}))
            .request_id(ctx.request_id.clone());
        let new = NewWebhook { project: project.to_string(), url: url.to_string(), secret, format };
        self.store.add_webhook(new, audit, self.clock.now()).await
    }

    pub async fn webhooks(&self, ctx: &RequestContext, project: &str) -> Result<Vec<Webhook>> {
        validate_name("project", project)?;
        auth::authorize(&ctx.principal, Operation::RegistryRead, Scope::Project(project))?;
        self.store.webhooks(project).await
    }

    pub async fn remove_webhook(&self, ctx: &RequestContext, project: &str, id: i64) -> Result<()> {
        validate_name("project", project)?;
        let permit = auth::authorize(&ctx.principal, Operation::WebhookEdit, Scope::Project(project))?;
        match self.store.webhook(id).await? {
            Some(w) if w.project == project => {}
            _ => return Err(Error::not_found(format!("project {project} has no webhook {id}"))),
        }
        let audit =
            AuditRecord::new(&permit, "webhook.remove", format!("webhook:{id}")).request_id(ctx.request_id.clone());
        self.store.remove_webhook(id, audit, self.clock.now()).await
    }

    pub async fn deliveries(
        &self,
        ctx: &RequestContext,
        project: &str,
        webhook: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Delivery>> {
        validate_name("project", project)?;
        auth::authorize(&ctx.principal, Operation::RegistryRead, Scope::Project(project))?;
        self.store.deliveries(project, webhook, limit.clamp(1, 1000)).await
    }

    /// One evaluation pass over the windows that are due (see [`Store::due_windows`]);
    /// `quiet_seconds`: how long a window that has ended must go without records before it
    /// counts as closed. Each model is evaluated on its own; one failing does not stop the
    /// others.
    ///
    /// [`Store::due_windows`]: crate::store::Store::due_windows
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
        let mut last_report: HashMap<u32, Value> = HashMap::new();
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
                                    AuditRecord::new(&system, "incident.update", format!("incident:{}", i.id))
                                        .after(json!({"evidence": refresh.evidence})),
                                );
                                write.refreshed.push(refresh);
                            }
                            Rejudged::Resolved(resolution) => {
                                audits.push(
                                    AuditRecord::new(&system, "incident.resolve", format!("incident:{}", i.id))
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
                let report = last_report.get(&version).cloned().unwrap_or(Value::Null);
                let advice = m.family().advises_retraining().then(|| retrain_advice(m, &since, &values, &report));
                match open.iter().find(|i| i.version == version && i.monitor_id == m.id) {
                    Some(i) => {
                        audits.push(
                            AuditRecord::new(&system, "incident.update", format!("incident:{}", i.id))
                                .after(json!({"windows": fresh.iter().map(|w| rfc3339_unix(*w)).collect::<Vec<_>>()})),
                        );
                        extended_ids.push(i.id);
                        write.extended.push(IncidentExtension { id: i.id, windows: fresh, evidence, advice });
                    }
                    None => {
                        let severity = m.severity.for_tier(tier);
                        let title = format!("{model}@{version}: {}", m.describe());
                        audits.push(
                            AuditRecord::new(&system, "incident.open", format!("model:{model}"))
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

    /// One pass of webhook deliveries: each due one is sent, signed, once; failures wait
    /// `2^attempts` seconds (at most an hour) and give up after [`MAX_ATTEMPTS`].
    pub async fn deliver_webhooks(&self, transport: &dyn WebhookTransport) -> Result<usize> {
        let now = self.clock.now().unix_timestamp();
        let due = self.store.due_deliveries(now, DELIVERIES_PER_PASS).await?;
        let mut delivered = 0;
        for d in due {
            // Claimed for a minute (longer than an attempt can take), so another server
            // polling the same store does not send it too.
            let lease = self.clock.now().unix_timestamp() + 60;
            if !self.store.claim_delivery(d.id, d.next_attempt_at, lease).await? {
                continue;
            }
            let outcome = self.attempt(transport, &d).await;
            if matches!(outcome, AttemptOutcome::Delivered { .. }) {
                delivered += 1;
            }
            self.store.record_attempt(d.id, &outcome, self.clock.now()).await?;
        }
        Ok(delivered)
    }

    async fn attempt(&self, transport: &dyn WebhookTransport, d: &Delivery) -> AttemptOutcome {
        let gave_up = |error: &str| AttemptOutcome::Failed { status: None, error: error.to_string(), retry_at: None };
        let (webhook, incident) = match (self.store.webhook(d.webhook_id).await, self.incident_at_event(d).await) {
            (Ok(Some(w)), Ok(Some(i))) => (w, i),
            (Ok(None), _) => return gave_up("webhook removed"),
            (_, Ok(None)) => return gave_up("incident missing"),
            (Err(e), _) | (_, Err(e)) => {
                return AttemptOutcome::Failed { status: None, error: e.to_string(), retry_at: Some(self.retry_at(d)) };
            }
        };
        let now = self.clock.now();
        let body = payload(webhook.format, &d.event, d.id, &incident, now);
        let timestamp = now.unix_timestamp().to_string();
        let headers = vec![
            ("content-type".to_string(), "application/json".to_string()),
            ("x-riskops-event".to_string(), d.event.clone()),
            ("x-riskops-delivery".to_string(), d.id.to_string()),
            ("x-riskops-timestamp".to_string(), timestamp.clone()),
            ("x-riskops-signature".to_string(), signature(webhook.secret.expose(), &timestamp, &body)),
        ];
        match transport.post(&webhook.url, &headers, body).await {
            Ok(status) if (200..300).contains(&status) => AttemptOutcome::Delivered { status },
            Ok(status) => self.failed(d, Some(status), format!("the receiver answered {status}")),
            Err(error) => self.failed(d, None, error),
        }
    }

    /// The incident a delivery tells of, as it was when its event happened (kept with the
    /// delivery when it was queued). Deliveries queued before riskops kept that fall back
    /// to the incident as it is now.
    async fn incident_at_event(&self, d: &Delivery) -> Result<Option<Value>> {
        if let Some(snapshot) = &d.incident {
            return Ok(Some(snapshot.clone()));
        }
        Ok(self.store.incident(d.incident_id).await?.map(|i| i.to_json()))
    }

    fn failed(&self, d: &Delivery, status: Option<u16>, error: String) -> AttemptOutcome {
        let retry_at = (d.attempts + 1 < MAX_ATTEMPTS).then(|| self.retry_at(d));
        AttemptOutcome::Failed { status, error, retry_at }
    }

    fn retry_at(&self, d: &Delivery) -> i64 {
        self.clock.now().unix_timestamp() + (1i64 << d.attempts.min(20)).min(MAX_BACKOFF)
    }
}

/// The taxonomy signal an incident's monitor raises, read from the monitor it opened with.
fn risk_signal(incident: &Incident) -> Option<&'static str> {
    let metric = incident.monitor.get("metric").and_then(Value::as_str)?;
    crate::alerting::Family::of(metric)?.risk_signal()
}

/// What judging an open incident's windows again changed.
enum Rejudged {
    /// Some still breach: the evidence shows their current values.
    Refreshed(IncidentRefresh),
    /// None breaches any more.
    Resolved(AutoResolution),
}

/// An open incident after this pass's results: `None` when none of its windows was judged
/// again (nothing to change). `results` are the monitor's results on the incident's
/// version, this pass's included; `fresh` this pass's results.
fn judge_again(
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
fn longest_fresh_run(results: &BTreeMap<i64, MonitorResult>, persistence: u32) -> Option<Vec<MonitorResult>> {
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

fn rfc3339_unix(secs: i64) -> String {
    riskops_monitor::rfc3339(secs)
}

/// `sha256=<hex HMAC-SHA256 with the secret over "<timestamp>.<body>">`.
pub fn signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let mut ctx = ring::hmac::Context::with_key(&key);
    ctx.update(timestamp.as_bytes());
    ctx.update(b".");
    ctx.update(body);
    let tag = ctx.sign();
    let mut hex = String::with_capacity(7 + 64);
    hex.push_str("sha256=");
    for b in tag.as_ref() {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}

/// The body of a delivery: riskops' JSON, or Slack's incoming-webhook shape. `incident` is
/// the incident's JSON as it was when the event happened.
fn payload(format: WebhookFormat, event: &str, delivery: i64, incident: &Value, now: time::OffsetDateTime) -> Vec<u8> {
    let body = match format {
        WebhookFormat::Json => json!({
            "event": event,
            "delivery": delivery,
            "sent_at": rfc3339(now),
            "incident": incident,
        }),
        WebhookFormat::Slack => {
            let verb = event.strip_prefix("incident.").unwrap_or(event);
            let field = |k: &str| match &incident[k] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let mut text = format!(
                "*[{}] incident {} {verb}*: {}\nproject `{}`, since {}, {} window(s)",
                field("severity").to_uppercase(),
                field("id"),
                field("title"),
                field("project"),
                field("first_window"),
                field("windows"),
            );
            if let Some(reason) = incident.pointer("/advice/reason").and_then(Value::as_str) {
                text.push_str(&format!("\nAdvice: {reason}"));
            }
            json!({
                "text": text,
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
            })
        }
    };
    body.to_string().into_bytes()
}

/// A webhook URL must be absolute http(s), without credentials.
impl Riskops {
    /// Refuses a receiver that is internal without asking a resolver (an address literal,
    /// `localhost`) unless the server allows it; names are checked again at every delivery.
    fn check_receiver(&self, url: &str) -> Result<()> {
        let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
        let authority = after_scheme.split(['/', '?', '#']).next().unwrap_or_default();
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !p.contains(']') => (h, p.parse().unwrap_or(0)),
            _ => (authority, if url.starts_with("https://") { 443 } else { 80 }),
        };
        if crate::webhook_guard::literal_internal(host)
            && !crate::webhook_guard::allowed(&self.webhook_allow_hosts, host, port)
        {
            return Err(Error::invalid(
                "url",
                format!(
                    "{host} is a loopback, private or link-local address; webhooks are not sent there unless the server allows it (riskops serve --webhook-allow-host {authority})"
                ),
            ));
        }
        Ok(())
    }
}

fn validate_url(url: &str) -> Result<()> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| Error::invalid("url", "must start with http:// or https://"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || url.len() > 2000 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::invalid("url", format!("{url:?} is not a URL")));
    }
    if host.contains('@') {
        return Err(Error::invalid("url", "must not carry credentials; the secret signs each payload"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_over_timestamp_dot_body() {
        // From Python: hmac.new(b"a-secret-of-16+bytes", b'1700000000.{"event":"incident.opened"}',
        // hashlib.sha256).hexdigest()
        assert_eq!(
            signature("a-secret-of-16+bytes", "1700000000", br#"{"event":"incident.opened"}"#),
            "sha256=04d38c383efa9a99a996344e02472dc24d52250876f40037cd3346f7327c0ad1"
        );
    }

    fn incident() -> Incident {
        let t = time::macros::datetime!(2026-09-21 13:00 UTC);
        Incident {
            id: 3,
            project: "fraud".into(),
            model: "detector".into(),
            version: 2,
            monitor_id: "m1".into(),
            monitor: json!({"metric": "drift.share"}),
            severity: crate::alerting::Severity::High,
            state: IncidentState::Open,
            title: "detector@2: drift.share ≥ 0.3 for 2 windows".into(),
            first_window: 1_790_078_400,
            last_window: 1_790_082_000,
            windows: 2,
            evidence: json!({}),
            advice: Some(json!({"action": "retrain", "reason": "drift held for 2 windows"})),
            raised_risks: vec![],
            opened_at: t,
            updated_at: t,
            acknowledged_by: None,
            acknowledged_at: None,
            resolved_by: None,
            resolved_at: None,
            note: String::new(),
            risk_action: None,
        }
    }

    #[test]
    fn payloads_are_riskops_json_or_slack_messages() {
        let now = time::macros::datetime!(2026-09-21 14:00 UTC);
        let body: Value =
            serde_json::from_slice(&payload(WebhookFormat::Json, "incident.opened", 9, &incident().to_json(), now))
                .unwrap();
        assert_eq!((body["event"].as_str(), body["delivery"].as_i64()), (Some("incident.opened"), Some(9)));
        assert_eq!(body["incident"], incident().to_json());
        assert_eq!(body["sent_at"], "2026-09-21T14:00:00Z");
        let slack: Value =
            serde_json::from_slice(&payload(WebhookFormat::Slack, "incident.opened", 9, &incident().to_json(), now))
                .unwrap();
        let text = slack["text"].as_str().unwrap();
        assert!(text.starts_with("*[HIGH] incident 3 opened*: detector@2: drift.share"), "{text}");
        assert!(
            text.contains("project `fraud`, since 2026-09-22T12:00:00Z, 2 window(s)")
                && text.contains("Advice: drift held")
        );
        assert_eq!(slack["blocks"][0]["type"], "section");
        assert_eq!(slack["blocks"][0]["text"]["text"], text);
    }

    fn result(start: i64, breached: bool, incident: Option<i64>) -> (i64, MonitorResult) {
        (
            start,
            MonitorResult {
                version: 1,
                window_start: start,
                window_end: start + 1,
                monitor_id: "m1".into(),
                value: Some(1.0),
                at: None,
                breached,
                incident_id: incident,
            },
        )
    }

    #[test]
    fn a_run_must_last_the_persistence_and_hold_fresh_windows() {
        let r: BTreeMap<_, _> = [result(1, true, None), result(2, false, None), result(3, true, None)].into();
        assert!(longest_fresh_run(&r, 2).is_none(), "no two consecutive breaches");
        let r: BTreeMap<_, _> = [result(1, true, None), result(2, true, None), result(3, false, None)].into();
        assert_eq!(longest_fresh_run(&r, 2).unwrap().len(), 2);
        let r: BTreeMap<_, _> = [result(1, true, Some(7)), result(2, true, Some(7))].into();
        assert!(longest_fresh_run(&r, 1).is_none(), "every window is in an incident already");
        let r: BTreeMap<_, _> = [result(1, true, Some(7)), result(2, true, Some(7)), result(3, true, None)].into();
        let run = longest_fresh_run(&r, 3).unwrap();
        assert_eq!(run.iter().filter(|x| x.incident_id.is_none()).count(), 1);
    }

    #[test]
    fn an_incident_judged_again_shows_its_values_and_resolves_when_none_breaches() {
        let monitor = Monitor::from_json(&json!({"id": "m1", "metric": "drift.share", "above": 0.3})).unwrap();
        let mut i = incident();
        i.version = 1;
        let at = |start: i64, value: f64, breached: bool| {
            let (_, mut r) = result(start, breached, Some(3));
            r.value = Some(value);
            (start, r)
        };
        let before: BTreeMap<_, _> = [at(1, 0.5, true), at(2, 0.45, true)].into();
        // Nothing of the incident was judged again: nothing changes.
        assert!(judge_again(&i, &monitor, &before, &[result(5, false, None).1]).is_none());
        // One window fell under the threshold, one still breaches: refreshed.
        let mid: BTreeMap<_, _> = [at(1, 0.2, false), at(2, 0.45, true)].into();
        let Some(Rejudged::Refreshed(r)) = judge_again(&i, &monitor, &mid, &[mid[&1].clone()]) else { panic!() };
        assert_eq!(r.evidence["values"][0]["value"], 0.2);
        // Neither breaches: resolved, with why.
        let after: BTreeMap<_, _> = [at(1, 0.2, false), at(2, 0.1, false)].into();
        let Some(Rejudged::Resolved(r)) = judge_again(&i, &monitor, &after, &[after[&2].clone()]) else { panic!() };
        assert!(r.reason.contains("none of its 2 window(s) breaches drift.share ≥ 0.3"), "{}", r.reason);
        assert_eq!((r.id, r.evidence["values"][1]["value"].as_f64()), (3, Some(0.1)));
    }

    #[test]
    fn urls_must_be_http_without_credentials() {
        assert!(validate_url("http://127.0.0.1:9000/hook?x=1").is_ok());
        assert!(validate_url("https://hooks.slack.com/services/T/B/X").is_ok());
        for bad in ["ftp://x", "http://", "http://user:pw@host/", "http://a b/"] {
            assert_eq!(validate_url(bad).unwrap_err().field.as_deref(), Some("url"), "{bad}");
        }
    }
}
