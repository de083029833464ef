//! Access monitoring, without IO: denied requests counted per subject (a principal, or the
//! client address when nobody signed in), route template and minute, and the rules that
//! turn bursts of failures, lockouts and privilege grants into security [`Finding`]s.
//!
//! Everything is in memory and bounded, like the throttle: the counts are written to the
//! audit trail in aggregate by the server's access task (one event per bucket, not one per
//! request, so a flood of 401s cannot flood the trail), and findings become incidents
//! through the same path as integrity incidents (`service/access.rs`).

use crate::alerting::Severity;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Mutex;
use time::{Duration, OffsetDateTime};

/// The prefix of every access incident's monitor id: `security.access.<rule>:<subject>`.
pub const ACCESS_MONITOR_PREFIX: &str = "security.access.";

/// Keys (buckets, burst subjects) kept at most; past it, denied requests are counted under
/// one overflow subject so the audited totals stay complete.
const MAX_KEYS: usize = 100_000;
const OVERFLOW_SUBJECT: &str = "overflow:too many distinct subjects";

/// `count` events within `window` from (or against) one subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Burst {
    pub count: u32,
    pub window: Duration,
}

impl Burst {
    /// The default of every burst rule: 20 within 5 minutes.
    pub const DEFAULT: Burst = Burst { count: 20, window: Duration::minutes(5) };
    /// The default of the audit export rule: 10,000 events within 5 minutes (a page of the
    /// events route holds at most 10,000).
    pub const AUDIT_EXPORT: Burst = Burst { count: 10_000, window: Duration::minutes(5) };
}

/// The thresholds of the access rules (server settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessSettings {
    /// Failed password sign-ins against one user name, from anywhere.
    pub failed_sign_ins: Burst,
    /// 401 and 429 answers to one client that did not authenticate.
    pub unauthenticated: Burst,
    /// 403 answers to one principal.
    pub forbidden: Burst,
    /// Audit events read by one principal (the events route, `riskops audit export`): a
    /// bulk export of the trail.
    pub audit_export: Burst,
}

impl Default for AccessSettings {
    fn default() -> Self {
        AccessSettings {
            failed_sign_ins: Burst::DEFAULT,
            unauthenticated: Burst::DEFAULT,
            forbidden: Burst::DEFAULT,
            audit_export: Burst::AUDIT_EXPORT,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    FailedSignIns,
    Unauthenticated,
    Forbidden,
    Lockout,
    PrivilegeGrant,
    AuditExport,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::FailedSignIns => "failed_sign_ins",
            Rule::Unauthenticated => "unauthenticated",
            Rule::Forbidden => "forbidden",
            Rule::Lockout => "lockout",
            Rule::PrivilegeGrant => "privilege_grant",
            Rule::AuditExport => "audit_export",
        }
    }

    /// For people: what the rule watches.
    pub fn describe(self) -> &'static str {
        match self {
            Rule::FailedSignIns => "a burst of failed sign-ins against one user",
            Rule::Unauthenticated => "a burst of 401/429 answers to one unauthenticated client",
            Rule::Forbidden => "a burst of 403 answers to one principal",
            Rule::Lockout => "a client locked out by the sign-in throttle",
            Rule::PrivilegeGrant => "a role granted to an identity",
            Rule::AuditExport => "a bulk read of the audit trail by one principal",
        }
    }
}

/// Something a rule saw, to become a security incident (one unresolved per monitor id).
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub rule: Rule,
    /// Who it names: `user:NAME` or `client:ADDRESS`.
    pub subject: String,
    /// What tells one finding of the rule and subject from another (a granted role), if
    /// anything: part of the monitor id, so each grant opens its own incident.
    pub detail: Option<String>,
    pub severity: Severity,
    pub title: String,
    pub evidence: Value,
    pub at: OffsetDateTime,
}

impl Finding {
    pub fn monitor_id(&self) -> String {
        let mut id = format!("{ACCESS_MONITOR_PREFIX}{}:{}", self.rule.as_str(), self.subject);
        if let Some(d) = &self.detail {
            id.push(':');
            id.push_str(d);
        }
        id
    }
}

/// Denied requests of one subject on one route in one minute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeniedBucket {
    pub subject: String,
    pub route: String,
    /// Unix seconds of the minute's start.
    pub minute: i64,
    /// Requests by status (401, 403, 429).
    pub by_status: BTreeMap<u16, u64>,
}

