//! Incidents: listed, acknowledged and resolved by people, and the risk register following
//! them.

use crate::action::Action;
use crate::audit::AuditRecord;
use crate::auth::{self, Operation, Permit, Scope};
use crate::error::{Error, Result};
use crate::incident::{Incident, IncidentFilter, IncidentState, RiskAction};
use crate::project::validate_name;
use crate::service::{RequestContext, Riskops};
use serde_json::{Value, json};

impl Riskops {
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
            IncidentState::Acknowledged => Action::IncidentAcknowledge,
            IncidentState::Resolved => Action::IncidentResolve,
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
        let _turn = self.settling.lock().await;
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
                let audit = AuditRecord::new(&system, Action::IncidentRisks, format!("incident:{id}"))
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
}

/// The taxonomy signal an incident's monitor raises, read from the monitor it opened with.
fn risk_signal(incident: &Incident) -> Option<&'static str> {
    let metric = incident.monitor.get("metric").and_then(Value::as_str)?;
    crate::alerting::Family::of(metric)?.risk_signal()
}
