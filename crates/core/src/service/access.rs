//! Access monitoring's writes: denied-request counts to the audit trail in aggregate (one
//! `access.denied` event per subject, route and minute, with its count) and the access
//! rules' findings to security incidents, through `commit_evaluation` as integrity
//! incidents go (one unresolved per monitor id, i.e. per rule and subject). The server's
//! access task calls [`Riskops::flush_access`] on an interval and once at shutdown.

use super::Riskops;
use crate::access::{AccessMonitor, DeniedBucket, Finding};
use crate::action::Action;
use crate::audit::AuditRecord;
use crate::auth::Permit;
use crate::error::{ErrorKind, Result};
use crate::incident::{EvaluationWrite, NewIncident};
use serde_json::json;
use std::sync::Arc;

/// What one flush wrote.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AccessFlush {
    /// `access.denied` events written (one per bucket).
    pub audited: usize,
    /// Incidents opened (a finding whose rule and subject already have an unresolved
    /// incident opens none).
    pub opened: Vec<i64>,
}

impl Riskops {
    pub fn with_access_monitor(mut self, monitor: Arc<AccessMonitor>) -> Self {
        self.access = monitor;
        self
    }

    /// Files access incidents under `project` (see [`Riskops::flush_access`]).
    pub fn with_access_project(mut self, project: Option<String>) -> Self {
        self.access_project = project.map(Arc::from);
        self
    }

    /// A request answered 401, 403 or 429: counted in memory (see [`AccessMonitor::denied`]).
    pub fn record_denied(&self, principal: Option<&str>, client: &str, route: &str, status: u16) {
        self.access.denied(principal, client, route, status, self.clock.now());
    }

    /// Writes the counts of ended minutes (all of them when `all`) and opens incidents for
    /// pending findings. What cannot be written now is kept for the next flush.
    pub async fn flush_access(&self, all: bool) -> Result<AccessFlush> {
        let now = self.clock.now();
        let (buckets, findings) = self.access.take(now, all);
        let mut flush = AccessFlush::default();
        let mut buckets = buckets.into_iter();
        while let Some(bucket) = buckets.next() {
            if let Err(e) = self.store.record_event(denied_event(&bucket), now).await {
                let mut rest = vec![bucket];
                rest.extend(buckets);
                self.access.restore(rest, findings);
                return Err(e);
            }
            flush.audited += 1;
        }
        let mut findings = findings.into_iter();
        while let Some(finding) = findings.next() {
            match self.open_access_incident(&finding).await {
                Ok(Some(id)) => flush.opened.push(id),
                Ok(None) => {}
                Err(e) => {
                    let mut rest = vec![finding];
                    rest.extend(findings);
                    self.access.restore(Vec::new(), rest);
                    return Err(e);
                }
            }
        }
        Ok(flush)
    }

    async fn open_access_incident(&self, f: &Finding) -> Result<Option<i64>> {
        let system = Permit::system();
        let monitor_id = f.monitor_id();
        let metric = format!("security.access.{}", f.rule.as_str());
        let monitor = json!({"id": monitor_id, "kind": "security", "metric": metric, "check": f.rule.as_str(),
                             "description": f.rule.describe(), "subject": f.subject});
        let at = self.clock.now();
        let audit = AuditRecord::new(&system, Action::IncidentOpen, f.subject.clone())
            .after(json!({"monitor": monitor, "severity": f.severity.as_str(), "title": f.title}));
        let mut evidence = f.evidence.clone();
        if let Some(obj) = evidence.as_object_mut() {
            obj.insert("detected_at".into(), json!(super::rfc3339(f.at)));
        }
        // Access incidents concern no model. Unless a project is named for them, they belong
        // to none: only global roles see them and no project's webhooks hear them.
        let write = EvaluationWrite {
            model: String::new(),
            opened: vec![NewIncident {
                project: self.access_project.as_deref().unwrap_or_default().to_string(),
                model: String::new(),
                version: 0,
                monitor_id,
                monitor,
                severity: f.severity,
                title: f.title.clone(),
                windows: Vec::new(),
                evidence,
                advice: Some(json!({"action": "review the audit trail for this subject (riskops audit log) and \
                                               revoke its tokens or roles if the activity is not expected"})),
            }],
            ..EvaluationWrite::default()
        };
        match self.store.commit_evaluation(write, vec![audit], at).await {
            Ok(ids) => Ok(ids.first().copied()),
            Err(e) if e.kind == ErrorKind::Conflict => Ok(None),
            Err(e) => Err(e),
        }
    }
}

fn denied_event(b: &DeniedBucket) -> AuditRecord {
    let by_status: serde_json::Map<String, serde_json::Value> =
        b.by_status.iter().map(|(s, n)| (s.to_string(), json!(n))).collect();
    let minute = time::OffsetDateTime::from_unix_timestamp(b.minute).map(super::rfc3339).unwrap_or_default();
    AuditRecord::new(&Permit::system(), Action::AccessDenied, b.subject.clone()).after(json!({
        "subject": b.subject,
        "route": b.route,
        "minute": minute,
        "count": b.count(),
        "by_status": by_status,
    }))
}