impl DeniedBucket {
    pub fn count(&self) -> u64 {
        self.by_status.values().sum()
    }
}

#[derive(Debug, Default)]
struct BurstState {
    times: VecDeque<OffsetDateTime>,
    /// Clients a user's failures came from (at most [`MAX_CLIENTS`]), for the evidence.
    clients: BTreeSet<String>,
}

const MAX_CLIENTS: usize = 16;

#[derive(Debug, Default)]
struct State {
    buckets: HashMap<(String, String, i64), BTreeMap<u16, u64>>,
    bursts: HashMap<(Rule, String), BurstState>,
    /// Audit events read per principal: (when, how many) within the export rule's window.
    exports: HashMap<String, VecDeque<(OffsetDateTime, u64)>>,
    pending: Vec<Finding>,
}

#[derive(Debug, Default)]
pub struct AccessMonitor {
    settings: AccessSettings,
    state: Mutex<State>,
}

impl AccessMonitor {
    pub fn new(settings: AccessSettings) -> Self {
        AccessMonitor { settings, state: Mutex::default() }
    }

    pub fn settings(&self) -> AccessSettings {
        self.settings
    }

    /// A request answered 401, 403 or 429 (other statuses are ignored). `principal` is the
    /// authenticated name, if any; `client` the peer address.
    pub fn denied(&self, principal: Option<&str>, client: &str, route: &str, status: u16, at: OffsetDateTime) {
        if !matches!(status, 401 | 403 | 429) {
            return;
        }
        let subject = match principal {
            Some(name) => format!("user:{name}"),
            None => format!("client:{client}"),
        };
        let Ok(mut state) = self.state.lock() else { return };
        let minute = at.unix_timestamp().div_euclid(60) * 60;
        let mut key = (subject.clone(), route.to_string(), minute);
        if state.buckets.len() >= MAX_KEYS && !state.buckets.contains_key(&key) {
            key.0 = OVERFLOW_SUBJECT.to_string();
        }
        *state.buckets.entry(key).or_default().entry(status).or_insert(0) += 1;
        let rule = match (principal, status) {
            (None, 401 | 429) => Some((Rule::Unauthenticated, self.settings.unauthenticated)),
            (Some(_), 403) => Some((Rule::Forbidden, self.settings.forbidden)),
            _ => None,
        };
        if let Some((rule, burst)) = rule {
            let evidence = json!({"last_route": route, "last_status": status});
            count_burst(&mut state, rule, burst, &subject, None, evidence, at);
        }
    }

    /// A password sign-in as `name` failed (a wrong password, an unknown name, or a try
    /// refused by the throttle: each is a guess).
    pub fn failed_sign_in(&self, name: &str, client: &str, at: OffsetDateTime) {
        let Ok(mut state) = self.state.lock() else { return };
        // The name is whatever was typed: kept short, as it names a key and an incident.
        let name: String = name.chars().take(128).collect();
        let subject = format!("user:{name}");
        let burst = self.settings.failed_sign_ins;
        count_burst(&mut state, Rule::FailedSignIns, burst, &subject, Some(client), json!({}), at);
    }

    /// The throttle locked `key` (`client:ADDRESS`) out.
    pub fn lockout(&self, key: &str, reason: &str, at: OffsetDateTime) {
        self.push(Finding {
            rule: Rule::Lockout,
            subject: key.to_string(),
            detail: None,
            severity: Severity::Medium,
            title: format!("{key} locked out: {reason}"),
            evidence: json!({"subject": key, "reason": reason}),
            at,
        });
    }

    /// `role` was granted to `name` by `by`. A global admin grant is high: it hands over
    /// everything, audit trail and identities included; any other grant is low.
    pub fn privilege_granted(&self, name: &str, role: &str, by: &str, at: OffsetDateTime) {
        let severity = if role == "admin" { Severity::High } else { Severity::Low };
        self.push(Finding {
            rule: Rule::PrivilegeGrant,
            subject: format!("user:{name}"),
            detail: Some(role.to_string()),
            severity,
            title: format!("user:{name} was granted {role} by {by}"),
            evidence: json!({"identity": name, "role": role, "granted_by": by}),
            at,
        });
    }

    /// `name` read `events` audit events.
    pub fn audit_read(&self, name: &str, events: u64, at: OffsetDateTime) {
        if events == 0 {
            return;
        }
        let burst = self.settings.audit_export;
        let Ok(mut state) = self.state.lock() else { return };
        if state.exports.len() >= MAX_KEYS && !state.exports.contains_key(name) {
            state.exports.retain(|_, reads| reads.back().is_some_and(|(t, _)| at - *t < burst.window));
            if state.exports.len() >= MAX_KEYS {
                return;
            }
        }
        let reads = state.exports.entry(name.to_string()).or_default();
        while reads.front().is_some_and(|(t, _)| at - *t >= burst.window) {
            reads.pop_front();
        }
        reads.push_back((at, events));
        let total: u64 = reads.iter().map(|(_, n)| n).sum();
        if total < u64::from(burst.count) {
            return;
        }
        let first = reads.front().map_or(at, |(t, _)| *t);
        state.exports.remove(name);
        let subject = format!("user:{name}");
        state.pending.push(Finding {
            rule: Rule::AuditExport,
            subject: subject.clone(),
            detail: None,
            severity: Severity::Medium,
            title: format!("{subject} read {total} audit events within {} s", (at - first).whole_seconds()),
            evidence: json!({"subject": subject, "events": total, "within_seconds": (at - first).whole_seconds(),
                             "threshold": {"count": burst.count, "window_seconds": burst.window.whole_seconds()}}),
            at,
        });
    }

    fn push(&self, finding: Finding) {
        if let Ok(mut state) = self.state.lock()
            && state.pending.len() < MAX_KEYS
        {
            state.pending.push(finding);
        }
    }

    /// Takes the buckets of minutes that have ended by `now` (every bucket when `all`, at
    /// shutdown) and every pending finding.
    pub fn take(&self, now: OffsetDateTime, all: bool) -> (Vec<DeniedBucket>, Vec<Finding>) {
        let Ok(mut state) = self.state.lock() else { return (Vec::new(), Vec::new()) };
        let current = now.unix_timestamp().div_euclid(60) * 60;
        let due: Vec<_> = state.buckets.keys().filter(|k| all || k.2 < current).cloned().collect();
        let mut buckets: Vec<DeniedBucket> = due
            .into_iter()
            .filter_map(|k| {
                let by_status = state.buckets.remove(&k)?;
                Some(DeniedBucket { subject: k.0, route: k.1, minute: k.2, by_status })
            })
            .collect();
        buckets.sort_by(|a, b| (a.minute, &a.subject, &a.route).cmp(&(b.minute, &b.subject, &b.route)));
        (buckets, std::mem::take(&mut state.pending))
    }

    /// Puts back what could not be written, to be tried at the next flush.
    pub fn restore(&self, buckets: Vec<DeniedBucket>, findings: Vec<Finding>) {
        let Ok(mut state) = self.state.lock() else { return };
        for b in buckets {
            let counts = state.buckets.entry((b.subject, b.route, b.minute)).or_default();
            for (status, n) in b.by_status {
                *counts.entry(status).or_insert(0) += n;
            }
        }
        state.pending.extend(findings);
    }
}

/// Counts one event of `rule` for `subject`; a burst reaching its count within its window
/// becomes a pending finding and starts counting afresh.
fn count_burst(
    state: &mut State,
    rule: Rule,
    burst: Burst,
    subject: &str,
    client: Option<&str>,
    evidence: Value,
    at: OffsetDateTime,
) {
    let key = (rule, subject.to_string());
    if state.bursts.len() >= MAX_KEYS && !state.bursts.contains_key(&key) {
        state.bursts.retain(|_, b| b.times.back().is_some_and(|t| at - *t < burst.window));
        if state.bursts.len() >= MAX_KEYS {
            return;
        }
    }
    let b = state.bursts.entry(key.clone()).or_default();
    while b.times.front().is_some_and(|t| at - *t >= burst.window) {
        b.times.pop_front();
    }
    b.times.push_back(at);
    if let Some(c) = client
        && b.clients.len() < MAX_CLIENTS
    {
        b.clients.insert(c.to_string());
    }
    if b.times.len() < burst.count as usize {
        return;
    }
    let first = b.times.front().copied().unwrap_or(at);
    let clients: Vec<String> = b.clients.iter().cloned().collect();
    state.bursts.remove(&key);
    let mut evidence = evidence;
    if let Some(obj) = evidence.as_object_mut() {
        obj.insert("subject".into(), json!(subject));
        obj.insert("count".into(), json!(burst.count));
        obj.insert("within_seconds".into(), json!((at - first).whole_seconds()));
        obj.insert("threshold".into(), json!({"count": burst.count, "window_seconds": burst.window.whole_seconds()}));
        if !clients.is_empty() {
            obj.insert("clients".into(), json!(clients));
        }
    }
    let what = match rule {
        Rule::FailedSignIns => "failed sign-ins against",
        Rule::Unauthenticated => "unauthenticated requests (401/429) from",
        _ => "forbidden requests (403) by",
    };
    state.pending.push(Finding {
        rule,
        subject: subject.to_string(),
        detail: None,
        severity: Severity::Medium,
        title: format!("{} {what} {subject} within {} s", burst.count, burst.window.whole_seconds()),
        evidence,
        at,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::seconds(secs)
    }

    #[test]
    fn denied_requests_are_counted_per_subject_route_and_minute_and_taken_once_the_minute_ends() {
        let m = AccessMonitor::default();
        for i in 0..7 {
            m.denied(Some("eve"), "10.0.0.1", "/api/v1/projects", 403, t(60 + i));
        }
        m.denied(None, "10.0.0.2", "/api/v1/projects", 401, t(61));
        m.denied(Some("eve"), "10.0.0.1", "/api/v1/projects", 200, t(62));
        m.denied(Some("eve"), "10.0.0.1", "/api/v1/projects", 403, t(120));
        let (buckets, findings) = m.take(t(119), false);
        assert!(buckets.is_empty() && findings.is_empty(), "the minute has not ended");
        let (buckets, _) = m.take(t(120), false);
        assert_eq!(buckets.len(), 2);
        let eve = buckets.iter().find(|b| b.subject == "user:eve").unwrap();
        assert_eq!((eve.count(), eve.minute, eve.route.as_str()), (7, 60, "/api/v1/projects"));
        assert!(buckets.iter().any(|b| b.subject == "client:10.0.0.2" && b.count() == 1));
        let (rest, _) = m.take(t(120), true);
        assert_eq!(rest.len(), 1, "at shutdown the open minute is taken too");
    }

    #[test]
    fn a_burst_fires_at_its_count_within_its_window_and_not_below() {
        let m = AccessMonitor::default();
        for i in 0..19 {
            m.failed_sign_in("alice", "10.0.0.9", t(i * 10));
        }
        assert!(m.take(t(200), false).1.is_empty(), "19 failures open nothing");
        m.failed_sign_in("alice", "10.0.0.9", t(200));
        let (_, findings) = m.take(t(200), false);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].monitor_id(), "security.access.failed_sign_ins:user:alice");
        assert_eq!(findings[0].evidence["clients"], json!(["10.0.0.9"]));
        // Spread out beyond the window: never 20 within 5 minutes.
        for i in 0..40 {
            m.failed_sign_in("bob", "10.0.0.9", t(1000 + i * 20));
        }
        assert!(m.take(t(2000), false).1.is_empty());
    }

    #[test]
    fn reading_the_audit_trail_in_bulk_is_a_finding() {
        let m = AccessMonitor::new(AccessSettings {
            audit_export: Burst { count: 250, window: Duration::minutes(5) },
            ..AccessSettings::default()
        });
        m.audit_read("ada", 100, t(0));
        m.audit_read("ada", 100, t(400));
        m.audit_read("ada", 149, t(401));
        assert!(m.take(t(401), false).1.is_empty(), "the first read is outside the window");
        m.audit_read("ada", 1, t(402));
        let (_, findings) = m.take(t(402), false);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].monitor_id(), "security.access.audit_export:user:ada");
        assert_eq!(findings[0].evidence["events"], 250);
    }

    #[test]
    fn forbidden_bursts_count_principals_and_unauthenticated_bursts_count_clients() {
        let m = AccessMonitor::new(AccessSettings {
            forbidden: Burst { count: 3, window: Duration::minutes(1) },
            unauthenticated: Burst { count: 2, window: Duration::minutes(1) },
            ..AccessSettings::default()
        });
        for _ in 0..3 {
            m.denied(Some("eve"), "10.0.0.1", "/x", 403, t(0));
        }
        m.denied(None, "10.0.0.2", "/x", 401, t(0));
        m.denied(None, "10.0.0.2", "/x", 429, t(1));
        let (_, findings) = m.take(t(0), false);
        let ids: Vec<String> = findings.iter().map(Finding::monitor_id).collect();
        assert_eq!(ids, ["security.access.forbidden:user:eve", "security.access.unauthenticated:client:10.0.0.2"]);
    }
}
